from __future__ import annotations

import httpx
import pytest

from server.access.channels import assignment_id
from tests.conftest import STORE_KINDS, couch_store_url, unique_prefix
from tests.peers import LiveServer, PouchPeer, RECORD
from tests.world import square

# Two turfs with a household each, a stranger's record in turf 2, the volunteer (vic) assigned turf 1:
# what the access tests start from (each adds its own documents).
TWO_TURFS = [
    {"_id": "turf:1", "type": "turf", "name": "North", "geometry": square(0)},
    {"_id": "turf:2", "type": "turf", "name": "South", "geometry": square(1)},
    {"_id": "household:1a", "type": "household", "turf": "turf:1", "address": "1 Maple St"},
    {"_id": "household:2a", "type": "household", "turf": "turf:2", "address": "2 Oak St"},
    {"_id": assignment_id(LiveServer.VOLUNTEER[0], "turf:1"), "type": "assignment", "user": LiveServer.VOLUNTEER[0],
     "turf": "turf:1", "active": True},
]


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


def seeded(live: LiveServer, prefix: str, *extra: dict) -> str:
    """A new campaign with the built-in forms, TWO_TURFS and ``extra`` documents."""
    name = live.new_db(prefix, forms=True)
    response = live.http.post(f"/sync/{name}/_bulk_docs", json={"docs": TWO_TURFS + list(extra)})
    assert all(r.get("ok") for r in response.json()), response.text
    return name


@pytest.fixture
def live(server) -> LiveServer:
    """The live server of each store kind, by the name the access tests use."""
    return server


@pytest.fixture
def vic(live):
    """The volunteer's HTTP client, with their device token."""
    with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {live.volunteer_token}"}, timeout=30) as client:
        yield client


@pytest.fixture
def campaign(server) -> str:
    """A fresh campaign database on the live server."""
    return server.new_db()
