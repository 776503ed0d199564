"""Real PouchDB 9 devices editing one record offline; the server merges on arrival; every device converges.

Each device stamps its edits as the canvasser app does (the stamper's
Python twin, sync.stamps, held to the same vectors as sync/stamps.mjs) and
replicates with real PouchDB over HTTP, on both stores.
"""

from __future__ import annotations

import copy
import random

import pytest

from server.records.conflicts import RECORD_FIELDS
from sync.stamps import Clock, stamp_edit

VISIT = {"_id": "record:door", "type": "record", "form": "form:meeting_awareness", "form_version": 1,
         "household": "household:1", "turf": "turf:a", "author": "ana",
         "answers": {"outcome": "contacted", "informed": "yes", "flyer_left": "yes", "door_language": "en",
                     "language_needed": ["es"], "concerns": "street lights"},
         "geotag": {"lat": 41.88, "lon": -87.63, "accuracy_m": 12}}
T = 1_764_085_500_000


class Phone:
    """A canvasser's phone: a local PouchDB and a clock."""

    def __init__(self, pouch, server, campaign: str, name: str):
        self.pouch, self.server, self.campaign, self.name = pouch, server, campaign, name
        self.db = f"{name}-{random.getrandbits(40):x}"
        self.clock = Clock()

    def edit(self, change, at: int, stamped: bool = True) -> None:
        before = self.pouch.call("get", db=self.db, id="record:door")
        after = copy.deepcopy(before)
        change(after)
        if stamped:
            after = stamp_edit(before, after, device=self.name, user=self.name, clock=self.clock, now_ms=at, layout=RECORD_FIELDS)
        self.pouch.call("put", db=self.db, doc=after)

    def push(self) -> None:
        result = self.pouch.call("replicate", **{"from": self.db, "to": self.server.remote(self.campaign)})
        assert result["ok"] and not result["denied"], result

    def pull(self) -> None:
        result = self.pouch.call("replicate", **{"from": self.server.remote(self.campaign), "to": self.db})
        assert result["ok"], result

    def record(self) -> dict:
        return self.pouch.call("get", db=self.db, id="record:door", options={"conflicts": True})


def _phones(server, pouch, count: int, stamped: bool = True) -> list[Phone]:
    campaign = server.new_db(forms=True)
    phones = [Phone(pouch, server, campaign, f"phone-{n}") for n in range(count)]
    first = phones[0]
    doc = copy.deepcopy(VISIT)
    if stamped:
        doc = stamp_edit(None, doc, device=first.name, user=first.name, clock=first.clock, now_ms=T, layout=RECORD_FIELDS)
    pouch.call("put", db=first.db, doc=doc)
    first.push()
    for phone in phones[1:]:
        phone.pull()
    return phones


def _sync_all(phones: list[Phone], order) -> None:
    for index in order:
        phones[index].push()
    for phone in phones:
        phone.pull()


def _settled(phones: list[Phone]) -> dict:
    docs = [phone.record() for phone in phones]
    assert all(doc == docs[0] for doc in docs), "the devices hold different documents"
    assert "_conflicts" not in docs[0]  # the server resolved them: nothing left for PouchDB to pick
    return docs[0]


def _comparable(doc: dict) -> dict:
    """A document without what differs between two runs of the same edits (revision ids)."""
    return {k: v for k, v in doc.items() if k not in ("_rev", "merged")}


def _answer(**answers):
    return lambda doc: doc["answers"].update(answers)


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["first-then-second", "second-then-first"])
def test_two_devices_edit_different_fields_offline(server, pouch, order):
    phones = _phones(server, pouch, 2)
    phones[0].edit(_answer(door_language="es"), T + 1000)
    phones[1].edit(_answer(flyer_left="no"), T + 2000)
    _sync_all(phones, order)
    doc = _settled(phones)
    assert doc["answers"]["door_language"] == "es" and doc["answers"]["flyer_left"] == "no"
    assert "conflicts" not in doc
    merged = doc["merged"]  # what the app shows: merged, and what changed for each side
    assert len(merged["revs"]) == 2 and sorted(map(tuple, merged["changed"].values())) == [
        ("answers.door_language",), ("answers.flyer_left",)]


def test_two_devices_edit_the_same_field_in_both_orders_and_agree(server, pouch):
    results = []
    for order in ((0, 1), (1, 0)):
        phones = _phones(server, pouch, 2)
        phones[0].edit(_answer(door_language="es", concerns="street lights, and the bus stop"), T + 1000)
        phones[1].edit(_answer(door_language="pl", concerns="street lights; dogs"), T + 2000)
        _sync_all(phones, order)
        results.append(_settled(phones))
    first, second = results
    entry = first["conflicts"]["answers.door_language"]
    assert entry["open"] and [h["value"] for h in entry["heads"]] == ["es", "pl"]
    assert first["answers"]["door_language"] == "pl"  # provisional, for review
    assert first["answers"]["concerns"] == "street lights, and the bus stop\n\nstreet lights; dogs"  # keep both
    # The same edits in the other order give the same document (revision ids apart).
    strip = lambda doc: {**_comparable(doc), "_attachments": None}  # noqa: E731
    assert strip(first) == strip(second)


def test_three_devices_converge_and_keep_every_value(server, pouch):
    phones = _phones(server, pouch, 3)
    phones[0].edit(_answer(door_language="es", language_needed=["es", "ar"], outcome="language_barrier"), T + 1000)
    phones[1].edit(_answer(door_language="pl", outcome="refused"), T + 2000)
    phones[2].edit(lambda d: (d["answers"].update(language_needed=["vi"]),
                              d.update(geotag={"lat": 41.8802, "lon": -87.6302, "accuracy_m": 3})), T + 3000)
    _sync_all(phones, (2, 0, 1))
    doc = _settled(phones)
    assert doc["answers"]["language_needed"] == ["es", "ar", "vi"]
    assert doc["answers"]["outcome"] == "language_barrier"  # forward only: the furthest of the two
    assert doc["geotag"]["accuracy_m"] == 3
    assert sorted(h["value"] for h in doc["conflicts"]["answers.door_language"]["heads"]) == ["es", "pl"]
    assert "refused" in [h["value"] for h in doc["conflicts"]["answers.outcome"]["heads"]]
    # A coordinator resolves it; every phone receives the resolution.
    url = f"/api/v1/campaigns/{phones[0].campaign}/conflicts/record:door/answers.door_language"
    done = phones[0].server.http.post(url, json={"choose": 0}, headers={"If-Match": doc["_rev"]})
    assert done.status_code == 200, done.text
    for phone in phones:
        phone.pull()
    after = _settled(phones)
    assert after["answers"]["door_language"] == "es" and "answers.door_language" not in after["conflicts"]


def test_plain_pouchdb_clients_are_merged_at_document_level(server, pouch):
    phones = _phones(server, pouch, 2, stamped=False)
    phones[0].edit(_answer(door_language="es"), T, stamped=False)
    phones[1].edit(_answer(door_language="pl"), T, stamped=False)
    _sync_all(phones, (0, 1))
    doc = _settled(phones)
    entry = doc["conflicts"]["answers.door_language"]
    assert entry["open"] and sorted(h["value"] for h in entry["heads"]) == ["es", "pl"]


def test_a_plain_clients_values_against_a_stamping_phone_all_reach_the_review_queue(server, pouch):
    # Issue 25: the phone stamps rsvp=yes; a plain PouchDB client of the same record (stamps left as
    # it found them) sets rsvp=no and door_language=vi.  Both sync twice.
    phones = _phones(server, pouch, 2)
    phones[0].edit(_answer(rsvp="maybe"), T + 500)
    _sync_all(phones, (0,))
    phones[0].edit(_answer(rsvp="yes"), T + 1000)
    phones[1].edit(_answer(rsvp="no", door_language="vi"), T + 2000, stamped=False)
    for _ in range(2):
        _sync_all(phones, (0, 1))
    doc = _settled(phones)
    assert doc["answers"]["rsvp"] == "yes" and doc["answers"]["door_language"] == "en"  # the stamped side, for now
    campaign = phones[0].campaign
    queue = phones[0].server.http.get(f"/api/v1/campaigns/{campaign}/conflicts").json()
    assert {c["field"]: sorted(h["value"] for h in c["heads"]) for c in queue} == {
        "answers.rsvp": ["no", "yes"], "answers.door_language": ["en", "vi"]}
