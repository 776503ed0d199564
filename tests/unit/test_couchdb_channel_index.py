"""The CouchDB store's channel index: shared by processes, and whole after a failure half-way.

Against a live pouchdb-server (or BLOCKWALK_TEST_COUCHDB_URL).  Each
``CouchDBServer`` below stands for one Blockwalk process.
"""

from __future__ import annotations

import pytest

from sync.couchdb_channels import ChannelIndex
from sync.couchdb_store import CouchDBServer
from sync.errors import BadRequest, StoreUnavailable
from tests.conftest import unique_prefix


def route(doc: dict):
    return doc.get("ch", [])


def _read_all(db, channels, since=0, style="main_only"):
    rows = []
    while True:
        page = db.changes(since, channels=channels, limit=2, style=style)
        if not page.results:
            return rows, page.last_seq
        rows.extend(page.results)
        since = page.results[-1]["seq"]


@pytest.fixture
def two_processes(couchdb_url):
    prefix = unique_prefix("ix")
    first = CouchDBServer(couchdb_url, prefix=prefix, router=route)
    second = CouchDBServer(couchdb_url, prefix=prefix, router=route)
    first.create_db("c")
    yield first.open_db("c"), second.open_db("c")
    first.close()
    second.close()


def test_two_processes_share_one_index(two_processes):
    one, two = two_processes
    one.bulk_docs([{"_id": "h1", "ch": ["turf:1"]}, {"_id": "h2", "ch": ["turf:2"]}])
    rows, since = _read_all(two, {"turf:1"})
    assert [r["id"] for r in rows] == ["h1"]
    two.put({"_id": "h3", "ch": ["turf:1"]})
    rows, since = _read_all(one, {"turf:1"}, since)
    assert [r["id"] for r in rows] == ["h3"]
    assert _read_all(two, {"turf:1"}, since)[0] == []
    assert one.channels_of(["h1", "h2", "nope"]) == {"h1": {"turf:1"}, "h2": {"turf:2"}, "nope": set()}


def test_conflicts_are_listed_with_every_leaf(two_processes):
    one, two = two_processes
    for rev_hash, value in (("a" * 32, 1), ("b" * 32, 2)):
        one.bulk_docs([{"_id": "r", "_rev": f"1-{rev_hash}", "_revisions": {"start": 1, "ids": [rev_hash]},
                        "ch": ["turf:1"], "v": value}], new_edits=False)
    rows, _ = _read_all(two, {"turf:1"}, style="all_docs")
    assert [r["id"] for r in rows] == ["r"]
    assert sorted(c["rev"] for c in rows[0]["changes"]) == ["1-" + "a" * 32, "1-" + "b" * 32]


def test_an_index_update_cut_off_half_way_loses_nothing(two_processes, monkeypatch):
    one, two = two_processes
    one.bulk_docs([{"_id": f"h{i}", "ch": ["turf:1"]} for i in range(5)])
    real = ChannelIndex._save_marker

    def crash(self, seq, rev):
        raise StoreUnavailable("The document store (CouchDB) cannot be reached; try again shortly")

    # The copies are written, then the process dies before the marker moves.
    monkeypatch.setattr(ChannelIndex, "_save_marker", crash)
    with pytest.raises(StoreUnavailable):
        one.changes(0, channels={"turf:1"})
    monkeypatch.setattr(ChannelIndex, "_save_marker", real)
    one.put({"_id": "h9", "ch": ["turf:1"]})
    rows, _ = _read_all(two, {"turf:1"})
    assert sorted(r["id"] for r in rows) == [f"h{i}" for i in range(5)] + ["h9"]


def test_campaign_names_with_the_index_mark_are_refused(two_processes, couchdb_url):
    one, _ = two_processes
    server = one.server
    with pytest.raises(BadRequest) as exc:
        server.create_db("c$routes")
    assert "$" in str(exc.value.reason)
    one.put({"_id": "h", "ch": ["turf:1"]})
    one.channels_of(["h"])  # builds the index databases
    assert server.list_dbs() == ["c"]
