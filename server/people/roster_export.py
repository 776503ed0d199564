"""Roster exports: which people, in which columns, as which file; shared by the REST API and the CLI.

* ``RosterQuery(index, store, region, default_region, filter)``: the people
  an export (or a page of the roster) lists, built one at a time as they are
  written out.  ``filter`` is ``{"mode": "new", "since": <cursor or None>}``
  (the people with a sign-up written or changed in the store after the
  cursor; everyone on a first export) or ``{"mode": "range", "from": ...,
  "to": ...}`` (the people with a sign-up made in ``[from, to)``, UTC;
  either end open).
* ``roster_stream(people, preset, fmt, done, report)``: the file as bytes in
  chunks (CSV or XLSX from ``server.exports``; ``stream`` does it for any
  rows, the meeting exports too); ``done(rows, complete)`` runs once when the
  stream ends, with ``complete`` False when it was cut off (the client went
  away), so the caller logs the export (with what ``report``, a
  ``server.people.roster.ExportReport``, gathered: the rows shortened to the
  preset's limits, the people with an unusable phone or e-mail) and moves
  the cursor only when whole.

The cursor is a position in the campaign's changes feed, read from the
index in the same snapshot as the rows it exported, so every sign-up is in
exactly one of two consecutive "new" exports unless it changed in between
(then it is in both: a CRM import updates by e-mail and phone).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Callable, Iterable, Iterator

from server import exports
from server.people import visits
from server.people.roster import PRESETS, ExportReport, Key, Person, Preset, groups, headers, person, rows, shared_phones
from server.people.visits import utc
from server.projection import Projection
from sync.store import DocumentStore

FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PAGE = 5000
PEOPLE_PER_READ = 200  # people whose sign-ups are read from the index at once


def changed_since(store: DocumentStore, since: object) -> set[str]:
    """Ids of the documents written or changed after ``since`` in the campaign's changes feed."""
    found: set[str] = set()
    while True:
        page = store.changes(since, limit=PAGE)
        found.update(row["id"] for row in page.results)
        if len(page.results) < PAGE:
            return found
        since = page.results[-1]["seq"]


class RosterQuery:
    """The people an export or a page lists, from one snapshot of the visits index.

    Opening it reads every sign-up's key (small), groups them into people and
    applies the filter, so a bad store answers before anything is sent; then
    ``people(start, stop)`` builds the chosen people one at a time, reading
    only their own sign-ups, and closes the snapshot when done.  ``since``
    is the index's feed position in that snapshot: the next cursor.
    """

    def __init__(self, index: Projection, store: DocumentStore, region: str, default_region: str, filter: dict):
        self.region = region
        self.conn: sqlite3.Connection | None = index.read()
        try:
            self.conn.execute("BEGIN")
            self.since = index.since(self.conn)
            self.keys = visits.signup_keys(self.conn, region, default_region)
            found = groups(self.keys)
            self.shared = shared_phones(self.keys, found)
            wanted = _wanted(store, filter)
            self.chosen = [members for members in found if any(wanted(self.keys[i]) for i in members)]
        except BaseException:
            self.close()
            raise

    def __len__(self) -> int:
        return len(self.chosen)

    def people(self, start: int = 0, stop: int | None = None) -> Iterator[Person]:
        chosen = self.chosen[start:stop]
        try:
            for first in range(0, len(chosen), PEOPLE_PER_READ):
                batch = [[self.keys[i] for i in members] for members in chosen[first:first + PEOPLE_PER_READ]]
                bodies = visits.signups_of(self.conn, [k.record for keys in batch for k in keys])  # type: ignore[arg-type]
                for keys in batch:
                    kept = [(bodies[k.record], k) for k in keys if k.record in bodies]
                    if kept:
                        yield person([s for s, _ in kept], [k for _, k in kept], self.shared, self.region)
        finally:
            self.close()

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _wanted(store: DocumentStore, filter: dict) -> Callable[[Key], bool]:
    if filter["mode"] == "households":  # the people who signed up at one of these doors
        doors = set(filter["in"])
        return lambda key: key.household in doors
    if filter["mode"] == "new":
        if filter.get("since") is None:
            return lambda key: True
        changed = changed_since(store, filter["since"])
        return lambda key: key.record in changed
    start = utc(filter["from"].isoformat()) if isinstance(filter.get("from"), datetime) else None
    end = utc(filter["to"].isoformat()) if isinstance(filter.get("to"), datetime) else None

    def inside(key: Key) -> bool:
        when = utc(key.at)
        return when is not None and (start is None or when >= start) and (end is None or when < end)

    return inside


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


def roster_stream(found: Iterable[Person], preset: Preset, fmt: str, done: Callable[[int, bool], None],
                  report: ExportReport | None = None) -> Iterator[bytes]:
    return stream(headers(preset), rows(found, preset, report), fmt, done, sheet="Roster")


def filter_logged(filter_: dict) -> dict:
    """The filter as the audit log keeps it (times as text, no cursor internals)."""
    if filter_["mode"] == "new":
        return {"mode": "new", "first": filter_.get("since") is None}
    return {"mode": "range", "from": filter_["from"] and filter_["from"].isoformat(),
            "to": filter_["to"] and filter_["to"].isoformat()}


def file_name(kind: str, campaign: str, label: str, fmt: str, when: datetime) -> str:
    return f"{kind}-{campaign}-{label}-{when.strftime('%Y%m%d-%H%M%S')}.{fmt}".replace("/", "_")


__all__ = ["FORMATS", "PRESETS", "RosterQuery", "stream", "roster_stream", "file_name"]
