"""Campaigns, members, drives and meetings through the REST API; roles per campaign from the CLI; role caches."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from server import create_app
from server.access import accounts as accounts_module
from server.access.accounts import AccountError, Accounts
from server.cli.demo import COORDINATOR, ORGANIZER, VOLUNTEERS
from server.services import services
from tests import world
from tests.peers import ROOT

API = f"/api/v1/campaigns/{world.CAMPAIGN}"


@pytest.fixture
def app(tmp_path, monkeypatch):
    app = world.build(tmp_path, monkeypatch)
    yield app
    services(app).store.close()


def test_an_admin_creates_a_campaign_and_a_coordinator_renames_it_under_if_match(app):
    ada, cora = world.client(app, "ada"), world.client(app, "cora")
    made = ada.post("/api/v1/campaigns", json={"id": "north", "name": "North side", "description": "Spring drive"})
    assert made.status_code == 201 and made.get_json() | {"rev": None} == {
        "id": "north", "name": "North side", "description": "Spring drive", "role": "admin", "drives": [],
        "time_zone": "UTC", "offline_map_mb": 25, "rev": None}
    assert ada.post("/api/v1/campaigns", json={"id": "north", "name": "Again"}).status_code == 409
    assert ada.post("/api/v1/campaigns", json={"id": "North!", "name": "Bad"}).status_code == 422
    # The campaign document is synced: a phone of the campaign reads it.
    assert world.client(app, "ada").get("/sync/north/campaign:north").get_json()["name"] == "North side"

    read = cora.get(API)
    assert read.status_code == 200 and read.get_json()["role"] == "coordinator"
    assert cora.patch(API, json={"name": "East end"}).status_code == 428
    assert cora.patch(API, json={"name": "East end"}, headers={"If-Match": '"1-' + "0" * 32 + '"'}).status_code == 412
    renamed = cora.patch(API, json={"name": "East end"}, headers={"If-Match": read.headers["ETag"]})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "East end"
    assert renamed.headers["ETag"] != read.headers["ETag"] and renamed.get_json()["description"] == ""
    assert cora.patch(API, json={}, headers={"If-Match": renamed.headers["ETag"]}).status_code == 422
    assert world.store_of(app).get("campaign:east")["name"] == "East end"
    # The time zone the pages show times in: an IANA name, checked.
    bad = cora.patch(API, json={"time_zone": "Mars/Olympus"}, headers={"If-Match": renamed.headers["ETag"]})
    assert bad.status_code == 422 and "time zone" in str(bad.get_json()["errors"])
    zoned = cora.patch(API, json={"time_zone": "America/Chicago"}, headers={"If-Match": renamed.headers["ETag"]})
    assert zoned.status_code == 200 and zoned.get_json()["time_zone"] == "America/Chicago"


def test_a_campaign_refused_for_its_document_leaves_no_database_behind(app):
    ada = world.client(app, "ada")
    refused = ada.post("/api/v1/campaigns", json={"id": "harbour", "name": "   "})
    assert refused.status_code == 422 and "name" in refused.get_json()["message"]
    assert "harbour" not in services(app).store.list_dbs()
    made = ada.post("/api/v1/campaigns", json={"id": "harbour", "name": "Harbour"})  # the same id, now right
    assert made.status_code == 201 and made.get_json()["name"] == "Harbour"


def test_a_document_of_a_type_that_is_not_text_is_refused_in_words_not_with_a_500(app):
    for name in ("cora", "ada"):
        answer = world.client(app, name).post(f"/sync/{world.CAMPAIGN}/_bulk_docs", json={"docs": [
            {"_id": f"note:{name}-1", "type": ["turf"]}, {"_id": f"note:{name}-2", "type": {"kind": "turf"}}]})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        put = world.client(app, name).put(f"/sync/{world.CAMPAIGN}/note:{name}-3", json={"type": {}})
        assert put.status_code in (201, 403), put.get_data(as_text=True)


def test_a_campaign_made_without_a_document_gets_one_on_its_first_edit(app):
    services(app).store.create_db("south")
    ada = world.client(app, "ada")
    bare = ada.get("/api/v1/campaigns/south")
    assert bare.get_json() == {"id": "south", "name": "south", "description": "", "role": "admin", "drives": [],
                               "time_zone": "UTC", "offline_map_mb": 25, "rev": None} and "ETag" not in bare.headers
    assert ada.patch("/api/v1/campaigns/south", json={"description": "x"}, headers={"If-Match": '"1-abc"'}).status_code == 412
    first = ada.patch("/api/v1/campaigns/south", json={"description": "Made later"})
    assert first.status_code == 200 and first.get_json()["rev"].startswith("1-")


def test_members_are_listed_and_a_coordinator_manages_volunteers_only(app):
    cora, ada = world.client(app, "cora"), world.client(app, "ada")
    listed = cora.get(f"{API}/members?page_size=2")
    assert listed.get_json() == [{"user": "cora", "role": "coordinator", "full_name": ""},
                                 {"user": "olly", "role": "organizer", "full_name": ""}]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 4
    nora = world.client(app, "nora")
    assert nora.get(f"{API}/turfs").status_code == 403
    assert cora.put(f"{API}/members/nora", json={"role": "volunteer"}).get_json() == {"user": "nora", "role": "volunteer",
                                                                                   "full_name": ""}
    assert nora.get(f"{API}/meetings").status_code == 200  # at once on this process
    assert nora.get("/api/v1/campaigns").get_json()[0]["id"] == "east"
    for role in ("coordinator", "organizer"):
        assert cora.put(f"{API}/members/nora", json={"role": role}).status_code == 403
    assert cora.put(f"{API}/members/olly", json={"role": "volunteer"}).status_code == 403  # demoting an organizer
    assert cora.delete(f"{API}/members/olly").status_code == 403
    assert cora.put(f"{API}/members/nobody", json={"role": "volunteer"}).status_code == 404
    assert cora.put(f"{API}/members/nora", json={"role": "king"}).status_code == 422
    assert ada.put(f"{API}/members/nora", json={"role": "coordinator"}).status_code == 200
    assert world.client(app, "nora").get(f"{API}/turfs").status_code == 200
    assert ada.delete(f"{API}/members/nora").status_code == 204
    assert ada.delete(f"{API}/members/nora").status_code == 404
    assert nora.get(f"/sync/{world.CAMPAIGN}/_changes").status_code == 403
    # Still a volunteer in west: roles are per campaign.
    assert services(app).accounts.get_user("nora").roles == {"west": "volunteer"}


def test_drives_live_in_the_campaign_document_and_name_forms_of_the_campaign(app):
    cora, vic = world.client(app, "cora"), world.client(app, "vic")
    assert vic.get(f"{API}/drives").get_json() == [{"id": "assets", "name": "Assets", "forms": ["form:asset_mapping"]}]
    etag = vic.get(f"{API}/drives/assets").headers["ETag"]
    body = {"name": "Sign-ups", "forms": ["recruitment", "form:meeting_awareness"]}
    assert cora.put(f"{API}/drives/signups", json=body).status_code == 428
    unknown = cora.put(f"{API}/drives/signups", json={**body, "forms": ["nope"]}, headers={"If-Match": etag})
    assert unknown.status_code == 422 and "nope" in unknown.get_json()["message"]
    saved = cora.put(f"{API}/drives/signups", json=body, headers={"If-Match": etag})
    assert saved.status_code == 200 and saved.get_json()["forms"] == ["form:recruitment", "form:meeting_awareness"]
    assert cora.put(f"{API}/drives/signups", json=body, headers={"If-Match": etag}).status_code == 412  # stale
    assert [d["id"] for d in vic.get(f"{API}/drives").get_json()] == ["assets", "signups"]
    assert world.store_of(app).get("campaign:east")["drives"][1]["id"] == "signups"
    assert cora.put(f"{API}/drives/bad%20id", json=body, headers={"If-Match": saved.headers["ETag"]}).status_code == 422
    assert cora.delete(f"{API}/drives/assets").status_code == 428
    assert cora.delete(f"{API}/drives/assets", headers={"If-Match": saved.headers["ETag"]}).status_code == 204
    assert cora.get(f"{API}/drives/assets").status_code == 404
    # The drives reach a volunteer's phone with the campaign document.
    changes = vic.get(f"/sync/{world.CAMPAIGN}/_changes?include_docs=true").get_json()["results"]
    campaign = next(row["doc"] for row in changes if row["id"] == "campaign:east")
    assert [d["id"] for d in campaign["drives"]] == ["signups"]


def test_meetings_are_written_by_coordinators_and_reach_every_phone(app):
    cora, vic = world.client(app, "cora"), world.client(app, "vic")
    meeting = {"title": {"en": "Tenants' meeting", "es": "Reunión de inquilinos"}, "starts_at": "2027-01-14T18:00:00-06:00",
               "ends_at": "2027-01-14T19:30:00-06:00", "place": "Library", "languages": ["en", "es"]}
    made = cora.put(f"{API}/meetings/jan", json=meeting)
    assert made.status_code == 200 and made.get_json()["id"] == "meeting:jan"
    assert made.get_json()["starts_at"] == "2027-01-14T18:00:00-06:00"
    assert cora.put(f"{API}/meetings/jan", json=meeting).status_code == 428
    assert vic.put(f"{API}/meetings/jan", json=meeting, headers={"If-Match": made.headers["ETag"]}).status_code == 403
    for bad in ({**meeting, "starts_at": "2027-01-14T18:00:00"}, {**meeting, "ends_at": "2027-01-14T17:00:00-06:00"},
                {**meeting, "languages": []}, {**meeting, "languages": ["English"]}, {**meeting, "place": ""}):
        assert cora.put(f"{API}/meetings/feb", json=bad).status_code == 422, bad
    assert [m["id"] for m in vic.get(f"{API}/meetings").get_json()] == ["meeting:m1", "meeting:jan"]  # soonest first
    feed = vic.get(f"/sync/{world.CAMPAIGN}/_changes?include_docs=true").get_json()["results"]
    assert next(row["doc"] for row in feed if row["id"] == "meeting:jan")["place"] == "Library"
    moved = cora.put(f"{API}/meetings/jan", json={**meeting, "place": "Church hall"}, headers={"If-Match": made.headers["ETag"]})
    assert moved.status_code == 200 and moved.get_json()["rev"].startswith("2-")
    assert cora.delete(f"{API}/meetings/jan", headers={"If-Match": made.headers["ETag"]}).status_code == 412
    assert cora.delete(f"{API}/meetings/jan", headers={"If-Match": moved.headers["ETag"]}).status_code == 204
    assert vic.get(f"{API}/meetings/jan").status_code == 404
    assert vic.get(f"/sync/{world.CAMPAIGN}/meeting:jan").status_code == 404


# -- roles: the accounts, their caches, the CLI ------------------------------------------------------


def test_a_role_change_holds_on_another_process_within_the_role_cache_time(app, monkeypatch):
    """Two Accounts on one store play two server processes."""
    here = services(app).accounts
    there = Accounts(services(app).store)
    token = app.config["TEST_TOKENS"]["vic"]
    assert there.check_token(token).roles == {"east": "volunteer"}
    here.set_role("vic", "east", None)
    assert here.check_token(token).roles == {}  # at once where it was changed
    assert there.check_token(token).roles == {"east": "volunteer"}  # still remembered there...
    clock = accounts_module.time.monotonic() + accounts_module.ROLE_CACHE_SECONDS + 1
    monkeypatch.setattr(accounts_module.time, "monotonic", lambda: clock)
    assert there.check_token(token).roles == {}  # ...for ROLE_CACHE_SECONDS at most
    with pytest.raises(AccountError):
        here.set_role("vic", "east", "admin")  # admin is not a campaign role
    with pytest.raises(AccountError):
        here.set_role("nobody", "east", "volunteer")


def _cli(*args: str, store: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server.cli", *args, "--store", store], input=input,
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_roles_per_campaign_from_the_cli(tmp_path):
    store = f"sqlite://{tmp_path}/cli.db"
    for name in ("east", "west"):
        assert _cli("db", "create", name, store=store).returncode == 0
    assert _cli("user", "add", "cora", "--role", "coordinator", "--campaign", "east", store=store,
                input="cora-password\n").stdout == "cora\n"
    assert _cli("user", "grant", "cora", "--campaign", "west", "--role", "volunteer", store=store).stdout == \
        "cora volunteer west\n"
    missing = _cli("user", "add", "vic", "--role", "volunteer", store=store, input="vic-password\n")
    assert missing.returncode == 1 and "name the campaign" in missing.stderr
    typo = _cli("user", "add", "vic", "--role", "volunteer", "--campaign", "esat", store=store, input="vic-password\n")
    assert typo.returncode == 1 and "esat" in typo.stderr
    assert _cli("user", "add", "ana", "--role", "admin", "--campaign", "east", store=store,
                input="ana-password\n").returncode == 1
    assert _cli("user", "grant", "nobody", "--campaign", "east", "--role", "volunteer", store=store).returncode == 1
    assert _cli("user", "grant", "cora", "--campaign", "east", "--role", "none", store=store).returncode == 0
    from server.stores import open_store
    from tests.conftest import store_config

    server = open_store(store, store_config())
    try:
        assert Accounts(server).get_user("cora").roles == {"west": "volunteer"}
    finally:
        server.close()


def test_the_demo_users_have_their_roles_in_the_demo_campaign(tmp_path):
    store = f"sqlite://{tmp_path}/demo.db"
    demo = _cli("demo", store=store)
    assert demo.returncode == 0, demo.stderr
    from server.stores import open_store
    from tests.conftest import store_config

    server = open_store(store, store_config())
    try:
        accounts = Accounts(server)
        assert accounts.get_user(COORDINATOR).roles == {"demo": "coordinator"}
        assert accounts.get_user(ORGANIZER).roles == {"demo": "organizer"}
        assert all(accounts.get_user(v).roles == {"demo": "volunteer"} for v in VOLUNTEERS)
        drives = server.open_db("demo").get("campaign:demo")["drives"]
        assert [d["forms"] for d in drives] == [["form:asset_mapping"], ["form:recruitment"], ["form:meeting_awareness"],
                                                ["form:satisfaction"]]
    finally:
        server.close()
    again = _cli("demo", "--name", "second", store=store)
    assert again.returncode == 0 and "now coordinator in 'second'" in again.stderr


def test_the_demo_organizer_signs_in_with_the_printed_password_and_reads_the_roster(tmp_path):
    store = f"sqlite://{tmp_path}/demo.db"
    demo = _cli("demo", store=store)
    assert demo.returncode == 0, demo.stderr
    password = re.search(rf"Demo organizer: {ORGANIZER} / (\S+)", demo.stderr).group(1)
    app = create_app({"STORE": store}, environ={})
    client = app.test_client()
    login = client.post("/api/v1/auth/login", json={"name": ORGANIZER, "password": password})
    assert login.status_code == 201, login.get_json()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {login.get_json()['token']}"
    people = client.get("/api/v1/campaigns/demo/roster").get_json()
    assert len(people) >= 3
    assert all(p["full_name"] for p in people)
    assert any(any(c and c.get("given") for c in (p.get("consent") or {}).values()) for p in people), people[:2]
    services(app).store.close()
