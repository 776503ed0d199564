from __future__ import annotations

import pytest

from tests.conftest import STORE_KINDS, couch_store_url, unique_prefix
from tests.peers import LiveServer, PouchPeer


@pytest.fixture(scope="session", params=STORE_KINDS)
def server(request, tmp_path_factory):
    """A live Blockwalk server process on each kind of store."""
    folder = tmp_path_factory.mktemp(f"server-{request.param}")
    store = None
    if request.param == "couchdb":
        store = couch_store_url(request.getfixturevalue("couchdb_url"), unique_prefix("s"))
    live = LiveServer(folder, store=store)
    live.kind = request.param
    yield live
    live.close()


@pytest.fixture(scope="session")
def pouch():
    peer = PouchPeer()
    yield peer
    peer.close()


@pytest.fixture
def campaign(server) -> str:
    """A fresh campaign database on the live server."""
    return server.new_db()
