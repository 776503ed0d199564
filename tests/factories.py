"""Test data factories that refuse fields they do not know (a typo fails loudly)."""

from __future__ import annotations

import hashlib
import itertools

from forms.definition import iter_fields
from forms.templates import published

_counter = itertools.count(1)

RECORD_FIELDS = {"_id", "type", "form", "form_version", "household", "turf", "answers", "geotag", "author", "device", "_deleted", "_attachments"}


def make_record(**fields) -> dict:
    """A record document as a phone writes it; unknown fields raise TypeError."""
    unknown = set(fields) - RECORD_FIELDS
    if unknown:
        raise TypeError(f"make_record() got unknown fields: {', '.join(sorted(unknown))}")
    n = next(_counter)
    doc = {
        "_id": f"record:{n:06d}",
        "type": "record",
        "form": "form:asset_mapping",
        "form_version": 1,
        "household": f"household:{n:04d}",
        "answers": {"outcome": "contacted", "category": "skill", "asset_name": "Bike repair"},
        "geotag": {"lat": 41.89, "lon": -87.67, "accuracy_m": 8.0, "captured_at": "2026-11-20T18:00:00Z", "source": "gps"},
        "author": "user:ana",
        "device": "device:1",
    }
    doc.update(fields)
    return doc


def rev_hash(label: str) -> str:
    """A stable 32-hex revision hash named by a label, for hand-built histories."""
    return hashlib.md5(label.encode()).hexdigest()


def replicated(doc: dict, *labels: str, deleted: bool = False) -> dict:
    """``doc`` as a replicator sends it: the newest label last, e.g. ("a", "b") -> 2-b."""
    ids = [rev_hash(label) for label in reversed(labels)]
    out = {**doc, "_rev": f"{len(labels)}-{ids[0]}", "_revisions": {"start": len(labels), "ids": ids}}
    if deleted:
        out["_deleted"] = True
    return out


CONSENT_TEXT = {f["name"]: f["consent_text"] for _, f, _ in iter_fields(published("recruitment")["fields"])
                if f["type"] == "consent"}


def signup_record(name="Ana Reyes", phone="(773) 555-0100", email="ana@example.org", household="household:a",
                  at="2026-11-20T18:00:00+00:00", author="vic", consent=None, language="en", **answers) -> dict:
    """A recruitment record as the canvasser app writes it; consent maps channel -> given."""
    consent = {"sms": True, "email": True, "call": False} if consent is None else consent
    body = {"outcome": "contacted", "interested": "yes", "full_name": name, "languages": ["en"], **answers}
    if phone is not None:
        body["phone"] = phone
    if email is not None:
        body["email"] = email
    for channel, given in consent.items():
        body[f"consent_{channel}"] = {"given": given, "language": language,
                                      "text": CONSENT_TEXT[f"consent_{channel}"][language]}
    return {"_id": f"record:s{next(_counter):05d}", "type": "record", "form": "form:recruitment", "form_version": 1,
            "household": household, "turf": "turf:1", "author": author, "device": "device:1", "answers": body,
            "geotag": {"lat": 41.89, "lon": -87.67, "accuracy_m": 9.0, "captured_at": at, "source": "gps"}}


def awareness_record(household="household:a", turf="turf:1", at="2026-11-20T18:00:00+00:00", author="vic",
                     outcome="contacted", rsvp="yes", language_needed=("es",), meeting=None, language="en") -> dict:
    """A meeting-awareness record as the canvasser app writes it (``meeting``: the optional top-level link)."""
    answers = {"outcome": outcome, "flyer_left": "yes"}
    if outcome == "contacted":
        answers.update({"informed": "yes", "rsvp": rsvp, "language_needed": list(language_needed)})
        if rsvp is None:
            del answers["rsvp"]
    doc = {"_id": f"record:m{next(_counter):05d}", "type": "record", "form": "form:meeting_awareness",
           "form_version": 1, "household": household, "turf": turf, "author": author, "device": "device:1",
           "language": language, "answers": answers,
           "geotag": {"lat": 41.89, "lon": -87.67, "accuracy_m": 9.0, "captured_at": at, "source": "gps"}}
    if meeting is not None:
        doc["meeting"] = meeting
    return doc
