"""The SQLite store's tables, and the shape of the queries that list ids.

One file holds every database (one per campaign).  Tables:


* ``dbs``: each database's name, ``update_seq`` and document counts;
* ``docs``: one row per document: its revision tree (``sync.revtree`` as
  JSON), the winning revision, whether the winner is deleted, and the
  sequence of its latest change (``UNIQUE (db, seq)``: the changes feed is an
  index range scan, each document listed once at its newest change);
* ``revs``: the body of each stored revision;
* ``blobs``: attachment bytes, once per digest whatever refers to them;
* ``local_docs``: ``_local/`` documents (checkpoints), never in the feed;
* ``doc_channels``: the channels of each document's winning revision, at the
  document's seq (``PRIMARY KEY (db, channel, seq)``): a filtered changes
  feed reads only the rows of the channels it asks for.  The document's row
  in ``docs`` lists its channels too, so a write finds the rows to replace
  without a second index.
"""

from __future__ import annotations

import sqlite3
from typing import Iterator

from sync.errors import BadRequest

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dbs (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    update_seq INTEGER NOT NULL DEFAULT 0,
    doc_count INTEGER NOT NULL DEFAULT 0,
    doc_del_count INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS docs (
    db INTEGER NOT NULL REFERENCES dbs(id),
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    winner TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    tree BLOB NOT NULL,
    channels TEXT,
    UNIQUE (db, id),
    UNIQUE (db, seq)
);
CREATE TABLE IF NOT EXISTS revs (
    db INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    rev TEXT NOT NULL,
    body BLOB NOT NULL,
    UNIQUE (db, doc_id, rev)
);
CREATE TABLE IF NOT EXISTS blobs (digest TEXT PRIMARY KEY, length INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS doc_channels (
    db INTEGER NOT NULL,
    channel TEXT NOT NULL,
    seq INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (db, channel, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS local_docs (
    db INTEGER NOT NULL,
    id TEXT NOT NULL,
    rev INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (db, id)
);
"""


def create(conn: sqlite3.Connection) -> None:
    """Make the tables a store lacks (a store made before ``docs.channels`` existed gets the column)."""
    conn.executescript(SCHEMA)
    columns = {row[1] for row in conn.execute("PRAGMA table_info(docs)")}
    if "channels" not in columns:  # a store made before channels existed
        conn.execute("ALTER TABLE docs ADD COLUMN channels TEXT")


ID_CHUNK = 1024  # the most ids one `IN (...)` list carries


def in_list(ids: list[str]) -> tuple[str, list[str]]:
    """The ``?`` marks for ``id IN (...)`` and the ids, padded to a length among 1, 4, 16 ... 1024.

    Each distinct SQL text is a prepared statement that every connection
    keeps (Python's sqlite3 caches 128 of them a connection, each server
    thread has one): lists of every length from 1 to 500 held about 2 MiB in
    each connection, which grew the server by 100 MiB under load.  Repeating
    an id does not change what ``IN`` matches.
    """
    size = padded_length(len(ids))
    return ",".join("?" * size), ids + ids[-1:] * (size - len(ids))


def padded_length(count: int) -> int:
    """The length a list of ``count`` items is padded to in a query: 1, 4, 16 ... (docs/store.md, "Memory")."""
    size = 1
    while size < count:
        size *= 4
    return size


def in_chunks(ids: list[str]) -> Iterator[tuple[str, list[str]]]:
    """``in_list`` for each chunk of at most ``ID_CHUNK`` ids."""
    for start in range(0, len(ids), ID_CHUNK):
        yield in_list(ids[start:start + ID_CHUNK])


def check_copy(conn: sqlite3.Connection, name: str) -> None:
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BadRequest(f"{name} is not a Blockwalk SQLite store: {exc}") from None
    if not {"meta", "dbs", "docs", "revs"} <= tables:
        raise BadRequest(f"{name} is not a Blockwalk SQLite store")
    if ok != "ok":
        raise BadRequest(f"{name} fails SQLite's integrity check: {ok}")

