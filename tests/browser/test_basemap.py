"""Base maps that work offline (docs/basemap.md), in headless Chromium against a live server.

The server serves a base map drawn from the demo's own streets and houses
(``server.basemap.demo``, a PMTiles file made for this module).  A volunteer
signs in with signal, sees the map of their turfs come down (a progress bar,
then "3.2 MB of 25 MB"), loses signal, reloads, and still sees streets under
the turf map and under the pin-drop map, served by the app's service worker
from the phone; when an assignment ends, that turf's tiles leave the phone.
A coordinator's asset map shows the same base map with its attribution.
Screenshots (English and Spanish, 1366x860 and 768 px wide) go to
``tests/browser/screenshots/basemap/`` (git-ignored).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from server.basemap.demo import ATTRIBUTION, write_demo_basemap
from server.cli.demo import assignments, demo_documents
from tests.browser.test_app import CAMPAIGN, HERE, load_demo
from tests.peers import LiveServer

SHOTS = Path(__file__).resolve().parent / "screenshots" / "basemap"
# Every .leaflet-tile image of a map loaded with pixels (none broken, none still loading).
TILES_LOADED = """sel => {
  const tiles = [...document.querySelectorAll(sel + ' img.leaflet-tile')];
  return tiles.length > 0 && tiles.every((img) => img.complete && img.naturalWidth === 256);
}"""
# Offline, the tiles kept are those over the turfs: under the middle of every turf outline (and of the
# door's ring on the pin-drop map) a tile image is loaded with pixels.
TILES_UNDER_TURFS = """sel => {
  const box = document.querySelector(sel);
  if (!box) return false;
  const tiles = [...box.querySelectorAll('img.leaflet-tile')];
  const loaded = (img) => img.complete && img.naturalWidth === 256;
  const centres = [...box.querySelectorAll('path[stroke="#1d4ed8"]')].map((path) => {
    const r = path.getBoundingClientRect();
    return [r.left + r.width / 2, r.top + r.height / 2];
  });
  return centres.length > 0 && centres.every(([x, y]) => tiles.some((img) => {
    const r = img.getBoundingClientRect();
    return x >= r.left && x < r.right && y >= r.top && y < r.bottom && loaded(img);
  }));
}"""
# What the offline-map line said, each time it changed, and whether its progress bar showed.
WATCH_LINE = """
new MutationObserver(() => {
  const line = document.getElementById('offline-map');
  if (!line) return;
  const bar = line.querySelector('progress');
  (window.__mapLines = window.__mapLines || []).push([line.textContent, !bar.hidden && bar.getBoundingClientRect().width > 0]);
}).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
"""


@pytest.fixture(scope="module")
def map_server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("basemap")
    archive = folder / "demo.pmtiles"
    write_demo_basemap(str(archive), demo_documents(CAMPAIGN), zooms=(14, 18), margin=0.001)  # the phone keeps 50 m around turfs
    live = LiveServer(folder, env={"BLOCKWALK_BASEMAP": str(archive)})
    load_demo(live)
    yield live
    live.close()


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


def cached_tiles(page) -> list[str]:
    return page.evaluate("async () => (await (await caches.open('blockwalk-tiles')).keys()).map((r) => new URL(r.url).pathname)")


def test_a_volunteer_keeps_the_turf_map_for_offline_and_sees_streets_after_a_reload_with_no_signal(chromium, map_server):
    context = chromium.new_context(viewport={"width": 360, "height": 740}, geolocation=HERE, locale="en-US",
                                   permissions=["geolocation"], service_workers="allow")
    context.add_init_script(WATCH_LINE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    from_worker: list[str] = []
    page.on("response", lambda r: from_worker.append(r.url) if "/tiles/" in r.url and r.from_service_worker else None)
    asked_meta: list[str] = []  # the maps know the archive's zooms and bounds from config.json: no fetch before a map
    page.on("request", lambda r: asked_meta.append(r.url) if r.url.endswith("/tiles/meta.json") else None)
    try:
        page.goto(f"{map_server.url}/app/?campaign={CAMPAIGN}")
        page.get_by_label("Name").fill(LiveServer.VOLUNTEER[0])
        page.get_by_label("Password").fill(LiveServer.VOLUNTEER[1])
        page.get_by_role("button", name="Sign in", exact=True).click()
        page.wait_for_selector("#turf-list li")
        line = page.locator("#offline-map")
        expect(line).to_have_text(re.compile(r"^Map for offline: \d+\.\d MB of 25 MB$"), timeout=30_000)
        lines = page.evaluate("window.__mapLines")
        assert any(re.search(r"downloading, \d+ of \d+ tiles", text) and bar for text, bar in lines), lines  # progress shown
        kept = cached_tiles(page)
        assert {int(p.split("/")[2]) for p in kept} == {14, 15, 16, 17, 18}
        assert all(re.fullmatch(r"/tiles/\d+/\d+/\d+\.png", p) for p in kept)
        shot(page, "phone-en-kept")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")  # the app works offline from here

        context.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        page.get_by_role("link", name="Map").click()
        page.wait_for_function(TILES_UNDER_TURFS, arg="#turf-map", timeout=20_000)
        assert from_worker, "no tile came from the service worker"
        expect(line).to_have_text(re.compile(r"^Map for offline: \d+\.\d MB of 25 MB$"))
        assert "Offline" in page.locator("#net").inner_text()
        shot(page, "phone-en-offline-turf-map")
        page.get_by_role("button", name=re.compile("Español")).click()  # the volunteer's own words, in Spanish
        expect(line).to_have_text(re.compile(r"^Mapa sin conexión: \d+,\d MB de 25 MB$"))
        page.wait_for_function(TILES_UNDER_TURFS, arg="#turf-map")
        shot(page, "phone-es-offline-turf-map")
        page.set_viewport_size({"width": 768, "height": 860})  # a tablet
        page.wait_for_function(TILES_UNDER_TURFS, arg="#turf-map")
        shot(page, "tablet-es-offline-turf-map")
        page.set_viewport_size({"width": 360, "height": 740})
        page.get_by_role("button", name=re.compile("English")).click()

        # The pin-drop map at a door, still with no signal: the streets around the door.
        door = sorted((d for d in demo_documents(CAMPAIGN) if d.get("turf") == "turf:1" and d["type"] == "household"),
                      key=lambda d: d["_id"])[0]
        page.evaluate("h => { location.hash = h; }", f"#/form/meeting_awareness?household={door['_id']}")
        page.get_by_role("button", name="Mark on the map").click()
        page.wait_for_function(TILES_UNDER_TURFS, arg=".pin-panel", timeout=20_000)
        page.locator(".pin-panel .leaflet-container").scroll_into_view_if_needed()
        shot(page, "phone-en-offline-pin-map")
        assert asked_meta == [], asked_meta

        # An assignment ends: its turf, and the tiles only it needed, leave the phone.
        context.set_offline(False)
        before = set(cached_tiles(page))
        ended = map_server.http.delete(f"/api/v1/campaigns/{CAMPAIGN}/assignments/vic/turf:3")
        assert ended.status_code in (200, 204), ended.text
        page.evaluate("h => { location.hash = h; }", "#/turfs")
        page.wait_for_function("() => document.querySelectorAll('#turf-list li').length === 1", timeout=30_000)
        turf1 = next(d for d in demo_documents(CAMPAIGN) if d["_id"] == "turf:1")["geometry"]["coordinates"][0]
        north = max(lat for _, lat in turf1) + 0.0005  # turf 3 lies north of turf 1: its close-up tiles go
        only_turf_1 = f"""() => caches.open('blockwalk-tiles').then((c) => c.keys()).then((keys) => keys
            .map((r) => new URL(r.url).pathname.split('/')).filter((p) => p[2] === '18')
            .every((p) => parseInt(p[4]) >= {_y(north, 18)}))"""
        page.wait_for_function(only_turf_1, timeout=20_000)
        after = set(cached_tiles(page))
        assert after < before and any(p.startswith("/tiles/18/") for p in after)  # turf 1's stay

        # The coordinator sets the campaign's limit to 0: the phones keep no map, and say why.
        api = f"/api/v1/campaigns/{CAMPAIGN}"
        none = map_server.http.patch(api, json={"offline_map_mb": 0}, headers={"If-Match": map_server.http.get(api).headers["ETag"]})
        assert none.status_code == 200, none.text
        expect(line).to_have_text(re.compile(r"not kept on this phone \(the campaign's size limit is 0 MB\)"), timeout=20_000)
        assert cached_tiles(page) == []
        back = map_server.http.patch(api, json={"offline_map_mb": 25}, headers={"If-Match": none.headers["ETag"]})
        assert back.status_code == 200, back.text
    finally:
        context.close()


def _y(lat: float, z: int) -> int:
    import math

    s = math.sin(math.radians(lat))
    return int((0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * 2 ** z)


@pytest.mark.parametrize("locale, width", [("en-GB", 1366), ("es-ES", 768)])
def test_the_coordinator_asset_map_shows_the_same_base_map_with_its_attribution(chromium, map_server, locale, width):
    context = chromium.new_context(viewport={"width": width, "height": 860}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        page.goto(f"{map_server.url}/coordinator/?next=map.html%3Fcampaign%3D{CAMPAIGN}")
        page.locator("#name").fill(LiveServer.ADMIN[0])
        page.locator("#password").fill(LiveServer.ADMIN[1])
        page.locator("#signin-button").click()
        page.wait_for_selector("body[data-ready='true']", state="attached")
        page.wait_for_function(TILES_LOADED, arg="#map")
        expect(page.locator(".leaflet-control-attribution")).to_contain_text(ATTRIBUTION)
        # The map fills the window under the navigation, however many lines it takes: the attribution is
        # on screen without scrolling, and the page does not scroll at all.
        box = page.locator(".leaflet-control-attribution").bounding_box()
        assert box["y"] + box["height"] <= 860, box
        assert page.evaluate("document.documentElement.scrollHeight") <= 860
        assert page.evaluate("() => [...document.querySelectorAll('#map img.leaflet-tile')].every(i => i.src.includes('/tiles/'))")
        shot(page, f"coordinator-map-{locale[:2]}-{width}")
    finally:
        context.close()


def test_the_coordinator_sets_how_much_base_map_a_phone_keeps(map_server):
    http = map_server.http
    current = http.get(f"/api/v1/campaigns/{CAMPAIGN}")
    assert current.json()["offline_map_mb"] == 25
    for bad in (-1, 501, "ten", 2.5, True):
        refused = http.patch(f"/api/v1/campaigns/{CAMPAIGN}", json={"offline_map_mb": bad}, headers={"If-Match": current.headers["ETag"]})
        assert refused.status_code == 422, (bad, refused.text)
    changed = http.patch(f"/api/v1/campaigns/{CAMPAIGN}", json={"offline_map_mb": 40}, headers={"If-Match": current.headers["ETag"]})
    assert changed.status_code == 200 and changed.json()["offline_map_mb"] == 40
    assert http.get(f"/sync/{CAMPAIGN}/campaign:{CAMPAIGN}").json()["offline_map_mb"] == 40  # what the phones read
    changed = http.patch(f"/api/v1/campaigns/{CAMPAIGN}", json={"offline_map_mb": 25}, headers={"If-Match": changed.headers["ETag"]})
    assert changed.status_code == 200
