"""An acknowledged write survives ``kill -9`` of the process that wrote it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sync.sqlite_store import SQLiteServer
from tests.helpers.crash_writer import BATCH

ROOT = Path(__file__).resolve().parent.parent


def _run_until_killed(path: Path, first: int, delay: float) -> list[tuple[int, str]]:
    """Start a writer, kill -9 it after ``delay`` seconds; return what it acknowledged."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.crash_writer", str(path), str(first)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    acks: list[tuple[int, str]] = []

    def read() -> None:
        for line in proc.stdout:
            _, batch, rev = line.split()
            acks.append((int(batch), rev))

    reader = threading.Thread(target=read)
    reader.start()
    # Wait for the first acknowledgement so the kill lands in the middle of writing.
    deadline = time.monotonic() + 30
    while not acks and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert acks, f"writer never acknowledged: {proc.stderr.read() if proc.poll() is not None else 'timeout'}"
    time.sleep(delay)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.join()
    return acks


def test_acknowledged_writes_survive_kill_9(tmp_path):
    path = tmp_path / "crash.db"
    rng = random.Random(9)
    first = 0
    acknowledged: list[tuple[int, str]] = []
    for _ in range(8):
        acks = _run_until_killed(path, first, rng.uniform(0.02, 0.3))
        acknowledged.extend(acks)
        server = SQLiteServer(path)
        try:
            assert server.integrity_check() == "ok"
            db = server.open_db("crash")
            ids = {row["id"] for row in db.changes().results}
            for batch, _ in acknowledged:
                missing = [n for n in range(BATCH) if f"b{batch}-{n}" not in ids]
                assert not missing, f"acknowledged batch {batch} lost documents {missing[:5]}"
            # The batch in flight at the kill is all there or not there at all.
            in_flight = acks[-1][0] + 1
            present = sum(f"b{in_flight}-{n}" in ids for n in range(BATCH))
            assert present in (0, BATCH), f"batch {in_flight} is half written ({present}/{BATCH})"
            # The last acknowledged edit is there, or a later one that was in flight.
            counter = db.get("counter", revs=True)
            last_rev = acks[-1][1]
            assert counter["_rev"] == last_rev or last_rev.split("-")[1] in counter["_revisions"]["ids"]
            assert db.info().doc_count == len(ids)
            first = in_flight + 1 if present else in_flight
        finally:
            server.close()
    assert len(acknowledged) >= 8
