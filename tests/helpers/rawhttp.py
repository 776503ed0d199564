"""Raw HTTP for hostile-input tests: bytes on a socket, no client library to tidy them up.

Also the server process's memory (``rss``) and a fingerprint of everything a
SQLite store holds (``store_state``), so a test can show that nothing stored
changed.
"""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path


def send(url: str, raw: bytes, timeout: float = 30, body_chunks=None) -> int | None:
    """Send ``raw`` (and then ``body_chunks``) to the server; the response's status, or None if it closed first."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        try:
            sock.sendall(raw)
            for chunk in body_chunks or ():
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the body was all sent
        return read_status(sock)


def read_status(sock: socket.socket) -> int | None:
    data = b""
    try:
        while b"\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    except (ConnectionResetError, TimeoutError):
        pass
    if not data.startswith(b"HTTP/1."):
        return None
    return int(data.split(b" ", 2)[1])


def request(method: str, path: bytes | str, headers: dict | list | None = None, body: bytes = b"") -> bytes:
    path = path.encode() if isinstance(path, str) else path
    items = headers.items() if isinstance(headers, dict) else (headers or [])
    lines = [method.encode() + b" " + path + b" HTTP/1.1", b"Host: localhost", b"Connection: close"]
    for name, value in items:
        lines.append((name.encode() if isinstance(name, str) else name) + b": "
                     + (value.encode() if isinstance(value, str) else value))
    if body and not any(str(name).lower() in ("content-length", "transfer-encoding", "b'content-length'") for name, _ in items):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def rss(pid: int) -> tuple[int, int]:
    """(current, peak) resident memory of a process, in bytes."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def store_state(path: Path) -> dict:
    """What a SQLite store holds in its campaign databases, as counts, sequences and revisions.

    Read beside the running server.  The server's own bookkeeping (``_accounts``:
    a token's ``last_used_at``) is left out.
    """
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    campaigns = "(SELECT id FROM dbs WHERE substr(name, 1, 1) != '_')"
    try:
        return {
            "dbs": conn.execute("SELECT name, update_seq, doc_count, doc_del_count FROM dbs "
                                "WHERE substr(name, 1, 1) != '_' ORDER BY name").fetchall(),
            "docs": conn.execute(f"SELECT db, id, seq, winner, deleted FROM docs WHERE db IN {campaigns} ORDER BY db, id").fetchall(),
            "revs": conn.execute(f"SELECT count(*) FROM revs WHERE db IN {campaigns}").fetchone(),
            "blobs": conn.execute("SELECT count(*), total(length) FROM blobs").fetchone(),
            "local": conn.execute(f"SELECT db, id, rev FROM local_docs WHERE db IN {campaigns} ORDER BY db, id").fetchall(),
        }
    finally:
        conn.close()


def wait_closed(sock: socket.socket, timeout: float) -> float | None:
    """Seconds until the server closes ``sock`` (None if it stays open past ``timeout``)."""
    start = time.monotonic()
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return None
    except ConnectionResetError:
        pass
    return time.monotonic() - start
