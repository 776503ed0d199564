"""The export log, export cursors and device reports on every store: shared by two server processes."""

from __future__ import annotations

from datetime import UTC, datetime

from server.people.export_log import ExportLog
from server.reports.devices import DeviceReports


def test_cursors_and_the_log_are_shared_by_every_process_on_the_store(server_factory):
    one, two = server_factory(subdir="shared"), server_factory(subdir="shared")  # two processes, one store
    first, second = ExportLog(one), ExportLog(two)
    assert first.cursor("east", "olga") is None
    first.move_cursor("east", "olga", "42-opaque-seq")
    assert second.cursor("east", "olga") == "42-opaque-seq"  # a CouchDB seq comes back as it was given
    assert second.cursor("east", "otto") is None and second.cursor("west", "olga") is None
    second.move_cursor("east", "olga", 57)
    assert first.cursor("east", "olga") == 57
    for n, who in enumerate(("olga", "otto", "ada")):
        (first if n % 2 else second).record(campaign="east", who=who, kind="roster", format="csv", preset="full",
                                            filter={"mode": "new"}, rows=n, complete=True)
    first.record(campaign="east-2", who="x", kind="roster", format="csv", preset=None, filter={}, rows=9, complete=True)
    total, entries = second.entries("east")
    assert total == 3 and [e["who"] for e in entries] == ["ada", "otto", "olga"]  # newest first, this campaign only
    assert second.entries("east", skip=1, limit=1)[1][0]["who"] == "otto"
    assert second.entries("east", skip=5) == (3, [])


def test_device_reports_keep_the_newest_per_user_and_device(server_factory):
    one, two = server_factory(subdir="shared"), server_factory(subdir="shared")
    at = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    DeviceReports(one).put("east", "vic", "phone-1", 5, 0, at)
    kept = DeviceReports(two).put("east", "vic", "phone-1", 9, 0, at.replace(hour=14))  # older: ignored
    assert kept["pending"] == 5
    DeviceReports(two).put("east", "vic", "phone-1", 0, 1, at.replace(hour=16))
    DeviceReports(two).put("east", "val", "phone-1", 2, 0, at)  # another user's phone of the same name
    DeviceReports(two).put("west", "vic", "phone-1", 7, 0, at)
    found = sorted((r["user"], r["device"], r["pending"], r["refused"]) for r in DeviceReports(one).of_campaign("east"))
    assert found == [("val", "phone-1", 2, 0), ("vic", "phone-1", 0, 1)]
