"""An app with one user of each role, and REST clients signed in as them (the REST API tests share these)."""

from __future__ import annotations

from flask import Flask

from server.access.accounts import Accounts
from server.app import create_app
from server.services import services

ROLES = (("ada", "admin"), ("cora", "coordinator"), ("olga", "organizer"), ("vic", "volunteer"))


def app_with_users(store_url: str, campaign: str = "east") -> Flask:
    """An app on ``store_url`` with ada (admin), and cora (coordinator), olga (organizer), vic (volunteer) in ``campaign``."""
    app = create_app({"STORE": store_url}, environ={})
    accounts = Accounts(services(app).store)
    tokens = {}
    for name, role in ROLES:
        accounts.add_user(name, role, f"{name}-password", None if role == "admin" else campaign)
        tokens[name] = accounts.create_token(name)
    app.config["TEST_TOKENS"] = tokens
    return app


def client_as(app: Flask, user: str = "cora"):
    """A test client sending ``user``'s device token."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['TEST_TOKENS'][user]}"
    return client
