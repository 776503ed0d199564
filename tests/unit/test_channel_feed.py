"""The SQLite store's channel index: a filtered feed that resumes exactly and back-fills new channels."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sync.errors import BadRequest
from sync.sqlite_store import SQLiteServer


def route(doc: dict):
    return doc.get("ch", [])


@pytest.fixture
def db(tmp_path):
    server = SQLiteServer(tmp_path / "ch.db", router=route)
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
    assert ids == ["f", "h1", "mine"]
    assert db.channels_of(["h1", "h2", "nope"]) == {"h1": {"turf:1"}, "h2": {"turf:2"}, "nope": set()}


def test_paging_across_channels_resumes_exactly(db):
    docs = [{"_id": f"d{i:02d}", "ch": [random.Random(i).choice(["a", "b", "c"])]} for i in range(40)]
    db.bulk_docs(docs)
    expected = [d["_id"] for d in docs if d["ch"][0] in ("a", "b")]
    for limit in (1, 3, 7, None):
        ids, _ = _read_all(db, {"a", "b"}, limit=limit)
        assert ids == expected, limit


def test_a_new_channel_is_back_filled_and_old_ones_resume(db):
    db.bulk_docs([{"_id": f"a{i}", "ch": ["a"]} for i in range(5)] + [{"_id": f"b{i}", "ch": ["b"]} for i in range(5)])
    ids, since = _read_all(db, {"a"})
    assert ids == [f"a{i}" for i in range(5)]
    db.put({"_id": "a9", "ch": ["a"]})
    # Granted channel b: its old documents arrive, and a resumes where it was.
    ids, since = _read_all(db, {"a", "b"}, since=since)
    assert ids == [f"b{i}" for i in range(5)] + ["a9"]
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


def test_positions_are_checked(db):
    for bad in ("v1.not-base64!!", "v1.e30", "banana", -3):
        with pytest.raises(BadRequest):
            db.changes(bad, channels={"a"})


@settings(max_examples=40, deadline=None)
@given(writes=st.lists(st.tuples(st.integers(0, 9), st.sampled_from(["a", "b", "c", "d"])), min_size=1, max_size=60),
       wanted=st.sets(st.sampled_from(["a", "b", "c", "d"]), min_size=1), limit=st.one_of(st.none(), st.integers(1, 5)),
       cut=st.integers(0, 60))
def test_any_history_any_paging_gives_exactly_the_current_documents(tmp_path_factory, writes, wanted, limit, cut):
    server = SQLiteServer(tmp_path_factory.mktemp("prop") / "p.db", router=route)
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
