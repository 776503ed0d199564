"""Hostile input against a live server: only 4xx, never a 500, the server stays up,
its memory stays bounded and nothing stored changes.

The corpus is the project's own (schemathesis fuzzes the REST operations in
``tests/server/api/test_fuzz.py``): deeply nested JSON, huge revision lists, invalid
UTF-8, 100 MB bodies, slow-drip requests, path tricks and header injection,
against ``/sync/<db>/...`` and ``/api/v1/...``, sent as raw bytes.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time

import pytest

from tests.helpers.rawhttp import request, rss, send, store_state, wait_closed
from tests.peers import LiveServer, RECORD

MAX_REQUEST = 8 * 1024 * 1024  # a 100 MB body is more than 64 MiB over it: refused unread
MAX_ATTACHMENT = 256 * 1024
IDLE = 3  # BLOCKWALK_CHANNEL_TIMEOUT of the server under test
HUNDRED_MB = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    server = LiveServer(folder, env={
        "BLOCKWALK_MAX_REQUEST_BYTES": str(MAX_REQUEST),
        "BLOCKWALK_MAX_ATTACHMENT_BYTES": str(MAX_ATTACHMENT),
        "BLOCKWALK_CHANNEL_TIMEOUT": str(IDLE),
        "BLOCKWALK_THREADS": "4",
    })
    server.folder = folder
    server.db = server.new_db(forms=True)
    docs = [{**RECORD, "_id": f"record:{n}", "author": "vic", "answers": {"outcome": "not_home"}} for n in range(20)]
    response = server.http.post(f"/sync/{server.db}/_bulk_docs", json={"docs": docs})
    assert all(r.get("ok") for r in response.json()), response.text
    assert server.http.put(f"/sync/{server.db}/_local/checkpoint", json={"last_seq": "1"}).status_code == 201
    yield server
    server.close()


def _auth(live) -> tuple[str, str]:
    return ("Authorization", f"Bearer {live.token}")


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _huge_revisions(count: int, bad_last: bool) -> bytes:
    ids = [secrets.token_hex(16) for _ in range(count)]
    if bad_last:
        ids[-1] = "NOT-HEX"
    doc = {"_id": "hostile:revs", "_rev": f"{count}-{ids[0]}", "_revisions": {"start": count, "ids": ids}}
    return json.dumps({"docs": [doc], "new_edits": False}).encode()


def corpus(live) -> list[tuple[str, bytes]]:
    """(name, raw request) pairs; none of them may store anything or answer 5xx."""
    db, auth = live.db, _auth(live)
    js = ("Content-Type", "application/json")
    sync, api = f"/sync/{db}", f"/api/v1/campaigns/{db}"
    cases = [
        # deeply nested JSON, to every endpoint that reads a body
        *[(f"nested {path}", request(method, path, [auth, js], _nested(100_000))) for method, path in [
            ("POST", f"{sync}/_bulk_docs"), ("POST", f"{sync}/_revs_diff"), ("POST", f"{sync}/_bulk_get"),
            ("PUT", f"{sync}/hostile:1"), ("PUT", f"{sync}/_local/x"), ("POST", f"{sync}/_changes?filter=_doc_ids"),
            ("POST", f"{sync}/_all_docs"), ("PUT", f"{api}/turfs/t1"), ("PUT", f"{api}/forms/f1/draft"),
            ("POST", "/api/v1/users"), ("POST", "/api/v1/auth/login"), ("POST", f"{api}/households/import"),
        ]],
        ("nested inside a document", request("POST", f"{sync}/_bulk_docs", [auth, js],
                                             b'{"docs":[{"_id":"hostile:2","a":' + _nested(5000) + b"}]}")),
        ("nested in a query", request("GET", f"{sync}/_all_docs?keys=" + "%5B" * 5000 + "%5D" * 5000, [auth])),
        # huge revision lists: one that is wrong at its end
        ("huge bad _revisions", request("POST", f"{sync}/_bulk_docs", [auth, js], _huge_revisions(200_000, True))),
        ("huge _revs_diff", request("POST", f"{sync}/_revs_diff", [auth, js], json.dumps(
            {"hostile:rd": [f"1-{secrets.token_hex(16)}" for _ in range(100_000)]}).encode())),
        # invalid UTF-8 in bodies, paths, queries and headers
        ("invalid UTF-8 body", request("POST", f"{sync}/_bulk_docs", [auth, js], b'{"docs":[{"_id":"\xff\xfe\xfd"}]}')),
        ("invalid UTF-8 doc body", request("PUT", f"{sync}/hostile:3", [auth, js], b'{"a":"\xc3\x28"}')),
        ("invalid UTF-8 REST body", request("PUT", f"{api}/turfs/t1", [auth, js], b'{"id":"\xff"}')),
        ("invalid UTF-8 path", request("PUT", f"{sync}/%FF%FE".encode(), [auth, js], b"{}")),
        ("raw invalid UTF-8 path", request("PUT", sync.encode() + b"/\xff\xfe", [auth, js], b"{}")),
        ("invalid UTF-8 query", request("GET", f"{sync}/_changes?since=%FF%FE", [auth])),
        ("invalid UTF-8 REST path", request("GET", "/api/v1/campaigns/%FF/turfs", [auth])),
        ("invalid UTF-8 header", request("GET", f"{sync}/_changes", [("Authorization", b"Bearer \xff\xfe")])),
        ("invalid UTF-8 basic auth", request("GET", f"{api}/turfs", [("Authorization", b"Basic " + base64.b64encode(b"\xff:\xfe"))])),
        # path tricks
        *[(f"path {path!r}", request(method, path, [auth, js], b"{}")) for method, path in [
            ("GET", "/sync/../api/v1/users"), ("GET", "/sync/%2e%2e/%2e%2e/etc/passwd"),

            ("GET", f"{sync}/record:1/..%2F..%2F..%2Fetc%2Fpasswd"), ("PUT", "/sync/_users"),
            ("PUT", "/sync/_replicator/x"), ("PUT", f"{sync}%00/x"), ("PUT", f"{sync}/a%00b"),
            ("PUT", "//sync//" + db + "//hostile:12"), ("PUT", "/sync/" + db + "\\..\\x"),
            ("GET", "/api/v1/campaigns/..%2F..%2F/turfs"), ("GET", "/api/v1/campaigns/%00/turfs"),
            ("DELETE", f"{api}/turfs/..%2F..%2Fusers"), ("PUT", "/sync/" + "a" * 100_000),
 ("PUT", f"{sync}/_design/../../x"),
            ("DELETE", f"/sync/{db}"), ("PUT", f"{sync}/_bulk_docs/x"),
        ]],
        # header injection and request smuggling
        ("CR in a header", request("PUT", f"{sync}/hostile:4", [("Authorization", f"Bearer {live.token}\rX-Role: admin"), js], b"{}")),
        ("LF in a header", request("PUT", f"{sync}/hostile:5", [("Authorization", f"Bearer {live.token}\nX-Role: admin"), js], b"{}")),
        ("NUL in a header", request("PUT", f"{sync}/hostile:6", [("Authorization", f"Bearer {live.token}\x00"), js], b"{}")),
        ("two Content-Lengths", request("PUT", f"{sync}/hostile:7", [auth, js, ("Content-Length", "2"), ("Content-Length", "40")],
                                        b'{}{"_id":"hostile:7b","smuggled":true}')),
        ("TE and CL", request("POST", f"{sync}/_bulk_docs", [auth, js, ("Content-Length", "4"), ("Transfer-Encoding", "chunked")],
                              b"0\r\n\r\nPUT /sync/" + db.encode() + b"/hostile:8 HTTP/1.1\r\nHost: x\r\n\r\n")),
        ("bad chunk", request("POST", f"{sync}/_bulk_docs", [auth, js, ("Transfer-Encoding", "chunked")], b"zz\r\n{}\r\n0\r\n\r\n")),
        ("negative length", request("PUT", f"{sync}/hostile:9", [auth, js, ("Content-Length", "-1")], b"{}")),
        ("huge header", request("GET", f"{sync}/_all_docs", [auth, ("X-Junk", "x" * 300_000)])),
        ("absolute URI, no token", request("PUT", "http://evil.example/sync/" + db + "-evil", [js], b"")),
        ("spoofed user header", request("PUT", f"/sync/{db}-new", [("X-Remote-User", "ana"), ("X-Forwarded-User", "ana")], b"")),
        ("token in a query", request("PUT", f"{sync}/hostile:10?access_token={live.volunteer_token}", [js], b"{}")),
        ("volunteer writes a form", request("POST", f"{sync}/_bulk_docs", [("Authorization", f"Bearer {live.volunteer_token}"), js],
                                            b'{"docs":[{"_id":"form:evil","type":"form"}]}')),
        ("charset trick", request("POST", f"{sync}/_bulk_docs", [auth, ("Content-Type", "application/json; charset=utf-16")],
                                  '{"docs":[{"_id":"hostile:11"}]}'.encode("utf-16"))),
        # an attachment over the attachment limit (the body itself is under the request limit)
        ("attachment too large", request("POST", f"{sync}/_bulk_docs", [auth, js], json.dumps({"docs": [{
            "_id": "hostile:photo", "_attachments": {"door.jpg": {
                "content_type": "image/jpeg", "data": base64.b64encode(b"\0" * (MAX_ATTACHMENT + 1)).decode()}}}]}).encode())),
    ]
    return cases


def _alive(live) -> None:
    response = live.http.get(f"/sync/{live.db}")
    assert response.status_code == 200, response.text


def test_the_corpus_gets_only_4xx_and_changes_nothing(live):
    before = store_state(live.folder / "blockwalk.db")
    base_rss, _ = rss(live.proc.pid)
    answers = {}
    for name, raw in corpus(live):
        answers[name] = send(live.url, raw)
        assert live.proc.poll() is None, f"the server died on {name}"
    _alive(live)
    five_hundreds = {name: status for name, status in answers.items() if status is not None and status >= 500}
    assert not five_hundreds, five_hundreds
    # Every case is refused with a 4xx; an HTTP-level refusal may also just close the connection.
    # The batches whose documents are all refused one by one (CouchDB's replication shape) answer 201.
    # A read of many revisions is answered (it is a read: it stores nothing);
    # doubled slashes are redirected to the one canonical path, which is not followed here.
    per_document = {"huge bad _revisions", "volunteer writes a form", "attachment too large", "nested inside a document"}
    wrong = {}
    for name, status in answers.items():
        if name == "huge _revs_diff":
            expected = status == 200
        elif name.startswith("path '//sync"):
            expected = status == 308
        elif name in per_document:
            expected = status in (201, 400, 413)
        else:
            expected = status is None or 400 <= status < 500
        if not expected:
            wrong[name] = status
    assert not wrong, wrong
    assert store_state(live.folder / "blockwalk.db") == before
    now, peak = rss(live.proc.pid)
    print(f"\nRSS before {base_rss / 2**20:.0f} MiB, after {now / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB")
    assert now - base_rss < 64 * 2**20


def test_per_document_refusals_say_why(live):
    docs = [{"_id": "hostile:photo", "_attachments": {"door.jpg": {
        "content_type": "image/jpeg", "data": base64.b64encode(b"\0" * (MAX_ATTACHMENT + 1)).decode()}}}]
    response = live.http.post(f"/sync/{live.db}/_bulk_docs", json={"docs": docs, "new_edits": True})
    assert response.json() == [{"id": "hostile:photo", "error": "document_too_large",
                                "reason": f"Attachment 'door.jpg' of hostile:photo is {MAX_ATTACHMENT + 1} bytes; "
                                          f"the limit is {MAX_ATTACHMENT} bytes"}]
    response = live.http.post(f"/sync/{live.db}/_bulk_docs", content=_huge_revisions(200_000, True))
    (refused,) = response.json()
    assert refused["id"] == "hostile:revs" and refused["error"] == "forbidden" and "hex" in refused["reason"]


def test_100_mb_bodies_are_refused_before_they_are_read(live):
    base_rss, _ = rss(live.proc.pid)
    before = store_state(live.folder / "blockwalk.db")
    chunk = b"x" * (1024 * 1024)
    for path in (f"/sync/{live.db}/_bulk_docs", f"/api/v1/campaigns/{live.db}/households/import"):
        head = request("POST", path, [_auth(live), ("Content-Type", "application/json"), ("Content-Length", str(HUNDRED_MB))])
        assert send(live.url, head, body_chunks=(chunk for _ in range(100))) == 413
        # Chunked, with no length announced: refused once it passes the limit.
        head = request("POST", path, [_auth(live), ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")])
        chunks = (b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(100))
        assert send(live.url, head, body_chunks=chunks) == 413
    _alive(live)
    now, peak = rss(live.proc.pid)
    print(f"\nRSS before {base_rss / 2**20:.0f} MiB, after {now / 2**20:.0f} MiB, peak {peak / 2**20:.0f} MiB")
    assert now - base_rss < 32 * 2**20, "a refused body was held in memory"
    assert store_state(live.folder / "blockwalk.db") == before


def test_ids_that_look_like_paths_stay_ids(live):
    """``..`` and encoded slashes in an id are data: one document, at that id, in that database."""
    for doc_id, path in [("../../escape", "..%2f..%2fescape"), ("a/../b", "a%2F..%2Fb")]:
        response = live.http.put(f"/sync/{live.db}/{path}", json={"n": 1})
        assert response.status_code == 201 and response.json()["id"] == doc_id
        assert live.http.get(f"/sync/{live.db}/{path}").json()["n"] == 1
    local = live.http.put(f"/sync/{live.db}/_local/..%2F..%2Fcheckpoint", json={"last_seq": 1})
    assert local.status_code == 201 and local.json()["id"] == "_local/../../checkpoint"
    for escaped in ("/sync/escape", f"/sync/{live.db}/escape", "/sync/checkpoint"):
        assert live.http.get(escaped).status_code == 404


def test_a_huge_revision_list_is_stemmed_to_revs_limit(live):
    response = live.http.post(f"/sync/{live.db}/_bulk_docs", content=_huge_revisions(150_000, False))
    assert response.status_code == 201 and response.json() == []
    doc = live.http.get(f"/sync/{live.db}/hostile:revs", params={"revs": "true"}).json()
    assert doc["_revisions"]["start"] == 150_000
    assert len(doc["_revisions"]["ids"]) == 1000  # BLOCKWALK_REVS_LIMIT's default


def test_slow_drip_requests_hold_no_worker_and_idle_ones_are_closed(live):
    """Four worker threads; thirty clients dripping their requests a byte at a time."""
    dripping: list[socket.socket] = []
    stop = threading.Event()
    host, port = live.url.removeprefix("http://").split(":")
    raw = request("PUT", f"/sync/{live.db}/drip", [_auth(live), ("Content-Type", "application/json")], b'{"a": 1}')

    def drip(sock: socket.socket) -> None:
        for byte in raw[:-1]:  # never the last byte: the request never completes
            if stop.wait(0.5):
                return
            try:
                sock.sendall(bytes([byte]))
            except OSError:
                return

    for _ in range(30):
        sock = socket.create_connection((host, int(port)))
        dripping.append(sock)
        threading.Thread(target=drip, args=(sock,), daemon=True).start()
    try:
        time.sleep(1)
        for _ in range(10):  # real requests go through at once
            assert live.http.get(f"/sync/{live.db}").status_code == 200
        # A connection that stops sending is closed after BLOCKWALK_CHANNEL_TIMEOUT.
        stalled = socket.create_connection((host, int(port)))
        stalled.sendall(raw[:20])
        closed_after = wait_closed(stalled, timeout=IDLE * 10)
        assert closed_after is not None and closed_after >= IDLE - 0.5, closed_after
        stalled.close()
    finally:
        stop.set()
        for sock in dripping:
            sock.close()
    assert live.http.get(f"/sync/{live.db}/drip").status_code == 404  # no half request was stored
    _alive(live)


def test_the_limits_are_refused_at_start_when_wrong(tmp_path):
    with pytest.raises(AssertionError, match="BLOCKWALK_MAX_ATTACHMENT_BYTES"):
        LiveServer(tmp_path, env={"BLOCKWALK_MAX_ATTACHMENT_BYTES": "0"})
