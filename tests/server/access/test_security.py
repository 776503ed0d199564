"""Every read and write path of /sync and of the REST API, tried by people who must get nothing.

* a volunteer of another turf (``vic``, turf 1, after ``val``'s turf 2):
  404 or a filtered answer, never turf 2's data;
* a volunteer of another campaign (``nora``): 403;
* an expired token, a revoked token, no token: 401.

Each answer is also searched for turf 2's data: a refusal never carries any.
"""

from __future__ import annotations

import json
import re

import pytest

from server.api import PREFIX
from server.services import services
from tests import world

SYNC = f"/sync/{world.CAMPAIGN}"
SECRET = re.compile(r"Oak St|record:val-2|household:2a|assignment:val|c2VjcmV0|secret")  # turf 2's data, or ids
# Turf 2's data (a filtered answer may name the ids it was asked about, and nothing else of them).
DATA = re.compile(r'Oak St|c2VjcmV0|secret|"turf": ?"turf:2"|"_id": ?"turf:2"|"user": ?"val"')


@pytest.fixture
def app(tmp_path, monkeypatch):
    app = world.build(tmp_path, monkeypatch)
    yield app
    services(app).store.close()


def _rev(app, doc_id: str) -> str:
    return world.store_of(app).get(doc_id)["_rev"]


def _sync_paths(app) -> dict[str, tuple[str, str, dict]]:
    """Every read and write path of /sync: (method, url, keyword arguments of the test client)."""
    rev = _rev(app, "record:val-2")
    stray = {"_id": "record:vic-9", "type": "record", "form": "form:asset_mapping", "form_version": 1,
             "answers": {"outcome": "not_home"}, "author": "vic", "turf": "turf:2"}
    return {
        "database": ("GET", SYNC, {}),
        "changes": ("GET", f"{SYNC}/_changes?style=all_docs&include_docs=true", {}),
        "changes longpoll": ("GET", f"{SYNC}/_changes?feed=longpoll&timeout=200&include_docs=true", {}),
        "changes doc_ids (GET)": ("GET", f"{SYNC}/_changes?filter=_doc_ids&include_docs=true&doc_ids="
                                  + json.dumps(["household:2a", "record:val-2"]), {}),
        "changes doc_ids (POST)": ("POST", f"{SYNC}/_changes?filter=_doc_ids&include_docs=true",
                                   {"json": {"doc_ids": ["household:2a", "record:val-2"]}}),
        "all_docs": ("GET", f"{SYNC}/_all_docs?include_docs=true", {}),
        "all_docs keys": ("POST", f"{SYNC}/_all_docs?include_docs=true", {"json": {"keys": ["household:2a", "record:val-2"]}}),
        "bulk_get": ("POST", f"{SYNC}/_bulk_get?revs=true", {"json": {"docs": [{"id": "record:val-2", "rev": rev},
                                                                               {"id": "household:2a"}]}}),
        "get": ("GET", f"{SYNC}/record:val-2", {}),
        "get rev": ("GET", f"{SYNC}/record:val-2?rev={rev}&revs=true", {}),
        "open_revs all": ("GET", f"{SYNC}/record:val-2?open_revs=all&revs=true", {}),
        "open_revs list": ("GET", f"{SYNC}/record:val-2?open_revs=" + json.dumps([rev]), {}),
        "attachment": ("GET", f"{SYNC}/record:val-2/door.txt", {}),
        "revs_diff": ("POST", f"{SYNC}/_revs_diff", {"json": {"record:val-2": [rev], "household:2a": ["1-" + "0" * 32]}}),
        "bulk_docs": ("POST", f"{SYNC}/_bulk_docs", {"json": {"docs": [stray]}}),
        "bulk_docs new_edits=false": ("POST", f"{SYNC}/_bulk_docs", {"json": {"new_edits": False, "docs": [
            {**stray, "_rev": "1-" + "a" * 32, "_revisions": {"start": 1, "ids": ["a" * 32]}}]}}),
        "put": ("PUT", f"{SYNC}/record:vic-9", {"json": stray}),
        "post": ("POST", SYNC, {"json": stray}),
        "delete": ("DELETE", f"{SYNC}/record:val-2?rev={rev}", {}),
        "local get": ("GET", f"{SYNC}/_local/checkpoint", {}),
        "local put": ("PUT", f"{SYNC}/_local/checkpoint", {"json": {"last_seq": "9"}}),
    }


def _call(client, method: str, url: str, kwargs: dict):
    return client.open(url, method=method, **kwargs)


BAD_CREDENTIALS = {"expired token": 401, "revoked token": 401, "no token": 401, "no role in the campaign": 403}


def _bad_client(app, who: str):
    if who == "expired token":
        return world.client(app, token=app.config["EXPIRED"])
    if who == "revoked token":
        return world.client(app, token=app.config["REVOKED"])
    if who == "no token":
        return world.client(app)
    return world.client(app, "nora")


SYNC_PATH_NAMES = ["database", "changes", "changes longpoll", "changes doc_ids (GET)", "changes doc_ids (POST)",
                   "all_docs", "all_docs keys", "bulk_get", "get", "get rev", "open_revs all", "open_revs list",
                   "attachment", "revs_diff", "bulk_docs", "bulk_docs new_edits=false", "put", "post", "delete",
                   "local get", "local put"]


def test_the_list_of_paths_is_complete(app):
    assert list(_sync_paths(app)) == SYNC_PATH_NAMES


@pytest.mark.parametrize("who", list(BAD_CREDENTIALS))
@pytest.mark.parametrize("path", SYNC_PATH_NAMES)
def test_sync_refuses_bad_credentials_on_every_path(app, path, who):
    method, url, kwargs = _sync_paths(app)[path]
    before = world.store_of(app).info().update_seq
    response = _call(_bad_client(app, who), method, url, kwargs)
    assert response.status_code == BAD_CREDENTIALS[who], (path, who, response.get_data(as_text=True))
    body = response.get_data(as_text=True)
    assert set(response.get_json()) == {"error", "reason"} and not SECRET.search(body), body
    assert world.store_of(app).info().update_seq == before  # nothing written
    if response.status_code == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_sync_gives_a_volunteer_of_another_turf_nothing_of_it(app):
    """vic (turf 1) tries every path on val's turf 2."""
    vic = world.client(app, "vic")
    paths = _sync_paths(app)
    store = world.store_of(app)
    before = store.get("record:val-2")

    def call(name):
        return _call(vic, *paths[name])

    ok = {"database", "changes", "changes longpoll", "changes doc_ids (GET)", "changes doc_ids (POST)", "all_docs",
          "all_docs keys", "bulk_get", "revs_diff", "bulk_docs", "bulk_docs new_edits=false", "local get", "local put"}
    for name in paths:
        response = call(name)
        body = response.get_data(as_text=True)
        assert not DATA.search(body), (name, body)
        if name in ("get", "get rev", "open_revs all", "open_revs list", "attachment"):
            assert response.status_code == 404 and response.get_json()["error"] == "not_found", name
        elif name in ("put", "post", "delete"):
            assert response.status_code == 403 and response.get_json()["error"] == "forbidden", name
        elif name == "local get":
            assert response.status_code in (200, 404), name  # checkpoints are the device's own, not turf data
        else:
            assert name in ok and response.status_code in (200, 201), (name, response.status_code, body)
    # The answers that are not errors say "not found" or "missing" for what vic may not see.
    rows = call("all_docs keys").get_json()["rows"]
    assert rows == [{"key": "household:2a", "error": "not_found"}, {"key": "record:val-2", "error": "not_found"}]
    got = call("bulk_get").get_json()["results"]
    assert [r["docs"][0]["error"]["error"] for r in got] == ["not_found", "not_found"]
    diff = call("revs_diff").get_json()
    assert diff == {"record:val-2": {"missing": [before["_rev"]]}, "household:2a": {"missing": ["1-" + "0" * 32]}}
    for name in ("bulk_docs", "bulk_docs new_edits=false"):
        assert [r["error"] for r in call(name).get_json()] == ["forbidden"]
    assert call("changes doc_ids (POST)").get_json()["results"] == []
    # Nothing of turf 2 changed, and vic's stray record was not stored.
    assert store.get("record:val-2") == before
    assert store.all_docs(keys=["record:vic-9"])["rows"][0].get("error") == "not_found"


def test_a_longpoll_does_not_wake_for_another_turfs_change(app):
    vic = world.client(app, "vic")
    last = vic.get(f"{SYNC}/_changes").get_json()["last_seq"]
    world.store_of(app).put({"_id": "household:2b", "type": "household", "turf": "turf:2", "address": "4 Oak St"})
    waited = vic.get(f"{SYNC}/_changes", query_string={"feed": "longpoll", "timeout": 300, "since": last,
                                                        "include_docs": "true"})
    assert waited.status_code == 200 and waited.get_json()["results"] == [] and "Oak" not in waited.get_data(as_text=True)
    world.store_of(app).put({"_id": "household:1c", "type": "household", "turf": "turf:1", "address": "5 Maple St"})
    woken = vic.get(f"{SYNC}/_changes", query_string={"feed": "longpoll", "timeout": 300, "since": last})
    assert [row["id"] for row in woken.get_json()["results"]] == ["household:1c"]


# -- Roster data: a coordinator and a recruitment record -------------------------------------------

# A resident's sign-up (record:signup): name, phone, consent attachment.
PII = re.compile(r"Rosa Diaz|5550123|c2lnbmVk|consent\.txt|^signed$")
SIGNUP_READS = ["changes", "changes longpoll", "changes doc_ids (GET)", "changes doc_ids (POST)", "all_docs",
                "all_docs keys", "bulk_get", "get", "get rev", "open_revs all", "open_revs list", "attachment",
                "revs_diff"]
# The paths that are asked about the sign-up by id, and may name it in a "not found" answer.
NAMED = {"changes doc_ids (GET)", "changes doc_ids (POST)", "all_docs keys", "bulk_get", "get", "get rev",
         "open_revs all", "open_revs list", "attachment", "revs_diff"}


def _signup_reads(app) -> dict[str, tuple[str, str, dict]]:
    rev = _rev(app, "record:signup")
    ids = json.dumps(["record:signup"])
    return {
        "changes": ("GET", f"{SYNC}/_changes?style=all_docs&include_docs=true", {}),
        "changes longpoll": ("GET", f"{SYNC}/_changes?feed=longpoll&timeout=200&include_docs=true", {}),
        "changes doc_ids (GET)": ("GET", f"{SYNC}/_changes?filter=_doc_ids&include_docs=true&doc_ids={ids}", {}),
        "changes doc_ids (POST)": ("POST", f"{SYNC}/_changes?filter=_doc_ids&include_docs=true",
                                   {"json": {"doc_ids": ["record:signup"]}}),
        "all_docs": ("GET", f"{SYNC}/_all_docs?include_docs=true", {}),
        "all_docs keys": ("POST", f"{SYNC}/_all_docs?include_docs=true", {"json": {"keys": ["record:signup"]}}),
        "bulk_get": ("POST", f"{SYNC}/_bulk_get?revs=true&attachments=true",
                     {"json": {"docs": [{"id": "record:signup", "rev": rev}]}}),
        "get": ("GET", f"{SYNC}/record:signup?attachments=true", {}),
        "get rev": ("GET", f"{SYNC}/record:signup?rev={rev}&revs=true", {}),
        "open_revs all": ("GET", f"{SYNC}/record:signup?open_revs=all&revs=true", {}),
        "open_revs list": ("GET", f"{SYNC}/record:signup?open_revs=" + json.dumps([rev]), {}),
        "attachment": ("GET", f"{SYNC}/record:signup/consent.txt", {}),
        "revs_diff": ("POST", f"{SYNC}/_revs_diff", {"json": {"record:signup": [rev]}}),
    }


def test_the_list_of_signup_reads_is_every_read_path(app):
    writes = {"database", "bulk_docs", "bulk_docs new_edits=false", "put", "post", "delete", "local get", "local put"}
    assert set(_signup_reads(app)) == set(SYNC_PATH_NAMES) - writes


@pytest.mark.parametrize("path", SIGNUP_READS)
def test_a_coordinator_reads_no_recruitment_record_on_any_sync_path(app, path):
    """Roster data (residents' contact details and consent) is for organizers and admins only."""
    method, url, kwargs = _signup_reads(app)[path]
    response = _call(world.client(app, "cora"), method, url, kwargs)
    body = response.get_data(as_text=True)
    assert not PII.search(body), (path, body)
    if path not in NAMED:
        assert "record:signup" not in body, (path, body)
    if path in ("get", "get rev", "open_revs all", "open_revs list", "attachment"):
        assert response.status_code == 404 and response.get_json()["error"] == "not_found", path
    else:
        assert response.status_code == 200, (path, body)
    if path == "all_docs keys":
        assert response.get_json()["rows"] == [{"key": "record:signup", "error": "not_found"}]
    if path == "bulk_get":
        assert response.get_json()["results"][0]["docs"][0]["error"]["error"] == "not_found"
    if path == "revs_diff":
        assert response.get_json() == {"record:signup": {"missing": [_rev(app, "record:signup")]}}
    # The coordinator still reads the rest of the campaign on that path.
    if path in ("changes", "all_docs"):
        assert "record:val-2" in body and "Oak St" in body
    # And an organizer (roster data is theirs) gets the sign-up on the same path.
    organizer = _call(world.client(app, "olly"), method, url, kwargs)
    if path == "revs_diff":
        assert organizer.get_json() == {}  # the organizer holds it: nothing missing
    else:
        assert PII.search(organizer.get_data(as_text=True)), (path, organizer.get_data(as_text=True))


def test_a_coordinators_longpoll_does_not_wake_for_a_sign_up(app):
    cora = world.client(app, "cora")
    last = cora.get(f"{SYNC}/_changes").get_json()["last_seq"]
    signup = {**world.store_of(app).get("record:signup"), "_id": "record:signup-2"}
    del signup["_rev"], signup["_attachments"]
    world.store_of(app).put(signup)
    waited = cora.get(f"{SYNC}/_changes", query_string={"feed": "longpoll", "timeout": 300, "since": last,
                                                         "include_docs": "true"})
    assert waited.status_code == 200 and waited.get_json()["results"] == [], waited.get_json()
    world.store_of(app).put({"_id": "household:1c", "type": "household", "turf": "turf:1", "address": "5 Maple St"})
    woken = cora.get(f"{SYNC}/_changes", query_string={"feed": "longpoll", "timeout": 300, "since": last})
    assert [row["id"] for row in woken.get_json()["results"]] == ["household:1c"]


def test_a_volunteer_keeps_their_own_sign_ups(app):
    """The app shows its canvasser's past visits, sign-ups included (through user:<name>)."""
    vic = world.client(app, "vic")
    ids = [row["id"] for row in vic.get(f"{SYNC}/_changes").get_json()["results"]]
    assert "record:vic-signup" in ids and "record:signup" not in ids
    assert vic.get(f"{SYNC}/record:vic-signup").status_code == 200


# -- REST ----------------------------------------------------------------------------------------


def _operations(app) -> list[tuple[str, str]]:
    spec = app.test_client().get("/api/openapi.json").get_json()
    return [(method.upper(), path) for path, item in spec["paths"].items() for method in item
            if method in ("get", "put", "post", "patch", "delete")]


def _concrete(path: str) -> str:
    values = {"campaign": world.CAMPAIGN, "turf_id": "turf:2", "user": "val", "name": "val", "token_id": "0" * 64,
              "form_id": "asset_mapping", "doc_id": "form:asset_mapping@1", "drive_id": "assets", "meeting_id": "m1",
              "record_id": "record:1", "field": "notes", "device_id": "phone-1", "entry_id": "audit:x",
              "issue_id": "i1"}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


SIGN_IN = ("/api/v1/auth/",)


def test_every_rest_operation_refuses_bad_credentials(app):
    operations = _operations(app)
    assert len(operations) >= 30
    store = world.store_of(app)
    before = store.info().update_seq
    checked = 0
    for method, path in operations:
        if path.startswith(SIGN_IN):
            continue
        url = _concrete(path)
        for who, status in BAD_CREDENTIALS.items():
            if who == "no role in the campaign" and "{campaign}" not in path:
                continue  # users, tokens, sign-in codes: no campaign (their own checks are in the matrix)
            response = _bad_client(app, who).open(url, method=method, json={})
            assert response.status_code == status, (method, url, who, response.get_data(as_text=True))
            body = response.get_json()
            assert set(body) <= {"code", "status", "message", "errors"} and body["code"] == status
            assert not SECRET.search(response.get_data(as_text=True))
            checked += 1
    assert checked >= 100
    assert store.info().update_seq == before  # nothing was written


def test_the_rest_api_lists_only_the_campaigns_one_has_a_role_in(app):
    nora = world.client(app, "nora")
    assert [c["id"] for c in nora.get(f"{PREFIX}/campaigns").get_json()] == ["west"]
    assert [(c["id"], c["role"]) for c in world.client(app, "vic").get(f"{PREFIX}/campaigns").get_json()] == [
        ("east", "volunteer")]
    assert [c["id"] for c in world.client(app, "ada").get(f"{PREFIX}/campaigns").get_json()] == ["east", "west"]
