"""Users, device tokens, sign-in codes and signing in through the REST API, on a real SQLite store."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
import schemathesis
import segno
from hypothesis import HealthCheck, given, settings

from server import create_app
from server.access import accounts as accounts_module
from server.access.accounts import ROLES
from server.app import trust_proxies
from server.services import services
from sync import jsonutil
from tests.server.api.test_fuzz import CHECKS

USERS = {"ada": "admin", "olly": "organizer", "cora": "coordinator", "vic": "volunteer", "val": "volunteer"}
CODE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setattr(accounts_module, "SCRYPT", {"n": 2**4, "r": 8, "p": 1})  # fast hashes for the test users
    app = create_app({"STORE": f"sqlite://{tmp_path}/accounts.db"}, environ={})
    accounts = services(app).accounts
    accounts.clock = Clock()
    for name, role in USERS.items():
        accounts.add_user(name, role, f"{name}-password", None if role == "admin" else "east")
    services(app).store.create_db("east")
    app.config["TEST_TOKENS"] = {name: accounts.create_token(name, label=f"{name}'s phone") for name in USERS}
    app.config["SEEN"] = []  # every response body of the test, checked for secrets at the end
    yield app
    _assert_no_secrets(app)
    services(app).store.close()


def _accounts(app):
    return services(app).accounts


class _Client:
    """The Flask test client, remembering every response body."""

    def __init__(self, app, user: str | None, address: str):
        self.app, self.client = app, app.test_client()
        self.client.environ_base["REMOTE_ADDR"] = address
        if user:
            self.client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['TEST_TOKENS'][user]}"

    def __getattr__(self, method):
        def call(*args, **kwargs):
            response = getattr(self.client, method)(*args, **kwargs)
            self.app.config["SEEN"].append(response.get_data(as_text=True))
            return response
        return call


def _client(app, user: str | None = None, address: str = "10.0.0.1") -> _Client:
    return _Client(app, user, address)


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _login(client, name: str, password: str | None = None, **extra):
    return client.post("/api/v1/auth/login", json={"name": name, "password": password or f"{name}-password", **extra})


def _assert_no_secrets(app) -> None:
    """No response carried a password, a hash, a stored token id or a code's hash; tokens only where issued."""
    db = _accounts(app).db
    docs = [row["doc"] for row in db.all_docs(include_docs=True)["rows"]]
    signin_hashes = [d["_id"].removeprefix("signin:") for d in docs if d["_id"].startswith("signin:")]
    for body in app.config["SEEN"]:
        assert "scrypt$" not in body and not any(f"{name}-password" in body for name in [*USERS, "nia"])
        assert not re.search(r"(token|signin):[0-9a-f]{64}", body)
        assert not any(h in body for h in signin_hashes)
        for token in app.config["TEST_TOKENS"].values():
            assert token not in body


# -- signing in with a password -------------------------------------------------------------


def test_a_password_gives_a_device_token_without_any_credential(app):
    client = _client(app)
    response = _login(client, "vic", label="Vic's tablet")
    assert response.status_code == 201
    body = response.get_json()
    assert set(body) == {"token", "expires_at"} and body["token"].startswith("bw_")
    expires = datetime.fromisoformat(body["expires_at"])
    assert timedelta(days=29) < expires - datetime.now(timezone.utc) <= timedelta(days=30)
    assert client.get("/api/v1/users/vic", headers=_bearer(body["token"])).get_json() == {"name": "vic", "admin": False, "roles": {"east": "volunteer"}}
    labels = [t["label"] for t in _accounts(app).tokens_of("vic")]
    assert "Vic's tablet" in labels
    for name, password in (("vic", "wrong-password"), ("nobody", "vic-password")):
        refused = _login(client, name, password)
        assert refused.status_code == 401 and refused.get_json()["code"] == 401
    assert client.post("/api/v1/auth/login", json={"name": "vic"}).status_code == 422
    spec = client.get("/api/openapi.json").get_json()["paths"]
    assert spec["/api/v1/auth/login"]["post"]["security"] == [] and spec["/api/v1/auth/code"]["post"]["security"] == []


def test_failed_logins_are_limited_per_account(app):
    clock = _accounts(app).clock
    client = _client(app)
    for _ in range(5):
        assert _login(client, "vic", "guess-password").status_code == 401
    refused = _login(client, "vic")  # the right password, too late
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "900"
    assert refused.get_json()["code"] == 429
    assert _login(_client(app, address="10.9.9.9"), "vic").status_code == 429  # from anywhere
    assert _login(client, "val").status_code == 201  # another account is not held up
    clock.now += 600
    assert _login(client, "vic").headers["Retry-After"] == "300"
    clock.now += 300
    assert _login(client, "vic").status_code == 201


def test_a_success_clears_the_accounts_failures(app):
    client = _client(app)
    for _ in range(4):
        _login(client, "vic", "guess-password")
    assert _login(client, "vic").status_code == 201
    for _ in range(4):
        assert _login(client, "vic", "guess-password").status_code == 401


@pytest.mark.parametrize("proxies", [0, 1])
def test_behind_a_load_balancer_the_limits_count_per_client_only_when_the_proxy_is_trusted(app, proxies):
    """Every request arrives from the balancer's address; X-Forwarded-For names the phone, if the operator trusts it."""
    app.config["TRUSTED_PROXIES"] = proxies  # as BLOCKWALK_TRUSTED_PROXIES sets it for create_app
    trust_proxies(app)

    def via_balancer(phone: str) -> _Client:
        client = _client(app, address="10.0.0.2")  # the load balancer
        client.client.environ_base["HTTP_X_FORWARDED_FOR"] = phone
        return client

    guesser = via_balancer("203.0.113.9")
    for name in ("ada", "olly", "cora", "vic", "val"):
        for _ in range(4):
            assert _login(guesser, name, "guess-password").status_code == 401
    assert _login(guesser, "val").status_code == 429  # 20 failures from one place
    # Another phone behind the same balancer: its own count when the balancer is trusted,
    # the guesser's when it is not (the header alone could be forged by anyone).
    assert _login(via_balancer("198.51.100.4"), "vic").status_code == (201 if proxies else 429)


def test_the_trusted_proxies_setting_wraps_the_app(tmp_path):
    plain = create_app({"STORE": f"sqlite://{tmp_path}/a.db"}, environ={})
    behind = create_app({"STORE": f"sqlite://{tmp_path}/b.db"}, environ={"BLOCKWALK_TRUSTED_PROXIES": "2"})
    try:
        assert not hasattr(plain.wsgi_app, "x_for")
        assert behind.wsgi_app.x_for == 2 and behind.wsgi_app.x_proto == 2
    finally:
        services(plain).store.close()
        services(behind).store.close()


def test_failed_sign_ins_are_limited_per_address_and_a_success_does_not_reset_that(app):
    clock = _accounts(app).clock
    client = _client(app, address="10.0.0.7")
    for name in ("ada", "olly", "cora", "vic"):
        for _ in range(4):
            assert _login(client, name, "guess-password").status_code == 401
    for _ in range(3):
        assert client.post("/api/v1/auth/code", json={"code": "0000-0000-0000"}).status_code == 401  # codes count too
    assert _login(client, "val").status_code == 201  # 19 failures: still allowed, and not forgotten
    assert _login(client, "val", "guess-password").status_code == 401  # the 20th
    refused = _login(client, "val")
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 900
    code = _client(app, "ada").post("/api/v1/signin-codes", json={"user": "vic"}).get_json()["code"]
    assert client.post("/api/v1/auth/code", json={"code": code}).status_code == 429  # not even a good code ...
    assert _login(_client(app, address="10.0.0.8"), "val").status_code == 201  # ... from this address only
    assert _client(app, address="10.0.0.8").post("/api/v1/auth/code", json={"code": code}).status_code == 201  # not used up
    clock.now += 901
    assert _login(client, "val").status_code == 201


# -- users -------------------------------------------------------------------------------------


def test_only_an_admin_lists_and_adds_users(app):
    admin = _client(app, "ada")
    listed = admin.get("/api/v1/users?page_size=2")
    assert listed.status_code == 200 and listed.get_json() == [{"name": "ada", "admin": True, "roles": {}},
                                                            {"name": "cora", "admin": False, "roles": {"east": "coordinator"}}]
    assert json.loads(listed.headers["X-Pagination"])["total"] == 5
    assert admin.get(f"/api/v1/users?page={2**62}").get_json() == []
    added = admin.post("/api/v1/users", json={"name": "nia", "password": "nia-password"})
    assert added.status_code == 201 and added.get_json() == {"name": "nia", "admin": False, "roles": {}}
    boss = admin.post("/api/v1/users", json={"name": "bea", "admin": True, "password": "bea-password"})
    assert boss.status_code == 201 and boss.get_json() == {"name": "bea", "admin": True, "roles": {}}
    assert _login(_client(app), "nia").status_code == 201
    assert admin.post("/api/v1/users", json={"name": "nia", "password": "nia-password"}).status_code == 409
    for bad in ({"name": "Nia!", "password": "long-enough"},
                {"name": "nib", "admin": "king", "password": "long-enough"},
                {"name": "nib", "password": "short"},
                {"name": "nib"}):
        response = admin.post("/api/v1/users", json=bad)
        assert response.status_code == 422 and response.get_json()["code"] == 422
    for user in ("olly", "cora", "vic"):
        assert _client(app, user).get("/api/v1/users").status_code == 403
        assert _client(app, user).post("/api/v1/users", json={"name": "eve", "admin": True, "password": "eve-password"}).status_code == 403
    assert _client(app).get("/api/v1/users").status_code == 401
    assert _accounts(app).get_user("eve") is None


def test_a_user_is_read_by_an_admin_or_themself(app):
    assert _client(app, "ada").get("/api/v1/users/vic").get_json() == {"name": "vic", "admin": False, "roles": {"east": "volunteer"}}
    assert _client(app, "vic").get("/api/v1/users/vic").status_code == 200
    assert _client(app, "cora").get("/api/v1/users/cora").get_json() == {"name": "cora", "admin": False,
                                                                         "roles": {"east": "coordinator"}}
    assert _client(app, "vic").get("/api/v1/users/val").status_code == 403
    assert _client(app, "cora").get("/api/v1/users/vic").status_code == 403
    assert _client(app, "vic").get("/api/v1/users/nobody").status_code == 403  # who exists is not told
    assert _client(app, "ada").get("/api/v1/users/nobody").status_code == 404
    assert _client(app, "ada").get("/api/v1/users/No%20Such").status_code == 404


def test_the_roles_of_the_schema_are_the_servers():
    from schemas.accounts import ROLES as SCHEMA_ROLES

    assert SCHEMA_ROLES == list(ROLES)


# -- device tokens ----------------------------------------------------------------------------


def test_tokens_are_listed_by_id_for_an_admin_or_their_owner(app):
    token = app.config["TEST_TOKENS"]["vic"]
    second = _login(_client(app), "vic", label="second").get_json()["token"]
    listed = _client(app, "vic").get("/api/v1/users/vic/tokens")
    assert listed.status_code == 200
    tokens = listed.get_json()
    assert [t["id"] for t in tokens] == [hashlib.sha256(t.encode()).hexdigest() for t in (token, second)]
    assert set(tokens[0]) == {"id", "user", "label", "created_at", "expires_at", "last_used_at", "revoked"}
    assert tokens[0]["label"] == "vic's phone" and tokens[0]["last_used_at"] and tokens[1]["last_used_at"] is None
    assert second not in listed.get_data(as_text=True)
    assert json.loads(listed.headers["X-Pagination"])["total"] == 2
    assert _client(app, "ada").get("/api/v1/users/vic/tokens").get_json() == tokens
    assert _client(app, "cora").get("/api/v1/users/vic/tokens").status_code == 403
    assert _client(app, "val").get("/api/v1/users/vic/tokens").status_code == 403
    assert _client(app, "ada").get("/api/v1/users/nobody/tokens").status_code == 404


def test_a_revoked_token_stops_working_at_once(app):
    vic = _client(app, "vic")
    assert vic.get("/api/v1/users/vic").status_code == 200  # checked, so remembered for 30 s
    token_id = hashlib.sha256(app.config["TEST_TOKENS"]["vic"].encode()).hexdigest()
    for user in ("val", "olly"):
        assert _client(app, user).delete(f"/api/v1/tokens/{token_id}").status_code == 403
    # A coordinator revokes only a volunteer of their campaigns alone (the rule of sign-in codes): not an organizer.
    olly_token = hashlib.sha256(app.config["TEST_TOKENS"]["olly"].encode()).hexdigest()
    assert _client(app, "cora").delete(f"/api/v1/tokens/{olly_token}").status_code == 403
    assert vic.get("/api/v1/users/vic").status_code == 200
    assert vic.delete(f"/api/v1/tokens/{token_id}").status_code == 204
    refused = vic.get("/api/v1/users/vic")
    assert refused.status_code == 401
    listed = _client(app, "ada").get("/api/v1/users/vic/tokens").get_json()
    assert [t["revoked"] for t in listed] == [True]

    ada = _client(app, "ada")
    val_token_id = hashlib.sha256(app.config["TEST_TOKENS"]["val"].encode()).hexdigest()
    assert _client(app, "val").get("/api/v1/users/val").status_code == 200
    assert ada.delete(f"/api/v1/tokens/{val_token_id}").status_code == 204
    assert _client(app, "val").get("/api/v1/users/val").status_code == 401
    assert ada.delete(f"/api/v1/tokens/{val_token_id}").status_code == 204  # again: nothing changes
    assert ada.delete(f"/api/v1/tokens/{'0' * 64}").status_code == 404
    assert ada.delete("/api/v1/tokens/not-an-id").status_code == 404


def test_signing_out_revokes_the_token_it_is_sent_with_and_no_other(app):
    vic = _client(app, "vic")
    second = _login(_client(app), "vic", label="laptop").get_json()["token"]
    assert vic.get("/api/v1/me").status_code == 200  # checked, so remembered for 30 s
    assert vic.delete("/api/v1/me/token").status_code == 204
    assert vic.get("/api/v1/me").status_code == 401
    assert vic.delete("/api/v1/me/token").status_code == 401  # a revoked token cannot sign out again
    assert _client(app).get("/api/v1/me", headers=_bearer(second)).status_code == 200  # the laptop stays signed in
    basic = {"Authorization": "Basic " + base64.b64encode(b"vic:vic-password").decode()}
    refused = _client(app).delete("/api/v1/me/token", headers=basic)
    assert refused.status_code == 400 and "password" in refused.get_json()["message"]
    assert _client(app).delete("/api/v1/me/token").status_code == 401
    listed = _client(app, "ada").get("/api/v1/users/vic/tokens").get_json()
    assert [(t["label"], t["revoked"]) for t in listed] == [("vic's phone", True), ("laptop", False)]


# -- sign-in codes ----------------------------------------------------------------------------


def test_who_may_make_sign_in_codes(app):
    url = "/api/v1/signin-codes"
    made = _client(app, "ada").post(url, json={"user": "cora", "minutes": 5, "label": "Cora's phone"})
    assert made.status_code == 201
    body = made.get_json()
    assert set(body) == {"code", "expires_at", "url", "qr_svg"} and CODE.fullmatch(body["code"])
    assert body["url"] == f"blockwalk:signin?code={body['code']}"
    left = datetime.fromisoformat(body["expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(minutes=4) < left <= timedelta(minutes=5)
    expected = io.BytesIO()
    segno.make(f"blockwalk:signin?code={body['code']}", error="m").save(expected, kind="svg", xmldecl=False, scale=4)
    assert body["qr_svg"] == expected.getvalue().decode() and body["qr_svg"].startswith("<svg xmlns=")
    assert _client(app, "cora").post(url, json={"user": "vic"}).status_code == 201
    for user in ("ada", "olly", "cora"):
        refused = _client(app, "cora").post(url, json={"user": user})
        assert refused.status_code == 403 and "only for volunteers" in refused.get_json()["message"]
    for maker in ("olly", "vic"):
        assert _client(app, maker).post(url, json={"user": "vic"}).status_code == 403
    assert _client(app, "ada").post(url, json={"user": "nobody"}).status_code == 404
    for minutes in (0, 61, "ten"):
        assert _client(app, "ada").post(url, json={"user": "vic", "minutes": minutes}).status_code == 422
    # With the app's address, the QR code holds it and the code: what a phone's camera opens.
    app_url = "https://blockwalk.example.org/app/?campaign=east"
    linked = _client(app, "cora").post(url, json={"user": "vic", "app_url": app_url}).get_json()
    assert linked["url"] == f"{app_url}#/signin?code={linked['code']}"
    for bad in ("javascript:alert(1)", "ftp://example.org/app/", f"{app_url}#/x", "https://" + "a" * 300):
        assert _client(app, "cora").post(url, json={"user": "vic", "app_url": bad}).status_code == 422, bad
    assert _client(app).post(url, json={"user": "vic"}).status_code == 401


def test_a_sign_in_code_works_once_and_is_stored_hashed(app):
    code = _client(app, "cora").post("/api/v1/signin-codes", json={"user": "vic", "label": "Vic's phone"}).get_json()["code"]
    stored = jsonutil.dumps([row["doc"] for row in _accounts(app).db.all_docs(include_docs=True)["rows"]]).decode()
    assert code not in stored and code.replace("-", "") not in stored
    assert "signin:" + hashlib.sha256(code.replace("-", "").encode()).hexdigest() in stored
    phone = _client(app)
    used = phone.post("/api/v1/auth/code", json={"code": code.lower().replace("-", " ")})  # as typed
    assert used.status_code == 201
    token = used.get_json()["token"]
    assert phone.get("/api/v1/users/vic", headers=_bearer(token)).status_code == 200
    assert phone.get("/api/v1/users/val", headers=_bearer(token)).status_code == 403  # vic's token, nobody else's
    again = phone.post("/api/v1/auth/code", json={"code": code})
    assert again.status_code == 401 and again.get_json()["code"] == 401
    assert [t["label"] for t in _accounts(app).tokens_of("vic")] == ["vic's phone", "Vic's phone"]


def test_an_expired_or_unknown_code_is_refused(app, monkeypatch):
    make = _client(app, "ada").post
    code = make("/api/v1/signin-codes", json={"user": "vic", "minutes": 1}).get_json()["code"]
    later = datetime.now(timezone.utc) + timedelta(minutes=1, seconds=1)
    monkeypatch.setattr(accounts_module, "_now", lambda: later)
    phone = _client(app)
    assert phone.post("/api/v1/auth/code", json={"code": code}).status_code == 401
    for wrong in ("", "0000-0000-0000", "not a code", code + "0"):
        assert phone.post("/api/v1/auth/code", json={"code": wrong}).status_code == 401
    assert phone.post("/api/v1/auth/code", json={}).status_code == 422


def test_a_code_made_for_a_user_since_deleted_is_refused(app):
    code = _client(app, "ada").post("/api/v1/signin-codes", json={"user": "val"}).get_json()["code"]
    db = _accounts(app).db
    user = db.get("user:val")
    db.put({**user, "_deleted": True})
    assert _client(app).post("/api/v1/auth/code", json={"code": code}).status_code == 401


# -- the spec --------------------------------------------------------------------------------


def test_fuzzing_as_an_admin_with_real_names(app):
    """test_api_fuzz.py fuzzes as a coordinator, mostly refused; here an admin, aiming at users and tokens that exist."""
    headers = _bearer(app.config["TEST_TOKENS"]["ada"])
    known = {"name": "vic", "token_id": hashlib.sha256(app.config["TEST_TOKENS"]["val"].encode()).hexdigest()}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith(("/api/v1/users", "/api/v1/tokens", "/api/v1/signin-codes", "/api/v1/auth"))]
    assert len(operations) == 8
    statuses: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            case.path_parameters = {k: known.get(k, v) for k, v in (case.path_parameters or {}).items()}
            statuses.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        fuzz()
    assert max(statuses) < 500 and {200, 201, 204, 401, 422} <= set(statuses), sorted(set(statuses))


def test_basic_auth_guessing_is_limited_too(tmp_path):
    """Guessing moved to HTTP Basic (on /sync and the API) meets the same limits as sign-in."""
    from server import create_app
    from server.access.accounts import Accounts

    app = create_app({"STORE": f"sqlite://{tmp_path}/basic.db"}, environ={})
    accounts: Accounts = services(app).accounts
    accounts.add_user("ana", "admin", "right-password")
    services(app).store.create_db("east")
    client = app.test_client()
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ana:wrong-guess").decode()}
    right = {"Authorization": "Basic " + base64.b64encode(b"ana:right-password").decode()}
    statuses = [client.get("/sync/east", headers=wrong).status_code for _ in range(5)]
    assert statuses == [401] * 5
    limited = client.get("/sync/east", headers=right)
    assert limited.status_code == 429 and limited.get_json()["error"] == "too_many_requests"
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get("/api/v1/campaigns/east/forms", headers=right).status_code == 429


def test_each_volunteers_phones_with_their_reports_and_a_coordinator_revokes_one(app):
    reported = _client(app, "vic").put("/api/v1/campaigns/east/devices/device:abc/report", json={
        "pending": 3, "refused": 1, "last_sync_at": "2026-12-01T10:00:00+00:00"})
    assert reported.status_code == 200
    phones = _client(app, "cora").get("/api/v1/campaigns/east/devices").get_json()
    vic = [p for p in phones if p["user"] == "vic"]
    assert [(p["label"], p["device"], p["pending"], p["refused"]) for p in vic] == [("vic's phone", "device:abc", 3, 1)]
    assert {p["user"] for p in phones} == {"vic", "val"}  # volunteers only
    assert _client(app, "vic").get("/api/v1/campaigns/east/devices").status_code == 403
    assert _client(app, "cora").delete(f"/api/v1/tokens/{vic[0]['token']}").status_code == 204
    # Revoked, but its phone said it holds work: still listed, as revoked.
    again = [p for p in _client(app, "olly").get("/api/v1/campaigns/east/devices").get_json() if p["user"] == "vic"]
    assert [(p["revoked"], p["pending"]) for p in again] == [(True, 3)]


def test_a_coordinator_adds_a_volunteer_who_has_no_password_anyone_knows(app):
    made = _client(app, "cora").post("/api/v1/campaigns/east/volunteers", json={"name": "maria.gomez", "full_name": "María Gómez"})
    assert made.status_code == 201 and made.get_json() == {"user": "maria.gomez", "role": "volunteer", "full_name": "María Gómez"}
    assert _client(app, "cora").post("/api/v1/campaigns/east/volunteers", json={"name": "maria.gomez"}).status_code == 409
    assert _client(app, "cora").post("/api/v1/campaigns/east/volunteers", json={"name": "María"}).status_code == 422
    assert _client(app, "olly").post("/api/v1/campaigns/east/volunteers", json={"name": "nia"}).status_code == 403
    members = _client(app, "cora").get("/api/v1/campaigns/east/members?page_size=100").get_json()
    assert {"user": "maria.gomez", "role": "volunteer", "full_name": "María Gómez"} in members
