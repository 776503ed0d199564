"""The CouchDB store's channel index: shared by processes, and whole after a failure half-way.

Against a live pouchdb-server (or BLOCKWALK_TEST_COUCHDB_URL).  Each
``CouchDBServer`` below stands for one Blockwalk process.
"""

from __future__ import annotations

import threading
import time

import pytest

from sync.couchdb import checkpoints as couchdb_checkpoints
from sync.couchdb.channel_index import CatchUps, ChannelIndex
from sync.couchdb.store import CouchDBServer
from sync.errors import BadRequest, Conflict, NotFound, StoreUnavailable
from tests.conftest import eventually, unique_prefix


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

    # The copies are written, then CouchDB fails before the marker moves.
    monkeypatch.setattr(ChannelIndex, "_save_marker", crash)
    with pytest.raises(StoreUnavailable):
        one.changes(0, channels={"turf:1"})
    monkeypatch.setattr(ChannelIndex, "_save_marker", real)
    one.put({"_id": "h9", "ch": ["turf:1"]})
    rows, _ = _read_all(two, {"turf:1"})
    assert sorted(r["id"] for r in rows) == [f"h{i}" for i in range(5)] + ["h9"]


def _saved_marker(db):
    response = db.server.request("GET", f"/{db.couch}$routes/_local/channel-index", retry=True)
    return response.json()["seq"] if response.status_code == 200 else None


def test_the_follower_copies_writes_after_they_are_acknowledged(two_processes, monkeypatch):
    one, two = two_processes
    assert _read_all(one, {"turf:1"})[0] == []  # the first filtered read starts one's follower
    copied_by: list[tuple[str, list[str]]] = []
    original = ChannelIndex._copy

    def watched(self, rows):
        copied_by.append((threading.current_thread().name, [row["id"] for row in rows]))
        return original(self, rows)

    monkeypatch.setattr(ChannelIndex, "_copy", watched)
    # Written through the other process, which has never read: one's follower hears of it from CouchDB.
    results = two.bulk_docs([{"_id": f"h{i}", "ch": [f"turf:{i % 2}"]} for i in range(6)])
    assert all(r.get("ok") for r in results)
    eventually(lambda: _saved_marker(one) == one.info().update_seq)
    assert copied_by and all(name.startswith("couchdb-index-follower") for name, _ in copied_by)
    assert sorted(doc_id for _, ids in copied_by for doc_id in ids) == [f"h{i}" for i in range(6)]
    # The index is current: a read in either process has nothing left to copy.
    copied_by.clear()
    assert sorted(r["id"] for r in _read_all(two, {"turf:1"})[0]) == ["h1", "h3", "h5"]
    assert sorted(r["id"] for r in _read_all(one, {"turf:0"})[0]) == ["h0", "h2", "h4"]
    assert copied_by == []


def test_a_follower_killed_before_its_marker_moved_loses_nothing(two_processes, monkeypatch):
    one, two = two_processes
    one.bulk_docs([{"_id": "h0", "ch": ["turf:1"]}, {"_id": "h1", "ch": ["turf:1"]}])
    assert len(_read_all(one, {"turf:1"})[0]) == 2  # one's follower runs from here
    tried = threading.Event()

    def crash(self, seq, rev):
        tried.set()
        raise StoreUnavailable("The document store (CouchDB) cannot be reached; try again shortly")

    monkeypatch.setattr(ChannelIndex, "_save_marker", crash)
    moved = one.get("h0")
    assert one.put({**moved, "ch": ["turf:2"]})["ok"]
    assert one.bulk_docs([{"_id": "h2", "ch": ["turf:1"]}, {"_id": "h3", "ch": ["turf:2"]}])[0]["ok"]
    assert one.put({"_id": "h1", "_rev": one.get("h1")["_rev"], "_deleted": True})["ok"]
    # The follower copied what it could, then failed before the marker moved; the process dies.
    assert tried.wait(30)
    one.server.close()
    monkeypatch.undo()
    # The other process's next read copies again from the marker: every acknowledged write is there, once.
    rows, _ = _read_all(two, {"turf:1"})
    assert sorted((r["id"], r.get("deleted", False)) for r in rows) == [("h1", True), ("h2", False)]
    assert sorted(r["id"] for r in _read_all(two, {"turf:2"})[0]) == ["h0", "h3"]
    assert two.channels_of(["h0", "h1", "h2"]) == {"h0": {"turf:2"}, "h1": {"turf:1"}, "h2": {"turf:1"}}
    assert _saved_marker(two) == two.info().update_seq


def test_followers_of_two_processes_copy_the_same_writes_once(two_processes):
    one, two = two_processes
    _read_all(one, {"turf:1"})
    _read_all(two, {"turf:1"})  # both processes follow the campaign
    for i in range(5):
        one.bulk_docs([{"_id": f"a{i}", "ch": ["turf:1"]}])
        two.bulk_docs([{"_id": f"b{i}", "ch": ["turf:1"]}])
    eventually(lambda: _saved_marker(one) == one.info().update_seq)
    rows = []
    for db in (one, two):
        rows = _read_all(db, {"turf:1"})[0]
        assert sorted(r["id"] for r in rows) == sorted([f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)])


def test_campaign_names_with_the_index_mark_are_refused(two_processes, couchdb_url):
    one, _ = two_processes
    server = one.server
    with pytest.raises(BadRequest) as exc:
        server.create_db("c$routes")
    assert "$" in str(exc.value.reason)
    one.put({"_id": "h", "ch": ["turf:1"]})
    one.channels_of(["h"])  # builds the index databases
    assert server.list_dbs() == ["c"]


def test_db_index_builds_the_index_of_a_campaign_loaded_before_it(couchdb_url, monkeypatch):
    from server.access.channels import route as blockwalk_route, turf_channel
    from tests.peers import blockwalk

    prefix = unique_prefix("ixcli")
    # Loaded straight into CouchDB, as by an older Blockwalk: no index yet.
    loader = CouchDBServer(couchdb_url, prefix=prefix)
    loader.create_db("city").bulk_docs(
        [{"_id": f"household:{i}", "type": "household", "turf": f"turf:{i % 3}"} for i in range(1200)])
    loader.close()
    assert blockwalk("db", "index", "city", store=f"couchdb+{couchdb_url}/{prefix}") == "city"
    server = CouchDBServer(couchdb_url, prefix=prefix, router=blockwalk_route)
    try:
        db = server.open_db("city")
        copied = []
        original = ChannelIndex._copy
        monkeypatch.setattr(ChannelIndex, "_copy", lambda self, rows: (copied.extend(rows), original(self, rows))[1])
        page = db.changes(0, channels={turf_channel("turf:1")})
        assert copied == []  # the first filtered read found the index built
        assert sorted(r["id"] for r in page.results) == sorted(f"household:{i}" for i in range(1, 1200, 3))
    finally:
        server.close()


def test_a_document_moved_after_it_was_listed_is_looked_up_again(two_processes):
    one, two = two_processes
    one.bulk_docs([{"_id": "h1", "ch": ["turf:1"]}, {"_id": "h2", "ch": ["turf:1"]}])
    rows, _ = _read_all(one, {"turf:1"})
    assert one.channels_of(["h1", "h2"]) == {"h1": {"turf:1"}, "h2": {"turf:1"}}
    # Moved by another process between a phone's _changes and its _bulk_get.
    two.put({**two.get("h1"), "ch": ["turf:2"]})
    assert one.channels_of(["h1", "h2"]) == {"h1": {"turf:2"}, "h2": {"turf:1"}}
    assert [r["id"] for r in _read_all(one, {"turf:1"})[0]] == ["h2"]


def test_a_follower_left_unread_stops_and_the_next_read_starts_another(two_processes, monkeypatch):
    import sync.couchdb.channel_index as channel_index

    one, _ = two_processes
    monkeypatch.setattr(channel_index, "FOLLOW_IDLE", 0.5)
    monkeypatch.setattr(channel_index, "FOLLOW_WAIT", 0.2)
    _read_all(one, {"turf:1"})
    first = one.server.index.followers[one.couch]
    first.thread.join(30)
    assert not first.thread.is_alive() and one.couch not in one.server.index.followers
    one.put({"_id": "h1", "ch": ["turf:1"]})
    assert [r["id"] for r in _read_all(one, {"turf:1"})[0]] == ["h1"]  # the read caught up itself
    assert one.server.index.followers[one.couch] is not first


def _rev(doc_id, pos, hashes, **body):
    return {"_id": doc_id, "_rev": f"{pos}-{hashes[0]}", "_revisions": {"start": pos, "ids": hashes}, **body}


def test_a_conflict_that_wins_in_another_channel_takes_the_document_out_of_the_first(two_processes):
    one, two = two_processes
    a, x, b, c = "a" * 32, "1" * 32, "b" * 32, "c" * 32
    one.bulk_docs([_rev("d", 2, [a, x], ch=["turf:1"]), _rev("d", 1, [b], ch=["turf:2"])], new_edits=False)
    rows, since = _read_all(two, {"turf:1"}, style="all_docs")
    assert [r["id"] for r in rows] == ["d"]  # 2-a wins: the document is in turf:1
    assert _read_all(two, {"turf:2"})[0] == []
    # 2-a is deleted: 1-b, which routes to turf:2, wins; the copy of 1-b in turf:1 was written when it lost.
    one.bulk_docs([_rev("d", 3, [c, a, x], _deleted=True, ch=["turf:1"])], new_edits=False)
    assert _read_all(two, {"turf:1"})[0] == []
    assert _read_all(two, {"turf:1"}, since)[0] == []
    assert [r["id"] for r in _read_all(one, {"turf:2"})[0]] == ["d"]
    assert one.channels_of(["d"]) == two.channels_of(["d"]) == {"d": {"turf:2"}}


def test_info_may_be_kept_a_moment_but_a_write_through_the_process_reads_it_anew(two_processes):
    """GET /{db} answers from info up to max_age old; this process's own writes are counted at once."""
    one, two = two_processes
    assert one.info(max_age=60).doc_count == 0
    two.bulk_docs([{"_id": "a"}])  # another process
    assert one.info(max_age=60).doc_count == 0  # kept: at most max_age old
    assert one.info().doc_count == 1  # max_age 0: read now
    one.bulk_docs([{"_id": "b"}])
    assert one.info(max_age=60).doc_count == 2  # its own write: read anew
    assert two.server.open_db("c").info(max_age=60).doc_count == 2


def test_a_checkpoint_is_read_back_from_the_process_that_wrote_it_and_written_behind(two_processes, monkeypatch):
    """PouchDB reads and writes its checkpoint once per batch: the writer answers both, CouchDB gets the last."""
    monkeypatch.setattr(couchdb_checkpoints, "WRITE_DELAY", 0.3)
    one, two = two_processes
    rev = one.put_local({"_id": "_local/phone", "last_seq": 1})["rev"]  # the first write goes to CouchDB at once
    assert _in_couchdb(two) == 1
    asked = _counting(one.server, monkeypatch)
    assert one.get_local("_local/phone") == {"_id": "_local/phone", "_rev": rev, "last_seq": 1}
    for seq in (2, 3, 4):  # the next batches: each answered at once, on the revision answered before
        rev = one.put_local({**one.get_local("_local/phone"), "last_seq": seq})["rev"]
    assert rev == "0-4" and asked == []  # no round trip to CouchDB yet
    assert one.get_local("_local/phone") == {"_id": "_local/phone", "_rev": "0-4", "last_seq": 4}
    eventually(lambda: _in_couchdb(two) == 4)
    assert [path.rsplit("/", 1)[1] for path in asked] == ["phone"]  # one write to CouchDB, the last one
    # A write on another revision than the one answered is refused, as CouchDB would refuse it after the writes.
    with pytest.raises(Conflict):
        one.put_local({"_id": "_local/phone", "_rev": "0-1", "last_seq": 9})
    assert _in_couchdb(two) == 4

    # Another process moves it on; the first, which remembers its own write, answers the next write from it ...
    one.put_local({**one.get_local("_local/phone"), "last_seq": 5})
    eventually(lambda: _in_couchdb(two) == 5)
    newer = two.put_local({**two.get_local("_local/phone"), "last_seq": 6})["rev"]
    one.put_local({**one.get_local("_local/phone"), "last_seq": 7})
    # ... but CouchDB refuses its write: it forgets its own and reads CouchDB's, on which the device writes again.
    eventually(lambda: one.get_local("_local/phone") == {"_id": "_local/phone", "_rev": newer, "last_seq": 6})
    one.put_local({**one.get_local("_local/phone"), "last_seq": 7})
    assert _in_couchdb(two) == 7  # at once: a write on CouchDB's revision goes there

    # A process that stops writes what waits first.
    monkeypatch.setattr(couchdb_checkpoints, "WRITE_DELAY", 30.0)
    one.put_local({**one.get_local("_local/phone"), "last_seq": 8})
    one.put_local({**one.get_local("_local/phone"), "last_seq": 9})
    time.sleep(0.2)
    assert _in_couchdb(two) == 7
    started = time.monotonic()
    one.server.close()
    assert time.monotonic() - started < 5
    assert _in_couchdb(two) == 9

    two.delete_local("_local/phone", _in_couchdb(two, "_rev"))
    with pytest.raises(NotFound):
        two.get_local("_local/phone")


def _in_couchdb(store, field="last_seq"):
    """A field of the checkpoint as CouchDB holds it (not as a process remembers it)."""
    return store._json("GET", store._local_path("_local/phone"))[field]


def test_reads_arriving_while_a_catch_up_runs_share_the_next_one():
    """Each read gets a catch-up that started after it arrived; those waiting together share one."""
    rounds = CatchUps()
    started: list[int] = []
    release = [threading.Event(), threading.Event()]

    def catch_up():
        started.append(len(started))
        release[started[-1]].wait(10)
        return started[-1]

    results: dict[str, int] = {}

    def read(name):
        results[name] = rounds.run(catch_up)

    first = threading.Thread(target=read, args=("first",))
    first.start()
    eventually(lambda: started == [0])
    later = [threading.Thread(target=read, args=(name,)) for name in ("second", "third")]
    for thread in later:
        thread.start()
    eventually(lambda: rounds._next is not None)
    time.sleep(0.5)  # both later reads are waiting by now
    assert started == [0]  # the two later reads wait: the running catch-up started before they arrived
    release[0].set()
    eventually(lambda: started == [0, 1])
    release[1].set()
    for thread in [first, *later]:
        thread.join(10)
    assert results == {"first": 0, "second": 1, "third": 1}  # one catch-up for both, not one each
    assert rounds.run(lambda: "alone") == "alone"


def _counting(server, monkeypatch) -> list[str]:
    """The paths this process asks CouchDB for, in order."""
    asked: list[str] = []
    real = server.request

    def request(method, path, *args, **kwargs):
        asked.append(path)
        return real(method, path, *args, **kwargs)

    monkeypatch.setattr(server, "request", request)
    return asked


def test_a_channel_paged_through_is_read_ahead_and_a_change_between_pages_is_not_missed(two_processes, monkeypatch):
    one, two = two_processes
    one.bulk_docs([{"_id": f"h{i:02d}", "ch": ["turf:1"]} for i in range(30)] + [{"_id": "x", "ch": ["turf:2"]}])
    one.changes(0, channels={"turf:9"})  # the index is up to date: only the pages' own reads are counted below
    asked = _counting(one.server, monkeypatch)
    rows, _ = _read_all(one, {"turf:1"})  # pages of 2
    assert [r["id"] for r in rows] == [f"h{i:02d}" for i in range(30)]
    channel_reads = [path for path in asked if "$c-" in path and path.endswith("/_changes")]
    # The first page as asked, then 4 pages at a time: 2 + 8 + 8 + 8 + 4 rows, and the end (page by page: 16).
    assert len(channel_reads) <= 6

    # Another process writes between two pages: the marker moves and nothing remembered is used.
    page = one.changes(0, channels={"turf:1"}, limit=2)
    two.put({"_id": "h99", "ch": ["turf:1"]})
    rows, _ = _read_all(one, {"turf:1"}, page.last_seq)
    assert [r["id"] for r in rows] == [f"h{i:02d}" for i in range(2, 30)] + ["h99"]


def test_grants_are_read_once_while_nothing_changes_and_anew_after_any_change(two_processes, monkeypatch):
    from sync.store import Grants

    one, two = two_processes
    rev = one.put({"_id": "grant", "grants": ["turf:1"]})["rev"]
    one.bulk_docs([{"_id": "h1", "ch": ["turf:1"]}, {"_id": "h2", "ch": ["turf:2"]}])
    reads = []

    def read(store):
        reads.append(1)
        return set(store.get("grant")["grants"])

    grants = Grants("volunteer:vic", read)
    one.changes(0, channels={"turf:9"})  # the index up to date (a catch-up within a read reads the grants again)
    page = one.changes(0, channels=grants, style="all_docs")
    assert [r["id"] for r in page.results] == ["h1"]
    # A pull's _bulk_get of the page, then a no-op pull: the grants are not read again.
    assert [r["docs"][0]["ok"]["_id"] for r in one.bulk_get([{"id": "h1"}], grants=grants)] == ["h1"]
    assert one.changes(page.last_seq, channels=grants).results == []
    assert len(reads) == 1
    # Another process changes something, anything: read again, and followed at once.
    two.put({"_id": "grant", "_rev": rev, "grants": ["turf:2"]})
    assert one.visible(["h1", "h2"], grants) == {"h2"}
    assert len(reads) == 2
