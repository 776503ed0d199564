"""A fault-injecting TCP proxy: a bad network between devices and the server.

Every connection through it draws one fault (seeded, so a run can be
repeated):

* ``none``: passed through untouched;
* ``delay``: every chunk, both ways, waits up to ``max_delay`` seconds;
* ``drop``: the request is cut off after a few bytes and both sides closed;
* ``half_close_client``: the request reaches the server, then the client
  gets an end of stream (FIN) instead of the answer, while the server answers
  into nowhere;
* ``half_close_server``: the server gets part of the request and then an end
  of stream;
* ``truncate``: the answer stops after a random number of bytes;
* ``reset``: the connection is reset (RST) once the answer starts.

``counts`` says how many connections got each fault.
"""

from __future__ import annotations

import asyncio
import random
import socket
import struct
import threading
from collections import Counter

FAULTS = ("delay", "drop", "half_close_client", "half_close_server", "truncate", "reset")


class FaultProxy:
    def __init__(self, target: str, fault_rate: float = 0.3, max_delay: float = 0.05, seed: int = 0):
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self.fault_rate, self.max_delay = fault_rate, max_delay
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.enabled = True
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def close(self) -> None:
        async def stop() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _draw(self) -> str:
        if not self.enabled or self.rng.random() >= self.fault_rate:
            return "none"
        return self.rng.choice(FAULTS)

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        fault = self._draw()
        self.counts[fault] += 1
        try:
            server_reader, server_writer = await asyncio.open_connection(*self.target)
        except OSError:
            client_writer.close()
            return
        cut = self.rng.randrange(1, 400 if fault in ("drop", "half_close_server") else 5000)
        try:
            await asyncio.gather(self._upstream(client_reader, server_writer, client_writer, fault, cut),
                                 self._downstream(server_reader, client_writer, fault, cut))
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for writer in (client_writer, server_writer):
                if not writer.is_closing():
                    writer.close()

    async def _upstream(self, reader, server_writer, client_writer, fault: str, cut: int) -> None:
        """Client to server."""
        sent = 0
        while data := await reader.read(65536):
            if fault == "delay":
                await asyncio.sleep(self.rng.uniform(0, self.max_delay))
            if fault in ("drop", "half_close_server") and sent + len(data) >= cut:
                server_writer.write(data[: max(0, cut - sent)])
                await server_writer.drain()
                if fault == "drop":
                    server_writer.close()
                    client_writer.close()
                else:
                    server_writer.write_eof()
                return
            server_writer.write(data)
            await server_writer.drain()
            sent += len(data)
            if fault == "half_close_client":
                client_writer.write_eof()
        if server_writer.can_write_eof():
            server_writer.write_eof()

    async def _downstream(self, reader, client_writer, fault: str, cut: int) -> None:
        """Server to client."""
        sent = 0
        while data := await reader.read(65536):
            if fault == "half_close_client" or client_writer.is_closing():
                continue  # the answer goes nowhere
            if fault == "delay":
                await asyncio.sleep(self.rng.uniform(0, self.max_delay))
            if fault == "reset":
                sock = client_writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client_writer.transport.abort()
                return
            if fault == "truncate" and sent + len(data) >= cut:
                client_writer.write(data[: max(1, cut - sent)])
                await client_writer.drain()
                client_writer.close()
                return
            client_writer.write(data)
            await client_writer.drain()
            sent += len(data)
        if not client_writer.is_closing():
            client_writer.close()
