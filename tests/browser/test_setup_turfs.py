"""Setting a campaign's map up in headless Chromium against a live server: households imported from a
CSV with a bad line, a turf drawn on the map with its households counted while drawing, a volunteer
assigned and the turf's coverage, the turf deleted through its confirmation; turfs imported from a
GeoJSON file with one the server refuses; the keyboard; English and Spanish at 1,366 and 768 px."""

from __future__ import annotations

import json
import re

import pytest

from tests.browser.test_coordinator_pages import shot
from tests.factories import make_record
from tests.peers import LiveServer

COORDINATOR = ("cora", "cora-password-1")
ORGANIZER = ("olga", "olga-password-1")
HOUSEHOLDS_CSV = """address,unit,lat,lon
2601 W Fulton St,,41.8870,-87.6900
2603 W Fulton St,2F,41.8872,-87.6895
2605 W Fulton St,,41.8874,-87.6890
2700 W Walnut St,,41.8850,-87.6800
2702 W Walnut St,,north,-87.6798
"""
# The corners of the turf drawn on the map, around the first three households: (lat, lon).
CORNERS = [(41.8878, -87.6905), (41.8878, -87.6885), (41.8866, -87.6885), (41.8866, -87.6905)]
# Leaflet's maps, caught as the page makes them (the page keeps its map to itself).
CATCH_MAPS = """(() => { let real; Object.defineProperty(window, "L", { configurable: true, get() { return real; },
  set(value) { real = value; if (value && value.Map && !value.__caught) { value.__caught = true;
    value.Map.addInitHook(function () { window.__maps = (window.__maps || []).concat(this); }); } } }); })();"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("setup-turfs"))
    live.db = live.new_db("westside", forms=True)
    for (name, password), role in ((COORDINATOR, "coordinator"), (ORGANIZER, "organizer")):
        assert live.http.post("/api/v1/users", json={"name": name, "password": password}).status_code == 201
        answer = live.http.put(f"/api/v1/campaigns/{live.db}/members/{name}", json={"role": role})
        assert answer.status_code == 200, answer.text
    yield live
    live.close()


def open_page(chromium, site, file: str, locale: str = "en-GB", width: int = 1366, user=COORDINATOR):
    context = chromium.new_context(viewport={"width": width, "height": 860}, locale=locale)
    context.add_init_script(CATCH_MAPS)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.goto(f"{site.url}/coordinator/{file}?campaign={site.db}")
    page.fill("#name", user[0])
    page.fill("#password", user[1])
    page.click("#signin-button")
    page.locator("body[data-ready='true']").wait_for()
    return context, page, errors


def click_at(page, lat: float, lon: float) -> None:
    x, y = page.evaluate("([lat, lon]) => { const m = window.__maps[0]; const p = m.latLngToContainerPoint([lat, lon]);"
                         " const box = m.getContainer().getBoundingClientRect(); return [box.left + p.x, box.top + p.y]; }",
                         [lat, lon])
    page.mouse.click(x, y)


def test_a_coordinator_imports_households_draws_a_turf_assigns_it_and_deletes_it(site, chromium):
    # Households from a CSV with one bad line: a preview first, then that line's error by its number.
    context, page, errors = open_page(chromium, site, "households.html")
    csv_file = {"name": "westside.csv", "mimeType": "text/csv", "buffer": HOUSEHOLDS_CSV.encode()}
    page.get_by_label("Choose a file (CSV or GeoJSON)").set_input_files(csv_file)
    preview = page.locator("#preview")
    preview.get_by_text("westside.csv: 5 lines after the header").wait_for()
    assert "2603 W Fulton St" in preview.inner_text()
    assert page.locator("#report").inner_text() == ""  # nothing is sent before the person says so
    page.get_by_role("button", name="Import westside.csv").click()
    report = page.locator("#report")
    report.get_by_text("Imported 4 households; 4 of them are in no turf.").wait_for()
    bad = report.locator("table.problems tbody tr")
    assert bad.count() == 1
    cells = bad.first.locator("td").all_inner_texts()
    assert cells[0] == "Line 6" and cells[1] == "lat" and cells[2], cells
    assert page.locator("#summary").inner_text() == "4 households in the campaign: 0 in 0 turfs, 4 in no turf."
    assert page.locator("#list tbody tr").first.inner_text().startswith("2601 W Fulton St")
    shot(page, "setup-households-en-1366")
    context.close()

    # A turf drawn by clicking its corners: the households inside are counted while drawing.
    context, page, errors2 = open_page(chromium, site, "turfs.html")
    errors += errors2
    page.locator("header nav a", has_text="Roster").wait_for(state="hidden")  # the roster is not a coordinator's page
    page.get_by_role("button", name="Draw a turf").click()
    count = page.locator("#shape-count")
    for lat, lon in CORNERS:
        click_at(page, lat, lon)
    assert count.inner_text() == "3 households inside"  # four corners: the shape so far holds three
    click_at(page, *CORNERS[0])  # the first corner again closes the shape
    page.locator(".leaflet-interactive").first.wait_for()
    assert count.inner_text() == "3 households inside"
    page.get_by_label("Name").fill("North")
    shot(page, "setup-turf-drawn-en-1366")
    page.get_by_role("button", name="Save turf").click()
    page.get_by_text("Saved “North”: 3 households in it, as the server counted them.").wait_for()
    row = page.locator("#turf-list tbody tr")
    assert row.count() == 1 and row.first.inner_text().split("\t")[:3] == ["North", "3", "no one"]
    assert site.http.get(f"/api/v1/campaigns/{site.db}/households?unassigned=true").json()[0]["address"] == "2700 W Walnut St"
    context.close()

    # The volunteer assigned to it; the coverage once a visit has synced.
    context, page, errors2 = open_page(chromium, site, "assignments.html")
    errors += errors2
    north = page.locator("tr[data-turf='turf:north']")
    assert "0 of 3 (0%)" in north.inner_text()
    north.get_by_label("Who walks North").select_option(LiveServer.VOLUNTEER[0])
    north.get_by_role("button", name="Assign to North").click()
    page.get_by_text("vic now walks North").wait_for()
    assert "vic" in page.locator("tr[data-turf='turf:north'] td.names").inner_text()
    [door] = site.http.get(f"/api/v1/campaigns/{site.db}/households?turf=north&page_size=1").json()
    visit = make_record(household=door["id"], turf="turf:north", author="vic", answers={"outcome": "contacted"})
    assert site.http.post(f"/sync/{site.db}/_bulk_docs", json={"docs": [visit]}).json()[0].get("ok")
    page.reload()
    page.locator("body[data-ready='true']").wait_for()
    assert "1 of 3 (33%)" in page.locator("tr[data-turf='turf:north']").inner_text()
    shot(page, "setup-assignments-en-1366")
    context.close()

    # Deleted through a dialog that says what becomes of its households and its assignment.
    context, page, errors2 = open_page(chromium, site, "turfs.html")
    errors += errors2
    page.get_by_role("button", name="Delete North").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    said = dialog.inner_text()
    assert "Delete the turf “North”?" in said
    assert "Its 3 households stay in the campaign" in said and "The assignment of vic ends" in said
    shot(page, "setup-turf-delete-dialog-en-1366")
    dialog.get_by_role("button", name="Delete turf").click()
    page.get_by_text("Deleted “North”: 3 households moved to another turf or to none. The assignment of vic ended.").wait_for()
    assert page.get_by_text("No turfs yet").is_visible()
    ended = site.http.get(f"/api/v1/campaigns/{site.db}/assignments?user=vic").json()
    assert [(a["turf"], a["active"]) for a in ended] == [("turf:north", False)]
    context.close()
    assert errors == []


BOWTIE = [[-87.70, 41.88], [-87.69, 41.89], [-87.69, 41.88], [-87.70, 41.89], [-87.70, 41.88]]
SOUTH = [[-87.70, 41.880], [-87.68, 41.880], [-87.68, 41.884], [-87.70, 41.884], [-87.70, 41.880]]


@pytest.mark.parametrize("locale,width", [("en-GB", 1366), ("es-ES", 768)])
def test_turfs_imported_from_geojson_show_each_refusal_and_the_pages_work_by_keyboard(site, chromium, locale, width):
    es = locale == "es-ES"
    context, page, errors = open_page(chromium, site, "turfs.html", locale, width)
    name = f"south-{width}"
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": name},  # one a run: two turfs of one drive may not overlap
         "geometry": {"type": "Polygon", "coordinates": [[[lon + (0.05 if es else 0), lat] for lon, lat in SOUTH]]}},
        {"type": "Feature", "properties": {"name": f"bowtie-{width}"}, "geometry": {"type": "Polygon", "coordinates": [BOWTIE]}}]}
    page.locator("#import-file").set_input_files(
        {"name": "turfs.geojson", "mimeType": "application/geo+json", "buffer": json.dumps(collection).encode()})
    rows = page.locator("#import-table tbody tr")
    rows.first.wait_for()
    assert rows.count() == 2
    assert ("Aún sin guardar" if es else "Not saved yet") in rows.first.inner_text()
    page.get_by_role("button", name="Guardar estas zonas" if es else "Save these turfs").click()
    page.locator("#import-progress", has_text=re.compile("1 rechazadas" if es else "1 refused")).wait_for()
    assert ("Guardada" if es else "Saved") in rows.nth(0).inner_text()
    refused = rows.nth(1).inner_text()
    assert ("Rechazada" if es else "Refused") in refused and "Self-intersection" in refused, refused  # the server's reason
    # ... after the page's own sentence for a shape refused, in the page's language.
    assert ("La forma no es un área que el servidor pueda usar." if es else "The shape is not an area the server can use.") in refused
    shot(page, f"setup-turfs-import-{locale}-{width}")
    page.get_by_role("button", name="Cerrar" if es else "Close", exact=True).click()
    # Renamed: the same turf (its id stays), under its new name.
    page.get_by_role("button", name=f"Editar {name}" if es else f"Edit {name}").click()
    page.get_by_label("Nombre" if es else "Name").fill(f"South {width}")
    page.get_by_role("button", name="Guardar zona" if es else "Save turf").click()
    page.get_by_text(f"Guardada «South {width}»" if es else f"Saved “South {width}”").wait_for()
    assert page.locator(f"#turf-list tr[data-turf='turf:{name}']").inner_text().startswith(f"South {width}")
    name = f"South {width}"

    # The keyboard: from the top of the page, Tab reaches the page's controls, each with a visible focus.
    page.locator("body").focus()
    reached = []
    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const e = document.activeElement; if (e === document.body) return ['', true];
            const s = getComputedStyle(e);
            return [e.getAttribute('aria-label') || e.textContent.trim() || e.id, s.outlineStyle !== 'none' && s.outlineWidth !== '0px'
              || e.matches('.file-input') && getComputedStyle(e.nextElementSibling).outlineStyle !== 'none']; }""")
        reached.append(focused[0])
        assert focused[1], f"no visible focus on {focused[0]}"
    wanted = (["Dibujar una zona", "import-file", f"Ver {name} en el mapa", f"Editar {name}", f"Borrar {name}"] if es
              else ["Draw a turf", "import-file", f"Show {name} on the map", f"Edit {name}", f"Delete {name}"])
    assert all(w in reached for w in wanted), reached
    # Enter on the focused draw button starts drawing; Escape in the form ends it.
    page.get_by_role("button", name="Dibujar una zona" if es else "Draw a turf").focus()
    page.keyboard.press("Enter")
    assert page.locator("#shape-form").is_visible()
    page.keyboard.press("Escape")
    assert page.locator("#shape-form").is_hidden()
    shot(page, f"setup-turfs-{locale}-{width}")
    for file in ("households.html", "assignments.html"):
        page.goto(f"{site.url}/coordinator/{file}?campaign={site.db}")
        page.locator("body[data-ready='true']").wait_for()
        assert page.evaluate("document.documentElement.scrollWidth") <= width  # nothing wider than the window
        shot(page, f"setup-{file.split('.')[0]}-{locale}-{width}")
    context.close()
    assert errors == []


def test_an_organizer_sees_the_turfs_and_assignments_without_the_controls_that_change_them(site, chromium):
    site.http.put(f"/api/v1/campaigns/{site.db}/turfs/east", json={"name": "East", "geometry": {
        "type": "Polygon", "coordinates": [[[-87.60, 41.90], [-87.59, 41.90], [-87.59, 41.91], [-87.60, 41.91], [-87.60, 41.90]]]}})
    context, page, errors = open_page(chromium, site, "turfs.html", user=ORGANIZER)
    assert page.locator("#turf-list tr[data-turf='turf:east']").is_visible()
    assert page.get_by_role("button", name="Draw a turf").is_hidden()
    assert page.get_by_role("button", name="Delete East").count() == 0
    assert page.get_by_role("link", name="Roster").is_visible()  # an organizer's page, not a coordinator's
    # A walker is named by their full name, never their user name.
    made = site.http.post(f"/api/v1/campaigns/{site.db}/volunteers", json={"name": "rosa.diaz", "full_name": "Rosa Díaz"})
    assert made.status_code == 201, made.text
    assert site.http.put(f"/api/v1/campaigns/{site.db}/assignments/rosa.diaz/east", json={}).status_code in (200, 201)
    page.goto(f"{site.url}/coordinator/assignments.html?campaign={site.db}")
    page.locator("body[data-ready='true']").wait_for()
    assert page.locator("tr[data-turf='turf:east']").is_visible()
    walkers = page.locator("tr[data-turf='turf:east'] td.names").inner_text()
    assert "Rosa Díaz" in walkers and "rosa.diaz" not in walkers
    assert page.get_by_role("button", name="Assign to East").count() == 0
    page.goto(f"{site.url}/coordinator/households.html?campaign={site.db}")
    page.locator("body[data-ready='true']").wait_for()
    assert page.get_by_role("heading", name="Import households").is_hidden()
    context.close()
    assert errors == []


@pytest.mark.parametrize("locale,width", [("en-GB", 1366), ("es-ES", 768)])
def test_the_turfs_page_names_walkers_by_their_full_names(site, chromium, locale, width):
    es = locale == "es-ES"
    turf, user = f"west-{width}", f"luis.ortega.{width}"
    answer = site.http.put(f"/api/v1/campaigns/{site.db}/turfs/{turf}", json={"name": f"West {width}", "geometry": {
        "type": "Polygon", "coordinates": [[[-87.80, 41.90], [-87.79, 41.90], [-87.79, 41.91], [-87.80, 41.91], [-87.80, 41.90]]]},
        "allow_overlap": True})
    assert answer.status_code in (200, 201), answer.text
    made = site.http.post(f"/api/v1/campaigns/{site.db}/volunteers", json={"name": user, "full_name": "Luis Ortega"})
    assert made.status_code == 201, made.text
    assert site.http.put(f"/api/v1/campaigns/{site.db}/assignments/{user}/{turf}", json={}).status_code in (200, 201)
    context, page, errors = open_page(chromium, site, "turfs.html", locale, width)
    walkers = page.locator(f"#turf-list tr[data-turf='turf:{turf}'] td.names").inner_text()
    assert walkers == "Luis Ortega", walkers
    page.get_by_role("button", name=f"Borrar West {width}" if es else f"Delete West {width}").click()
    dialog = page.get_by_role("dialog")
    dialog.wait_for()
    said = dialog.inner_text()
    assert ("Termina la asignación de Luis Ortega" if es else "The assignment of Luis Ortega ends") in said and user not in said
    shot(page, f"setup-turf-walkers-{locale}-{width}")
    dialog.get_by_role("button", name="Conservarla" if es else "Keep it").click()
    assert page.locator(f"#turf-list tr[data-turf='turf:{turf}']").is_visible()
    context.close()
    assert errors == []
