"""The base map a phone keeps for a 1,000-household turf: its size, and its download on slow 3G.

In one run, on this machine:

* a turf of 1,000 households (the shape of ``bench/app_sync.py``'s: 900 m
  square) and its base map, drawn like the demo's (``server.basemap.demo``)
  at zooms 13-18 into a PMTiles file served by a live Blockwalk
  (``BLOCKWALK_BASEMAP``); the same tiles written out as a plain folder
  ``{z}/{x}/{y}.png`` behind Python's static file server (the peer);
* **the cache**: the tiles the app keeps for the turf (zooms 14-18, the
  turf's box and 50 m around it), counted and summed by zoom;
* **Blockwalk + the app**: a volunteer signs in (no throttling) to a campaign
  whose phones keep no map (``offline_map_mb`` 0); once the walk list is
  synced, Chromium's network is throttled to DevTools' "Slow 3G" profile
  (CDP ``Network.emulateNetworkConditions``: 2 s round trip, 50 KB/s each
  way) and a coordinator raises the limit to 25 MB; the campaign document
  reaches the phone over the live sync and the app downloads the turf's tiles
  (in packs of 64, ``POST /tiles/pack``, into the Cache Storage).  Timed inside
  the page (resource timing), from the first pack asked for to the last one in;
* **the peer**: a page of the static server, on the same throttled profile,
  fetches the same tiles one by one from the plain folder, timed inside the
  page.

The service worker is blocked in the bench's browser (Chrome's page-level
throttling does not reach a worker's requests); the app's download code is
the same either way.  Prints the cache's size, both times and the ratio
app / one-by-one.

    .venv/bin/python bench/basemap.py [--households 1000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import functools
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from bench.app_sync import ARGS, CHROMIUM, documents, load  # noqa: E402
from server.basemap.archive import open_archive  # noqa: E402
from server.basemap.demo import tiles_over, write_demo_basemap  # noqa: E402
from tests.peers import LiveServer  # noqa: E402
from tests.peers import blockwalk as cli  # noqa: E402

SLOW_3G = {"offline": False, "latency": 2000, "downloadThroughput": 500 * 1000 / 8 * 0.8,
           "uploadThroughput": 500 * 1000 / 8 * 0.8}  # DevTools' "Slow 3G" preset
WATCH_LINE = """
performance.setResourceTimingBufferSize(10000);
window.benchLines = [];
new MutationObserver(() => {
  const line = document.getElementById('offline-map');
  if (line && benchLines.at(-1)?.[1] !== line.textContent) benchLines.push([performance.now(), line.textContent]);
}).observe(document, { subtree: true, childList: true, characterData: true });
"""
ONE_BY_ONE = """async (urls) => {
  const start = performance.now();
  let bytes = 0;
  for (const url of urls) bytes += (await (await fetch(url, { cache: 'no-store' })).blob()).size;
  return [performance.now() - start, bytes];
}"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


def tile_folder(archive_path: str, folder: Path) -> int:
    archive = open_archive(archive_path)
    count = 0
    for z in range(archive.info.min_zoom, archive.info.max_zoom + 1):
        for x, y in tiles_over(archive.info.bounds, z):
            data = archive.tile(z, x, y)
            if data:
                (folder / str(z) / str(x)).mkdir(parents=True, exist_ok=True)
                (folder / str(z) / str(x) / f"{y}.png").write_bytes(data)
                count += 1
    (folder / "index.html").write_text("<!doctype html><title>tiles</title>")
    return count


def app_round(playwright, live: LiveServer, docs: list[dict], user: str) -> tuple[float, list[str], int]:
    password = f"{user}-password-1"
    cli("user", "add", user, store=live.store, input=password + "\n")
    db = live.new_db("bench")
    assert live.http.put(f"/api/v1/campaigns/{db}/members/{user}", json={"role": "volunteer"}).status_code == 200
    mine = [dict(d, user=user, _id=f"assignment:{user}:turf:1") if d["type"] == "assignment" else d for d in docs]
    load(httpx.Client(base_url=f"{live.url}/sync", headers=live.http.headers, timeout=120), db,
         mine + [{"_id": f"campaign:{db}", "type": "campaign", "name": "Bench", "drives": [], "offline_map_mb": 0}])
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    try:
        context = browser.new_context(viewport={"width": 360, "height": 740}, service_workers="block")
        context.add_init_script(WATCH_LINE)
        page = context.new_page()
        page.set_default_timeout(600_000)
        page.goto(f"{live.url}/app/?campaign={db}")
        page.fill("input[name=name]", user)
        page.fill("input[name=password]", password)
        page.click("#signin button[type=submit]")
        page.wait_for_selector("#turf-list li")
        page.wait_for_function("() => blockwalk.status.phase === 'idle' && blockwalk.getState().last_sync_at")
        page.wait_for_function("() => /not kept/.test(document.getElementById('offline-map').textContent)")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.clearBrowserCache")  # a first pass under the default limit may have left tiles in the HTTP cache
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        raised_at = page.evaluate("performance.now()")  # tiles asked for before (the first pass, under the default limit) do not count
        current = live.http.get(f"/api/v1/campaigns/{db}")
        raised = live.http.patch(f"/api/v1/campaigns/{db}", json={"offline_map_mb": 25}, headers={"If-Match": current.headers["ETag"]})
        assert raised.status_code == 200, raised.text
        page.wait_for_function("at => benchLines.some(([t, text]) => t > at && /downloading/.test(text))", arg=raised_at)
        page.wait_for_function("() => /MB of 25 MB/.test(document.getElementById('offline-map').textContent)")
        lines = page.evaluate("benchLines")
        kept = page.evaluate("async () => (await (await caches.open('blockwalk-tiles')).keys()).map((r) => new URL(r.url).pathname)")
        size = page.evaluate("() => Object.values(JSON.parse(localStorage.getItem('bw.tiles')).sizes).reduce((a, b) => a + b, 0)")
        timing = page.evaluate("""() => performance.getEntriesByType('resource').filter((e) => /\\/tiles\\/(\\d|pack)/.test(e.name))
            .map((e) => [e.startTime, e.responseEnd])""")
    finally:
        browser.close()
    # From the first tile asked for to the last one in (the browser's resource timing), and
    # the app's own line saying so: "downloading" until it says how much it keeps.
    timing = [t for t in timing if t[0] > raised_at]
    start, end = min(t[0] for t in timing), max(t[1] for t in timing)
    said = next(t for t, text in lines if "MB of 25 MB" in text and t > start)
    assert said >= end, (said, end)
    return (end - start) / 1000, kept, size


def peer_round(playwright, origin: str, urls: list[str]) -> tuple[float, int]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    try:
        context = browser.new_context(viewport={"width": 360, "height": 740})
        page = context.new_page()
        page.set_default_timeout(600_000)
        page.goto(f"{origin}/index.html")
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_3G)
        ms, size = page.evaluate(ONE_BY_ONE, [f"{origin}{u.removeprefix('/tiles')}" for u in urls])
    finally:
        browser.close()
    return ms / 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        docs = documents(args.households, 0)
        archive = str(folder / "area.pmtiles")
        archive_bytes = write_demo_basemap(archive, docs, zooms=(13, 18))
        plain = folder / "plain"
        count = tile_folder(archive, plain)
        print(f"base map of the area: {archive_bytes / 1e6:.2f} MB PMTiles, {count} tiles at zooms 13-18")
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(plain)))
        httpd.daemon_threads = True
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        origin = f"http://127.0.0.1:{httpd.server_address[1]}"
        live = LiveServer(folder / "server", env={"BLOCKWALK_BASEMAP": archive})
        apps, peers = [], []
        try:
            with sync_playwright() as playwright:
                for n in range(args.rounds):
                    seconds, kept, size = app_round(playwright, live, docs, f"bench{n}")
                    by_zoom = {}
                    for url in kept:
                        by_zoom[int(url.split("/")[2])] = by_zoom.get(int(url.split("/")[2]), 0) + 1
                    peer_seconds, peer_size = peer_round(playwright, origin, sorted(kept))
                    assert peer_size == size, (peer_size, size)
                    apps.append(seconds)
                    peers.append(peer_seconds)
                    print(f"round {n + 1}: cache {len(kept)} tiles ({', '.join(f'z{z}: {c}' for z, c in sorted(by_zoom.items()))}), "
                          f"{size / 1e6:.2f} MB; app {seconds:.1f} s, one by one {peer_seconds:.1f} s")
        finally:
            live.close()
            httpd.shutdown()
        print(f"median: app {median(apps):.1f} s, one by one from a tile folder {median(peers):.1f} s; "
              f"ratio app / one-by-one {median(apps) / median(peers):.2f}")


if __name__ == "__main__":
    main()
