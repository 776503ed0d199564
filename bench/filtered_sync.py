"""Filtered sync benchmark: one turf's first pull from a store of 1,000,000 documents.

For each store (SQLite; CouchDB, backed by pouchdb-server on disk): fills it
with N documents over T turfs (households and records of each turf; the
forms; through the store's bulk path, ``new_edits=false`` batches of one
turf), starts Blockwalk on it, and times a volunteer's phone (PouchDB 9,
memory adapter) pulling its one turf (about N/T documents), then no-op
pulls (the median of three new phones each).  On the CouchDB store the
fill is followed by building its channel index (``sync.couchdb_channels``)
as ``blockwalk db index`` does, timed apart (a push pays nothing for the
index: a server copies in the background).  In the same run: the same pull
from a pouchdb-server database holding only that turf's documents, and the
no-op pull against a store of 10,000 documents, to show that the cost does
not grow with the store.

    python bench/filtered_sync.py [--docs 1000000] [--turfs 1000] [--stores sqlite,couchdb] [--couch-docs N]

``--couch-docs`` fills the CouchDB store with fewer documents (same number
of turfs) when pouchdb-server is too slow to take N in the time at hand;
the output says so.

Targets (issue "Campaigns"): the first pull within 1.2 times pouchdb-server's,
and the no-op pull within 1.5 times its time on a store of 10,000 documents.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from forms.templates import DRIVES, published  # noqa: E402
from server.channels import assignment_id, route  # noqa: E402
from sync.couchdb_store import CouchDBServer  # noqa: E402
from sync.sqlite_store import SQLiteServer  # noqa: E402
from tests.peers import LiveServer, PouchDBServer  # noqa: E402

CLIENT = ROOT / "bench" / "pull_client.mjs"
FILLER = "Spoke with the resident at the side door; come back after six for the landlord. " * 6


def turf_docs(turf: int, per_turf: int) -> list[dict]:
    """A turf's documents as the store holds them: households, then records at them."""
    docs = []
    for i in range(per_turf):
        doc_id = f"household:{turf:04d}-{i:04d}"
        kind = "household" if i % 2 == 0 else "record"
        body = {"_id": doc_id if kind == "household" else f"record:{turf:04d}-{i:04d}",
                "type": kind, "turf": f"turf:{turf}", "notes": FILLER}
        if kind == "record":
            body.update({"form": "form:asset_mapping", "form_version": 1, "author": "olga",
                         "answers": {"outcome": "not_home"}})
        rev_hash = f"{turf:08x}{i:08x}".ljust(32, "0")
        body.update({"_rev": f"1-{rev_hash}", "_revisions": {"start": 1, "ids": [rev_hash]}})
        docs.append(body)
    return docs


def fill(db, total: int, turfs: int) -> float:
    """Fill one campaign database through the store's bulk path; returns the seconds it took."""
    db.bulk_docs([published(drive) for drive in DRIVES])
    per_turf = total // turfs
    started = time.perf_counter()
    for turf in range(turfs):
        results = db.bulk_docs(turf_docs(turf, per_turf), new_edits=False)
        assert not any("error" in r for r in results), results[:1]
    return time.perf_counter() - started


def fill_sqlite(path: Path, total: int, turfs: int) -> float:
    server = SQLiteServer(path, router=route, synchronous="NORMAL")
    try:
        return fill(server.create_db("city"), total, turfs)
    finally:
        server.close()


def fill_couchdb(url: str, prefix: str, total: int, turfs: int) -> tuple[float, float]:
    """Fill, then build the channel index as ``blockwalk db index`` does; returns both times in seconds.

    The fill is a push through the store: the channel index costs it nothing
    (a server's follower copies after the acknowledgement), so the
    documents are written first and the index built after.
    """
    server = CouchDBServer(url, prefix=prefix, router=route, timeout=600)
    try:
        fill_s = fill(server.create_db("city"), total, turfs)
        started = time.perf_counter()
        server.open_db("city").build_channel_index()
        return fill_s, time.perf_counter() - started
    finally:
        server.close()


FIRST_PULLS = 3  # new phones per measurement: the median is reported (a loaded machine is noisy)


def pull(url: str, token: str | None, expect: int, rounds: int) -> dict:
    """First pulls of FIRST_PULLS new phones, then no-op pulls; the medians."""
    node = shutil.which("node")
    runs = []
    for _ in range(FIRST_PULLS):
        spec = json.dumps({"url": url, "token": token, "expect": expect, "rounds": rounds})
        out = subprocess.run([node, str(CLIENT), spec], capture_output=True, text=True, timeout=600, cwd=ROOT)
        if out.returncode != 0:
            raise SystemExit(out.stderr[-2000:])
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {"docs": runs[0]["docs"], "first_ms": statistics.median(r["first_ms"] for r in runs),
            "noop_median_ms": statistics.median(r["noop_median_ms"] for r in runs)}


def blockwalk_pull(folder: Path, store: str, turf: int, expect: int | None, rounds: int) -> dict:
    folder.mkdir()
    live = LiveServer(folder, store=store)
    try:
        role = live.http.put("/api/v1/campaigns/city/members/vic", json={"role": "volunteer"})
        assert role.status_code == 200, role.text
        response = live.http.put(f"/sync/city/{assignment_id('vic', f'turf:{turf}')}",
                                 json={"type": "assignment", "user": "vic", "turf": f"turf:{turf}", "active": True})
        assert response.status_code == 201, response.text
        return pull(f"{live.url}/sync/city", live.volunteer_token, expect, rounds)
    finally:
        live.close()


def direct_pull(couch_url: str, turf: int, per_turf: int, expect: int, rounds: int) -> dict:
    """The same pull from a pouchdb-server database holding only the turf's documents."""
    httpx.put(f"{couch_url}/turf").raise_for_status()
    httpx.post(f"{couch_url}/turf/_bulk_docs", json={"docs": turf_docs(turf, per_turf), "new_edits": False},
               timeout=120).raise_for_status()
    others = [published(drive) for drive in DRIVES] + [
        {"_id": assignment_id("vic", f"turf:{turf}"), "type": "assignment", "user": "vic", "turf": f"turf:{turf}"}]
    httpx.post(f"{couch_url}/turf/_bulk_docs", json={"docs": others}, timeout=120).raise_for_status()
    return pull(f"{couch_url}/turf", None, expect, rounds)


def report(label: str, docs: int, on_big: dict, on_small: dict, direct: dict) -> None:
    print(f"{label}: first pull of one turf ({on_big['docs']} docs): blockwalk {on_big['first_ms']:8.0f} ms on {docs:,} docs, "
          f"pouchdb-server {direct['first_ms']:8.0f} ms holding only the turf   "
          f"ratio {on_big['first_ms'] / direct['first_ms']:.2f} (target <= 1.2)")
    print(f"{label}: no-op pull: blockwalk {on_big['noop_median_ms']:6.1f} ms on {docs:,} docs, "
          f"{on_small['noop_median_ms']:6.1f} ms on 10,000 docs   "
          f"ratio {on_big['noop_median_ms'] / on_small['noop_median_ms']:.2f} (target <= 1.5); "
          f"pouchdb-server {direct['noop_median_ms']:.1f} ms", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--turfs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--stores", default="sqlite,couchdb", help="comma-separated: sqlite, couchdb")
    parser.add_argument("--couch-docs", type=int, default=None,
                        help="documents in the CouchDB store (default: --docs); the output says when it is fewer")
    args = parser.parse_args()
    stores = [name.strip() for name in args.stores.split(",") if name.strip()]
    unknown = set(stores) - {"sqlite", "couchdb"}
    if unknown:
        raise SystemExit(f"unknown store {', '.join(sorted(unknown))}: use sqlite, couchdb")
    turf = args.turfs // 2
    per_turf = args.docs // args.turfs
    # What the phone holds after its first pull: the turf's documents, the forms, its assignment.
    expect = per_turf + len(DRIVES) + 1
    with tempfile.TemporaryDirectory(prefix="blockwalk-filtered-") as tmp:
        folder = Path(tmp)
        couch = PouchDBServer(folder / "pouchdb-server")
        try:
            direct = direct_pull(couch.url, turf, per_turf, expect, args.rounds)
            if "sqlite" in stores:
                big, small = folder / "big.db", folder / "small.db"
                fill_s = fill_sqlite(big, args.docs, args.turfs)
                print(f"sqlite: filled {args.docs:,} documents over {args.turfs:,} turfs in {fill_s:.0f} s "
                      f"({args.docs / fill_s:,.0f} docs/s through the store's bulk path, with routing)", flush=True)
                fill_sqlite(small, 10_000, 10)
                on_big = blockwalk_pull(folder / "b1", f"sqlite://{big}", turf, expect, args.rounds)
                on_small = blockwalk_pull(folder / "b2", f"sqlite://{small}", 5, expect if per_turf == 1000 else None,
                                          args.rounds)
                report("sqlite", args.docs, on_big, on_small, direct)
            if "couchdb" in stores:
                docs = args.couch_docs or args.docs
                couch_per_turf = docs // args.turfs
                fill_s, index_s = fill_couchdb(couch.url, "big", docs, args.turfs)
                print(f"couchdb: filled {docs:,} documents over {args.turfs:,} turfs in {fill_s:.0f} s "
                      f"({docs / fill_s:,.0f} docs/s through the store's bulk path, pouchdb-server on disk), "
                      f"then channel index built (blockwalk db index) in {index_s:.0f} s ({docs / index_s:,.0f} docs/s)",
                      flush=True)
                if docs < args.docs:
                    print(f"couchdb: NOTE the CouchDB store holds {docs:,} documents, not {args.docs:,} (--couch-docs); "
                          f"its turf holds {couch_per_turf:,}", flush=True)
                fill_couchdb(couch.url, "small", 10_000, 10)
                couch_expect = couch_per_turf + len(DRIVES) + 1
                on_big = blockwalk_pull(folder / "c1", f"couchdb+{couch.url}/big", turf, couch_expect, args.rounds)
                on_small = blockwalk_pull(folder / "c2", f"couchdb+{couch.url}/small", 5,
                                          couch_expect if couch_per_turf == 1000 else None, args.rounds)
                couch_direct = direct if couch_per_turf == per_turf else None
                if couch_direct is None:
                    httpx.delete(f"{couch.url}/turf").raise_for_status()
                    couch_direct = direct_pull(couch.url, turf, couch_per_turf, couch_expect, args.rounds)
                report("couchdb", docs, on_big, on_small, couch_direct)
        finally:
            couch.close()


if __name__ == "__main__":
    main()
