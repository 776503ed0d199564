"""Fixtures shared by every test: stores of every kind, a live CouchDB-compatible server."""

from __future__ import annotations

import atexit
import itertools
import os
import random
import shutil
import tempfile
import time

import pytest
from hypothesis import settings

# No per-example deadline: on a loaded 2-core machine a slow example is not a bug.
settings.register_profile("blockwalk", deadline=None)
settings.load_profile("blockwalk")

from server.config import SETTINGS
from server.stores import open_store
from sync.store import StoreLimits
from tests.peers import PouchDBServer

# The server's default data folder (a CouchDB store's indexes, a default SQLite store) is
# $XDG_DATA_HOME/blockwalk: for the tests, a folder of this run, never the user's own.
_data_home = tempfile.mkdtemp(prefix="blockwalk-test-data-")
os.environ["XDG_DATA_HOME"] = _data_home
atexit.register(shutil.rmtree, _data_home, True)

# Every store the contract suite (and the protocol suite) runs on.
STORE_KINDS = ["sqlite", "couchdb"]

_prefixes = itertools.count(1)
_run = f"{random.getrandbits(24):06x}"


def unique_prefix(label: str = "t") -> str:
    """A CouchDB database prefix no other test uses (several runs may share one CouchDB)."""
    return f"{label}{_run}x{next(_prefixes)}"


def eventually(check, seconds: float = 30.0, what: str = "the condition did not hold") -> None:
    """Wait until ``check()`` is true (a background thread's work); fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"{what} within {seconds:g} s"
        time.sleep(0.02)


@pytest.fixture(scope="session")
def couchdb_url(tmp_path_factory):
    """A CouchDB to test against: BLOCKWALK_TEST_COUCHDB_URL, else pouchdb-server started here.

    pouchdb-server comes from tests/js (npm ci); if it is missing the tests
    that need it fail, in CI and everywhere else.
    """
    url = os.environ.get("BLOCKWALK_TEST_COUCHDB_URL")
    if url:
        yield url.rstrip("/")
        return
    server = PouchDBServer(tmp_path_factory.mktemp("pouchdb-server"))
    yield server.url
    server.close()


def couch_store_url(couchdb_url: str, prefix: str) -> str:
    return f"couchdb+{couchdb_url}/{prefix}"


def store_config(limits: StoreLimits | None = None) -> dict:
    config = {name: setting.default() for name, setting in SETTINGS.items()}
    limits = limits or StoreLimits()
    config.update(MAX_DOCUMENT_BYTES=limits.max_document_bytes, REVS_LIMIT=limits.revs_limit)
    return config


@pytest.fixture(params=STORE_KINDS)
def store_kind(request) -> str:
    return request.param


@pytest.fixture
def server_factory(store_kind, tmp_path, request):
    """Open a store server of the current kind (optional limits); the same ``subdir`` opens the same store."""
    opened = []
    prefixes: dict[str, str] = {}

    def factory(limits: StoreLimits | None = None, subdir: str = "a"):
        if store_kind == "sqlite":
            folder = tmp_path / subdir
            folder.mkdir(exist_ok=True)
            url = f"sqlite://{folder}/store.db"
        else:
            couchdb_url = request.getfixturevalue("couchdb_url")
            url = couch_store_url(couchdb_url, prefixes.setdefault(subdir, unique_prefix()))
        server = open_store(url, store_config(limits))
        opened.append(server)
        return server

    yield factory
    for server in opened:
        server.close()


@pytest.fixture
def db(server_factory):
    """A fresh database on the current kind of store."""
    return server_factory().create_db("campaign-1")
