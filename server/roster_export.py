"""Roster exports: which people, in which columns, as which file; shared by the REST API and the CLI.

* ``people_for(conn, store, region, filter)``: the roster people an export
  lists.  ``filter`` is ``{"mode": "new", "since": <cursor or None>}`` (the
  people with a sign-up written or changed in the store after the cursor;
  everyone on a first export) or ``{"mode": "range", "from": ..., "to": ...}``
  (the people with a sign-up made in ``[from, to)``, UTC; either end open).
* ``roster_stream(people, preset, fmt, done)``: the file as bytes in chunks
  (CSV or XLSX from ``server.exports``; ``stream`` does it for any rows, the
  meeting exports too); ``done(rows, complete)`` runs once when the stream ends, with ``complete`` False when it was cut off (the client went
  away), so the caller logs the export and moves the cursor only when whole.

The cursor is a position in the campaign's changes feed, read from the
index in the same snapshot as the rows it exported, so every sign-up is in
exactly one of two consecutive "new" exports unless it changed in between
(then it is in both: a CRM import updates by e-mail and phone).
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable, Iterator

from server import exports
from server.roster import PRESETS, Person, Preset, headers, people, rows
from server.visits import signups, utc
from sync.errors import NotFound
from sync.store import DocumentStore

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PAGE = 5000


def campaign_region(store: DocumentStore, default: str) -> str:
    """The campaign's default phone region: its ``campaign`` document's ``phone_region``, else ``default``."""
    try:
        rows_ = store.all_docs(startkey="campaign:", endkey="campaign:\uffff", include_docs=True, limit=1)["rows"]
    except NotFound:
        return default
    doc = rows_[0].get("doc") if rows_ else None
    region = doc.get("phone_region") if isinstance(doc, dict) else None
    return region.upper() if isinstance(region, str) and len(region) == 2 and region.isalpha() else default


def changed_since(store: DocumentStore, since: object) -> set[str]:
    """Ids of the documents written or changed after ``since`` in the campaign's changes feed."""
    found: set[str] = set()
    while True:
        page = store.changes(since, limit=PAGE)
        found.update(row["id"] for row in page.results)
        if len(page.results) < PAGE:
            return found
        since = page.results[-1]["seq"]


def people_for(conn, store: DocumentStore, region: str, filter: dict) -> list[Person]:
    everyone = people(signups(conn), region)
    if filter["mode"] == "new":
        if filter.get("since") is None:
            return everyone
        changed = changed_since(store, filter["since"])
        return [p for p in everyone if any(s.record in changed for s in p.signups)]
    start = utc(filter["from"].isoformat()) if isinstance(filter.get("from"), datetime) else None
    end = utc(filter["to"].isoformat()) if isinstance(filter.get("to"), datetime) else None

    def inside(at: str) -> bool:
        when = utc(at)
        return when is not None and (start is None or when >= start) and (end is None or when < end)

    return [p for p in everyone if any(inside(s.at) for s in p.signups)]


def stream(header: list[str], rows_: Iterable[list[object]], fmt: str, done: Callable[[int, bool], None], *,
           sheet: str = "Export") -> Iterator[bytes]:
    """``rows_`` as a CSV or XLSX file in chunks; ``done(rows, complete)`` once it ends (see the module docstring)."""
    count = 0
    complete = False

    def counted() -> Iterator[list[object]]:
        nonlocal count
        for row in rows_:
            count += 1
            yield row

    try:
        if fmt == "xlsx":
            yield from exports.xlsx_stream(header, counted(), sheet=sheet)
        else:
            yield from exports.csv_stream(header, counted())
        complete = True
    finally:
        done(count, complete)


def roster_stream(found: Iterable[Person], preset: Preset, fmt: str, done: Callable[[int, bool], None]) -> Iterator[bytes]:
    return stream(headers(preset), rows(found, preset), fmt, done, sheet="Roster")


def filter_logged(filter_: dict) -> dict:
    """The filter as the audit log keeps it (times as text, no cursor internals)."""
    if filter_["mode"] == "new":
        return {"mode": "new", "first": filter_.get("since") is None}
    return {"mode": "range", "from": filter_["from"] and filter_["from"].isoformat(),
            "to": filter_["to"] and filter_["to"].isoformat()}


def file_name(kind: str, campaign: str, label: str, fmt: str, when: datetime) -> str:
    return f"{kind}-{campaign}-{label}-{when.strftime('%Y%m%d-%H%M%S')}.{fmt}".replace("/", "_")


__all__ = ["FORMATS", "PRESETS", "campaign_region", "people_for", "stream", "roster_stream", "file_name"]
