from __future__ import annotations

import pytest

from tests.peers import LiveServer, PouchPeer


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("server"))
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
