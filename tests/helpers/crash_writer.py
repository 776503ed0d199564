"""A writer process for the crash test: writes batches and acknowledges each one.

    python crash_writer.py STORE_PATH FIRST_BATCH

Writes batches of 50 replicated records (ids ``b<batch>-<n>``) plus one user
edit of a counter document per batch, and prints ``ack <batch> <counter rev>``
on stdout once ``bulk_docs`` and ``put`` have returned: from then on the
batch is acknowledged and must survive anything.  Runs until it is killed.
"""

from __future__ import annotations

import sys

from sync.errors import NotFound
from sync.sqlite import SQLiteServer
from tests.factories import make_record, replicated

BATCH = 50


def main() -> None:
    path, first = sys.argv[1], int(sys.argv[2])
    server = SQLiteServer(path)
    try:
        db = server.open_db("crash")
    except NotFound:
        db = server.create_db("crash")
    batch = first
    while True:
        docs = [replicated(make_record(_id=f"b{batch}-{n}"), f"b{batch}-{n}") for n in range(BATCH)]
        results = db.bulk_docs(docs, new_edits=False)
        assert all(r.get("ok") for r in results), results
        try:
            counter = db.get("counter")
        except NotFound:
            counter = {"_id": "counter"}
        rev = db.put({**counter, "batch": batch})["rev"]
        print(f"ack {batch} {rev}", flush=True)
        batch += 1


if __name__ == "__main__":
    main()
