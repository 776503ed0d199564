"""Filtered sync benchmark: one turf's first pull from a store of 1,000,000 documents.

Fills a SQLite store with N documents over T turfs (households and records
of each turf; the forms; through the store's bulk path), starts Blockwalk on
it, and times a volunteer's phone (PouchDB 9, memory adapter) pulling its one
turf (about N/T documents), then no-op pulls.  In the same run: the same pull
from a pouchdb-server database holding only that turf's documents, and the
no-op pull against a Blockwalk store of 10,000 documents, to show that the
cost does not grow with the store.

    python bench/filtered_sync.py [--docs 1000000] [--turfs 1000]

Targets (issue "Campaigns"): the first pull within 1.2 times pouchdb-server's,
and the no-op pull within 1.5 times its time on a store of 10,000 documents.
The CouchDB store has no channel index yet: not measured.
"""

from __future__ import annotations

import argparse
import json
import shutil
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


def fill(path: Path, total: int, turfs: int) -> float:
    server = SQLiteServer(path, router=route, synchronous="NORMAL")
    db = server.create_db("city")
    db.bulk_docs([published(drive) for drive in DRIVES])
    per_turf = total // turfs
    started = time.perf_counter()
    for turf in range(turfs):
        results = db.bulk_docs(turf_docs(turf, per_turf), new_edits=False)
        assert not any("error" in r for r in results), results[:1]
    elapsed = time.perf_counter() - started
    server.close()
    return elapsed


def pull(url: str, token: str | None, expect: int, rounds: int) -> dict:
    node = shutil.which("node")
    out = subprocess.run([node, str(CLIENT), json.dumps({"url": url, "token": token, "expect": expect, "rounds": rounds})],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def blockwalk_pull(folder: Path, store: Path, turf: int, expect: int, rounds: int) -> dict:
    live = LiveServer(folder, store=f"sqlite://{store}")
    try:
        role = live.http.put("/api/v1/campaigns/city/members/vic", json={"role": "volunteer"})
        assert role.status_code == 200, role.text
        response = live.http.put(f"/sync/city/{assignment_id('vic', f'turf:{turf}')}",
                                 json={"type": "assignment", "user": "vic", "turf": f"turf:{turf}", "active": True})
        assert response.status_code == 201, response.text
        return pull(f"{live.url}/sync/city", live.volunteer_token, expect, rounds)
    finally:
        live.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--turfs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    per_turf = args.docs // args.turfs
    turf = args.turfs // 2
    # What the phone holds after its first pull: the turf's documents, the forms, its assignment.
    expect = per_turf + len(DRIVES) + 1
    with tempfile.TemporaryDirectory(prefix="blockwalk-filtered-") as tmp:
        folder = Path(tmp)
        big, small = folder / "big.db", folder / "small.db"
        fill_s = fill(big, args.docs, args.turfs)
        print(f"filled {args.docs:,} documents over {args.turfs:,} turfs in {fill_s:.0f} s "
              f"({args.docs / fill_s:,.0f} docs/s through the store's bulk path, with routing)")
        fill(small, 10_000, 10)
        (folder / "b1").mkdir()
        (folder / "b2").mkdir()
        on_big = blockwalk_pull(folder / "b1", big, turf, expect, args.rounds)
        on_small = blockwalk_pull(folder / "b2", small, 5, expect if per_turf == 1000 else None, args.rounds)
        couch = PouchDBServer(folder / "pouchdb-server")
        try:
            httpx.put(f"{couch.url}/turf").raise_for_status()
            httpx.post(f"{couch.url}/turf/_bulk_docs", json={"docs": turf_docs(turf, per_turf), "new_edits": False},
                       timeout=120).raise_for_status()
            others = [published(drive) for drive in DRIVES] + [
                {"_id": assignment_id("vic", f"turf:{turf}"), "type": "assignment", "user": "vic", "turf": f"turf:{turf}"}]
            httpx.post(f"{couch.url}/turf/_bulk_docs", json={"docs": others}, timeout=120).raise_for_status()
            direct = pull(f"{couch.url}/turf", None, expect, args.rounds)
        finally:
            couch.close()
    print(f"first pull of one turf ({on_big['docs']} docs): blockwalk {on_big['first_ms']:8.0f} ms on {args.docs:,} docs, "
          f"pouchdb-server {direct['first_ms']:8.0f} ms holding only the turf   ratio {on_big['first_ms'] / direct['first_ms']:.2f} (target <= 1.2)")
    print(f"no-op pull: blockwalk {on_big['noop_median_ms']:6.1f} ms on {args.docs:,} docs, {on_small['noop_median_ms']:6.1f} ms on 10,000 docs"
          f"   ratio {on_big['noop_median_ms'] / on_small['noop_median_ms']:.2f} (target <= 1.5); pouchdb-server {direct['noop_median_ms']:.1f} ms")
    print("CouchDB store: not measured (no channel index yet)")


if __name__ == "__main__":
    main()
