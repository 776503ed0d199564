"""The review-queue page in headless Chromium: conflicts by turf, values side by side, resolved by a click or typing."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from server.records.conflicts import RECORD_FIELDS
from sync.stamps import Clock, stamp_edit
from tests.peers import LiveServer

SHOTS = Path(__file__).resolve().parents[2] / "screenshots" / "conflicts"
T = 1_764_085_500_000
VISIT = {"type": "record", "form": "form:meeting_awareness", "form_version": 1, "author": "ana",
         "answers": {"outcome": "contacted", "informed": "yes", "flyer_left": "yes", "door_language": "en"},
         "geotag": {"lat": 41.88, "lon": -87.63, "accuracy_m": 12}}
SQUARE = {"type": "Polygon", "coordinates": [[[-87.64, 41.87], [-87.62, 41.87], [-87.62, 41.89], [-87.64, 41.89], [-87.64, 41.87]]]}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("review-queue"))
    yield live
    live.close()


ASSET = {"category": "space", "asset_name": "Fulton Park field house", "languages_served": ["en", "es"], "capacity": 50}
ASSETS_VISIT = {"type": "record", "form": "form:asset_mapping", "form_version": 1, "author": "ana",
                "answers": {"outcome": "contacted", "door_language": "en",
                            "assets": [dict(ASSET, capacity=45), {"category": "business", "asset_name": "Corner bakery"}]},
                "geotag": {"lat": 41.88, "lon": -87.63, "accuracy_m": 12}}


def conflicted(site, campaign: str, record_id: str, turf: str, field: str, values: tuple, geotags: tuple,
               base: dict = VISIT, household: str | None = None) -> None:
    """A record two phones edited at once, pushed as PouchDB pushes: the server merges it on arrival."""
    root = stamp_edit(None, {"_id": record_id, "turf": turf, "household": household or f"household:{record_id[-1]}",
                             **copy.deepcopy(base)}, device="phone-ana", user="ana", clock=Clock(), now_ms=T, layout=RECORD_FIELDS)
    root = {**root, "_rev": "1-" + "0" * 32, "_revisions": {"start": 1, "ids": ["0" * 32]}}
    leaves = [root]
    for n, (device, value, geotag) in enumerate(zip(("phone-ana", "phone-ben"), values, geotags)):
        after = copy.deepcopy(root)
        after["answers"][field] = value
        after["geotag"] = geotag
        doc = stamp_edit(root, after, device=device, user=device[6:], clock=Clock(), now_ms=T + 60_000 * (n + 1), layout=RECORD_FIELDS)
        h = "ab"[n] * 32
        leaves.append({**doc, "_rev": f"2-{h}", "_revisions": {"start": 2, "ids": [h, "0" * 32]}})
    for leaf in leaves:
        response = site.http.post(f"/sync/{campaign}/_bulk_docs", json={"docs": [leaf], "new_edits": False})
        assert response.status_code == 201 and response.json() == [], response.text


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def queue_campaign(site) -> str:
    """Two turfs' conflicts (a door's language), one on a repeat (capacity 50 against 60), households with addresses,
    the campaign in Chicago's time zone."""
    campaign = site.new_db(forms=True)
    assert site.http.put(f"/api/v1/campaigns/{campaign}/turfs/north",
                         json={"name": "North blocks", "geometry": SQUARE}).status_code == 200
    current = site.http.get(f"/api/v1/campaigns/{campaign}").json()
    headers = {"If-Match": f'"{current["rev"]}"'} if current["rev"] else {}
    response = site.http.patch(f"/api/v1/campaigns/{campaign}", json={"time_zone": "America/Chicago"}, headers=headers)
    assert response.status_code == 200 and response.json()["time_zone"] == "America/Chicago", response.text
    homes = [{"_id": "household:1", "type": "household", "address": "2601 W Fulton St", "unit": None, "turf": "turf:north"},
             {"_id": "household:2", "type": "household", "address": "2700 W Walnut St", "unit": "2F", "turf": "turf:south"}]
    assert all(r.get("ok") for r in site.http.post(f"/sync/{campaign}/_bulk_docs", json={"docs": homes}).json())
    here, there = {"lat": 41.88012, "lon": -87.63021, "accuracy_m": 6}, {"lat": 41.88101, "lon": -87.62899, "accuracy_m": 25}
    conflicted(site, campaign, "record:door-1", "turf:north", "door_language", ("es", "pl"), (here, there))
    conflicted(site, campaign, "record:door-2", "turf:south", "door_language", ("vi", "ar"), (there, here))
    bakery = ASSETS_VISIT["answers"]["assets"][1]
    conflicted(site, campaign, "record:park-1", "turf:north", "assets", ([ASSET, bakery], [dict(ASSET, capacity=60), bakery]),
               (here, there), base=ASSETS_VISIT, household="household:1")
    return campaign


def sign_in(page, site, campaign: str) -> None:
    page.goto(f"{site.url}/coordinator/conflicts.html?campaign={campaign}")
    page.fill("#name", LiveServer.ADMIN[0])  # not signed in: sent to sign in, then back here
    page.fill("#password", LiveServer.ADMIN[1])
    page.click("#signin-button")
    try:
        page.locator('#queue[aria-busy="false"] article.conflict').first.wait_for()
    except Exception:
        raise AssertionError(f"the queue was not drawn: {page.locator('main').inner_text()}") from None


def test_a_coordinator_reviews_and_resolves_conflicts_in_the_browser(site, laptop):
    campaign = queue_campaign(site)
    page, errors = laptop
    page.set_viewport_size({"width": 1366, "height": 860})
    sign_in(page, site, campaign)
    sections = page.locator("section.turf")
    assert sections.count() == 2
    assert [sections.nth(i).get_attribute("data-turf") for i in range(2)] == ["turf:north", "turf:south"]
    assert sections.nth(0).locator("h2").inner_text().startswith("North blocks")
    first = page.locator('article.conflict[data-record="record:door-1"]')
    # The form's label, the household's address, the choices' labels, the campaign's time: never ids or JSON.
    assert first.get_by_role("heading").inner_text() == "Language spoken at the door"
    assert "Household: 2601 W Fulton St" in first.inner_text()
    heads = first.locator(".head")
    assert heads.count() == 2
    ana, ben = heads.nth(0).inner_text(), heads.nth(1).inner_text()
    assert ana.startswith("Spanish") and "\nana\n" in ana and "41.88012, -87.63021 ±6 m" in ana
    assert "phone-ana" not in ana  # a phone's id means nothing to a coordinator (numbered only for one person's two phones)
    assert "9:46" in ana and "CST" in ana  # 15:46 UTC, in Chicago
    assert ben.startswith("Polish") and "\nben\n" in ben and "±25 m" in ben
    assert "Provisional value: Polish" in first.inner_text()
    assert "household:" not in page.locator("main").inner_text() and "record:" not in page.locator("main").inner_text()

    # A repeat: each asset with the form's labels, only the answer that differs marked; no JSON; no typing.
    park = page.locator('article.conflict[data-record="record:park-1"]')
    assert park.get_by_role("heading").inner_text() == "Assets at this address"
    values = park.locator(".head")
    text = values.nth(0).inner_text()
    assert "How many people can it serve or hold?" in text and "Physical space" in text and "English, Spanish" in text
    assert "[" not in text and "{" not in text and "space" not in text.replace("Physical space", "")
    assert values.nth(0).locator("mark").all_inner_texts() == ["50"]
    assert values.nth(1).locator("mark").all_inner_texts() == ["60"]
    assert park.locator(".typed").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 1366  # no table wider than the window
    shot(page, "queue")

    heads.nth(0).get_by_role("button", name="Keep this value").click()  # the canvasser who was closer
    page.get_by_role("status").wait_for()
    page.locator('#queue[aria-busy="false"]').wait_for()  # the list drawn again after the resolve
    assert page.locator('article.conflict[data-record="record:door-1"]').count() == 0
    assert "2601 W Fulton St" in page.get_by_role("status").inner_text()
    doc = site.http.get(f"/sync/{campaign}/record:door-1").json()
    assert doc["answers"]["door_language"] == "es" and "answers.door_language" not in doc.get("conflicts", {})
    assert doc["stamps"]["answers.door_language"]["by"] == LiveServer.ADMIN[0]

    park.locator(".head").nth(1).get_by_role("button", name="Keep this value").click()
    page.locator('#queue[aria-busy="false"]').wait_for()
    page.locator('article.conflict[data-record="record:park-1"]').wait_for(state="detached")
    assert site.http.get(f"/sync/{campaign}/record:park-1").json()["answers"]["assets"][0]["capacity"] == 60

    page.select_option("#turf", "turf:south")
    page.locator('#queue[aria-busy="false"]').wait_for()  # the south list drawn, not the one before it
    second = page.locator('article.conflict[data-record="record:door-2"]')
    second.wait_for()
    assert "2700 W Walnut St, 2F" in second.inner_text()
    second.get_by_role("button", name="Save this value").click()  # nothing chosen: said so, nothing sent
    assert "Type or choose a value first" in second.get_by_role("alert").inner_text()
    # A choice of the form, by its label, in the field's own input (never JSON).
    second.get_by_label("Or give a new value").select_option(label="Chinese")
    second.get_by_role("button", name="Save this value").click()
    page.locator("#empty").wait_for()
    assert site.http.get(f"/sync/{campaign}/record:door-2").json()["answers"]["door_language"] == "zh"
    page.select_option("#turf", "")
    page.locator('#queue[aria-busy="false"]').wait_for()
    page.locator("#empty").wait_for()
    shot(page, "empty")
    assert errors == []


@pytest.mark.parametrize("locale", ["en-GB", "es-ES"])
def test_the_queue_in_spanish_and_at_768_px(site, chromium, locale):
    campaign = queue_campaign(site)
    context = chromium.new_context(viewport={"width": 768, "height": 900}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, site, campaign)
        park = page.locator('article.conflict[data-record="record:park-1"]')
        if locale == "es-ES":
            assert park.get_by_role("heading").inner_text() == "Recursos en esta dirección"
            assert "Espacio físico" in park.inner_text() and "Inglés, Español" in park.inner_text()
            assert page.get_by_role("button", name="Conservar este valor").count() == 6
        assert page.evaluate("document.documentElement.scrollWidth") <= 768
        shot(page, f"queue-768-{locale}")
    finally:
        context.close()


def test_an_organizer_reads_the_queue_but_is_offered_nothing_the_api_would_refuse(site, laptop):
    from tests.peers import blockwalk

    campaign = queue_campaign(site)
    blockwalk("user", "add", "orla", store=site.store, input="orla-password-1\n")
    assert site.http.put(f"/api/v1/campaigns/{campaign}/members/orla", json={"role": "organizer"}).status_code == 200
    page, errors = laptop
    page.goto(f"{site.url}/coordinator/conflicts.html?campaign={campaign}")
    page.fill("#name", "orla")
    page.fill("#password", "orla-password-1")
    page.click("#signin-button")
    page.locator('#queue[aria-busy="false"] article.conflict').first.wait_for()
    queue = page.locator("#queue")
    assert queue.get_by_role("button").count() == 0 and queue.locator("input, select").count() == 0
    assert "Admins and coordinators resolve conflicts; you may read them." in queue.inner_text()
    assert errors == []
