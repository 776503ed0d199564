"""``blockwalk backup`` while the server takes writes, ``blockwalk restore``, and a
real PouchDB device that was ahead of the backup losing nothing."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from sync.sqlite import SQLiteServer
from tests.peers import LiveServer, PouchPeer, ROOT, blockwalk


@pytest.fixture(scope="module")
def pouch():
    peer = PouchPeer()
    yield peer
    peer.close()


def _notes(start: int, stop: int) -> list[dict]:
    return [{"_id": f"note:{n:03d}", "text": f"door {n}"} for n in range(start, stop)]


def _revs(rows: list[dict]) -> dict[str, str]:
    return {row["id"]: row["value"]["rev"] for row in rows}


def test_a_restored_backup_takes_back_what_a_device_was_ahead_with(tmp_path, pouch):
    live = LiveServer(tmp_path)
    try:
        db = live.new_db()
        remote = live.remote(db)
        pouch.call("bulkDocs", db="phone", docs=_notes(0, 30))
        pouch.call("sync", a="phone", b=remote)

        # The backup runs while another client keeps writing.
        stop = threading.Event()

        def write() -> None:
            n = 0
            while not stop.is_set():
                docs = [{"_id": f"office:{n}-{i}", "batch": n} for i in range(20)]
                assert live.http.post(f"/sync/{db}/_bulk_docs", json={"docs": docs}).status_code == 201
                n += 1

        writer = threading.Thread(target=write)
        writer.start()
        try:
            backup = tmp_path / "backup.db"
            assert blockwalk("backup", str(backup), store=live.store) == str(backup)
        finally:
            stop.set()
            writer.join()

        copy = SQLiteServer(backup)
        try:
            assert copy.integrity_check() == "ok"
            saved = copy.open_db(db)
            rows = saved.all_docs()["rows"]
            assert saved.info().doc_count == len(rows) >= 30
            batches = {}
            for row in rows:
                if row["id"].startswith("office:"):
                    batch = row["id"].split(":")[1].split("-")[0]
                    batches[batch] = batches.get(batch, 0) + 1
            assert all(count == 20 for count in batches.values()), "the backup holds half a batch"
            assert {f"note:{n:03d}" for n in range(30)} <= {row["id"] for row in rows}
        finally:
            copy.close()

        # After the backup the device goes on: new notes, an edit, and what the office wrote since.
        pouch.call("bulkDocs", db="phone", docs=_notes(30, 50))
        first = pouch.call("get", db="phone", id="note:000")
        pouch.call("put", db="phone", doc={**first, "text": "door 0, came back later"})
        assert live.http.post(f"/sync/{db}/_bulk_docs", json={"docs": [{"_id": "office:late", "n": 1}]}).status_code == 201
        pouch.call("sync", a="phone", b=remote)
        ahead = _revs(pouch.call("allDocs", db="phone")["rows"])

        # Disaster: the store is replaced by the backup, with the server stopped.
        live.close()
        blockwalk("restore", str(backup), "--yes", store=live.store)
        live.start()
        restored = live.http.get(f"/sync/{db}/_all_docs").json()["rows"]
        assert "note:049" not in _revs(restored)  # the backup is older than the device

        result = pouch.call("sync", a="phone", b=live.remote(db))
        assert result["push"]["ok"] and result["pull"]["ok"]
        server = _revs(live.http.get(f"/sync/{db}/_all_docs").json()["rows"])
        device = _revs(pouch.call("allDocs", db="phone")["rows"])
        assert server == device
        assert {doc_id: rev for doc_id, rev in ahead.items()} == {k: server[k] for k in ahead}
        assert live.http.get(f"/sync/{db}/note:000").json()["text"] == "door 0, came back later"
        assert live.http.get(f"/sync/{db}/office:late").json()["n"] == 1  # came back from the device
    finally:
        live.close()


def _cli(*args: str, input: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKWALK_")}
    return subprocess.run([sys.executable, "-m", "server.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60, input=input)


def test_backup_and_restore_refuse_what_would_lose_data(tmp_path):
    store = f"sqlite://{tmp_path}/store.db"
    assert _cli("db", "create", "campaign", "--store", store).returncode == 0
    target = tmp_path / "copy.db"
    target.write_text("already here")
    refused = _cli("backup", str(target), "--store", store)
    assert refused.returncode == 1 and "never overwrites" in refused.stderr
    assert target.read_text() == "already here"

    not_a_store = tmp_path / "notes.txt"
    not_a_store.write_text("not a database " * 100)
    refused = _cli("restore", str(not_a_store), "--yes", "--store", store)
    assert refused.returncode == 1 and "not a Blockwalk SQLite store" in refused.stderr
    refused = _cli("restore", str(tmp_path / "store.db"), "--store", f"sqlite://{tmp_path}/other.db")
    assert refused.returncode == 0  # a store that does not exist yet needs no --yes
    refused = _cli("restore", str(tmp_path / "store.db"), "--store", f"sqlite://{tmp_path}/other.db")
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert _cli("db", "list", "--store", f"sqlite://{tmp_path}/other.db").stdout.split() == ["campaign"]

    couch = _cli("backup", str(tmp_path / "c.db"), "--store", "couchdb+http://127.0.0.1:1/bw")
    assert couch.returncode == 1 and "replicating" in couch.stderr
