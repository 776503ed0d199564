"""Each store's channel index: a filtered feed that resumes exactly and back-fills new channels.

Runs on the SQLite store and on the CouchDB store (a live pouchdb-server, or
the CouchDB of BLOCKWALK_TEST_COUCHDB_URL).
"""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.couchdb.store import CouchDBServer
from sync.errors import BadRequest
from sync.sqlite import SQLiteServer
from sync.store import Grants
from tests.conftest import STORE_KINDS, unique_prefix


def route(doc: dict):
    return doc.get("ch", [])


def _server(kind: str, folder, couchdb_url):
    if kind == "sqlite":
        return SQLiteServer(folder / "ch.db", router=route)
    return CouchDBServer(couchdb_url(), prefix=unique_prefix("ch"), router=route)


@pytest.fixture(params=STORE_KINDS)
def kind(request) -> str:
    return request.param


@pytest.fixture
def db(kind, tmp_path, request):
    server = _server(kind, tmp_path, lambda: request.getfixturevalue("couchdb_url"))
    yield server.create_db("c")
    server.close()


def _read_all(db, channels, since=0, limit=None):
    ids, seqs = [], []
    while True:
        page = db.changes(since, channels=channels, limit=limit)
        if not page.results:
            return ids, page.last_seq
        ids.extend(row["id"] for row in page.results)
        seqs.extend(row["seq"] for row in page.results)
        since = page.results[-1]["seq"]


def test_a_device_sees_only_its_channels(db):
    db.bulk_docs([{"_id": "f", "ch": ["campaign"]}, {"_id": "h1", "ch": ["turf:1"]}, {"_id": "h2", "ch": ["turf:2"]},
                  {"_id": "mine", "ch": ["user:vic"]}, {"_id": "roster", "ch": ["coordinators"]}])
    ids, _ = _read_all(db, {"campaign", "turf:1", "user:vic"})
    assert sorted(ids) == ["f", "h1", "mine"]
    assert db.channels_of(["h1", "h2", "nope"]) == {"h1": {"turf:1"}, "h2": {"turf:2"}, "nope": set()}


def test_paging_across_channels_resumes_exactly(db):
    docs = [{"_id": f"d{i:02d}", "ch": [random.Random(i).choice(["a", "b", "c"])]} for i in range(40)]
    db.bulk_docs(docs)
    expected = [d["_id"] for d in docs if d["ch"][0] in ("a", "b")]
    for limit in (1, 3, 7, None):
        ids, _ = _read_all(db, {"a", "b"}, limit=limit)
        # Each document once; the order across channels is the store's own.
        assert sorted(ids) == expected and len(ids) == len(set(ids)), limit


def test_a_new_channel_is_back_filled_and_old_ones_resume(db):
    db.bulk_docs([{"_id": f"a{i}", "ch": ["a"]} for i in range(5)] + [{"_id": f"b{i}", "ch": ["b"]} for i in range(5)])
    ids, since = _read_all(db, {"a"})
    assert ids == [f"a{i}" for i in range(5)]
    db.put({"_id": "a9", "ch": ["a"]})
    # Granted channel b: its old documents arrive, and a resumes where it was.
    ids, since = _read_all(db, {"a", "b"}, since=since)
    assert sorted(ids) == ["a9"] + [f"b{i}" for i in range(5)]
    assert _read_all(db, {"a", "b"}, since=since)[0] == []


def test_moving_and_deleting(db):
    rev = db.put({"_id": "h", "ch": ["turf:1"]})["rev"]
    _, since_1 = _read_all(db, {"turf:1"})
    _, since_2 = _read_all(db, {"turf:2"})
    rev = db.put({"_id": "h", "_rev": rev, "ch": ["turf:2"]})["rev"]
    assert _read_all(db, {"turf:1"}, since=since_1)[0] == []
    assert _read_all(db, {"turf:2"}, since=since_2)[0] == ["h"]
    _, since_2 = _read_all(db, {"turf:2"})
    db.put({"_id": "h", "_rev": rev, "_deleted": True})
    page = db.changes(since_2, channels={"turf:2"})
    assert [(r["id"], r.get("deleted")) for r in page.results] == [("h", True)]  # the deletion reaches the device


def _grant_read_from(db, reads: list):
    """Grants as a volunteer's follow from their assignments: here, the channels listed in document "grant"."""
    def read(store):
        reads.append(1)
        return set(store.get("grant")["grants"])
    return Grants("volunteer:vic", read)


def test_grants_read_from_the_store_filter_every_read_and_follow_its_changes(db):
    rev = db.put({"_id": "grant", "grants": ["turf:1"]})["rev"]
    db.bulk_docs([{"_id": "h1", "ch": ["turf:1"]}, {"_id": "h2", "ch": ["turf:2"]}])
    grants = _grant_read_from(db, [])
    assert _read_all(db, grants)[0] == ["h1"]
    assert db.granted(grants) == {"turf:1"}
    assert db.visible(["h1", "h2", "nope"], grants) == {"h1"}
    answer = db.bulk_get([{"id": "h2"}, {"id": "h1"}], grants=grants)
    assert [r["id"] for r in answer] == ["h2", "h1"]
    assert answer[0]["docs"] == [{"error": {"id": "h2", "rev": "undefined", "error": "not_found", "reason": "missing"}}]
    assert answer[1]["docs"][0]["ok"]["_id"] == "h1"
    # The grant changes: the very next read follows it.
    db.put({"_id": "grant", "_rev": rev, "grants": ["turf:2"]})
    assert db.visible(["h1", "h2"], grants) == {"h2"}
    assert [r["id"] for r in db.bulk_get([{"id": "h1"}, {"id": "h2"}], grants=grants) if "ok" in r["docs"][0]] == ["h2"]
    assert _read_all(db, grants)[0] == ["h2"]


def test_positions_are_checked(db):
    for bad in ("v1.not-base64!!", "v1.e30", "banana", -3):
        with pytest.raises(BadRequest):
            db.changes(bad, channels={"a"})


@pytest.mark.parametrize("store", STORE_KINDS)
@settings(max_examples=25, deadline=None)
@given(writes=st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["a", "b", "c", "d"])), min_size=1, max_size=60),
       wanted=st.sets(st.sampled_from(["a", "b", "c", "d"]), min_size=1), limit=st.one_of(st.none(), st.integers(1, 5)),
       cut=st.integers(0, 60))
def test_any_history_any_paging_gives_exactly_the_current_documents(store, couchdb_url, tmp_path_factory, writes,
                                                                    wanted, limit, cut):
    server = _server(store, tmp_path_factory.mktemp("prop"), lambda: couchdb_url)
    db = server.create_db("c")
    current: dict[str, str] = {}
    since = 0
    seen: set[str] = set()
    for i, (n, channel) in enumerate(writes):
        doc_id = f"d{n}"
        try:
            rev = db.get(doc_id)["_rev"]
            db.put({"_id": doc_id, "_rev": rev, "ch": [channel]})
        except Exception:
            db.put({"_id": doc_id, "ch": [channel]})
        current[doc_id] = channel
        if i == cut:  # a device pulls half-way through the history
            ids, since = _read_all(db, wanted, limit=limit)
            seen.update(ids)
    ids, _ = _read_all(db, wanted, since=since, limit=limit)
    seen.update(ids)
    expected = {doc_id for doc_id, channel in current.items() if channel in wanted}
    assert expected <= seen  # nothing the device may see is ever missed
    fresh, _ = _read_all(db, wanted, limit=limit)
    assert sorted(fresh) == sorted(expected) and len(fresh) == len(set(fresh))
    server.close()
