"""Filtered sync benchmark: one turf's first pull from a store of 1,000,000 documents.

For each store (SQLite; CouchDB, backed by pouchdb-server on disk): fills it
with N documents over T turfs (households and records of each turf; the
forms; through the store's bulk path, ``new_edits=false`` batches of one
turf), starts Blockwalk on it, and times a volunteer's phone (PouchDB 9,
memory adapter) pulling its one turf (about N/T documents), then no-op
pulls.  On the SQLite store the server's own indexes (asset map, visits)
are built before it starts, timed apart, as a running server keeps them
(``blockwalk serve`` would otherwise spend its first minute building them
from the whole campaign, beside the pulls).  On the CouchDB store the fill
is followed by building its channel index (``sync.couchdb.channel_index``) as
``blockwalk db index`` does, timed apart (a push pays nothing for the
index: a server copies in the background), and the server's own indexes,
as on SQLite.  In the same run: the same pull
from a pouchdb-server database holding only that turf's documents, and the
no-op pull against a store of 10,000 documents, to show that the cost does
not grow with the store.  For each store, nine new phones pull from
pouchdb-server, Blockwalk on the large store and Blockwalk on the small one
in turn, after one untimed phone on each server: the medians are reported.
Before each Blockwalk phone the campaign changes elsewhere
(``write_elsewhere``), so no phone is served what the one before it read.

    python bench/filtered_sync.py [--docs 1000000] [--turfs 1000] [--stores sqlite,couchdb] [--couch-docs N]
                                  [--keep DIR]

``--couch-docs`` fills the CouchDB store with fewer documents (same number
of turfs) when pouchdb-server is too slow to take N in the time at hand;
the output says so.  ``--keep DIR`` keeps the filled SQLite stores (and
their indexes) in DIR and reuses them on the next run with the same sizes;
each run pulls from a copy, so every run starts from the same state.

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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from forms.templates import DRIVES, published  # noqa: E402
from server.access.channels import assignment_id, route  # noqa: E402
from server.services import services
from sync.couchdb.store import CouchDBServer  # noqa: E402
from sync.sqlite import SQLiteServer  # noqa: E402
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


def index_server(store: str, data_dir: Path | None = None) -> float:
    """Build the server's own indexes of the store (asset map, visits), as a running server keeps them.

    ``data_dir``: the server's BLOCKWALK_DATA_DIR, where a CouchDB store's are kept
    (a SQLite store's are beside it).
    """
    from server import projection
    from server.app import create_app

    app = create_app({"STORE": store, **({"DATA_DIR": str(data_dir)} if data_dir else {})}, environ={})
    started = time.perf_counter()
    try:
        projection.catch_up_all(app)
        return time.perf_counter() - started
    finally:
        projection.close_all(app)
        services(app).store.close()


def sqlite_store(keep: Path, total: int, turfs: int) -> Path:
    """A filled and indexed SQLite store in ``keep``: found there from an earlier run, or made now."""
    path = keep / f"sqlite-{total}x{turfs}.db"
    done = path.with_name(path.name + ".done")
    if done.exists():
        print(f"sqlite: reusing {path} ({total:,} documents over {turfs:,} turfs)", flush=True)
        return path
    for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.rmtree(path.with_name(path.name + ".index"), ignore_errors=True)
    fill_s = fill_sqlite(path, total, turfs)
    index_s = index_server(f"sqlite://{path}")
    print(f"sqlite: filled {total:,} documents over {turfs:,} turfs in {fill_s:.0f} s "
          f"({total / fill_s:,.0f} docs/s through the store's bulk path, with routing); "
          f"server indexes built in {index_s:.0f} s", flush=True)
    done.touch()
    return path


def sqlite_copy(kept: Path, folder: Path) -> str:
    """A copy of a kept store and its indexes in ``folder`` (the run adds accounts and an assignment)."""
    folder.mkdir()
    path = folder / "store.db"
    shutil.copyfile(kept, path)
    shutil.copytree(kept.with_name(kept.name + ".index"), path.with_name(path.name + ".index"))
    return f"sqlite://{path}"


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


def pull(url: str, token: str | None, expect: int, rounds: int) -> dict:
    node = shutil.which("node")
    out = subprocess.run([node, str(CLIENT), json.dumps({"url": url, "token": token, "expect": expect, "rounds": rounds})],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def volunteer_server(folder: Path, store: str, turf: int) -> Iterator[LiveServer]:
    """Blockwalk serving ``store``, its volunteer vic assigned ``turf``."""
    folder.mkdir(exist_ok=True)
    live = LiveServer(folder, store=store)
    try:
        role = live.http.put("/api/v1/campaigns/city/members/vic", json={"role": "volunteer"})
        assert role.status_code == 200, role.text
        response = live.http.put(f"/sync/city/{assignment_id('vic', f'turf:{turf}')}",
                                 json={"type": "assignment", "user": "vic", "turf": f"turf:{turf}", "active": True})
        assert response.status_code == 201, response.text
        yield live
    finally:
        live.close()


PHONES = 9  # new phones per measurement: the medians are reported (one phone varies by a third on a loaded machine)


def write_elsewhere(live: LiveServer, n: int) -> None:
    """A household written in a turf no phone has: the campaign changed since the last phone pulled.

    So nothing one phone's pull read is remembered for the next (the CouchDB
    store remembers channel answers and grants while nothing changes): each
    phone pays for its own reads, as in a campaign in use.  The server's
    follower copies the write into the channel index before the phone starts.
    """
    response = live.http.put(f"/sync/city/household:elsewhere-{n}", json={"type": "household", "turf": "turf:elsewhere",
                                                                             "address": f"{n} Elsewhere St"})
    assert response.status_code == 201, response.text
    time.sleep(1.0)


def medians(runs: list[dict]) -> dict:
    return {"docs": runs[0]["docs"], "first_ms": statistics.median(r["first_ms"] for r in runs),
            "noop_median_ms": statistics.median(r["noop_median_ms"] for r in runs),
            "firsts": [round(r["first_ms"]) for r in runs]}


def pulls_in_turns(label: str, folder: Path, big_store: str, small_store: str, docs: int, args, turf: int,
                   expect: int, small_expect: int | None, direct_url: str) -> None:
    """New phones taking turns: pouchdb-server, Blockwalk on the large store, Blockwalk on the small one.

    Both Blockwalk servers run at once, so the three sides share the same
    moments of a loaded machine.  Each server has served one phone before
    the measured ones (pouchdb-server the first direct pull), as a running
    server has: the first requests after start-up pay for imports and
    connections.
    """
    runs: dict[str, list[dict]] = {"direct": [], "big": [], "small": []}
    with (volunteer_server(folder / f"{label}-big", big_store, turf) as on_big,
          volunteer_server(folder / f"{label}-small", small_store, 5) as on_small):
        servers = {"big": on_big, "small": on_small}
        phones = {"direct": (direct_url, None, expect),
                  "big": (f"{on_big.url}/sync/city", on_big.volunteer_token, expect),
                  "small": (f"{on_small.url}/sync/city", on_small.volunteer_token, small_expect)}
        for side in ("big", "small"):
            pull(*phones[side], 1)
        order = list(phones)
        for phone in range(PHONES):
            for side in order[phone % 3:] + order[:phone % 3]:
                if side in servers:
                    write_elsewhere(servers[side], phone)
                runs[side].append(pull(*phones[side], args.rounds))
    report(label, docs, medians(runs["big"]), medians(runs["small"]), medians(runs["direct"]))


def sqlite_pulls(folder: Path, keep: Path, args, turf: int, expect: int, direct_url: str) -> None:
    big = sqlite_store(keep, args.docs, args.turfs)
    small = sqlite_store(keep, 10_000, 10)
    small_expect = expect if args.docs // args.turfs == 1000 else None
    pulls_in_turns("sqlite", folder, sqlite_copy(big, folder / "b1"), sqlite_copy(small, folder / "b2"), args.docs,
                   args, turf, expect, small_expect, direct_url)


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
    each = ""
    if "firsts" in on_big:
        each = f" (medians of {len(on_big['firsts'])} new phones: {on_big['firsts']} / {direct['firsts']} ms)"
    print(f"{label}: first pull of one turf ({on_big['docs']} docs): blockwalk {on_big['first_ms']:8.0f} ms on {docs:,} docs, "
          f"pouchdb-server {direct['first_ms']:8.0f} ms holding only the turf   "
          f"ratio {on_big['first_ms'] / direct['first_ms']:.2f} (target <= 1.2){each}")
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
    parser.add_argument("--keep", default=None,
                        help="keep the filled SQLite stores in this folder and reuse them on later runs")
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
            direct_pull(couch.url, turf, per_turf, expect, 1)  # pouchdb-server's first phone, untimed
            if "sqlite" in stores:
                keep = Path(args.keep) if args.keep else folder
                keep.mkdir(parents=True, exist_ok=True)
                sqlite_pulls(folder, keep, args, turf, expect, f"{couch.url}/turf")
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
                # The server's own indexes, kept in the data folder of the servers that pulls_in_turns starts.
                server_index_s = index_server(f"couchdb+{couch.url}/big", folder / "couchdb-big" / "data")
                index_server(f"couchdb+{couch.url}/small", folder / "couchdb-small" / "data")
                print(f"couchdb: server indexes (asset map, visits) built in {server_index_s:.0f} s", flush=True)
                couch_expect = couch_per_turf + len(DRIVES) + 1
                if couch_per_turf != per_turf:
                    httpx.delete(f"{couch.url}/turf").raise_for_status()
                    direct_pull(couch.url, turf, couch_per_turf, couch_expect, 1)
                pulls_in_turns("couchdb", folder, f"couchdb+{couch.url}/big", f"couchdb+{couch.url}/small", docs,
                               args, turf, couch_expect, couch_expect if couch_per_turf == 1000 else None,
                               f"{couch.url}/turf")
        finally:
            couch.close()


if __name__ == "__main__":
    main()
