"""What each campaign document must be, whoever writes it: a good one passes, a bad one is refused in words."""

from __future__ import annotations

import pytest

from server.documents import checks
from server.documents.checks import Invalid

SQUARE = {"type": "Polygon", "coordinates": [[[-87.7, 41.85], [-87.69, 41.85], [-87.69, 41.86], [-87.7, 41.86],
                                              [-87.7, 41.85]]]}
BOW_TIE = {"type": "Polygon", "coordinates": [[[-87.7, 41.85], [-87.69, 41.86], [-87.69, 41.85], [-87.7, 41.86],
                                               [-87.7, 41.85]]]}

GOOD = {
    "turf:north": {"type": "turf", "name": "North", "drive": None, "geometry": SQUARE},
    "household:1": {"type": "household", "address": "12 Main St", "unit": None, "location": {"lat": 41.85, "lon": -87.7},
                    "turf": "turf:north"},
    "assignment:vic:turf:north": {"type": "assignment", "user": "vic", "turf": "turf:north", "active": True},
    "meeting:m1": {"type": "meeting", "starts_at": "2026-12-10T18:00:00-06:00", "ends_at": "2026-12-10T19:30:00-06:00",
                   "place": "Library, 2nd floor", "languages": ["en", "es"],
                   "title": {"en": "Street lights", "es": "Alumbrado"}, "notice": {"en": "Come along"}},
    "campaign:east": {"type": "campaign", "name": "East end", "time_zone": "America/Chicago", "offline_map_mb": 25,
                      "drives": [{"id": "assets", "name": "Asset mapping", "forms": ["form:asset_mapping"]}]},
    "issue:i1": {"type": "issue", "title": {"en": "Broken lights on Oak St"}, "meeting": "meeting:m1",
                 "sources": [{"concern": "record:a#concerns", "household": "household:1", "turf": "turf:north",
                              "language": "en"}],
                 "status": "open", "task": {"responsible": "Rosa Díaz", "responsible_kind": "person", "due": "2026-12-20"},
                 "history": []},
    "concern_status:i1:turf:north": {"type": "concern_status", "issue": "issue:i1", "turf": "turf:north",
                                     "concerns": ["record:a#concerns"], "title": {"en": "Broken lights"},
                                     "status": "in_progress", "due": "2026-12-20"},
}


@pytest.mark.parametrize("doc_id", GOOD)
def test_a_good_document_of_each_type_passes(doc_id):
    checks.check(GOOD[doc_id], doc_id)


def bad(doc_id: str, **changes) -> tuple[str, dict]:
    doc = {**GOOD[doc_id], **changes}
    return doc_id, {k: v for k, v in doc.items() if v is not REMOVED}


REMOVED = object()

REFUSED = [
    (bad("turf:north", geometry=BOW_TIE), "Bad geometry: "),
    (bad("turf:north", geometry=None), "Bad geometry: "),
    (bad("turf:north", name=""), "A turf's name is 1-200 characters"),
    (("turf:no spaces", GOOD["turf:north"]), "A turf id is 1-64 letters"),
    (bad("household:1", address=REMOVED), "A household's address is"),
    (bad("household:1", location={"lat": 91, "lon": 0}), "A household's location is {lat, lon}"),
    (bad("household:1", location={"lat": "41.85", "lon": -87.7}), "A household's location is {lat, lon}"),
    (bad("household:1", turf="north"), "A household's turf is a turf id"),
    (bad("assignment:vic:turf:north", user="bob"), "has the id assignment:bob:turf:north"),
    (bad("assignment:vic:turf:north", active="yes"), "An assignment's active is true or false"),
    (bad("meeting:m1", starts_at="next Tuesday"), "A meeting's starts_at is a date and time"),
    (bad("meeting:m1", ends_at="2026-12-10T17:00:00-06:00"), "ends_at is a date and time after it starts"),
    (bad("meeting:m1", ends_at="2026-12-10T19:00:00"), "ends_at is a date and time after it starts"),
    (bad("meeting:m1", languages=[]), "A meeting's languages are 1-20 language tags"),
    (bad("meeting:m1", title={"English": "Lights"}), "A meeting's title is text"),
    (bad("campaign:east", time_zone="Mars/Olympus"), "A campaign's time zone is an IANA name"),
    (bad("campaign:east", offline_map_mb=501), "offline_map_mb is a whole number of MB, 0-500"),
    (bad("campaign:east", drives=[{"id": "bad id", "name": "x"}]), "A campaign's drive is {id, name, forms}"),
    (bad("issue:i1", title={"en": "  "}), "An issue has a title in at least one language"),
    (bad("issue:i1", status="fixed"), "An issue's status is one of raised, open, in_progress, done, dropped"),
    (bad("issue:i1", task={"responsible": "Rosa", "due": "soon"}), "An issue's task is {responsible"),
    (bad("issue:i1", meeting="m1"), "An issue's meeting is a meeting id"),
    (bad("concern_status:i1:turf:north", turf="turf:south"), "has the id concern_status:i1:turf:south"),
    (bad("concern_status:i1:turf:north", concerns="record:a"), "lists the concerns it answers"),
    (bad("concern_status:i1:turf:north", due="2026-13-01"), "has a due date (YYYY-MM-DD) or none"),
]


@pytest.mark.parametrize("given, words", REFUSED, ids=[words for _, words in REFUSED])
def test_a_bad_document_is_refused_with_the_reason_in_words(given, words):
    doc_id, doc = given
    with pytest.raises(Invalid) as refused:
        checks.check(doc, doc_id)
    assert words in refused.value.reason
    assert refused.value.as_result()["error"] == "forbidden" and refused.value.as_result()["id"] == doc_id


def test_records_forms_and_unknown_types_are_not_these_rules():
    for doc in ({"type": "record", "answers": "anything"}, {"type": "form"}, {"type": "note", "x": 1}, {"no": "type"}):
        checks.check(doc, "x:1")  # records and forms are checked against their form (documents.write), others pass
