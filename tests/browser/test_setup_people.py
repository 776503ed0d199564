"""Setting up a campaign's people and forms from the coordinator pages, in headless Chromium against a live server.

A coordinator adds a volunteer, makes a sign-in code, and the volunteer's phone (the app in its own
context, 360x740) signs in by opening the address the QR code holds; the coordinator prints a sheet of
ten codes for a training, revokes the phone (which then signs in again with a new code, keeping what
it holds), imports an XLSForm with a mistake and sees its sheet, row and column, imports a good one,
previews it in Spanish and publishes it.

Screenshots at 1366x860 and 768 px wide, in English and Spanish, and of the print sheet, go to
screenshots/setup/ (not committed) for a person to look at.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import segno

from tests.browser.test_report_pages import sign_in
from tests.peers import LiveServer

SHOTS = Path(__file__).resolve().parents[2] / "screenshots" / "setup"
LAPTOP = {"width": 1366, "height": 860}
TABLET = {"width": 768, "height": 1000}
LOCALES = {"en": "en-US", "es": "es-ES"}
CORA = ("cora", "cora-password-1")
TRAINEES = [("ana.ruiz", "Ana Ruiz"), ("ben.okafor", "Ben Okafor"), ("chen.li", "Chen Li"), ("dora.nagy", "Dora Nagy"),
            ("eli.cohen", "Eli Cohen"), ("fatima.said", "Fátima Saïd"), ("gus.moreno", "Gus Moreno"),
            ("hana.sato", "Hana Sato"), ("ivan.petrov", "Iván Petrov")]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("setup-pages"))
    live.db = live.new_db("eastside", forms=True)
    assert live.http.post("/api/v1/users", json={"name": CORA[0], "password": CORA[1]}).status_code == 201
    assert live.http.put(f"/api/v1/campaigns/{live.db}/members/{CORA[0]}", json={"role": "coordinator"}).status_code == 200
    # A campaign made with its database alone has no campaign document yet: no If-Match.
    assert live.http.patch(f"/api/v1/campaigns/{live.db}", json={"name": "Eastside", "time_zone": "America/Chicago"}
                           ).status_code == 200
    yield live
    live.close()


def open_page(chromium, site, file: str, viewport=LAPTOP, locale: str = "en", who=CORA):
    context = chromium.new_context(viewport=viewport, locale=LOCALES[locale])
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text
            else None)
    sign_in(page, site, *who)
    page.goto(f"{site.url}/coordinator/{file}?campaign={site.db}")
    page.wait_for_selector("main[aria-busy=false]")
    return context, page, errors


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), \
        "the page is wider than the window"


def open_phone(chromium, url: str):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="en-US")
    phone = context.new_page()
    phone.set_default_timeout(20_000)
    phone.goto(url)
    return context, phone


def test_a_volunteers_phone_signs_in_with_the_qr_code_is_revoked_and_signs_in_again(site, chromium):
    context, page, errors = open_page(chromium, site, "people.html")
    # Cora coordinates: the navigation offers the set-up pages.
    nav = page.get_by_role("navigation", name="Pages")
    assert nav.get_by_role("link", name="People").is_visible() and nav.get_by_role("link", name="Forms").is_visible()
    # Added by keyboard alone: name, the user name it suggests, Enter.
    page.get_by_label("Name", exact=True).focus()
    page.keyboard.type("María Gómez")
    assert page.get_by_label("User name").input_value() == "maria.gomez"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Add volunteer"
    page.keyboard.press("Enter")
    page.get_by_text("María Gómez was added as a volunteer.").wait_for()
    members = page.get_by_role("region", name="Members")
    maria = members.get_by_role("row").filter(has_text="María Gómez")
    assert "Volunteer" in maria.inner_text()
    # A name that is taken is refused in words.
    page.get_by_label("User name").fill("maria.gomez")
    page.get_by_role("button", name="Add volunteer").click()
    page.get_by_text("There is already a user named 'maria.gomez'").wait_for()

    with page.expect_response(lambda r: r.url.endswith("/api/v1/signin-codes")) as made:
        maria.get_by_role("button", name="Sign-in code for María Gómez").click()
    url = made.value.json()["url"]
    assert url.startswith(f"{site.url}/app/?campaign={site.db}#/signin?code=")
    card = page.get_by_role("article", name="Sign-in code for María Gómez")
    code = card.locator(".code-text").inner_text()
    assert url.endswith(code) and page.evaluate("document.activeElement.id") == "code-heading"
    assert "Works once, until" in card.inner_text() and "CST" in card.inner_text()  # the campaign's time zone
    # The picture is the QR code of that address (the server's segno SVG, shown as an image).
    src = card.get_by_role("img", name="QR code that signs María Gómez in on their phone").get_attribute("src")
    expected = io.BytesIO()
    segno.make(url, error="m").save(expected, kind="svg", xmldecl=False, scale=4)
    from urllib.parse import unquote
    assert unquote(src.split(",", 1)[1]) == expected.getvalue().decode()
    # Opened at 127.0.0.1, the page says that phones cannot reach the address its codes point at.
    assert page.get_by_text("which phones cannot reach").is_visible()
    shot(page, "people-code-laptop-en")

    # The phone's camera opens the address: the app signs in with the code at once.
    phone_context, phone = open_phone(chromium, url)
    phone.get_by_role("heading", name="My turfs").wait_for()
    assert "code=" not in phone.url
    phone.wait_for_function("() => blockwalk.getState().last_sync_at && blockwalk.status.phase === 'idle'")

    # The coordinator sees the phone, its last sync and what it still holds.
    def phone_row():
        page.reload()
        page.wait_for_selector("main[aria-busy=false]")
        return page.get_by_role("region", name="Phones").get_by_role("row").filter(has_text="María Gómez")
    row = phone_row()
    for _ in range(20):
        if row.count() and "no report yet" not in row.inner_text():
            break
        page.wait_for_timeout(500)
        row = phone_row()
    assert "Signed in with a code from cora" in row.inner_text() and "CST" in row.inner_text()
    # Revoked by keyboard: the dialog says what becomes of the phone's unsynced work, Cancel has the focus.
    row.get_by_role("button", name="Revoke María Gómez's phone").focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Revoke the sign-in of María Gómez's phone?")
    dialog.wait_for()
    text = dialog.inner_text()
    assert "0 changes not yet on the server, 0 refused" in text and "Nothing is deleted from the phone" in text
    assert page.evaluate("document.activeElement.textContent") == "Cancel"
    shot(page, "people-revoke-laptop-en")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    page.get_by_text("María Gómez's phone can no longer sync.").wait_for()
    assert page.get_by_role("region", name="Phones").get_by_role("button", name="Revoke María Gómez's phone").count() == 0

    # The phone learns it at its next sync, keeps what it holds, and a new code signs it in again.
    phone_context.set_offline(True)
    phone_context.set_offline(False)
    phone.evaluate("() => { location.hash = '#/sync'; }")
    phone.get_by_text("The server no longer accepts this phone's sign-in").wait_for()
    # Typed at a door while the phone is refused: kept on it, pending.
    record = phone.evaluate("""async () => (await blockwalk.saveRecord({form: 'form:asset_mapping', form_version: 1,
        answers: {outcome: 'not_home'}}))._id""")
    phone.wait_for_function("() => blockwalk.pendingIds().length === 1")
    session = phone.evaluate("() => JSON.parse(localStorage.getItem('bw.session'))")
    again = site.http.post("/api/v1/signin-codes", json={"user": "maria.gomez", "app_url": f"{site.url}/app/?campaign={site.db}"})
    phone.goto(again.json()["url"])
    phone.get_by_text("Signed in again: what this phone holds goes to the server now.").wait_for()
    phone.wait_for_function("() => blockwalk.status.phase === 'idle' && !blockwalk.status.unauthorized"
                            " && blockwalk.pendingIds().length === 0")
    assert site.http.get(f"/api/v1/campaigns/{site.db}/records/{record}").json()["author"] == "maria.gomez"
    phone.get_by_text("The server no longer accepts this phone's sign-in").wait_for(state="detached")
    phone.screenshot(path=str(SHOTS / "phone-signed-in-again.png"), full_page=True)
    now = phone.evaluate("() => JSON.parse(localStorage.getItem('bw.session'))")
    assert now["dbName"] == session["dbName"] and now["token"] != session["token"]  # the same data, a new sign-in
    phone_context.close()
    assert errors == []
    context.close()


def test_a_sheet_of_ten_codes_for_a_training_prints_eight_cards_a_page(site, chromium):
    context, page, errors = open_page(chromium, site, "people.html")
    # The training's list pasted: each added, and ticked for the sheet; a name taken is said, not lost.
    page.get_by_label("Several at once: one name a line").fill("\n".join([n for _, n in TRAINEES] + ["María Gómez"]))
    page.get_by_role("button", name="Add them").click()
    page.get_by_text("9 volunteers added and ticked for the sheet of codes.").wait_for()
    said = page.get_by_role("alert").inner_text()
    assert said.startswith("María Gómez: ") and "There is already a user named 'maria.gomez'" in said, said
    members = page.get_by_role("region", name="Members")
    assert site.http.get("/api/v1/users/fatima.said").json()["roles"] == {site.db: "volunteer"}
    for _, full_name in TRAINEES:
        assert members.get_by_role("checkbox", name=f"Put {full_name} on the sheet").is_checked()
    members.get_by_role("checkbox", name="Put María Gómez on the sheet").check()
    page.get_by_label("Codes work for").select_option(label="60 minutes")
    page.get_by_role("button", name="Make codes for the ticked volunteers").click()
    page.get_by_text("10 codes made; each works once.").wait_for()
    cards = page.locator("#sheet").get_by_role("article")
    assert cards.count() == 10
    assert cards.filter(has_text="Fátima Saïd").locator(".code-text").inner_text().count("-") == 2
    assert page.get_by_role("button", name="Print the sheet").is_visible()
    fits(page)
    shot(page, "people-sheet-laptop-en")
    # Printed: only the cards, two across and four down (92 x 58 mm), so eight fit an A4 or Letter page.
    page.emulate_media(media="print")
    assert not page.locator("main").is_visible() and not page.locator("header").is_visible()
    boxes = [cards.nth(i).bounding_box() for i in range(10)]
    assert len({round(b["x"]) for b in boxes}) == 2
    mm = 96 / 25.4
    assert all(abs(b["width"] - 92 * mm) < 2 and abs(b["height"] - 58 * mm) < 2 for b in boxes)
    assert page.evaluate("getComputedStyle(document.querySelectorAll('.code-card')[7]).breakAfter") == "page"
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    shot(page, "people-sheet-print")
    # Chromium's own print: ten cards take two pages, on A4 and on Letter alike.
    for paper in ("A4", "Letter"):
        pdf = page.pdf(format=paper, print_background=True)
        pages = re.findall(rb"/Type\s*/Page[^s]", pdf)
        assert len(pages) == 2, (paper, len(pages))
    assert errors == []
    context.close()


def test_an_admin_changes_a_role_and_a_volunteer_is_not_offered_the_set_up_pages(site, chromium):
    context, page, errors = open_page(chromium, site, "people.html", who=LiveServer.ADMIN)
    members = page.get_by_role("region", name="Members")
    members.get_by_role("combobox", name="Role of Ben Okafor").select_option(label="Organizer")
    page.get_by_text("Ben Okafor is now Organizer.").wait_for()
    assert site.http.get("/api/v1/users/ben.okafor").json()["roles"] == {site.db: "organizer"}
    # An organizer's row offers no sign-in code (a code is for volunteers only).
    ben = members.get_by_role("row").filter(has_text="Ben Okafor")
    assert ben.get_by_role("button", name="Sign-in code for Ben Okafor").count() == 0
    # Removing someone asks first, saying what becomes of their phones.
    members.get_by_role("button", name="Remove Hana Sato").click()
    dialog = page.get_by_role("dialog", name="Remove Hana Sato from Eastside?")
    assert "stays on their phones, not lost" in dialog.inner_text()
    dialog.get_by_role("button", name="Remove").click()
    page.get_by_text("Hana Sato is no longer in this campaign.").wait_for()
    assert members.get_by_role("row").filter(has_text="Hana Sato").count() == 0
    assert errors == []
    context.close()
    # A volunteer at the coordinator pages: no People or Forms in the navigation, and the API refuses the list.
    context, page, errors = open_page(chromium, site, "people.html", who=LiveServer.VOLUNTEER)
    page.get_by_role("alert").wait_for()
    assert "Only an admin, a coordinator or an organizer may see who is in a campaign" in page.get_by_role("alert").first.inner_text()
    nav = page.get_by_role("navigation", name="Pages")
    page.wait_for_function("() => document.querySelector('header nav a[data-page=\"people.html\"]').hidden")
    assert nav.get_by_role("link", name="Forms").count() == 0 and nav.get_by_role("link", name="Home").count() == 1
    context.close()


@pytest.mark.parametrize("locale,viewport", [("es", LAPTOP), ("es", TABLET), ("en", TABLET)])
def test_the_people_page_reads_at_a_laptops_and_a_tablets_width(site, chromium, locale, viewport):
    context, page, errors = open_page(chromium, site, "people.html", viewport, locale)
    region = page.get_by_role("region", name="Miembros" if locale == "es" else "Members")
    region.get_by_role("row").filter(has_text="Fátima Saïd").wait_for()
    assert ("Voluntario/a" if locale == "es" else "Volunteer") in region.inner_text()
    assert "maria.gomez" in region.inner_text()
    fits(page)
    shot(page, f"people-{viewport['width']}-{locale}")
    assert errors == []
    context.close()


def xlsx(survey, choices=None, settings=None) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in (("survey", survey), ("choices", choices), ("settings", settings)):
        if rows is not None:
            sheet = book.create_sheet(title)
            for row in rows:
                sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


SURVEY_HEADER = ["type", "name", "label::English (en)", "label::Español (es)", "hint::English (en)", "hint::Español (es)",
                 "required", "relevant"]
GOOD = xlsx(
    [SURVEY_HEADER,
     ["select_one outcome", "outcome", "What happened at the door?", "¿Qué pasó en la puerta?", "", "", "yes", ""],
     ["text", "concern", "What worries you most here?", "¿Qué es lo que más le preocupa aquí?",
      "In the resident's words", "Con las palabras del vecino", "", "${outcome} = 'contacted'"]],
    [["list_name", "name", "label::English (en)", "label::Español (es)"],
     ["outcome", "not_home", "Not home", "No está en casa"],
     ["outcome", "contacted", "Contacted", "Contactado"]],
    [["form_id", "form_title", "default_language"], ["doorstep", "Doorstep questions", "en"]])
# Row 3 has a type that does not exist.
BAD = xlsx(
    [["type", "name", "label"], ["text", "street", "Street"], ["integr", "doors", "How many doors?"]],
    None, [["form_id", "form_title"], ["doorstep", "Doorstep questions"]])


def test_an_xlsform_with_a_mistake_shows_where_then_a_good_one_is_previewed_in_spanish_and_published(
        site, chromium, tmp_path):
    context, page, errors = open_page(chromium, site, "forms.html")
    forms = page.get_by_role("region", name="Forms", exact=True)
    assert "Community assets" in forms.inner_text()  # the campaign's built-in forms, by title
    bad, good = tmp_path / "doorstep-draft.xlsx", tmp_path / "doorstep.xlsx"
    bad.write_bytes(BAD)
    good.write_bytes(GOOD)
    page.get_by_label("XLSForm file (.xlsx)").set_input_files(str(bad))
    page.get_by_role("button", name="Import as a draft").click()
    problem = page.get_by_role("alert").get_by_role("listitem").filter(has_text="integr")
    problem.wait_for()
    assert problem.inner_text().startswith("Sheet “survey”, row 3, column “type”: ")
    assert page.get_by_role("alert").get_by_text("The XLSForm has problems").is_visible()
    shot(page, "forms-problem-laptop-en")
    assert "Doorstep questions" not in forms.inner_text()  # nothing of a refused file is kept

    page.get_by_label("XLSForm file (.xlsx)").set_input_files(str(good))
    page.get_by_role("button", name="Import as a draft").click()
    page.get_by_text("doorstep.xlsx is now the draft of Doorstep questions.").wait_for()
    row = forms.get_by_role("row").filter(has_text="Doorstep questions")
    assert "Not published yet" in row.inner_text()
    row.get_by_role("button", name="Preview the draft of Doorstep questions").click()
    preview = page.get_by_role("region", name="Preview: Doorstep questions (draft)")
    preview.get_by_role("radiogroup", name="What happened at the door? *").wait_for()
    preview.get_by_role("group", name="Language").get_by_role("button", name="Spanish").click()
    assert preview.get_by_role("button", name="Spanish").get_attribute("aria-pressed") == "true"
    spanish = preview.locator("#preview").inner_text()
    for text in ("¿Qué pasó en la puerta?", "No está en casa", "Contactado", "¿Qué es lo que más le preocupa aquí?",
                 "Con las palabras del vecino", "Asked only when “¿Qué pasó en la puerta?” = 'contacted'"):
        assert text in spanish, text
    assert "Not home" not in spanish
    assert preview.get_by_role("radio", name="No está en casa").is_disabled()  # a preview takes no answers
    fits(page)
    shot(page, "forms-preview-laptop-en")

    # Published by keyboard.
    row.get_by_role("button", name="Publish the draft of Doorstep questions").focus()
    page.keyboard.press("Enter")
    page.get_by_text("Doorstep questions is published as version 1.").wait_for()
    published = forms.get_by_role("row").filter(has_text="Doorstep questions")
    assert "Version 1" in published.inner_text() and "The same as version 1" in published.inner_text()
    assert published.get_by_role("button", name="Publish the draft of Doorstep questions").count() == 0
    assert site.http.get(f"/api/v1/campaigns/{site.db}/forms/form:doorstep@1").status_code == 200
    assert errors == []
    context.close()


@pytest.mark.parametrize("locale,viewport", [("es", TABLET), ("es", LAPTOP), ("en", TABLET)])
def test_the_forms_page_reads_at_a_laptops_and_a_tablets_width(site, chromium, locale, viewport):
    context, page, errors = open_page(chromium, site, "forms.html", viewport, locale)
    es = locale == "es"
    forms = page.get_by_role("region", name="Formularios" if es else "Forms", exact=True)
    title = "Recursos comunitarios" if es else "Community assets"
    forms.get_by_role("button", name=(f"Vista previa de la versión 1 de {title}" if es
                                      else f"Preview version 1 of {title}")).click()
    page.locator("#preview .field").first.wait_for()
    assert ("¿Qué pasó en la puerta?" if es else "What happened at the door?") in page.locator("#preview").inner_text()
    fits(page)
    shot(page, f"forms-{viewport['width']}-{locale}")
    assert errors == []
    context.close()
