"""The coordinator pages' shell in headless Chromium: sign in, the campaign, the navigation, CSP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect

from tests.peers import LiveServer

SHOTS = Path(__file__).resolve().parents[2] / "screenshots" / "coordinator"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("coordinator-pages"))
    yield live
    live.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_wrong_password_is_refused_on_the_page(site, laptop):
    page, errors = laptop
    page.goto(f"{site.url}/coordinator/")
    page.fill("#name", LiveServer.ADMIN[0])
    page.fill("#password", "not-the-password")
    page.click("#signin-button")
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "incorrect" in alert.inner_text().lower()
    assert page.locator("#home").is_hidden()
    shot(page, "signin-refused")
    assert page.evaluate("sessionStorage.getItem('blockwalk.token')") is None


def test_signing_in_shows_the_home_page_and_keeps_the_campaign(site, laptop):
    page, errors = laptop
    riverside, _ = site.new_db("riverside"), site.new_db("lakeview")
    page.goto(f"{site.url}/coordinator/")
    page.fill("#name", LiveServer.ADMIN[0])
    page.fill("#password", LiveServer.ADMIN[1])
    page.click("#signin-button")
    page.locator('#home[aria-busy="false"]').wait_for()
    assert page.locator("header .who").inner_text().startswith(LiveServer.ADMIN[0])
    assert page.input_value("#campaign") == ""  # two campaigns: the person chooses
    page.get_by_label("Campaign").select_option(riverside)
    shot(page, "home")
    page.reload()
    page.locator('#home[aria-busy="false"]').wait_for()  # the token outlives a reload of the tab
    assert page.input_value("#campaign") == riverside
    token = page.evaluate("sessionStorage.getItem('blockwalk.token')")
    me = f"{site.url}/api/v1/me"
    assert httpx.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page.get_by_role("button", name="Sign out").click()
    page.locator("#signin").wait_for()
    assert page.evaluate("sessionStorage.getItem('blockwalk.token')") is None
    # Revoked on the server before it is forgotten in the tab: a copy of it no longer works.
    assert httpx.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert errors == []


def test_the_servers_address_leads_to_the_pages_and_one_campaign_is_chosen_for_you(tmp_path_factory, chromium):
    live = LiveServer(tmp_path_factory.mktemp("one-campaign"))
    try:
        only = live.new_db("lakeside")
        for locale, width in (("en-GB", 1366), ("es-ES", 768)):
            context = chromium.new_context(viewport={"width": width, "height": 860}, locale=locale)
            page = context.new_page()
            page.set_default_timeout(15_000)
            page.goto(f"{live.url}/")  # not a JSON 404: the sign-in page, with a way to the canvasser app
            assert page.url == f"{live.url}/coordinator/"
            app = "Abra la aplicación" if locale == "es-ES" else "Open the canvasser app"
            assert page.get_by_role("link", name=app).get_attribute("href") == "/app/"
            page.fill("#name", LiveServer.ADMIN[0])
            page.fill("#password", LiveServer.ADMIN[1])
            page.click("#signin-button")
            page.locator('#home[aria-busy="false"]').wait_for()
            assert page.input_value("#campaign") == only  # the only campaign: chosen
            shot(page, f"home-one-campaign-{locale}")
            # Every page then knows it, none says "Choose a campaign".
            page.get_by_role("link", name="Avance" if locale == "es-ES" else "Progress").first.click()
            page.locator("#cards .card").first.wait_for()
            assert "campaign" not in page.locator("#status").inner_text().lower()
            context.close()
        # A page opened straight, with no campaign in its address, picks the only one too.
        context = chromium.new_context(viewport={"width": 1366, "height": 860}, locale="en-GB")
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live.url}/coordinator/meetings.html")
        page.fill("#name", LiveServer.ADMIN[0])
        page.fill("#password", LiveServer.ADMIN[1])
        page.click("#signin-button")
        page.get_by_text("This campaign has no meetings yet.").wait_for()
        context.close()
    finally:
        live.close()


def test_pages_are_served_with_a_strict_content_security_policy(site):
    response = site.http.get("/coordinator/")
    assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert site.http.get("/coordinator/vendor/leaflet/leaflet.js").status_code == 200
    # Nothing of node_modules but the vendor packages' dist folders, and nothing outside the pages' folder.
    assert site.http.get("/coordinator/node_modules/leaflet/package.json").status_code == 404
    assert site.http.get("/coordinator/vendor/leaflet/../package.json").status_code == 404
    assert site.http.get("/coordinator/package.json").status_code == 404
    assert site.http.get("/coordinator/site.json").json() == {"tile_url": "", "tile_attribution": ""}


def test_a_coordinator_sets_the_campaigns_name_and_time_zone_on_the_home_page(site, laptop):
    page, errors = laptop
    campaign = site.new_db("settings")
    page.goto(f"{site.url}/coordinator/index.html?campaign={campaign}")
    page.get_by_label("Name").fill(LiveServer.ADMIN[0])
    page.get_by_label("Password").fill(LiveServer.ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    settings = page.get_by_role("form", name="Settings")
    settings.get_by_label("Time zone").select_option("America/Chicago")
    assert "Now there:" in settings.inner_text()  # what the zone means, in a clock the coordinator can check
    settings.get_by_label("Title").fill("Riverside spring canvass")
    assert settings.get_by_label("Offline map on each phone (MB)").input_value() == "25"
    settings.get_by_label("Offline map on each phone (MB)").fill("40")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_role("status")).to_have_text("Settings saved.")
    saved = site.http.get(f"/api/v1/campaigns/{campaign}").json()
    assert (saved["name"], saved["time_zone"], saved["offline_map_mb"]) == ("Riverside spring canvass", "America/Chicago", 40)
    assert page.get_by_label("Campaign").locator("option:checked").inner_text() == f"Riverside spring canvass ({campaign})"
    shot(page, "settings")

    # Someone else changes the campaign meanwhile: the form says so in words and shows their settings.
    etag = site.http.get(f"/api/v1/campaigns/{campaign}").headers["etag"]
    assert site.http.patch(f"/api/v1/campaigns/{campaign}", json={"time_zone": "Europe/Madrid"},
                           headers={"If-Match": etag}).status_code == 200
    settings.get_by_label("Time zone").select_option("America/New_York")
    settings.get_by_role("button", name="Save settings").click()
    expect(settings.get_by_role("alert")).to_contain_text("Someone changed these settings meanwhile")
    assert settings.get_by_label("Time zone").input_value() == "Europe/Madrid"
    assert site.http.get(f"/api/v1/campaigns/{campaign}").json()["time_zone"] == "Europe/Madrid"
    assert errors == []
