"""Telling a phone what to drop (docs/channels.md), with real PouchDB 9 playing the canvasser app.

The phone learns what it may no longer hold from its own assignment
documents and from the visibility check (``_all_docs`` with ``keys``), and
drops by rebuilding its local database: no deletion is ever pushed.
"""

from __future__ import annotations

import random

import httpx
import pytest

from forms.templates import DRIVES, published
from server.access.channels import assignment_id
from tests.peers import LiveServer, PouchError, RECORD
from tests.world import square

ME = LiveServer.VOLUNTEER[0]


@pytest.fixture
def campaign(live):
    name = live.new_db("drop", forms=True)
    docs = [
        {"_id": "turf:1", "type": "turf", "name": "North", "geometry": square(0)},
        {"_id": "turf:2", "type": "turf", "name": "South", "geometry": square(1)},
        {"_id": "household:1a", "type": "household", "turf": "turf:1", "address": "1 Maple St"},
        {"_id": "household:1b", "type": "household", "turf": "turf:1", "address": "3 Maple St"},
        {"_id": "household:2a", "type": "household", "turf": "turf:2", "address": "2 Oak St"},
        {"_id": "record:olga-1", **RECORD, "turf": "turf:1", "author": "olga", "answers": {"outcome": "not_home"}},
        {"_id": "record:vic-1", **RECORD, "turf": "turf:1", "author": ME, "answers": {"outcome": "contacted"}},
        {"_id": "meeting:m1", "type": "meeting", "place": "School gym", "starts_at": "2026-12-03T18:30:00-06:00",
         "languages": ["en"]},
        {"_id": assignment_id(ME, "turf:1"), "type": "assignment", "user": ME, "turf": "turf:1", "active": True},
    ]
    response = live.http.post(f"/sync/{name}/_bulk_docs", json={"docs": docs})
    assert all(r.get("ok") for r in response.json()), response.text
    return name


class Phone:
    """What the canvasser app does, by the contract of docs/channels.md, on a real PouchDB database."""

    def __init__(self, pouch, live, campaign):
        self.pouch, self.name = pouch, f"phone-{random.getrandbits(40):x}"
        self.remote = {"url": f"{live.url}/sync/{campaign}", "token": live.volunteer_token}

    def pull(self) -> dict:
        return self.pouch.call("replicate", **{"from": self.remote, "to": self.name})

    def push(self, everything: bool = False) -> dict:
        """Push one's own records only (the app's push filter), or ``everything`` (a mistake the server absorbs)."""
        options = {} if everything else {"doc_ids": sorted(self.own_records())}
        return self.pouch.call("replicate", **{"from": self.name, "to": self.remote, "options": options})

    def own_records(self) -> set[str]:
        return {doc_id for doc_id, doc in self.docs().items() if doc.get("type") == "record" and doc.get("author") == ME}

    def docs(self) -> dict[str, dict]:
        rows = self.pouch.call("allDocs", db=self.name, options={"include_docs": True})["rows"]
        return {row["id"]: row["doc"] for row in rows}

    def to_drop(self) -> set[str]:
        """The visibility check: every document held from the server, but not one's own records."""
        held = sorted(set(self.docs()) - self.own_records())
        rows = self.pouch.call("remoteAllDocs", remote=self.remote, options={"keys": held})["rows"]
        return {row["key"] for row in rows if row.get("error") == "not_found"}

    def rebuild(self) -> None:
        """Drop by rebuilding: push what is pending, destroy the local database, pull again from nothing."""
        pushed = self.push()
        assert pushed["ok"] and not pushed["denied"], pushed
        self.pouch.call("destroy", db=self.name)
        assert self.pull()["ok"]


@pytest.fixture
def phone(pouch, live, campaign):
    return Phone(pouch, live, campaign)


def _server_revs(live, campaign: str) -> dict[str, str]:
    rows = live.http.get(f"/sync/{campaign}/_all_docs").json()["rows"]
    return {row["id"]: row["value"]["rev"] for row in rows}


SHARED = {published(drive)["_id"] for drive in DRIVES} | {"meeting:m1"}  # the built-in forms and a meeting


def test_a_household_moved_to_another_turf_is_dropped_without_pushing_a_deletion(live, campaign, phone):
    phone.pull()
    assert set(phone.docs()) == SHARED | {"turf:1", "household:1a", "household:1b", "record:olga-1", "record:vic-1",
                                          assignment_id(ME, "turf:1")}
    moved = live.http.get(f"/sync/{campaign}/household:1a").json()
    live.http.put(f"/sync/{campaign}/household:1a", json={**moved, "turf": "turf:2"})
    phone.pull()
    # The pull cannot tell: the move is a revision the phone may not read.  The phone still holds the old one.
    assert phone.docs()["household:1a"]["turf"] == "turf:1"
    assert phone.to_drop() == {"household:1a"}
    # A knock recorded while the phone held it: pending, pushed before the rebuild.
    phone.pouch.call("put", db=phone.name, doc={"_id": "record:vic-2", **RECORD, "turf": "turf:1", "author": ME,
                                                "household": "household:1b", "answers": {"outcome": "not_home"}})
    server_before = _server_revs(live, campaign)
    # A phone that pushes everything by mistake sends the stale household (the server reports documents the
    # user may not read as missing, revealing nothing): it is refused, and the server's copy is untouched.
    mistaken = phone.push(everything=True)
    assert [d["id"] for d in mistaken["denied"]] == ["household:1a"] and mistaken["denied"][0]["name"] == "forbidden"
    assert set(_server_revs(live, campaign)) - set(server_before) == {"record:vic-2"}
    phone.rebuild()
    held = phone.docs()
    assert "household:1a" not in held and {"household:1b", "record:vic-2"} <= set(held)
    assert phone.to_drop() == set()
    after = _server_revs(live, campaign)
    assert set(after) - set(server_before) == {"record:vic-2"}  # only the knock arrived
    assert {k: after[k] for k in server_before} == server_before  # and nothing was deleted or changed


def test_an_ended_assignment_stops_the_turf_and_the_phone_drops_it_then_a_new_one_brings_it_back(live, campaign, phone):
    phone.pull()
    ended = live.http.delete(f"/api/v1/campaigns/{campaign}/assignments/{ME}/turf:1")
    assert ended.status_code == 200 and ended.json()["active"] is False
    live.http.put(f"/sync/{campaign}/household:1c", json={"type": "household", "turf": "turf:1", "address": "5 Maple St"})
    phone.pull()
    held = phone.docs()
    # The ended assignment reached the phone (through user:<name>); the turf's new household did not.
    assert held[assignment_id(ME, "turf:1")]["active"] is False and "household:1c" not in held
    assert phone.to_drop() == {"turf:1", "household:1a", "household:1b", "record:olga-1"}
    server_before = _server_revs(live, campaign)
    phone.rebuild()
    assert set(phone.docs()) == SHARED | {"record:vic-1", assignment_id(ME, "turf:1")}  # its own record stays
    assert _server_revs(live, campaign) == server_before

    # Assigned again: the next pull back-fills the turf, the rebuilt phone keeps nothing that hides it.
    assert live.http.put(f"/api/v1/campaigns/{campaign}/assignments/{ME}/turf:1").status_code == 200
    phone.pull()
    assert {"turf:1", "household:1a", "household:1b", "household:1c", "record:olga-1"} <= set(phone.docs())


def test_a_deleted_assignment_reaches_the_phone_as_a_deletion(live, campaign, phone):
    phone.pull()
    doc_id = assignment_id(ME, "turf:1")
    rev = live.http.get(f"/sync/{campaign}/{doc_id}").json()["_rev"]
    assert live.http.delete(f"/sync/{campaign}/{doc_id}", params={"rev": rev}).status_code == 200
    phone.pull()
    assert doc_id not in phone.docs()
    (row,) = phone.pouch.call("allDocs", db=phone.name, options={"keys": [doc_id]})["rows"]
    assert row["value"]["deleted"] is True  # the deletion itself arrived (through user:<name>)
    assert "turf:1" in phone.to_drop()


def test_a_phone_whose_role_is_taken_away_gets_403_and_drops_the_campaign(live, campaign, phone):
    phone.pull()
    taken = live.http.delete(f"/api/v1/campaigns/{campaign}/members/{ME}")
    assert taken.status_code == 204
    with pytest.raises(PouchError) as pull_refused:
        phone.pull()
    assert pull_refused.value.error["status"] == 403
    response = httpx.get(f"{live.url}/sync/{campaign}/_changes", headers={"Authorization": f"Bearer {live.volunteer_token}"})
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    with pytest.raises(PouchError) as refused:
        phone.to_drop()
    assert refused.value.error["status"] == 403
    assert live.http.put(f"/api/v1/campaigns/{campaign}/members/{ME}", json={"role": "volunteer"}).status_code == 200
