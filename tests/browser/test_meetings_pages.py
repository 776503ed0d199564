"""The meetings page and the between-meetings menu in headless Chromium, against a live server: a campaign with
more meetings than the API gives in one page, doors whose household and turf have left the campaign, and the
server's refusals framed in the page's language (English and Spanish, 1,366 and 768 px)."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from tests.browser.test_coordinator_pages import shot
from tests.browser.test_report_pages import sign_in
from tests.factories import awareness_record
from tests.peers import LiveServer
from tests.world import square

MEETINGS = 105  # more than the API's largest page (100)


def meeting(n: int) -> dict:
    day = date(2027, 1, 1) + timedelta(days=n)
    return {"_id": f"meeting:m{n:03d}", "type": "meeting", "title": {"en": f"Meeting {n}", "es": f"Reunión {n}"},
            "starts_at": f"{day.isoformat()}T18:30:00-06:00", "place": "Library", "languages": ["en", "es"]}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("meetings-pages"))
    live.db = live.new_db("eastside", forms=True)
    docs = [meeting(n) for n in range(MEETINGS)] + [
        {"_id": "turf:1", "type": "turf", "name": "North", "geometry": square(0)},
        {"_id": "household:a", "type": "household", "address": "2601 W Fulton St", "unit": None, "turf": "turf:1"},
        awareness_record(household="household:a", turf="turf:1", rsvp="yes", meeting="meeting:m000", at="2026-11-20T18:00:00Z"),
        # A door whose household and turf were deleted since: the page has neither an address nor a name for them.
        awareness_record(household="household:gone", turf="turf:gone", rsvp="maybe", language_needed=["pl"],
                         meeting="meeting:m000", at="2026-11-20T18:10:00Z")]
    response = live.http.post(f"/sync/{live.db}/_bulk_docs", json={"docs": docs})
    assert all(r.get("ok") for r in response.json()), response.text
    yield live
    live.close()


def open_page(chromium, site, file: str, locale: str = "en-GB", width: int = 1366, user=LiveServer.ADMIN):
    context = chromium.new_context(viewport={"width": width, "height": 860}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.clock.set_fixed_time("2026-12-01T12:00:00Z")  # before every meeting
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    sign_in(page, site, *user)
    page.goto(f"{site.url}/coordinator/{file}?campaign={site.db}")
    return context, page, errors


@pytest.mark.parametrize("locale,width", [("en-GB", 1366), ("es-ES", 768)])
def test_every_meeting_can_be_edited_and_chosen_however_many_there_are(site, chromium, locale, width):
    es = locale == "es-ES"
    context, page, errors = open_page(chromium, site, "meetings.html", locale, width)
    last = page.locator(f"article[data-meeting='meeting:m{MEETINGS - 1:03d}']")
    last.wait_for()
    # The meetings after the API's first page are editable too: the page read every page of them.
    edit = page.get_by_role("button", name=f"Editar Reunión {MEETINGS - 1}" if es else f"Edit Meeting {MEETINGS - 1}", exact=True)
    edit.wait_for()
    assert page.get_by_role("button", name=re.compile(r"^(Editar Reunión|Edit Meeting) \d+$")).count() == MEETINGS
    edit.click()
    assert page.get_by_label("Título en inglés" if es else "Title in English").input_value() == f"Meeting {MEETINGS - 1}"
    shot(page, f"meetings-many-{locale}-{width}")
    # The between-meetings page offers every meeting in its menu.
    page.goto(f"{site.url}/coordinator/follow-up.html?campaign={site.db}")
    menu = page.get_by_label("Reunión" if es else "Meeting", exact=True)
    menu.locator(f"option[value='meeting:m{MEETINGS - 1:03d}']").wait_for(state="attached")
    assert menu.locator("option").count() == MEETINGS + 1  # and "All meetings"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot(page, f"follow-up-many-{locale}-{width}")
    context.close()
    assert errors == []


@pytest.mark.parametrize("locale,width", [("en-GB", 1366), ("es-ES", 768)])
def test_a_door_whose_household_and_turf_left_the_campaign_is_said_in_words_never_by_its_id(site, chromium, locale, width):
    es = locale == "es-ES"
    context, page, errors = open_page(chromium, site, "meetings.html", locale, width)
    first = page.locator("article[data-meeting='meeting:m000']")
    first.locator("tbody tr").first.wait_for()
    gone_turf = "una zona que ya no está en la campaña" if es else "a turf no longer in the campaign"
    rows = first.locator("tbody tr").all_inner_texts()
    assert rows[0].startswith("North") and rows[1].startswith(gone_turf), rows
    first.get_by_role("button", name="Ver la lista de respuestas" if es else "Show the RSVP list").click()
    rsvps = first.locator(".rsvps tbody tr")
    rsvps.nth(1).wait_for()
    gone = [text for text in rsvps.all_inner_texts() if "2601 W Fulton St" not in text]
    assert len(gone) == 1 and gone[0].startswith(
        "un hogar que ya no está en la campaña" if es else "a household no longer in the campaign"), gone
    assert gone_turf in gone[0]
    said = first.inner_text()
    assert "household:" not in said and "turf:" not in said and "null" not in said
    shot(page, f"meetings-gone-{locale}-{width}")
    context.close()
    assert errors == []


@pytest.mark.parametrize("locale,width", [("en-GB", 1366), ("es-ES", 768)])
def test_a_meeting_changed_meanwhile_is_refused_with_a_sentence_in_the_pages_language(site, chromium, locale, width):
    es = locale == "es-ES"
    n = 1 if es else 2
    context, page, errors = open_page(chromium, site, "meetings.html", locale, width)
    page.get_by_role("button", name=f"Editar Reunión {n}" if es else f"Edit Meeting {n}", exact=True).click()
    # Someone else changes the meeting while the form is open.
    path = f"/api/v1/campaigns/{site.db}/meetings/m{n:03d}"
    current = site.http.get(path)
    body = {key: current.json()[key] for key in ("title", "notice", "starts_at", "ends_at", "languages")}
    changed = site.http.put(path, json={**body, "place": "Church hall"}, headers={"If-Match": current.headers["ETag"]})
    assert changed.status_code == 200, changed.text
    page.get_by_label("Lugar" if es else "Place").fill("School gym")
    page.get_by_role("button", name="Guardar la reunión" if es else "Save the meeting").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("Alguien lo cambió mientras tanto" if es else "Someone changed this meanwhile"), \
        alert.inner_text()
    assert "changed since you read it" in alert.inner_text()  # the server's own reason, as it says it
    shot(page, f"meetings-conflict-{locale}-{width}")
    context.close()
    assert errors == []


def test_a_volunteer_is_refused_the_meetings_page_with_a_spanish_sentence(site, chromium):
    context, page, errors = open_page(chromium, site, "meetings.html", "es-ES", 768, user=LiveServer.VOLUNTEER)
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert alert.inner_text().startswith("No puede hacer esto en esta campaña."), alert.inner_text()
    shot(page, "meetings-refused-es-ES-768")
    context.close()
