"""Reads: may this reader see this revision of a document?

A reader is granted channels (``channels.grants``; None: everything).  A
document is visible when the channels it is in now meet the grants; that is
the store's own filter (``DocumentStore.visible``, ``changes(channels=)``,
``bulk_get(grants=)``), and it already keeps a deleted document in the
channels it had.  A *revision* is readable only if, besides, its own body
would be routed to a granted channel: an older revision that was a sign-up,
or a conflicting leaf of another turf, is not readable because the winner is.
A tombstone's body holds nothing, so it follows the document.
"""

from __future__ import annotations

from typing import Iterable

from sync.store import DocumentStore

from server.access.channels import route


def body_readable(body: object, granted: set[str] | None) -> bool:
    """Whether ``granted`` (None: everything) may read this one revision's body (already known visible)."""
    if granted is None or not isinstance(body, dict) or body.get("_deleted"):
        return True
    stripped = {k: v for k, v in body.items() if k not in ("_revisions", "_attachments", "_conflicts")}
    return not route(stripped).isdisjoint(granted)


def readable_revs(store: DocumentStore, doc_id: str, revs: list[str], granted: set[str]) -> set[str]:
    """Those of ``revs`` (leaves of ``doc_id``) whose bodies ``granted`` may read: one read for them all."""
    return {row["ok"]["_rev"] for row in store.open_revs(doc_id, revs)
            if "ok" in row and body_readable(row["ok"], granted)}


def filter_revisions(rows: Iterable[dict], granted: set[str] | None) -> list[dict]:
    """``open_revs`` / ``_bulk_get`` rows (``{ok: doc}``, ``{missing: rev}``, ``{error: ...}``): an unreadable
    revision becomes missing, as if the reader's copy of the document never had it."""
    out = []
    for row in rows:
        doc = row.get("ok") if isinstance(row, dict) else None
        if doc is None or body_readable(doc, granted):
            out.append(row)
        else:
            out.append({"missing": doc.get("_rev")})
    return out
