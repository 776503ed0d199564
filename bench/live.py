"""Live phones: N canvassers' phones in live sync against ``blockwalk serve``, and against pouchdb-server.

    python bench/live.py [--phones 1000] [--seconds 120] [--push-interval 120] [--no-peer]
    python bench/live.py --phones 1000,2000,3000 --push-interval 20 --seconds 60   # time-scaled
    python bench/live.py --phones 5000 --push-interval 1200 --seconds 60           # mostly idle

What each simulated phone does is what the canvasser app does while online
(``mobile-shell/app/js/sync.js``: ``live: true, batch_size: 200``; the
requests as PouchDB 9 sends them, ``PROTOCOL-NOTES.md``):

* **pull, live**: it holds ``GET _changes?style=all_docs&feed=longpoll&heartbeat=10000&limit=200``
  and issues the next one as soon as one ends; when rows arrive it fetches
  the revisions it lacks with ``POST _bulk_get?revs=true&latest=true`` and
  checkpoints (``GET`` then ``PUT _local/<replication id>``);
* **push**: a record (a door) on average every ``--push-interval`` seconds
  (exponential gaps; the default, 120 s, is a door every two minutes): ``POST
  _revs_diff``, ``POST _bulk_docs`` with ``new_edits=false`` and
  ``_revisions``, then its checkpoint (``GET``, ``PUT _local``);
* **who wakes**: phones are volunteers on teams of ``--team`` (10) phones a
  turf (two volunteers a turf); a record goes to its turf's channel and to
  ``coordinators``, so it wakes the teammates' longpolls and every
  coordinator's (``--coordinators``, 10 phones signed in as the demo's
  coordinator), which fetch it with ``_bulk_get``.

The phones are real volunteers of the demo campaign (``blockwalk demo``),
with turfs and assignments written through the store and a device token
each volunteer (its phones share it), so every pull is filtered by channel
and every push is validated against its form and the volunteer's turfs.

Printed for each size: push p50/p95 (``_revs_diff`` + ``_bulk_docs``, until
the server acknowledges the record), the checkpoint after it, propagation
p95 (from a push's acknowledgement to the record being on a teammate's
phone: its ``_bulk_get`` answered), ``/healthz`` p95 (probed twice a second
on a connection of its own), errors, the server's RSS (peak) and CPU, and
this generator's own CPU.  The generator must use less CPU than the server,
or the run says that it measured the generator.

Why cheap: each phone is two raw asyncio sockets in this one process (one
for its longpoll, one for the rest; PouchDB in a browser also keeps the
longpoll on a connection of its own), with a minimal HTTP/1.1 keep-alive
client and orjson: no HTTP library's per-request cost.

The same load then runs against pouchdb-server (an event-driven Node peer;
``tests/peers.py`` starts it) in the same run: no accounts, no channels, no
validation, so each team gets a database of its own (the CouchDB way of
getting the same fan-out; a coordinator's phone follows one team's), and
the ratios Blockwalk / pouchdb-server are printed.

``bench/load.py`` is the other load: one-shot sync rounds, not live phones.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import orjson  # noqa: E402

from forms.templates import DRIVES, published  # noqa: E402
from tests.peers import LiveServer, PouchDBServer, blockwalk  # noqa: E402

CAMPAIGN = "demo"
HEARTBEAT_MS = 10_000
BATCH = 200  # sync.js: batch_size 200
READ_TIMEOUT = 90.0  # a longpoll is held at most 60 s by the server (BLOCKWALK_LONGPOLL_SECONDS)
GRID = 0.01  # degrees between the bench's turfs, far east of the demo's own


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def quantile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- a minimal HTTP/1.1 keep-alive client ---------------------------------------------------


class HTTPError(Exception):
    pass


class Connection:
    """One keep-alive connection; requests on it go one after another."""

    def __init__(self, host: str, port: int, auth: bytes):
        self.host, self.port, self.auth = host, port, auth
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.lock = asyncio.Lock()  # a phone's pull and push take turns on its second connection

    async def request(self, method: str, path: str, body: object = None, timeout: float = 30.0) -> tuple[int, bytes]:
        async with self.lock:
            return await self._request(method, path, body, timeout)

    async def _request(self, method: str, path: str, body: object, timeout: float) -> tuple[int, bytes]:
        payload = b"" if body is None else orjson.dumps(body)
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n").encode() + self.auth
        if body is not None:
            head += b"Content-Type: application/json\r\nContent-Length: " + str(len(payload)).encode() + b"\r\n"
        for attempt in (0, 1):
            fresh = self.writer is None
            try:
                if fresh:
                    self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
                self.writer.write(head + b"\r\n" + payload)
                return await asyncio.wait_for(self._response(), timeout)
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                if fresh or attempt:  # a kept-alive connection the server closed meanwhile: once more
                    raise HTTPError(f"{method} {path.split('?')[0]}: {type(exc).__name__}") from None
            except TimeoutError:
                self.close()
                raise HTTPError(f"{method} {path.split('?')[0]}: no answer in {timeout:.0f} s") from None
        raise AssertionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        reader = self.reader
        assert reader is not None
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("closed")
        status = int(status_line.split(b" ", 2)[1])
        length, chunked, close = None, False, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                parts.append(await reader.readexactly(size))
                await reader.readexactly(2)
            body = b"".join(parts)
        elif length is not None:
            body = await reader.readexactly(length)
        else:
            body = await reader.read()
            close = True
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# -- the phones ----------------------------------------------------------------------------


class Stats:
    def __init__(self) -> None:
        self.push: list[float] = []
        self.checkpoint: list[float] = []
        self.propagation: list[float] = []
        self.health: list[float] = []
        self.longpolls = 0
        self.errors: list[str] = []
        self.acked: dict[str, float] = {}  # record id -> when its push was acknowledged
        self.measuring = False

    def error(self, text: str) -> None:
        if self.measuring:
            self.errors.append(text)


class Phone:
    def __init__(self, n: int, host: str, port: int, db: str, token: str | None, user: str, turf: str | None,
                 rng: random.Random, stats: Stats):
        auth = f"Authorization: Bearer {token}\r\n".encode() if token else b""
        self.n, self.db, self.user, self.turf, self.rng, self.stats = n, db, user, turf, rng, stats
        self.feed = Connection(host, port, auth)
        self.http = Connection(host, port, auth)
        self.pull_id = f"_local/{uuid.uuid4().hex}"
        self.push_id = f"_local/{uuid.uuid4().hex}"
        self.base = f"/{db}" if not db.startswith("/") else db
        self.have: dict[str, str] = {}

    async def _checkpoint(self, local_id: str, seq: object) -> None:
        status, body = await self.http.request("GET", f"{self.base}/{local_id}")
        if status not in (200, 404):
            raise HTTPError(f"GET _local: {status}")
        doc = orjson.loads(body) if status == 200 else {}
        doc.update({"_id": local_id, "last_seq": seq, "session_id": "live", "version": 1})
        status, body = await self.http.request("PUT", f"{self.base}/{local_id}", doc)
        if status != 201:
            raise HTTPError(f"PUT _local: {status} {body[:100]!r}")

    async def live_pull(self, stop: asyncio.Event) -> None:
        since: object = "now"
        while not stop.is_set():
            try:
                status, body = await self.feed.request(
                    "GET", f"{self.base}/_changes?style=all_docs&feed=longpoll&heartbeat={HEARTBEAT_MS}"
                           f"&since={since}&limit={BATCH}", timeout=READ_TIMEOUT)
                if status != 200:
                    raise HTTPError(f"_changes: {status} {body[:100]!r}")
                answer = orjson.loads(body)
                if self.stats.measuring:
                    self.stats.longpolls += 1
                rows = answer["results"]
                if not rows:
                    since = answer["last_seq"]
                    continue
                wanted = [{"id": row["id"], "rev": change["rev"]} for row in rows for change in row["changes"]
                          if self.have.get(row["id"]) != change["rev"]]
                if wanted:
                    status, got = await self.http.request("POST", f"{self.base}/_bulk_get?revs=true&latest=true",
                                                          {"docs": wanted})
                    if status != 200:
                        raise HTTPError(f"_bulk_get: {status} {got[:100]!r}")
                    arrived = time.monotonic()
                    for result in orjson.loads(got)["results"]:
                        for item in result["docs"]:
                            doc = item.get("ok")
                            if doc is None:
                                continue
                            self.have[doc["_id"]] = doc["_rev"]
                            acked = self.stats.acked.get(doc["_id"])
                            if acked is not None and self.stats.measuring and doc.get("author") != self.user:
                                self.stats.propagation.append(max(0.0, arrived - acked))
                since = rows[-1]["seq"]
                await self._checkpoint(self.pull_id, since)
            except (HTTPError, orjson.JSONDecodeError, KeyError, ValueError) as exc:
                self.stats.error(f"pull: {exc}")
                await asyncio.sleep(1 + self.rng.random())  # PouchDB's retry backs off too

    async def pushes(self, stop: asyncio.Event, interval: float) -> None:
        while True:
            try:
                await asyncio.wait_for(stop.wait(), self.rng.expovariate(1 / interval))
                return
            except TimeoutError:
                pass
            if self.turf is None:
                continue  # a coordinator's phone reads, it does not knock
            record = self._record()
            try:
                started = time.monotonic()
                status, diff = await self.http.request("POST", f"{self.base}/_revs_diff", {record["_id"]: [record["_rev"]]})
                if status != 200:
                    raise HTTPError(f"_revs_diff: {status}")
                status, stored = await self.http.request("POST", f"{self.base}/_bulk_docs", {"docs": [record], "new_edits": False})
                if status != 201 or orjson.loads(stored):
                    raise HTTPError(f"_bulk_docs: {status} {stored[:200]!r}")
                acked = time.monotonic()
                self.stats.acked[record["_id"]] = acked
                self.have[record["_id"]] = record["_rev"]
                await self._checkpoint(self.push_id, record["_id"])
                if self.stats.measuring:
                    self.stats.push.append(acked - started)
                    self.stats.checkpoint.append(time.monotonic() - acked)
            except HTTPError as exc:
                self.stats.error(f"push: {exc}")

    def _record(self) -> dict:
        doc_id = f"record:{self.user}:{self.n}:{uuid.uuid4().hex[:12]}"
        body = {
            "_id": doc_id, "type": "record", "form": "form:meeting_awareness", "form_version": 1,
            "household": f"household:{self.turf}", "turf": self.turf, "author": self.user, "device": f"device:{self.n}",
            "answers": {"outcome": "not_home", "door_language": "en", "flyer_left": "yes"},
            "created_at": "2026-12-07T18:00:00+00:00",
        }
        digest = hashlib.md5(orjson.dumps(body)).hexdigest()
        return {**body, "_rev": f"1-{digest}", "_revisions": {"start": 1, "ids": [digest]}}

    def close(self) -> None:
        self.feed.close()
        self.http.close()


async def probe_health(host: str, port: int, stats: Stats, stop: asyncio.Event) -> None:
    conn = Connection(host, port, b"")
    while not stop.is_set():
        started = time.monotonic()
        try:
            status, _ = await conn.request("GET", "/healthz", timeout=30)
            if status != 200:
                stats.error(f"healthz: {status}")
            elif stats.measuring:
                stats.health.append(time.monotonic() - started)
        except HTTPError as exc:
            stats.error(f"healthz: {exc}")
        await asyncio.sleep(0.5)
    conn.close()


async def run_load(host: str, port: int, pid: int, phones: list[dict], seconds: float, ramp: float,
                   interval: float, seed: int, health: bool) -> dict:
    stats = Stats()
    stop = asyncio.Event()
    rng = random.Random(seed)
    devices = [Phone(n, host, port, p["db"], p["token"], p["user"], p["turf"], random.Random(rng.random()), stats)
               for n, p in enumerate(phones)]
    tasks = []
    if health:
        tasks.append(asyncio.create_task(probe_health(host, port, stats, stop)))
    for n, device in enumerate(devices):  # phones come online over the ramp
        tasks.append(asyncio.create_task(device.live_pull(stop)))
        tasks.append(asyncio.create_task(device.pushes(stop, interval)))
        if ramp:
            await asyncio.sleep(ramp / len(devices))
    await asyncio.sleep(min(10.0, ramp + 2))  # settle: every phone holds its longpoll
    memory: list[int] = []
    stats.measuring = True
    server_cpu, my_cpu, started = cpu_seconds(pid), own_cpu(), time.monotonic()
    while time.monotonic() - started < seconds:
        memory.append(rss(pid))
        await asyncio.sleep(1)
    elapsed = time.monotonic() - started
    result = {
        "phones": len(devices), "elapsed": elapsed, "server_cpu": cpu_seconds(pid) - server_cpu,
        "generator_cpu": own_cpu() - my_cpu, "rss_peak": max(memory), "rss_last": memory[-1], "stats": stats,
    }
    stats.measuring = False
    stop.set()
    for device in devices:
        device.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return result


def report(name: str, result: dict) -> None:
    stats: Stats = result["stats"]
    ms = 1000
    mib = 2**20
    print(f"\n{name}: {result['phones']} live phones, {result['elapsed']:.0f} s measured")
    print(f"  pushes {len(stats.push)}: p50 {quantile(stats.push, 0.5) * ms:.0f} ms, p95 {quantile(stats.push, 0.95) * ms:.0f} ms"
          f" (then the checkpoint: p95 {quantile(stats.checkpoint, 0.95) * ms:.0f} ms)")
    print(f"  propagation to teammates and coordinators ({len(stats.propagation)} deliveries):"
          f" p50 {quantile(stats.propagation, 0.5) * ms:.0f} ms, p95 {quantile(stats.propagation, 0.95) * ms:.0f} ms")
    if stats.health:
        print(f"  /healthz ({len(stats.health)}): p50 {quantile(stats.health, 0.5) * ms:.1f} ms, "
              f"p95 {quantile(stats.health, 0.95) * ms:.1f} ms")
    print(f"  longpolls answered: {stats.longpolls}; errors: {len(stats.errors)}")
    for error in stats.errors[:5]:
        print(f"    {error}")
    print(f"  server: RSS peak {result['rss_peak'] / mib:.0f} MiB (last {result['rss_last'] / mib:.0f} MiB), "
          f"CPU {result['server_cpu']:.1f} s ({result['server_cpu'] / result['elapsed']:.0%} of a core)")
    print(f"  generator (this process): CPU {result['generator_cpu']:.1f} s "
          f"({result['generator_cpu'] / result['elapsed']:.0%} of a core)")
    if result["generator_cpu"] >= result["server_cpu"]:
        print("  NOTE: the generator used more CPU than the server: these figures measured the generator, not the server")


# -- set-up ---------------------------------------------------------------------------------


def _square(lat: float, lon: float, half: float) -> dict:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def prepare(folder: Path, volunteers: int) -> tuple[str, list[str], dict[str, str], str]:
    """The demo campaign with ``volunteers`` more volunteers, two a turf; returns store, turfs, tokens."""
    from server.access import accounts as accounts_module
    from server import config as settings
    from server.access.accounts import Accounts
    from server.access.channels import assignment_id
    from server.stores import open_store

    store = f"sqlite://{folder}/blockwalk.db"
    blockwalk("demo", store=store)
    config = settings.load({}, {"STORE": store, "DATA_DIR": str(folder / "data")})
    server = open_store(store, config)
    try:
        accounts = Accounts(server)
        turfs = [f"turf:live-{t + 1}" for t in range((volunteers + 1) // 2)]
        names = [f"canvasser{v + 1:04d}" for v in range(volunteers)]
        # The phones sign in with device tokens, never a password: one scrypt hash serves every
        # volunteer (minutes of setup at 1,000 volunteers otherwise; the server's work is unchanged).
        one_hash = accounts_module.hash_password("bench-volunteer-password")
        real_hash, accounts_module.hash_password = accounts_module.hash_password, lambda password: one_hash
        try:
            for name in names:
                accounts.add_user(name, "volunteer", "bench-volunteer-password", CAMPAIGN)
        finally:
            accounts_module.hash_password = real_hash
        docs = []
        for t, turf in enumerate(turfs):
            row, col = divmod(t, 40)
            docs.append({"_id": turf, "type": "turf", "name": f"Live turf {t + 1}",
                         "geometry": _square(41.95 + row * GRID, -87.60 + col * GRID, GRID * 0.4)})
            # The household each phone's records name: a volunteer may record only at a household of their turfs.
            docs.append({"_id": f"household:{turf}", "type": "household", "turf": turf,
                         "address": f"{t + 1} Live St", "location": {"lat": 41.95 + row * GRID, "lon": -87.60 + col * GRID}})
        for v, name in enumerate(names):
            docs.append({"_id": assignment_id(name, turfs[v // 2]), "type": "assignment", "user": name,
                         "turf": turfs[v // 2], "active": True})
        results = server.open_db(CAMPAIGN).bulk_docs(docs, new_edits=True)
        assert not [r for r in results if "error" in r], results[:3]
        tokens = {name: accounts.create_token(name, label="bench live") for name in names}
        tokens["cora"] = accounts.create_token("cora", label="bench live")  # the demo's coordinator
        accounts.add_user("bench-admin", "admin", "bench-admin-password")
        admin = accounts.create_token("bench-admin", label="bench live")
    finally:
        server.close()
    return store, turfs, tokens, admin


def phones_for(count: int, turfs: list[str], tokens: dict[str, str], coordinators: int, team: int,
               peer: bool) -> list[dict]:
    """Who each phone is: teams of ``team`` phones a turf (two volunteers), and ``coordinators`` coordinators'."""
    names = sorted(n for n in tokens if n != "cora")
    n_coordinators = max(1, min(coordinators, count // 10))
    n_turfs = min(len(turfs), max(1, (count - n_coordinators) // team))
    phones = []
    for n in range(count - n_coordinators):
        t = n % n_turfs
        user = names[2 * t + (n // n_turfs) % 2]
        db = f"/team-{t + 1}" if peer else f"/sync/{CAMPAIGN}"
        phones.append({"user": user, "turf": turfs[t], "token": None if peer else tokens[user], "db": db})
    for n in range(n_coordinators):
        db = f"/team-{n % n_turfs + 1}" if peer else f"/sync/{CAMPAIGN}"
        phones.append({"user": "cora", "turf": None, "token": None if peer else tokens["cora"], "db": db})
    return phones


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--phones", default="1000", help="live phones; a comma-separated list runs each size in turn")
    parser.add_argument("--seconds", type=float, default=120, help="measured seconds a size (after the ramp)")
    parser.add_argument("--ramp", type=float, default=20, help="seconds over which the phones come online")
    parser.add_argument("--push-interval", type=float, default=120, help="mean seconds between a phone's records (120: a door every two minutes)")
    parser.add_argument("--team", type=int, default=10, help="phones a turf (two volunteers' phones)")
    parser.add_argument("--coordinators", type=int, default=10, help="phones of coordinators (each wakes on every record)")
    parser.add_argument("--volunteers", type=int, default=None,
                        help="volunteers, two a turf, each with a token its phones share (default: a fifth of the largest size)")
    parser.add_argument("--threads", type=int, default=None, help="BLOCKWALK_THREADS of the server (default: its own, 64)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-peer", action="store_true", help="skip pouchdb-server")
    parser.add_argument("--peer-phones", default=None, help="sizes to run against pouchdb-server (default: the first size)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.phones.split(",")]
    if args.volunteers is None:
        args.volunteers = max(20, max(sizes) // 5)
    peer_sizes = [int(s) for s in (args.peer_phones or str(sizes[0])).split(",")]

    folder = Path(tempfile.mkdtemp(prefix="blockwalk-live-"))
    results: dict[int, dict] = {}
    try:
        started = time.monotonic()
        store, turfs, tokens, admin = prepare(folder, args.volunteers)
        print(f"Set-up: the demo campaign, {args.volunteers} volunteers on {len(turfs)} turfs, in "
              f"{time.monotonic() - started:.0f} s; push interval {args.push_interval:.0f} s mean, "
              f"{args.seconds:.0f} s measured a size", flush=True)
        for size in sizes:
            env = {"BLOCKWALK_THREADS": str(args.threads)} if args.threads else None
            live = LiveServer(folder, env=env, store=store, like=SimpleNamespace(token=admin, volunteer_token=admin))
            try:
                port = int(live.url.rsplit(":", 1)[1])
                phones = phones_for(size, turfs, tokens, args.coordinators, args.team, peer=False)
                result = asyncio.run(run_load("127.0.0.1", port, live.proc.pid, phones, args.seconds, args.ramp,
                                              args.push_interval, args.seed, health=True))
                results[size] = result
                report("Blockwalk (blockwalk serve, SQLite, synchronous=FULL)", result)
                assert live.proc.poll() is None, "the server died"
            finally:
                live.close()
        for size in ([] if args.no_peer else peer_sizes):
            peer = PouchDBServer(folder / f"pouchdb-server-{size}")
            try:
                port = peer.port
                phones = phones_for(size, turfs, tokens, args.coordinators, args.team, peer=True)
                import httpx

                with httpx.Client(base_url=peer.url, timeout=60) as http:
                    for db in sorted({p["db"] for p in phones}):
                        assert http.put(db).status_code == 201
                result = asyncio.run(run_load("127.0.0.1", port, peer.proc.pid, phones, args.seconds, args.ramp,
                                              args.push_interval, args.seed, health=False))
                report("pouchdb-server (a database a team; no accounts, channels or validation)", result)
                ours = results.get(size)
                if ours is not None:
                    a, b = ours["stats"], result["stats"]
                    print(f"\nRatios Blockwalk / pouchdb-server at {size} phones: push p95 "
                          f"{quantile(a.push, 0.95) / quantile(b.push, 0.95):.2f}, propagation p95 "
                          f"{quantile(a.propagation, 0.95) / quantile(b.propagation, 0.95):.2f}, server CPU "
                          f"{ours['server_cpu'] / max(result['server_cpu'], 1e-9):.2f}, RSS peak "
                          f"{ours['rss_peak'] / result['rss_peak']:.2f} (below 1: Blockwalk is faster or smaller)")
            finally:
                peer.close()
        held = [size for size, r in results.items() if quantile(r["stats"].push, 0.95) < 1.0 and not r["stats"].errors]
        print(f"\nLargest size run with push p95 under 1 s and no errors: {max(held) if held else 'none'} live phones"
              f" (sizes run: {', '.join(map(str, sizes))})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
