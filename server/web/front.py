"""The HTTP front of ``blockwalk serve``: one event loop holds every connection, Flask runs in a few threads.

Why (docs/scale-out.md, "Live phones"): every phone online holds a longpoll
``_changes`` open for up to a minute.  A thread per waiting request (as
under waitress) made 100 live phones stall the server and 1,000 crash it.
Here an asyncio loop (epoll on Linux) owns the sockets and parses HTTP/1.1
with h11; a request is read whole (its body spooled to a file past 1 MiB)
before a worker thread sees it, so a slow client costs a socket, never a
thread; Flask answers in a pool of ``BLOCKWALK_THREADS`` workers; and a
longpoll with nothing to send is parked in the loop (``server.replication.live``): an
idle phone costs its socket and a ``Waiter``, never a worker thread or a
database connection.

Limits, none of them fatal: at ``BLOCKWALK_CONNECTION_LIMIT`` open
connections (capped below the process's file-descriptor limit, whose soft
value is raised to the hard one at start) the front stops accepting, and
further connections wait in the kernel's listen backlog; a connection that
sends nothing for ``BLOCKWALK_CHANNEL_TIMEOUT`` seconds while a request is
due is closed; an ``accept`` that fails (no descriptor left) is retried.
"""

from __future__ import annotations

import asyncio
import errno
import io
import logging
import re
import resource
import selectors
import signal
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from typing import Callable
from urllib.parse import unquote_to_bytes

import h11
import orjson

from server.replication import live

log = logging.getLogger("blockwalk.front")

READ_BYTES = 64 * 1024
SPOOL_BYTES = 1024 * 1024  # a request body past this waits in a temporary file, not in memory
MAX_HEADER_BYTES = 256 * 1024  # request line and headers (as waitress allowed); more is a 431
STREAM_BATCH = 256 * 1024  # response bytes a worker gathers before the loop sends them
RESERVED_FDS = 256  # descriptors kept for the store, its indexes and logs, beyond the connection limit
BACKLOG = 2048
STOP_GRACE = 5.0  # seconds a request already in a worker has to finish when the server stops


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit where allowed; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard
    if hard == resource.RLIM_INFINITY:
        try:
            target = int(open("/proc/sys/fs/nr_open").read())
        except (OSError, ValueError):
            target = 1 << 20
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            log.warning("could not raise the open-file limit from %d to %d", soft, target)
    return soft


def connection_limit(wanted: int, fd_limit: int) -> int:
    """The connections the front holds at most: the setting, within the descriptors the process may open."""
    if fd_limit == resource.RLIM_INFINITY:
        return wanted
    return max(16, min(wanted, fd_limit - RESERVED_FDS))


class Front:
    """An HTTP/1.1 server for one WSGI app (see the module's docstring)."""

    def __init__(self, app: Callable, *, host: str, port: int, threads: int, connection_limit: int,
                 idle_timeout: float, max_body: int, on_start: Callable[["Front"], None] | None = None):
        self.app = app
        self.host = host
        self.port = port
        self.threads = threads
        self.limit = connection_limit
        self.idle_timeout = idle_timeout
        self.max_body = max_body
        self.on_start = on_start
        self.open = 0
        self.sock = socket.create_server((host, port), backlog=BACKLOG, reuse_port=False)
        self.sock.setblocking(False)
        self.effective_port = self.sock.getsockname()[1]
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiters: live.Waiters | None = None
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="worker")
        self._room: asyncio.Event | None = None
        self._stopping: asyncio.Future | None = None
        self._connections: set[asyncio.Task] = set()
        self._working: set[asyncio.Task] = set()  # connections with a request in a worker or its answer being sent

    # -- running -------------------------------------------------------------------------

    def run(self) -> None:
        """Serve until SIGTERM or SIGINT (or ``stop`` from another thread); then close every connection and return.

        The signals are the loop's own (``add_signal_handler``): no exception is raised
        into whatever the main thread was doing, so a stop never leaves a lock held or a
        task half-cancelled; the requests running in workers get ``STOP_GRACE`` seconds.
        """
        # epoll explicitly (Linux): select() refuses descriptors past 1,024, which ended waitress.
        selector = selectors.EpollSelector if hasattr(selectors, "EpollSelector") else selectors.DefaultSelector
        with asyncio.Runner(loop_factory=lambda: asyncio.SelectorEventLoop(selector())) as runner:
            runner.run(self._main())

    def stop(self) -> None:
        if self.loop is not None and self._stopping is not None:
            self.loop.call_soon_threadsafe(lambda: self._stopping.done() or self._stopping.set_result(None))

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.waiters = live.Waiters(self.loop)
        self._room = asyncio.Event()
        self._stopping = self.loop.create_future()
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                self.loop.add_signal_handler(signum, self.stop)
            except (ValueError, RuntimeError):  # not the main thread (tests run a front in a thread)
                pass
        if self.on_start is not None:
            self.on_start(self)
        accepting = self.loop.create_task(self._accept())
        try:
            await self._stopping
        finally:
            accepting.cancel()
            self.sock.close()
            # Parked longpolls and idle keep-alive connections end now (a phone retries); a
            # request in a worker has a grace period to finish and be sent, then its connection closes.
            for task in self._connections - self._working:
                task.cancel()
            busy = {task for task in self._connections if not task.done()}
            if busy:
                _, late = await asyncio.wait(busy, timeout=STOP_GRACE)
                for task in late:
                    task.cancel()
                if late:
                    await asyncio.wait(late, timeout=1)
            self.pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        self.sock.close()

    async def _accept(self) -> None:
        loop = self.loop
        assert loop is not None and self._room is not None
        while True:
            if self.open >= self.limit:
                # Full: leave further connections in the kernel's listen backlog until one closes.
                self._room.clear()
                await self._room.wait()
                continue
            try:
                sock, peer = await loop.sock_accept(self.sock)
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    log.warning("accept failed (%s); retrying in 0.1 s", errno.errorcode.get(exc.errno, exc.errno))
                    await asyncio.sleep(0.1)
                continue
            self.open += 1
            task = loop.create_task(self._connection(sock, peer))
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)

    # -- one connection -----------------------------------------------------------------

    async def _connection(self, sock: socket.socket, peer) -> None:
        writer = None
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader, writer = await asyncio.open_connection(sock=sock, limit=READ_BYTES)
            conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_BYTES)
            while True:
                event = await self._next(conn, reader, writer)
                if event is None or type(event) is h11.ConnectionClosed:
                    break
                if type(event) is not h11.Request:
                    break
                if not await self._request(conn, reader, writer, event, peer, sock):
                    break
                if self._stopping is not None and self._stopping.done():
                    break  # stopping: the answer is sent, the connection closes
                if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
                    conn.start_next_cycle()
                else:
                    break
        except h11.RemoteProtocolError as exc:
            if writer is not None:
                await self._refuse(conn, writer, exc.error_status_hint or 400, str(exc))
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError, h11.LocalProtocolError):
            pass
        except Exception:  # never let one connection take the server down
            log.exception("connection failed")
        finally:
            self.open -= 1
            if self._room is not None:
                self._room.set()
            if writer is not None:
                writer.close()
            else:
                sock.close()

    async def _next(self, conn: h11.Connection, reader: asyncio.StreamReader, writer) -> object:
        """The next h11 event; None when the client went quiet for the idle timeout."""
        while True:
            event = conn.next_event()
            if event is not h11.NEED_DATA:
                return event
            if conn.they_are_waiting_for_100_continue:
                writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
            try:
                async with asyncio.timeout(self.idle_timeout):  # no task a read, as wait_for would make
                    data = await reader.read(READ_BYTES)
            except TimeoutError:
                return None
            if conn.their_state is h11.IDLE:
                _check_head(conn.trailing_data[0] + data)
            conn.receive_data(data)

    async def _refuse(self, conn: h11.Connection, writer, status: int, message: str) -> None:
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        error = {400: "bad_request", 413: "too_large", 431: "header_too_large"}.get(status, "bad_request")
        body = orjson.dumps({"error": error, "reason": message[:200]})
        try:
            writer.write(conn.send(h11.Response(status_code=status, headers=self._headers([
                (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                (b"connection", b"close")]))))
            writer.write(conn.send(h11.Data(data=body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await asyncio.wait_for(writer.drain(), 5)
        except Exception:  # the client is gone or the state forbids it: nothing more to say
            pass

    async def _request(self, conn: h11.Connection, reader, writer, request: h11.Request, peer, sock) -> bool:
        """Serve one request; False when the connection must close."""
        announced = _content_length(request.headers)
        if announced is not None and announced > self.max_body:
            await self._refuse(conn, writer, 413, "Request body too large")
            return False
        # Most requests have no body or a small one: memory; a large or unannounced one: a spooled file.
        small = (announced or 0) <= SPOOL_BYTES and not _chunked(request.headers)
        body = io.BytesIO() if small else tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
        try:
            size = 0
            while True:
                event = await self._next(conn, reader, writer)
                if event is None:
                    return False
                if type(event) is h11.Data:
                    size += len(event.data)
                    if size > self.max_body:
                        await self._refuse(conn, writer, 413, "Request body too large")
                        return False
                    body.write(event.data)
                elif type(event) is h11.EndOfMessage:
                    break
                else:
                    return False
            body.seek(0)
            environ = self._environ(request, body, size, peer)
            loop = self.loop
            assert loop is not None
            task = asyncio.current_task()
            self._working.add(task)
            # With nothing waiting to be sent on the connection, the worker frames and sends a whole
            # answer itself: the phone has it one thread hand-off sooner, and the loop does less.
            direct = sock if writer.transport.get_write_buffer_size() == 0 else None
            answer = await loop.run_in_executor(self.pool, self._call, environ, conn, direct)
            if type(answer) is bytes:  # sent by the worker; what the socket would not take yet
                if answer:
                    writer.write(answer)
                    await writer.drain()
                return True
            status, headers, chunks, rest = answer
            head = conn.send(h11.Response(status_code=status[0], reason=status[1], headers=self._headers(headers)))
            if isinstance(rest, live.Parked):
                self._working.discard(task)  # a parked longpoll holds no worker: a stop ends it at once
                writer.write(head)
                if not await self._longpoll(conn, reader, writer, rest):
                    return False  # the phone went away while it waited
            else:
                # One write (one send) for a whole small answer: head, body and end together.
                out = [head] + [conn.send(h11.Data(data=chunk)) for chunk in chunks if chunk]
                while rest is not None:
                    writer.write(b"".join(out))
                    out = []
                    await writer.drain()
                    chunks, more = await loop.run_in_executor(self.pool, _gather, rest)
                    out += [conn.send(h11.Data(data=chunk)) for chunk in chunks if chunk]
                    if not more:
                        rest = None
                out.append(conn.send(h11.EndOfMessage()))
                writer.write(b"".join(out))
                await writer.drain()
                return True
            await writer.drain()
            return True
        finally:
            self._working.discard(asyncio.current_task())
            body.close()

    def _call(self, environ: dict, conn: h11.Connection, sock: socket.socket | None) -> tuple | bytes:
        """In a worker thread: the app's status, headers and first bytes (or a parked longpoll).

        With ``sock`` (the connection has nothing else to send), a whole answer is framed
        here and sent on the socket; the bytes it would not take yet are returned, for the
        loop to send.  The loop does not touch ``conn`` while this runs.
        """
        started: list = []

        def start_response(status: str, headers: list, exc_info=None):
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return _no_write

        try:
            result = self.app(environ, start_response)
        except Exception:
            log.exception("the application failed")
            return (500, b"Internal Server Error"), [("Content-Type", "text/plain")], [b"Internal Server Error"], None
        status = _status(started[0])
        if isinstance(result, live.Parked):
            return status, started[1], [], result
        chunks, more = _gather(result)
        if more or sock is None:
            return status, started[1], chunks, (result if more else None)
        out = conn.send(h11.Response(status_code=status[0], reason=status[1], headers=self._headers(started[1])))
        if chunks[0]:
            out += conn.send(h11.Data(data=chunks[0]))
        out += conn.send(h11.EndOfMessage())
        return _send_some(sock, out)

    def _headers(self, headers) -> list[tuple[bytes, bytes]]:
        out = [(b"server", b"blockwalk"), (b"date", _date())]
        for name, value in headers:
            name_b = name.encode("latin-1") if isinstance(name, str) else name
            if name_b.lower() in (b"connection", b"transfer-encoding", b"keep-alive", b"server", b"date"):
                continue
            out.append((name_b, value.encode("latin-1") if isinstance(value, str) else value))
        return out

    def _environ(self, request: h11.Request, body, size: int, peer) -> dict:
        target = request.target.decode("latin-1")
        path = target
        if "://" in target.split("?", 1)[0]:  # an absolute URI in the request line
            rest = target.split("://", 1)[1]
            path = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
        path_only, _, query = path.partition("?")
        environ = {
            "REQUEST_METHOD": request.method.decode("ascii"),
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote_to_bytes(path_only).decode("latin-1"),
            "QUERY_STRING": query,
            "REQUEST_URI": target,
            "RAW_URI": target,
            "SERVER_NAME": self.host,
            "SERVER_PORT": str(self.effective_port),
            "SERVER_PROTOCOL": "HTTP/" + request.http_version.decode("ascii"),
            "SERVER_SOFTWARE": "blockwalk",
            "REMOTE_ADDR": str(peer[0]) if isinstance(peer, tuple) else "",
            "REMOTE_PORT": str(peer[1]) if isinstance(peer, tuple) else "",
            "CONTENT_LENGTH": str(size),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": body,
            "wsgi.input_terminated": True,
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            live.ENVIRON_KEY: self.waiters,
        }
        for raw_name, raw_value in request.headers:
            name = raw_name.decode("latin-1")
            if "_" in name:  # X_Forwarded_For and the like would pass for X-Forwarded-For in the environ
                continue
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_LENGTH", "TRANSFER_ENCODING"):
                continue
            if key != "CONTENT_TYPE":
                key = "HTTP_" + key
            value = raw_value.decode("latin-1")
            environ[key] = environ[key] + "," + value if key in environ else value
        return environ

    # -- a parked longpoll -------------------------------------------------------------

    async def _longpoll(self, conn: h11.Connection, reader: asyncio.StreamReader, writer, parked: live.Parked) -> bool:
        """Wait in the loop for a change the phone may see, sending heartbeats; then answer.

        False when the phone closed its connection meanwhile (nothing to answer).
        """
        loop = self.loop
        waiters = self.waiters
        assert loop is not None and waiters is not None
        feed = parked.feed
        waiter = waiters.add(parked)
        changed = waiters.moved(parked)  # a commit between the first read and now
        beat = time.monotonic() + feed.heartbeat if feed.heartbeat else None
        # A phone that goes offline cleanly closes its socket: notice at once, not at the next heartbeat.
        listening = loop.create_task(reader.read(READ_BYTES))
        gone = False

        def heard(task: asyncio.Task) -> None:
            nonlocal gone
            if task.cancelled() or task.exception() is not None or task.result() == b"":
                gone = True
                waiter.wake()

        listening.add_done_callback(heard)
        try:
            while not gone:
                if changed:
                    changed = False
                    waiter.future = loop.create_future()
                    answer = await loop.run_in_executor(self.pool, feed.poll)
                    if answer is not None:
                        writer.write(conn.send(h11.Data(data=answer)) + conn.send(h11.EndOfMessage()))
                        return True
                    continue
                now = time.monotonic()
                if now >= feed.deadline:
                    break
                wake_at = feed.deadline if beat is None else min(beat, feed.deadline)
                timer = loop.call_at(loop.time() + (wake_at - now), _resolve, waiter.future, False)
                try:
                    changed = await waiter.future and not gone
                finally:
                    timer.cancel()
                if not changed and not gone:
                    waiter.future = loop.create_future()
                    if beat is not None and time.monotonic() >= beat:
                        writer.write(conn.send(h11.Data(data=b"\n")))
                        beat += feed.heartbeat
        finally:
            waiters.remove(parked.campaign, waiter)
            listening.remove_done_callback(heard)
            if not listening.done():
                # Let the cancelled read finish before the connection reads again: a stream allows one reader.
                listening.cancel()
                await asyncio.wait([listening])
            if not listening.cancelled() and listening.exception() is None and listening.result():
                conn.receive_data(listening.result())  # the next request, sent ahead: h11 keeps it
        if gone:
            return False
        writer.write(conn.send(h11.Data(data=feed.final())) + conn.send(h11.EndOfMessage()))
        return True


_BARE_LF = re.compile(rb"(?<!\r)\n")


def _check_head(received: bytes) -> None:
    """Refuse what h11 would let through: a bare LF in the head (a header smuggled into another), a huge head.

    h11 reads a lone ``\n`` as the end of a header line, so ``Authorization:
    Bearer t\nX-Role: admin`` would become two headers; waitress refused it,
    and so does the front.  ``received``: every byte of this request so far.
    """
    end = received.find(b"\r\n\r\n")
    head = received if end < 0 else received[:end]
    if len(head) > MAX_HEADER_BYTES:
        raise h11.RemoteProtocolError("Request header fields too large", error_status_hint=431)
    if _BARE_LF.search(head.lstrip(b"\r\n")):
        raise h11.RemoteProtocolError("A header line ends in a bare LF", error_status_hint=400)


def _resolve(future: asyncio.Future, value: object) -> None:
    if not future.done():
        future.set_result(value)


def _gather(result) -> tuple[list[bytes], bool]:
    """In a worker thread: the app's next bytes, up to STREAM_BATCH, as one chunk; whether more may follow.

    One chunk, joined here: a streamed feed yields a row at a time, and framing
    each row on the loop's thread (h11, chunked encoding) cost the loop more
    than the worker spent making it.
    """
    chunks: list[bytes] = []
    size = 0
    iterator = result if hasattr(result, "__next__") else None
    try:
        if iterator is None:
            if isinstance(result, (list, tuple)):
                return [b"".join(result)], False
            iterator = iter(result)
        for chunk in iterator:
            chunks.append(chunk)
            size += len(chunk)
            if size >= STREAM_BATCH:
                return [b"".join(chunks)], True
    except Exception:
        log.exception("the response failed mid-stream")
    close = getattr(result, "close", None)
    if close is not None:
        close()
    return [b"".join(chunks)], False


def _send_some(sock: socket.socket, data: bytes) -> bytes:
    """Send on a non-blocking socket what it takes now; return the rest."""
    view = memoryview(data)
    try:
        while view:
            view = view[sock.send(view):]
    except (BlockingIOError, InterruptedError):
        pass
    except OSError:  # the client is gone: the loop's write will notice and close
        pass
    return bytes(view)


def _status(line: str) -> tuple[int, bytes]:
    code, _, reason = line.partition(" ")
    return int(code), reason.encode("latin-1")


_dated: list = [0, b""]


def _date() -> bytes:
    """The Date header, formatted once a second."""
    now = int(time.time())
    if _dated[0] != now:
        _dated[:] = [now, formatdate(now, usegmt=True).encode()]
    return _dated[1]


def _chunked(headers) -> bool:
    return any(name == b"transfer-encoding" for name, _ in headers)


def _content_length(headers) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _no_write(data: bytes) -> None:
    raise RuntimeError("blockwalk's front does not support the WSGI write() callable")
