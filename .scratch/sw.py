import sys, time
from pathlib import Path
sys.path.insert(0, ".")
from tests.peers import LiveServer
from playwright.sync_api import sync_playwright
tmp = Path(".scratch/srv2"); import shutil; shutil.rmtree(tmp, ignore_errors=True); tmp.mkdir()
s = LiveServer(tmp.resolve())
pw = sync_playwright().start()
b = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox","--disable-gpu"])
ctx = b.new_context(viewport={"width":360,"height":740}, service_workers="allow")
pg = ctx.new_page()
pg.on("console", lambda m: print("console", m.type, m.text))
pg.goto(s.url + "/app/?campaign=demo")
pg.wait_for_selector("body[data-ready=true]")
time.sleep(3)
print(pg.evaluate("""async () => { const r = await navigator.serviceWorker.getRegistration(); return {ctrl: !!navigator.serviceWorker.controller, active: r && r.active && r.active.state, installing: r && !!r.installing, keys: await caches.keys()}; }"""))
print(pg.evaluate("""async () => { const c = await caches.open((await caches.keys())[0]); const ks = await c.keys(); const a = await c.match(location.href, {ignoreSearch: true}); const b = await c.match(location.href, {ignoreSearch: true, ignoreVary: true}); return {n: ks.length, first: ks.slice(0,3).map(r => r.url), a: !!a, b: !!b, href: location.href}; }"""))
ctx.set_offline(True)
pg.on("requestfailed", lambda r: print("FAILED", r.url, r.failure))
pg.on("response", lambda r: print("RESP", r.url, r.status, r.from_service_worker))
try:
    pg.reload(timeout=10000)
except Exception as e:
    print("reload", e)
time.sleep(3)
print(pg.url, pg.content()[:300])
pg.wait_for_selector("body[data-ready=true]", timeout=10000)
print("offline reload ok")
b.close(); pw.stop(); s.close()
