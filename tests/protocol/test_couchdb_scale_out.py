"""Blockwalk on CouchDB: stateless processes side by side, and CouchDB going away."""

from __future__ import annotations

import random

import httpx
import orjson
import pytest

from sync.couchdb.http import Response
from sync.couchdb.store import CouchDBServer
from sync.errors import StoreUnavailable
from tests.conftest import couch_store_url, eventually, unique_prefix
from tests.peers import LiveServer, PouchDBServer, PouchError


def _local(name: str) -> str:
    return f"{name}-{random.getrandbits(40):x}"


def _docs_in(log: list[dict]) -> int:
    """How many documents the logged requests sent in ``_bulk_docs``."""
    return sum(e["docs"] for e in log if e["path"].endswith("/_bulk_docs"))


def _bulk_docs_sent(pouch) -> int:
    return _docs_in(pouch.call("requestLog", clear=True))


def _push_logged(pouch, phone: str, target: dict, *, sent: int) -> list[dict]:
    """Push, check that ``sent`` documents went, and return the checkpoint writes the phone made."""
    pouch.call("requestLog", clear=True)
    pushed = pouch.call("replicate", **{"from": phone, "to": target})
    log = pouch.call("requestLog")
    assert pushed["ok"] and pushed["docs_written"] == sent
    assert _docs_in(log) == sent
    return [e for e in log if e["method"] == "PUT" and "/_local/" in e["path"]]


@pytest.fixture(scope="module")
def two_processes(couchdb_url, tmp_path_factory):
    store = couch_store_url(couchdb_url, unique_prefix("scale"))
    first = LiveServer(tmp_path_factory.mktemp("p1"), store=store)
    second = LiveServer(tmp_path_factory.mktemp("p2"), store=store, like=first)
    yield first, second
    second.close()
    first.close()


def test_two_processes_serve_one_couchdb_with_shared_checkpoints(two_processes, pouch):
    first, second = two_processes
    assert first.url != second.url
    assert first.http.get("/sync/").json()["uuid"] == second.http.get("/sync/").json()["uuid"]
    campaign = first.new_db("shared")
    phone, office = _local("phone"), _local("office")

    # A phone pushes through the first process; another device pulls through the second.
    pouch.call("generate", db=phone, count=150)
    pouch.call("requestLog", clear=True)
    pushed = pouch.call("replicate", **{"from": phone, "to": first.remote(campaign)})
    assert pushed["ok"] and pushed["docs_written"] == 150 and _bulk_docs_sent(pouch) == 150
    pulled = pouch.call("replicate", **{"from": second.remote(campaign), "to": office})
    assert pulled["ok"] and pulled["docs_written"] == 150

    # More knocks; the phone now reaches the second process, which knows its checkpoint.
    pouch.call("bulkDocs", db=phone, docs=[{"_id": f"late:{i}", "n": i} for i in range(20)])
    pushed = pouch.call("replicate", **{"from": phone, "to": second.remote(campaign)})
    assert pushed["ok"] and pushed["docs_written"] == 20
    assert _bulk_docs_sent(pouch) == 20, "the second process did not see the checkpoint the first one wrote"
    pulled = pouch.call("replicate", **{"from": first.remote(campaign), "to": office})
    assert pulled["ok"] and pulled["docs_read"] == 20, "the office device re-read what it had"
    assert pouch.call("info", db=office)["doc_count"] == 170

    # Back to the first process, which remembers the checkpoint it wrote before the second moved it on:
    # the phone starts from the older one and sends nothing twice.  Its checkpoint write is answered
    # from memory; CouchDB refuses it when it is written behind, and the first process forgets its own.
    pouch.call("bulkDocs", db=phone, docs=[{"_id": f"later:{i}", "n": i} for i in range(10)])
    writes = _push_logged(pouch, phone, first.remote(campaign), sent=10)
    assert len(writes) == 1
    checkpoint = writes[0]["path"].removeprefix(f"/sync/{campaign}/")
    eventually(lambda: first.http.get(f"/sync/{campaign}/{checkpoint}").json() ==
                second.http.get(f"/sync/{campaign}/{checkpoint}").json())
    # The phone reads CouchDB's checkpoint, is told it has sent everything, and writes its own to CouchDB.
    assert len(_push_logged(pouch, phone, first.remote(campaign), sent=0)) == 1
    assert _push_logged(pouch, phone, first.remote(campaign), sent=0) == []  # now nothing at all
    pulled = pouch.call("replicate", **{"from": second.remote(campaign), "to": office})
    assert pulled["ok"] and pulled["docs_read"] == 10 and pouch.call("info", db=office)["doc_count"] == 180

    # Users and tokens live in CouchDB: both processes accept the same credentials.
    name, password = LiveServer.ADMIN
    for process in two_processes:
        assert httpx.get(f"{process.url}/sync/{campaign}", auth=(name, password)).status_code == 200
        assert httpx.get(f"{process.url}/sync/{campaign}", headers={"Authorization": f"Bearer {first.volunteer_token}"}).status_code == 200


def test_a_stopped_server_writes_the_checkpoints_still_waiting(two_processes, tmp_path, pouch):
    """A checkpoint write answered from memory reaches CouchDB when the server is stopped (SIGTERM)."""
    first, _ = two_processes
    campaign = first.new_db("stopping")
    phone = _local("phone")
    leaving = LiveServer(tmp_path / "leaving", store=first.store, like=first)
    try:
        for batch, sent, writes in (("a", 5, 1), ("b", 5, 1)):  # the second write waits for CouchDB
            pouch.call("bulkDocs", db=phone, docs=[{"_id": f"{batch}:{i}"} for i in range(sent)])
            assert len(_push_logged(pouch, phone, leaving.remote(campaign), sent=sent)) == writes
    finally:
        leaving.close()
    # The phone finds its last checkpoint through another process: nothing to send, nothing to write.
    assert _push_logged(pouch, phone, first.remote(campaign), sent=0) == []


def test_couchdb_going_away_and_coming_back(tmp_path, pouch):
    couch = PouchDBServer(tmp_path / "couch")
    port = couch.port
    server = LiveServer(tmp_path / "blockwalk", store=couch_store_url(couch.url, "faults"))
    try:
        campaign = server.new_db()
        assert server.http.put(f"/sync/{campaign}/record:1", json={"v": 1}).status_code == 201

        couch.close()
        for request in [("GET", f"/sync/{campaign}", {}), ("GET", f"/sync/{campaign}/record:1", {}),
                        ("PUT", f"/sync/{campaign}/record:2", {"json": {"v": 2}}),
                        ("POST", f"/sync/{campaign}/_bulk_docs", {"json": {"docs": [{"_id": "r3", "_rev": "1-" + "a" * 32}], "new_edits": False}})]:
            method, path, kwargs = request
            response = server.http.request(method, path, **kwargs)
            assert response.status_code == 503, (path, response.text)
            body = response.json()
            assert body["error"] == "service_unavailable" and "CouchDB" in body["reason"]
            assert "127.0.0.1" not in body["reason"] and str(port) not in body["reason"]
        assert server.http.get("/healthz").status_code == 503
        phone = _local("phone")
        pouch.call("put", db=phone, doc={"_id": "record:offline", "v": 1})
        with pytest.raises(PouchError) as exc:
            pouch.call("replicate", **{"from": phone, "to": server.remote(campaign)})
        assert exc.value.error["status"] == 503

        # CouchDB comes back on the same port and data: Blockwalk recovers without a restart.
        couch = PouchDBServer(tmp_path / "couch", port=port)
        assert server.http.get("/healthz").status_code == 200
        assert server.http.get(f"/sync/{campaign}/record:1").json()["v"] == 1
        assert server.http.get(f"/sync/{campaign}/record:2").status_code == 404  # never acknowledged, never stored
        result = pouch.call("replicate", **{"from": phone, "to": server.remote(campaign)})
        assert result["ok"] and result["docs_written"] == 1
        assert server.http.get(f"/sync/{campaign}/record:offline").status_code == 200
    finally:
        server.close()
        couch.close()


class _Flaky:
    """A connection pool whose first ``failures`` requests are refused, then answered."""

    def __init__(self, failures: int):
        self.failures = failures
        self.calls: list[str] = []

    def request(self, method: str, path: str, **kwargs) -> Response:
        self.calls.append(f"{method} {path}")
        if len(self.calls) <= self.failures:
            raise ConnectionRefusedError("refused")
        if method == "GET":
            return Response(200, orjson.dumps({"_id": "r1", "_rev": "1-" + "a" * 32}))
        return Response(201, orjson.dumps([{"id": "r1", "rev": "2-" + "b" * 32, "ok": True}]))


def _flaky_store(failures: int):
    server = CouchDBServer("http://couch.invalid:5984", prefix="p")
    transport = _Flaky(failures)
    server.http = transport
    server._known.add("p-c")
    return server.open_db("c"), transport


def test_reads_are_retried_with_backoff_and_user_edits_are_not():
    store, transport = _flaky_store(failures=2)
    assert store.get("r1")["_rev"].startswith("1-")
    assert transport.calls == ["GET /p-c/r1"] * 3

    store, transport = _flaky_store(failures=1)
    with pytest.raises(StoreUnavailable):
        store.put({"_id": "r1", "_rev": "1-" + "a" * 32, "v": 2})
    assert transport.calls == ["POST /p-c/_bulk_docs"], "a user edit must not be sent twice"

    store, transport = _flaky_store(failures=9)
    with pytest.raises(StoreUnavailable) as exc:
        store.get("r1")
    assert len(transport.calls) == 4 and "couch.invalid" not in exc.value.reason


def test_a_longpoll_wakes_when_another_process_writes(two_processes):
    """A phone waits on one process; its teammate's push lands on the other: the wait ends with the record."""
    import threading
    import time

    first, second = two_processes
    campaign = first.new_db("live", forms=True)
    phone = {"Authorization": f"Bearer {first.volunteer_token}"}
    seq = httpx.get(f"{first.url}/sync/{campaign}/_changes", headers=phone, timeout=30).json()["last_seq"]  # in sync
    answer: dict = {}

    def wait() -> None:
        started = time.monotonic()
        response = httpx.get(f"{first.url}/sync/{campaign}/_changes",
                             params={"feed": "longpoll", "since": str(seq), "heartbeat": "10000", "style": "all_docs"},
                             headers=phone, timeout=70)
        answer.update(response=response, seconds=time.monotonic() - started)

    waiting = threading.Thread(target=wait)
    waiting.start()
    time.sleep(1.5)  # the phone is waiting on the first process
    meeting = {"_id": "meeting:live", "type": "meeting", "title": {"en": "Live"},
               "starts_at": "2026-12-10T18:00:00-06:00", "place": "Gym", "languages": ["en"]}
    assert second.http.post(f"/sync/{campaign}/_bulk_docs", json={"docs": [meeting]}).status_code == 201
    waiting.join(30)
    assert not waiting.is_alive(), "the longpoll on the first process did not wake"
    rows = answer["response"].json()["results"]
    assert [row["id"] for row in rows] == ["meeting:live"]
    assert answer["seconds"] < 20  # woken by the write, not by the 60 s timeout
