"""Sync benchmark: PouchDB 9 replicating with Blockwalk and with pouchdb-server.

Starts three servers side by side on loopback:

* Blockwalk on SQLite (``blockwalk serve`` on a SQLite file, through
  ``tests.peers.LiveServer``, with a bearer token);
* pouchdb-server (on-disk LevelDB in a temporary directory, falling back to
  ``--in-memory`` only if that does not work; request logging off);
* Blockwalk on the CouchDB store (``--store couchdb+<pouchdb-server>/bench``),
  backed by that same pouchdb-server, so "Blockwalk on CouchDB" and
  "pouchdb-server direct" use the same storage engine (separate databases:
  ``bench-<i>`` direct, ``bench-bench-<i>`` behind Blockwalk).

For each server, a fresh Node process running PouchDB 9 (memory adapter,
``bench/sync_client.mjs``):

1. pushes N records of about 1 KB (``bench/records.py``) to a fresh database,
2. pulls them into a fresh memory PouchDB,
3. times no-op sync rounds: one-shot ``PouchDB.replicate`` from the server to
   the already-synced local database, reusing one remote PouchDB object, then
   with a fresh remote object each round (median of ``--rounds``).

It also times PouchDB memory-to-memory replication of the same records, the
ceiling.  Every replication uses PouchDB's default batch size (100) unless
``--batch-size`` is given.  Prints docs/s pushed and pulled for each server,
the ratios Blockwalk (SQLite) / pouchdb-server, the time ratios Blockwalk on
CouchDB / pouchdb-server direct, the no-op round times and the ceiling.

    python bench/sync.py [--docs 10000] [--rounds 20] [--repeat 3] [--batch-size N] [--trace]

With ``--repeat`` R (default 3) the sequence runs R times, each on fresh
databases and with the order of the three servers rotating, and the medians
are printed (the machine is shared by the servers and the client, so single
runs are noisy).

Targets (issue "Sync"): Blockwalk on SQLite at least 1.5x pouchdb-server both
ways, and a no-op round under 20 ms; Blockwalk in front of CouchDB costs at
most 1.3x the time of talking to the same CouchDB (here pouchdb-server)
directly, for push, pull and a no-op round.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The project root goes first, ahead of this script's folder, so that ``sync``
# is the project's package and not this file.
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "bench"))

import httpx  # noqa: E402
import orjson  # noqa: E402
from records import records  # noqa: E402

from forms.templates import DRIVES, published  # noqa: E402
from tests.peers import LiveServer, PouchDBServer, stop  # noqa: E402

JS = ROOT / "tests" / "js"
CLIENT = ROOT / "bench" / "sync_client.mjs"
TARGET_RATIO = 1.5
TARGET_NOOP_MS = 20.0
TARGET_COUCH_TIME_RATIO = 1.3  # Blockwalk on CouchDB / the same CouchDB direct, in time

SERVERS = ("blockwalk", "pouchdb-server", "blockwalk-couchdb")


def start_pouchdb_server(folder: Path) -> tuple[PouchDBServer, str]:
    """On-disk storage first; ``--in-memory`` only if on-disk does not work."""
    try:
        server = PouchDBServer(folder / "on-disk", in_memory=False)
    except RuntimeError as exc:
        print(f"pouchdb-server on disk did not start ({exc}); falling back to --in-memory", file=sys.stderr)
    else:
        try:
            adapter = server.probe()
            return server, f"on disk ({adapter}, {folder / 'on-disk' / 'data'})"
        except (AssertionError, httpx.HTTPError, ValueError) as exc:
            print(f"pouchdb-server on disk does not work ({exc!r}); falling back to --in-memory", file=sys.stderr)
            server.close()
    server = PouchDBServer(folder / "in-memory", in_memory=True)
    return server, f"in memory ({server.probe()})"


def start_blockwalk(folder: Path, **kwargs) -> LiveServer:
    """``LiveServer``, but its process is stopped if it starts and then fails its checks."""
    server = LiveServer.__new__(LiveServer)
    try:
        server.__init__(folder, **kwargs)
    except BaseException:
        if getattr(server, "proc", None) is not None:
            stop(server.proc)
        raise
    return server


def run_client(spec: dict, timeout: float) -> dict:
    node = shutil.which("node")
    if not node:
        raise SystemExit("node is not installed: the benchmark needs Node 20")
    proc = subprocess.Popen([node, str(CLIENT), json.dumps(spec)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise SystemExit(f"the PouchDB client did not finish within {timeout:.0f} s ({spec['mode']} {spec.get('url', '')})") from None
    finally:
        stop(proc)
    if proc.returncode != 0:
        raise SystemExit(f"the PouchDB client failed ({spec['mode']} {spec.get('url', '')}), exit {proc.returncode}")
    return json.loads(out.strip().splitlines()[-1])


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def print_trace(name: str, trace: dict) -> None:
    for phase, rows in trace.items():
        total = sum(r["ms"] for r in rows.values())
        print(f"  {name} {phase}: {total:,.0f} ms in requests")
        for key, row in sorted(rows.items(), key=lambda kv: -kv[1]["ms"]):
            print(f"    {key:<28} {row['n']:6d} requests {row['ms']:10,.1f} ms  {row['ms'] / row['n']:8.2f} ms each")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20, help="no-op rounds (median)")
    parser.add_argument("--batch-size", type=int, default=None, help="PouchDB batch_size (default: PouchDB's, 100)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the whole sequence, alternating which server goes first; medians are printed")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed for each PouchDB client run")
    parser.add_argument("--trace", action="store_true", help="break each phase down by endpoint (client-side times)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)

    docs = records(args.docs)
    size = sum(len(orjson.dumps(d)) for d in docs) / len(docs)
    blockwalk = pouchdb_server = blockwalk_couch = None
    runs: dict[str, list[dict]] = {name: [] for name in SERVERS}
    ceilings: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="blockwalk-bench-") as tmp:
        folder = Path(tmp)
        try:
            docs_file = folder / "docs.json"
            docs_file.write_bytes(orjson.dumps(docs))
            (folder / "blockwalk").mkdir()
            blockwalk = start_blockwalk(folder / "blockwalk")
            pouchdb_server, storage = start_pouchdb_server(folder / "pouchdb-server")
            # Blockwalk on the CouchDB store, backed by the same pouchdb-server.
            (folder / "blockwalk-couchdb").mkdir()
            blockwalk_couch = start_blockwalk(folder / "blockwalk-couchdb", store=f"couchdb+{pouchdb_server.url}/bench")
            print(f"{args.docs} records, {size:.0f} bytes each on average, "
                  f"batch size {args.batch_size or 'PouchDB default (100)'}")
            print(f"blockwalk:            {blockwalk.url} (blockwalk serve, {blockwalk.store})")
            print(f"pouchdb-server:       {pouchdb_server.url}, storage {storage}")
            print(f"blockwalk on CouchDB: {blockwalk_couch.url} (blockwalk serve, {blockwalk_couch.store}, "
                  "the pouchdb-server above)")
            print("load average before: {:.2f} {:.2f} {:.2f} ({} CPUs; the client and the servers share them)".format(
                *os.getloadavg(), os.cpu_count()), flush=True)
            common = {"docsFile": str(docs_file), "rounds": args.rounds, "batchSize": args.batch_size,
                      "trace": args.trace, "preload": [published(drive) for drive in DRIVES]}
            targets = {
                "blockwalk": lambda i: {"url": f"{blockwalk.url}/sync/bench-{i}", "token": blockwalk.token},
                "pouchdb-server": lambda i: {"url": f"{pouchdb_server.url}/bench-{i}", "token": None},
                "blockwalk-couchdb": lambda i: {"url": f"{blockwalk_couch.url}/sync/bench-{i}",
                                                "token": blockwalk_couch.token},
            }
            for i in range(args.repeat):
                print(f"run {i + 1} of {args.repeat}: memory to memory ...", file=sys.stderr)
                ceilings.append(run_client({**common, "mode": "memory"}, args.timeout))
                # Rotate which server goes first, so none always gets the warmer machine.
                k = i % len(SERVERS)
                for name in SERVERS[k:] + SERVERS[:k]:
                    print(f"run {i + 1} of {args.repeat}: {name} ...", file=sys.stderr)
                    runs[name].append(run_client({**common, "mode": "remote", **targets[name](i + 1)}, args.timeout))
        finally:
            # Blockwalk on CouchDB first: it talks to pouchdb-server.
            for server in (blockwalk_couch, pouchdb_server, blockwalk):
                if server is not None:
                    try:
                        server.close()
                    except (OSError, subprocess.SubprocessError) as exc:  # keep stopping the others
                        print(f"stopping a server failed: {exc!r}", file=sys.stderr)

    print("load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    report(args, runs, ceilings)


def report(args, runs: dict[str, list[dict]], ceilings: list[dict]) -> None:
    n = args.docs
    bw, ps, bc = runs["blockwalk"], runs["pouchdb-server"], runs["blockwalk-couchdb"]

    def rates(results: list[dict], key: str) -> list[float]:
        return [n / (r[key] / 1000) for r in results]

    if args.repeat > 1:
        for i in range(args.repeat):
            print(f"run {i + 1}: push {rates(bw, 'push_ms')[i]:6,.0f} / {rates(ps, 'push_ms')[i]:6,.0f} docs/s, "
                  f"pull {rates(bw, 'pull_ms')[i]:6,.0f} / {rates(ps, 'pull_ms')[i]:6,.0f} docs/s, "
                  f"no-op {bw[i]['noop_reuse_median_ms']:5.1f} / {ps[i]['noop_reuse_median_ms']:5.1f} ms "
                  f"(blockwalk / pouchdb-server), memory to memory {n / (ceilings[i]['memory_ms'] / 1000):6,.0f} docs/s")
            print(f"       on CouchDB: push {rates(bc, 'push_ms')[i]:6,.0f} docs/s "
                  f"(x{bc[i]['push_ms'] / ps[i]['push_ms']:.2f} the direct time), "
                  f"pull {rates(bc, 'pull_ms')[i]:6,.0f} docs/s (x{bc[i]['pull_ms'] / ps[i]['pull_ms']:.2f}), "
                  f"no-op {bc[i]['noop_reuse_median_ms']:5.1f} ms "
                  f"(x{bc[i]['noop_reuse_median_ms'] / ps[i]['noop_reuse_median_ms']:.2f})")
        print(f"medians of {args.repeat} runs:")
    for way in ("push", "pull"):
        b, p = statistics.median(rates(bw, f"{way}_ms")), statistics.median(rates(ps, f"{way}_ms"))
        print(f"{way}   blockwalk {b:8,.0f} docs/s   pouchdb-server {p:8,.0f} docs/s"
              f"   ratio {b / p:.2f} (target >= {TARGET_RATIO})")
    for label, key in (("reused remote", "noop_reuse_median_ms"), ("fresh remote ", "noop_fresh_median_ms")):
        b, p = statistics.median([r[key] for r in bw]), statistics.median([r[key] for r in ps])
        print(f"no-op  {label}  blockwalk {b:6.1f} ms   pouchdb-server {p:6.1f} ms"
              f"   (median of {args.rounds} rounds; target < {TARGET_NOOP_MS:.0f} ms for blockwalk)")
    print("blockwalk on CouchDB (backed by the same pouchdb-server), "
          f"time ratio to pouchdb-server direct (target <= {TARGET_COUCH_TIME_RATIO}):")
    for way in ("push", "pull"):
        c, p = statistics.median(rates(bc, f"{way}_ms")), statistics.median(rates(ps, f"{way}_ms"))
        ratio = statistics.median([r[f"{way}_ms"] for r in bc]) / statistics.median([r[f"{way}_ms"] for r in ps])
        print(f"{way}   blockwalk on CouchDB {c:8,.0f} docs/s   pouchdb-server {p:8,.0f} docs/s"
              f"   time ratio {ratio:.2f} {_verdict(ratio)}")
    for label, key in (("reused remote", "noop_reuse_median_ms"), ("fresh remote ", "noop_fresh_median_ms")):
        c, p = statistics.median([r[key] for r in bc]), statistics.median([r[key] for r in ps])
        print(f"no-op  {label}  blockwalk on CouchDB {c:6.1f} ms   pouchdb-server {p:6.1f} ms"
              f"   time ratio {c / p:.2f} {_verdict(c / p)}")
    print(f"memory to memory (ceiling) {statistics.median([n / (c['memory_ms'] / 1000) for c in ceilings]):8,.0f} docs/s")
    if args.trace:
        print("per-endpoint client-side request times, last run (tracing slows the run a little):")
        print_trace("blockwalk", bw[-1]["trace"])
        print_trace("pouchdb-server", ps[-1]["trace"])
        print_trace("blockwalk on CouchDB", bc[-1]["trace"])


def _verdict(time_ratio: float) -> str:
    met = "meets" if time_ratio <= TARGET_COUCH_TIME_RATIO else "MISSES"
    return f"({met} <= {TARGET_COUCH_TIME_RATIO})"


if __name__ == "__main__":
    main()
