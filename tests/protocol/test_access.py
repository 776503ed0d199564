"""A volunteer's phone gets its channels only, and writes only its own records in its turfs.

Run against a live server on each store (SQLite, and CouchDB: a live
pouchdb-server or BLOCKWALK_TEST_COUCHDB_URL), with real PouchDB 9 for the
pulls.
"""

from __future__ import annotations

import random
import threading
import time

import httpx
import pytest

from forms.templates import DRIVES, published
from server.access.channels import assignment_id
from tests.peers import RECORD
from tests.protocol.conftest import seeded


def _local(name: str) -> str:
    return f"{name}-{random.getrandbits(40):x}"


@pytest.fixture
def campaign(live):
    return seeded(
        live, "access",
        {"_id": "record:other-1", **RECORD, "turf": "turf:1", "author": "olga", "answers": {"outcome": "not_home"}},
        {"_id": "record:other-2", **RECORD, "turf": "turf:2", "author": "olga", "answers": {"outcome": "not_home"},
         "_attachments": {"door.txt": {"content_type": "text/plain", "data": "c2VjcmV0"}}},
        {"_id": "record:signup", "type": "record", "form": "form:recruitment", "form_version": 1, "turf": "turf:1",
         "author": "olga", "answers": {"outcome": "contacted", "interested": "no"}},
        {"_id": "roster:note", "type": "roster_note", "text": "coordinators only"},
    )


FORMS = {published(drive)["_id"] for drive in DRIVES}  # every built-in form reaches every phone
VISIBLE = FORMS | {"turf:1", "household:1a", "record:other-1", assignment_id("vic", "turf:1")}


def test_a_volunteers_pull_holds_its_channels_only(live, pouch, campaign):
    phone = _local("vic-phone")
    result = pouch.call("replicate", **{"from": {"url": f"{live.url}/sync/{campaign}", "token": live.volunteer_token}, "to": phone})
    assert result["ok"], result
    ids = {row["id"] for row in pouch.call("allDocs", db=phone)["rows"]}
    assert ids == VISIBLE


def test_every_read_path_hides_other_turfs(live, vic, campaign):
    base = f"/sync/{campaign}"
    for doc_id in ("household:2a", "record:other-2", "record:signup", "roster:note", "turf:2"):
        assert vic.get(f"{base}/{doc_id}").status_code == 404, doc_id
        assert vic.get(f"{base}/{doc_id}", params={"open_revs": "all"}).status_code == 404
    assert vic.get(f"{base}/record:other-2/door.txt").status_code == 404
    rev = live.http.get(f"{base}/record:other-2").json()["_rev"]
    got = vic.post(f"{base}/_bulk_get", json={"docs": [{"id": "record:other-2", "rev": rev}, {"id": "turf:1"}]}).json()
    assert got["results"][0]["docs"][0]["error"]["error"] == "not_found" and got["results"][1]["docs"][0]["ok"]["_id"] == "turf:1"
    listed = {row["id"] for row in vic.get(f"{base}/_all_docs").json()["rows"]}
    assert listed == VISIBLE
    keyed = vic.post(f"{base}/_all_docs", json={"keys": ["household:2a", "turf:1"]}).json()["rows"]
    assert keyed[0] == {"key": "household:2a", "error": "not_found"} and keyed[1]["id"] == "turf:1"
    assert vic.post(f"{base}/_revs_diff", json={"record:other-2": [rev]}).json() == {"record:other-2": {"missing": [rev]}}
    feed = vic.post(f"{base}/_changes", params={"filter": "_doc_ids"}, json={"doc_ids": ["household:2a", "household:1a"]}).json()
    assert [row["id"] for row in feed["results"]] == ["household:1a"]
    assert "Oak St" not in vic.get(f"{base}/_changes", params={"include_docs": "true"}).text


def _push(client, campaign, doc, new_edits=True):
    response = client.post(f"/sync/{campaign}/_bulk_docs", json={"docs": [doc], "new_edits": new_edits})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_volunteer_writes_only_own_records_in_own_turfs(live, vic, campaign):
    mine = {**RECORD, "author": "vic", "answers": {"outcome": "not_home"}}
    assert _push(vic, campaign, {"_id": "record:vic-1", **mine, "turf": "turf:1"})[0]["ok"]
    assert _push(vic, campaign, {"_id": "record:vic-find", **mine})[0]["ok"]  # an asset found between doors
    refusals = {
        "other turf": {"_id": "record:vic-2", **mine, "turf": "turf:2"},
        "other author": {"_id": "record:vic-3", **mine, "turf": "turf:1", "author": "olga"},
        "a form": {"_id": "form:mine", "type": "form"},
        "an assignment": {"_id": assignment_id("vic", "turf:2"), "type": "assignment", "user": "vic", "turf": "turf:2"},
        "a household": {"_id": "household:new", "type": "household", "turf": "turf:1"},
    }
    for what, doc in refusals.items():
        (result,) = _push(vic, campaign, doc)
        assert result.get("error") == "forbidden", (what, result)
    other = live.http.get(f"/sync/{campaign}/record:other-1").json()
    (result,) = _push(vic, campaign, {**other, "answers": {"outcome": "refused"}, "author": "vic"})
    assert result["error"] == "forbidden"  # someone else's record, even in my turf
    deleted = vic.delete(f"/sync/{campaign}/record:other-1", params={"rev": other["_rev"]})
    assert deleted.status_code == 403
    assert live.http.get(f"/sync/{campaign}/record:other-1").json()["answers"] == {"outcome": "not_home"}
    # Replicated writes too: refused as forbidden, one by one.
    stray = {"_id": "record:vic-9", **mine, "turf": "turf:2", "_rev": "1-" + "a" * 32,
             "_revisions": {"start": 1, "ids": ["a" * 32]}}
    assert _push(vic, campaign, stray, new_edits=False)[0]["error"] == "forbidden"


def _next(doc: dict, **changes) -> dict:
    """The next revision of ``doc`` as a phone replicates it (new_edits=false, with its history)."""
    pos, parent = doc["_rev"].split("-")
    rev_hash = f"{random.getrandbits(128):032x}"
    return {**doc, **changes, "_rev": f"{int(pos) + 1}-{rev_hash}",
            "_revisions": {"start": int(pos) + 1, "ids": [rev_hash, parent]}}


def test_a_volunteers_batch_is_judged_document_by_document(live, vic, campaign):
    # One push holding many documents, as PouchDB sends it: each is checked
    # against the version stored before the batch, and the rest lands.
    mine = {"_id": "record:vic-b1", **RECORD, "author": "vic", "turf": "turf:1", "answers": {"outcome": "not_home"}}
    mine["_rev"] = _push(vic, campaign, mine)[0]["rev"]
    other = live.http.get(f"/sync/{campaign}/record:other-1").json()
    fresh_hash = f"{random.getrandbits(128):032x}"
    batch = [
        _next(mine, answers={"outcome": "refused"}),  # my own record, edited
        _next(other, author="vic"),  # someone else's record, claimed
        {"_id": "record:vic-b2", **RECORD, "author": "vic", "turf": "turf:1", "answers": {"outcome": "not_home"},
         "_rev": f"1-{fresh_hash}", "_revisions": {"start": 1, "ids": [fresh_hash]}},  # a new one of mine
        {**_next(other), "_deleted": True},  # someone else's record, deleted
    ]
    errors = _push_all(vic, campaign, batch)
    assert [(e["id"], e["error"]) for e in errors] == [("record:other-1", "forbidden")] * 2
    assert vic.get(f"/sync/{campaign}/record:vic-b1").json()["answers"] == {"outcome": "refused"}
    assert vic.get(f"/sync/{campaign}/record:vic-b2").status_code == 200
    kept = live.http.get(f"/sync/{campaign}/record:other-1").json()
    assert (kept["_rev"], kept["author"], kept.get("_deleted")) == (other["_rev"], "olga", None)


def _push_all(client, campaign, docs):
    response = client.post(f"/sync/{campaign}/_bulk_docs", json={"docs": docs, "new_edits": False})
    assert response.status_code == 201, response.text
    return response.json()


def test_a_new_assignment_back_fills_and_an_ended_one_stops(live, pouch, campaign):
    phone = _local("vic-phone")
    remote = {"url": f"{live.url}/sync/{campaign}", "token": live.volunteer_token}
    pouch.call("replicate", **{"from": remote, "to": phone})
    assert pouch.call("info", db=phone)["doc_count"] == len(VISIBLE)
    live.http.put(f"/sync/{campaign}/{assignment_id('vic', 'turf:2')}",
                  json={"type": "assignment", "user": "vic", "turf": "turf:2", "active": True})
    again = pouch.call("replicate", **{"from": remote, "to": phone})
    ids = {row["id"] for row in pouch.call("allDocs", db=phone)["rows"]}
    # turf 2's documents are older than the phone's checkpoint, and arrive all the same.
    assert {"turf:2", "household:2a", "record:other-2"} <= ids, again
    assert "record:signup" not in ids and "roster:note" not in ids

    ended = live.http.get(f"/sync/{campaign}/{assignment_id('vic', 'turf:1')}").json()
    live.http.put(f"/sync/{campaign}/{ended['_id']}", json={**ended, "active": False})
    live.http.put(f"/sync/{campaign}/household:1b", json={"type": "household", "turf": "turf:1", "address": "3 Maple St"})
    pouch.call("replicate", **{"from": remote, "to": phone})
    assert "household:1b" not in {row["id"] for row in pouch.call("allDocs", db=phone)["rows"]}


def test_a_live_pull_wakes_for_the_volunteers_turf_only(live, vic, campaign):
    base = f"/sync/{campaign}"
    since = vic.get(f"{base}/_changes").json()["last_seq"]

    def writes():
        time.sleep(1)
        live.http.put(f"{base}/household:2b", json={"type": "household", "turf": "turf:2", "address": "4 Oak St"})
        time.sleep(1)
        live.http.put(f"{base}/household:1c", json={"type": "household", "turf": "turf:1", "address": "5 Maple St"})

    writer = threading.Thread(target=writes)
    writer.start()
    try:
        feed = vic.get(f"{base}/_changes", params={"feed": "longpoll", "since": since, "timeout": "20000"}).json()
    finally:
        writer.join()
    # The other turf's write does not end the wait empty-handed; the volunteer's own turf's does.
    assert [row["id"] for row in feed["results"]] == ["household:1c"]
    assert vic.get(f"{base}/_changes", params={"since": feed["last_seq"]}).json()["results"] == []


def test_a_coordinators_pull_holds_the_campaign_but_its_sign_ups(live, pouch, campaign):
    """Roster data is for organizers and admins: a coordinator's phone gets everything else of the campaign."""
    name = _local("cora")
    assert live.http.post("/api/v1/users", json={"name": name, "password": "cora-password"}).status_code == 201
    member = live.http.put(f"/api/v1/campaigns/{campaign}/members/{name}", json={"role": "coordinator"})
    assert member.status_code == 200, member.text
    login = httpx.post(f"{live.url}/api/v1/auth/login", json={"name": name, "password": "cora-password"})
    token = login.json()["token"]
    pulled = {}
    for who, credential in (("admin", live.token), ("coordinator", token)):
        phone = _local(f"{who}-phone")
        result = pouch.call("replicate", **{"from": {"url": f"{live.url}/sync/{campaign}", "token": credential},
                                            "to": phone})
        assert result["ok"], result
        pulled[who] = {row["id"] for row in pouch.call("allDocs", db=phone)["rows"]}
    assert "record:signup" in pulled["admin"]
    assert pulled["coordinator"] == pulled["admin"] - {"record:signup"}
