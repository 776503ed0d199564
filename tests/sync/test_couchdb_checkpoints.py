"""Checkpoints written behind (sync.couchdb.checkpoints): what the writer does when CouchDB fails."""

from __future__ import annotations

import pytest

from sync.couchdb import checkpoints as couchdb_checkpoints
from sync.couchdb.checkpoints import Checkpoints
from sync.errors import StoreUnavailable
from tests.conftest import eventually

KEY = ("blockwalk-east", "_local/phone")


@pytest.fixture
def points(monkeypatch):
    monkeypatch.setattr(couchdb_checkpoints, "WRITE_DELAY", 0.05)
    kept = Checkpoints()
    kept.written(KEY, {"_id": KEY[1], "last_seq": 1}, "0-1")
    yield kept
    kept.close()


def test_a_write_waits_while_couchdb_is_away_and_reaches_it_when_it_is_back(points):
    sent: list[dict] = []

    def write(doc):
        sent.append(doc)
        if len(sent) < 3:
            raise StoreUnavailable("The document store (CouchDB) cannot be reached")
        return f"0-{len(sent)}"

    assert points.put_behind(KEY, {"_id": KEY[1], "_rev": "0-1", "last_seq": 2}, write)["rev"] == "0-2"
    eventually(lambda: len(sent) == 3)
    assert [doc["_rev"] for doc in sent] == ["0-1"] * 3 and {doc["last_seq"] for doc in sent} == {2}
    assert points.get(KEY) == {"_id": KEY[1], "_rev": "0-2", "last_seq": 2}  # what the device was answered
    # The next write goes on the revision CouchDB gave the last one.
    assert points.put_behind(KEY, {"_id": KEY[1], "_rev": "0-2", "last_seq": 3}, write)["rev"] == "0-3"
    eventually(lambda: len(sent) == 4)
    assert sent[3] == {"_id": KEY[1], "_rev": "0-3", "last_seq": 3}


def test_a_write_that_fails_otherwise_is_forgotten_and_the_device_reads_couchdb_again(points):
    def write(doc):
        raise ValueError("an answer that is not JSON")

    points.put_behind(KEY, {"_id": KEY[1], "_rev": "0-1", "last_seq": 2}, write)
    eventually(lambda: points.get(KEY) is None)
    # The writer is still there for the next checkpoint.
    other = ("blockwalk-east", "_local/tablet")
    points.written(other, {"_id": other[1]}, "0-1")
    sent = []
    points.put_behind(other, {"_id": other[1], "_rev": "0-1"}, lambda doc: sent.append(doc) or "0-2")
    eventually(lambda: sent == [{"_id": other[1], "_rev": "0-1"}])
