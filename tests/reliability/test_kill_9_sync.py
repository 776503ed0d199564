"""``kill -9`` of the server in the middle of real PouchDB pushes and pulls, again and again.

Two devices (PouchDB 9 in their own Node processes) edit and sync while an
office client writes straight to the server and notes every write the server
acknowledged (a 201).  The server process is killed at a random moment,
restarted, killed again, dozens of times; then the devices finish syncing.
Afterwards every document a device wrote is on the server once, with the
device's full revision history, every acknowledged office write is there, both
devices hold exactly what the server holds, and (SQLite) the file passes
``integrity_check`` after every kill.  On the CouchDB store (pouchdb-server)
the Blockwalk process in front of it is the one killed.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import statistics
import threading
import time

import httpx
import pytest

from tests.conftest import couch_store_url, unique_prefix
from tests.peers import LiveServer, PouchError, PouchPeer

ROUNDS = {"sqlite": 24, "couchdb": 24}
DOCS_PER_ROUND = 40


class Office(threading.Thread):
    """Writes documents straight to the server; remembers the ones it was told were stored."""

    def __init__(self, live: LiveServer, db: str):
        super().__init__(daemon=True)
        self.live, self.db = live, db
        self.acked: dict[str, str] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            doc_id = f"office:{n:05d}"
            try:
                response = httpx.put(f"{self.live.url}/sync/{self.db}/{doc_id}", json={"n": n}, timeout=5,
                                     headers={"Authorization": f"Bearer {self.live.token}"})
            except httpx.TransportError:
                time.sleep(0.05)
                continue
            if response.status_code == 201:
                self.acked[doc_id] = response.json()["rev"]
                n += 1
            elif response.status_code == 409:  # stored, but the answer was lost to the kill
                n += 1
            time.sleep(0.01)


def _sync(peer: PouchPeer, device: str, live: LiveServer, db: str) -> bool:
    try:
        result = peer.call("sync", a=device, b=live.remote(db), options={"batch_size": 20}, timeoutMs=30_000,
                           timeout=120)
    except PouchError:
        return False
    return bool(result["push"]["ok"] and result["pull"]["ok"])


def _edit(peer: PouchPeer, device: str, round_: int, rng: random.Random) -> None:
    docs = [{"_id": f"{device}:{round_:03d}:{n:03d}", "round": round_, "notes": "x" * rng.randrange(10, 2000)}
            for n in range(DOCS_PER_ROUND)]
    if round_:
        earlier = f"{device}:{rng.randrange(round_):03d}:{rng.randrange(DOCS_PER_ROUND):03d}"
        doc = peer.call("get", db=device, id=earlier)
        docs.append({**doc, "edited_in": round_})
    peer.call("bulkDocs", db=device, docs=docs)


def _integrity(path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sqlite", "couchdb"])
def test_kill_9_in_the_middle_of_pouchdb_syncs_loses_nothing(kind, tmp_path, request):
    store = None if kind == "sqlite" else couch_store_url(request.getfixturevalue("couchdb_url"), unique_prefix("k"))
    live = LiveServer(tmp_path, store=store)
    peers = {"phone-a": PouchPeer(), "phone-b": PouchPeer()}
    rng = random.Random(kind)
    db = live.new_db()
    office = Office(live, db)
    office.start()
    kills = interrupted = 0
    whole: list[float] = []  # how long a sync that was not cut off took, on this machine today

    def sync(device: str, peer: PouchPeer, outcomes: dict[str, bool]) -> None:
        started = time.monotonic()
        outcomes[device] = _sync(peer, device, live, db)
        if outcomes[device]:
            whole.append(time.monotonic() - started)

    try:
        for round_ in range(ROUNDS[kind]):
            outcomes: dict[str, bool] = {}
            threads = []
            for device, peer in peers.items():
                _edit(peer, device, round_, rng)
                thread = threading.Thread(target=sync, args=(device, peer, outcomes))
                thread.start()
                threads.append(thread)
            # Most kills land while the devices sync, on a fast machine as on a loaded one, and some
            # after: the moment is drawn up to 1.5 times the time a whole sync has taken so far.
            time.sleep(rng.uniform(0.05, max(0.1, 1.5 * statistics.median(whole)) if whole else 1.5))
            os.kill(live.proc.pid, signal.SIGKILL)
            live.proc.wait()
            kills += 1
            for thread in threads:
                thread.join()
            interrupted += sum(not ok for ok in outcomes.values())
            if kind == "sqlite":
                assert _integrity(tmp_path / "blockwalk.db") == "ok", f"after kill {kills}"
            live.start()
            acked = list(office.acked)
            rows = live.http.post(f"/sync/{db}/_all_docs", json={"keys": acked}).json()["rows"]
            missing = [row["key"] for row in rows if "error" in row]
            assert not missing, f"acknowledged writes lost after kill {kills}: {missing[:5]}"
            print(f"kill {kills}: {outcomes}, {len(acked)} acknowledged office writes", flush=True)
        office.stop.set()
        office.join()
        for _ in range(2):  # twice: the second pass brings each device what the other pushed in the first
            for device, peer in peers.items():
                for _ in range(5):
                    if _sync(peer, device, live, db):
                        break
                else:
                    raise AssertionError(f"{device} could not finish syncing")
        print(f"\n{kind}: {kills} kills, {interrupted} of {2 * kills} device syncs cut off, "
              f"{len(office.acked)} acknowledged office writes")
        # The office writes without pause, so every kill cuts writes; most must cut device syncs too.
        assert interrupted >= kills // 3, "the kills did not land in the middle of syncs"

        server = {row["id"]: row["value"]["rev"] for row in live.http.get(f"/sync/{db}/_all_docs").json()["rows"]}
        for doc_id, rev in office.acked.items():
            assert doc_id in server  # a later write may have followed the acknowledged one
        for device, peer in peers.items():
            rows = peer.call("allDocs", db=device)["rows"]
            assert {row["id"]: row["value"]["rev"] for row in rows} == server, f"{device} differs from the server"
            own = [row["id"] for row in rows if row["id"].startswith(device)]
            assert len(own) == ROUNDS[kind] * DOCS_PER_ROUND
            for doc_id in rng.sample(own, 40) + [row["id"] for row in rows if row["id"].startswith(device)][-5:]:
                mine = peer.call("get", db=device, id=doc_id, options={"revs": True})
                theirs = live.http.get(f"/sync/{db}/{doc_id}", params={"revs": "true"}).json()
                assert theirs == mine, f"{doc_id}: the server's history differs from the device's"
        if kind == "sqlite":
            live.close()
            assert _integrity(tmp_path / "blockwalk.db") == "ok"
    finally:
        office.stop.set()
        for peer in peers.values():
            peer.close()
        live.close()
