"""An acknowledged write survives ``kill -9`` of the process that wrote it."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from sync.errors import Conflict
from sync.sqlite import SQLiteServer
from tests.helpers.crash_writer import BATCH

ROOT = Path(__file__).resolve().parents[2]


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


def test_checkpoints_skip_the_disk_wait_and_documents_keep_it(tmp_path):
    """A ``_local`` checkpoint commits with synchronous=NORMAL; every document batch stays FULL.

    docs/store.md: a lost checkpoint only makes a device compare again, but an
    acknowledged document must be on disk.
    """
    server = SQLiteServer(tmp_path / "store.db")
    try:
        db = server.create_db("checkpoints")
        statements: list[str] = []
        with server.writing() as conn:
            conn.set_trace_callback(statements.append)
        rev = db.put_local({"_id": "_local/replication", "last_seq": 1})["rev"]
        with pytest.raises(Conflict):  # a stale checkpoint is refused, and the mode is restored all the same
            db.put_local({"_id": "_local/replication", "last_seq": 2})
        db.put_local({"_id": "_local/replication", "_rev": rev, "last_seq": 3})
        checkpoint = statements.index("PRAGMA synchronous=NORMAL")
        assert statements.index("BEGIN IMMEDIATE", checkpoint) < statements.index("COMMIT", checkpoint)
        assert statements[statements.index("COMMIT", checkpoint) + 1] == "PRAGMA synchronous=FULL"

        statements.clear()
        db.bulk_docs([{"_id": "record:1", "type": "record"}])
        assert "PRAGMA synchronous=NORMAL" not in statements
        with server.writing() as conn:
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            conn.set_trace_callback(None)

        # A writer that breaks during a relaxed commit is replaced, never left relaxed.
        with pytest.raises(sqlite3.Error):
            with server.transaction(durable=False) as conn:
                conn.close()
        db.bulk_docs([{"_id": "record:2", "type": "record"}])
        with server.writing() as conn:
            assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2

        # Written in order: reopened, the store holds the last checkpoint and the documents.
        server.close()
        server = SQLiteServer(tmp_path / "store.db")
        db = server.open_db("checkpoints")
        assert db.get_local("_local/replication")["last_seq"] == 3
        assert db.get("record:1")["type"] == "record" and db.get("record:2")["type"] == "record"
    finally:
        server.close()
