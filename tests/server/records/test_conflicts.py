"""Conflicts resolved on arrival (server.records.conflicts), records and the review queue over REST; both stores."""

from __future__ import annotations

import copy

import pytest

from forms.definition import iter_fields
from forms.templates import DRIVES, published
from server.app import create_app
from server.records import conflicts
from server.records.conflicts import RECORD_FIELDS
from server.services import services
from sync.stamps import Clock, stamp_edit
from tests.conftest import couch_store_url, unique_prefix
from tests.helpers.api import app_with_users, client_as

API = "/api/v1/campaigns/east"
T = 1_764_085_500_000
VISIT = {"_id": "record:door-1", "type": "record", "form": "form:meeting_awareness", "form_version": 1,
         "household": "household:1", "turf": "turf:a", "author": "vic", "device": "phone-vic",
         "answers": {"outcome": "contacted", "informed": "yes", "flyer_left": "yes", "door_language": "en",
                     "language_needed": ["es"], "concerns": "street lights"},
         "geotag": {"lat": 41.88, "lon": -87.63, "accuracy_m": 12}}


@pytest.fixture
def app(store_kind, tmp_path, request):
    if store_kind == "sqlite":
        url = f"sqlite://{tmp_path}/conflicts.db"
    else:
        url = couch_store_url(request.getfixturevalue("couchdb_url"), unique_prefix("c"))
    app = app_with_users(url)
    store = services(app).store
    store.create_db("east").bulk_docs([published(drive) for drive in DRIVES])
    yield app
    store.close()


def phone(name: str):
    clock = Clock()

    def edit(before, change, at):
        after = copy.deepcopy(before) if before else {}
        change(after)
        return stamp_edit(before, after, device=name, user="vic", clock=clock, now_ms=at, layout=RECORD_FIELDS)
    return edit


def revised(doc: dict, parent: dict | None, rev_hash: str) -> dict:
    """``doc`` as a replicator sends it, a child of ``parent`` (None: the first revision)."""
    history = [] if parent is None else parent["_revisions"]["ids"]
    start = 1 if parent is None else parent["_revisions"]["start"] + 1
    return {**doc, "_rev": f"{start}-{rev_hash}", "_revisions": {"start": start, "ids": [rev_hash, *history]}}


def push(app, docs, user="ada"):
    response = client_as(app, user).post("/sync/east/_bulk_docs", json={"docs": docs, "new_edits": False})
    assert response.status_code == 201 and response.get_json() == [], response.get_data(as_text=True)


def two_sided(app, change_a, change_b):
    """A record pushed, then edited on two phones offline; both leaves pushed. Returns (first, a, b)."""
    ana, ben = phone("phone-ana"), phone("phone-ben")
    first = revised(ana(None, lambda d: d.update(copy.deepcopy(VISIT)), T), None, "a" * 32)
    push(app, [first])
    a = revised(ana(first, change_a, T + 1000), first, "b" * 32)
    b = revised(ben(first, change_b, T + 2000), first, "c" * 32)
    push(app, [a])
    push(app, [b])
    return first, a, b


def leaves(app, doc_id="record:door-1"):
    rows = client_as(app, "ada").get(f"/sync/east/{doc_id}", query_string={"open_revs": "all"}).get_json()
    return [row["ok"] for row in rows if "ok" in row and not row["ok"].get("_deleted")]


def test_conflicting_leaves_are_merged_on_arrival_into_one_revision(app):
    def a(d):
        d["answers"].update(door_language="es", language_needed=["es", "pl"])

    def b(d):
        d["answers"].update(door_language="pl", concerns="street lights; a dark alley")
        d["geotag"] = {"lat": 41.8801, "lon": -87.6301, "accuracy_m": 4}

    _, leaf_a, leaf_b = two_sided(app, a, b)
    (doc,) = leaves(app)  # one live leaf: the merge, a child of the winner; the loser is deleted
    assert doc["_rev"].startswith("3-")
    assert doc["answers"]["language_needed"] == ["es", "pl"]
    assert doc["answers"]["concerns"] == "street lights; a dark alley"
    assert doc["geotag"]["accuracy_m"] == 4
    assert doc["answers"]["door_language"] == "pl"  # provisional: the later stamp
    entry = doc["conflicts"]["answers.door_language"]
    assert entry["open"] is True and [h["value"] for h in entry["heads"]] == ["es", "pl"]
    assert [h["device"] for h in entry["heads"]] == ["phone-ana", "phone-ben"]
    assert doc["merged"]["revs"] == sorted([leaf_a["_rev"], leaf_b["_rev"]])
    assert doc["merged"]["changed"][leaf_a["_rev"]] == ["answers.concerns", "answers.door_language", "geotag"]
    on_server = client_as(app, "ada").get("/sync/east/record:door-1", query_string={"conflicts": "true"}).get_json()
    assert "_conflicts" not in on_server and on_server["_rev"] == doc["_rev"]


def test_the_merge_happens_once_however_many_times_the_leaves_arrive(app):
    _, leaf_a, leaf_b = two_sided(app, lambda d: d["answers"].update(door_language="es"),
                                  lambda d: d["answers"].update(door_language="pl"))
    (merged,) = leaves(app)
    seq = client_as(app, "ada").get("/sync/east").get_json()["update_seq"]
    push(app, [leaf_a, leaf_b])  # sent again (a retried batch, another device)
    assert leaves(app) == [merged]
    assert client_as(app, "ada").get("/sync/east").get_json()["update_seq"] == seq


def test_a_branch_from_an_older_revision_than_the_parent_is_merged_on_arrival(app):
    # The server holds only the first revision; one phone edited twice offline, the other once.
    ana, ben = phone("phone-ana"), phone("phone-ben")
    first = revised(ana(None, lambda d: d.update(copy.deepcopy(VISIT)), T), None, "a" * 32)
    push(app, [first])
    a2 = revised(ana(first, lambda d: d["answers"].update(door_language="es"), T + 1000), first, "b" * 32)
    a3 = revised(ana(a2, lambda d: d["answers"].update(concerns="potholes"), T + 2000), a2, "d" * 32)
    b2 = revised(ben(first, lambda d: d["answers"].update(flyer_left="no"), T + 3000), first, "c" * 32)
    push(app, [b2])
    push(app, [a3])  # of its path, the server holds only the first revision
    (doc,) = leaves(app)
    assert doc["answers"]["door_language"] == "es" and doc["answers"]["concerns"] == "potholes"
    assert doc["answers"]["flyer_left"] == "no"
    assert doc["merged"]["revs"] == sorted([a3["_rev"], b2["_rev"]])


def test_on_couchdb_3_the_store_asks_which_revisions_of_the_paths_it_holds(couchdb_url):
    # CouchDB 3 answers _revs_diff by membership of the revision tree; pouchdb-server calls a
    # revision held without its body missing, so there the store asks whether documents exist.
    # Here the CouchDB 3 way, on revisions every backend holds with their bodies.
    app = app_with_users(couch_store_url(couchdb_url, unique_prefix("c3")))
    server = services(app).store
    server.create_db("east").bulk_docs([published(drive) for drive in DRIVES])
    server._pouchdb_server = False
    try:
        test_a_branch_from_an_older_revision_than_the_parent_is_merged_on_arrival(app)
    finally:
        server.close()


def test_two_phones_creating_one_record_in_separate_pushes(app, store_kind):
    # No revision in common: the second first revision branches the record at its root.  SQLite
    # merges it on arrival; the CouchDB store does not ask about first revisions (docs/conflicts.md,
    # the known gap) and merges the pair when the record's next edit arrives.  Nothing is lost.
    ana, ben = phone("phone-ana"), phone("phone-ben")
    one = revised(ana(None, lambda d: d.update(copy.deepcopy(VISIT)), T), None, "a" * 32)
    two = revised(ben(None, lambda d: d.update({**copy.deepcopy(VISIT), "answers": {
        **VISIT["answers"], "concerns": "potholes"}}), T + 1), None, "b" * 32)
    push(app, [one])
    push(app, [two])
    if store_kind == "couchdb":
        assert sorted(leaf["_rev"] for leaf in leaves(app)) == sorted([one["_rev"], two["_rev"]])
        edit = revised(ana(one, lambda d: d["answers"].update(door_language="es"), T + 2), one, "c" * 32)
        push(app, [edit])
        one = edit
    (doc,) = leaves(app)
    assert doc["merged"]["revs"] == sorted([one["_rev"], two["_rev"]])
    assert set(doc["answers"]["concerns"].split("\n\n")) == {"street lights", "potholes"}  # free text: both kept


def test_new_records_and_a_conflicting_leaf_in_one_batch(app):
    # A record the server has never seen (created and edited offline) next to a leaf that branches a stored one.
    ana, ben = phone("phone-ana"), phone("phone-ben")
    first = revised(ana(None, lambda d: d.update(copy.deepcopy(VISIT)), T), None, "a" * 32)
    a = revised(ana(first, lambda d: d["answers"].update(door_language="es"), T + 1000), first, "b" * 32)
    push(app, [first, a])
    b = revised(ben(first, lambda d: d["answers"].update(concerns="potholes"), T + 2000), first, "c" * 32)
    fresh = revised(ben(None, lambda d: d.update({**copy.deepcopy(VISIT), "_id": "record:door-2"}), T + 3000),
                    None, "e" * 32)
    edited = revised(ben(fresh, lambda d: d["answers"].update(door_language="pl"), T + 4000), fresh, "f" * 32)
    push(app, [edited, b])
    (merged,) = leaves(app)
    assert merged["answers"]["door_language"] == "es" and merged["answers"]["concerns"] == "potholes"
    assert leaves(app, "record:door-2") == [{k: v for k, v in edited.items() if k != "_revisions"}]


def test_two_first_revisions_of_one_record_in_one_batch_are_merged(app):
    ana, ben = phone("phone-ana"), phone("phone-ben")
    one = revised(ana(None, lambda d: d.update(copy.deepcopy(VISIT)), T), None, "a" * 32)
    two = revised(ben(None, lambda d: d.update({**copy.deepcopy(VISIT), "geotag": {"lat": 41.8801, "lon": -87.6301,
                                                                                 "accuracy_m": 4}}), T + 1),
                  None, "b" * 32)
    push(app, [one, two])
    (doc,) = leaves(app)
    assert doc["merged"]["revs"] == sorted([one["_rev"], two["_rev"]])


def test_two_server_processes_racing_write_the_same_merge(app, store_kind, tmp_path, request):
    store = services(app).store.open_db("east")
    ana, ben = phone("phone-ana"), phone("phone-ben")
    first = revised(ana(None, lambda d: d.update(copy.deepcopy(VISIT)), T), None, "a" * 32)
    a = revised(ana(first, lambda d: d["answers"].update(door_language="es"), T + 1), first, "b" * 32)
    b = revised(ben(first, lambda d: d["answers"].update(door_language="pl"), T + 2), first, "c" * 32)
    store.bulk_docs([first, a, b], new_edits=False)  # stored without resolution, as by a process that died
    other = services(create_app({"STORE": app.config["STORE"]}, environ={})).store.open_db("east")
    writes_one = conflicts.merge_writes("record:door-1", [store.get("record:door-1", rev=r) for r in (a["_rev"], b["_rev"])],
                                        conflicts.policies_for(store, a))
    writes_two = conflicts.merge_writes("record:door-1", [other.get("record:door-1", rev=r) for r in (b["_rev"], a["_rev"])],
                                        conflicts.policies_for(other, b))
    assert writes_one == writes_two
    assert conflicts.resolve(store, ["record:door-1"]) == ["record:door-1"]
    assert conflicts.resolve(other, ["record:door-1"]) == []  # nothing left to merge
    rows = store.open_revs("record:door-1", "all")
    assert sorted(row["ok"]["_rev"] for row in rows if not row["ok"].get("_deleted")) == [writes_one[0]["_rev"]]


def test_a_push_of_many_conflicting_records_merges_every_one(app):
    # Many conflicting records in one batch: the SQLite store reads the leaves stored before in one query.
    ana, ben = phone("phone-ana"), phone("phone-ben")
    stored, pushed = [], []
    for n in range(410):
        first = revised(ana(None, lambda d: d.update({**copy.deepcopy(VISIT), "_id": f"record:door-{n:03d}"}), T + n),
                        None, f"{n:032x}")
        a = revised(ana(first, lambda d: d["answers"].update(door_language="es"), T + 1000 + n), first, f"a{n:031x}")
        b = revised(ben(first, lambda d: d["answers"].update(concerns=f"dog at {n}"), T + 2000 + n),
                    first, f"b{n:031x}")
        stored += [first, a]
        pushed.append(b)
    push(app, stored)
    push(app, pushed)
    for n in (0, 399, 400, 409):
        (doc,) = leaves(app, f"record:door-{n:03d}")
        assert doc["_rev"].startswith("3-")
        assert (doc["answers"]["door_language"], doc["answers"]["concerns"]) == ("es", f"dog at {n}")


def test_the_merge_keeps_the_photos_of_both_leaves(app):
    def a(d):
        d["answers"].update(door_language="es")
        d["_attachments"] = {"door.jpg": {"content_type": "image/jpeg", "data": "ZG9vcg=="}}  # b"door"

    def b(d):
        d["answers"].update(door_language="pl")
        d["_attachments"] = {"gate.jpg": {"content_type": "image/jpeg", "data": "Z2F0ZQ=="}}  # b"gate"

    two_sided(app, a, b)
    (doc,) = leaves(app)
    assert doc["_rev"].startswith("3-") and sorted(doc["_attachments"]) == ["door.jpg", "gate.jpg"]
    ada = client_as(app, "ada")
    assert ada.get("/sync/east/record:door-1/door.jpg").data == b"door"
    assert ada.get("/sync/east/record:door-1/gate.jpg").data == b"gate"


def test_records_are_listed_read_and_corrected_under_if_match(app):
    two_sided(app, lambda d: d["answers"].update(door_language="es"), lambda d: d["answers"].update(door_language="pl"))
    cora = client_as(app)
    listed = cora.get(f"{API}/records", query_string={"turf": "turf:a"})
    assert listed.status_code == 200 and [r["id"] for r in listed.get_json()] == ["record:door-1"]
    assert listed.get_json()[0]["open_conflicts"] == ["answers.door_language"]
    assert cora.get(f"{API}/records", query_string={"conflicted": "false"}).get_json() == []
    assert cora.get(f"{API}/records", query_string={"turf": "turf:b"}).get_json() == []
    read = cora.get(f"{API}/records/record:door-1")
    rev = read.headers["ETag"].strip('"')
    assert read.get_json()["rev"] == rev
    assert cora.patch(f"{API}/records/record:door-1", json={"answers": {"flyer_left": "no"}}).status_code == 428
    assert cora.patch(f"{API}/records/record:door-1", json={"answers": {"flyer_left": "no"}},
                      headers={"If-Match": '"1-00"'}).status_code == 412
    bad = cora.patch(f"{API}/records/record:door-1", json={"answers": {"flyer_left": "perhaps"}}, headers={"If-Match": rev})
    assert bad.status_code == 422 and "flyer_left" in bad.get_json()["message"]
    done = cora.patch(f"{API}/records/record:door-1", json={"answers": {"flyer_left": "no"}}, headers={"If-Match": rev})
    assert done.status_code == 200 and done.get_json()["answers"]["flyer_left"] == "no"
    stored = client_as(app, "ada").get("/sync/east/record:door-1").get_json()
    assert stored["stamps"]["answers.flyer_left"]["by"] == "cora"
    assert stored["stamps"]["answers.flyer_left"]["s"].endswith("/server")
    assert stored["conflicts"]["answers.door_language"]["open"] is True  # an edit elsewhere leaves it open


def test_the_review_queue_lists_and_resolves_conflicts(app):
    two_sided(app, lambda d: d["answers"].update(door_language="es"), lambda d: d["answers"].update(door_language="pl"))
    cora = client_as(app)
    (conflict,) = cora.get(f"{API}/conflicts", query_string={"turf": "turf:a"}).get_json()
    assert conflict["field"] == "answers.door_language" and conflict["provisional"] == "pl"
    assert [(h["value"], h["device"]) for h in conflict["heads"]] == [("es", "phone-ana"), ("pl", "phone-ben")]
    assert all(h["at"].startswith("2025-11-25T15:45:0") for h in conflict["heads"])
    assert cora.get(f"{API}/conflicts", query_string={"turf": "turf:b"}).get_json() == []
    url = f"{API}/conflicts/record:door-1/answers.door_language"
    assert client_as(app, "olga").post(url, json={"choose": 0}, headers={"If-Match": conflict["rev"]}).status_code == 403
    assert cora.post(url, json={"choose": 0}).status_code == 428
    assert cora.post(url, json={"choose": 5}, headers={"If-Match": conflict["rev"]}).status_code == 422
    assert cora.post(url, json={"choose": 0, "value": "en"}, headers={"If-Match": conflict["rev"]}).status_code == 422
    done = cora.post(url, json={"choose": 0}, headers={"If-Match": conflict["rev"]})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["answers"]["door_language"] == "es" and done.get_json()["open_conflicts"] == []
    assert cora.get(f"{API}/conflicts").get_json() == []
    assert cora.post(url, json={"choose": 0}, headers={"If-Match": done.get_json()["rev"]}).status_code == 404
    # The resolution is a new revision in the changes feed: phones pull it.
    feed = client_as(app, "ada").get("/sync/east/_changes", query_string={"include_docs": "true"}).get_json()
    (row,) = [r for r in feed["results"] if r["id"] == "record:door-1"]
    assert row["doc"]["answers"]["door_language"] == "es" and "answers.door_language" not in row["doc"].get("conflicts", {})


def test_a_typed_value_resolves_too(app):
    two_sided(app, lambda d: d["answers"].update(door_language="es"), lambda d: d["answers"].update(door_language="pl"))
    cora = client_as(app)
    (conflict,) = cora.get(f"{API}/conflicts").get_json()
    url = f"{API}/conflicts/record:door-1/answers.door_language"
    assert cora.post(url, json={"value": "klingon"}, headers={"If-Match": conflict["rev"]}).status_code == 422
    done = cora.post(url, json={"value": "ar"}, headers={"If-Match": conflict["rev"]})
    assert done.status_code == 200 and done.get_json()["answers"]["door_language"] == "ar"


def test_roles_and_residents_personal_data(app):
    consents = {field["name"]: {"given": False, "language": "en", "text": field["consent_text"]["en"]}
                for _, field, _ in iter_fields(published("recruitment")["fields"]) if field["type"] == "consent"}
    recruit = {**VISIT, "_id": "record:door-2", "form": "form:recruitment",
               "answers": {"outcome": "contacted", "interested": "yes", "full_name": "Rosa Díaz", "phone": "312 555 0100",
                           **consents}}
    push(app, [revised(recruit, None, "d" * 32)])
    cora, olga, vic = client_as(app), client_as(app, "olga"), client_as(app, "vic")
    assert vic.get(f"{API}/records").status_code == 403
    assert vic.get(f"{API}/conflicts").status_code == 403
    assert app.test_client().get(f"{API}/records").status_code == 401
    seen = cora.get(f"{API}/records/record:door-2").get_json()
    assert "full_name" not in seen["answers"] and "phone" not in seen["answers"]
    assert seen["hidden"] == sorted(["answers.full_name", "answers.phone", *(f"answers.{c}" for c in consents)])
    assert seen["answers"] == {"outcome": "contacted", "interested": "yes"} and seen["geotag"] is None
    assert olga.get(f"{API}/records/record:door-2").get_json()["answers"]["full_name"] == "Rosa Díaz"
    rev = seen["rev"]
    assert cora.patch(f"{API}/records/record:door-2", json={"answers": {"full_name": "X"}},
                      headers={"If-Match": rev}).status_code == 403
    assert olga.patch(f"{API}/records/record:door-2", json={"answers": {"outcome": "refused"}},
                      headers={"If-Match": rev}).status_code == 403
    assert cora.get(f"{API}/records/record:nope").status_code == 404


def test_a_plain_clients_concurrent_values_all_reach_the_review_queue(app):
    # Issue 25: a phone that stamps sets rsvp=yes; a plain PouchDB client of the same volunteer,
    # which writes no stamps (the stamps it holds are those of the revision it edited), sets
    # rsvp=no and door_language=vi.  Both sync twice.  Neither of the plain client's values may be
    # dropped: each is a competing value in the review queue.
    ana = phone("phone-ana")
    first = revised(ana(None, lambda d: d.update(copy.deepcopy(VISIT), answers={**VISIT["answers"], "rsvp": "maybe"}), T),
                    None, "a" * 32)
    push(app, [first])
    stamped = revised(ana(first, lambda d: d["answers"].update(rsvp="yes"), T + 1000), first, "b" * 32)
    plain = copy.deepcopy(first)
    plain["answers"].update(rsvp="no", door_language="vi")
    plain = revised({k: v for k, v in plain.items() if not k.startswith("_r")}, first, "c" * 32)
    for _ in range(2):
        push(app, [stamped])
        push(app, [plain])
    (doc,) = leaves(app)
    assert doc["answers"]["rsvp"] == "yes" and doc["answers"]["door_language"] == "en"  # the stamped side, provisionally
    queue = client_as(app).get(f"{API}/conflicts").get_json()
    competing = {c["field"]: sorted(h["value"] for h in c["heads"]) for c in queue}
    assert competing == {"answers.rsvp": ["no", "yes"], "answers.door_language": ["en", "vi"]}
    (rsvp,) = [c for c in queue if c["field"] == "answers.rsvp"]
    (no,) = [h for h in rsvp["heads"] if h["value"] == "no"]
    assert no["device"] == "phone-vic" and no["by"] == "vic"  # who and where, from the plain client's own record
