"""The review-queue page in headless Chromium: conflicts by turf, values side by side, resolved by a click or typing."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

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


def conflicted(site, campaign: str, record_id: str, turf: str, field: str, values: tuple, geotags: tuple) -> None:
    """A record two phones edited at once, pushed as PouchDB pushes: the server merges it on arrival."""
    root = stamp_edit(None, {"_id": record_id, "turf": turf, "household": f"household:{record_id[-1]}", **copy.deepcopy(VISIT)},
                      device="phone-ana", user="ana", clock=Clock(), now_ms=T)
    root = {**root, "_rev": "1-" + "0" * 32, "_revisions": {"start": 1, "ids": ["0" * 32]}}
    leaves = [root]
    for n, (device, value, geotag) in enumerate(zip(("phone-ana", "phone-ben"), values, geotags)):
        after = copy.deepcopy(root)
        after["answers"][field] = value
        after["geotag"] = geotag
        doc = stamp_edit(root, after, device=device, user=device[6:], clock=Clock(), now_ms=T + 60_000 * (n + 1))
        h = "ab"[n] * 32
        leaves.append({**doc, "_rev": f"2-{h}", "_revisions": {"start": 2, "ids": [h, "0" * 32]}})
    for leaf in leaves:
        response = site.http.post(f"/sync/{campaign}/_bulk_docs", json={"docs": [leaf], "new_edits": False})
        assert response.status_code == 201 and response.json() == [], response.text


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_a_coordinator_reviews_and_resolves_conflicts_in_the_browser(site, laptop):
    campaign = site.new_db(forms=True)
    assert site.http.put(f"/api/v1/campaigns/{campaign}/turfs/north",
                         json={"name": "North blocks", "geometry": SQUARE}).status_code == 200
    here, there = {"lat": 41.88012, "lon": -87.63021, "accuracy_m": 6}, {"lat": 41.88101, "lon": -87.62899, "accuracy_m": 25}
    conflicted(site, campaign, "record:door-1", "turf:north", "door_language", ("es", "pl"), (here, there))
    conflicted(site, campaign, "record:door-2", "turf:south", "door_language", ("vi", "ar"), (there, here))

    page, errors = laptop
    page.goto(f"{site.url}/coordinator/conflicts.html?campaign={campaign}")
    page.fill("#name", LiveServer.ADMIN[0])  # not signed in: sent to sign in, then back here
    page.fill("#password", LiveServer.ADMIN[1])
    page.click("#signin-button")
    page.locator("article.conflict").first.wait_for()
    sections = page.locator("section.turf")
    assert sections.count() == 2
    assert [sections.nth(i).get_attribute("data-turf") for i in range(2)] == ["turf:north", "turf:south"]
    assert sections.nth(0).locator("h2").inner_text().startswith("North blocks")
    first = page.locator('article.conflict[data-record="record:door-1"]')
    heads = first.locator("td.head")
    assert heads.count() == 2
    ana, ben = heads.nth(0).inner_text(), heads.nth(1).inner_text()
    assert ana.startswith("es") and "ana · phone-ana" in ana and "41.88012, -87.63021 ±6 m" in ana
    assert ben.startswith("pl") and "ben · phone-ben" in ben and "±25 m" in ben
    assert "Provisional value: pl" in first.inner_text()
    shot(page, "queue")

    heads.nth(0).get_by_role("button", name="Keep this value").click()  # the canvasser who was closer
    page.get_by_role("status").wait_for()
    page.locator('#queue[aria-busy="false"]').wait_for()  # the list drawn again after the resolve
    assert page.locator('article.conflict[data-record="record:door-1"]').count() == 0
    doc = site.http.get(f"/sync/{campaign}/record:door-1").json()
    assert doc["answers"]["door_language"] == "es" and "answers.door_language" not in doc.get("conflicts", {})
    assert doc["stamps"]["answers.door_language"]["by"] == LiveServer.ADMIN[0]

    page.select_option("#turf", "turf:south")
    page.locator('#queue[aria-busy="false"]').wait_for()  # the south list drawn, not the one before it
    second = page.locator('article.conflict[data-record="record:door-2"]')
    second.wait_for()
    second.locator("input.typed").fill("klingon")  # not a choice of the form: refused, nothing lost
    second.get_by_role("button", name="Save this value").click()
    second.get_by_role("alert").wait_for()
    assert "door_language" in second.get_by_role("alert").inner_text()
    shot(page, "refused-value")
    second.locator("input.typed").fill("zh")
    second.get_by_role("button", name="Save this value").click()
    page.locator("#empty").wait_for()
    assert site.http.get(f"/sync/{campaign}/record:door-2").json()["answers"]["door_language"] == "zh"
    page.select_option("#turf", "")
    page.locator('#queue[aria-busy="false"]').wait_for()
    page.locator("#empty").wait_for()
    shot(page, "empty")
    assert errors == []
