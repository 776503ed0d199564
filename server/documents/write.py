"""The one write path: every document written to a campaign, from ``/sync``, REST or the command line.

``Writes.bulk`` (``/sync``: ``_bulk_docs``, PUT, DELETE; REST views and the
command line too), ``Writes.put`` and ``Writes.judge`` (REST) ask, through
``Writes.refused``, for each document:

1. **who writes** (``access.writes``): the access policy, for a ``Writer``
   (the signed-in user, their role, and for ``/sync`` or REST which path);
   ``writes.SERVER`` (None) is the server itself (the command line, the demo);
2. **what it is** (a tombstone is not checked):

   * ``record``: its form version must exist in the campaign, and its answers and
     geotag must fit that version (``forms.validator``);
   * ``form``: the definition must be good (``forms.definition``), and a
     published version never changes;
   * every other campaign document the server sets up (turf, household,
     assignment, meeting, campaign, issue, concern_status): the rules of its
     type (``documents.checks``), the same words on every path;
   * every document: no inline attachment over ``BLOCKWALK_MAX_ATTACHMENT_BYTES``
     (decoded), counted from the base64 text before anything is decoded.

A refusal is ``Forbidden`` when the policy refuses the writer, ``checks.Invalid``
(a ``Forbidden`` too) when the document does not fit: over ``/sync`` both are a
per-document ``forbidden`` naming the problem and the rest of the batch is
stored; REST answers 403 and 422 (``api.common.save``).  Compiled validators
are cached by campaign, form and version: published versions are immutable.
"""

from __future__ import annotations

import threading

from forms.definition import DefinitionError
from forms.validator import FormValidator, compile_form
from forms.versions import check_form_write
from server.access import privacy, writes
from server.documents import checks
from server.documents.checks import Invalid
from server.documents.read import campaign_region
from sync.errors import DocumentTooLarge, NotFound, SyncError
from sync.store import DocumentStore

MAX_REASON = 2000


class Writes:
    """The one write path of a server: checks every document written, holds the compiled forms of every campaign."""

    def __init__(self, max_attachment_bytes: int | None = None, phone_region: str = "US") -> None:
        self.max_attachment_bytes = max_attachment_bytes
        self.phone_region = phone_region  # BLOCKWALK_PHONE_REGION: phones are read as the roster reads them
        self._forms: dict[tuple[str, str, int], FormValidator] = {}
        self._lock = threading.Lock()

    def refused(self, store: DocumentStore, docs: list, writer: writes.Writer | None) -> list[dict | None]:
        """One entry per document: None to store it, or the error result that refuses it.

        ``writer``: who writes (``access.writes``), whose right to write each
        document the access policy decides first; ``writes.SERVER``: the server itself.
        """
        return [None if problem is None else problem.as_result() for problem in self.judge(store, docs, writer)]

    def put(self, store: DocumentStore, doc: dict, writer: writes.Writer | None) -> dict:
        """Store one document (``{ok, id, rev}``) if ``writer`` may and it passes the checks.

        Raises the refusal: ``Forbidden`` (the access policy), ``checks.Invalid``
        (the document does not fit its type), ``DocumentTooLarge``; or the
        store's ``Conflict`` (a stale ``_rev``).
        """
        (problem,) = self.judge(store, [doc], writer)
        if problem is not None:
            raise problem
        return store.put(doc)

    def bulk(self, store: DocumentStore, docs: list, writer: writes.Writer | None, *, new_edits: bool = True,
             resolve=None) -> list[dict]:
        """Store what passes; the rest get their refusal as a per-document error, in the batch's order."""
        refusals = self.refused(store, docs, writer)
        passing = [doc for doc, refusal in zip(docs, refusals, strict=True) if refusal is None]
        extra = {"resolve": resolve} if resolve is not None else {}
        stored = iter(store.bulk_docs(passing, new_edits=new_edits, **extra) if passing else [])
        return [refusal if refusal is not None else next(stored) for refusal in refusals]

    def judge(self, store: DocumentStore, docs: list, writer: writes.Writer | None) -> list[SyncError | None]:
        """One entry per document: None if it may be stored, or the error that refuses it."""
        # The access rules read a record's form (which answers are private).
        forms = [self._form_of(store, doc) if writer is not None else None for doc in docs]
        stored = writes.stored_versions(store, docs) if writer is not None and writer.role != "admin" else {}
        households = _households(store, docs) if writer is not None and writer.role == "volunteer" else {}
        region = _Region(store, self.phone_region)  # read once a batch, if a record asks for a phone
        out: list[SyncError | None] = []
        for doc, form in zip(docs, forms, strict=True):
            try:
                self._check_attachments(doc)
                if writer is not None:
                    doc_id = doc.get("_id") if isinstance(doc, dict) else None
                    writes.check(doc, stored.get(doc_id) if isinstance(doc_id, str) else None, writer, form)
                    if isinstance(doc, dict) and isinstance(doc.get("household"), str):
                        writes.check_household(doc, households.get(doc["household"]), writer, doc_id not in stored)
                self._check(store, doc, region)
                out.append(None)
            except SyncError as exc:
                out.append(exc)
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

    def _check(self, store: DocumentStore, doc: object, region: "_Region") -> None:
        if not isinstance(doc, dict) or doc.get("_deleted") is True:
            return  # the store reports a non-object itself; tombstones carry no answers
        kind = doc.get("type")
        doc_id = doc.get("_id") if isinstance(doc.get("_id"), str) else None
        if kind == "record":
            self._check_record(store, doc, doc_id, region)
        elif kind == "form":
            self._check_form(store, doc, doc_id)
        else:
            checks.check(doc, doc_id)

    def _check_record(self, store: DocumentStore, doc: dict, doc_id: str | None, region: "_Region") -> None:
        form, version = doc.get("form"), doc.get("form_version")
        if not isinstance(form, str) or not form.startswith("form:") or type(version) is not int:
            raise Invalid("A record names its form (form:<id>) and form_version (a whole number)", doc_id)
        validator = self._validator(store, form, version, doc_id)
        language = doc.get("language") if isinstance(doc.get("language"), str) else None
        # A phone is checked in the campaign's region, as the roster reads it (forms/fieldchecks.py).
        problems = validator.validate(doc, language, region.get() if validator.asks_phone else None)
        if problems:
            text = " | ".join(f"{path}: {' '.join(messages)}" for path, messages in problems.items())
            if len(text) > MAX_REASON:
                text = text[: MAX_REASON - 3] + "..."
            raise Invalid(f"The record does not fit {form}@{version}: {text}", doc_id)

    def _form_of(self, store: DocumentStore, doc: object) -> dict | None:
        """The definition of a record's form version, if it is a usable one (None: not a record, or not found)."""
        if isinstance(doc, dict) and doc.get("type") == "record" and isinstance(doc.get("form"), str) \
                and type(doc.get("form_version")) is int:
            try:
                return self._validator(store, doc["form"], doc["form_version"], None).defn
            except SyncError:
                pass  # the record's own check says what is wrong with its form
        return None

    def _validator(self, store: DocumentStore, form: str, version: int, doc_id: str | None) -> FormValidator:
        key = (getattr(store, "name", ""), form, version)
        found = self._forms.get(key)
        if found is not None:
            return found
        try:
            defn = store.get(f"{form}@{version}")
        except NotFound:
            raise Invalid(f"Unknown form version {form}@{version} in this campaign", doc_id) from None
        if defn.get("status") != "published":
            raise Invalid(f"{form}@{version} is not a published form version", doc_id)
        try:
            found = compile_form(defn)
            privacy.note_form(defn)
        except DefinitionError as exc:
            raise Invalid(f"{form}@{version} is not a usable form: {exc}", doc_id) from None
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
        body = {k: v for k, v in doc.items() if k not in ("_rev", "_revisions", "_attachments")}
        if existing is not None and body == {k: v for k, v in existing.items() if k not in ("_rev", "_attachments")}:
            return  # what the store has already (a replicated revision sent again): nothing changes
        problems = check_form_write(existing, body)
        if problems:
            text = " | ".join(str(p) for p in problems)
            raise Invalid(f"The form cannot be stored: {text[:MAX_REASON]}", doc_id)


def server_writes(config=None) -> Writes:
    """The write path of a process without an app (the command line), from its settings (``server.config``)."""
    if config is None:
        return Writes()
    return Writes(config.get("MAX_ATTACHMENT_BYTES"), str(config.get("PHONE_REGION") or "US"))


class _Region:
    """The campaign's phone region, read at most once for a batch (a read is a request on the CouchDB store)."""

    def __init__(self, store: DocumentStore, default: str) -> None:
        self.store, self.default, self.found = store, default, None

    def get(self) -> str:
        if self.found is None:
            self.found = campaign_region(self.store, self.default)
        return self.found


def _households(store: DocumentStore, docs: list) -> dict[str, dict]:
    """The stored households the batch's records name, in one read."""
    ids = sorted({doc["household"] for doc in docs if isinstance(doc, dict) and isinstance(doc.get("household"), str)})
    if not ids:
        return {}
    rows = store.all_docs(keys=ids, include_docs=True)["rows"]
    return {row["id"]: row["doc"] for row in rows if isinstance(row.get("doc"), dict)}
