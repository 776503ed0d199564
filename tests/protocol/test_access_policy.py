"""The access policy on a live server, on each store: grants from assignments only, deletions keep their owner,
checkpoints per user, records agree with their household, and a doc_ids pull that pages.

Real PouchDB 9 replicates where a phone would.
"""

from __future__ import annotations

import random

import pytest

from server.access.channels import assignment_id
from tests.peers import RECORD
from tests.protocol.conftest import seeded


@pytest.fixture
def campaign(live):
    return seeded(live, "policy",
                  {"_id": "record:other-2", **RECORD, "turf": "turf:2", "author": "olga", "answers": {"outcome": "not_home"}})


def _mine(doc_id: str, **extra) -> dict:
    return {"_id": doc_id, **RECORD, "author": "vic", "answers": {"outcome": "not_home"}, **extra}


def _changes_ids(client, db: str) -> set[str]:
    return {row["id"] for row in client.get(f"/sync/{db}/_changes").json()["results"]}


def test_a_record_cannot_take_an_assignments_id_and_grants_come_from_assignments_only(live, vic, campaign):
    base = f"/sync/{campaign}"
    forged = [_mine(assignment_id("vic", "turf:2"), turf="turf:1"),  # would keep turf:2 for vic
              _mine(assignment_id("olga", "x"), turf="turf:1")]  # would give turf:1 to olga
    results = {r["id"]: r for r in vic.post(f"{base}/_bulk_docs", json={"docs": forged}).json()}
    assert all(r["error"] == "forbidden" for r in results.values()), results
    assert "record:other-2" not in _changes_ids(vic, campaign)
    # The coordinator's assignment grants the turf; ending it takes it away at once.
    response = live.http.put(f"/api/v1/campaigns/{campaign}/assignments/vic/turf:2")
    assert response.status_code == 200, response.text
    assert "record:other-2" in _changes_ids(vic, campaign)
    assert live.http.delete(f"/api/v1/campaigns/{campaign}/assignments/vic/turf:2").status_code == 200
    assert "record:other-2" not in _changes_ids(vic, campaign)


def test_a_deleted_record_keeps_its_owner_and_its_history_stays_private(live, vic, campaign):
    base = f"/sync/{campaign}"
    signup = {"_id": "record:gone", "type": "record", "form": "form:recruitment", "form_version": 1, "turf": "turf:2",
              "author": "olga", "answers": {"outcome": "contacted", "interested": "no"}}
    created = live.http.put(f"{base}/record:gone", json=signup).json()
    deleted = live.http.delete(f"{base}/record:gone", params={"rev": created["rev"]}).json()
    # Another turf's volunteer writes over the deletion: refused, as if the record were live.
    response = vic.put(f"{base}/record:gone", json=_mine("record:gone", turf="turf:1"))
    assert response.status_code == 403, response.text
    response = vic.put(f"{base}/record:gone", params={"rev": deleted["rev"]}, json=_mine("record:gone"))
    assert response.status_code == 403, response.text
    assert live.http.get(f"{base}/record:gone", params={"rev": deleted["rev"]}).status_code == 200
    for params in ({"rev": created["rev"]}, {"open_revs": f'["{created["rev"]}"]'}, {"open_revs": "all"}):
        assert vic.get(f"{base}/record:gone", params=params).status_code == 404, params
    got = vic.post(f"{base}/_bulk_get", json={"docs": [{"id": "record:gone", "rev": created["rev"]}]}).json()
    assert "ok" not in got["results"][0]["docs"][0]
    # The refusal says the id is not theirs, and nothing of what the record is.
    reason = vic.put(f"{base}/record:other-2", json=_mine("record:other-2")).json()["reason"]
    assert "olga" not in reason and "turf:2" not in reason and "not one of your records" in reason


def test_checkpoints_belong_to_the_user_who_wrote_them(live, vic, campaign):
    base = f"/sync/{campaign}"
    mine = live.http.put(f"{base}/_local/ckpt", json={"last_seq": "7", "session_id": "admin-phone"})
    assert mine.status_code == 201 and mine.json()["id"] == "_local/ckpt"
    assert vic.get(f"{base}/_local/ckpt").status_code == 404
    assert vic.put(f"{base}/_local/ckpt", json={"last_seq": "999"}).status_code == 201  # vic's own, beside it
    assert vic.delete(f"{base}/_local/ckpt", params={"rev": "0-1"}).status_code == 200
    kept = live.http.get(f"{base}/_local/ckpt").json()
    assert kept["last_seq"] == "7" and kept["_id"] == "_local/ckpt"


def test_a_record_agrees_with_its_household_and_the_writers_turfs(live, vic, campaign):
    base = f"/sync/{campaign}"
    docs = [_mine("record:r1", household="household:2a"),  # another turf's household, no turf
            _mine("record:r2", household="household:2a", turf="turf:1"),  # ... claiming the writer's turf
            _mine("record:r3", household="household:1a", turf="turf:2"),  # a turf not granted
            _mine("record:r4", household="household:9z", turf="turf:1"),  # no such household
            _mine("record:r5", household="household:1a", turf="turf:1"),
            _mine("record:r6", household="household:1a")]
    results = vic.post(f"{base}/_bulk_docs", json={"docs": docs, "new_edits": True}).json()
    assert [r.get("error") for r in results] == ["forbidden"] * 4 + [None, None], results
    assert "household:2a" in results[0]["reason"]


def test_a_volunteer_is_not_told_the_campaigns_size(live, vic, campaign):
    info = vic.get(f"/sync/{campaign}").json()
    assert info["doc_count"] == 0 and "doc_del_count" not in info
    assert live.http.get(f"/sync/{campaign}").json()["doc_count"] > 5


def test_a_doc_ids_pull_as_a_volunteer_pages_through_a_long_feed(live, vic, pouch, campaign):
    """PouchDB's doc_ids replication asks _changes?filter=_doc_ids&limit=100; the limit counts rows answered."""
    base = f"/sync/{campaign}"
    docs = [{"_id": f"record:bulk-{n:04d}", **RECORD, "turf": "turf:1", "author": "olga",
             "answers": {"outcome": "not_home"}} for n in range(260)]
    for start in range(0, len(docs), 100):
        assert live.http.post(f"{base}/_bulk_docs", json={"docs": docs[start:start + 100]}).status_code == 201
    wanted = ["record:bulk-0257", "record:bulk-0259", "record:other-2", "record:bulk-0003"]
    page = vic.get(f"{base}/_changes", params={"filter": "_doc_ids", "doc_ids": '["record:bulk-0259"]',
                                              "limit": "1"}).json()
    assert [row["id"] for row in page["results"]] == ["record:bulk-0259"]
    phone = f"vic-ids-{random.getrandbits(40):x}"
    result = pouch.call("replicate", **{"from": {"url": f"{live.url}{base}", "token": live.volunteer_token},
                                        "to": phone, "options": {"doc_ids": wanted, "batch_size": 2}})
    assert result["ok"], result
    held = {row["id"] for row in pouch.call("allDocs", db=phone)["rows"]}
    assert held == {"record:bulk-0257", "record:bulk-0259", "record:bulk-0003"}  # not another turf's record


def test_a_pull_as_a_volunteer_of_a_record_merged_into_another_turf(live, pouch, campaign):
    """Two leaves in two turfs, merged on arrival: the phone of one turf is sent nothing of the other's."""
    base = f"/sync/{campaign}"
    leaves = [{"_id": "record:split", **RECORD, "turf": "turf:1", "author": "olga", "answers": {"outcome": "not_home"},
               "_rev": "1-" + "a" * 32, "_revisions": {"start": 1, "ids": ["a" * 32]}},
              {"_id": "record:split", **RECORD, "turf": "turf:2", "author": "olga", "answers": {"outcome": "refused"},
               "_rev": "1-" + "b" * 32, "_revisions": {"start": 1, "ids": ["b" * 32]}}]
    assert live.http.post(f"{base}/_bulk_docs", json={"docs": leaves, "new_edits": False}).json() == []
    winner = live.http.get(f"{base}/record:split").json()
    phone = f"vic-split-{random.getrandbits(40):x}"
    result = pouch.call("replicate", **{"from": {"url": f"{live.url}{base}", "token": live.volunteer_token},
                                        "to": phone})
    assert result["ok"] and result["doc_write_failures"] == 0, result
    ids = {row["id"] for row in pouch.call("allDocs", db=phone)["rows"]}
    assert ("record:split" in ids) == (winner["turf"] == "turf:1")
