"""A changed setting of the server reaches a phone that installed the app, in a real Chromium.

The app starts from its service worker's cache, config.json (the base map's
address, the geotag limits) included.  The worker's version covers
config.json, so when the server restarts with a base map set
(``BLOCKWALK_TILE_URL`` here), the phone's next online start installs the new
version, and the screen shown is redrawn with the streets' source; it stays
so with no signal.  Screenshots at 360 px, English and Spanish, go to
``tests/browser/screenshots/app/`` (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_app import CAMPAIGN, HERE, load_demo
from tests.peers import LiveServer, stop

SHOTS = Path(__file__).resolve().parent / "screenshots" / "app"
ATTRIBUTION = "Streets of the test"


@pytest.fixture
def live(tmp_path):
    server = LiveServer(tmp_path)  # no base map
    load_demo(server)
    yield server
    server.close()


def version(server: LiveServer) -> str:
    return re.search(r'const VERSION = "([0-9a-f]{16})"', server.http.get("/app/sw.js").text).group(1)


def test_a_base_map_set_on_the_server_reaches_an_installed_phone_on_its_next_online_start(chromium, live):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, geolocation=HERE, locale="en-US",
                                   permissions=["geolocation"], service_workers="allow")
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{live.url}/app/?campaign={CAMPAIGN}")
        page.get_by_label("Name").fill(LiveServer.VOLUNTEER[0])
        page.get_by_label("Password").fill(LiveServer.VOLUNTEER[1])
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_selector("#turf-list li")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # installed: starts from its cache
        page.get_by_role("link", name="Map").click()
        page.wait_for_selector("#turf-map.leaflet-container")
        attribution = page.locator("#turf-map .leaflet-control-attribution")
        expect(attribution).to_have_count(0)  # no base map: turfs and doors only
        before = version(live)

        # The server restarts (same address) with a tile server for the maps.
        port = int(live.url.rsplit(":", 1)[1])
        stop(live.proc)
        live.start({"BLOCKWALK_TILE_URL": f"http://127.0.0.1:{port}/no-such-tiles/{{z}}/{{x}}/{{y}}.png", "BLOCKWALK_TILE_ATTRIBUTION": ATTRIBUTION}, port=port)
        assert version(live) != before  # the same files, another config.json: another version

        # The phone's next start with signal: the new version comes down and the map shows where its streets come from.
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        expect(attribution).to_contain_text(ATTRIBUTION, timeout=30_000)
        page.screenshot(path=str(_shot("config-changed-map-en")))
        page.get_by_role("button", name=re.compile("Español")).click()
        expect(attribution).to_contain_text(ATTRIBUTION)
        page.screenshot(path=str(_shot("config-changed-map-es")))

        # And with no signal after that: the new config.json is the one the phone keeps.
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        expect(attribution).to_contain_text(ATTRIBUTION)
    finally:
        context.close()


def _shot(name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS / f"{name}.png"
