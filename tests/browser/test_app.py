"""The canvasser app (/app/) in a real headless Chromium at a phone's size, against a live server.

On a low-end phone (360x740, the CPU slowed four times): a volunteer signs
in, goes offline, fills each drive's form (emulated geolocation at each door,
a photo, the door's language switched), reloads the page while offline and
finds everything still there, goes online and the records reach the server
with their geotags and photos.  A record the server refuses stays
on the phone with the reason, and is resent once it can be accepted; an ended
assignment drops its turf from the phone.  Every screen is photographed into
``tests/browser/screenshots/app/`` (git-ignored).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import httpx
import pytest

from server.cli.demo import assignments, demo_documents
from tests.conftest import eventually
from tests.peers import LiveServer

SHOTS = Path(__file__).resolve().parent / "screenshots" / "app"
HERE = {"latitude": 41.8902, "longitude": -87.6780, "accuracy": 8}  # inside the demo's turf 1
CAMPAIGN = "demo"


def load_demo(server: LiveServer, name: str = CAMPAIGN) -> None:
    """The demo campaign (forms first: records are checked against them)."""
    assert server.http.put(f"/sync/{name}").status_code == 201
    member = server.http.put(f"/api/v1/campaigns/{name}/members/{LiveServer.VOLUNTEER[0]}", json={"role": "volunteer"})
    assert member.status_code == 200, member.text
    docs = demo_documents(name) + assignments()
    for batch in ([d for d in docs if d["type"] == "form"], [d for d in docs if d["type"] != "form"]):
        response = server.http.post(f"/sync/{name}/_bulk_docs", json={"docs": batch})
        assert response.status_code == 201 and not [r for r in response.json() if "error" in r], response.text


@pytest.fixture(scope="module")
def app_server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("app-server"))
    load_demo(live)
    yield live
    live.close()


def big_png(width: int = 1600, height: int = 1200) -> bytes:
    """A camera-sized PNG (the app must shrink it)."""
    row = bytes((x * 7) % 256 for x in range(width * 3))
    raw = b"".join(b"\x00" + row for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 1)) + chunk(b"IEND", b"")


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame marker."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xC2:
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no frame header")


class AppPhone:
    """One phone: its own browser context (storage, service worker), 360x740, geolocation allowed."""

    def __init__(self, browser, server: LiveServer, name: str):
        self.server = server
        self.name = name
        self.context = browser.new_context(viewport={"width": 360, "height": 740}, geolocation=HERE,
                                           permissions=["geolocation"], service_workers="allow")
        self.page = self.context.new_page()
        self.page.set_default_timeout(30_000)
        # A low-end phone: Chrome runs the page's CPU four times slower than this machine's.
        self.context.new_cdp_session(self.page).send("Emulation.setCPUThrottlingRate", {"rate": 4})
        self.console: list[str] = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.requests: list[str] = []  # every URL the page asked for, in order
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.reports: list[tuple[str, dict]] = []  # (url, body) of each device report sent
        self.page.on("request", lambda r: self.reports.append((r.url, r.post_data_json))
                     if r.method == "PUT" and r.url.endswith("/report") else None)
        self.shots = 0

    def open(self, path: str = f"/app/?campaign={CAMPAIGN}") -> None:
        self.page.goto(self.server.url + path)
        self.page.wait_for_selector("body[data-ready=true]")

    def shot(self, what: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        self.shots += 1
        path = SHOTS / f"{self.name}-{self.shots:02d}-{what}.png"
        # A walk list paints only the doors near the screen (content-visibility): paint them all for the photograph.
        self.page.evaluate("() => document.querySelectorAll('ol.walk > li').forEach((li) => { li.style.contentVisibility = 'visible'; })")
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, name: str, password: str) -> None:
        self.page.fill("input[name=name]", name)
        self.page.fill("input[name=password]", password)
        self.page.click("#signin button[type=submit]")
        self.page.wait_for_selector("#turf-list li")

    def go(self, hash_: str) -> None:
        """Go to an address of the app and wait for its screen: not the one before it, which may have the same parts."""
        self.page.evaluate("h => { location.hash = h; }", hash_)
        self.page.wait_for_function("() => document.getElementById('main').dataset.hash === location.hash")

    def state(self) -> dict:
        return self.page.evaluate("() => ({pending: blockwalk.pendingIds(), refused: blockwalk.refusedEntries(),"
                                  " last: blockwalk.getState().last_sync_at})")

    def wait_synced(self) -> None:
        self.page.wait_for_function("() => blockwalk.getState().last_sync_at && blockwalk.pendingIds().length === 0"
                                    " && blockwalk.status.phase === 'idle'", timeout=60_000)

    def choose(self, field: str, value: str) -> None:
        self.page.check(f"[data-field='{field}'] input[value='{value}']")

    def errors(self) -> str:
        return "\n".join(self.console)

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def phones(chromium, app_server):
    opened: list[AppPhone] = []

    def open_(name: str) -> AppPhone:
        phone = AppPhone(chromium, app_server, name)
        opened.append(phone)
        return phone

    yield open_
    for phone in opened:
        print(f"--- console of {phone.name} ---\n{phone.errors()}")  # shown when the test fails
        phone.close()


def households_of(server: LiveServer, turf: str) -> list[dict]:
    rows = server.http.get(f"/sync/{CAMPAIGN}/_all_docs", params={
        "include_docs": "true", "startkey": '"household:"', "endkey": '"household:\ufff0"'}).json()["rows"]
    return [r["doc"] for r in rows if r["doc"].get("turf") == turf]


def server_records(server: LiveServer, author: str) -> dict[str, dict]:
    rows = server.http.get(f"/sync/{CAMPAIGN}/_all_docs", params={
        "include_docs": "true", "startkey": '"record:"', "endkey": '"record:\ufff0"'}).json()["rows"]
    return {r["id"]: r["doc"] for r in rows if r["doc"].get("author") == author and "device" in r["doc"]
            and r["doc"]["device"].startswith("device:") and len(r["doc"]["device"]) > 10}


def at_door(phone: AppPhone, household: dict, accuracy: float = 8) -> None:
    """The phone's position: at the door (the volunteer walked there)."""
    where = household["location"]
    phone.context.set_geolocation({"latitude": where["lat"], "longitude": where["lon"], "accuracy": accuracy})


def open_door(phone: AppPhone, household: dict, form_id: str) -> None:
    at_door(phone, household)
    phone.go(f"#/household/{household['_id']}")
    phone.page.wait_for_selector("#visits, .empty")
    phone.page.click(f".actions a[href*='#/form/{form_id}?']")
    phone.page.wait_for_selector("#record-form")
    phone.page.wait_for_selector("#geotag.good")  # the emulated fix (8 m, at the door) meets the form's 50 m


def save(phone: AppPhone) -> None:
    phone.page.click("#save")
    phone.page.wait_for_selector("#visits")


def test_a_volunteer_works_offline_and_everything_reaches_the_server(phones, app_server):
    phone = phones("vic")
    phone.open()
    phone.shot("sign-in")
    phone.sign_in(*LiveServer.VOLUNTEER)
    # vic walks turfs 1 and 3 in the demo: exactly those arrive.
    phone.page.wait_for_function("() => document.querySelectorAll('#turf-list li').length === 2")
    assert phone.page.inner_text("#turf-list").replace("\n", " ").count("75 doors") == 2
    phone.wait_synced()
    # A first sync only receives: the phone sends nothing back about the documents it was sent
    # (no _revs_diff, no _bulk_docs: data a volunteer's phone plan would pay for).
    assert not [url for url in phone.requests if url.endswith(("/_revs_diff", "/_bulk_docs"))], phone.requests
    phone.shot("my-turfs")
    phone.go("#/turfs?view=map")
    phone.page.wait_for_selector("#turf-map .leaflet-interactive")
    assert phone.page.locator("#turf-map path.leaflet-interactive").count() >= 2 + 150  # 2 turfs, 150 doors
    phone.shot("my-turfs-map")
    phone.go("#/turf/turf:1")
    phone.page.wait_for_selector("#walk-list li")
    assert phone.page.locator("#walk-list li").count() == 75
    phone.shot("walk-list")

    doors = sorted(households_of(app_server, "turf:1"), key=lambda h: h["_id"])[:3]
    phone.go(f"#/household/{doors[0]['_id']}")
    phone.page.wait_for_selector("h3")
    phone.shot("household")

    phone.context.set_offline(True)
    phone.page.wait_for_selector("#sync-badge.offline")

    # Asset mapping, in Spanish at this door, with a photo.
    open_door(phone, doors[0], "asset_mapping")
    assert phone.page.is_hidden("[data-field='assets']")  # skip logic: only when contacted
    phone.page.click("#door-language button[data-lang='es']")
    assert "¿Qué pasó en la puerta?" in phone.page.inner_text("[data-field='outcome']")
    phone.choose("outcome", "contacted")
    assert phone.page.is_visible("[data-field='assets']")
    assert phone.page.is_hidden("[data-field='assets.0.institution_kind']")
    phone.choose("assets.0.category", "institution")
    assert phone.page.is_visible("[data-field='assets.0.institution_kind']")
    phone.choose("assets.0.institution_kind", "clinic")
    phone.page.fill("[name='assets.0.capacity']", "-5")
    phone.page.click("#save")  # refused on the phone: the name is required, the capacity below its minimum
    assert phone.page.inner_text("[data-field='assets.0.asset_name'] .error") == "Se requiere una respuesta."
    assert phone.page.inner_text("[data-field='assets.0.capacity'] .error") == "Debe ser al menos 0."
    phone.shot("form-asset-errors-es")
    phone.page.fill("[name='assets.0.asset_name']", "Clínica del barrio")
    phone.page.fill("[name='assets.0.capacity']", "40")
    phone.page.set_input_files("[name='assets.0.photo']", files=[
        {"name": "door.png", "mimeType": "image/png", "buffer": big_png()}])
    phone.page.wait_for_selector("[data-field='assets.0.photo'] img")
    phone.page.click("[data-field='assets.0.location'] button")
    phone.shot("form-asset-es")
    save(phone)
    phone.shot("household-after-visit")

    # Volunteer recruitment, in English, with consent per channel.
    open_door(phone, doors[1], "recruitment")
    phone.choose("outcome", "contacted")
    phone.choose("interested", "yes")
    phone.page.fill("[name='full_name']", "Marta Ortiz")
    phone.page.fill("[name='phone']", "(773) 555-0142")
    phone.page.fill("[name='email']", "marta.ortiz@example.org")
    phone.choose("languages", "es")
    phone.choose("languages", "en")
    for channel, given in (("sms", "yes"), ("email", "yes"), ("call", "no")):
        phone.choose(f"consent_{channel}", given)
    phone.shot("form-recruitment")
    save(phone)

    # Meeting awareness.
    open_door(phone, doors[2], "meeting_awareness")
    phone.choose("outcome", "contacted")
    phone.choose("informed", "yes")
    phone.choose("flyer_left", "yes")
    phone.choose("rsvp", "maybe")
    phone.choose("language_needed", "pl")
    phone.shot("form-meeting")
    save(phone)

    phone.go("#/sync")
    phone.page.wait_for_selector("#pending li")
    assert phone.page.locator("#pending li").count() == 3
    phone.shot("sync-offline")

    # Reload with no network: the service worker serves the app, IndexedDB the data.
    phone.page.reload()
    phone.page.wait_for_selector("body[data-ready=true]")
    phone.go("#/sync")
    phone.page.wait_for_selector("#pending li")
    assert phone.page.locator("#pending li").count() == 3
    assert "Community assets" in phone.page.inner_text("#pending")
    phone.go(f"#/household/{doors[0]['_id']}")
    phone.page.wait_for_selector("#visits")
    assert "Contacted" in phone.page.inner_text("#visits li:first-child")
    phone.shot("after-offline-reload")
    # Skip logic still runs: every module of the evaluator came from the service worker's cache.
    open_door(phone, doors[1], "asset_mapping")
    assert phone.page.is_hidden("[data-field='assets']")
    phone.choose("outcome", "contacted")
    assert phone.page.is_visible("[data-field='assets']")
    assert not app_server.http.get(f"/sync/{CAMPAIGN}/_all_docs").json()["rows"][0] is None

    phone.context.set_offline(False)
    phone.page.evaluate("() => window.dispatchEvent(new Event('online'))")
    phone.wait_synced()
    phone.go("#/sync")
    phone.page.wait_for_selector("#pending-count")
    assert phone.page.inner_text("#pending-count") == "Everything is on the server."
    phone.shot("sync-online")

    on_server = server_records(app_server, "vic")
    by_household = {r["household"]: r for r in on_server.values()}
    assert set(by_household) == {d["_id"] for d in doors}, on_server
    asset = by_household[doors[0]["_id"]]
    assert asset["language"] == "es" and asset["form"] == "form:asset_mapping" and asset["turf"] == "turf:1"
    assert asset["answers"]["assets"][0]["asset_name"] == "Clínica del barrio"
    assert asset["answers"]["assets"][0]["capacity"] == 40
    for record in on_server.values():
        geotag, door = record["geotag"], next(d for d in doors if d["_id"] == record["household"])
        assert (geotag["lat"], geotag["lon"], geotag["accuracy_m"], geotag["source"]) == (
            door["location"]["lat"], door["location"]["lon"], 8, "gps")
        assert geotag["captured_at"].endswith("Z")
    photo_name = asset["answers"]["assets"][0]["photo"]
    stub = asset["_attachments"][photo_name]
    assert stub["content_type"] == "image/jpeg"
    raw = app_server.http.get(f"/sync/{CAMPAIGN}/{asset['_id']}/{photo_name}")
    assert raw.status_code == 200 and max(jpeg_size(raw.content)) == 1280  # shrunk from 1600 x 1200
    recruit = by_household[doors[1]["_id"]]["answers"]
    assert recruit["consent_call"]["given"] is False and recruit["consent_sms"]["language"] == "en"
    assert recruit["languages"] == ["en", "es"]  # in the choice list's order
    assert by_household[doors[2]["_id"]]["answers"]["language_needed"] == ["pl"]
    assert not [line for line in phone.console if line.startswith("pageerror")], phone.errors()
    # After each pass the phone told the server what it holds.
    device = phone.page.evaluate("() => blockwalk.session.device")
    url, last = phone.reports[-1]
    assert url == f"{app_server.url}/api/v1/campaigns/{CAMPAIGN}/devices/{device.replace(':', '%3A')}/report"
    assert last["pending"] == 0 and last["refused"] == 0 and last["last_sync_at"].endswith("Z")
    # ... and the coordinators' progress report shows it.
    progress = app_server.http.get(f"/api/v1/campaigns/{CAMPAIGN}/reports/progress")
    assert progress.status_code == 200, progress.text
    kept = {r["device"]: r for r in progress.json()["devices"]}
    assert kept[device]["pending"] == 0 and kept[device]["refused"] == 0


def test_with_no_position_the_canvasser_drops_a_pin(chromium, app_server):
    """Geolocation refused: the form says so, and a pin dropped on the map is the record's geotag (manual)."""
    context = chromium.new_context(viewport={"width": 360, "height": 740}, permissions=[])
    phone = AppPhone.__new__(AppPhone)
    phone.server, phone.name, phone.context, phone.shots, phone.console = app_server, "vic-pin", context, 0, []
    phone.page = context.new_page()
    phone.page.set_default_timeout(30_000)
    context.new_cdp_session(phone.page).send("Emulation.setCPUThrottlingRate", {"rate": 4})
    phone.page.on("console", lambda m: phone.console.append(f"{m.type}: {m.text}"))
    try:
        phone.open()
        phone.sign_in(*LiveServer.VOLUNTEER)
        phone.wait_synced()
        door = sorted(households_of(app_server, "turf:1"), key=lambda h: h["_id"])[20]
        phone.go(f"#/household/{door['_id']}")
        phone.page.wait_for_selector(".actions a")
        phone.page.click(".actions a[href*='#/form/meeting_awareness?']")
        phone.page.wait_for_selector("#geotag.none")
        phone.choose("outcome", "not_home")
        phone.choose("flyer_left", "yes")
        phone.page.click("#save")
        assert phone.page.inner_text("#form-error") == "A position is needed: wait for it or mark it on the map."
        phone.page.click("#drop-pin")
        phone.page.wait_for_selector(".pin-panel .leaflet-container")
        phone.page.click(".pin-panel .leaflet-container", position={"x": 150, "y": 100})
        phone.shot("pin")
        phone.page.click("#pin-done")
        assert phone.page.inner_text("#geotag").startswith("Position marked by hand on the map.")
        save(phone)
        phone.wait_synced()
        record_id = phone.page.evaluate("() => sessionStorage.getItem('bw.saved')")
        geotag = app_server.http.get(f"/sync/{CAMPAIGN}/{record_id}").json()["geotag"]
        assert geotag["source"] == "manual" and "accuracy_m" not in geotag
        assert abs(geotag["lat"] - door["location"]["lat"]) < 0.001 and abs(geotag["lon"] - door["location"]["lon"]) < 0.001
    finally:
        print(f"--- console of {phone.name} ---\n{phone.errors()}")
        context.close()


def test_a_refused_record_stays_with_its_reason_and_an_ended_turf_is_dropped(phones, app_server):
    """vic's assignment to turf 3 ends while the phone is offline; a visit made there is refused."""
    admin = app_server.http
    phone = phones("vic-refused")
    phone.open()
    phone.sign_in(*LiveServer.VOLUNTEER)
    phone.page.wait_for_function("() => document.querySelectorAll('#turf-list li').length === 2")
    phone.wait_synced()
    door = sorted(households_of(app_server, "turf:3"), key=lambda h: h["_id"])[0]

    phone.context.set_offline(True)
    ended = admin.delete(f"/api/v1/campaigns/{CAMPAIGN}/assignments/vic/turf:3")
    assert ended.status_code in (200, 204), ended.text
    open_door(phone, door, "meeting_awareness")
    phone.choose("outcome", "not_home")
    phone.choose("flyer_left", "yes")
    save(phone)
    record_id = phone.page.evaluate("() => sessionStorage.getItem('bw.saved')")

    phone.context.set_offline(False)
    phone.page.evaluate("() => window.dispatchEvent(new Event('online'))")
    phone.page.wait_for_function("() => blockwalk.refusedEntries().length === 1", timeout=60_000)
    # The ended turf leaves the phone; the refused record does not.
    phone.page.wait_for_function("id => blockwalk.getState().ended.length === 0", timeout=60_000)
    phone.go("#/turfs")
    phone.page.wait_for_function("() => document.querySelectorAll('#turf-list li').length === 1")
    assert "Turf 3" not in phone.page.inner_text("#turf-list")
    assert phone.page.inner_text(".notice") == "Your assignment to Turf 3 ended: its data was removed from this phone."
    phone.shot("turf-dropped")
    left = phone.page.evaluate("""async () => {
        const db = new PouchDB(JSON.parse(localStorage.getItem('bw.session')).dbName);
        const all = await db.allDocs({include_docs: true});
        return all.rows.filter(r => r.doc.type !== 'assignment' && (r.doc.turf === 'turf:3' || r.id === 'turf:3')).map(r => r.id);
    }""")
    assert left == [record_id]
    phone.go("#/sync")
    phone.page.wait_for_selector("#refused li")
    # Never "everything is on the server" above a refusal.
    assert phone.page.inner_text("#pending-count") == "Nothing is waiting to be sent, but the server refused what is listed below."
    assert phone.page.inner_text("#refused-count") == "1 record refused by the server"
    reason = phone.page.inner_text("#refused li .reason")
    assert "Turf 3 is not one of your assigned turfs" in reason and "turf:3" not in reason
    assert app_server.http.get(f"/sync/{CAMPAIGN}/{record_id}").status_code == 404
    phone.shot("sync-refused")

    # The coordinator assigns the turf again; the canvasser resends.
    again = admin.put(f"/api/v1/campaigns/{CAMPAIGN}/assignments/vic/turf:3")
    assert again.status_code in (200, 201), again.text
    phone.page.click("#refused li button")
    phone.page.wait_for_function("() => blockwalk.refusedEntries().length === 0 && blockwalk.pendingIds().length === 0",
                                 timeout=60_000)
    stored = app_server.http.get(f"/sync/{CAMPAIGN}/{record_id}")
    assert stored.status_code == 200 and stored.json()["answers"]["outcome"] == "not_home"
    phone.go("#/turfs")
    phone.page.wait_for_function("() => document.querySelectorAll('#turf-list li').length === 2")
    assert phone.page.locator(".notice").count() == 0  # the turf is back: the notice went with its cause
    phone.shot("turf-back")


def test_two_phones_edit_the_same_door_offline_and_both_end_with_the_merged_record(phones, app_server):
    """vic's two phones hold the same visit; offline, one changes the door's language, the other the flyer."""
    first, second = phones("vic-phone-1"), phones("vic-phone-2")
    door = sorted(households_of(app_server, "turf:1"), key=lambda h: h["_id"])[10]
    first.open()
    first.sign_in(*LiveServer.VOLUNTEER)
    first.wait_synced()
    open_door(first, door, "meeting_awareness")
    first.choose("outcome", "not_home")
    first.choose("flyer_left", "no")
    save(first)
    record_id = first.page.evaluate("() => sessionStorage.getItem('bw.saved')")
    first.wait_synced()
    second.open()
    second.sign_in(*LiveServer.VOLUNTEER)
    second.wait_synced()
    second.page.wait_for_function("id => blockwalk.session.db.get(id).then(() => true, () => false)", arg=record_id)

    for phone, field, value in ((first, "door_language", "es"), (second, "flyer_left", "yes")):
        phone.context.set_offline(True)
        phone.go(f"#/form/meeting_awareness?record={record_id}")
        phone.page.wait_for_selector("#record-form")
        phone.choose(field, value)
        save(phone)
    for phone in (first, second):
        phone.context.set_offline(False)
        phone.page.evaluate("() => window.dispatchEvent(new Event('online'))")
    merged = """id => blockwalk.session.db.get(id, {conflicts: true}).then(d =>
        d.answers.door_language === 'es' && d.answers.flyer_left === 'yes' && !d._conflicts && !!d.merged)"""
    for phone in (first, second):
        phone.page.wait_for_function(merged, arg=record_id, timeout=60_000)
        phone.go(f"#/household/{door['_id']}")
        phone.page.wait_for_selector(f"#visits li[data-id='{record_id}'] .merged")
        assert "Merged with another phone's edit" in phone.page.inner_text(f"#visits li[data-id='{record_id}']")
        phone.shot("merged")
    on_server = app_server.http.get(f"/sync/{CAMPAIGN}/{record_id}", params={"conflicts": "true"}).json()
    assert on_server["answers"]["door_language"] == "es" and on_server["answers"]["flyer_left"] == "yes"
    assert "_conflicts" not in on_server
    assert {on_server["stamps"]["answers.door_language"]["s"].split("/", 1)[1],
            on_server["stamps"]["answers.flyer_left"]["s"].split("/", 1)[1]} == {
        first.page.evaluate("() => blockwalk.session.device"), second.page.evaluate("() => blockwalk.session.device")}


def test_sign_in_with_a_one_time_code_and_sign_out_wipes_the_phone(phones, app_server):
    code = app_server.http.post("/api/v1/signin-codes", json={"user": "vic"})
    assert code.status_code == 201, code.text
    phone = phones("vic-code")
    phone.open()
    phone.page.get_by_role("group", name="App language").get_by_role("button", name="Español").click()
    assert phone.page.inner_text("h2") == "Iniciar sesión"
    phone.page.fill("input[name=code]", code.json()["code"].lower().replace("-", " "))
    phone.shot("sign-in-code-es")
    phone.page.click("#signin-code button[type=submit]")
    phone.page.wait_for_selector("#turf-list li")
    assert phone.page.inner_text("h2") == "Mis zonas"
    phone.wait_synced()
    db_name = phone.page.evaluate("() => JSON.parse(localStorage.getItem('bw.session')).dbName")
    assert db_name.startswith("bw-demo-vic-")
    phone.go("#/sync")
    phone.page.wait_for_selector("#signout")
    phone.shot("sync-es")
    token = phone.page.evaluate("() => blockwalk.session.token")
    assert _me(app_server, token) == 200
    phone.page.once("dialog", lambda dialog: dialog.accept())
    phone.page.click("#signout")
    phone.page.wait_for_selector("#signin")
    names = phone.page.evaluate("async () => (await indexedDB.databases()).map(d => d.name)")
    assert not [n for n in names if db_name in n], names
    assert phone.page.evaluate("() => localStorage.getItem('bw.session')") is None
    # The token is revoked on the server, not only forgotten; the used code cannot sign in again either.
    eventually(lambda: _me(app_server, token) == 401, what="the signed-out phone's token was not revoked")
    assert app_server.http.post("/api/v1/auth/code", json={"code": code.json()["code"]}).status_code == 401


def _me(server: LiveServer, token: str) -> int:
    """The status of a call with ``token``: 200 while it works, 401 once revoked."""
    return httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code
