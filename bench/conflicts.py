"""Conflicts benchmark: 10,000 records each pushed with two conflicting leaves, resolved on arrival.

Every record is first stored with one leaf (``2-a``, a phone's edit of
``1-x``), untimed.  Then the second leaf of every record (``2-b``, another
phone's concurrent edit of the same field and of another field) is pushed
through the server's replication path, ``POST /sync/<db>/_bulk_docs`` with
``new_edits=false`` in batches of 100, as PouchDB pushes: each batch is
validated, stored, checked for conflicting leaves, merged, and the merge
revisions and deletions written.  In the same run, the peer: the same leaves
pushed into a second store the same way with resolution switched off.  The
two alternate batch by batch, so both run under the same load (the machine
is shared); the wall time and the process's CPU time of each are summed.

    python bench/conflicts.py [--records 10000] [--floor]

``--floor`` measures what resolution costs beyond the merge: the resolved
store's resolver hands back writes computed before the timing (the same
merge revisions and deletions), so the figure is the cost of finding the
conflicts, reading the leaves and storing the two more revisions a record.

Targets (issue "Conflicts"): at least 2,000 records resolved per second, and
no more than 1.3 times the time of storing the same leaves without resolution.
"""

from __future__ import annotations

import argparse
import copy
import gc
import os
import sys
import tempfile
import time
from contextlib import contextmanager

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from forms.templates import DRIVES, published  # noqa: E402
from server import conflicts  # noqa: E402
from server.accounts import Accounts  # noqa: E402
from server.app import create_app  # noqa: E402
from sync.stamps import Clock, stamp_edit  # noqa: E402

BATCH = 100
T = 1_764_085_500_000
VISIT = {"type": "record", "form": "form:meeting_awareness", "form_version": 1, "household": "household:1",
         "turf": "turf:a", "author": "ana", "device": "phone-a",
         "answers": {"outcome": "contacted", "informed": "yes", "flyer_left": "yes", "door_language": "en",
                     "language_needed": ["es"], "concerns": "street lights"},
         "geotag": {"lat": 41.88, "lon": -87.63, "accuracy_m": 12.0}}


def leaves(count: int) -> tuple[list[dict], list[dict]]:
    """(the first leaf of every record, with its parent; the second, conflicting leaf)."""
    first, second = [], []
    clock_a, clock_b = Clock(), Clock()
    for n in range(count):
        body = {"_id": f"record:{n:06d}", **copy.deepcopy(VISIT)}
        root = stamp_edit(None, body, device="phone-a", user="ana", clock=clock_a, now_ms=T + n)
        a = copy.deepcopy(root)
        a["answers"].update(door_language="es", flyer_left="no")
        a = stamp_edit(root, a, device="phone-a", user="ana", clock=clock_a, now_ms=T + n + 1000)
        b = copy.deepcopy(root)
        b["answers"].update(door_language="pl", concerns="street lights; dogs")
        b = stamp_edit(root, b, device="phone-b", user="ben", clock=clock_b, now_ms=T + n + 2000)
        h0, ha, hb = f"{n:032x}", f"a{n:031x}", f"b{n:031x}"
        first.append({**root, "_rev": f"1-{h0}", "_revisions": {"start": 1, "ids": [h0]}})
        first.append({**a, "_rev": f"2-{ha}", "_revisions": {"start": 2, "ids": [ha, h0]}})
        second.append({**b, "_rev": f"2-{hb}", "_revisions": {"start": 2, "ids": [hb, h0]}})
    return first, second


def push(client, docs: list[dict]) -> None:
    for i in range(0, len(docs), BATCH):
        response = client.post("/sync/bench/_bulk_docs", json={"docs": docs[i:i + BATCH], "new_edits": False})
        if response.status_code != 201 or response.get_json():
            raise SystemExit(f"push failed: {response.get_data(as_text=True)[:500]}")


@contextmanager
def resolution(on: bool, precomputed: dict[str, list[dict]] | None = None):
    """Resolution on arrival switched on or off (``server.conflicts.resolver``), or by precomputed writes."""
    original = conflicts.resolver
    if not on:
        conflicts.resolver = lambda store: None
    elif precomputed is not None:
        conflicts.resolver = lambda store: lambda doc_id, leaves: precomputed[doc_id]
    try:
        yield
    finally:
        conflicts.resolver = original


def server(folder: str, first: list[dict]):
    """A server whose store holds every record's first leaf (untimed set-up: they conflict with nothing)."""
    app = create_app({"STORE": f"sqlite://{folder}/store.db"}, environ={})
    store = app.extensions["blockwalk.store"]
    accounts = Accounts(store)
    accounts.add_user("ada", "admin", "ada-password")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.create_token('ada')}"
    db = store.create_db("bench")
    db.bulk_docs([published(drive) for drive in DRIVES])
    with resolution(False):
        push(client, first)
    return client, store, db


def merges(first: list[dict], second: list[dict]) -> tuple[dict[str, list[dict]], float]:
    """Doc id -> the writes that resolve it, as the server computes them, and the CPU time that took (``--floor``)."""
    policies = conflicts.policies_of(next(published(d) for d in DRIVES if published(d)["_id"] == f"{VISIT['form']}@1"))
    pairs = [(a["_id"], [{k: v for k, v in leaf.items() if k != "_revisions"} for leaf in (a, b)])
             for a, b in zip(first[1::2], second)]
    gc.collect()
    gc.freeze()
    c0 = time.process_time()
    out = {doc_id: conflicts.merge_writes(doc_id, leaves, policies) for doc_id, leaves in pairs}
    return out, time.process_time() - c0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--floor", action="store_true",
                        help="resolve by writes computed before the timing: the cost of resolution without the merge")
    args = parser.parse_args()
    first, second = leaves(args.records)
    precomputed, merge_cpu = merges(first, second) if args.floor else (None, 0.0)
    wall = {False: 0.0, True: 0.0}
    cpu = {False: 0.0, True: 0.0}
    with tempfile.TemporaryDirectory() as with_folder, tempfile.TemporaryDirectory() as without_folder:
        servers = {False: server(without_folder, first), True: server(with_folder, first)}
        gc.collect()
        gc.freeze()  # the set-up's objects (the leaves, 30,000 documents) out of the collector's way, for both
        print("load average before: {:.2f} {:.2f} {:.2f} ({} CPUs)".format(*os.getloadavg(), os.cpu_count()))
        for i in range(0, len(second), BATCH):  # alternating, batch by batch: both under the same load
            for resolve in (False, True):
                with resolution(resolve, precomputed):
                    t0, c0 = time.perf_counter(), time.process_time()
                    push(servers[resolve][0], second[i:i + BATCH])
                    wall[resolve] += time.perf_counter() - t0
                    cpu[resolve] += time.process_time() - c0
        sample = servers[True][2].get("record:000000", conflicts=True)
        plain = servers[False][2].get("record:000000", conflicts=True)
        for _, store, _ in servers.values():
            store.close()
    assert "_conflicts" not in sample and sample["conflicts"]["answers.door_language"]["open"], sample
    assert sample["answers"]["flyer_left"] == "no" and sample["answers"]["concerns"] == "street lights; dogs"
    assert len(plain["_conflicts"]) == 1  # the peer stored the same leaves and resolved nothing
    n = args.records
    print(f"records with two conflicting leaves: {n:,}")
    print(f"stored without resolution:  {wall[False]:7.2f} s  {n / wall[False]:9,.0f} records/s"
          f"  (CPU {cpu[False]:6.2f} s, {cpu[False] / n * 1e6:4.0f} us a record)")
    if args.floor:
        print("resolved by writes computed before the timing (--floor): no merge in the figures below;")
        print(f"the merges alone (server.conflicts.merge_writes), computed before: CPU {merge_cpu:6.2f} s,"
              f" {merge_cpu / n * 1e6:4.0f} us a record")
    print(f"stored and resolved:        {wall[True]:7.2f} s  {n / wall[True]:9,.0f} records/s"
          f"  (CPU {cpu[True]:6.2f} s, {cpu[True] / n * 1e6:4.0f} us a record)  (target >= 2,000)")
    print(f"ratio:                      {wall[True] / wall[False]:7.2f}x  (CPU {cpu[True] / cpu[False]:.2f}x)"
          "  (target <= 1.3x)")


if __name__ == "__main__":
    main()
