"""The store contract: what every store (SQLite, CouchDB) must do, run on each.

Written once against ``sync.store.DocumentStore``; ``conftest.STORE_KINDS``
lists the stores it runs on.  Nothing here may depend on seqs being integers.
"""

from __future__ import annotations

import base64
import hashlib
import random

import pytest

from sync.errors import BadRequest, Conflict, NotFound, PreconditionFailed
from sync.revid import new_rev, parse_rev
from sync.store import DocumentStore, StoreLimits, StoreServer
from tests.factories import make_record, replicated, rev_hash

REV_RE = r"^\d+-[0-9a-f]{32}$"


def test_stores_implement_the_interface(server_factory, db):
    assert isinstance(server_factory(), StoreServer)
    assert isinstance(db, DocumentStore)


# -- databases -------------------------------------------------------------------


def test_databases_are_created_once_and_listed(server_factory):
    server = server_factory()
    server.create_db("east")
    server.create_db("west")
    with pytest.raises(PreconditionFailed):
        server.create_db("east")
    assert {"east", "west"} <= set(server.list_dbs())
    with pytest.raises(NotFound):
        server.open_db("north")


@pytest.mark.parametrize("name", ["", "East", "1abc", "a/b", "../x", "a b", "a" * 300])
def test_illegal_database_names_are_refused(server_factory, name):
    with pytest.raises(BadRequest):
        server_factory().create_db(name)


def test_databases_do_not_see_each_other(server_factory):
    server = server_factory()
    east, west = server.create_db("east"), server.create_db("west")
    east.put(make_record(_id="r1"))
    with pytest.raises(NotFound):
        west.get("r1")
    assert west.changes().results == []


def test_server_uuid_is_stable_across_reopen(server_factory):
    first = server_factory(subdir="u").uuid
    assert first == server_factory(subdir="u").uuid
    assert len(first) >= 16


# -- user edits ------------------------------------------------------------------


def test_put_and_get_a_new_document(db):
    result = db.put(make_record(_id="r1"))
    assert result["ok"] and result["id"] == "r1"
    assert result["rev"].startswith("1-") and len(result["rev"]) == 34
    doc = db.get("r1")
    assert doc["_id"] == "r1" and doc["_rev"] == result["rev"]
    assert doc["answers"]["asset_name"] == "Bike repair"


def test_edit_extends_the_leaf_and_stale_edit_is_a_conflict(db):
    first = db.put(make_record(_id="r1"))["rev"]
    second = db.put({**db.get("r1"), "answers": {"outcome": "signed_up"}})["rev"]
    assert second.startswith("2-")
    with pytest.raises(Conflict):
        db.put({**make_record(_id="r1"), "_rev": first})
    with pytest.raises(Conflict):
        db.put(make_record(_id="r1"))  # no _rev on an existing document
    with pytest.raises(Conflict):
        db.put({**make_record(_id="r9"), "_rev": first})  # a revision of nothing
    assert db.get("r1")["answers"] == {"outcome": "signed_up"}


def test_same_edit_on_same_parent_gives_same_revision(server_factory):
    a = server_factory(subdir="one").create_db("c")
    b = server_factory(subdir="two").create_db("c")
    doc = make_record(_id="r1")
    assert a.put(dict(doc))["rev"] == b.put(dict(doc))["rev"]


def test_delete_then_recreate(db):
    rev = db.put(make_record(_id="r1"))["rev"]
    deleted = db.put({"_id": "r1", "_rev": rev, "_deleted": True})["rev"]
    assert deleted.startswith("2-")
    with pytest.raises(NotFound) as exc:
        db.get("r1")
    assert exc.value.reason == "deleted"
    assert db.get("r1", deleted)["_deleted"] is True
    assert db.info().doc_count == 0 and db.info().doc_del_count in (1, None)  # None: pouchdb-server does not count
    again = db.put(make_record(_id="r1"))["rev"]
    assert again.startswith("3-")  # the new revision extends the deleted leaf
    assert db.get("r1")["_rev"] == again
    assert db.info().doc_count == 1 and db.info().doc_del_count in (0, None)


def test_documents_without_id_get_one(db):
    (result,) = db.bulk_docs([{"type": "record"}])
    assert result["ok"] and len(result["id"]) == 32
    assert db.get(result["id"])["type"] == "record"


def test_get_missing_document(db):
    with pytest.raises(NotFound) as exc:
        db.get("nobody")
    assert exc.value.reason == "missing"


# -- replicated writes and conflicts ---------------------------------------------------


def test_replicated_branches_are_kept_and_a_winner_chosen(db):
    base = make_record(_id="r1")
    db.bulk_docs([replicated(base, "a")], new_edits=False)
    results = db.bulk_docs(
        [replicated({**base, "side": "phone"}, "a", "b"), replicated({**base, "side": "laptop"}, "a", "c")],
        new_edits=False,
    )
    assert all(r.get("ok") for r in results)
    winner_label = max(["b", "c"], key=rev_hash)
    doc = db.get("r1", conflicts=True)
    assert doc["_rev"] == f"2-{rev_hash(winner_label)}"
    loser = "c" if winner_label == "b" else "b"
    assert doc["_conflicts"] == [f"2-{rev_hash(loser)}"]
    both = db.open_revs("r1", "all")
    assert sorted(r["ok"]["side"] for r in both) == ["laptop", "phone"]
    for row in both:
        assert row["ok"]["_revisions"]["ids"][-1] == rev_hash("a")


def test_winner_prefers_not_deleted_then_longest(db):
    base = make_record(_id="r1")
    db.bulk_docs(
        [
            replicated(base, "a", "b", "c", deleted=True),  # longest, but deleted
            replicated({**base, "v": 2}, "a", "x"),
        ],
        new_edits=False,
    )
    doc = db.get("r1", conflicts=True, deleted_conflicts=True)
    assert doc["_rev"] == f"2-{rev_hash('x')}"
    assert doc["_deleted_conflicts"] == [f"3-{rev_hash('c')}"]
    assert "_conflicts" not in doc
    db.bulk_docs([replicated({**base, "v": 3}, "a", "b", "c2", "d")], new_edits=False)
    assert db.get("r1")["_rev"] == f"4-{rev_hash('d')}"


def test_any_order_of_the_same_revisions_gives_the_same_winner(server_factory):
    base = make_record(_id="r1")
    writes = [
        replicated(base, "a"),
        replicated({**base, "n": 1}, "a", "b"),
        replicated({**base, "n": 2}, "a", "c"),
        replicated({**base, "n": 3}, "a", "b", "d", deleted=True),
        replicated({**base, "n": 4}, "a", "c", "e"),
    ]
    outcomes = set()
    for i, seed in enumerate([1, 2, 3]):
        order = writes[:]
        random.Random(seed).shuffle(order)
        db = server_factory(subdir=f"o{i}").create_db("c")
        for doc in order:
            db.bulk_docs([doc], new_edits=False)
        doc = db.get("r1", conflicts=True, deleted_conflicts=True)
        outcomes.add((doc["_rev"], tuple(doc.get("_conflicts", [])), tuple(doc.get("_deleted_conflicts", []))))
    assert len(outcomes) == 1


def test_open_revs_latest_and_missing(db):
    base = make_record(_id="r1")
    db.bulk_docs([replicated(base, "a", "b", "c")], new_edits=False)
    rows = db.open_revs("r1", [f"2-{rev_hash('b')}", "5-" + "0" * 32], latest=True)
    assert rows[0]["ok"]["_rev"] == f"3-{rev_hash('c')}"
    assert rows[1] == {"missing": "5-" + "0" * 32}
    assert db.open_revs("nobody", ["1-" + "a" * 32]) == [{"missing": "1-" + "a" * 32}]


def test_bulk_get_answers_every_asked_revision_in_order(db, store_kind):
    r1 = make_record(_id="r1")
    db.bulk_docs([replicated(r1, "a", "b"),
                  replicated(make_record(_id="r2", device="device:laptop"), "a", "x"),
                  replicated(make_record(_id="r2", device="device:phone"), "a", "y"),
                  replicated(make_record(_id="gone"), "a", "z", deleted=True)], new_edits=False)
    a, b, x, y = (f"{n}-{rev_hash(label)}" for n, label in ((1, "a"), (2, "b"), (2, "x"), (2, "y")))
    # What a pull asks: the leaves its changes feed listed, with revs and latest.
    wanted = [{"id": "r1", "rev": b}, {"id": "r2", "rev": x}, {"id": "nobody", "rev": a}, {"id": "r1"},
              {"id": "gone"}, {"id": "r1", "rev": "9-" + "0" * 32}, {"id": "r2", "rev": y}, {"id": "r1", "rev": b}]
    results = db.bulk_get(wanted, revs=True, latest=True)
    assert [r["id"] for r in results] == [w["id"] for w in wanted]
    (first,) = results[0]["docs"]
    assert first["ok"]["_rev"] == b and first["ok"]["answers"] == r1["answers"]
    assert first["ok"]["_revisions"] == {"start": 2, "ids": [rev_hash("b"), rev_hash("a")]}
    assert results[1]["docs"][0]["ok"]["device"] == "device:laptop"  # a losing leaf, its own body
    assert results[1]["docs"][0]["ok"]["_revisions"]["ids"] == [rev_hash("x"), rev_hash("a")]
    assert results[2]["docs"][0]["error"]["error"] == "not_found"
    assert results[2]["docs"][0]["error"]["rev"] == a
    assert results[3]["docs"][0]["ok"]["_rev"] == b and "_revisions" in results[3]["docs"][0]["ok"]
    assert results[4]["docs"][0]["error"]["error"] == "not_found"  # deleted, no revision asked
    assert results[5]["docs"][0]["error"]["error"] == "not_found"
    assert results[6]["docs"][0]["ok"]["device"] == "device:phone"
    assert results[7] == results[0]
    plain = db.bulk_get([{"id": "r1", "rev": b}], revs=False)
    assert plain[0]["docs"][0]["ok"]["_rev"] == b and "_revisions" not in plain[0]["docs"][0]["ok"]
    if store_kind == "sqlite":  # pouchdb-server cannot take latest=true (sync/couchdb/store.py)
        both = db.bulk_get([{"id": "r2", "rev": a}], latest=True)[0]["docs"]
        assert {d["ok"]["_rev"] for d in both} == {x, y}
        db.bulk_docs([replicated(make_record(_id="r3"), "a")], new_edits=False)
        db.bulk_docs([replicated(make_record(_id="r3"), "a", "b")], new_edits=False)
        assert db.bulk_get([{"id": "r3", "rev": a}])[0]["docs"][0]["ok"]["_rev"] == a
        assert db.bulk_get([{"id": "r3", "rev": a}], latest=True)[0]["docs"][0]["ok"]["_rev"] == b


def test_get_with_revs_gives_the_history(db):
    db.bulk_docs([replicated(make_record(_id="r1"), "a", "b", "c")], new_edits=False)
    doc = db.get("r1", revs=True)
    assert doc["_revisions"] == {"start": 3, "ids": [rev_hash("c"), rev_hash("b"), rev_hash("a")]}


def test_revs_diff(db):
    db.bulk_docs([replicated(make_record(_id="r1"), "a", "b")], new_edits=False)
    have, new = f"2-{rev_hash('b')}", f"3-{rev_hash('z')}"
    diff = db.revs_diff({"r1": [have, new], "r2": ["1-" + "a" * 32]})
    assert diff["r1"]["missing"] == [new]
    assert diff["r1"].get("possible_ancestors", [have]) == [have]  # optional: pouchdb-server omits it
    assert diff["r2"] == {"missing": ["1-" + "a" * 32]}
    assert db.revs_diff({"r1": [have]}) == {}


def test_a_batch_sent_twice_leaves_one_state(db):
    batch = [replicated(make_record(_id=f"r{i}"), "a", "b") for i in range(20)]
    db.bulk_docs(batch, new_edits=False)
    state = (db.info(), db.changes(style="all_docs").results)
    again = db.bulk_docs(batch, new_edits=False)
    assert all(r.get("ok") for r in again)
    assert (db.info(), db.changes(style="all_docs").results) == state


def test_a_batch_cut_off_half_way_then_resent_gives_the_same_state(server_factory):
    batch = [replicated(make_record(_id=f"r{i}"), "a") for i in range(10)]
    whole = server_factory(subdir="w").create_db("c")
    whole.bulk_docs(batch, new_edits=False)
    cut = server_factory(subdir="c").create_db("c")
    cut.bulk_docs(batch[:4], new_edits=False)
    cut.bulk_docs(batch, new_edits=False)
    # One batch's documents may take their seqs in any order on CouchDB: compare what is held.
    def held(db):
        return sorted((r["id"], r["changes"][0]["rev"]) for r in db.changes().results)

    assert held(cut) == held(whole)
    assert cut.info().doc_count == whole.info().doc_count == 10


def test_stemming_keeps_leaves_and_limits_history(server_factory):
    db = server_factory(StoreLimits(revs_limit=5)).create_db("c")
    db.put(make_record(_id="r1"))
    for n in range(12):
        db.put({**db.get("r1"), "n": n})
    doc = db.get("r1", revs=True)
    assert doc["_revisions"]["start"] == 13 and len(doc["_revisions"]["ids"]) == 5
    labels = [chr(ord("a") + i) for i in range(9)]
    db.bulk_docs([replicated(make_record(_id="r2"), *labels)], new_edits=False)
    db.bulk_docs([replicated(make_record(_id="r2"), *labels[:3], "x")], new_edits=False)
    leaves = {row["ok"]["_rev"] for row in db.open_revs("r2", "all")}
    assert leaves == {f"9-{rev_hash('i')}", f"4-{rev_hash('x')}"}


def _union_resolver(calls: list, padding: int = 0):
    """A resolver as the server's: one merge revision (a child of the winner) keeping every
    leaf's ``side``, and a deletion of each losing leaf, with ids from their content."""

    def resolve(doc_id: str, leaves: list[dict]) -> list[dict]:
        marks = [set(leaf) & {"_id", "_revisions"} for leaf in leaves]
        calls.append((doc_id, sorted(leaf["_rev"] for leaf in leaves), marks))
        winner = max(leaves, key=lambda leaf: parse_rev(leaf["_rev"]))
        merged = {**winner, "sides": sorted(leaf["side"] for leaf in leaves), "padding": "x" * padding}
        del merged["_rev"]
        writes = []
        for leaf, deleted in [(winner, False)] + [(leaf, True) for leaf in leaves if leaf is not winner]:
            pos, parent = parse_rev(leaf["_rev"])
            rev = new_rev(leaf["_rev"], {} if deleted else merged, deleted)
            body = {"_id": doc_id, "_deleted": True} if deleted else dict(merged)
            writes.append({**body, "_rev": rev, "_revisions": {"start": pos + 1, "ids": [rev.split("-")[1], parent]}})
        return writes

    return resolve


def test_a_resolver_resolves_the_conflicts_a_replicated_batch_makes(db):
    base = make_record(_id="r1")
    db.bulk_docs([replicated(base, "a"), replicated(make_record(_id="r2"), "a")], new_edits=False)
    calls: list = []
    results = db.bulk_docs(
        [replicated({**base, "side": "phone"}, "a", "b"), replicated({**base, "side": "laptop"}, "a", "c"),
         replicated(make_record(_id="r2", answers={"outcome": "moved"}), "a", "b")],
        new_edits=False, resolve=_union_resolver(calls),
    )
    assert [r["id"] for r in results] == ["r1", "r1", "r2"] and all(r.get("ok") for r in results)
    assert calls == [("r1", sorted([f"2-{rev_hash('b')}", f"2-{rev_hash('c')}"]), [{"_id"}, {"_id"}])]  # r2: one leaf
    doc = db.get("r1", conflicts=True, deleted_conflicts=True)
    assert doc["sides"] == ["laptop", "phone"] and "_conflicts" not in doc
    assert doc["_rev"].startswith("3-") and len(doc["_deleted_conflicts"]) == 1
    assert [row["ok"]["_rev"] for row in db.open_revs("r1", "all") if not row["ok"].get("_deleted")] == [doc["_rev"]]
    db.bulk_docs([replicated({**base, "side": "laptop"}, "a", "c")], new_edits=False, resolve=_union_resolver(calls))
    assert len(calls) == 1  # resent: nothing left to resolve
    db.bulk_docs([replicated({**base, "side": "tablet"}, "a", "d")], new_edits=False)
    assert len(db.get("r1", conflicts=True)["_conflicts"]) == 1  # without a resolver the leaves stay


def test_a_refused_merge_deletes_no_leaf(server_factory, caplog):
    db = server_factory(StoreLimits(max_document_bytes=4000)).create_db("c")
    base = make_record(_id="r1")
    db.bulk_docs([replicated({**base, "side": "phone"}, "a", "b")], new_edits=False)
    results = db.bulk_docs([replicated({**base, "side": "laptop"}, "a", "c")], new_edits=False,
                           resolve=_union_resolver([], padding=5000))
    assert results[0].get("ok")
    sides = sorted(row["ok"]["side"] for row in db.open_revs("r1", "all") if not row["ok"].get("_deleted"))
    assert sides == ["laptop", "phone"]  # both leaves stay, for the next push to resolve
    assert "could not write the resolution of r1" in caplog.text


def test_a_failing_resolver_costs_no_leaf(db, caplog):
    def broken(doc_id: str, leaves: list[dict]) -> list[dict]:
        raise KeyError("policy")

    base = make_record(_id="r1")
    db.bulk_docs([replicated({**base, "side": "phone"}, "a", "b")], new_edits=False)
    results = db.bulk_docs([replicated({**base, "side": "laptop"}, "a", "c")], new_edits=False, resolve=broken)
    assert results[0].get("ok")
    assert sorted(row["ok"]["side"] for row in db.open_revs("r1", "all")) == ["laptop", "phone"]
    assert "could not resolve r1" in caplog.text


# -- changes feed ----------------------------------------------------------------


def test_changes_lists_each_document_once_at_its_latest_change(db):
    for i in range(5):
        db.put(make_record(_id=f"r{i}"))
    db.put({**db.get("r1"), "answers": {"outcome": "refused"}})
    page = db.changes()
    assert [row["id"] for row in page.results] == ["r0", "r2", "r3", "r4", "r1"]
    assert page.last_seq == page.results[-1]["seq"] == db.info().update_seq
    for row in page.results:
        assert "seq" in row and row["changes"] == [{"rev": db.get(row["id"])["_rev"]}]


def test_changes_since_each_rows_seq_resumes_exactly(db):
    for i in range(30):
        db.put(make_record(_id=f"r{i:02d}"))
    seen, since = [], 0
    while True:
        page = db.changes(since, limit=7)
        if not page.results:
            break
        seen.extend(row["id"] for row in page.results)
        since = page.results[-1]["seq"]
    assert seen == [f"r{i:02d}" for i in range(30)]
    assert db.changes(since).results == []


def test_changes_style_all_docs_include_docs_and_deletions(db):
    base = make_record(_id="r1")
    db.bulk_docs([replicated(base, "a", "b"), replicated({**base, "x": 1}, "a", "c")], new_edits=False)
    rev = db.put(make_record(_id="r2"))["rev"]
    db.put({"_id": "r2", "_rev": rev, "_deleted": True})
    rows = {row["id"]: row for row in db.changes(style="all_docs", include_docs=True).results}
    assert {c["rev"] for c in rows["r1"]["changes"]} == {f"2-{rev_hash('b')}", f"2-{rev_hash('c')}"}
    assert rows["r1"]["doc"]["_rev"] == db.get("r1")["_rev"]
    assert rows["r2"]["deleted"] is True and rows["r2"]["doc"]["_deleted"] is True
    main_only = {row["id"]: row for row in db.changes().results}
    assert len(main_only["r1"]["changes"]) == 1 and "doc" not in main_only["r1"]


def test_changes_filtered_by_doc_ids(db):
    for i in range(5):
        db.put(make_record(_id=f"r{i}"))
    page = db.changes(doc_ids=["r3", "r1", "zz"])
    assert [row["id"] for row in page.results] == ["r1", "r3"]


@pytest.mark.parametrize("since", ["banana", -1, "1.5", None, {"a": 1}, True])
def test_changes_refuses_a_since_it_did_not_give(db, since):
    with pytest.raises(BadRequest):
        db.changes(since)


def test_changes_since_now_is_empty(db):
    db.put(make_record(_id="r1"))
    assert db.changes("now").results == []


# -- all_docs --------------------------------------------------------------------


def test_all_docs(db):
    for name in ["c", "a", "d", "b"]:
        db.put(make_record(_id=name))
    rev = db.get("d")["_rev"]
    db.put({"_id": "d", "_rev": rev, "_deleted": True})
    listing = db.all_docs()
    assert [row["id"] for row in listing["rows"]] == ["a", "b", "c"]
    assert listing["total_rows"] == 3
    assert [r["id"] for r in db.all_docs(descending=True, limit=2)["rows"]] == ["c", "b"]
    assert [r["id"] for r in db.all_docs(startkey="b", endkey="c")["rows"]] == ["b", "c"]
    assert [r["id"] for r in db.all_docs(skip=1, limit=1)["rows"]] == ["b"]
    rows = db.all_docs(keys=["b", "d", "zz"], include_docs=True)["rows"]
    assert rows[0]["doc"]["_id"] == "b"
    assert rows[1]["value"]["deleted"] is True
    assert rows[2] == {"key": "zz", "error": "not_found"}


# -- _local documents ------------------------------------------------------------


def test_local_documents_hold_checkpoints_and_never_replicate(db):
    first = db.put_local({"_id": "_local/abc", "last_seq": 5, "history": []})
    assert first["rev"] == "0-1"
    assert db.get_local("_local/abc")["last_seq"] == 5
    second = db.put_local({"_id": "_local/abc", "_rev": "0-1", "last_seq": 9})
    assert second["rev"] == "0-2"
    with pytest.raises(Conflict):
        db.put_local({"_id": "_local/abc", "_rev": "0-1", "last_seq": 1})
    assert db.get_local("_local/abc")["last_seq"] == 9
    assert db.changes().results == [] and db.all_docs()["rows"] == []
    assert db.info().update_seq == db.changes().last_seq
    db.delete_local("_local/abc", "0-2")
    with pytest.raises(NotFound):
        db.get_local("_local/abc")


def test_local_documents_in_bulk_docs(db):
    (result,) = db.bulk_docs([{"_id": "_local/cp", "seq": 1}])
    assert result["ok"]
    assert db.get_local("_local/cp")["seq"] == 1
    assert db.changes().results == []


# -- attachments -----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_attachments_are_stubs_with_couchdb_digests(db):
    photo = bytes(range(256)) * 40
    db.put(make_record(_id="r1", _attachments={"door.jpg": {"content_type": "image/jpeg", "data": _b64(photo)}}))
    stub = db.get("r1")["_attachments"]["door.jpg"]
    digest = "md5-" + base64.b64encode(hashlib.md5(photo).digest()).decode()
    assert stub == {"content_type": "image/jpeg", "digest": digest, "length": len(photo), "revpos": 1, "stub": True}
    att = db.get_attachment("r1", "door.jpg")
    assert att.data == photo and att.content_type == "image/jpeg" and att.digest == digest
    inline = db.get("r1", attachments=True)["_attachments"]["door.jpg"]
    assert base64.b64decode(inline["data"]) == photo


def test_attachment_stubs_carry_over_on_edit(db):
    data = b"a photo of the community garden"
    rev = db.put(make_record(_id="r1", _attachments={"g.jpg": {"content_type": "image/jpeg", "data": _b64(data)}}))["rev"]
    doc = db.get("r1")
    doc["answers"] = {"outcome": "signed_up"}
    doc["_attachments"] = {"g.jpg": {"stub": True}}
    db.put(doc)
    assert db.get_attachment("r1", "g.jpg").data == data
    assert db.get("r1")["_attachments"]["g.jpg"]["revpos"] == 1
    assert db.get_attachment("r1", "g.jpg", rev).data == data


def test_a_stub_with_nothing_behind_it_is_refused(db):
    doc = replicated(make_record(_id="r1"), "a")
    doc["_attachments"] = {"x.jpg": {"stub": True, "digest": "md5-AAAAAAAAAAAAAAAAAAAAAA==", "revpos": 1}}
    (result,) = db.bulk_docs([doc], new_edits=False)
    assert result["error"] == "missing_stub" and result["id"] == "r1"
    with pytest.raises(NotFound):
        db.get("r1")


def test_replicated_attachment_and_a_five_megabyte_photo(db):
    photo = random.Random(3).randbytes(5 * 1024 * 1024)
    doc = replicated(make_record(_id="r1"), "a")
    doc["_attachments"] = {"photo.jpg": {"content_type": "image/jpeg", "data": _b64(photo), "revpos": 1}}
    (result,) = db.bulk_docs([doc], new_edits=False)
    assert result.get("ok")
    assert db.get_attachment("r1", "photo.jpg").data == photo
    # A second revision that names the same digest by stub needs no bytes.
    second = replicated(make_record(_id="r1"), "a", "b")
    second["_attachments"] = {"photo.jpg": dict(db.get("r1")["_attachments"]["photo.jpg"])}
    (result,) = db.bulk_docs([second], new_edits=False)
    assert result.get("ok")
    assert db.get_attachment("r1", "photo.jpg").data == photo


def test_missing_attachment_is_not_found(db):
    db.put(make_record(_id="r1"))
    with pytest.raises(NotFound):
        db.get_attachment("r1", "nothing.jpg")


# -- bad input -------------------------------------------------------------------

BAD_REPLICATED = [
    ("not-an-object", ["a", "list"], None),
    ("bad-rev", {"_id": "bad-rev", "_rev": "one-abc"}, "rev"),
    ("uppercase-rev", {"_id": "uppercase-rev", "_rev": "1-ABC"}, "rev"),
    ("zero-generation", {"_id": "zero-generation", "_rev": "0-abc"}, "rev"),
    ("no-rev", {"_id": "no-rev"}, "_rev"),
    ("mismatch", {"_id": "mismatch", "_rev": "2-" + "b" * 32, "_revisions": {"start": 2, "ids": ["c" * 32, "a" * 32]}}, "does not match"),
    ("too-many-ids", {"_id": "too-many-ids", "_rev": "1-" + "b" * 32, "_revisions": {"start": 1, "ids": ["b" * 32, "a" * 32]}}, "revisions"),
    ("no-history", {"_id": "no-history", "_rev": "3-" + "b" * 32}, "_revisions"),
    ("_underscore", {"_id": "_underscore", "_rev": "1-" + "b" * 32}, "underscore"),
    ("empty-id", {"_id": "", "_rev": "1-" + "b" * 32}, "id"),
    ("special", {"_id": "special", "_rev": "1-" + "b" * 32, "_secret": 1}, "_secret"),
]


def test_bad_replicated_documents_fail_alone_and_name_themselves(db):
    good_before = replicated(make_record(_id="good-1"), "a")
    good_after = replicated(make_record(_id="good-2"), "a")
    batch = [good_before] + [doc for _, doc, _ in BAD_REPLICATED] + [good_after]
    results = db.bulk_docs(batch, new_edits=False)
    assert results[0]["ok"] and results[-1]["ok"]
    for (name, doc, words), result in zip(BAD_REPLICATED, results[1:-1], strict=True):
        assert result["error"] == "bad_request", (name, result)
        if isinstance(doc, dict) and doc.get("_id"):
            assert result["id"] == doc["_id"], name
        if words:
            assert words.lower() in result["reason"].lower(), (name, result)
    assert sorted(row["id"] for row in db.changes().results) == ["good-1", "good-2"]


def test_oversized_documents_are_refused_and_nothing_else_lost(server_factory):
    db = server_factory(StoreLimits(max_document_bytes=10_000)).create_db("c")
    photo = _b64(b"x" * 50_000)  # attachments do not count towards the limit
    with_photo = make_record(_id="photo", _attachments={"p.jpg": {"content_type": "image/jpeg", "data": photo}})
    results = db.bulk_docs(
        [make_record(_id="small"), make_record(_id="huge", answers={"notes": "x" * 20_000}), with_photo]
    )
    assert results[0]["ok"] and results[2]["ok"]
    assert results[1]["error"] == "document_too_large" and results[1]["id"] == "huge"
    assert "10000" in results[1]["reason"]
    with pytest.raises(NotFound):
        db.get("huge")


def test_user_edit_bad_input(db):
    results = db.bulk_docs([7, {"_id": "_nope"}, {"_id": "r1", "_rev": "x"}, {"_id": "ok"}])
    assert [r.get("error") for r in results] == ["bad_request", "bad_request", "bad_request", None]
    assert db.get("ok")["_id"] == "ok"


def test_bad_attachment_data_is_refused(db):
    (result,) = db.bulk_docs([make_record(_id="r1", _attachments={"a": {"data": "***not base64***"}})])
    assert result["error"] == "bad_request" and "base64" in result["reason"]


def test_a_history_deeper_than_revs_limit(db):
    labels = [f"r{i}" for i in range(1500)]
    (result,) = db.bulk_docs([replicated(make_record(_id="deep"), *labels)], new_edits=False)
    assert result.get("ok")
    doc = db.get("deep", revs=True)
    assert doc["_revisions"]["start"] == 1500 and len(doc["_revisions"]["ids"]) == 1000
    assert doc["_revisions"]["ids"][0] == rev_hash("r1499")
    doc["answers"] = {"outcome": "signed_up"}
    assert db.put(doc)["rev"].startswith("1501-")
    assert len(db.get("deep", revs=True)["_revisions"]["ids"]) == 1000
