"""Users and device tokens: hashed at rest, checked, expiring, revocable."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from server.access import accounts as accounts_module
from server.access.accounts import AccountError, Accounts, token_id
from sync import jsonutil


@pytest.fixture
def accounts(server_factory):
    return Accounts(server_factory())


def test_users_are_checked_and_passwords_hashed(accounts):
    accounts.add_user("ana", "coordinator", "correct horse", "east")
    stored = accounts.db.get("user:ana")
    assert stored["password"].startswith("scrypt$") and "correct horse" not in jsonutil.dumps(stored).decode()
    assert accounts.check_password("ana", "correct horse").roles == {"east": "coordinator"}
    assert accounts.check_password("ana", "wrong horse") is None
    assert accounts.check_password("nobody", "correct horse") is None
    for name, role, password, campaign in [("Ana!", "admin", "longenough", None), ("bo", "king", "longenough", None),
                                           ("cy", "admin", "short", None), ("di", "admin", "longenough", "east"),
                                           ("ed", "volunteer", "longenough", None), ("fy", "volunteer", "longenough", "E!")]:
        with pytest.raises(AccountError):
            accounts.add_user(name, role, password, campaign)
    with pytest.raises(AccountError, match="exists"):
        accounts.add_user("ana", "admin", "another one")


def test_tokens_are_stored_hashed_and_expire(accounts, monkeypatch):
    accounts.add_user("vic", "volunteer", "password-1", "east")
    token = accounts.create_token("vic", label="phone")
    assert token.startswith("bw_") and len(token) > 40
    doc = accounts.db.get(token_id(token))
    assert doc["_id"] == "token:" + hashlib.sha256(token.encode()).hexdigest()
    assert token not in jsonutil.dumps(doc).decode()
    assert accounts.check_token(token).name == "vic"
    assert accounts.check_token(token + "x") is None and accounts.check_token("not-a-token") is None

    expired = accounts.create_token("vic", expires_in=timedelta(seconds=-1))
    assert accounts.check_token(expired) is None
    with pytest.raises(AccountError):
        accounts.create_token("nobody")


def test_a_revoked_token_stops_working_once_the_cache_lets_go(accounts, monkeypatch):
    accounts.add_user("vic", "volunteer", "password-1", "east")
    token = accounts.create_token("vic")
    assert accounts.check_token(token) is not None
    doc = accounts.db.get(token_id(token))
    accounts.db.put({**doc, "revoked": True})
    assert accounts.check_token(token) is not None  # still remembered (at most TOKEN_CACHE_SECONDS)
    monkeypatch.setattr(accounts_module.time, "time", lambda: 10**12)
    assert accounts.check_token(token) is None
