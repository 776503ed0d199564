"""Store benchmark: replicated writes and the changes feed, against raw SQLite.

Writes N records of about 1 KB through the replicated-write path
(``bulk_docs(new_edits=False)``) in batches of 100, then reads the whole
changes feed with documents.  In the same run it times the peer: raw
``executemany`` inserts of the same JSON bytes into a plain SQLite table (the
same synchronous setting and batch commits), and a plain read of them back
with the JSON parsed.  Prints docs/s for both and the ratios.

    python bench/store.py [--docs 100000] [--synchronous FULL]

Targets (issue "Foundation"): >= 20,000 docs/s written, >= 50,000 docs/s read
from the changes feed, and at least one tenth of the raw SQLite write rate.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
# (bench/ itself is already on sys.path, after the project root: bench/sync.py must not hide the sync package.)

import orjson  # noqa: E402
from records import records  # noqa: E402

from sync.sqlite import SQLiteServer  # noqa: E402

BATCH = 100


def bench_store(docs: list[dict], folder: str, synchronous: str) -> tuple[float, float, int]:
    server = SQLiteServer(os.path.join(folder, "store.db"), synchronous=synchronous)
    db = server.create_db("bench")
    t0 = time.perf_counter()
    for i in range(0, len(docs), BATCH):
        results = db.bulk_docs(docs[i : i + BATCH], new_edits=False)
        if any("error" in r for r in results):
            raise SystemExit(f"write failed: {[r for r in results if 'error' in r][:1]}")
    write = time.perf_counter() - t0
    t0 = time.perf_counter()
    since, seen = 0, 0
    while True:
        page = db.changes(since, limit=1000, include_docs=True)
        if not page.results:
            break
        seen += len(page.results)
        since = page.results[-1]["seq"]
    read = time.perf_counter() - t0
    server.close()
    return write, read, seen


def bench_raw(docs: list[dict], folder: str, synchronous: str) -> tuple[float, float]:
    conn = sqlite3.connect(os.path.join(folder, "raw.db"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("CREATE TABLE plain (id TEXT PRIMARY KEY, body BLOB NOT NULL)")
    rows = [(d["_id"], orjson.dumps(d)) for d in docs]
    t0 = time.perf_counter()
    for i in range(0, len(rows), BATCH):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO plain (id, body) VALUES (?, ?)", rows[i : i + BATCH])
        conn.execute("COMMIT")
    write = time.perf_counter() - t0
    t0 = time.perf_counter()
    n = sum(1 for (body,) in conn.execute("SELECT body FROM plain ORDER BY rowid") if orjson.loads(body))
    read = time.perf_counter() - t0
    assert n == len(docs)
    conn.close()
    return write, read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--synchronous", default="FULL")
    args = parser.parse_args()
    docs = records(args.docs)
    size = sum(len(orjson.dumps(d)) for d in docs) / len(docs)
    with tempfile.TemporaryDirectory() as folder:
        raw_write, raw_read = bench_raw(docs, folder, args.synchronous)
        write, read, seen = bench_store(docs, folder, args.synchronous)
    assert seen == len(docs), f"changes feed listed {seen} of {len(docs)}"
    n = len(docs)
    print(f"{n} records, {size:.0f} bytes each on average, batches of {BATCH}, synchronous={args.synchronous}")
    print(f"write  blockwalk {n / write:10,.0f} docs/s   raw sqlite {n / raw_write:10,.0f} docs/s   ratio {raw_write / write:.3f}")
    print(f"read   blockwalk {n / read:10,.0f} docs/s   raw sqlite {n / raw_read:10,.0f} docs/s   ratio {raw_read / read:.3f}")


if __name__ == "__main__":
    main()
