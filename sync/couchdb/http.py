"""Talking to CouchDB: one keep-alive ``http.client`` connection per thread, and its answers read.

Every request Blockwalk answers on the CouchDB store costs at least one
request to CouchDB, so the client's own cost per call counts.  Measured on
loopback against pouchdb-server (``GET _local/x``, 500 calls): httpx 0.41 to
0.46 ms of Python CPU per call, ``http.client`` 0.13 to 0.15 ms.  The
server's threads (waitress) each keep their own connection, reused while it
stays open; a connection the server has closed while idle is noticed before
it is reused (its socket reads as ready), so no request is ever sent twice.

Errors are the standard library's: ``TimeoutError`` when CouchDB does not
answer in time, ``OSError`` or ``http.client.HTTPException`` when it cannot
be reached.  ``with_retries`` turns them into ``StoreUnavailable``; ``Requester`` is
the one call the rest of the store (the channel index) needs: a request,
retried or not.
"""

from __future__ import annotations

import base64
import http.client
import select
import socket
import threading
import time
from typing import Callable, Protocol
from urllib.parse import urlencode, urlsplit

from sync import errors, jsonutil
from sync.errors import NotFound, PreconditionFailed, StoreUnavailable

RETRY_DELAYS = (0.1, 0.3, 0.9)


class Response:
    """What the store reads of an answer: the status and the body."""

    __slots__ = ("status_code", "content")

    def __init__(self, status_code: int, content: bytes):
        self.status_code = status_code
        self.content = content

    def json(self):
        return jsonutil.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class Requester(Protocol):
    """A client of CouchDB: one request, retried with backoff or not (``CouchDBServer.request``)."""

    def request(self, method: str, path: str, *, retry: bool, **kwargs) -> Response: ...


def with_retries(send: Callable[..., Response], method: str, path: str, *, retry: bool, **kwargs) -> Response:
    """``send(method, path, **kwargs)`` (``ConnectionPool.request``), an unreachable CouchDB, a timeout or a 5xx
    retried with backoff when ``retry``; when it still fails, ``StoreUnavailable`` naming no host or credential."""
    delays = RETRY_DELAYS if retry else ()
    attempt = 0
    while True:
        try:
            response = send(method, path, **kwargs)
        except TimeoutError:
            failure = "did not answer in time"
        except (OSError, http.client.HTTPException) as exc:
            failure = f"cannot be reached ({type(exc).__name__})"
        else:
            if response.status_code < 500:
                return response
            failure = f"answered {response.status_code}"
        if attempt >= len(delays):
            raise StoreUnavailable(f"The document store (CouchDB) {failure}; try again shortly")
        time.sleep(delays[attempt])
        attempt += 1


class ConnectionPool:
    """Keep-alive connections to one CouchDB, one per calling thread."""

    def __init__(self, url: str, *, auth: tuple[str, str] | None, timeout: float, connect_timeout: float = 5.0):
        parts = urlsplit(url.rstrip("/"))
        if parts.scheme not in ("http", "https"):
            raise ValueError("the CouchDB URL must start with http:// or https://")
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "localhost"
        self.port = parts.port or (443 if self.https else 80)
        self.base_path = parts.path
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        # identity: CouchDB sits on the same network; gzip would cost CPU on both ends.
        self.headers = {"Accept": "application/json", "Content-Type": "application/json", "Accept-Encoding": "identity"}
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
            self.headers["Authorization"] = f"Basic {token}"
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: set[http.client.HTTPConnection] = set()

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.sock is not None and _closed_by_peer(conn.sock):
            self._drop(conn)
            conn = None
        if conn is None:
            kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            conn = kind(self.host, self.port, timeout=self.connect_timeout)
            self._local.conn = conn
            with self._lock:
                self._open.add(conn)
        return conn

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None
        with self._lock:
            self._open.discard(conn)

    def request(self, method: str, path: str, *, params: dict | None = None, content: bytes | str | None = None,
                headers: dict | None = None, timeout: float | None = None) -> Response:
        target = self.base_path + path + ("?" + urlencode(params) if params else "")
        conn = self._connection()
        try:
            if conn.sock is None:
                conn.connect()
            conn.sock.settimeout(self.timeout if timeout is None else timeout)
            conn.request(method, target, body=content, headers={**self.headers, **headers} if headers else self.headers)
            answer = conn.getresponse()
            body = answer.read()
        except BaseException:
            self._drop(conn)  # a half-used connection is never reused
            raise
        if answer.will_close:
            self._drop(conn)
        return Response(answer.status, body)

    def close(self) -> None:
        with self._lock:
            conns, self._open = self._open, set()
        for conn in conns:
            if conn.sock is not None:
                try:  # wakes a thread waiting on it (a follower's longpoll): close alone may not
                    conn.sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            conn.close()


def _closed_by_peer(sock) -> bool:
    """An idle keep-alive socket that reads as ready has been closed (or is broken)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def raise_for(response: Response, doc_id: str | None = None) -> None:
    """CouchDB's error answer as the ``sync.errors`` class of the same name."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
        error, reason = str(body.get("error", "")), str(body.get("reason", ""))
    except (ValueError, AttributeError):
        error, reason = "", response.text[:200]
    if response.status_code == 404:
        raise NotFound(reason if reason in ("missing", "deleted") else "missing", doc_id)
    if error == "file_exists":
        raise PreconditionFailed(reason, doc_id)
    raise errors.from_result({"id": doc_id, "error": error or "bad_request", "reason": reason or f"HTTP {response.status_code}"})


def winner_key(doc: dict) -> tuple[bool, int, str]:
    """CouchDB's winner rule on a document with ``_rev`` (``revtree`` has it for trees)."""
    pos, _, rev_hash = doc["_rev"].partition("-")
    return (not doc.get("_deleted", False), int(pos), rev_hash)
