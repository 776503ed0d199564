"""The roster page in headless Chromium against a live server (issue 25): people whose phone or
e-mail cannot be used are listed and counted, and a CRM download says which rows it shortened.

Screenshots at a phone's size (360x740) and a laptop's (1366x768), in English and Spanish, go to
screenshots/roster/ (not committed) for a person to look at.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from server import config as settings
from server.stores import open_store
from tests.browser.test_report_pages import sign_in
from tests.factories import signup_record
from tests.peers import LiveServer

SHOTS = Path(__file__).resolve().parents[2] / "screenshots" / "roster"
ALL = {"sms": True, "email": True, "call": True}
ARABIC = ("نادية " + "عبدالرحمن الهاشمي " * 11)[:200]  # the form's 200 characters: 355 bytes after the first word
SIZES = {"phone": {"width": 360, "height": 740}, "laptop": {"width": 1366, "height": 768}}
LOCALES = {"en": "en-US", "es": "es-ES"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("roster-page"))
    db = live.new_db("northside", forms=True)
    docs = [signup_record(name=ARABIC, email="nadia@example.org", phone="(773) 555-0101", consent=ALL,
                          household="household:n", at="2026-11-20T18:00:00Z"),
            # Signed up at a Spanish door, consent given in Spanish, English listed first.
            signup_record(name="Rosa Díaz", email="rosa@example.org", phone="(773) 555-0103", consent=ALL, language="es",
                          languages=["en", "es"], household="household:r", at="2026-11-22T18:00:00Z")]
    response = live.http.post(f"/sync/{db}/_bulk_docs", json={"docs": docs})
    assert all(r.get("ok") for r in response.json()), response.text
    # A Polish mobile typed without +48, read in the campaign's region (US): not a valid number there.  The
    # phone now refuses it at the door; a sign-up stored before that (by an older app) is written to the store.
    store = open_store(live.store, settings.load({}, {}))
    try:
        store.open_db(db).bulk_docs([signup_record(name="Ewa Nowak", email="ewa@example.org", phone="601 234 567",
                                                   consent=ALL, household="household:e", at="2026-11-21T18:00:00Z")])
    finally:
        store.close()
    live.db = db
    yield live
    live.close()


def open_roster(chromium, site, size: str, locale: str):
    context = chromium.new_context(viewport=SIZES[size], locale=LOCALES[locale], accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    sign_in(page, site, *LiveServer.ADMIN)
    page.goto(f"{site.url}/coordinator/roster.html?campaign={site.db}")
    page.locator("#people tbody tr").first.wait_for()
    return context, page, errors


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def no_ids_or_json(text: str) -> None:
    assert not re.search(r"person:|record:|household:|[{}]|\bnull\b|undefined|\[object", text), text


def test_people_with_problems_are_counted_and_a_mailchimp_download_says_what_it_shortened(site, chromium, tmp_path):
    context, page, errors = open_roster(chromium, site, "laptop", "en")
    heading = page.get_by_role("heading", name="People with problems (1)")
    heading.wait_for()
    problems = page.get_by_role("list", name="People with problems (1)")
    assert problems.get_by_role("listitem").all_inner_texts() == [
        "Ewa Nowak — Phone “601 234 567” is not a valid number in United States"]
    people = page.get_by_role("region", name="People")
    ewa = people.get_by_role("row").filter(has_text="Ewa Nowak")
    assert "is not a valid number in United States" in ewa.inner_text()
    assert page.get_by_role("heading", name="People (3)").is_visible()
    page.get_by_label("Columns").select_option(label="Mailchimp")
    page.get_by_label("File").select_option(label="CSV")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_bytes().decode("utf-8-sig"))))
    assert [r["Email Address"] for r in rows] == ["nadia@example.org", "ewa@example.org", "rosa@example.org"]
    assert all(len(r[h].encode("utf-8")) <= 255 for r in rows for h in ("First Name", "Last Name", "Language", "Tags"))
    assert ARABIC.split(" ", 1)[1].startswith(rows[0]["Last Name"]) and rows[1]["Phone Number"] == ""
    assert rows[2]["Language"] == "es"  # the language of the consent, not the first listed
    status = page.locator("#status")
    status.get_by_text("1 row was shortened to fit Mailchimp's limits").wait_for()
    assert f"line 2 ({ARABIC[:60]}…): Last Name" in status.inner_text()
    assert "1 person has a phone or e-mail that could not be exported" in status.inner_text()
    assert "The file holds 3 people." in status.inner_text()
    no_ids_or_json(page.locator("main").inner_text())
    shot(page, "roster-laptop-en")
    # The admin's export log says the same, by person id.
    [entry] = [e for e in site.http.get(f"/api/v1/campaigns/{site.db}/exports").json() if e["preset"] == "mailchimp"]
    assert entry["cut_rows"] == 1 and entry["cut"][0]["row"] == 2 and entry["problem_people"] == 1
    assert errors == []
    context.close()


@pytest.mark.parametrize("size,locale", [("phone", "en"), ("phone", "es"), ("laptop", "es")])
def test_the_roster_page_reads_at_a_phones_and_a_laptops_size_in_english_and_spanish(site, chromium, size, locale):
    context, page, errors = open_roster(chromium, site, size, locale)
    name = "Personas con problemas (1)" if locale == "es" else "People with problems (1)"
    page.get_by_role("heading", name=name).wait_for()
    item = page.get_by_role("list", name=name).get_by_role("listitem")
    expected = ("El teléfono «601 234 567» no es un número válido en Estados Unidos" if locale == "es"
                else "Phone “601 234 567” is not a valid number in United States")
    assert item.inner_text() == f"Ewa Nowak — {expected}"
    # Nothing wider than the screen but the table, which scrolls on its own.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, overflow
    # The earlier download moved "new since my last export": a date range holds everyone again.
    page.get_by_label("Inscritos entre" if locale == "es" else "Signed up between").check()
    page.get_by_label("Desde" if locale == "es" else "From", exact=True).fill("2026-11-01")
    page.get_by_label("Hasta (incluido)" if locale == "es" else "To (inclusive)").fill("2026-11-30")
    page.get_by_label("Columnas" if locale == "es" else "Columns").select_option(label="Mailchimp")
    with page.expect_download():
        page.get_by_role("button", name="Descargar" if locale == "es" else "Download").click()
    note = "1 fila se acortó para caber en los límites de Mailchimp" if locale == "es" else "1 row was shortened"
    page.locator("#status").get_by_text(note).wait_for()
    no_ids_or_json(page.locator("main").inner_text())
    shot(page, f"roster-{size}-{locale}")
    assert errors == []
    context.close()


def test_choices_that_cannot_work_together_are_not_offered_and_the_servers_reason_is_shown(site, chromium):
    context, page, errors = open_roster(chromium, site, "laptop", "en")
    page.get_by_label("File").select_option("xlsx")
    page.get_by_label("Columns").select_option(label="Mailchimp")  # Mailchimp imports CSV only
    assert page.get_by_label("File").input_value() == "csv"
    assert page.locator("#format option[value='xlsx']").is_disabled()
    assert "Mailchimp imports CSV files only" in page.locator("#format-note").inner_text()
    page.get_by_label("Columns").select_option(label="Blockwalk (all columns)")
    assert not page.locator("#format option[value='xlsx']").is_disabled()
    # A reversed range: the server's reason, in words, not the status line "UNPROCESSABLE ENTITY".
    page.get_by_label("Signed up between").check()
    page.get_by_label("From", exact=True).fill("2026-11-30")
    page.get_by_label("To (inclusive)").fill("2026-11-01")
    page.get_by_role("button", name="Download").click()
    alert = page.locator("#status").get_by_role("alert")
    alert.wait_for()
    assert "'from' must be before 'to'" in alert.inner_text() and "UNPROCESSABLE" not in alert.inner_text()
    shot(page, "roster-reversed-range")
    # A range with nobody in it: the file is said to hold only its header.
    page.get_by_label("From", exact=True).fill("2025-01-01")
    page.get_by_label("To (inclusive)").fill("2025-01-02")
    with page.expect_download():
        page.get_by_role("button", name="Download").click()
    page.locator("#status").get_by_text("Nobody signed up in those days").wait_for()
    assert [e for e in errors if "Failed to load resource" not in e] == []  # the browser logs the refused 422
    context.close()


def test_a_crm_download_says_who_was_left_out_for_want_of_consent(tmp_path_factory, chromium):
    live = LiveServer(tmp_path_factory.mktemp("roster-consent"))
    try:
        db = live.new_db("eastside", forms=True)
        docs = [signup_record(name="Ana Ruiz", email="ana@example.org", phone="(773) 555-0111", consent=ALL,
                              household="household:a", at="2026-11-20T18:00:00Z"),
                signup_record(name="Bo Chen", email="bo@example.org", phone="(773) 555-0112",
                              consent={"sms": False, "email": False, "call": True},
                              household="household:b", at="2026-11-21T18:00:00Z")]
        assert all(r.get("ok") for r in live.http.post(f"/sync/{db}/_bulk_docs", json={"docs": docs}).json())
        live.db = db
        context, page, errors = open_roster(chromium, live, "laptop", "es")
        page.get_by_label("Columnas").select_option(label="Action Network")
        with page.expect_download():
            page.get_by_role("button", name="Descargar").click()
        status = page.locator("#status")
        status.get_by_text("1 persona quedó fuera").wait_for()
        assert "sin consentimiento para un canal que usa Action Network" in status.inner_text()
        assert "El archivo contiene 1 persona." in status.inner_text()
        shot(page, "roster-left-out-es")
        # Nothing new since: said in words.
        with page.expect_download():
            page.get_by_role("button", name="Descargar").click()
        status.get_by_text("No hay nadie nuevo desde su última exportación").wait_for()
        assert errors == []
        context.close()
    finally:
        live.close()
