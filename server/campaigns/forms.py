"""Storing forms: drafts, publishing, built-in templates (used by the CLI and the API).

Every write goes through the write path (``server.documents.write``): the
access policy for the writer (None: the server, as the command line writes)
and the same checks as a form pushed by sync, then the store's revision rules.
"""

from __future__ import annotations

from forms.definition import DefinitionError, Problem, form_doc_id, require_valid
from forms.templates import template
from forms.versions import publish
from server.access.writes import SERVER, Writer
from server.documents.write import Writes, server_writes
from sync.errors import NotFound
from sync.store import DocumentStore


def save_draft(store: DocumentStore, draft: dict, *, rev: str | None = None, replace: bool = False,
               through: Writes | None = None, writer: Writer | None = SERVER) -> dict:
    """Store ``draft`` as the editable draft of its form, through the write path (``through``, as ``writer``).

    An existing draft is replaced only when ``rev`` names its revision (the
    store's conflict rule: a stale ``rev`` is a Conflict), or with ``replace``
    (the command line, which has no earlier read to name).
    """
    draft = {k: v for k, v in draft.items() if not k.startswith("_")}
    draft.update({"_id": form_doc_id(draft.get("form_id", "")), "type": "form", "status": "draft"})
    draft.pop("version", None)
    require_valid(draft)
    if rev is None and replace:
        try:
            rev = store.get(draft["_id"])["_rev"]
        except NotFound:
            rev = None
    if rev is not None:
        draft["_rev"] = rev
    return (through or server_writes()).put(store, draft, writer)


def latest_version(store: DocumentStore, form_id: str) -> dict | None:
    prefix = form_doc_id(form_id) + "@"
    rows = store.all_docs(startkey=prefix, endkey=prefix + "\uffff", include_docs=True)["rows"]
    versions = [row["doc"] for row in rows if row.get("doc") and row["id"][len(prefix):].isdigit()]
    return max(versions, key=lambda d: d["version"], default=None)


def publish_draft(store: DocumentStore, form_id: str, *, through: Writes | None = None,
                  writer: Writer | None = SERVER) -> dict:
    """Publish the draft of ``form_id`` as its next version (through the write path); returns the new version."""
    try:
        draft = store.get(form_doc_id(form_id))
    except NotFound:
        raise DefinitionError([Problem("form_id", f"There is no draft of {form_id!r} to publish")]) from None
    version = publish(draft, latest_version(store, form_id))
    (through or server_writes()).put(store, version, writer)
    return version


def install_template(store: DocumentStore, drive: str, *, publish_it: bool = True, through: Writes | None = None) -> dict:
    """Put a built-in form into a campaign as a draft (and publish it), as the server."""
    save_draft(store, template(drive), replace=True, through=through)
    return publish_draft(store, template(drive)["form_id"], through=through) if publish_it \
        else store.get(form_doc_id(drive))
