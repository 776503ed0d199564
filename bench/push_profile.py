"""The server's own cost of a PouchDB push, per request, without the client or the network.

Replays in this process, through the real WSGI app on a SQLite file, the
requests PouchDB 9 sends to push N records in batches of 100 (as
``bench/sync.py --trace`` shows them): per batch ``POST _revs_diff``,
``POST _bulk_docs`` (``new_edits: false``), then the checkpoint,
``GET`` and ``PUT _local/<replication id>``.  Prints the CPU time
(``time.process_time``) and wall time per request of each kind: CPU is what
the server itself spends, wall adds the waits (fsync).  Less sensitive to
the machine's load than ``bench/sync.py``'s ratios, so use it to iterate.

    .venv/bin/python bench/push_profile.py [--docs 10000] [--user admin|volunteer] [--profile FILE]

``--profile FILE`` writes a cProfile of the replay (``python -m pstats FILE``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

import orjson  # noqa: E402
from records import records  # noqa: E402

from forms.templates import DRIVES, published  # noqa: E402
from server.app import create_app  # noqa: E402
from server.services import services

BATCH = 100
CHECKPOINT = "_local/0mBqXeOeJ3hXG4bOPaD4wA%3D%3D"


class Timed:
    """WSGI middleware: CPU and wall time of each request, body iteration included."""

    def __init__(self, app):
        self.app = app
        self.rows: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.kind = ""

    def __call__(self, environ, start_response):
        cpu, wall = time.process_time(), time.perf_counter()
        body = b"".join(self.app(environ, start_response))
        self.rows[self.kind].append((time.process_time() - cpu, time.perf_counter() - wall))
        return [body]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--user", choices=("admin", "volunteer"), default="admin")
    parser.add_argument("--profile", help="write a cProfile of the replay to this file")
    args = parser.parse_args()
    docs = records(args.docs)
    with tempfile.TemporaryDirectory(prefix="blockwalk-push-") as tmp:
        app = create_app({"STORE": f"sqlite://{tmp}/blockwalk.db"})
        accounts = services(app).accounts
        accounts.add_user("ana", "admin", "ana-password-1")
        store = services(app).store
        store.create_db("bench")
        name = "ana"
        if args.user == "volunteer":
            name = "vic"
            accounts.add_user(name, "volunteer", "vic-password-1", campaign="bench")
            for doc in docs:
                doc["author"] = name
            turfs = sorted({doc["turf"] for doc in docs})
            store.open_db("bench").bulk_docs([
                {"_id": f"assignment:{name}:{t}", "type": "assignment", "user": name, "turf": t, "active": True}
                for t in turfs])
        store.open_db("bench").bulk_docs([published(drive) for drive in DRIVES])
        token = accounts.create_token(name)
        timed = Timed(app.wsgi_app)
        app.wsgi_app = timed
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        gc.freeze()
        profiler = cProfile.Profile() if args.profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        checkpoint_rev = None
        for start in range(0, len(docs), BATCH):
            batch = docs[start:start + BATCH]
            timed.kind = "GET _local"
            client.get(f"/sync/bench/{CHECKPOINT}", headers=headers)
            timed.kind = "POST _revs_diff"
            r = client.post("/sync/bench/_revs_diff", headers=headers,
                            data=orjson.dumps({d["_id"]: [d["_rev"]] for d in batch}))
            assert r.status_code == 200 and len(r.json) == len(batch), r.data
            timed.kind = "POST _bulk_docs"
            r = client.post("/sync/bench/_bulk_docs", headers=headers,
                            data=orjson.dumps({"docs": batch, "new_edits": False}))
            assert r.status_code == 201 and r.json == [], r.data[:500]
            timed.kind = "PUT _local"
            body = {"last_seq": start + len(batch), "session_id": "s", "history": [], "replicator": "pouchdb",
                    "version": 1}
            if checkpoint_rev:
                body["_rev"] = checkpoint_rev
            r = client.put(f"/sync/bench/{CHECKPOINT}", headers=headers, data=orjson.dumps(body))
            assert r.status_code == 201, r.data
            checkpoint_rev = r.json["rev"]
        if profiler:
            profiler.disable()
            profiler.dump_stats(args.profile)
        elapsed = time.perf_counter() - started
        services(app).store.close()
    batches = -(-len(docs) // BATCH)
    total_cpu = sum(c for rows in timed.rows.values() for c, _ in rows)
    print(f"{len(docs)} records as {args.user}, {batches} batches of {BATCH}: {elapsed:.2f} s, "
          f"server CPU {total_cpu * 1000 / batches:.2f} ms a batch")
    for kind, rows in timed.rows.items():
        cpu = [c * 1000 for c, _ in rows]
        wall = [w * 1000 for _, w in rows]
        print(f"  {kind:<16} CPU median {statistics.median(cpu):6.2f} ms, mean {statistics.mean(cpu):6.2f}; "
              f"wall median {statistics.median(wall):6.2f} ms, mean {statistics.mean(wall):6.2f}")


if __name__ == "__main__":
    main()
