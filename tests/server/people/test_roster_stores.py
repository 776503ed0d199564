""""New since the last export" on every store: the cursor is the store's own opaque changes-feed position."""

from __future__ import annotations

from server.people import roster_export, visits
from server.projection import Projection
from tests.factories import signup_record

ALL = {"sms": True, "email": True, "call": True}


def test_new_since_a_cursor_lists_new_and_changed_sign_ups_only(db, tmp_path):
    ana = signup_record(name="Ana Reyes", email="ana@example.org", consent=ALL)
    luis = signup_record(name="Luis Ortiz", email="luis@example.org", household="household:l", consent=ALL)
    db.bulk_docs([ana, luis])
    index = Projection(db, tmp_path / "visits.sqlite", [visits.VisitsHandler()])

    def export(since):
        index.catch_up()
        query = roster_export.RosterQuery(index, db, "US", "US", {"mode": "new", "since": since})
        return sorted(p.full_name for p in query.people()), query.since

    names, cursor = export(None)
    assert names == ["Ana Reyes", "Luis Ortiz"]
    assert export(cursor)[0] == []
    kofi = signup_record(name="Kofi Mensah", email="kofi@example.org", household="household:k", consent=ALL)
    saved = db.get(luis["_id"])
    saved["answers"]["skills"] = ["translation"]
    db.bulk_docs([kofi, saved])
    db.bulk_docs([{"_id": "turf:9", "type": "turf", "name": "Unrelated"}])
    names, later = export(cursor)
    assert names == ["Kofi Mensah", "Luis Ortiz"]  # the new one, and the one whose sign-up changed
    assert export(later)[0] == []
    index.close()
