"""The canvasser app's first sync and offline push, against a bare PouchDB page on pouchdb-server.

In one run, on this machine:

* **Blockwalk + the app**: a live Blockwalk server holds a campaign whose turf
  has 1,000 households and 500 past records (plus the forms, the turf and the
  volunteer's assignment).  A new device (a fresh headless Chromium context,
  360 x 740) signs in through the app's sign-in screen and opens the turf:
  the time to a **usable walk list** is from the tap on "Sign in" until the
  walk list shows all 1,000 doors.  Then, offline, the app saves 500 new
  records through its own write path (``saveRecord``: stamps, pending
  tracking, IndexedDB), goes online, and the time until every one of them is
  on the server (the app's pending count is 0 and the server lists them).
* **bare PouchDB on pouchdb-server**: the same documents in pouchdb-server; a
  page with nothing but PouchDB 9's browser build replicates them into a new
  IndexedDB database and reads the turf's households (the same data a walk
  list needs), then saves 500 records and pushes them.

Both sides are timed inside the page (``performance.now()``), so neither
figure carries Playwright's round trips.  The app's walk-list time runs from
the sign-in tap (it includes the password check and ``/api/v1/me``, which the
bare page has no equivalent of) to the moment the walk list holds every door;
the turf is tapped by the page itself the moment the turf list shows it, as
a canvasser would.  Both pages are same-origin with their database (the app
is served by Blockwalk, the bare page by pouchdb-server), so neither sends a
CORS preflight; the bench checks that no ``OPTIONS`` request is made and runs
both browsers with web security on.

Prints both figures, the ratios app / bare and the app's breakdown.  Targets
(issue 8): within 1.3 times the bare PouchDB figures; first usable walk list
under 5 s.

    .venv/bin/python bench/app_sync.py [--households 1000] [--records 500] [--new 500]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from forms.templates import DRIVES, published  # noqa: E402
from server.app_shell import VENDOR  # noqa: E402
from tests.peers import LiveServer, PouchDBServer  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
CENTRE = (41.8902, -87.6780)


def documents(households: int, records: int) -> list[dict]:
    lat, lon = CENTRE
    half = 0.004
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    docs: list[dict] = [published(drive) for drive in DRIVES]
    docs.append({"_id": "turf:1", "type": "turf", "name": "Turf 1", "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]}})
    docs.append({"_id": "assignment:vic:turf:1", "type": "assignment", "user": "vic", "turf": "turf:1", "active": True})
    for i in range(households):
        docs.append({"_id": f"household:{i:05d}", "type": "household", "turf": "turf:1", "unit": None,
                     "address": f"{2600 + 2 * (i % 200)} W Street {i // 200}",
                     "location": {"lat": round(lat - half + (i % 40) * 0.0002, 6), "lon": round(lon - half + (i // 40) * 0.0003, 6)}})
    for i in range(records):
        docs.append(record(f"record:past-{i:05d}", i % households, "val", "2026-11-20T17:00:00Z"))
    return docs


def record(doc_id: str, household: int, author: str, when: str) -> dict:
    return {"_id": doc_id, "type": "record", "form": "form:meeting_awareness", "form_version": 1,
            "household": f"household:{household:05d}", "turf": "turf:1", "language": "en",
            "answers": {"outcome": "not_home", "flyer_left": "yes"},
            "geotag": {"lat": CENTRE[0], "lon": CENTRE[1], "accuracy_m": 8, "captured_at": when, "source": "gps"},
            "author": author, "device": "device:bench", "created_at": when}


def load(http: httpx.Client, db: str, docs: list[dict]) -> None:
    forms = [d for d in docs if d["type"] == "form"]
    for batch in [forms] + [[d for d in docs if d["type"] != "form"][i:i + 500] for i in range(0, len(docs), 500)]:
        if batch:
            response = http.post(f"/{db}/_bulk_docs", json={"docs": batch})
            assert response.status_code == 201 and not [r for r in response.json() if "error" in r], response.text[:500]


NEW_RECORDS_JS = """async ({n, when}) => {
  const households = (await blockwalk.session.db.allDocs({startkey: 'household:', endkey: 'household:\\ufff0'})).rows;
  for (let i = 0; i < n; i++) {
    await blockwalk.saveRecord({form: 'form:meeting_awareness', form_version: 1, household: households[i % households.length].id,
      turf: 'turf:1', language: 'en', answers: {outcome: 'contacted', informed: 'yes', flyer_left: 'yes', rsvp: 'yes'},
      geotag: {lat: 41.8902, lon: -87.678, accuracy_m: 8, captured_at: when, source: 'gps'}});
  }
  return blockwalk.pendingIds().length;
}"""

# Armed before the tap on "Sign in": taps the turf as soon as the turf list shows
# it, and notes when the walk list holds every door.
WATCH_JS = """(n) => {
  const main = document.getElementById('main');
  window.benchTimes = {};
  document.getElementById('signin').addEventListener('submit', () => { benchTimes.start = performance.now(); }, true);
  return new Promise((resolve) => {
    new MutationObserver(() => {
      const turf = document.querySelector('#turf-list a[href="#/turf/turf%3A1"]');
      if (turf && !benchTimes.turfs) { benchTimes.turfs = performance.now(); turf.click(); }
      if (!benchTimes.walk && document.querySelectorAll('#walk-list li').length === n) {
        benchTimes.walk = performance.now();
      }
    }).observe(main, {childList: true});
    resolve();
  });
}"""

PUSH_JS = """async () => {
  const t0 = performance.now();
  window.dispatchEvent(new Event('online'));
  while (blockwalk.pendingIds().length) await new Promise((r) => setTimeout(r, 5));
  return performance.now() - t0;
}"""

BARE_JS = """async ({remote, n, when}) => {
  const db = new PouchDB('bare-' + Date.now());
  const t0 = performance.now();
  await db.replicate.from(remote, {batch_size: 200});
  const rows = (await db.allDocs({include_docs: true, startkey: 'household:', endkey: 'household:\\ufff0'})).rows;
  const walk = rows.filter(r => r.doc.turf === 'turf:1').length;
  const pulled = performance.now() - t0;
  const docs = [];
  for (let i = 0; i < n; i++) docs.push({_id: 'record:bare-' + i, type: 'record', form: 'form:meeting_awareness', form_version: 1,
    household: rows[i % rows.length].id, turf: 'turf:1', language: 'en', author: 'vic',
    answers: {outcome: 'contacted', informed: 'yes', flyer_left: 'yes', rsvp: 'yes'},
    geotag: {lat: 41.8902, lon: -87.678, accuracy_m: 8, captured_at: when, source: 'gps'}});
  for (const doc of docs) await db.put(doc);   // one write per record, as the app saves them
  const t1 = performance.now();
  const pushed = await db.replicate.to(remote, {batch_size: 200});
  return {pulled, walk, pushed: performance.now() - t1, written: pushed.docs_written};
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--new", type=int, default=500)
    args = parser.parse_args()
    docs = documents(args.households, args.records)
    when = "2026-11-25T17:00:00Z"
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        blockwalk = LiveServer(Path(tmp) / "blockwalk")
        couch = PouchDBServer(Path(tmp) / "pouchdb-server", in_memory=True)
        playwright = sync_playwright().start()
        try:
            db = blockwalk.new_db("bench")
            load(httpx.Client(base_url=f"{blockwalk.url}/sync", headers=blockwalk.http.headers, timeout=120), db, docs)
            with httpx.Client(base_url=couch.url, timeout=120) as http:
                assert http.put("/bare").status_code == 201
                load(http, "bare", docs)

            preflights: list[str] = []
            count_preflights = lambda request: request.method == "OPTIONS" and preflights.append(request.url)  # noqa: E731
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            context = browser.new_context(viewport={"width": 360, "height": 740}, service_workers="allow")
            page = context.new_page()
            page.on("request", count_preflights)
            page.set_default_timeout(300_000)
            page.goto(f"{blockwalk.url}/app/?campaign={db}")
            page.wait_for_selector("body[data-ready=true]")
            page.fill("input[name=name]", LiveServer.VOLUNTEER[0])
            page.fill("input[name=password]", LiveServer.VOLUNTEER[1])
            page.evaluate(WATCH_JS, args.households)
            page.click("#signin button[type=submit]")
            page.wait_for_function("() => benchTimes.walk")
            times = page.evaluate("""() => ({...benchTimes, token: performance.getEntriesByType('resource')
                .filter((e) => e.name.endsWith('/api/v1/me')).map((e) => e.responseEnd)[0]})""")
            app_walk = (times["walk"] - times["start"]) / 1000
            page.wait_for_function("() => blockwalk.status.phase === 'idle' && blockwalk.getState().last_sync_at")

            context.set_offline(True)
            pending = page.evaluate(NEW_RECORDS_JS, {"n": args.new, "when": when})
            assert pending == args.new, pending
            context.set_offline(False)
            app_push = page.evaluate(PUSH_JS) / 1000
            mine = [r for r in blockwalk.http.get(f"/sync/{db}/_all_docs", params={"include_docs": "true"}).json()["rows"]
                    if r["doc"].get("author") == "vic"]
            assert len(mine) == args.new, len(mine)
            browser.close()

            # The bare page: PouchDB alone, served by pouchdb-server itself (same origin, as the app is with Blockwalk).
            bare_browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
            bare = bare_browser.new_context().new_page()
            bare.on("request", count_preflights)
            bare.set_default_timeout(300_000)
            bare.goto(f"{couch.url}/")
            bare.add_script_tag(path=str(VENDOR["vendor/pouchdb.min.js"]))
            result = bare.evaluate(BARE_JS, {"remote": f"{couch.url}/bare", "n": args.new, "when": when})
            assert result["walk"] == args.households and result["written"] == args.new, result
            bare_browser.close()
            assert not preflights, f"CORS preflights: {preflights[:3]}"
        finally:
            playwright.stop()
            couch.close()
            blockwalk.close()

    bare_walk, bare_push = result["pulled"] / 1000, result["pushed"] / 1000
    print(f"{args.households} households, {args.records} past records; {args.new} new records made offline")
    print(f"first usable walk list: app on Blockwalk {app_walk:.2f} s, bare PouchDB on pouchdb-server {bare_walk:.2f} s"
          f" -> ratio {app_walk / bare_walk:.2f} (target <= 1.3; under 5 s: {'yes' if app_walk < 5 else 'no'})")
    print(f"{args.new} offline records to the server: app {app_push:.2f} s, bare {bare_push:.2f} s"
          f" -> ratio {app_push / bare_push:.2f} (target <= 1.3)")
    print(f"app walk list: signed in (token, /api/v1/me) at {(times['token'] - times['start']) / 1000:.2f} s,"
          f" turf listed at {(times['turfs'] - times['start']) / 1000:.2f} s, all {args.households} doors at {app_walk:.2f} s")


if __name__ == "__main__":
    main()
