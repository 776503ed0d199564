"""The documents of a campaign as the server reads them: by id, by type, the ids they take, the campaign's settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from sync.errors import NotFound
from sync.store import DocumentStore

TURF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def prefixed_id(kind: str, given: str) -> str | None:
    """``<kind>:<id>`` for an id given with or without its prefix (turfs, meetings); None if it cannot be one."""
    bare = given.removeprefix(f"{kind}:")
    return f"{kind}:{bare}" if TURF_ID.fullmatch(bare) else None


def turf_doc_id(turf_id: str) -> str | None:
    """``turf:<id>`` for a turf id given with or without its ``turf:`` prefix; None if it cannot be one."""
    return prefixed_id("turf", turf_id)


def get_or_none(store: DocumentStore, doc_id: str) -> dict | None:
    try:
        return store.get(doc_id)
    except NotFound:
        return None


def docs_of_type(store: DocumentStore, prefix: str, kind: str) -> list[dict]:
    rows = store.all_docs(startkey=prefix, endkey=prefix + "\uffff", include_docs=True)["rows"]
    return [row["doc"] for row in rows if row.get("doc") and row["doc"].get("type") == kind]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def campaign_region(store: DocumentStore, default: str) -> str:
    """The campaign's default phone region: its ``campaign`` document's ``phone_region``, else ``default``."""
    try:
        rows_ = store.all_docs(startkey="campaign:", endkey="campaign:\uffff", include_docs=True, limit=1)["rows"]
    except NotFound:
        return default
    doc = rows_[0].get("doc") if rows_ else None
    region = doc.get("phone_region") if isinstance(doc, dict) else None
    return region.upper() if isinstance(region, str) and len(region) == 2 and region.isalpha() else default
