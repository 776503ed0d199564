"""A server-side, rebuildable index of a campaign's documents, in a local SQLite file.

The store is the truth; an index is what the server reads to answer the
questions the store cannot (a bounding box of a million assets, every flag
of a canvasser, a roster deduplicated across drives).  An index follows its
campaign's changes feed: it remembers the last ``seq`` it applied (opaque,
stored as JSON: the CouchDB store's seqs are strings) and, before answering
a read, applies whatever changed since.  So it works on both stores, and
with several server processes each keeps its own file (or shares one: the
catch-up holds SQLite's write lock and re-reads the seq inside it) and all
converge on the same rows.  Delete the file and it is built again from
``since=0``; change a handler's ``version`` and its tables are rebuilt.

The API, for a user of the index (assets, the roster):

* subclass ``Handler``: ``name``, ``version`` (any string: include every
  setting the rows depend on), ``schema`` (``CREATE TABLE`` / ``CREATE
  INDEX`` statements), ``tables`` (the tables whose rows belong to one
  document: their first column is ``doc_id``), ``rows(doc)`` yielding
  ``(table, row tuple)`` for a live document, and optionally
  ``settle(conn, changed)`` for rows that depend on other documents (run
  once per batch, in the batch's transaction, after the rows were
  replaced); ``changed`` maps each changed id to its document, or to None
  when it was deleted.
* ``register(kind, make_handlers)``: ``make_handlers(config)`` gives the
  handlers of one index kind (one file per campaign and kind).
* ``index(campaign, kind)`` (in a request): the campaign's ``Projection``,
  caught up; ``projection.read()`` is a new read-only connection (close it,
  or use it in a ``with closing(...)``) that sees a consistent snapshot.
* ``catch_up_all(app)``: every campaign and kind, at the start of
  ``blockwalk serve``.
* ``open_index(config, store, campaign, kind)``: the same file outside a
  request (the CLI); call ``catch_up()`` yourself.

A deleted and re-created campaign keeps its old index file: delete
``<index dir>/<campaign>.<kind>.sqlite`` (see ``docs/assets.md``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Iterable, Mapping

from flask import Flask, current_app

from server.services import services
from sync.errors import SyncError
from sync.store import DocumentStore

log = logging.getLogger(__name__)

BATCH = 2000  # changes applied per transaction

_META = "CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)"


class Handler:
    """One user of an index: its tables and how a document becomes rows (see the module docstring)."""

    name: str = ""
    version: str = "1"
    schema: str = ""
    tables: tuple[str, ...] = ()

    def rows(self, doc: dict) -> Iterable[tuple[str, tuple]]:
        return ()

    def settle(self, conn: sqlite3.Connection, changed: Mapping[str, dict | None]) -> None:
        """Rows that depend on other documents; runs after each batch's rows were replaced."""


class Projection:
    """One campaign's index file, kept current from the campaign's changes feed."""

    def __init__(self, store: DocumentStore, path: str | Path, handlers: list[Handler], *, batch: int = BATCH) -> None:
        self.store = store
        self.path = Path(path)
        self.handlers = handlers
        self.batch = batch
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._writer = self._connect()
        self._writer.execute("PRAGMA journal_mode=WAL")
        # Secondary indexes of a million rows take random pages: a larger cache than SQLite's 2 MB keeps
        # catching up from being bound by page reads (bench/exports.py).
        self._writer.execute("PRAGMA cache_size=-65536")
        self._prepare()

    # ----------------------------------------------------------------- connections

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA synchronous=NORMAL")  # rebuildable: a lost tail is caught up again
        return conn

    def read(self) -> sqlite3.Connection:
        """A new connection for reading (the caller closes it)."""
        conn = self._connect()
        conn.execute("PRAGMA query_only=ON")
        return conn

    def close(self) -> None:
        with self._lock:
            self._writer.close()

    # ----------------------------------------------------------------- schema

    def _versions(self) -> str:
        return json.dumps({h.name: h.version for h in self.handlers}, sort_keys=True)

    def _prepare(self) -> None:
        conn = self._writer
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_META)
            found = conn.execute("SELECT value FROM _meta WHERE key = 'versions'").fetchone()
            if found is None or found[0] != self._versions():
                self._drop_all(conn)
                for handler in self.handlers:
                    for statement in _statements(handler.schema):
                        conn.execute(statement)
                conn.execute("INSERT OR REPLACE INTO _meta VALUES ('versions', ?)", (self._versions(),))
                conn.execute("INSERT OR REPLACE INTO _meta VALUES ('since', ?)", (json.dumps(0),))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _drop_all(conn: sqlite3.Connection) -> None:
        names = [row[0] for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name != '_meta' AND name NOT LIKE 'sqlite_%'")]
        for name in names:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)).fetchone():
                conn.execute(f'DROP TABLE "{name}"')  # also drops its indexes (an rtree its shadow tables)
        conn.execute("DELETE FROM _meta")

    def rebuild(self) -> int:
        """Drop every row and apply the whole changes feed again; returns how many changes were applied."""
        with self._lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                self._drop_all(self._writer)
                self._writer.execute("COMMIT")
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            self._prepare()
        return self.catch_up()

    # ----------------------------------------------------------------- following the feed

    def since(self, conn: sqlite3.Connection | None = None) -> object:
        row = (conn or self._writer).execute("SELECT value FROM _meta WHERE key = 'since'").fetchone()
        return json.loads(row[0]) if row else 0

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply every change since the last one applied; returns how many were applied."""
        applied = 0
        with self._lock:
            conn = self._writer
            while True:
                since = self.since()
                page = self.store.changes(since, limit=self.batch, include_docs=True)
                if not page.results:
                    return applied
                conn.execute("BEGIN IMMEDIATE")
                try:
                    if self.since(conn) != since:  # another process applied it meanwhile: read again
                        conn.execute("COMMIT")
                        continue
                    self._apply(conn, page.results)
                    conn.execute("UPDATE _meta SET value = ? WHERE key = 'since'", (json.dumps(page.results[-1]["seq"]),))
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                applied += len(page.results)
                if progress is not None:
                    progress(len(page.results))
                if len(page.results) < self.batch:
                    return applied

    def _apply(self, conn: sqlite3.Connection, results: list[dict]) -> None:
        changed: dict[str, dict | None] = {}
        for row in results:
            doc = row.get("doc")
            changed[row["id"]] = None if row.get("deleted") or not isinstance(doc, dict) or doc.get("_deleted") else doc
        ids = [(doc_id,) for doc_id in changed]
        for handler in self.handlers:
            for table in handler.tables:
                conn.executemany(f'DELETE FROM "{table}" WHERE doc_id = ?', ids)
            inserts: dict[str, list[tuple]] = {}
            for doc in changed.values():
                if doc is not None:
                    for table, values in handler.rows(doc):
                        inserts.setdefault(table, []).append(values)
            for table, rows in inserts.items():
                marks = ",".join("?" * len(rows[0]))
                conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', rows)
            handler.settle(conn, changed)


def _statements(schema: str) -> list[str]:
    """The statements of a schema script (a trigger's body has its own semicolons)."""
    statements, current = [], ""
    for part in schema.split(";"):
        current += part + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                statements.append(current.strip())
            current = ""
    if current.strip(" \n\t;"):
        statements.append(current.strip())
    return statements


# --------------------------------------------------------------------------- per app

KINDS: dict[str, Callable[[Mapping[str, object]], list[Handler]]] = {}


def register(kind: str, make_handlers: Callable[[Mapping[str, object]], list[Handler]]) -> None:
    """Declare an index kind: ``make_handlers(app config)`` gives its handlers."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", kind):
        raise ValueError(f"index kind {kind!r}: lowercase letters, digits and _")
    KINDS[kind] = make_handlers


def index_dir(config: Mapping[str, object]) -> Path:
    """Where the index files are: INDEX_DIR, else beside the SQLite store, else DATA_DIR/index/<store>."""
    from server.config import store_url
    from server.stores import safe_url

    if config.get("INDEX_DIR"):
        return Path(str(config["INDEX_DIR"]))
    url = store_url(config)
    if url.startswith("sqlite://"):
        return Path(url[len("sqlite://"):] + ".index")
    digest = hashlib.sha1(safe_url(url).encode()).hexdigest()[:12]
    return Path(str(config["DATA_DIR"])) / "index" / digest


def _file_name(campaign: str, kind: str) -> str:
    # Campaign names are CouchDB database names (lowercase, digits, _$()+-/): keep them readable and safe.
    safe = re.sub(r"[^a-z0-9_-]", lambda m: f"%{ord(m.group()):02x}", campaign)
    return f"{safe}.{kind}.sqlite"


def open_index(config: Mapping[str, object], store: DocumentStore, campaign: str, kind: str) -> Projection:
    """The index of ``kind`` for ``campaign`` with the settings of ``config`` (the CLI's way in), not caught up."""
    return Projection(store, index_dir(config) / _file_name(campaign, kind), KINDS[kind](config))


def projection_of(app: Flask, store: DocumentStore, campaign: str, kind: str) -> Projection:
    """The app's index of ``kind`` for ``campaign`` (opened once per process), not caught up."""
    found_services = services(app)
    cache = found_services.projections
    with found_services.projections_lock:
        found = cache.get((campaign, kind))
        if found is None:
            found = cache[(campaign, kind)] = open_index(app.config, store, campaign, kind)
        return found


def index(campaign: str, kind: str, store: DocumentStore) -> Projection:
    """In a request: the campaign's index of ``kind``, caught up with the store."""
    found = projection_of(current_app._get_current_object(), store, campaign, kind)  # type: ignore[attr-defined]
    found.catch_up()
    return found


def catch_up_all(app: Flask, progress: Callable[[str, int], None] | None = None) -> int:
    """Catch every campaign's indexes up (``blockwalk serve`` does it at start)."""
    server = services(app).store
    total = 0
    for campaign in server.list_dbs():
        try:
            store = server.open_db(campaign)
        except SyncError:
            continue
        for kind in KINDS:
            total += projection_of(app, store, campaign, kind).catch_up(
                None if progress is None else (lambda n, c=campaign: progress(c, n)))
    return total


def close_all(app: Flask) -> None:
    for found in services(app).projections.values():
        found.close()


__all__ = ["Handler", "Projection", "register", "index", "index_dir", "open_index", "projection_of", "catch_up_all"]
