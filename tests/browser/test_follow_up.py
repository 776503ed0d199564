"""Between meetings in headless Chromium: concerns grouped into an issue, taken up as a task, charted, exported."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from tests.browser.test_app import AppPhone
from tests.browser.test_coordinator_pages import shot
from tests.browser.test_report_pages import sign_in
from tests.factories import awareness_record
from tests.peers import LiveServer
from tests.world import square

MEETING = {"_id": "meeting:jan", "type": "meeting", "title": {"en": "Beat meeting", "es": "Reunión del sector"},
           "starts_at": "2027-01-14T18:30:00-06:00", "place": "Library, 2650 W Fulton St", "languages": ["en", "es"]}


PAST = {"_id": "meeting:nov", "type": "meeting", "title": {"en": "November meeting", "es": "Reunión de noviembre"},
        "starts_at": "2026-11-05T18:30:00-06:00", "place": "Church hall", "languages": ["en"]}


def concern(household: str, turf: str, text: str, door: str, at: str, **extra) -> dict:
    doc = awareness_record(household=household, turf=turf, at=at, meeting="meeting:jan", **extra)
    doc["answers"].update(concerns=text, door_language=door)
    return doc


def survey(n: int, turf: str, at: str, score: str) -> dict:
    return {"_id": f"record:survey-{turf}-{at[:7]}-{n}", "type": "record", "form": "form:satisfaction",
            "form_version": 1, "author": "vic", "device": "device:1", "turf": turf, "household": f"household:s{turf[-1]}-{n}",
            "language": "en", "geotag": {"lat": 41.89, "lon": -87.67, "accuracy_m": 9.0, "captured_at": at, "source": "gps"},
            "answers": {"outcome": "contacted", "agrees_to_survey": "yes", "safe_day": score, "safe_night": "3",
                        "police_trust": score, "police_respect": "3", "neighbours_help": "4", "meetings_listen": score}}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("follow-up"))
    db = live.new_db("westside", forms=True)
    docs = [MEETING, {"_id": "turf:1", "type": "turf", "name": "North", "geometry": square(0)},
            {"_id": "turf:2", "type": "turf", "name": "South", "geometry": square(1)},
            {"_id": "household:a", "type": "household", "address": "2601 W Fulton St", "turf": "turf:1"},
            {"_id": "household:b", "type": "household", "address": "2603 W Fulton St", "unit": "2F", "turf": "turf:1"},
            {"_id": "household:c", "type": "household", "address": "2700 W Walnut St", "turf": "turf:2"},
            concern("household:a", "turf:1", "The street lights on Fulton are out", "es", "2026-12-01T18:00:00Z"),
            concern("household:b", "turf:1", "Too dark at the bus stop at night", "en", "2026-12-01T18:10:00Z"),
            concern("household:c", "turf:2", "Cars speed past the school", "es", "2026-12-02T18:00:00Z", author="val"),
            *[{"_id": f"assignment:vic:{turf}", "type": "assignment", "user": "vic", "turf": turf, "active": True}
              for turf in ("turf:1", "turf:2")],
            *[survey(n, "turf:1", "2026-08-12T18:00:00Z", "2") for n in range(10)],
            *[survey(n, "turf:1", "2026-11-12T18:00:00Z", "4") for n in range(11)],
            *[survey(n, "turf:2", "2026-11-12T18:00:00Z", "5") for n in range(3)]]
    response = live.http.post(f"/sync/{db}/_bulk_docs", json={"docs": docs + [PAST]})
    assert all(r.get("ok") for r in response.json()), response.text
    assert live.http.patch(f"/api/v1/campaigns/{db}", json={"time_zone": "America/Chicago"}).status_code == 200
    live.db = db
    yield live
    live.close()


def test_a_coordinator_groups_concerns_takes_an_issue_up_and_the_chart_shows_it_overdue_first(site, chromium):
    context = chromium.new_context(viewport={"width": 1366, "height": 860}, locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(page, site, *LiveServer.ADMIN)
    page.goto(f"{site.url}/coordinator/follow-up.html?campaign={site.db}")
    page.get_by_role("heading", name="Concerns from the doors").wait_for()
    page.get_by_text("“The street lights on Fulton are out”").wait_for()
    assert page.get_by_label("Meeting", exact=True).input_value() == "meeting:jan"  # the next meeting is chosen
    assert page.get_by_role("link", name="Between meetings").get_attribute("aria-current") == "page"
    north = page.locator(".turf-group", has_text="North (2)")
    assert "2603 W Fulton St, 2F" in north.inner_text() and "spoken: Spanish" in north.inner_text()
    # When it was said, as every page shows a moment: in the campaign's time zone, the zone named.
    assert re.search(r"Dec 1, 2026, 12:00\sPM CST", north.inner_text()), north.inner_text()

    # Two doors' concerns about the dark street become one issue, with a title in each language.
    page.get_by_label("“The street lights on Fulton are out”").check()
    page.get_by_label("“Too dark at the bus stop at night”").check()
    page.get_by_label("Issue title in English").fill("Street lighting on Fulton")
    page.get_by_label("Issue title in Spanish").fill("Alumbrado en Fulton")
    page.get_by_role("button", name="Group into an issue").click()
    page.get_by_text("The issue “Street lighting on Fulton” now groups 2 concerns.").wait_for()
    lights = page.locator("#agenda .issue", has_text="Street lighting on Fulton")
    assert "Raised at 2 doors" in lights.inner_text()
    page.get_by_label("“Cars speed past the school”").check()
    page.get_by_label("Issue title in English").fill("Speeding by the school")
    page.get_by_role("button", name="Group into an issue").press("Enter")  # by keyboard
    page.get_by_text("The issue “Speeding by the school” now groups 1 concern.").wait_for()

    # Each is taken up as a task: the lights with the police liaison, already past its due date.
    for title, responsible, due, kind in (
            ("Speeding by the school", "Ana Ruiz", date.today() + timedelta(days=20), "A person"),
            ("Street lighting on Fulton", "Police liaison officer", date.today() - timedelta(days=3),
             "A partner organization")):
        issue = page.locator("#agenda .issue", has_text=title)
        issue.get_by_text("Take it up as a task").first.click()
        issue.get_by_label("Who is responsible").fill(responsible)
        issue.get_by_label("Responsible is").select_option(label=kind)
        issue.get_by_label("Due date").fill(due.isoformat())
        if title.startswith("Street"):
            issue.get_by_role("button", name="Add a milestone").click()
            issue.get_by_label("Milestone 1").fill("Ask the city for new lights")
            issue.get_by_label("by", exact=True).fill((date.today() - timedelta(days=10)).isoformat())
            issue.get_by_label("done", exact=True).check()
            issue.get_by_label("Problems encountered").fill("The city's request form was down for a week")
            issue.get_by_label("What came of it, to tell residents (Spanish)").fill("La ciudad pidió las luces")
        issue.get_by_role("button", name="Take it up").click()
        page.get_by_text(f"Saved the task of “{title}”.").wait_for()

    rows = page.locator("#chart tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().startswith("Street lighting on Fulton") and "Overdue" in rows.nth(0).inner_text()
    assert "Police liaison officer (organization)" in rows.nth(0).inner_text()
    assert "✓ Ask the city for new lights" in rows.nth(0).inner_text()
    assert rows.nth(1).inner_text().startswith("Speeding by the school")
    survey_rows = page.locator("#survey tbody tr")
    assert survey_rows.nth(0).inner_text().split("\t")[:4] == ["North", "2026 quarter 3", "10", "2.0"]
    assert survey_rows.nth(1).inner_text().split("\t")[:4] == ["North", "2026 quarter 4", "11", "4.0 (+2.0)"]
    assert "fewer than 10" in survey_rows.nth(2).inner_text() and "5.0" not in survey_rows.nth(2).inner_text()
    shot(page, "follow-up-1366-en")

    with page.expect_download() as info:
        page.get_by_role("button", name="Download the chart (CSV)").click()
    name = info.value.suggested_filename
    page.get_by_text(f"Saved {name}: 2 rows.").wait_for()
    table = list(csv.reader(io.StringIO(Path(info.value.path()).read_bytes().decode("utf-8-sig"))))
    assert [row[0] for row in table[1:]] == ["Street lighting on Fulton", "Speeding by the school"]
    assert table[1][5] == "yes" and table[1][2] == "Police liaison officer"
    with page.expect_download() as info:
        page.get_by_label("Agenda language").select_option("es")
        page.get_by_role("button", name="Download the agenda (CSV)").click()
    agenda = Path(info.value.path()).read_bytes().decode("utf-8-sig")
    assert "Alumbrado en Fulton" in agenda and "Too dark at the bus stop at night" in agenda
    # Printed as the minutes: the chart alone, without the navigation, forms or buttons.
    page.evaluate("document.body.classList.add('print-minutes')")
    page.emulate_media(media="print")
    assert page.locator("#chart-section").is_visible() and page.locator("#concerns-section").is_hidden()
    assert page.locator("header").is_hidden() and page.get_by_role("button", name="Print as minutes").is_hidden()
    shot(page, "follow-up-minutes-print")
    page.emulate_media(media="screen")
    page.evaluate("document.body.classList.remove('print-minutes')")
    page.set_viewport_size({"width": 768, "height": 860})
    shot(page, "follow-up-768-en")
    assert page.evaluate("document.documentElement.scrollWidth") <= 768
    assert errors == []
    context.close()

    # The same page in Spanish, at 768 px: the chart's cells say what they are.
    context = chromium.new_context(viewport={"width": 768, "height": 860}, locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, site, *LiveServer.ADMIN)
    page.goto(f"{site.url}/coordinator/follow-up.html?campaign={site.db}")
    page.get_by_role("heading", name="Cuadro de seguimiento").wait_for()
    first = page.locator("#chart tbody tr").first
    first.wait_for()
    assert "Vencida" in first.inner_text() and "Alumbrado en Fulton" in first.inner_text()
    # Every meeting's agenda at once: the issues with the meeting each is for, and no stray word where no meeting heads it.
    page.get_by_label("Reunión", exact=True).select_option("")
    page.locator("#agenda .issue", has_text="Alumbrado en Fulton").get_by_text("Reunión del sector", exact=False).wait_for()
    assert "null" not in page.locator("#agenda").inner_text()
    shot(page, "follow-up-768-es")
    page.set_viewport_size({"width": 1366, "height": 860})
    shot(page, "follow-up-1366-es")
    context.close()


def test_a_coordinator_creates_and_edits_a_meeting_in_the_campaigns_time_zone(site, chromium):
    api = f"/api/v1/campaigns/{site.db}/meetings"
    for locale, width in (("en-GB", 1366), ("es-ES", 768)):
        context = chromium.new_context(viewport={"width": width, "height": 860}, locale=locale)
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        sign_in(page, site, *LiveServer.ADMIN)
        page.goto(f"{site.url}/coordinator/meetings.html?campaign={site.db}")
        es = locale == "es-ES"
        page.get_by_role("button", name="Nueva reunión" if es else "New meeting").click()
        if es:
            page.get_by_label("Título en inglés").fill("Spring walk")
            page.get_by_label("Lugar").fill("Park fieldhouse")
            page.get_by_label("Fecha").fill("2027-04-08")
            page.get_by_label("Empieza a las (America/Chicago)").fill("10:00")
            shot(page, "meeting-editor-768-es")
            page.get_by_role("button", name="Guardar la reunión").click()
            page.get_by_text("Se guardó la reunión «Spring walk».").wait_for()
            (spring,) = [m for m in site.http.get(api).json() if m["title"].get("en") == "Spring walk"]
            assert spring["starts_at"] == "2027-04-08T10:00:00-05:00"  # daylight saving time in Chicago by then
            assert "Esta reunión fue el" in page.locator("[data-meeting='meeting:nov']").inner_text()
            context.close()
            continue
        page.get_by_label("Title in English").fill("Winter safety meeting")
        page.get_by_label("Title in Spanish").fill("Reunión de seguridad de invierno")
        page.get_by_label("Notice in Spanish").fill("Traiga a sus vecinos; habrá interpretación.")
        page.get_by_label("Place").fill("Library, 2650 W Fulton St")
        page.get_by_label("Date").fill("2027-02-11")
        page.get_by_label("Starts at (America/Chicago)").fill("18:30")
        page.get_by_label("Polish").check()
        shot(page, "meeting-editor-1366-en")
        page.get_by_role("button", name="Save the meeting").click()
        page.get_by_text("Saved the meeting “Winter safety meeting”.").wait_for()
        (winter,) = [m for m in site.http.get(api).json() if m["title"].get("en") == "Winter safety meeting"]
        assert winter["starts_at"] == "2027-02-11T18:30:00-06:00" and winter["languages"] == ["en", "es", "pl"]
        assert winter["notice"] == {"es": "Traiga a sus vecinos; habrá interpretación."}
        page.get_by_role("button", name="Edit Winter safety meeting").click()
        assert page.get_by_label("Starts at (America/Chicago)").input_value() == "18:30"
        page.get_by_label("Place").fill("Library, room B")
        page.get_by_role("button", name="Save the meeting").click()
        page.locator(".meeting-editor").wait_for(state="detached")
        page.get_by_text("Library, room B").wait_for()
        assert site.http.get(f"{api}/{winter['id']}").json()["place"] == "Library, room B"
        # A meeting that has passed says so, and its RSVP list offers no reminders.
        past = page.locator("[data-meeting='meeting:nov']")
        assert "This meeting took place on" in past.inner_text()
        past.get_by_role("button", name="Show the RSVP list").click()
        past.get_by_text("The meeting has passed: no reminders are offered for it.").wait_for()
        shot(page, "meetings-1366-en")
        assert errors == []
        context.close()
    # A volunteer who signs in at a laptop is not offered the page (the API would refuse it).
    context = chromium.new_context(viewport={"width": 1366, "height": 860}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(15_000)
    sign_in(page, site, *LiveServer.VOLUNTEER)
    page.goto(f"{site.url}/coordinator/meetings.html?campaign={site.db}")
    page.get_by_role("link", name="Home").wait_for()
    page.locator("header a[href^='follow-up.html']").wait_for(state="hidden")
    page.locator("header a[href^='meetings.html']").wait_for(state="hidden")
    assert page.get_by_role("button", name="New meeting").is_hidden()
    context.close()


def test_a_volunteers_phone_offline_tells_the_door_what_became_of_its_concern_in_spanish(site, chromium):
    """The coordinator's answer reaches the phone of the turf, which shows it at the door with no network."""
    api = f"/api/v1/campaigns/{site.db}"
    (speeding,) = [c for c in site.http.get(f"{api}/concerns").json() if c["household"] == "household:c"]
    made = site.http.post(f"{api}/issues", json={"title": {"en": "Speeding by the school", "es": "Exceso de velocidad"},
                                                 "meeting": "meeting:jan", "concerns": [speeding["id"]]})
    assert made.status_code == 201, made.text
    due = (date.today() + timedelta(days=30)).isoformat()
    taken = site.http.patch(f"{api}/issues/{made.json()['id']}", headers={"If-Match": made.json()["rev"]}, json={
        "task": {"responsible": "Traffic unit", "responsible_kind": "organization", "due": due}, "status": "in_progress",
        "outcome": {"en": "Speed bumps are planned", "es": "Se planean topes de velocidad"}})
    assert taken.status_code == 200, taken.text

    phone = AppPhone(chromium, site, "follow-up")
    try:
        phone.open(f"/app/?campaign={site.db}")
        phone.sign_in(*LiveServer.VOLUNTEER)
        phone.wait_synced()
        phone.context.set_offline(True)
        phone.go("#/household/household:c")
        box = phone.page.locator("#concerns")
        box.wait_for()
        assert box.get_attribute("lang") == "es"  # the door's language, not the volunteer's (English here)
        text = box.inner_text()
        assert "Inquietudes planteadas en esta puerta" in text and "“Cars speed past the school”" in text
        assert "Exceso de velocidad · En curso" in text and "Se planean topes de velocidad" in text
        assert phone.page.evaluate("document.documentElement.scrollWidth") <= 360
        phone.shot("door-concern-en")
        phone.page.get_by_role("button", name="Español").first.click()
        phone.page.get_by_role("heading", name="Visitas en esta campaña").wait_for()
        assert "Exceso de velocidad" in phone.page.locator("#concerns").inner_text()
        phone.shot("door-concern-es")
        # At a door where English was spoken, the concern is shown in English though the app is in Spanish.
        phone.go("#/household/household:b")
        assert phone.page.locator("#concerns").get_attribute("lang") == "en"
        assert phone.page.locator("#concerns h3").inner_text() == "Concerns raised at this door"
        assert not [line for line in phone.console if line.startswith("pageerror")]
    finally:
        phone.close()
