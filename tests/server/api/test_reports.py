"""Meeting coverage, RSVP lists, progress and device sync reports over REST, on a real SQLite store."""

from __future__ import annotations

import io

import openpyxl

from server.services import services
from tests.factories import awareness_record, make_record, signup_record
from tests.server.api.test_roster import ALL, API, app, client, csv_rows, push  # noqa: F401 - the app fixture

MEETING = {"_id": "meeting:dec", "type": "meeting", "title": {"en": "Neighbourhood meeting", "es": "Reunión del vecindario"},
           "starts_at": "2026-12-03T18:30:00-06:00", "place": "School gym, 2650 W Fulton St", "languages": ["en", "es"]}
LATER = {"_id": "meeting:jan", "type": "meeting", "title": "January meeting", "starts_at": "2027-01-14T18:30:00-06:00",
         "place": "Library", "languages": ["en"]}


def setup_campaign(app) -> None:
    store = services(app).store.open_db("east")
    store.bulk_docs([MEETING, LATER,
                     {"_id": "turf:1", "type": "turf", "name": "North"}, {"_id": "turf:2", "type": "turf", "name": "South"},
                     {"_id": "household:a", "type": "household", "address": "2601 W Fulton St", "unit": None, "turf": "turf:1"},
                     {"_id": "household:b", "type": "household", "address": "2603 W Fulton St", "unit": "2F", "turf": "turf:1"}])


def test_meeting_coverage_per_turf_counts_each_door_once(app):
    setup_campaign(app)
    push(app,
         awareness_record(household="household:a", turf="turf:1", rsvp="maybe", language_needed=["es"],
                          at="2026-11-20T18:00:00+00:00"),
         awareness_record(household="household:a", turf="turf:1", rsvp="yes", language_needed=["pl"],
                          at="2026-11-21T18:00:00+00:00"),  # the same door again: its newest RSVP counts
         awareness_record(household="household:b", turf="turf:1", rsvp="no", language_needed=[], at="2026-11-21T19:00:00+00:00"),
         awareness_record(household="household:c", turf="turf:2", outcome="not_home", at="2026-11-21T19:10:00+00:00"),
         awareness_record(household="household:d", turf="turf:2", rsvp="yes", language_needed=["es"], language="es",
                          at="2026-11-22T18:00:00+00:00"),
         # After the December meeting: counts for January, unless it names its meeting.
         awareness_record(household="household:e", turf="turf:2", rsvp="yes", at="2026-12-10T18:00:00+00:00"),
         awareness_record(household="household:f", turf="turf:2", rsvp="yes", at="2026-12-10T18:00:00+00:00",
                          meeting="meeting:dec"))
    for user in ("cora", "olga", "ada"):
        assert client(app, user).get(f"{API}/reports/meetings").status_code == 200
    assert client(app, "vic").get(f"{API}/reports/meetings").status_code == 403
    dec, jan = client(app, "cora").get(f"{API}/reports/meetings").json
    assert (dec["meeting"], jan["meeting"]) == ("meeting:dec", "meeting:jan")
    north, south = dec["turfs"]
    assert (north["turf"], north["name"], north["doors_knocked"], north["doors_informed"]) == ("turf:1", "North", 2, 2)
    assert (north["rsvp_yes"], north["rsvp_maybe"], north["rsvp_no"]) == (1, 0, 1)
    assert north["languages_needed"] == {"es": 1, "pl": 1}
    assert (south["doors_knocked"], south["doors_informed"], south["rsvp_yes"]) == (3, 2, 2)
    assert dec["totals"]["doors_knocked"] == 5 and dec["totals"]["languages_needed"] == {"es": 3, "pl": 1}
    assert jan["totals"]["doors_knocked"] == 1

    rows = csv_rows(client(app, "cora").get(f"{API}/reports/meetings/export"))
    assert [(r["meeting"], r["turf"], r["doors_informed"], r["rsvp_yes"]) for r in rows] == [
        ("meeting:dec", "turf:1", "2", "1"), ("meeting:dec", "turf:2", "2", "2"), ("meeting:dec", "all", "4", "3"),
        ("meeting:jan", "turf:2", "1", "1"), ("meeting:jan", "all", "1", "1")]
    assert rows[0]["languages_needed"] == "es:1;pl:1"


def test_rsvp_list_reminds_each_door_in_its_language(app):
    setup_campaign(app)
    push(app,
         awareness_record(household="household:a", turf="turf:1", rsvp="yes", language_needed=["es"]),
         awareness_record(household="household:b", turf="turf:1", rsvp="maybe", language_needed=["vi"]),
         awareness_record(household="household:c", turf="turf:2", rsvp="no", language_needed=["es"]),
         awareness_record(household="household:d", turf="turf:2", rsvp="yes", language_needed=[], language="en"))
    response = client(app, "cora").get(f"{API}/reports/meetings/dec/rsvps")
    assert response.status_code == 200
    by_door = {r["household"]: r for r in response.json}
    assert set(by_door) == {"household:a", "household:b", "household:d"}  # "no" is not reminded
    a = by_door["household:a"]
    assert (a["address"], a["language"], a["reminder_language"]) == ("2601 W Fulton St", "es", "es")
    assert a["reminder"].startswith("Recordatorio: Reunión del vecindario el 2026-12-03 a las 18:30")
    assert by_door["household:b"]["unit"] == "2F" and by_door["household:b"]["reminder"].startswith("Nhắc nhở")
    assert by_door["household:d"]["reminder"].startswith("Reminder: Neighbourhood meeting on 2026-12-03 at 18:30")
    assert client(app, "cora").get(f"{API}/reports/meetings/nope/rsvps").status_code == 404

    export = client(app, "cora").get(f"{API}/reports/meetings/meeting:dec/rsvps/export?format=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(export.get_data())).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][:7] == ["meeting", "household", "address", "unit", "turf", "rsvp", "language"]
    assert sorted(row[1] for row in values[1:]) == ["household:a", "household:b", "household:d"]
    log = client(app, "ada").get(f"{API}/exports").json
    assert [(e["kind"], e["who"], e["rows"], e["filter"]) for e in log] == [("rsvps", "cora", 3, {"meeting": "meeting:dec"})]


def test_device_reports_are_the_senders_own_and_the_newest_is_kept(app):
    report = {"pending": 7, "refused": 1, "last_sync_at": "2026-11-25T15:00:00+00:00"}
    vic = client(app, "vic")
    response = vic.put(f"{API}/devices/phone-1/report", json=report)
    assert response.status_code == 200
    assert response.json["user"] == "vic" and response.json["pending"] == 7
    older = vic.put(f"{API}/devices/phone-1/report", json={**report, "pending": 99, "last_sync_at": "2026-11-25T14:00:00Z"})
    assert older.status_code == 200 and older.json["pending"] == 7  # out of order: ignored
    for bad in ({**report, "pending": -1}, {**report, "pending": "7"}, {**report, "last_sync_at": "yesterday"},
                {**report, "last_sync_at": "2026-11-25T15:00:00"}, {"pending": 1}):
        assert vic.put(f"{API}/devices/phone-1/report", json=bad).status_code == 422, bad
    assert vic.put(f"{API}/devices/{'x' * 80}/report", json=report).status_code == 422
    assert vic.put("/api/v1/campaigns/nowhere/devices/phone-1/report", json=report).status_code == 403  # no role there
    assert client(app, "ada").put("/api/v1/campaigns/nowhere/devices/phone-1/report", json=report).status_code == 404
    assert app.test_client().put(f"{API}/devices/phone-1/report", json=report).status_code == 401
    # A volunteer reads no progress.
    assert vic.get(f"{API}/reports/progress").status_code == 403


def test_progress_per_campaign_turf_and_canvasser_with_what_is_still_on_phones(app):
    setup_campaign(app)
    t0 = "2026-11-20T18:{:02d}:00+00:00"
    asset = {"category": "skill", "asset_name": "Bike repair"}
    push(app,
         make_record(household="household:a", turf="turf:1", author="vic", answers={"outcome": "contacted", "assets": [asset, asset]},
                     geotag={"lat": 41.89, "lon": -87.67, "accuracy_m": 5.0, "captured_at": t0.format(0), "source": "gps"}),
         make_record(household="household:b", turf="turf:1", author="vic", answers={"outcome": "not_home"},
                     geotag={"lat": 41.89, "lon": -87.67, "accuracy_m": 5.0, "captured_at": t0.format(10), "source": "gps"}),
         make_record(household="household:b", turf="turf:1", author="vic", answers={"outcome": "not_home"},
                     geotag={"lat": 41.89, "lon": -87.67, "accuracy_m": 5.0, "captured_at": t0.format(25), "source": "gps"}),
         {**signup_record(household="household:c", author="val", consent=ALL, at="2026-11-21T10:00:00+00:00"),
          "turf": "turf:2"})
    vic_phone = {"pending": 4, "refused": 1, "last_sync_at": "2026-11-25T15:00:00+00:00"}
    assert client(app, "vic").put(f"{API}/devices/phone-1/report", json=vic_phone).status_code == 200
    assert client(app, "vic").put(f"{API}/devices/phone-2/report", json={**vic_phone, "pending": 2}).status_code == 200
    response = client(app, "cora").get(f"{API}/reports/progress")
    assert response.status_code == 200
    body = response.json
    campaign = body["campaign"]
    assert (campaign["visits"], campaign["doors_knocked"], campaign["contacts"]) == (4, 3, 2)
    assert campaign["contact_rate"] == 0.5 and campaign["assets_mapped"] == 2 and campaign["signups"] == 1
    assert (campaign["pending"], campaign["refused"]) == (6, 2)
    vic = next(c for c in body["canvassers"] if c["key"] == "vic")
    # One shift of 25 minutes plus 5 at the last door: half an hour, three records: 6 an hour.
    assert (vic["hours"], vic["records_per_hour"], vic["pending"]) == (0.5, 6.0, 6)
    north = next(t for t in body["turfs"] if t["key"] == "turf:1")
    assert (north["name"], north["doors_knocked"], north["visits"], north["pending"]) == ("North", 2, 3, None)
    assert [(d["day"], d["visits"], d["signups"]) for d in body["days"]] == [("2026-11-20", 3, 0), ("2026-11-21", 1, 1)]
    assert {d["device"] for d in body["devices"]} == {"phone-1", "phone-2"}
