"""Sync benchmark: PouchDB 9 replicating with Blockwalk and with pouchdb-server.

Starts both servers side by side on loopback: Blockwalk (``blockwalk serve``
on a SQLite file, through ``tests.peers.LiveServer``, with a bearer token) and
pouchdb-server (on-disk LevelDB in a temporary directory, falling back to
``--in-memory`` only if that does not work; request logging off).  For each
server, a fresh Node process running PouchDB 9 (memory adapter,
``bench/sync_client.mjs``):

1. pushes N records of about 1 KB (``bench/records.py``) to a fresh database,
2. pulls them into a fresh memory PouchDB,
3. times no-op sync rounds: one-shot ``PouchDB.replicate`` from the server to
   the already-synced local database, reusing one remote PouchDB object, then
   with a fresh remote object each round (median of ``--rounds``).

It also times PouchDB memory-to-memory replication of the same records, the
ceiling.  Every replication uses PouchDB's default batch size (100) unless
``--batch-size`` is given.  Prints docs/s pushed and pulled for both servers,
the ratios Blockwalk / pouchdb-server, the no-op round times and the ceiling.

    python bench/sync.py [--docs 10000] [--rounds 20] [--repeat 3] [--batch-size N] [--trace]

With ``--repeat`` R (default 3) the sequence runs R times, each on fresh
databases and with the order of the two servers alternating, and the medians
are printed (the machine is shared by both servers and the client, so single
runs are noisy).

Targets (issue "Sync"): Blockwalk at least 1.5x pouchdb-server both ways, and a
no-op round under 20 ms.
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

from tests.peers import LiveServer, PouchDBServer, stop  # noqa: E402

JS = ROOT / "tests" / "js"
CLIENT = ROOT / "bench" / "sync_client.mjs"
TARGET_RATIO = 1.5
TARGET_NOOP_MS = 20.0


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
    blockwalk = pouchdb_server = None
    runs: dict[str, list[dict]] = {"blockwalk": [], "pouchdb-server": []}
    ceilings: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="blockwalk-bench-") as tmp:
        folder = Path(tmp)
        try:
            docs_file = folder / "docs.json"
            docs_file.write_bytes(orjson.dumps(docs))
            (folder / "blockwalk").mkdir()
            blockwalk = LiveServer(folder / "blockwalk")
            pouchdb_server, storage = start_pouchdb_server(folder / "pouchdb-server")
            print(f"{args.docs} records, {size:.0f} bytes each on average, "
                  f"batch size {args.batch_size or 'PouchDB default (100)'}")
            print(f"blockwalk:      {blockwalk.url} (waitress, {blockwalk.store})")
            print(f"pouchdb-server: {pouchdb_server.url}, storage {storage}")
            print("load average before: {:.2f} {:.2f} {:.2f} ({} CPUs; the client and both servers share them)".format(
                *os.getloadavg(), os.cpu_count()), flush=True)
            common = {"docsFile": str(docs_file), "rounds": args.rounds, "batchSize": args.batch_size,
                      "trace": args.trace}
            targets = {
                "blockwalk": lambda i: {"url": f"{blockwalk.url}/sync/bench-{i}", "token": blockwalk.token},
                "pouchdb-server": lambda i: {"url": f"{pouchdb_server.url}/bench-{i}", "token": None},
            }
            for i in range(args.repeat):
                print(f"run {i + 1} of {args.repeat}: memory to memory ...", file=sys.stderr)
                ceilings.append(run_client({**common, "mode": "memory"}, args.timeout))
                # Alternate which server goes first, so neither always gets the warmer machine.
                for name in list(targets)[:: 1 if i % 2 == 0 else -1]:
                    print(f"run {i + 1} of {args.repeat}: {name} ...", file=sys.stderr)
                    runs[name].append(run_client({**common, "mode": "remote", **targets[name](i + 1)}, args.timeout))
        finally:
            if pouchdb_server is not None:
                pouchdb_server.close()
            if blockwalk is not None:
                blockwalk.close()

    print("load average after:  {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    report(args, runs, ceilings)


def report(args, runs: dict[str, list[dict]], ceilings: list[dict]) -> None:
    n = args.docs
    bw, ps = runs["blockwalk"], runs["pouchdb-server"]

    def rates(results: list[dict], key: str) -> list[float]:
        return [n / (r[key] / 1000) for r in results]

    if args.repeat > 1:
        for i in range(args.repeat):
            print(f"run {i + 1}: push {rates(bw, 'push_ms')[i]:6,.0f} / {rates(ps, 'push_ms')[i]:6,.0f} docs/s, "
                  f"pull {rates(bw, 'pull_ms')[i]:6,.0f} / {rates(ps, 'pull_ms')[i]:6,.0f} docs/s, "
                  f"no-op {bw[i]['noop_reuse_median_ms']:5.1f} / {ps[i]['noop_reuse_median_ms']:5.1f} ms "
                  f"(blockwalk / pouchdb-server), memory to memory {n / (ceilings[i]['memory_ms'] / 1000):6,.0f} docs/s")
        print(f"medians of {args.repeat} runs:")
    for way in ("push", "pull"):
        b, p = statistics.median(rates(bw, f"{way}_ms")), statistics.median(rates(ps, f"{way}_ms"))
        print(f"{way}   blockwalk {b:8,.0f} docs/s   pouchdb-server {p:8,.0f} docs/s"
              f"   ratio {b / p:.2f} (target >= {TARGET_RATIO})")
    for label, key in (("reused remote", "noop_reuse_median_ms"), ("fresh remote ", "noop_fresh_median_ms")):
        b, p = statistics.median([r[key] for r in bw]), statistics.median([r[key] for r in ps])
        print(f"no-op  {label}  blockwalk {b:6.1f} ms   pouchdb-server {p:6.1f} ms"
              f"   (median of {args.rounds} rounds; target < {TARGET_NOOP_MS:.0f} ms for blockwalk)")
    print(f"memory to memory (ceiling) {statistics.median([n / (c['memory_ms'] / 1000) for c in ceilings]):8,.0f} docs/s")
    if args.trace:
        print("per-endpoint client-side request times, last run (tracing slows the run a little):")
        print_trace("blockwalk", bw[-1]["trace"])
        print_trace("pouchdb-server", ps[-1]["trace"])


if __name__ == "__main__":
    main()
