"""Load: 200 devices syncing at once against ``blockwalk serve`` with its production settings.

    python bench/load.py [--devices 200] [--seconds 60] [--think 5] [--no-peer]

This models **one-shot sync rounds** (a ``PouchDB.sync`` without ``live``,
every few seconds), not live phones holding longpolls: ``bench/live.py``
models those, as the canvasser app replicates when online.

The server is ``blockwalk serve`` as shipped (its event-driven front, 64 worker threads, SQLite
with ``synchronous=FULL``) on a store holding the demo campaign (``blockwalk
demo``: four turfs, 300 households, 150 records, the three forms); the
devices belong to the two demo volunteers (20 device tokens), so each pull is
filtered to the volunteer's channels and each pushed record is validated
against its form and checked against the volunteer's turfs, as in the field.

Each simulated device runs, for ``--seconds``:

* a **first pull** (a new phone: every document of its channels from
  ``since=0``) for the ``--fresh`` share of devices (0.1), and for any device
  with probability 0.05 per round (a reinstalled app); the other devices
  synced earlier in the day: their first pull runs before the measured
  window (eight at a time);
* rounds after a think time (uniform in 0 .. 2 x ``--think`` seconds), each a
  **push** of 1 to 5 new records with probability 0.3, else a **no-op** round.

A round is what one ``PouchDB.sync`` does (``PROTOCOL-NOTES.md``): pull
(server checkpoint, ``GET /db``, ``_changes?style=all_docs&limit=100`` pages,
``_bulk_get?revs=true&latest=true`` for what changed, checkpoint ``PUT``),
then push (checkpoint, ``_revs_diff``, ``_bulk_docs`` with
``new_edits=false`` and ``_revisions``, checkpoint ``PUT``).

Why Python devices rather than 200 Node PouchDB processes: the machine has
two cores and the server needs them; 200 Node processes would take about
12 GB and most of the CPU, and measure the clients.  One asyncio process
sends the same requests in the same order as PouchDB 9 (the protocol tests
check that order against the real client), costing a fraction of a core.

Prints the number of rounds and errors, p50/p95/max sync-round times overall
and per kind, the server's resident memory sampled every second (first,
peak, last, and the mean of the first and last thirds of the run), and the
same figures for pouchdb-server under the same load (no channels, no
validation: it serves and stores everything), with the ratio of the p95s.
Target (issue "Reliability"): zero errors, p95 under 1 s, memory stable
(taken as: the server's RSS grows by at most 5 % over the second half of
the run, once every thread has its connection and caches; they are
bounded, docs/store.md "Memory").
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from forms.templates import DRIVES, published  # noqa: E402
from server.cli.demo import VOLUNTEERS, demo_documents  # noqa: E402
from tests.peers import LiveServer, PouchDBServer, blockwalk  # noqa: E402

TOKENS_PER_VOLUNTEER = 10
STABLE = 0.05  # "memory stable": at most this growth of the server's RSS over the second half of the run
BATCH = 100


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Stats:
    def __init__(self) -> None:
        self.rounds: dict[str, list[float]] = {"first pull": [], "push": [], "no-op": []}
        self.errors: list[str] = []
        self.pushed = 0
        self.cpu = (0.0, 0.0)  # seconds: the server's, the simulated devices'


class Device:
    """One phone: its own replication ids, checkpoints and pending records."""

    def __init__(self, n: int, base: str, db: str, token: str | None, user: str, turfs: list[dict], rng: random.Random):
        self.n, self.db, self.user, self.turfs, self.rng = n, db, user, turfs, rng
        self.url = f"{base}/{db}"
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.reset()

    def reset(self) -> None:
        """A new install: nothing local, new replication ids."""
        self.pull_id = f"_local/{uuid.uuid4().hex}"
        self.push_id = f"_local/{uuid.uuid4().hex}"
        self.since: object = 0
        self.pending: list[dict] = []
        self.local_seq = 0
        self.pushed_seq = 0
        self.revs: dict[str, str] = {}

    def new_records(self, count: int) -> None:
        for _ in range(count):
            house = self.rng.choice(self.turfs)
            doc_id = f"record:{self.user}:{self.n}:{uuid.uuid4().hex[:12]}"
            body = {
                "_id": doc_id, "type": "record", "form": "form:meeting_awareness", "form_version": 1,
                "household": house["_id"], "turf": house["turf"], "author": self.user, "device": f"device:{self.n}",
                "answers": {"outcome": "not_home", "door_language": "en", "flyer_left": "yes"},
                "geotag": {"lat": house["location"]["lat"], "lon": house["location"]["lon"], "accuracy_m": 8.0,
                           "captured_at": "2026-11-25T18:00:00+00:00", "source": "gps"},
                "created_at": "2026-11-25T18:00:00+00:00",
            }
            digest = hashlib.md5(repr(body).encode()).hexdigest()
            self.local_seq += 1
            self.pending.append({**body, "_rev": f"1-{digest}", "_revisions": {"start": 1, "ids": [digest]}})

    async def _checkpoint(self, http: httpx.AsyncClient, local_id: str, seq: object) -> None:
        found = await http.get(f"{self.url}/{local_id}", headers=self.headers)
        doc = found.json() if found.status_code == 200 else {}
        _expect(found, 200, 404)
        doc.update({"_id": local_id, "last_seq": seq, "session_id": uuid.uuid4().hex, "version": 1})
        _expect(await http.put(f"{self.url}/{local_id}", json=doc, headers=self.headers), 201)

    async def pull(self, http: httpx.AsyncClient) -> None:
        _expect(await http.get(f"{self.url}/{self.pull_id}", headers=self.headers), 200, 404)
        _expect(await http.get(self.url, headers=self.headers), 200)
        changed = False
        while True:
            page = await http.get(f"{self.url}/_changes", headers=self.headers,
                                  params={"style": "all_docs", "since": str(self.since), "limit": str(BATCH)})
            _expect(page, 200)
            body = page.json()
            rows = body["results"]
            if rows:
                wanted = [{"id": row["id"], "rev": change["rev"]} for row in rows for change in row["changes"]
                          if self.revs.get(row["id"]) != change["rev"]]
                if wanted:
                    got = await http.post(f"{self.url}/_bulk_get", params={"revs": "true", "latest": "true"},
                                          json={"docs": wanted}, headers=self.headers)
                    _expect(got, 200)
                    for result in got.json()["results"]:
                        for item in result["docs"]:
                            if "ok" in item:
                                self.revs[item["ok"]["_id"]] = item["ok"]["_rev"]
                self.since = rows[-1]["seq"]
                changed = True
            if len(rows) < BATCH:
                break
        if changed:
            await self._checkpoint(http, self.pull_id, self.since)

    async def push(self, http: httpx.AsyncClient) -> int:
        _expect(await http.get(f"{self.url}/{self.push_id}", headers=self.headers), 200, 404)
        if not self.pending:
            return 0
        docs, self.pending = self.pending, []
        diff = await http.post(f"{self.url}/_revs_diff", json={d["_id"]: [d["_rev"]] for d in docs}, headers=self.headers)
        _expect(diff, 200)
        missing = diff.json()
        send = [d for d in docs if d["_id"] in missing]
        if send:
            stored = await http.post(f"{self.url}/_bulk_docs", json={"docs": send, "new_edits": False}, headers=self.headers)
            _expect(stored, 201)
            if stored.json():
                raise LoadError(f"_bulk_docs refused documents: {stored.json()[:2]}")
            for d in send:
                self.revs[d["_id"]] = d["_rev"]
        self.pushed_seq = self.local_seq
        await self._checkpoint(http, self.push_id, self.pushed_seq)
        return len(send)

    async def round(self, http: httpx.AsyncClient) -> int:
        await self.pull(http)
        return await self.push(http)


class LoadError(Exception):
    pass


def _expect(response: httpx.Response, *statuses: int) -> None:
    if response.status_code not in statuses:
        raise LoadError(f"{response.request.method} {response.request.url.path} -> {response.status_code}: {response.text[:200]}")


async def warm_up(device: Device, http: httpx.AsyncClient, gate: asyncio.Semaphore) -> None:
    """A phone that synced earlier in the day: its first pull happened before the measured window."""
    async with gate:
        await device.round(http)


async def run_device(device: Device, http: httpx.AsyncClient, stats: Stats, deadline: float, think: float) -> None:
    kind = "no-op" if device.revs else "first pull"
    await asyncio.sleep(device.rng.uniform(0, think))  # phones do not all start in the same millisecond
    while time.monotonic() < deadline:
        if kind == "push":
            device.new_records(device.rng.randint(1, 5))
        start = time.monotonic()
        try:
            pushed = await device.round(http)
            stats.pushed += pushed
            stats.rounds[kind].append(time.monotonic() - start)
        except (LoadError, httpx.HTTPError) as exc:
            stats.errors.append(f"{kind}: {type(exc).__name__}: {exc}")
        await asyncio.sleep(min(device.rng.uniform(0, 2 * think), max(0.0, deadline - time.monotonic())))
        if device.rng.random() < 0.05:
            device.reset()
            kind = "first pull"
        else:
            kind = "push" if device.rng.random() < 0.3 else "no-op"


async def sample_memory(pid: int, samples: list[int], deadline: float) -> None:
    while time.monotonic() < deadline:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                samples.append(int(line.split()[1]) * 1024)
        await asyncio.sleep(1)


async def load(base: str, db: str, tokens: list[tuple[str, str | None]], turfs: dict[str, list[dict]], pid: int,
               devices: int, seconds: float, think: float, seed: int, fresh: float) -> tuple[Stats, list[int], float]:
    stats, memory = Stats(), []
    limits = httpx.Limits(max_connections=devices + 20, max_keepalive_connections=devices + 20)
    async with httpx.AsyncClient(limits=limits, timeout=60) as http:
        phones = []
        for n in range(devices):
            user, token = tokens[n % len(tokens)]
            phones.append(Device(n, base, db, token, user, turfs[user], random.Random(seed * 1000 + n)))
        gate = asyncio.Semaphore(8)
        await asyncio.gather(*(warm_up(phone, http, gate) for phone in phones[int(devices * fresh):]))
        started = time.monotonic()
        deadline = started + seconds
        cpu = (cpu_seconds(pid), cpu_seconds(os.getpid()))
        await asyncio.gather(sample_memory(pid, memory, deadline),
                             *(run_device(phone, http, stats, deadline, think) for phone in phones))
        elapsed = time.monotonic() - started
    stats.cpu = (cpu_seconds(pid) - cpu[0], cpu_seconds(os.getpid()) - cpu[1])
    return stats, memory, elapsed


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, stats: Stats, memory: list[int], elapsed: float) -> float:
    every = [t for times in stats.rounds.values() for t in times]
    print(f"\n{name}: {len(every)} sync rounds in {elapsed:.0f} s ({len(every) / elapsed:.1f}/s), "
          f"{stats.pushed} records pushed, {len(stats.errors)} errors")
    print(f"  CPU: server {stats.cpu[0]:.0f} s, devices {stats.cpu[1]:.0f} s, in {elapsed:.0f} s on {os.cpu_count()} cores"
          f" (load average of the machine {os.getloadavg()[0]:.1f})")
    for error in stats.errors[:5]:
        print(f"  error: {error}")
    print(f"  {'all rounds':<11} p50 {quantile(every, 0.5) * 1000:7.0f} ms   p95 {quantile(every, 0.95) * 1000:7.0f} ms"
          f"   max {max(every, default=float('nan')) * 1000:7.0f} ms")
    for kind, times in stats.rounds.items():
        print(f"  {kind:<11} p50 {quantile(times, 0.5) * 1000:7.0f} ms   p95 {quantile(times, 0.95) * 1000:7.0f} ms"
              f"   ({len(times)} rounds)")
    if memory:
        third = max(1, len(memory) // 3)
        mib = 2**20
        print(f"  server RSS: first {memory[0] / mib:.0f} MiB, peak {max(memory) / mib:.0f} MiB, last {memory[-1] / mib:.0f} MiB;"
              f" mean of the first third {statistics.mean(memory[:third]) / mib:.0f} MiB,"
              f" of the last third {statistics.mean(memory[-third:]) / mib:.0f} MiB ({len(memory)} samples)")
        tenths = [memory[min(len(memory) - 1, len(memory) * k // 10)] / mib for k in range(1, 11)]
        print("  server RSS at each tenth of the run: " + " ".join(f"{m:.0f}" for m in tenths) + " MiB")
    return quantile(every, 0.95), second_half_growth(memory)


def second_half_growth(memory: list[int]) -> float:
    """How much the resident memory grew over the second half of the run, as a share of where it stood at half-time."""
    if len(memory) < 2:
        return float("nan")
    half = memory[len(memory) // 2]
    return (memory[-1] - half) / half


def _turfs(documents: list[dict]) -> dict[str, list[dict]]:
    """The households each volunteer may record at (the volunteer's turfs)."""
    houses = [d for d in documents if d.get("type") == "household"]
    by_user: dict[str, list[dict]] = {}
    for t, user in ((1, VOLUNTEERS[0]), (2, VOLUNTEERS[1]), (3, VOLUNTEERS[0]), (4, VOLUNTEERS[1])):
        by_user.setdefault(user, []).extend(h for h in houses if h.get("turf") == f"turf:{t}")
    return by_user


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--think", type=float, default=5, help="mean seconds between a device's sync rounds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", type=float, default=0.1, help="share of devices that are new phones (first pull in the window)")
    parser.add_argument("--no-peer", action="store_true", help="skip the same load against pouchdb-server")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="blockwalk-load-"))
    try:
        store = f"sqlite://{folder}/blockwalk.db"
        blockwalk("demo", store=store)
        tokens = [(user, blockwalk("token", "create", user, "--label", f"phone {n}", store=store))
                  for user in VOLUNTEERS for n in range(TOKENS_PER_VOLUNTEER)]
        documents = demo_documents("demo")
        turfs = _turfs(documents)
        # The demo made the users already: the server shares their tokens (``like``) instead of adding its own.
        live = LiveServer(folder, store=store, like=SimpleNamespace(token=tokens[0][1], volunteer_token=tokens[-1][1]))
        print(f"Blockwalk: blockwalk serve (64 threads, SQLite synchronous=FULL), {args.devices} devices, "
              f"{args.seconds:.0f} s, think time {args.think:.1f} s mean", flush=True)
        stats, memory, elapsed = asyncio.run(load(f"{live.url}/sync", "demo", tokens, turfs, live.proc.pid,
                                                  args.devices, args.seconds, args.think, args.seed, args.fresh))
        ours, growth = report("Blockwalk (SQLite)", stats, memory, elapsed)
        live.close()

        if not args.no_peer:
            peer = PouchDBServer(folder / "pouchdb-server")
            try:
                with httpx.Client(base_url=peer.url, timeout=60) as http:
                    assert http.put("/demo").status_code == 201
                    docs = [published(drive) for drive in DRIVES] + documents
                    assert http.post("/demo/_bulk_docs", json={"docs": docs}).status_code == 201
                anonymous = [(user, None) for user, _ in tokens]
                stats, memory, elapsed = asyncio.run(load(peer.url, "demo", anonymous, turfs, peer.proc.pid,
                                                          args.devices, args.seconds, args.think, args.seed, args.fresh))
                theirs, _ = report("pouchdb-server (no channels, no validation)", stats, memory, elapsed)
            finally:
                peer.close()
            print(f"\np95 ratio Blockwalk / pouchdb-server: {ours / theirs:.2f} (below 1: Blockwalk is faster)")
        print(f"Target: p95 under 1 s: {'met' if ours < 1 else 'NOT met'} ({ours * 1000:.0f} ms)")
        print(f"Target: memory stable (the server's RSS grows by at most {STABLE:.0%} over the second half): "
              f"{'met' if growth <= STABLE else 'NOT met'} ({growth:+.1%})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
