"""Progress per campaign, turf and canvasser; what is still on phones; progress per day.

Built from the visits index (``server.people.visits``: counts by SQLite, times in
one ordered pass, so a campaign of a million records costs no more memory
than one of a hundred) and the devices' sync reports
(``server.reports.devices``).

* **doors knocked**: distinct households visited (a record with no household
  is a door of its own); **visits**: records;
* **contact rate**: visits whose outcome is ``contacted``, over visits;
* **hours** in the field: a canvasser's records are cut into shifts wherever
  two consecutive records are more than ``SHIFT_GAP`` apart; a shift lasts
  from its first record to its last, plus ``SHIFT_TAIL`` for the time spent
  at its last door.  A turf's hours are those of the shifts its canvassers
  walked in it (records of one canvasser in one turf); the campaign's, the
  sum over canvassers.  **records per hour**: visits over hours;
* **assets mapped**: assets in asset-mapping records; **sign-ups**:
  records that signed someone up (before deduplication);
* **pending on phones**: from each device's last sync report, summed per
  canvasser and for the campaign (a report does not say which turf its
  changes are in, so turfs have none);
* **days**: the same counts per UTC day, for the chart.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Iterable

from server.people import visits

SHIFT_GAP = timedelta(minutes=30)
SHIFT_TAIL = timedelta(minutes=5)


class Shifts:
    """Hours in the field of one sequence of record times, added in time order."""

    def __init__(self) -> None:
        self.total = timedelta()
        self.start: datetime | None = None
        self.previous: datetime | None = None

    def add(self, stamp: datetime) -> None:
        if self.previous is None or stamp - self.previous > SHIFT_GAP:
            self._close()
            self.start = stamp
        self.previous = stamp

    def _close(self) -> None:
        if self.start is not None and self.previous is not None:
            self.total += self.previous - self.start + SHIFT_TAIL

    def hours(self) -> float:
        self._close()
        self.start = self.previous = None
        return self.total.total_seconds() / 3600


def field_hours(times: Iterable[tuple[str, str | None, str]]) -> tuple[dict[str, float], dict[str | None, float]]:
    """Hours per canvasser and per turf from (canvasser, turf, time) rows ordered by canvasser, then time."""
    by_canvasser: dict[str, float] = {}
    by_turf: dict[str | None, float] = {}
    current: str | None = None
    mine = Shifts()
    in_turf: dict[str | None, Shifts] = {}

    def flush() -> None:
        if current is not None:
            by_canvasser[current] = mine.hours()
            for turf, shifts in in_turf.items():
                by_turf[turf] = by_turf.get(turf, 0.0) + shifts.hours()

    for canvasser, turf, at in times:
        if canvasser != current:
            flush()
            current, mine, in_turf = canvasser, Shifts(), {}
        stamp = datetime.fromisoformat(at)
        mine.add(stamp)
        in_turf.setdefault(turf, Shifts()).add(stamp)
    flush()
    return by_canvasser, by_turf


def _row(key: str | None, name: str | None, counts: tuple | None, hours: float, reports: list[dict] | None) -> dict:
    doors, visits_, contacts, assets, signups = counts or (0, 0, 0, 0, 0)
    out = {"key": key, "name": name, "doors_knocked": doors, "visits": visits_, "contacts": contacts,
           "contact_rate": round(contacts / visits_, 4) if visits_ else None, "hours": round(hours, 2),
           "records_per_hour": round(visits_ / hours, 2) if hours else None,
           "assets_mapped": assets, "signups": signups, "pending": None, "refused": None, "last_sync_at": None}
    if reports is not None:
        out["pending"] = sum(r["pending"] for r in reports)
        out["refused"] = sum(r["refused"] for r in reports)
        out["last_sync_at"] = max((r["last_sync_at"] for r in reports), default=None)
    return out


def progress(conn: sqlite3.Connection, turf_names: dict[str, str], reports: list[dict]) -> dict:
    """The whole progress report from a snapshot of the visits index (see the module docstring)."""
    canvasser_hours, turf_hours = field_hours(visits.times(conn))
    turfs = visits.tallies(conn, "turf")
    canvassers = visits.tallies(conn, "canvasser")
    by_user: dict[str, list[dict]] = {}
    for report in reports:
        by_user.setdefault(report["user"], []).append(report)
    names = sorted(set(canvassers) | set(by_user))  # a phone that reported but has synced no record yet
    return {
        "campaign": _row(None, None, visits.tallies(conn, "campaign").get(None), sum(canvasser_hours.values()), reports),
        "turfs": [_row(t, turf_names.get(t) if t else None, turfs[t], turf_hours.get(t, 0.0), None)
                  for t in sorted(turfs, key=lambda t: (t is None, t or ""))],
        "canvassers": [_row(c, c, canvassers.get(c), canvasser_hours.get(c, 0.0), by_user.get(c, [])) for c in names],
        "devices": sorted(reports, key=lambda r: (r["user"], r["device"])),
        "days": [{"day": day, "visits": v, "contacts": c, "assets_mapped": a, "signups": s}
                 for day, (_, v, c, a, s) in sorted(visits.tallies(conn, "day").items())],
    }
