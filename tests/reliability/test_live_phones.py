"""1,000 live phones on one ``blockwalk serve``: each holds a longpoll, and the server still answers.

Every phone online holds a longpoll ``_changes`` (PouchDB's live replication).
Under waitress each held a thread: 80 of them stalled every other request,
1,000 open connections killed the server (``select()`` past descriptor 1,024)
and, with 1,100 threads, its SQLite store crashed it.  Here 1,000 raw
sockets hold longpolls as a volunteer's phone sends them, and meanwhile:
``/healthz`` answers, a push is acknowledged, that push wakes every waiting
phone with the record, and the server is still up afterwards.  The bounds
(5 s, 60 s) are generous: this checks that nothing waits behind the held
requests, it is no benchmark (``bench/live.py`` measures).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.peers import LiveServer

PHONES = 1000


def _threads(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Threads:"):
            return int(line.split()[1])
    raise AssertionError("no thread count")


async def _hold(port: int, path: str, token: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 60)  # parked: the status line comes at once
    assert head.startswith(b"HTTP/1.1 200"), head[:200]
    return reader, writer


async def _answer(reader: asyncio.StreamReader) -> bytes:
    """The rest of a chunked longpoll answer, heartbeats included."""
    body = b""
    while True:
        size = int((await reader.readline()).strip(), 16)
        if size == 0:
            await reader.readline()
            return body
        body += await reader.readexactly(size)
        await reader.readexactly(2)


@pytest.mark.slow
def test_a_thousand_longpolls_leave_the_server_answering(tmp_path):
    live = LiveServer(tmp_path)
    try:
        db = live.new_db(forms=True)
        port = int(live.url.rsplit(":", 1)[1])
        path = f"/sync/{db}/_changes?style=all_docs&feed=longpoll&heartbeat=10000&since=now&timeout=60000"

        async def scenario() -> None:
            phones = []
            for start in range(0, PHONES, 100):  # as phones come online: quickly, not all in one instant
                phones += await asyncio.gather(*(_hold(port, path, live.volunteer_token) for _ in range(start, min(start + 100, PHONES))))
            assert live.proc.poll() is None
            # Waiting phones hold no worker thread: the process has far fewer threads than phones.
            assert _threads(live.proc.pid) < 200

            started = time.monotonic()
            health = await asyncio.to_thread(live.http.get, "/healthz", timeout=5)
            assert health.status_code == 200 and health.json()["status"] == "ok"
            push = await asyncio.to_thread(
                live.http.post, f"/sync/{db}/_bulk_docs",
                json={"docs": [{"_id": "meeting:live", "type": "meeting", "title": {"en": "Live"},
                                "starts_at": "2026-12-10T18:00:00-06:00", "place": "Gym", "languages": ["en"]}]},
                timeout=5,
            )
            assert push.status_code == 201 and push.json()[0].get("ok"), push.text
            assert time.monotonic() - started < 10

            # The meeting is in the campaign channel every volunteer reads: every waiting phone gets it.
            answers = await asyncio.wait_for(asyncio.gather(*(_answer(reader) for reader, _ in phones)), 60)
            assert all(b'"meeting:live"' in answer for answer in answers)
            for _, writer in phones:
                writer.close()

        asyncio.run(scenario())
        assert live.proc.poll() is None, "the server died"
        assert live.http.get("/healthz").status_code == 200
    finally:
        live.close()


def test_connections_past_the_limit_wait_their_turn(tmp_path):
    """Past BLOCKWALK_CONNECTION_LIMIT a phone waits in the listen backlog; it is served once another leaves."""
    live = LiveServer(tmp_path, env={"BLOCKWALK_CONNECTION_LIMIT": "20"})
    try:
        db = live.new_db()
        live.http.close()  # the test's own client holds none of the 20
        port = int(live.url.rsplit(":", 1)[1])
        path = f"/sync/{db}/_changes?feed=longpoll&heartbeat=10000&since=now&timeout=60000"

        async def scenario() -> None:
            first = await asyncio.gather(*(_hold(port, path, live.volunteer_token) for _ in range(20)))
            late = [asyncio.create_task(_hold(port, path, live.volunteer_token)) for _ in range(10)]
            await asyncio.sleep(2)
            assert not any(task.done() for task in late), "served past the connection limit"
            for _, writer in first[:10]:  # ten phones go offline
                writer.close()
            served = await asyncio.wait_for(asyncio.gather(*late), 30)
            assert len(served) == 10
            for _, writer in first[10:] + served:
                writer.close()

        asyncio.run(scenario())
        assert live.proc.poll() is None, "the server died"
    finally:
        live.close()
