"""A full disk and a read-only disk: a clear error, reads still served, nothing half written.

The disk is simulated on the store's writer connection (every write goes
through it, ``SQLiteServer.writing``): ``max_page_count``
pinned to the file's current size is a full disk as SQLite sees it
(``SQLITE_FULL``), and ``query_only`` a read-only one (``SQLITE_READONLY``).
Both make SQLite fail exactly where a real disk would, inside the write
transaction.
"""

from __future__ import annotations

import base64

import pytest

from server import create_app
from server.access.accounts import Accounts
from server.services import services
from sync.errors import InsufficientStorage
from tests.helpers.rawhttp import store_state

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0.01, 0], [0.01, 0.01], [0, 0.01], [0, 0]]]}


@pytest.fixture
def app(tmp_path):
    app = create_app({"STORE": f"sqlite://{tmp_path}/store.db"}, environ={})
    store = services(app).store
    accounts = Accounts(store)
    accounts.add_user("ada", "admin", "ada-password")
    app.config["TOKEN"] = accounts.create_token("ada")
    db = store.create_db("east")
    db.bulk_docs([{"_id": f"household:{n}", "type": "household", "n": n} for n in range(50)])
    app.config["PATH"] = tmp_path / "store.db"
    yield app
    store.close()


@pytest.fixture
def client(app):
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['TOKEN']}"
    client.get("/sync/east")  # the token's first use is recorded now, not under the full disk
    return client


def _batch(prefix: str, count: int = 200) -> list[dict]:
    return [{"_id": f"{prefix}:{n}", "notes": "x" * 2000, "_attachments": {"photo.jpg": {
        "content_type": "image/jpeg", "data": base64.b64encode(bytes([n % 256]) * 5000).decode()}}} for n in range(count)]


def _full(app) -> None:
    """No page more for the file, and the slack in its pages filled up, as on a disk that filled up."""
    store = services(app).store
    with store.writing() as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {pages}")
    filler = store.system_db("filler")
    for n in range(100_000):
        try:
            filler.bulk_docs([{"_id": f"filler:{n}", "x": "f" * 64}])
        except InsufficientStorage:
            return
    raise AssertionError("the disk never filled up")


def _read_only(app) -> None:
    with services(app).store.writing() as conn:
        conn.execute("PRAGMA query_only = 1")


def _reads_work(client) -> None:
    assert client.get("/sync/east").json["doc_count"] == 50
    assert client.get("/sync/east/household:7").json["n"] == 7
    changes = client.get("/sync/east/_changes?style=all_docs").json
    assert len(changes["results"]) == 50
    assert client.get("/api/v1/campaigns/east/households").status_code == 200


@pytest.mark.parametrize("disk, status, error", [(_full, 507, "insufficient_storage"),
                                                 (_read_only, 503, "service_unavailable")])
def test_a_disk_that_cannot_take_writes(app, client, disk, status, error):
    disk(app)
    before = store_state(app.config["PATH"])

    # Replication: CouchDB's {error, reason}, for a batch, a user edit and a checkpoint.
    response = client.post("/sync/east/_bulk_docs", json={"docs": _batch("record"), "new_edits": True})
    assert response.status_code == status
    assert response.json["error"] == error and "nothing was stored" in response.json["reason"]
    rev = client.get("/sync/east/household:7").json["_rev"]
    response = client.put("/sync/east/household:7", json={"type": "household", "address": "7 Maple St", "n": 8, "_rev": rev, "notes": "y" * 50_000})
    assert response.status_code == status and response.json["error"] == error
    response = client.put("/sync/east/_local/checkpoint", json={"last_seq": 5, "history": ["h" * 50_000]})
    assert response.status_code == status and response.json["error"] == error
    # The REST API: its own shape.
    response = client.put("/api/v1/campaigns/east/turfs/t1", json={"name": "T1", "geometry": SQUARE})
    assert response.status_code == status
    assert response.json["code"] == status and "nothing was stored" in response.json["message"]

    _reads_work(client)
    assert store_state(app.config["PATH"]) == before  # nothing half written
    assert services(app).store.integrity_check() == "ok"


def test_writes_resume_once_there_is_room(app, client):
    _full(app)
    assert client.post("/sync/east/_bulk_docs", json={"docs": _batch("record")}).status_code == 507
    with services(app).store.writing() as conn:
        conn.execute("PRAGMA max_page_count = 1073741823")
    response = client.post("/sync/east/_bulk_docs", json={"docs": _batch("record")})
    assert response.status_code == 201 and all(r.get("ok") for r in response.json)
    assert client.get("/sync/east").json["doc_count"] == 250
    assert client.get("/sync/east/record:199/photo.jpg").data == bytes([199]) * 5000
