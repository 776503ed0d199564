"""Roster data: what counts as a resident's personal data, decided once.

**A roster form** is a form whose drive is ``recruitment``, or that asks a
resident for consent (a ``consent`` field): it collects who a resident is and
how to reach them.  The built-in ``form:recruitment`` is one.

**A roster record** (roster data) is a record of a roster form, or a record
whose answers hold what the roster reads as a sign-up (``full_name``, or any
``consent_*`` answer: ``server.people.roster.signup_from_record``), whatever its form
says.  The rule reads one revision's body, so the router, the REST API and the
read checks of old revisions all give the same answer.

Form ids are known by the server process from the form documents it routes
or checks (``note_form``) and from a scan at start (``note_forms``).  A form
id that is a roster form in any campaign on the server is treated as one in
every campaign: over-hiding is safe, and a built-in template's id means the
same everywhere.

**Private fields** of a roster record, for the roles that may not see roster
data (``roles.ROSTER_READERS``), are the answers of the types below and the
geotag (where a resident lives); without its form, every answer.
"""

from __future__ import annotations

import threading
from typing import Iterable

from forms.definition import iter_fields

ROSTER_DRIVES = frozenset({"recruitment"})
ROSTER_ANSWERS = frozenset({"full_name"})
CONSENT_PREFIX = "consent_"
PII_TYPES = frozenset({"text", "phone", "email", "consent", "photo", "geopoint"})

_roster_forms: set[str] = {"form:recruitment"}
_lock = threading.Lock()


def form_key(form_doc: dict) -> str | None:
    """The id records use for a form document's form (``form:<form_id>``), or None."""
    form_id = form_doc.get("form_id")
    if isinstance(form_id, str) and form_id:
        return f"form:{form_id}"
    doc_id = form_doc.get("_id")
    if isinstance(doc_id, str) and doc_id.startswith("form:"):
        return doc_id.split("@", 1)[0]
    return None


def is_roster_form(form_doc: dict) -> bool:
    if form_doc.get("drive") in ROSTER_DRIVES:
        return True
    return any(field.get("type") == "consent" for _, field, _ in iter_fields(_fields(form_doc)))


def _fields(form_doc: dict) -> list:
    fields = form_doc.get("fields")
    return fields if isinstance(fields, list) else []


def note_form(form_doc: dict) -> None:
    """Remember a form document's form as a roster form, if it is one (never forgotten)."""
    key = form_key(form_doc)
    if key is not None and key not in _roster_forms and is_roster_form(form_doc):
        with _lock:
            _roster_forms.add(key)


def note_forms(form_docs: Iterable[dict]) -> None:
    for doc in form_docs:
        if isinstance(doc, dict) and doc.get("type") == "form":
            note_form(doc)


def is_roster_record(doc: dict) -> bool:
    """Whether this revision's body is roster data (a tombstone or another type: no)."""
    if doc.get("type") != "record" or doc.get("_deleted"):
        return False
    if doc.get("form") in _roster_forms:
        return True
    answers = doc.get("answers")
    if not isinstance(answers, dict):
        return False
    return any(key in ROSTER_ANSWERS or (isinstance(key, str) and key.startswith(CONSENT_PREFIX)) for key in answers)


def private_fields(doc: dict, form_doc: dict | None) -> set[str]:
    """The fields of a roster record hidden from roles that may not see roster data.

    ``answers.<name>`` for each answer of a personal type, and ``geotag``;
    every answer when the form is not known.  Empty for any other body.
    """
    if not is_roster_record(doc):
        return set()
    answers = doc.get("answers") if isinstance(doc.get("answers"), dict) else {}
    if form_doc is None:
        hidden = {f"answers.{name}" for name in answers}
    else:
        hidden = {f"answers.{field['name']}" for _, field, _ in iter_fields(_fields(form_doc))
                  if field.get("type") in PII_TYPES and isinstance(field.get("name"), str)}
        hidden |= {f"answers.{name}" for name in answers
                   if name in ROSTER_ANSWERS or (isinstance(name, str) and name.startswith(CONSENT_PREFIX))}
    return hidden | {"geotag"}
