"""The coordinator pages' shell in headless Chromium: sign in, the campaign, the navigation, CSP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

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
    page.goto(f"{site.url}/coordinator/")
    page.fill("#name", LiveServer.ADMIN[0])
    page.fill("#password", LiveServer.ADMIN[1])
    page.click("#signin-button")
    page.locator("#home").wait_for()
    assert page.locator("header .who").inner_text().startswith(LiveServer.ADMIN[0])
    page.fill("#campaign", "riverside")
    shot(page, "home")
    page.reload()
    page.locator("#home").wait_for()  # the token outlives a reload of the tab
    assert page.input_value("#campaign") == "riverside"
    token = page.evaluate("sessionStorage.getItem('blockwalk.token')")
    me = f"{site.url}/api/v1/me"
    assert httpx.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page.get_by_role("button", name="Sign out").click()
    page.locator("#signin").wait_for()
    assert page.evaluate("sessionStorage.getItem('blockwalk.token')") is None
    # Revoked on the server before it is forgotten in the tab: a copy of it no longer works.
    assert httpx.get(me, headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert errors == []


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
