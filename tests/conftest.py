"""Fixtures shared by every test: stores (every kind), the app, a CLI runner."""

from __future__ import annotations

import os

import pytest

from sync.sqlite_store import SQLiteServer
from sync.store import StoreLimits

IN_CI = os.environ.get("CI") == "true"

# Every store the contract suite runs on.  The CouchDB store joins this list
# in its own issue; a store whose server is not running fails in CI.
STORE_KINDS = ["sqlite"]


def make_server(kind: str, tmp_path, limits: StoreLimits | None = None):
    if kind == "sqlite":
        return SQLiteServer(tmp_path / "store.db", limits=limits)
    raise ValueError(f"unknown store kind {kind!r}")


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def server_factory(store_kind, tmp_path):
    """Open a store server of the current kind, with optional limits; closed afterwards."""
    opened = []

    def factory(limits: StoreLimits | None = None, subdir: str = "a"):
        folder = tmp_path / subdir
        folder.mkdir(exist_ok=True)
        server = make_server(store_kind, folder, limits)
        opened.append(server)
        return server

    yield factory
    for server in opened:
        server.close()


@pytest.fixture
def db(server_factory):
    """A fresh database on the current kind of store."""
    return server_factory().create_db("campaign-1")
