"""Real PouchDB 9 replicating with a live Blockwalk server over HTTP."""

from __future__ import annotations

import base64
import random
import time

import pytest

from tests.peers import PouchError, RECORD


def _local(name: str) -> str:
    return f"{name}-{random.getrandbits(40):x}"


def _server_doc(server, campaign: str, doc_id: str, **params) -> dict:
    response = server.http.get(f"/sync/{campaign}/{doc_id}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _wait_for(predicate, timeout: float = 5.0, step: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def test_push(server, pouch):
    campaign = server.new_db(forms=True)
    phone = _local("phone")
    pouch.call("bulkDocs", db=phone, docs=[
        {"_id": "record:1", **RECORD, "answers": {"outcome": "contacted"}},
        {"_id": "record:2", **RECORD, "answers": {"outcome": "not_home"}},
        {"_id": "_design/x", "views": {}},
    ])
    result = pouch.call("replicate", **{"from": phone, "to": server.remote(campaign)})
    assert result["ok"] and result["docs_written"] == 3 and result["doc_write_failures"] == 0
    local = {row["id"]: row["value"]["rev"] for row in pouch.call("allDocs", db=phone)["rows"]}
    for doc_id, rev in local.items():
        assert _server_doc(server, campaign, doc_id)["_rev"] == rev
    assert _server_doc(server, campaign, "record:1")["answers"] == {"outcome": "contacted"}


def test_pull(server, pouch, campaign):
    docs = [{"_id": f"household:{i}", "type": "household", "address": f"{i} Maple St"} for i in range(25)]
    response = server.http.post(f"/sync/{campaign}/_bulk_docs", json={"docs": docs})
    assert response.status_code == 201
    revs = {r["id"]: r["rev"] for r in response.json()}
    phone = _local("phone")
    result = pouch.call("replicate", **{"from": server.remote(campaign), "to": phone})
    assert result["ok"] and result["docs_written"] == 25
    for doc_id, rev in revs.items():
        doc = pouch.call("get", db=phone, id=doc_id)
        assert doc["_rev"] == rev and doc["type"] == "household"


def test_two_way_sync_updates_and_deletes(server, pouch, campaign):
    phone = _local("phone")
    pouch.call("put", db=phone, doc={"_id": "record:phone", "answers": {"outcome": "contacted"}})
    server.http.put(f"/sync/{campaign}/record:server", json={"answers": {"outcome": "refused"}})
    synced = pouch.call("sync", a=phone, b=server.remote(campaign))
    assert synced["push"]["ok"] and synced["pull"]["ok"]
    assert pouch.call("get", db=phone, id="record:server")["answers"]["outcome"] == "refused"
    assert _server_doc(server, campaign, "record:phone")["answers"]["outcome"] == "contacted"

    # An update on the phone and a delete on the server, then sync again.
    doc = pouch.call("get", db=phone, id="record:phone")
    pouch.call("put", db=phone, doc={**doc, "answers": {"outcome": "signed_up"}})
    server_doc = _server_doc(server, campaign, "record:server")
    deleted = server.http.delete(f"/sync/{campaign}/record:server", params={"rev": server_doc["_rev"]})
    assert deleted.status_code == 200
    pouch.call("sync", a=phone, b=server.remote(campaign))
    assert _server_doc(server, campaign, "record:phone")["answers"]["outcome"] == "signed_up"
    with pytest.raises(PouchError) as exc:
        pouch.call("get", db=phone, id="record:server")
    assert exc.value.error["status"] == 404
    # And a delete on the phone reaches the server.
    doc = pouch.call("get", db=phone, id="record:phone")
    pouch.call("remove", db=phone, id="record:phone", rev=doc["_rev"])
    pouch.call("replicate", **{"from": phone, "to": server.remote(campaign)})
    gone = server.http.get(f"/sync/{campaign}/record:phone")
    assert gone.status_code == 404 and gone.json() == {"error": "not_found", "reason": "deleted"}


def test_live_sync_picks_up_changes_within_a_second(server, pouch, campaign):
    phone = _local("phone")
    pouch.call("live", name=phone + "-pull", **{"from": server.remote(campaign), "to": phone})
    pouch.call("live", name=phone + "-push", **{"from": phone, "to": server.remote(campaign)})
    try:
        time.sleep(0.5)  # both replications are now waiting (longpoll / local changes)
        started = time.monotonic()
        server.http.put(f"/sync/{campaign}/meeting:1", json={"type": "meeting", "place": "school gym", "languages": ["en"],
                                                             "starts_at": "2026-12-03T18:30:00-06:00"})
        arrived = _wait_for(lambda: any("meeting:1" in c["ids"] for c in pouch.call("liveState", name=phone + "-pull")["changes"]))
        pull_latency = time.monotonic() - started
        assert arrived, "the live pull never delivered the server's change"
        assert pull_latency < 1.0, f"live pull took {pull_latency:.2f}s"

        started = time.monotonic()
        pouch.call("put", db=phone, doc={"_id": "record:live", "answers": {"outcome": "contacted"}})
        landed = _wait_for(lambda: server.http.get(f"/sync/{campaign}/record:live").status_code == 200)
        push_latency = time.monotonic() - started
        assert landed and push_latency < 1.0, f"live push took {push_latency:.2f}s"
        assert pouch.call("liveState", name=phone + "-pull")["errors"] == []
    finally:
        pouch.call("cancel", name=phone + "-pull")
        pouch.call("cancel", name=phone + "-push")


def test_conflicts_replicate_as_branches(server, pouch, campaign):
    first, second, reader = _local("a"), _local("b"), _local("c")
    pouch.call("put", db=first, doc={"_id": "record:door", "answers": {"outcome": "not_home"}})
    pouch.call("replicate", **{"from": first, "to": server.remote(campaign)})
    pouch.call("replicate", **{"from": server.remote(campaign), "to": second})
    # Two canvassers edit the same record offline.
    for db, outcome in ((first, "contacted"), (second, "signed_up")):
        doc = pouch.call("get", db=db, id="record:door")
        pouch.call("put", db=db, doc={**doc, "answers": {"outcome": outcome}})
        pouch.call("replicate", **{"from": db, "to": server.remote(campaign)})
    on_server = _server_doc(server, campaign, "record:door", conflicts="true")
    assert len(on_server["_conflicts"]) == 1
    leaves = server.http.get(f"/sync/{campaign}/record:door", params={"open_revs": "all"}).json()
    assert sorted(row["ok"]["answers"]["outcome"] for row in leaves) == ["contacted", "signed_up"]
    pouch.call("replicate", **{"from": server.remote(campaign), "to": reader})
    on_phone = pouch.call("get", db=reader, id="record:door", options={"conflicts": True})
    assert on_phone["_rev"] == on_server["_rev"] and on_phone["_conflicts"] == on_server["_conflicts"]


def test_five_megabyte_photo_both_ways(server, pouch):
    campaign = server.new_db(forms=True)
    photo = random.Random(5).randbytes(5 * 1024 * 1024)
    phone, other = _local("phone"), _local("other")
    pouch.call("put", db=phone, doc={
        "_id": "record:garden", **RECORD, "answers": {"outcome": "not_home"},
        "_attachments": {"photo.jpg": {"content_type": "image/jpeg", "data": base64.b64encode(photo).decode()}},
    })
    result = pouch.call("replicate", **{"from": phone, "to": server.remote(campaign)})
    assert result["ok"] and result["docs_written"] == 1
    raw = server.http.get(f"/sync/{campaign}/record:garden/photo.jpg")
    assert raw.status_code == 200 and raw.content == photo and raw.headers["content-type"] == "image/jpeg"
    pouch.call("replicate", **{"from": server.remote(campaign), "to": other})
    assert base64.b64decode(pouch.call("getAttachment", db=other, id="record:garden", name="photo.jpg")) == photo


def test_a_cut_off_replication_resumes_from_its_checkpoint(server, pouch, campaign):
    phone = _local("phone")
    assert pouch.call("generate", db=phone, count=500) == 500
    pouch.call("requestLog", clear=True)
    with pytest.raises(PouchError):
        pouch.call("replicate", **{"from": phone, "to": server.remote(campaign, failAfterBulkDocs=4),
                                   "options": {"batch_size": 50}})
    landed = server.http.get(f"/sync/{campaign}").json()["doc_count"]
    assert landed == 200
    pouch.call("requestLog", clear=True)
    result = pouch.call("replicate", **{"from": phone, "to": server.remote(campaign), "options": {"batch_size": 50}})
    assert result["ok"]
    sent = sum(entry["docs"] for entry in pouch.call("requestLog") if entry["path"].endswith("/_bulk_docs"))
    assert sent == 300, f"resumed replication re-sent documents: {sent} sent for 300 missing"
    assert server.http.get(f"/sync/{campaign}").json()["doc_count"] == 500


def test_replicating_twice_changes_nothing(server, pouch, campaign):
    phone = _local("phone")
    pouch.call("generate", db=phone, count=120)
    pouch.call("replicate", **{"from": phone, "to": server.remote(campaign)})
    before = server.http.get(f"/sync/{campaign}").json()
    again = pouch.call("replicate", **{"from": phone, "to": server.remote(campaign)})
    assert again["ok"] and again["docs_written"] == 0
    assert server.http.get(f"/sync/{campaign}").json() == before


def test_refused_documents_are_denied_and_the_rest_land(server, pouch, campaign):
    phone = _local("phone")
    pouch.call("bulkDocs", db=phone, docs=[
        {"_id": "record:ok-1", "n": 1},
        {"_id": "record:huge", "notes": "x" * 1_100_000},  # over the 1 MB default
        {"_id": "record:ok-2", "n": 2},
    ])
    result = pouch.call("replicate", **{"from": phone, "to": server.remote(campaign)})
    assert result["ok"] and result["docs_written"] == 2 and result["doc_write_failures"] == 1
    assert [d["id"] for d in result["denied"]] == ["record:huge"]
    assert "document_too_large" in result["denied"][0]["reason"]
    assert server.http.get(f"/sync/{campaign}/record:ok-2").status_code == 200
    assert server.http.get(f"/sync/{campaign}/record:huge").status_code == 404


def test_wrong_credentials_replicate_nothing(server, pouch, campaign):
    server.http.put(f"/sync/{campaign}/record:secret", json={"name": "Ana Reyes"})
    phone = _local("phone")
    for remote in ({"url": f"{server.url}/sync/{campaign}", "token": "bw_not-a-token"},
                   {"url": f"{server.url}/sync/{campaign}", "username": "guessed", "password": "wrong"},
                   {"url": f"{server.url}/sync/{campaign}"}):
        with pytest.raises(PouchError) as exc:
            pouch.call("replicate", **{"from": remote, "to": phone})
        assert exc.value.error["status"] in (401, 429)  # 429 once the guesses from this address hit the limit
    assert pouch.call("info", db=phone)["doc_count"] == 0


def test_basic_auth_works_too(server, pouch, campaign):
    phone = _local("phone")
    pouch.call("put", db=phone, doc={"_id": "record:basic"})
    name, password = server.ADMIN
    result = pouch.call("replicate", **{"from": phone, "to": {"url": f"{server.url}/sync/{campaign}", "username": name, "password": password}})
    assert result["ok"] and result["docs_written"] == 1


@pytest.mark.slow
def test_ten_thousand_documents(server, pouch, campaign):
    phone, fresh = _local("phone"), _local("fresh")
    assert pouch.call("generate", db=phone, count=10_000) == 10_000
    pushed = pouch.call("replicate", **{"from": phone, "to": server.remote(campaign), "options": {"batch_size": 500}})
    assert pushed["ok"] and pushed["docs_written"] == 10_000
    assert server.http.get(f"/sync/{campaign}").json()["doc_count"] == 10_000
    pulled = pouch.call("replicate", **{"from": server.remote(campaign), "to": fresh, "options": {"batch_size": 500}})
    assert pulled["ok"] and pulled["docs_written"] == 10_000
    assert pouch.call("info", db=fresh)["doc_count"] == 10_000
    sample = pouch.call("get", db=fresh, id="household:004242")
    assert sample["n"] == 4242 and sample["_rev"] == pouch.call("get", db=phone, id="household:004242")["_rev"]
