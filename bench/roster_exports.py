"""Roster exports: N sign-ups from the visits index to CSV and XLSX, streamed, against a naive export.

    .venv/bin/python bench/roster_exports.py [N]      # default 50,000 sign-ups

Fills a SQLite store with N recruitment records (one person in five signs up
twice, from another canvasser), builds the visits index, then runs each
export in its own process and reports rows/s and that process's peak memory
(ru_maxrss):

* **streamed**: what the API and the CLI do (``roster_export``: people from
  the index, CSV written row by row, XLSX by xlsxwriter in constant_memory
  mode to a temporary file sent in chunks);
* **naive**: every record read from the store at once, the people built,
  the whole file made in memory (``csv`` into a string; openpyxl's ordinary
  workbook, saved to bytes).

The ratios compare the two in the same run.  The streamed export holds
every sign-up's deduplication key (record, time, household, folded name,
E.164 phone, e-mail) and builds one person at a time from the index.
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.people import roster_export, visits  # noqa: E402
from server.people.roster import PRESETS, headers, people, rows, signup_from_record  # noqa: E402
from server.projection import Projection  # noqa: E402
from server.stores import open_store  # noqa: E402
from tests.conftest import store_config  # noqa: E402
from tests.factories import signup_record  # noqa: E402

FIRST = ["Ana", "Luis", "Marta", "Kofi", "Ewa", "Omar", "Grace", "Tomás", "Layla", "Sam"]
LAST = ["Reyes", "Nowak", "Mensah", "Haddad", "Kim", "Ortiz", "Walker", "Lopez"]
ALL = {"sms": True, "email": True, "call": True}


def fill(url: str, n: int) -> None:
    server = open_store(url, store_config())
    db = server.create_db("bench")
    batch = []
    for i in range(n):
        person = i if i % 5 else i - 1  # every fifth sign-up is the previous person again
        name = f"{FIRST[person % 10]} {LAST[(person // 10) % 8]}"  # many namesakes, at other doors: not merged
        batch.append(signup_record(name=name, email=f"p{person}@example.org",
                                   phone=f"+1 312 {200 + person // 10000:03d} {person % 10000:04d}",
                                   household=f"household:{person}", author=("vic", "val")[i % 2], consent=ALL,
                                   at=f"2026-11-{1 + i % 28:02d}T18:00:00+00:00"))
        if len(batch) == 2000:
            db.bulk_docs(batch)
            batch = []
    if batch:
        db.bulk_docs(batch)
    server.close()


def streamed(url: str, index_path: str, fmt: str) -> int:
    server = open_store(url, store_config())
    db = server.open_db("bench")
    index = Projection(db, index_path, [visits.VisitsHandler()])
    index.catch_up()
    found = roster_export.RosterQuery(index, db, "US", "US", {"mode": "new", "since": None}).people()
    count = 0

    def done(n: int, complete: bool) -> None:
        nonlocal count
        count = n

    with open(os.devnull, "wb") as sink:
        for chunk in roster_export.roster_stream(found, PRESETS["full"], fmt, done):
            sink.write(chunk)
    return count


def naive(url: str, fmt: str) -> int:
    server = open_store(url, store_config())
    db = server.open_db("bench")
    docs = [row["doc"] for row in db.all_docs(include_docs=True)["rows"]]
    everyone = people([s for d in docs if (s := signup_from_record(d))], "US")
    table = [headers(PRESETS["full"])] + list(rows(everyone, PRESETS["full"]))
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows(table)
        buffer.getvalue().encode()
    else:
        import openpyxl

        book = openpyxl.Workbook()
        sheet = book.active
        for row in table:
            sheet.append(row)
        book.save(io.BytesIO())
    return len(table) - 1


def child(kind: str, url: str, index_path: str, fmt: str) -> None:
    start = time.perf_counter()
    count = streamed(url, index_path, fmt) if kind == "streamed" else naive(url, fmt)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"rows": count, "seconds": seconds, "peak_mb": peak_mb}))


def run(kind: str, url: str, index_path: str, fmt: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, url, index_path, fmt],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite://{folder}/bench.db"
        index_path = f"{folder}/bench.visits.sqlite"
        started = time.perf_counter()
        fill(url, n)
        print(f"{n:,} sign-up records written in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        server = open_store(url, store_config())
        Projection(server.open_db("bench"), index_path, [visits.VisitsHandler()]).catch_up()
        server.close()
        print(f"visits index built in {time.perf_counter() - started:.1f} s")
        for fmt in ("csv", "xlsx"):
            fast, slow = run("streamed", url, index_path, fmt), run("naive", url, index_path, fmt)
            assert fast["rows"] == slow["rows"], (fast, slow)
            print(f"{fmt:4}  streamed: {fast['rows']:,} people, {fast['rows'] / fast['seconds']:,.0f} rows/s, "
                  f"peak {fast['peak_mb']:.0f} MB  |  naive: {slow['rows'] / slow['seconds']:,.0f} rows/s, "
                  f"peak {slow['peak_mb']:.0f} MB  |  memory ratio naive/streamed {slow['peak_mb'] / fast['peak_mb']:.2f}, "
                  f"speed ratio streamed/naive {slow['seconds'] / fast['seconds']:.2f}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
    else:
        main()
