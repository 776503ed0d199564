"""The demo's meetings are dated from the day it is loaded: its next meeting is always ahead (issue 21)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from server.cli.demo import demo_documents, meeting_day


def test_the_next_meeting_is_a_thursday_one_to_two_weeks_after_any_day():
    for offset in range(0, 400, 1):
        today = date(2026, 1, 1) + timedelta(days=offset)
        day = meeting_day(today)
        assert day.weekday() == 3 and 7 <= (day - today).days <= 13, today


def test_the_demo_loaded_today_has_its_meetings_ahead_at_18_30_local_time():
    loaded = date(2027, 6, 30)  # summer: Chicago is 5 hours behind UTC
    meetings = [d for d in demo_documents("demo", today=loaded) if d["type"] == "meeting"]
    assert [m["_id"] for m in meetings] == ["meeting:2027-07-08", "meeting:2027-08-05"]
    first = datetime.fromisoformat(meetings[0]["starts_at"])
    assert first.date() > loaded and (first.hour, first.minute) == (18, 30) and first.utcoffset() == timedelta(hours=-5)
    assert meetings[0]["title"]["es"] == "Reunión del vecindario" and meetings[0]["place"]
    winter = [d for d in demo_documents("demo", today=date(2026, 12, 7)) if d["type"] == "meeting"][0]
    assert winter["starts_at"] == "2026-12-17T18:30:00-06:00"
    # Everything else stays as it was: the same records on any day.
    assert [d for d in demo_documents(today=loaded) if d["type"] != "meeting"] == \
        [d for d in demo_documents(today=date(2026, 12, 7)) if d["type"] != "meeting"]
