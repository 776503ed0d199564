"""What the server checks in every document written to a campaign, before it is stored.

* ``record``: its form version must exist in the campaign, and its answers and
  geotag must fit that version (``forms.validator``); a deleted record (a
  tombstone) is not checked;
* ``form``: the definition must be good (``forms.definition``), and a
  published version never changes;
* every document: no inline attachment over ``BLOCKWALK_MAX_ATTACHMENT_BYTES``
  (decoded), counted from the base64 text before anything is decoded.

Refused documents get a per-document ``forbidden`` error naming every
problem; the rest of the batch is stored.  Compiled validators are cached by
campaign, form and version: published versions are immutable.
"""

from __future__ import annotations

import threading

from forms.definition import DefinitionError
from server import channels
from forms.validator import FormValidator, compile_form
from forms.versions import check_form_write
from sync.errors import DocumentTooLarge, Forbidden, NotFound, SyncError
from sync.store import DocumentStore

MAX_REASON = 2000


class Checker:
    """Checks documents for one server; holds the compiled forms of every campaign."""

    def __init__(self, max_attachment_bytes: int | None = None, phone_region: str = "US") -> None:
        self.max_attachment_bytes = max_attachment_bytes
        self.phone_region = phone_region  # BLOCKWALK_PHONE_REGION: phones are read as the roster reads them
        self._forms: dict[tuple[str, str, int], FormValidator] = {}
        self._lock = threading.Lock()

    def refused(self, store: DocumentStore, docs: list, user=None, grants: set[str] | None = None,
                role: str | None = None) -> list[dict | None]:
        """One entry per document: None to store it, or the error result that refuses it.

        ``role``: the user's role in the campaign (``auth.role_in``); an
        organizer reads the campaign but writes nothing in it.  ``grants``
        None: the user writes the whole campaign (admins, and coordinators
        but for another person's recruitment record); otherwise the user is
        a volunteer with these channels.
        """
        current = _current(store, docs) if grants is not None or role == "coordinator" else {}
        out: list[dict | None] = []
        for doc in docs:
            try:
                self._check_attachments(doc)
                if role == "organizer":
                    doc_id = doc.get("_id") if isinstance(doc, dict) and isinstance(doc.get("_id"), str) else None
                    raise Forbidden("An organizer reads this campaign; only its coordinators and admins change it", doc_id)
                if grants is not None:
                    self._authorize(doc, current, user, grants)
                elif role == "coordinator":
                    _keep_roster_data(doc, current, user)
                self._check(store, doc)
                out.append(None)
            except SyncError as exc:
                out.append(exc.as_result())
        return out

    def _check_attachments(self, doc: object) -> None:
        if self.max_attachment_bytes is None or not isinstance(doc, dict) or not isinstance(doc.get("_attachments"), dict):
            return
        doc_id = doc.get("_id") if isinstance(doc.get("_id"), str) else None
        for name, att in doc["_attachments"].items():
            data = att.get("data") if isinstance(att, dict) else None
            if isinstance(data, str):
                size = len(data) * 3 // 4 - data[-2:].count("=")  # decoded size, without decoding
                if size > self.max_attachment_bytes:
                    raise DocumentTooLarge(
                        f"Attachment {name!r} of {doc_id} is {size} bytes; the limit is {self.max_attachment_bytes} bytes", doc_id
                    )

    def _authorize(self, doc: object, current: dict[str, dict], user, grants: set[str]) -> None:
        """A volunteer writes only their own records, in their assigned turfs or in none.

        Both the stored version (``current``) and the new one must pass.
        """
        if not isinstance(doc, dict):
            return  # the store refuses a non-object itself
        doc_id = doc.get("_id") if isinstance(doc.get("_id"), str) else None
        existing = current.get(doc_id) if doc_id else None
        for version in (existing, None if doc.get("_deleted") is True else doc):
            if version is None:
                continue
            if version.get("type") != "record" or version.get("author") != user.name:
                raise Forbidden("A volunteer may write only their own records", doc_id)
            turf = version.get("turf")
            if turf is not None and channels.turf_channel(turf) not in grants:
                raise Forbidden(f"{turf} is not one of your assigned turfs", doc_id)

    def _check(self, store: DocumentStore, doc: object) -> None:
        if not isinstance(doc, dict) or doc.get("_deleted") is True:
            return  # the store reports a non-object itself; tombstones carry no answers
        kind = doc.get("type")
        doc_id = doc.get("_id") if isinstance(doc.get("_id"), str) else None
        if kind == "record":
            self._check_record(store, doc, doc_id)
        elif kind == "form":
            self._check_form(store, doc, doc_id)

    def _check_record(self, store: DocumentStore, doc: dict, doc_id: str | None) -> None:
        form, version = doc.get("form"), doc.get("form_version")
        if not isinstance(form, str) or not form.startswith("form:") or type(version) is not int:
            raise Forbidden("A record names its form (form:<id>) and form_version (a whole number)", doc_id)
        validator = self._validator(store, form, version, doc_id)
        language = doc.get("language") if isinstance(doc.get("language"), str) else None
        # A phone is checked in the campaign's region, as the roster reads it (forms/fieldchecks.py).
        region = None
        if validator.asks_phone:
            from server.roster_export import campaign_region  # here: roster_export imports the app's modules

            region = campaign_region(store, self.phone_region)
        problems = validator.validate(doc, language, region)
        if problems:
            text = " | ".join(f"{path}: {' '.join(messages)}" for path, messages in problems.items())
            if len(text) > MAX_REASON:
                text = text[: MAX_REASON - 3] + "..."
            raise Forbidden(f"The record does not fit {form}@{version}: {text}", doc_id)

    def _validator(self, store: DocumentStore, form: str, version: int, doc_id: str | None) -> FormValidator:
        key = (getattr(store, "name", ""), form, version)
        found = self._forms.get(key)
        if found is not None:
            return found
        try:
            defn = store.get(f"{form}@{version}")
        except NotFound:
            raise Forbidden(f"Unknown form version {form}@{version} in this campaign", doc_id) from None
        if defn.get("status") != "published":
            raise Forbidden(f"{form}@{version} is not a published form version", doc_id)
        try:
            found = compile_form(defn)
        except DefinitionError as exc:
            raise Forbidden(f"{form}@{version} is not a usable form: {exc}", doc_id) from None
        with self._lock:
            self._forms[key] = found
        return found

    def _check_form(self, store: DocumentStore, doc: dict, doc_id: str | None) -> None:
        existing = None
        if doc_id is not None:
            try:
                existing = store.get(doc_id)
            except NotFound:
                existing = None
        if existing is not None and existing.get("_rev") == doc.get("_rev"):
            return  # the revision the store has already: sending it again changes nothing
        body = {k: v for k, v in doc.items() if k not in ("_rev", "_revisions", "_attachments")}
        problems = check_form_write(existing, body)
        if problems:
            text = " | ".join(str(p) for p in problems)
            raise Forbidden(f"The form cannot be stored: {text[:MAX_REASON]}", doc_id)


def _current(store: DocumentStore, docs: list) -> dict[str, dict]:
    """The stored winning version of each document of the batch that exists, in one read."""
    ids = sorted({doc["_id"] for doc in docs if isinstance(doc, dict) and isinstance(doc.get("_id"), str) and doc["_id"]})
    if not ids:
        return {}
    rows = store.all_docs(keys=ids, include_docs=True)["rows"]
    return {row["id"]: row["doc"] for row in rows if isinstance(row.get("doc"), dict)}


def _keep_roster_data(doc: object, current: dict[str, dict], user) -> None:
    """A coordinator writes the campaign but not another person's recruitment record (roster data they cannot read).

    Both the stored version and the new one are checked, as for a volunteer.
    """
    if not isinstance(doc, dict):
        return
    doc_id = doc.get("_id") if isinstance(doc.get("_id"), str) else None
    for version in (current.get(doc_id) if doc_id else None, None if doc.get("_deleted") is True else doc):
        if version is not None and channels.is_private(version) and version.get("author") != user.name:
            raise Forbidden("Recruitment records hold residents' contact details: only their author, organizers "
                            "and admins see them, and only their author and admins change them", doc_id)
