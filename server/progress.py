"""Progress per campaign, turf and canvasser; what is still on phones; progress per day.

Pure functions over the visits index's rows (``server.visits.Visit``) and
the devices' sync reports (``server.device_reports``).

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
  recruitment records that signed someone up (before deduplication);
* **pending on phones**: from each device's last sync report, summed per
  canvasser and for the campaign (a report does not say which turf its
  changes are in, so turfs have none);
* **days**: the same counts per UTC day, for the chart.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from server.visits import Visit

SHIFT_GAP = timedelta(minutes=30)
SHIFT_TAIL = timedelta(minutes=5)


def hours(times: Iterable[str]) -> float:
    """Hours in the field of one canvasser's record times (UTC ISO text), as the module says."""
    stamps = sorted(datetime.fromisoformat(t) for t in times)
    if not stamps:
        return 0.0
    total = timedelta()
    start = previous = stamps[0]
    for stamp in stamps[1:]:
        if stamp - previous > SHIFT_GAP:
            total += previous - start + SHIFT_TAIL
            start = stamp
        previous = stamp
    total += previous - start + SHIFT_TAIL
    return total.total_seconds() / 3600


class _Tally:
    def __init__(self) -> None:
        self.doors: set[str] = set()
        self.visits = self.contacts = self.assets = self.signups = 0

    def add(self, visit: Visit) -> None:
        self.doors.add(visit.household or visit.id)
        self.visits += 1
        self.contacts += visit.outcome == "contacted"
        self.assets += visit.assets
        self.signups += visit.signup

    def row(self, key: str | None, name: str | None, field_hours: float, reports: list[dict] | None) -> dict:
        out = {"key": key, "name": name, "doors_knocked": len(self.doors), "visits": self.visits,
               "contacts": self.contacts, "contact_rate": round(self.contacts / self.visits, 4) if self.visits else None,
               "hours": round(field_hours, 2),
               "records_per_hour": round(self.visits / field_hours, 2) if field_hours else None,
               "assets_mapped": self.assets, "signups": self.signups,
               "pending": None, "refused": None, "last_sync_at": None}
        if reports is not None:
            out["pending"] = sum(r["pending"] for r in reports)
            out["refused"] = sum(r["refused"] for r in reports)
            out["last_sync_at"] = max((r["last_sync_at"] for r in reports), default=None)
        return out


def progress(visits: Iterable[Visit], turf_names: dict[str, str], reports: list[dict]) -> dict:
    campaign = _Tally()
    turfs: dict[str | None, _Tally] = {}
    canvassers: dict[str, _Tally] = {}
    days: dict[str, _Tally] = {}
    times: dict[str, list[str]] = {}
    times_in_turf: dict[tuple[str, str | None], list[str]] = {}
    for visit in visits:
        campaign.add(visit)
        turfs.setdefault(visit.turf, _Tally()).add(visit)
        canvassers.setdefault(visit.author, _Tally()).add(visit)
        if visit.at:
            days.setdefault(visit.at[:10], _Tally()).add(visit)
            times.setdefault(visit.author, []).append(visit.at)
            times_in_turf.setdefault((visit.author, visit.turf), []).append(visit.at)
    canvasser_hours = {name: hours(found) for name, found in times.items()}
    turf_hours: dict[str | None, float] = {}
    for (_, turf), found in times_in_turf.items():
        turf_hours[turf] = turf_hours.get(turf, 0.0) + hours(found)
    by_user: dict[str, list[dict]] = {}
    for report in reports:
        by_user.setdefault(report["user"], []).append(report)
    for user in by_user:
        canvassers.setdefault(user, _Tally())  # a phone that reported but has synced no record yet
    return {
        "campaign": campaign.row(None, None, sum(canvasser_hours.values()), reports),
        "turfs": [turfs[t].row(t, turf_names.get(t) if t else None, turf_hours.get(t, 0.0), None)
                  for t in sorted(turfs, key=lambda t: (t is None, t or ""))],
        "canvassers": [canvassers[c].row(c, c, canvasser_hours.get(c, 0.0), by_user.get(c, []))
                       for c in sorted(canvassers)],
        "devices": sorted(reports, key=lambda r: (r["user"], r["device"])),
        "days": [{"day": day, "visits": t.visits, "contacts": t.contacts, "assets_mapped": t.assets,
                  "signups": t.signups} for day, t in sorted(days.items())],
    }
