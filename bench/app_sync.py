"""The canvasser app's first sync and offline push, against a bare PouchDB page on pouchdb-server.

In one run, on this machine:

* **Blockwalk + the app**: a live Blockwalk server holds a campaign whose turf
  has 1,000 households and 500 past records (plus the forms, the turf and the
  volunteer's assignment).  A new device (a fresh headless Chromium context,
  360 x 740) of a new volunteer signs in through the app's sign-in screen
  (the full password check: the server remembers passwords it has just
  checked, so each round has its own volunteer) and opens the turf:
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

The app's push is timed from the browser's own ``online`` event (the one the
app starts its sync on) to the moment nothing is pending; the bare page's from
the start of its ``replicate.to``.

Each side runs ``--rounds`` times (5), each round on fresh databases and a new
browser, app and bare page taking turns to go first so that a change in the
machine's load hits both alike.  Prints every round, the medians and the
ratios app / bare.  Targets (issue 8): within 1.3 times the bare PouchDB
figures; first usable walk list under 5 s.

    .venv/bin/python bench/app_sync.py [--households 1000] [--records 500] [--new 500] [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from statistics import median
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from forms.templates import DRIVES, published  # noqa: E402
from server.web.app_shell import VENDOR  # noqa: E402
from tests.peers import LiveServer, PouchDBServer  # noqa: E402
from tests.peers import blockwalk as cli  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
CENTRE = (41.8902, -87.6780)


def documents(households: int, records: int, user: str = "vic") -> list[dict]:
    lat, lon = CENTRE
    half = 0.004
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    docs: list[dict] = [published(drive) for drive in DRIVES]
    docs.append({"_id": "turf:1", "type": "turf", "name": "Turf 1", "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]}})
    docs.append({"_id": f"assignment:{user}:turf:1", "type": "assignment", "user": user, "turf": "turf:1", "active": True})
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

# Armed before the network comes back: the browser's own "online" event (the
# one the app starts its sync on) starts the clock.
ONLINE_JS = """() => {
  benchTimes.online = null;
  addEventListener('online', () => { benchTimes.online = benchTimes.online || performance.now(); });
}"""

PUSH_JS = """async () => {
  while (!benchTimes.online || blockwalk.pendingIds().length) await new Promise((r) => setTimeout(r, 5));
  return performance.now() - benchTimes.online;
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


def app_round(playwright, blockwalk: LiveServer, args, when: str, preflights: list, user: str) -> dict:
    """A new volunteer's new device signs in to a fresh copy of the campaign; its walk list, then 500 records pushed.

    A new volunteer each round: the server remembers a password it has just checked, and a new device
    pays the full password check (scrypt)."""
    password = f"{user}-password-1"
    cli("user", "add", user, store=blockwalk.store, input=password + "\n")
    db = blockwalk.new_db("bench")
    response = blockwalk.http.put(f"/api/v1/campaigns/{db}/members/{user}", json={"role": "volunteer"})
    assert response.status_code == 200, response.text
    docs = documents(args.households, args.records, user)
    load(httpx.Client(base_url=f"{blockwalk.url}/sync", headers=blockwalk.http.headers, timeout=120), db, docs)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    try:
        context = browser.new_context(viewport={"width": 360, "height": 740}, service_workers="allow")
        page = context.new_page()
        page.on("request", lambda request: request.method == "OPTIONS" and preflights.append(request.url))
        page.set_default_timeout(300_000)
        page.goto(f"{blockwalk.url}/app/?campaign={db}")
        page.wait_for_selector("body[data-ready=true]")
        page.fill("input[name=name]", user)
        page.fill("input[name=password]", password)
        page.evaluate(WATCH_JS, args.households)
        page.click("#signin button[type=submit]")
        page.wait_for_function("() => benchTimes.walk")
        times = page.evaluate("""() => ({...benchTimes, token: performance.getEntriesByType('resource')
            .filter((e) => e.name.endsWith('/api/v1/me')).map((e) => e.responseEnd)[0]})""")
        page.wait_for_function("() => blockwalk.status.phase === 'idle' && blockwalk.getState().last_sync_at")

        context.set_offline(True)
        pending = page.evaluate(NEW_RECORDS_JS, {"n": args.new, "when": when})
        assert pending == args.new, pending
        page.evaluate(ONLINE_JS)
        context.set_offline(False)
        push = page.evaluate(PUSH_JS) / 1000
    finally:
        browser.close()
    mine = [r for r in blockwalk.http.get(f"/sync/{db}/_all_docs", params={"include_docs": "true"}).json()["rows"]
            if r["doc"].get("author") == user]
    assert len(mine) == args.new, len(mine)
    return {"walk": (times["walk"] - times["start"]) / 1000, "push": push,
            "signed_in": (times["token"] - times["start"]) / 1000, "listed": (times["turfs"] - times["start"]) / 1000}


def bare_round(playwright, couch: PouchDBServer, args, when: str, preflights: list, name: str) -> dict:
    """PouchDB alone, on a page served by pouchdb-server itself (same origin, as the app is with Blockwalk)."""
    docs = documents(args.households, args.records)
    with httpx.Client(base_url=couch.url, timeout=120) as http:
        assert http.put(f"/{name}").status_code == 201
        load(http, name, docs)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
    try:
        page = browser.new_context().new_page()
        page.on("request", lambda request: request.method == "OPTIONS" and preflights.append(request.url))
        page.set_default_timeout(300_000)
        page.goto(f"{couch.url}/")
        page.add_script_tag(path=str(VENDOR["vendor/pouchdb.min.js"]))
        result = page.evaluate(BARE_JS, {"remote": f"{couch.url}/{name}", "n": args.new, "when": when})
    finally:
        browser.close()
    assert result["walk"] == args.households and result["written"] == args.new, result
    return {"walk": result["pulled"] / 1000, "push": result["pushed"] / 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=1000)
    parser.add_argument("--records", type=int, default=500)
    parser.add_argument("--new", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of app and bare page, in alternating order")
    args = parser.parse_args()
    when = "2026-11-25T17:00:00Z"
    app: list[dict] = []
    bare: list[dict] = []
    preflights: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        blockwalk = LiveServer(Path(tmp) / "blockwalk")
        couch = PouchDBServer(Path(tmp) / "pouchdb-server", in_memory=True)
        playwright = sync_playwright().start()
        try:
            for i in range(args.rounds):
                # Alternate which side goes first, so a change in the machine's load hits both alike.
                sides = [lambda: app.append(app_round(playwright, blockwalk, args, when, preflights, f"vol{i}")),
                         lambda: bare.append(bare_round(playwright, couch, args, when, preflights, f"bare-{i}"))]
                for side in sides if i % 2 == 0 else sides[::-1]:
                    side()
        finally:
            playwright.stop()
            couch.close()
            blockwalk.close()
    assert not preflights, f"CORS preflights: {preflights[:3]}"

    print(f"{args.households} households, {args.records} past records; {args.new} new records made offline;"
          f" {args.rounds} rounds, medians")
    for i, (a, b) in enumerate(zip(app, bare), 1):
        print(f"  round {i}: walk list app {a['walk']:.2f} s (signed in {a['signed_in']:.2f}, turf listed {a['listed']:.2f}),"
              f" bare {b['walk']:.2f} s; push app {a['push']:.2f} s, bare {b['push']:.2f} s")
    app_walk, bare_walk = median(r["walk"] for r in app), median(r["walk"] for r in bare)
    app_push, bare_push = median(r["push"] for r in app), median(r["push"] for r in bare)
    print(f"first usable walk list: app on Blockwalk {app_walk:.2f} s, bare PouchDB on pouchdb-server {bare_walk:.2f} s"
          f" -> ratio {app_walk / bare_walk:.2f} (target <= 1.3; under 5 s: {'yes' if app_walk < 5 else 'no'})")
    print(f"{args.new} offline records to the server: app {app_push:.2f} s, bare {bare_push:.2f} s"
          f" -> ratio {app_push / bare_push:.2f} (target <= 1.3)")


if __name__ == "__main__":
    main()
