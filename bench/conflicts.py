"""Conflicts benchmark: 10,000 records each pushed with two conflicting leaves, resolved on arrival.

Every record is first stored with one leaf (``2-a``, a phone's edit of
``1-x``), untimed.  Then the second leaf of every record (``2-b``, another
phone's concurrent edit of the same field and of another field) is pushed
through the server's replication path, ``POST /sync/<db>/_bulk_docs`` with
``new_edits=false`` in batches of 100, as PouchDB pushes: each batch is
validated, stored, checked for conflicting leaves, merged, and the merge
revisions and deletions written.  In the same run, the peer: the same leaves
pushed into a fresh store the same way with resolution switched off.

    python bench/conflicts.py [--records 10000]

Targets (issue "Conflicts"): at least 2,000 records resolved per second, and
no more than 1.3 times the time of storing the same leaves without resolution.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time

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


def run(folder: str, first: list[dict], second: list[dict], resolve: bool) -> tuple[float, dict]:
    app = create_app({"STORE": f"sqlite://{folder}/store.db"}, environ={})
    store = app.extensions["blockwalk.store"]
    accounts = Accounts(store)
    accounts.add_user("ada", "admin", "ada-password")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.create_token('ada')}"
    db = store.create_db("bench")
    db.bulk_docs([published(drive) for drive in DRIVES])
    original = conflicts.resolver
    conflicts.resolver = lambda store: None  # untimed set-up: the first leaves conflict with nothing
    try:
        push(client, first)
        if not resolve:
            t0 = time.perf_counter()
            push(client, second)
            return time.perf_counter() - t0, {}
    finally:
        conflicts.resolver = original
    t0 = time.perf_counter()
    push(client, second)
    elapsed = time.perf_counter() - t0
    sample = db.get("record:000000", conflicts=True)
    store.close()
    return elapsed, sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    first, second = leaves(args.records)
    with tempfile.TemporaryDirectory() as with_folder, tempfile.TemporaryDirectory() as without_folder:
        plain, _ = run(without_folder, first, second, resolve=False)
        merged, sample = run(with_folder, first, second, resolve=True)
    assert "_conflicts" not in sample and sample["conflicts"]["answers.door_language"]["open"], sample
    assert sample["answers"]["flyer_left"] == "no" and sample["answers"]["concerns"] == "street lights; dogs"
    print(f"records with two conflicting leaves: {args.records:,}")
    print(f"stored without resolution:  {plain:7.2f} s  {args.records / plain:9,.0f} records/s")
    print(f"stored and resolved:        {merged:7.2f} s  {args.records / merged:9,.0f} records/s  (target >= 2,000)")
    print(f"ratio:                      {merged / plain:7.2f}x  (target <= 1.3x)")


if __name__ == "__main__":
    main()
