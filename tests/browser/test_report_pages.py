"""The meetings and progress pages in headless Chromium, against a live server: tables, the chart, a download."""

from __future__ import annotations

from datetime import date

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from tests.browser.test_coordinator_pages import shot
from tests.factories import awareness_record, make_record, signup_record
from tests.peers import LiveServer, blockwalk
from tests.world import square

ALL = {"sms": True, "email": True, "call": True}
MEETING = {"_id": "meeting:dec", "type": "meeting", "title": {"en": "Neighbourhood meeting", "es": "Reunión del vecindario"},
           "starts_at": "2026-12-03T18:30:00-06:00", "place": "School gym, 2650 W Fulton St", "languages": ["en", "es"]}


def geotag(at: str) -> dict:
    return {"lat": 41.89, "lon": -87.67, "accuracy_m": 6.0, "captured_at": at, "source": "gps"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("report-pages"))
    db = live.new_db("westside", forms=True)
    docs = [MEETING, {"_id": "turf:1", "type": "turf", "name": "North", "geometry": square(0)},
            {"_id": "turf:2", "type": "turf", "name": "South", "geometry": square(1)},
            {"_id": "household:a", "type": "household", "address": "2601 W Fulton St", "unit": None, "turf": "turf:1"},
            {"_id": "household:b", "type": "household", "address": "2603 W Fulton St", "unit": "2F", "turf": "turf:1"},
            {"_id": "household:c", "type": "household", "address": "2700 W Walnut St", "unit": None, "turf": "turf:2"},
            awareness_record(household="household:a", turf="turf:1", rsvp="yes", language_needed=["es"], at="2026-11-20T18:00:00Z"),
            awareness_record(household="household:b", turf="turf:1", rsvp="maybe", language_needed=["pl"], at="2026-11-20T18:10:00Z"),
            awareness_record(household="household:c", turf="turf:2", rsvp="no", language_needed=[], author="val",
                             at="2026-11-21T18:00:00Z"),
            {**signup_record(name='=HYPERLINK("http://x","y")', household="household:c", author="val", consent=ALL,
                             at="2026-11-22T17:00:00Z"), "turf": "turf:2"}]
    for n, minutes in enumerate((0, 12, 20, 31, 44)):
        docs.append(make_record(household=f"household:x{n}", turf="turf:2", author="val",
                                answers={"outcome": "contacted" if n % 2 else "not_home"},
                                geotag=geotag(f"2026-11-23T17:{minutes:02d}:00Z")))
    response = live.http.post(f"/sync/{db}/_bulk_docs", json={"docs": docs})
    assert all(r.get("ok") for r in response.json()), response.text
    report = {"pending": 3, "refused": 1, "last_sync_at": "2026-11-25T15:00:00Z"}
    answer = live.http.put(f"/api/v1/campaigns/{db}/devices/phone-7/report", json=report,
                           headers={"Authorization": f"Bearer {live.volunteer_token}"})
    assert answer.status_code == 200, answer.text
    live.db = db
    yield live
    live.close()


def sign_in(page, site, name: str, password: str) -> None:
    page.goto(f"{site.url}/coordinator/")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-button")
    page.locator("#home").wait_for()


def refusal_on(page, site, file: str) -> str:
    """The alert a page shows when the API refuses the signed-in person."""
    page.goto(f"{site.url}/coordinator/{file}?campaign={site.db}")
    alert = page.get_by_role("alert")
    alert.wait_for()
    return alert.inner_text()


@pytest.fixture
def signed_in(laptop, site):
    """The coordinator pages' laptop, signed in as the admin."""
    page, errors = laptop
    sign_in(page, site, *LiveServer.ADMIN)
    return page, errors


def test_meetings_page_shows_coverage_per_turf_the_rsvp_list_and_downloads_the_csv(site, signed_in):
    page, errors = signed_in
    page.clock.set_fixed_time("2026-12-01T12:00:00Z")  # before the meeting: its reminders are offered
    page.goto(f"{site.url}/coordinator/meetings.html?campaign={site.db}")
    meeting = page.locator("article[data-meeting='meeting:dec']")
    meeting.locator("tbody tr").first.wait_for()
    rows = [[c.strip() for c in r] for r in meeting.locator("tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))")]
    assert rows == [["North", "2", "2", "1", "1", "0", "Spanish 1, Polish 1"], ["South", "1", "1", "0", "0", "1", ""],
                    ["All turfs", "3", "3", "1", "1", "1", "Spanish 1, Polish 1"]]
    assert page.get_by_role("link", name="Progress").is_visible()  # in the navigation
    assert "Thursday, December 3, 2026, 18:30" in meeting.locator("p.muted").first.inner_text()  # the meeting's local time
    meeting.get_by_role("button", name="Show the RSVP list").click()
    rsvps = meeting.locator(".rsvps tbody tr")
    rsvps.first.wait_for()
    texts = rsvps.all_inner_texts()
    assert len(texts) == 2
    assert any("Recordatorio: Reunión del vecindario" in text and "2601 W Fulton St" in text for text in texts)
    assert any(text.startswith("2603 W Fulton St, 2F\tNorth\tMaybe\tPolish") for text in texts), texts
    with page.expect_download() as info:
        page.click("#download-coverage")
    download = info.value
    assert download.suggested_filename.startswith(f"meetings-{site.db}-coverage-") and download.suggested_filename.endswith(".csv")
    page.get_by_text(f"Saved {download.suggested_filename}: 3 rows.").wait_for()  # North, South, all
    text = Path(download.path()).read_bytes().decode("utf-8-sig")
    cells = list(csv.DictReader(io.StringIO(text)))
    assert [(r["turf"], r["doors_informed"], r["rsvp_yes"], r["rsvp_maybe"]) for r in cells] == [
        ("turf:1", "2", "1", "1"), ("turf:2", "1", "0", "0"), ("all", "3", "1", "1")]
    assert meeting.locator(".passed-note").count() == 0
    shot(page, "meetings")
    assert errors == []


@pytest.mark.parametrize("locale,width", [("en-GB", 1366), ("es-ES", 768)])
def test_a_meeting_whose_date_has_passed_says_so_and_offers_no_reminders(site, chromium, locale, width):
    context = chromium.new_context(viewport={"width": width, "height": 860}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.clock.set_fixed_time("2026-12-10T12:00:00Z")  # a week after the meeting
    try:
        sign_in(page, site, *LiveServer.ADMIN)
        page.goto(f"{site.url}/coordinator/meetings.html?campaign={site.db}")
        meeting = page.locator("article[data-meeting='meeting:dec']")
        meeting.locator("tbody tr").first.wait_for()
        note = meeting.locator(".passed-note").inner_text()
        assert ("Esta reunión fue el" if locale == "es-ES" else "This meeting took place on") in note
        title = "Reunión del vecindario" if locale == "es-ES" else "Neighbourhood meeting"
        assert meeting.get_by_role("heading", level=2).inner_text() == title
        meeting.get_by_role("button", name="Ver la lista de respuestas" if locale == "es-ES" else "Show the RSVP list").click()
        meeting.locator(".rsvps tbody tr").first.wait_for()
        rsvps = meeting.locator(".rsvps").inner_text()
        assert "Recordatorio" not in rsvps and "Reminder" not in rsvps and "turf:" not in rsvps
        assert ("Quizás" if locale == "es-ES" else "Maybe") in rsvps
        assert ("La reunión ya pasó" if locale == "es-ES" else "The meeting has passed") in rsvps
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"meeting-passed-{locale}-{width}")
    finally:
        context.close()


def test_progress_page_shows_totals_a_chart_and_what_is_still_on_phones(site, signed_in):
    page, errors = signed_in
    page.goto(f"{site.url}/coordinator/progress.html?campaign={site.db}")
    page.locator("svg.chart polyline").first.wait_for()
    cards = dict(zip(page.locator(".card .label").all_inner_texts(), page.locator(".card .value").all_inner_texts()))
    assert cards["Doors knocked"] == "8" and cards["Sign-ups"] == "1" and cards["Still on phones"] == "3"
    assert cards["Contact rate"] == "67%"  # 6 of 9 visits: three meeting doors, a sign-up, two of five later knocks
    assert page.locator("svg.chart polyline").count() == 4
    # Cumulative: the visits line ends at the top (all 9 visits), the assets line at none.
    assert page.locator("svg.chart circle title").last.text_content().endswith(": 0")  # no assets mapped
    last_visits = float(page.locator("svg.chart polyline[data-series='visits']").get_attribute("points").split()[-1].split(",")[1])
    labels = page.locator("svg.chart text").all_text_contents()
    assert labels[:5] == ["0", "3", "6", "9", "12"]  # whole steps up to the first above the largest total (9)
    assert 16 < last_visits < 320 - 40  # 9 of 12: below the top line
    # Days spaced by date: 20, 21, 22 and 23 November, then nothing until the 25th... each day one equal step.
    xs = {t.get_attribute("data-day"): float(t.get_attribute("x")) for t in page.locator("svg.chart text[data-day]").all()}
    days = sorted(xs)
    steps = [(xs[b] - xs[a]) / ((date.fromisoformat(b) - date.fromisoformat(a)).days) for a, b in zip(days, days[1:])]
    assert len(days) >= 2 and max(steps) - min(steps) < 0.01, xs
    # 23 and 24 November, then 7 December: the second gap is thirteen times the first, not the same.
    cx = page.evaluate("""async () => {
        const { chart } = await import('./progress.js');
        const day = (d) => ({ day: d, visits: 1, contacts: 0, signups: 0, assets_mapped: 0 });
        const drawn = chart([day('2026-11-23'), day('2026-11-24'), day('2026-12-07')]);
        return [...drawn.querySelectorAll('circle[fill="#0b5cad"]')].map((c) => Number(c.getAttribute('cx')));
    }""")
    assert abs((cx[2] - cx[1]) / (cx[1] - cx[0]) - 13) < 0.01, cx
    canvassers = {r[0]: r for r in page.locator("#canvassers tbody tr").evaluate_all(
        "rows => rows.map(r => [...r.cells].map(c => c.textContent))")}
    assert canvassers["vic"][8] == "3" and canvassers["val"][2] == "7"  # vic's phone holds 3; val made 7 visits
    shot(page, "progress")
    assert errors == []


def test_the_pages_refuse_a_volunteer_with_the_apis_message(site, laptop):
    page, _ = laptop
    sign_in(page, site, *LiveServer.VOLUNTEER)
    assert "Only admins, coordinators and organizers" in refusal_on(page, site, "progress.html")
    assert page.locator("svg.chart").count() == 0
    assert "Only admins, coordinators and organizers" in refusal_on(page, site, "meetings.html")
    assert "Only organizers and admins see the roster" in refusal_on(page, site, "roster.html")


def test_roster_page_lists_people_and_downloads_new_since_last_time_then_a_range(site, signed_in, tmp_path):
    page, errors = signed_in
    page.goto(f"{site.url}/coordinator/roster.html?campaign={site.db}")
    first_row = page.locator("#people tbody tr").first
    first_row.wait_for()
    assert first_row.locator("td").first.inner_text() == '=HYPERLINK("http://x","y")'  # shown as text, never run
    assert first_row.locator("td").nth(3).inner_text() == "yes"  # SMS consent
    assert page.locator("#people").inner_text().splitlines()[0] == "People (1)"
    assert "null" not in page.locator("#people").inner_text()
    page.select_option("#format", "xlsx")
    page.select_option("#preset", "action_network")
    with page.expect_download() as info:
        page.click("#download")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    assert saved.name.startswith(f"roster-{site.db}-action_network-") and saved.suffix == ".xlsx"
    sheet = openpyxl.load_workbook(saved).active
    rows = list(sheet.iter_rows())
    assert [c.value for c in rows[0]][:4] == ["email", "first_name", "last_name", "phone_number"]
    assert len(rows) == 2 and rows[1][1].value == '=HYPERLINK("http://x","y")' and rows[1][1].data_type == "s"
    assert rows[1][1].quotePrefix and rows[1][3].value == "+17735550100"
    page.locator("#status").get_by_text("Saved").wait_for()
    page.locator("#status").get_by_text("The file holds 1 person.").wait_for()
    shot(page, "roster")
    # Nothing new since: a file with the header alone.
    with page.expect_download() as info:
        page.click("#download")
    info.value.save_as(tmp_path / "again.xlsx")
    assert openpyxl.load_workbook(tmp_path / "again.xlsx").active.max_row == 1
    page.locator("#status").get_by_text("Nobody is new since your last export").wait_for()
    # A date range (the day of the sign-up, inclusive), as CSV with every column.
    page.check("input[value='range']")
    page.fill("#from", "2026-11-22")
    page.fill("#to", "2026-11-22")
    page.select_option("#format", "csv")
    page.select_option("#preset", "full")
    with page.expect_download() as info:
        page.click("#download")
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_bytes().decode("utf-8-sig"))))
    assert [(r["full_name"], r["phone"], r["consent_email"]) for r in rows] == [
        ("'=HYPERLINK(\"http://x\",\"y\")", "+17735550100", "yes")]
    assert errors == []


def test_a_coordinator_sees_the_apis_refusal_on_the_roster_page(site, laptop):
    page, _ = laptop
    blockwalk("user", "add", "cora", "--role", "coordinator", "--campaign", site.db, store=site.store,
              input="cora-password-1\n")
    sign_in(page, site, "cora", "cora-password-1")
    assert "Only organizers and admins see the roster" in refusal_on(page, site, "roster.html")
    assert "HYPERLINK" not in page.content()
    # The line saying so, not the download form: a coordinator cannot use it.
    assert page.locator("#export").is_hidden() and page.get_by_role("button", name="Download").count() == 0
    shot(page, "roster-refused")
