"""The asset map page in headless Chromium: filters change what is shown, a click opens the asset, downloads."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from forms.templates import published
from tests.helpers.assets import campaign_docs
from tests.peers import LiveServer

SHOTS = Path(__file__).resolve().parents[2] / "screenshots" / "asset-map"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("asset-map"))
    name = live.new_db("assets", forms=True)
    docs, expected = campaign_docs()
    response = live.http.post(f"/sync/{name}/_bulk_docs", json={"docs": docs})
    assert all(r.get("ok") for r in response.json()), response.text  # every record fits the form
    live.campaign, live.expected = name, expected
    yield live
    live.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def ready(page, errors) -> None:
    try:
        page.wait_for_selector("body[data-ready='true']", state="attached")
    except Exception:
        shot(page, "not-ready")
        raise AssertionError(f"the page did not get ready: {errors}, {page.locator('main').inner_text()}") from None


def sign_in(page, site, who) -> None:
    page.goto(f"{site.url}/coordinator/?next=" + f"map.html%3Fcampaign%3D{site.campaign}")
    page.fill("#name", who[0])
    page.fill("#password", who[1])
    page.click("#signin-button")


def markers(page) -> int:
    """Assets on the map, single or in clusters, once the map's zoom animation has settled."""
    def now() -> int:
        return page.locator(".leaflet-marker-icon.asset-dot").count() + sum(
            int(text) for text in page.locator(".marker-cluster span").all_inner_texts())
    last = -1
    for _ in range(40):
        page.wait_for_timeout(250)
        found = now()
        if found == last:
            return found
        last = found
    return last


def test_filters_change_what_the_map_shows_and_a_click_opens_the_asset(site, laptop):
    page, errors = laptop
    sign_in(page, site, LiveServer.ADMIN)
    ready(page, errors)
    assert page.locator("#count").inner_text() == "6 assets, 4 flagged"
    assert markers(page) == 6
    assert page.locator("path.leaflet-interactive").count() == 1  # the turf
    shot(page, "all")

    page.select_option("#flag", "outside_turf")
    expect(page.locator("#count")).to_have_text(re.compile("^1 asset,"))
    assert markers(page) == 1
    assert "Block club" in page.locator(".leaflet-marker-icon.asset-dot.flagged").get_attribute("title")
    shot(page, "outside-turf")

    page.select_option("#flag", "flagged")
    expect(page.locator("#count")).to_have_text("4 assets, 4 flagged")
    page.select_option("#flag", "")
    page.select_option("#category", "institution")
    expect(page.locator("#count")).to_have_text("1 asset, 0 flagged")
    page.fill("#since", "2026-11-21")
    page.dispatch_event("#since", "change")
    expect(page.locator("#count")).to_have_text(re.compile("^0 assets"))
    page.fill("#since", "2026-11-20")
    page.dispatch_event("#since", "change")
    expect(page.locator("#count")).to_have_text("1 asset, 0 flagged")

    page.locator(".leaflet-marker-icon.asset-dot").click()
    panel = page.locator("#detail")
    panel.get_by_role("heading", name="Elementary school").wait_for()
    assert "No geotag flags" in panel.inner_text() and "Open gym on Saturdays" in panel.inner_text()
    # The form's labels and the choices' labels, never the stored values.
    opened = panel.inner_text()
    assert "Languages served\nEnglish, Spanish" in opened and "Which kind of institution?\nSchool" in opened
    assert "Institution · Community assets" in opened and "languages served" not in opened and "asset_mapping" not in opened
    page.wait_for_function("() => document.querySelector('#detail img') && document.querySelector('#detail img').naturalWidth === 40")
    link = panel.get_by_role("link", name="Conflict queue")
    assert link.get_attribute("href") == f"conflicts.html?campaign={site.campaign}&record=record%3A0001"
    assert "record:" not in opened and "Household: " in opened  # the household's address, never the record's id
    shot(page, "opened")

    page.select_option("#category", "culture")
    expect(page.locator("#count")).to_have_text("1 asset, 1 flagged")
    expect(panel).to_be_hidden()  # the asset opened before is not the filters' any more
    page.locator(".leaflet-marker-icon.asset-dot").click()
    panel.get_by_role("heading", name="Mural").wait_for()
    text = panel.inner_text()
    assert "Far from the household" in text and "Impossible speed" in text
    assert "Distance to household (m)" in text
    shot(page, "opened-flagged")
    # Every label of the panel wraps by word: none is taller than three lines, none wider than the panel.
    labels = panel.locator("dt")
    for i in range(labels.count()):
        assert labels.nth(i).bounding_box()["height"] < 4 * 24, labels.nth(i).inner_text()
    assert panel.evaluate("node => node.scrollWidth <= node.clientWidth")
    # The panel's link opens the review queue at this asset: its cards marked and focused, or word that none waits.
    panel.get_by_role("link", name=re.compile("^Conflict queue")).click()
    page.wait_for_url(re.compile(r"conflicts\.html"))
    expect(page.locator("article.conflict.wanted").first.or_(page.get_by_role("status"))).to_be_visible()
    if page.locator("article.conflict.wanted").count():
        assert page.evaluate("document.activeElement.classList.contains('wanted')")
    else:
        expect(page.get_by_role("status")).to_contain_text("no conflict waiting")
    assert errors == []


def in_view(page) -> bool:
    """Is a selected asset drawn inside the map's box (not off its edge, waiting for a zoom out)?"""
    box = page.locator("#map").bounding_box()
    dots = page.locator(".leaflet-marker-icon.asset-dot, .marker-cluster")
    if dots.count() == 0:
        return False
    for i in range(dots.count()):
        dot = dots.nth(i).bounding_box()
        if not (box["x"] <= dot["x"] <= box["x"] + box["width"] and box["y"] <= dot["y"] <= box["y"] + box["height"]):
            return False
    return True


@pytest.mark.parametrize("locale,width", [("en-GB", 1366), ("es-ES", 768)])
def test_the_map_fits_to_what_the_filters_select_in_the_campaigns_time(site, chromium, locale, width):
    context = chromium.new_context(viewport={"width": width, "height": 860}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        sign_in(page, site, LiveServer.ADMIN)
        ready(page, errors)
        # Zoomed far in on a corner first: the filter must bring its asset into view by itself.
        page.locator("#map").click(position={"x": 5, "y": 5})
        for _ in range(3):
            if page.locator(".leaflet-control-zoom-in.leaflet-disabled").count() == 0:
                page.locator(".leaflet-control-zoom-in").click()
                page.wait_for_timeout(400)
        assert not in_view(page)  # nothing of the far asset in view before the filter
        page.select_option("#flag", "far_from_household")
        expect(page.locator("#count")).to_have_text(re.compile("^1 "))
        page.locator('#map[aria-busy="false"]').wait_for()
        assert markers(page) == 1 and in_view(page)
        page.locator(".leaflet-marker-icon.asset-dot").click()
        panel = page.locator("#detail")
        panel.get_by_role("heading", name="Mural").wait_for()
        text = panel.inner_text()
        if locale == "es-ES":
            assert "Cultura y tradiciones" in text and "Lejos del hogar" in text
        else:
            assert "Culture and traditions" in text and "Far from the household" in text
        assert "UTC" in text or "GMT" in text  # the campaign's zone is named (UTC: none was set)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"far-{locale}-{width}")
        assert errors == []
    finally:
        context.close()


def test_the_csv_download_has_the_filtered_assets_cell_by_cell(site, laptop, tmp_path):
    page, errors = laptop
    sign_in(page, site, LiveServer.ADMIN)
    ready(page, errors)
    page.select_option("#category", "business")
    expect(page.locator("#count")).to_have_text("1 asset, 0 flagged")
    with page.expect_download() as download:
        page.click("#download-csv")
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    assert path.name == f"{site.campaign}-assets.csv"
    expect(page.get_by_role("status").filter(has_text="Saved")).to_have_text(f"Saved {path.name}: 1 row.")
    rows = list(csv.DictReader(io.StringIO(path.read_text("utf-8-sig"), newline="")))
    assert len(rows) == 1
    row = rows[0]
    assert row["name"] == "'=HYPERLINK(\"http://x\",\"y\")" and row["notes"] == "'-2+3"
    assert row["category"] == "business" and row["record"] == "record:0002" and row["flags"] == ""
    assert float(row["latitude"]) == pytest.approx(41.8914) and float(row["longitude"]) == pytest.approx(-87.6786)
    with page.expect_download() as download:
        page.click("#download-geojson")
    data = json.loads(Path(download.value.path()).read_text())
    assert [f["properties"]["name"] for f in data["features"]] == ['=HYPERLINK("http://x","y")']
    assert errors == []


def test_a_volunteer_is_refused_the_map(site, laptop):
    page, _ = laptop
    sign_in(page, site, LiveServer.VOLUNTEER)
    page.get_by_role("alert").wait_for()
    assert "Only admins, coordinators and organizers" in page.get_by_role("alert").inner_text()
    assert markers(page) == 0
    shot(page, "volunteer")


def test_the_filters_are_labelled_by_every_form_however_many_versions_the_campaign_has(site, laptop):
    """More form versions than the API gives in one page, all listed before the asset form: its labels still name the categories."""
    fillers = [{**published("satisfaction"), "_id": f"form:a{n:03d}@1", "form_id": f"a{n:03d}"} for n in range(101)]
    response = site.http.post(f"/sync/{site.campaign}/_bulk_docs", json={"docs": fillers})
    assert all(r.get("ok") for r in response.json()), response.text
    page, errors = laptop
    sign_in(page, site, LiveServer.ADMIN)
    ready(page, errors)
    assert page.locator("#category option[value='culture']").inner_text() == "Culture and traditions"  # not "Culture"
    assert errors == []
