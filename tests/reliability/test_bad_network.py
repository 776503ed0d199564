"""Real PouchDB devices syncing through a bad network (``tests.helpers.faultproxy``):
delays, dropped and half-closed connections, truncated answers, resets.
Replication completes with identical data on both sides."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import couch_store_url, unique_prefix
from tests.helpers.faultproxy import FAULTS, FaultProxy
from tests.peers import LiveServer, PouchError, PouchPeer

DOCS = 300


def _sync_until_done(peer: PouchPeer, a: str, b: dict, attempts: int = 100) -> int:
    """Sync as an app does: again after every failure; the number of failed attempts."""
    for failed in range(attempts):
        try:
            result = peer.call("sync", a=a, b=b, options={"batch_size": 25}, timeoutMs=20_000)
        except PouchError:
            continue
        if result["push"]["ok"] and result["pull"]["ok"] and not result["push"]["doc_write_failures"]:
            return failed
    raise AssertionError(f"{a} did not finish syncing in {attempts} attempts")


@pytest.mark.parametrize("kind", ["sqlite", "couchdb"])
def test_replication_completes_through_a_bad_network(kind, tmp_path, request):
    store = None if kind == "sqlite" else couch_store_url(request.getfixturevalue("couchdb_url"), unique_prefix("n"))
    live = LiveServer(tmp_path, store=store)
    proxy = FaultProxy(live.url, fault_rate=0.1, seed=10)
    phone, tablet = PouchPeer(), PouchPeer()
    try:
        db = live.new_db()
        remote = {"url": f"{proxy.url}/sync/{db}", "token": live.token}
        photo = base64.b64encode(bytes(range(256)) * 40).decode()
        docs = [{"_id": f"visit:{n:04d}", "n": n, "notes": "x" * (n % 7) * 300} for n in range(DOCS)]
        for doc in docs[::25]:
            doc["_attachments"] = {"door.jpg": {"content_type": "image/jpeg", "data": photo}}
        phone.call("bulkDocs", db="phone", docs=docs)
        tablet.call("bulkDocs", db="tablet", docs=[{"_id": f"asset:{n:03d}", "n": n} for n in range(100)])
        failures = _sync_until_done(phone, "phone", remote) + _sync_until_done(tablet, "tablet", remote)
        # Both edit one document and sync again: a conflict, carried both ways through the same bad network.
        for peer, name in ((phone, "phone"), (tablet, "tablet")):
            doc = peer.call("get", db=name, id="visit:0001")
            peer.call("put", db=name, doc={**doc, "by": name})
        for _ in range(2):
            failures += _sync_until_done(phone, "phone", remote) + _sync_until_done(tablet, "tablet", remote)
        print(f"\n{kind}: faults {dict(proxy.counts)}, {failures} sync attempts failed and were retried")
        assert set(FAULTS) <= set(proxy.counts), f"not every fault happened: {dict(proxy.counts)}"
        assert failures > 0

        proxy.enabled = False
        server = {row["id"]: row["value"]["rev"] for row in live.http.get(f"/sync/{db}/_all_docs").json()["rows"]}
        assert len(server) == DOCS + 100
        for peer, name in ((phone, "phone"), (tablet, "tablet")):
            assert {row["id"]: row["value"]["rev"] for row in peer.call("allDocs", db=name)["rows"]} == server
            for doc_id in ("visit:0000", "visit:0001", "visit:0150", "visit:0299", "asset:050"):
                mine = peer.call("get", db=name, id=doc_id, options={"revs": True, "conflicts": True})
                theirs = live.http.get(f"/sync/{db}/{doc_id}", params={"revs": "true", "conflicts": "true"}).json()
                assert mine == theirs
            assert peer.call("getAttachment", db=name, id="visit:0275", name="door.jpg") == photo
        assert live.http.get(f"/sync/{db}/visit:0275/door.jpg").content == base64.b64decode(photo)
    finally:
        phone.close()
        tablet.close()
        proxy.close()
        live.close()
