"""The embedded store: SQLite in WAL mode, with Blockwalk keeping the revision trees.

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

Each batch is one ``BEGIN IMMEDIATE`` transaction; ``synchronous=FULL`` by
default, so a write that was acknowledged is on disk before the answer goes
out.  Writers are serialised by a lock (SQLite has one writer at a time) and
share one connection, whose page cache stays warm from batch to batch;
readers use a connection per thread and never block the writer.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from contextlib import contextmanager
from typing import Callable, Iterable, Iterator, Literal, NamedTuple

from sync import attachments as atts
from sync import channels
from sync import jsonutil, revtree, update
from sync.errors import (BadRequest, Conflict, InsufficientStorage, MissingStub, NotFound, PreconditionFailed,
                         StoreUnavailable, SyncError)
from sync.revid import InvalidRev, parse_rev
from sync.store import (Attachment, ChangesPage, DbInfo, Grants, PutFromBulkDocs, ReadsByGrants, Resolver, Router,
                        StoreLimits, bulk_get_error, bulk_get_result, hidden_result)

log = logging.getLogger(__name__)

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

SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

ID_CHUNK = 1024  # the most ids one `IN (...)` list carries


def _in_list(ids: list[str]) -> tuple[str, list[str]]:
    """The ``?`` marks for ``id IN (...)`` and the ids, padded to a length among 1, 4, 16 ... 1024.

    Each distinct SQL text is a prepared statement that every connection
    keeps (Python's sqlite3 caches 128 of them a connection, each server
    thread has one): lists of every length from 1 to 500 held about 2 MiB in
    each connection, which grew the server by 100 MiB under load.  Repeating
    an id does not change what ``IN`` matches.
    """
    size = _padded_length(len(ids))
    return ",".join("?" * size), ids + ids[-1:] * (size - len(ids))


def _padded_length(count: int) -> int:
    """The length a list of ``count`` items is padded to in a query: 1, 4, 16 ... (docs/store.md, "Memory")."""
    size = 1
    while size < count:
        size *= 4
    return size


def _in_chunks(ids: list[str]) -> Iterator[tuple[str, list[str]]]:
    """``_in_list`` for each chunk of at most ``ID_CHUNK`` ids."""
    for start in range(0, len(ids), ID_CHUNK):
        yield _in_list(ids[start:start + ID_CHUNK])

# Page caches, in KiB (docs/store.md, "Memory").  Every server thread reads
# through a connection of its own, and SQLite's default cache (2 MiB a
# connection) would let 64 threads hold 128 MiB of copies of the same pages;
# the operating system caches the file for all of them anyway.  The one
# writer keeps a larger cache: the index pages a batch updates.
READER_CACHE_KIB = 256
WRITER_CACHE_KIB = 4 * 1024


class SQLiteServer:
    """Every database of one SQLite file (implements ``sync.store.StoreServer``)."""

    def __init__(self, path: str | os.PathLike, *, limits: StoreLimits | None = None, synchronous: str = "FULL",
                 router: Router | None = None):
        if synchronous.upper() not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {', '.join(SYNCHRONOUS)}")
        self.path = Path(path)
        self.limits = limits or StoreLimits()
        self.router = router
        self._synchronous = synchronous.upper()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._owners: dict[sqlite3.Connection, threading.Thread] = {}  # each reader connection's thread
        self.write_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None  # see writing()
        self._db_ids: dict[str, int] = {}  # name -> id, filled by open_db
        self.changed = threading.Condition()  # notified after every commit that adds revisions
        # Called after every commit that adds changes, with the database's name and the channels
        # of the changed documents (None: unknown); the live feeds' wake-ups (server.live).
        self._listeners: list[Callable[[str, set[str] | None], None]] = []
        self._seen_seqs: dict[int, int] = {}  # db id -> update_seq this process committed or noticed last
        self._watcher: threading.Thread | None = None
        self._closed = threading.Event()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.writing() as conn:
            conn.executescript(SCHEMA)
            columns = {row[1] for row in conn.execute("PRAGMA table_info(docs)")}
            if "channels" not in columns:  # a store made before channels existed
                conn.execute("ALTER TABLE docs ADD COLUMN channels TEXT")
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('uuid', ?)", (uuid.uuid4().hex,))
        self.uuid: str = self.connection().execute("SELECT value FROM meta WHERE key = 'uuid'").fetchone()[0]

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, for reads (autocommit; transactions are explicit)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect(READER_CACHE_KIB)
            self._owners[conn] = threading.current_thread()
        return conn

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """Hold the write lock and get the one connection every write goes through.

        SQLite has one writer at a time anyway.  One connection keeps its page
        cache across batches (a connection's own commits leave it valid, anyone
        else's empty it), so a batch finds the index pages it updates in
        memory, whichever server thread carries it.
        """
        with self.write_lock:
            if self._writer is None:
                self._writer = self._connect(WRITER_CACHE_KIB)
            yield self._writer

    @contextmanager
    def transaction(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``) on the writer, all or nothing.

        A full disk or a read-only file becomes a ``SyncError`` naming the
        cause (507 ``insufficient_storage``, 503 ``service_unavailable``);
        the transaction is rolled back, so nothing is half written.

        ``durable=False``: commit without waiting for the disk (WAL with
        ``synchronous=NORMAL`` for this one transaction, when the store is
        FULL or EXTRA), for writes whose loss in a power cut costs nothing
        but a retry (replication checkpoints, docs/store.md).  Such a commit
        is still atomic, and the WAL is written in order, so the next durable
        commit makes it durable too; it can never be lost while a later
        document write survives.
        """
        relaxed = not durable and self._synchronous in ("FULL", "EXTRA")
        with self.writing() as conn:
            try:
                if relaxed:
                    conn.execute("PRAGMA synchronous=NORMAL")
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        yield conn
                        conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            conn.execute("ROLLBACK")
                        raise
                finally:
                    if relaxed:
                        self._restore_synchronous(conn)
            except sqlite3.OperationalError as exc:
                raise _storage_error(exc) from exc

    def _restore_synchronous(self, conn: sqlite3.Connection) -> None:
        """Back to the store's mode after a relaxed commit; failing that, the writer is replaced."""
        try:
            conn.execute(f"PRAGMA synchronous={self._synchronous}")
        except sqlite3.Error:
            # Never leave the writer relaxed: the next write gets a new connection, set up in full.
            self._writer = None
            with self._connections_lock:
                if conn in self._connections:
                    self._connections.remove(conn)
            conn.close()
            raise

    def _connect(self, cache_kib: int) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={self._synchronous}")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def create_db(self, name: str) -> "SQLiteStore":
        update.check_db_name(name)
        try:
            with self.transaction() as conn:
                conn.execute("INSERT INTO dbs (name) VALUES (?)", (name,))
        except sqlite3.IntegrityError:
            raise PreconditionFailed("The database could not be created, the file already exists.") from None
        return self.open_db(name)

    def open_db(self, name: str) -> "SQLiteStore":
        # Databases are never dropped, so a name's id, once found, stays right.
        db_id = self._db_ids.get(name)
        if db_id is None:
            row = self.connection().execute("SELECT id FROM dbs WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise NotFound("Database does not exist.")
            db_id = self._db_ids[name] = row[0]
        return SQLiteStore(self, db_id, name)

    def list_dbs(self) -> list[str]:
        return [r[0] for r in self.connection().execute("SELECT name FROM dbs WHERE name NOT LIKE '\\_%' ESCAPE '\\' ORDER BY name")]

    def system_db(self, name: str) -> "SQLiteStore":
        internal = update.system_db_name(name)
        if self.connection().execute("SELECT 1 FROM dbs WHERE name = ?", (internal,)).fetchone() is None:
            with self.transaction() as conn:  # written once: a read-only disk still serves the rest
                conn.execute("INSERT OR IGNORE INTO dbs (name) VALUES (?)", (internal,))
        return self.open_db(internal)

    def integrity_check(self) -> str:
        return self.connection().execute("PRAGMA integrity_check").fetchone()[0]

    def backup(self, dest: str | os.PathLike) -> None:
        """An online, consistent copy of every database of the store into ``dest`` (a new file).

        SQLite's backup API copies the file in one step inside one read
        transaction: a snapshot as of one commit, while writers go on (WAL).
        The copy is checked and only then moved to ``dest``.
        """
        dest = Path(dest)
        if dest.exists():
            raise PreconditionFailed(f"{dest} exists; a backup never overwrites a file")
        partial = dest.with_name(dest.name + ".partial")
        partial.unlink(missing_ok=True)
        copy = sqlite3.connect(partial)
        try:
            self.connection().backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            _check_copy(copy, str(dest))
        finally:
            copy.close()
        os.replace(partial, dest)

    @staticmethod
    def restore(backup: str | os.PathLike, path: str | os.PathLike) -> None:
        """Replace the store at ``path`` by ``backup`` (with the server stopped).

        The restored store gets a new uuid: the uuid is part of every device's
        replication id, so each device starts its next sync from nothing and
        compares every revision (``_revs_diff``) instead of trusting
        checkpoints that are ahead of the restored store; what a device has
        and the backup lacks is pushed again.
        """
        source = sqlite3.connect(f"file:{Path(backup).resolve()}?mode=ro", uri=True)
        try:
            _check_copy(source, str(backup))
            target = sqlite3.connect(path, isolation_level=None)
            try:
                source.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
                target.execute("UPDATE meta SET value = ? WHERE key = 'uuid'", (uuid.uuid4().hex,))
            finally:
                target.close()
        finally:
            source.close()

    # -- change notifications (live feeds) -------------------------------------------------

    def add_listener(self, listener: Callable[[str, set[str] | None], None]) -> None:
        """Call ``listener(db name, channels)`` after every commit that adds changes, from any thread.

        Commits of this process name the channels of the documents they
        changed; another process's writes on the same file are noticed by one
        watcher thread, which reads the databases' sequences twice a second
        and names no channels (every waiter of that database reads again).
        """
        self._listeners.append(listener)
        if self._watcher is None:
            with self.write_lock:
                self._seen_seqs = self._db_seqs()
            self._watcher = threading.Thread(target=self._watch_other_processes, name="sqlite change watcher",
                                             daemon=True)
            self._watcher.start()

    def watch(self, name: str) -> None:
        """Nothing to start: every commit notifies (``add_listener``)."""

    def _notify(self, name: str, channels: set[str] | None) -> None:
        for listener in self._listeners:
            try:
                listener(name, channels)
            except Exception:  # a listener must never fail a write
                log.exception("a change listener failed")

    def _db_seqs(self) -> dict[int, int]:
        return dict(self._watch_conn().execute("SELECT id, update_seq FROM dbs").fetchall())

    def _watch_conn(self) -> sqlite3.Connection:
        conn = getattr(self, "_watch_connection", None)
        if conn is None:
            conn = self._watch_connection = self._connect(64)
        return conn

    def _watch_other_processes(self) -> None:
        names: dict[int, str] = {}
        while not self._closed.wait(0.5):
            try:
                # Under the write lock no commit of this process is half recorded in _seen_seqs.
                with self.write_lock:
                    seqs = self._db_seqs()
                    moved = [db for db, seq in seqs.items() if seq > self._seen_seqs.get(db, 0)]
                    self._seen_seqs = seqs
                if not moved:
                    continue
                missing = [db for db in moved if db not in names]
                if missing:
                    names.update(self._watch_conn().execute("SELECT id, name FROM dbs").fetchall())
                for db in moved:
                    self._notify(names[db], None)
            except sqlite3.Error:
                if self._closed.is_set():
                    return
                log.warning("the change watcher could not read the store", exc_info=True)

    def close(self) -> None:
        self._closed.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(timeout=5)  # never close a connection under a thread still using it
        # Closing a connection while another thread runs a statement on it makes
        # sqlite3 use a freed handle: the process dies with a segmentation fault
        # (it did when waitress stopped under 1,000 waiting longpolls and the
        # store closed under their threads).  So a reader connection of another
        # thread still alive is left open (it goes with the process), and the
        # writer is closed only once no write holds it.
        writer_free = self.write_lock.acquire(timeout=5)
        try:
            me = threading.current_thread()
            with self._connections_lock:
                kept = []
                for conn in self._connections:
                    owner = self._owners.get(conn)
                    if (owner is not None and owner is not me and owner.is_alive()) or (conn is self._writer and not writer_free):
                        kept.append(conn)
                    else:
                        conn.close()
                        self._owners.pop(conn, None)
                self._connections = kept
            self._local = threading.local()
            self._writer = None
            self._watch_connection = None
        finally:
            if writer_free:
                self.write_lock.release()


# Stored bodies (JSON bytes) by (doc id, rev), read in one query with the trees they belong to.
_Bodies = dict[tuple[str, str], bytes]


class _Before(NamedTuple):
    """A document's row as a batch found it."""

    seq: int
    channels: list[str]
    deleted: bool


class _Batch:
    """The state of one write transaction: trees read once, rows written at the end."""

    def __init__(self, trees: dict[str, revtree.Tree], seq: int, before: dict[str, _Before]):
        self.trees = trees
        self.before = before  # the stored state of each document this batch found
        self.channels: dict[str, list[str]] = {}  # doc id -> channels after this batch
        self.written: dict[tuple[str, str], dict] = {}  # (doc id, rev) -> body, every one this batch wrote
        self.seq = seq
        self.changed: dict[str, int] = {}  # doc id -> its new seq
        self.bodies: list[tuple] = []
        self.blobs: dict[str, bytes] = {}
        self.stemmed: list[tuple[str, str]] = []


class SQLiteStore(PutFromBulkDocs, ReadsByGrants):
    """One database (implements ``sync.store.DocumentStore``)."""

    def __init__(self, server: SQLiteServer, db_id: int, name: str):
        self.server = server
        self.db = db_id
        self.name = name

    @property
    def limits(self) -> StoreLimits:
        return self.server.limits

    def _conn(self) -> sqlite3.Connection:
        return self.server.connection()

    # -- info ------------------------------------------------------------------

    def info(self, max_age: float = 0.0) -> DbInfo:  # a local read: always now
        row = self._conn().execute(
            "SELECT update_seq, doc_count, doc_del_count FROM dbs WHERE id = ?", (self.db,)
        ).fetchone()
        if row is None:
            raise NotFound("Database does not exist.")
        return DbInfo(update_seq=row[0], doc_count=row[1], doc_del_count=row[2])

    # -- writes ----------------------------------------------------------------

    def bulk_docs(self, docs: list, new_edits: bool = True, resolve: Resolver | None = None) -> list[dict]:
        if not isinstance(docs, list):
            raise BadRequest("docs must be an array")
        results: list[dict | None] = [None] * len(docs)
        regular: list[tuple[int, dict]] = []
        for i, doc in enumerate(docs):
            if isinstance(doc, dict) and isinstance(doc.get("_id"), str) and doc["_id"].startswith(update.LOCAL_PREFIX):
                results[i] = self._put_local_result(doc)
            elif isinstance(doc, dict) and new_edits and "_id" not in doc:
                regular.append((i, {**doc, "_id": uuid.uuid4().hex}))
            else:
                regular.append((i, doc))
        if regular:
            written = self._write([d for _, d in regular], new_edits, None if new_edits else resolve)
            for i, result in zip((i for i, _ in regular), written, strict=True):
                results[i] = result
        return results  # type: ignore[return-value]

    def _put_local_result(self, doc: dict) -> dict:
        try:
            return self.put_local(doc)
        except SyncError as exc:
            exc.doc_id = exc.doc_id or doc.get("_id")
            return exc.as_result()

    def _write(self, docs: list, new_edits: bool, resolve: Resolver | None = None) -> list[dict]:
        ids = {d["_id"] for d in docs if isinstance(d, dict) and isinstance(d.get("_id"), str)}
        results: list[dict] = []
        with self.server.transaction() as conn:
            before: dict[str, _Before] = {}
            batch = _Batch(self._load_trees(conn, ids, before), self._update_seq(conn), before)
            for doc in docs:
                try:
                    results.append(self._write_one(conn, batch, doc, new_edits))
                except SyncError as exc:
                    if exc.doc_id is None and isinstance(doc, dict) and isinstance(doc.get("_id"), str):
                        exc.doc_id = doc["_id"]
                    results.append(exc.as_result())
            if resolve is not None:
                self._resolve_in_batch(conn, batch, ids, resolve)
            self._flush(conn, batch)
            if batch.changed:  # still under the write lock: the change watcher takes this commit for ours
                self.server._seen_seqs[self.db] = batch.seq
        if batch.changed:
            with self.server.changed:
                self.server.changed.notify_all()
            if self.server._listeners:
                touched = set()
                for doc_id in batch.changed:
                    touched.update(batch.channels.get(doc_id, ()))
                self.server._notify(self.name, touched if self.server.router is not None else None)
        return results

    def _load_trees(self, conn: sqlite3.Connection, ids: set[str],
                     before: dict[str, _Before] | None = None) -> dict[str, revtree.Tree]:
        """The trees of ``ids``; with ``before``, also each document's seq, channels and deleted flag now."""
        trees: dict[str, revtree.Tree] = {}
        id_list = list(ids)
        for marks, chunk in _in_chunks(id_list):
            for doc_id, tree, seq, channels_json, deleted in conn.execute(
                f"SELECT id, tree, seq, channels, deleted FROM docs WHERE db = ? AND id IN ({marks})", (self.db, *chunk)
            ):
                trees[doc_id] = revtree.from_json(jsonutil.loads(tree))
                if before is not None:
                    before[doc_id] = _Before(seq, jsonutil.loads(channels_json) if channels_json else [], bool(deleted))
        return trees

    def _update_seq(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT update_seq FROM dbs WHERE id = ?", (self.db,)).fetchone()
        if row is None:
            raise NotFound("Database does not exist.")
        return row[0]

    def _write_one(self, conn: sqlite3.Connection, batch: _Batch, doc: object, new_edits: bool) -> dict:
        update.check_body(doc)
        assert isinstance(doc, dict)
        doc, blobs = atts.prepare(doc)
        if new_edits:
            doc_id = update.check_doc_id(doc.get("_id"))
            write = update.plan_edit(doc, doc_id, batch.trees.get(doc_id, revtree.EMPTY))
        else:
            write = update.plan_replicated(doc)
        return self._add(conn, batch, write, blobs)

    def _add(self, conn: sqlite3.Connection, batch: _Batch, write: update.Write, blobs: dict[str, bytes]) -> dict:
        """Merge a planned write into the batch's tree of its document; its body is stored at the flush."""
        tree = batch.trees.get(write.doc_id, revtree.EMPTY)
        merged, result = revtree.merge(tree, write.path)
        if result is revtree.MergeResult.INTERNAL_NODE:
            # Case: every revision is known already (a resent batch): nothing to do.
            return {"ok": True, "id": write.doc_id, "rev": write.rev}
        body = write.body
        if body.get("_attachments"):  # a stub may name an attachment stored earlier in this batch
            self._resolve_stubs(conn, write, {**batch.blobs, **blobs} if batch.blobs else blobs)
        data = jsonutil.dumps(body)
        update.check_size(write.doc_id, len(data), self.limits.max_document_bytes)
        merged, cut = revtree.stem(merged, self.limits.revs_limit)
        batch.trees[write.doc_id] = merged
        batch.seq += 1
        batch.changed[write.doc_id] = batch.seq
        batch.bodies.append((self.db, write.doc_id, write.rev, data))
        batch.written[(write.doc_id, write.rev)] = body
        batch.blobs.update(blobs)
        batch.stemmed.extend((write.doc_id, rev) for rev in cut)
        return {"ok": True, "id": write.doc_id, "rev": write.rev}

    def _resolve_in_batch(self, conn: sqlite3.Connection, batch: _Batch, ids: set[str], resolve: Resolver) -> None:
        """Resolve every document of ``ids`` with several live leaves, in this batch (``sync.store.Resolver``).

        The leaves come from the trees and bodies the batch holds (the ones
        stored before are read in one query), and the writes join the batch:
        one transaction, and a second writer finds the conflict already
        resolved.  The writes are the server's own revisions: planned from
        their ``_revisions`` without a client's write checks
        (``update.plan_built``); one with attachments (or no ``_revisions``)
        takes the full path, which resolves its stubs.
        """
        for doc_id, leaves in self._live_leaves(conn, batch, ids).items():
            try:
                writes = resolve(doc_id, leaves)
            except Exception:  # a failing resolver must not cost the batch its leaves
                log.exception("could not resolve %s", doc_id)
                continue
            for n, write in enumerate(writes):
                try:
                    if write.get("_attachments") or "_revisions" not in write:
                        self._write_one(conn, batch, write, new_edits=False)
                    else:
                        self._add(conn, batch, update.plan_built(write), {})
                except SyncError as exc:  # the leaves stay; the next push of the document tries again
                    log.error("could not write the resolution of %s: %s", doc_id, exc.reason)
                    if n == 0:
                        break  # no merge: delete none of the leaves

    def _live_leaves(self, conn: sqlite3.Connection, batch: _Batch, ids: set[str]) -> dict[str, list[dict]]:
        """Doc id -> the bodies of its leaves that are not deleted, as the batch left them, for
        each document of ``ids`` with more than one (in id order)."""
        live: dict[str, list[str]] = {}
        for doc_id in sorted(ids):
            tree = batch.trees.get(doc_id)
            revs = [leaf.rev_id for leaf in revtree.leaves(tree) if not leaf.deleted] if tree is not None else []
            if len(revs) > 1:
                live[doc_id] = revs
        stored = self._bodies(conn, [(doc_id, rev) for doc_id, revs in live.items() for rev in revs
                                     if (doc_id, rev) not in batch.written])
        out = {}
        for doc_id, revs in live.items():
            bodies = [batch.written.get((doc_id, rev)) or stored.get((doc_id, rev)) for rev in revs]
            if None not in bodies:  # (a body stemmed away: nothing to merge from)
                out[doc_id] = bodies
        return out

    def _bodies(self, conn: sqlite3.Connection, wanted: list[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """The stored bodies of these (doc id, rev) pairs, in one query per ``ID_CHUNK``.

        The list of pairs is padded to the lengths ``_in_list`` gives id
        lists, so the query has at most six forms, with a pair no document
        has (an empty id), so the padding reads nothing.
        """
        found = {}
        for start in range(0, len(wanted), ID_CHUNK):
            chunk = wanted[start:start + ID_CHUNK]
            chunk += [("", "")] * (_padded_length(len(chunk)) - len(chunk))
            pairs = ",".join(["(?, ?)"] * len(chunk))
            for doc_id, rev, body in conn.execute(  # (CROSS JOIN: the pairs drive, one index search each)
                f"WITH wanted (doc_id, rev) AS (VALUES {pairs}) SELECT r.doc_id, r.rev, r.body FROM wanted "
                "CROSS JOIN revs r ON r.db = ? AND r.doc_id = wanted.doc_id AND r.rev = wanted.rev",
                (*(x for pair in chunk for x in pair), self.db),
            ):
                found[(doc_id, rev)] = jsonutil.loads(body)
        return found

    def _resolve_stubs(self, conn: sqlite3.Connection, write: update.Write, new_blobs: dict[str, bytes]) -> None:
        """Give every attachment stub its digest, length and revpos, or refuse it."""
        pos = parse_rev(write.rev)[0]
        parent_atts: dict | None = None
        resolved = {}
        for name, stub in write.body["_attachments"].items():
            stub = dict(stub)
            if "digest" not in stub:
                if parent_atts is None:
                    parent_atts = self._parent_attachments(conn, write)
                known = parent_atts.get(name)
                if known is None:
                    raise MissingStub(f"Invalid attachment stub in {write.doc_id} for {name}", write.doc_id)
                stub = dict(known)
            elif stub["digest"] not in new_blobs:
                row = conn.execute("SELECT length FROM blobs WHERE digest = ?", (stub["digest"],)).fetchone()
                if row is None:
                    raise MissingStub(f"Invalid attachment stub in {write.doc_id} for {name}", write.doc_id)
                stub.setdefault("length", row[0])
            stub.setdefault("revpos", pos)
            stub.setdefault("content_type", "application/octet-stream")
            stub["stub"] = True
            resolved[name] = stub
        write.body["_attachments"] = resolved

    def _parent_attachments(self, conn: sqlite3.Connection, write: update.Write) -> dict:
        if write.parent is None:
            return {}
        row = conn.execute(
            "SELECT body FROM revs WHERE db = ? AND doc_id = ? AND rev = ?", (self.db, write.doc_id, write.parent)
        ).fetchone()
        return {} if row is None else jsonutil.loads(row[0]).get("_attachments", {})

    def _flush(self, conn: sqlite3.Connection, batch: _Batch) -> None:
        if not batch.changed:
            return
        if batch.blobs:
            conn.executemany(
                "INSERT OR IGNORE INTO blobs (digest, length, data) VALUES (?, ?, ?)",
                [(d, len(b), b) for d, b in batch.blobs.items()],
            )
        conn.executemany("INSERT OR IGNORE INTO revs (db, doc_id, rev, body) VALUES (?, ?, ?, ?)", batch.bodies)
        if batch.stemmed:
            conn.executemany(
                "DELETE FROM revs WHERE db = ? AND doc_id = ? AND rev = ?",
                [(self.db, doc_id, rev) for doc_id, rev in batch.stemmed],
            )
        winners = {doc_id: revtree.winner(batch.trees[doc_id]) for doc_id in batch.changed}
        if self.server.router is not None:
            self._route(conn, batch, winners)
        rows = []
        added = deleted_delta = 0
        for doc_id, seq in batch.changed.items():
            tree = batch.trees[doc_id]
            win = winners[doc_id]
            channels_json = jsonutil.dumps(batch.channels[doc_id]) if doc_id in batch.channels else None
            rows.append((self.db, doc_id, seq, win.rev_id, int(win.deleted), jsonutil.dumps(revtree.to_json(tree)),
                         channels_json))
            found = batch.before.get(doc_id)
            was = None if found is None else found.deleted
            if was is None:
                added += 0 if win.deleted else 1
                deleted_delta += 1 if win.deleted else 0
            elif was != win.deleted:
                added += -1 if win.deleted else 1
                deleted_delta += 1 if win.deleted else -1
        conn.executemany(
            "INSERT INTO docs (db, id, seq, winner, deleted, tree, channels) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (db, id) DO UPDATE SET seq = excluded.seq, winner = excluded.winner, "
            "deleted = excluded.deleted, tree = excluded.tree, channels = excluded.channels",
            rows,
        )
        conn.execute(
            "UPDATE dbs SET update_seq = ?, doc_count = doc_count + ?, doc_del_count = doc_del_count + ? WHERE id = ?",
            (batch.seq, added, deleted_delta, self.db),
        )

    def _route(self, conn: sqlite3.Connection, batch: _Batch, winners: dict[str, revtree.Leaf]) -> None:
        """Index each changed document under the channels of its winning revision, at its new seq.

        A deleted winner keeps the channels the document had, so every device
        that received it also receives its deletion.
        """
        router = self.server.router
        assert router is not None
        rows = []
        stale = []
        for doc_id, seq in batch.changed.items():
            win = winners[doc_id]
            found = batch.before.get(doc_id)
            old_seq, previous = (found.seq, found.channels) if found else (None, [])
            if win.deleted:
                channels = previous
            else:
                body = batch.written.get((doc_id, win.rev_id)) or self._body(conn, doc_id, win.rev_id)
                channels = sorted(set(router(body or {})))
            for channel in previous:
                stale.append((self.db, channel, old_seq))
            for channel in channels:
                rows.append((self.db, channel, seq, doc_id))
            batch.channels[doc_id] = channels
        if stale:
            conn.executemany("DELETE FROM doc_channels WHERE db = ? AND channel = ? AND seq = ?", stale)
        conn.executemany("INSERT INTO doc_channels (db, channel, seq, doc_id) VALUES (?, ?, ?, ?)", rows)

    # -- reads -----------------------------------------------------------------

    def _tree(self, conn: sqlite3.Connection, doc_id: str) -> revtree.Tree:
        row = conn.execute("SELECT tree FROM docs WHERE db = ? AND id = ?", (self.db, doc_id)).fetchone()
        if row is None:
            raise NotFound("missing", doc_id)
        return revtree.from_json(jsonutil.loads(row[0]))

    def _body(self, conn: sqlite3.Connection, doc_id: str, rev: str) -> dict | None:
        row = conn.execute(
            "SELECT body FROM revs WHERE db = ? AND doc_id = ? AND rev = ?", (self.db, doc_id, rev)
        ).fetchone()
        return None if row is None else jsonutil.loads(row[0])

    def _stored_body(self, conn: sqlite3.Connection, doc_id: str, rev: str, bodies: _Bodies | None) -> dict | None:
        """A revision's body, from ``bodies`` (read earlier in the same transaction) or the table."""
        data = bodies.get((doc_id, rev)) if bodies else None
        return self._body(conn, doc_id, rev) if data is None else jsonutil.loads(data)

    def _with_attachments(self, conn: sqlite3.Connection, doc: dict) -> dict:
        stubs = doc.get("_attachments")
        if not stubs:
            return doc
        inlined = {}
        for name, stub in stubs.items():
            row = conn.execute("SELECT data FROM blobs WHERE digest = ?", (stub["digest"],)).fetchone()
            inlined[name] = atts.inline(stub, row[0]) if row is not None else stub
        return {**doc, "_attachments": inlined}

    def get(
        self,
        doc_id: str,
        rev: str | None = None,
        *,
        revs: bool = False,
        conflicts: bool = False,
        deleted_conflicts: bool = False,
        attachments: bool = False,
    ) -> dict:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            return self._get(conn, doc_id, self._tree(conn, doc_id), rev, revs=revs, conflicts=conflicts,
                             deleted_conflicts=deleted_conflicts, attachments=attachments)
        finally:
            conn.execute("COMMIT")

    def _get(self, conn: sqlite3.Connection, doc_id: str, tree: revtree.Tree, rev: str | None, *, revs: bool,
             conflicts: bool = False, deleted_conflicts: bool = False, attachments: bool = False,
             bodies: _Bodies | None = None) -> dict:
        """``get`` on a tree already read; ``bodies``: stored bodies read with it."""
        if rev is None:
            leaf = revtree.winner(tree)
            if leaf.deleted:
                raise NotFound("deleted", doc_id)
            path = leaf.path
            rev = leaf.rev_id
        else:
            pos, rev_hash = update.parse_rev_or_400(rev, doc_id)
            found = revtree.find(tree, pos, rev_hash)
            if found is None:
                raise NotFound("missing", doc_id)
            path = found[1]
        doc = self._stored_body(conn, doc_id, rev, bodies)
        if doc is None:
            raise NotFound("missing", doc_id)
        if revs:
            doc["_revisions"] = {"start": int(rev.split("-", 1)[0]), "ids": list(path)}
        if conflicts:
            found_conflicts = [leaf.rev_id for leaf in revtree.conflicts(tree)]
            if found_conflicts:
                doc["_conflicts"] = found_conflicts
        if deleted_conflicts:
            found_deleted = [leaf.rev_id for leaf in revtree.deleted_conflicts(tree)]
            if found_deleted:
                doc["_deleted_conflicts"] = found_deleted
        if attachments:
            doc = self._with_attachments(conn, doc)
        return doc

    def open_revs(
        self,
        doc_id: str,
        revs: list[str] | Literal["all"],
        *,
        latest: bool = False,
        attachments: bool = False,
    ) -> list[dict]:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            try:
                tree = self._tree(conn, doc_id)
            except NotFound:
                tree = None
            return self._open_revs(conn, doc_id, tree, revs, latest=latest, attachments=attachments)
        finally:
            conn.execute("COMMIT")

    def _open_revs(self, conn: sqlite3.Connection, doc_id: str, tree: revtree.Tree | None,
                   revs: list[str] | Literal["all"], *, latest: bool, attachments: bool,
                   bodies: _Bodies | None = None) -> list[dict]:
        """``open_revs`` on a tree already read (None: no such document)."""
        if tree is None:
            return [] if revs == "all" else [{"missing": rev} for rev in revs]
        if revs == "all":
            wanted: list[tuple[str, list[revtree.Leaf] | None]] = [
                (leaf.rev_id, [leaf]) for leaf in revtree.leaves(tree)
            ]
        else:
            wanted = [(rev, self._resolve(tree, rev, latest)) for rev in revs]
        out: list[dict] = []
        seen: set[str] = set()
        for asked, found in wanted:
            if not found:
                out.append({"missing": asked})
                continue
            for leaf in found:
                if leaf.rev_id in seen:
                    continue
                seen.add(leaf.rev_id)
                doc = self._stored_body(conn, doc_id, leaf.rev_id, bodies)
                if doc is None:
                    out.append({"missing": leaf.rev_id})
                    continue
                doc["_revisions"] = {"start": leaf.pos, "ids": list(leaf.path)}
                if attachments:
                    doc = self._with_attachments(conn, doc)
                out.append({"ok": doc})
        return out

    def bulk_get(self, wanted: list[dict], *, revs: bool = True, latest: bool = False, attachments: bool = False,
                 grants: Iterable[str] | Grants | None = None) -> list[dict]:
        """``_bulk_get`` in one read transaction, every document's tree and winning body read in one query.

        A pull asks for the winners it was just told about, so the bodies
        read with the trees are nearly always the ones served; any other
        revision is read on its own.
        """
        if grants is not None:
            visible = self.visible([item["id"] for item in wanted], grants)
            answers = iter(self.bulk_get([item for item in wanted if item["id"] in visible], revs=revs, latest=latest,
                                         attachments=attachments))
            return [next(answers) if item["id"] in visible else hidden_result(item) for item in wanted]
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            trees, bodies = self._trees_and_winners(conn, {item["id"] for item in wanted})
            results = []
            for item in wanted:
                doc_id, rev = item["id"], item.get("rev")
                tree = trees.get(doc_id)
                try:
                    if rev is None:
                        if tree is None:
                            raise NotFound("missing", doc_id)
                        found = [{"ok": self._get(conn, doc_id, tree, None, revs=True, attachments=attachments,
                                                  bodies=bodies)}]
                    else:
                        found = self._open_revs(conn, doc_id, tree, [rev], latest=latest, attachments=attachments,
                                                bodies=bodies)
                except SyncError as exc:
                    found = [bulk_get_error(doc_id, rev, exc)]
                results.append(bulk_get_result(doc_id, found, revs))
            return results
        finally:
            conn.execute("COMMIT")

    def _trees_and_winners(self, conn: sqlite3.Connection, ids: set[str]) -> tuple[dict[str, revtree.Tree], _Bodies]:
        """The trees of ``ids`` (those that exist) and their winners' stored bodies, in one query per chunk."""
        trees: dict[str, revtree.Tree] = {}
        bodies: _Bodies = {}
        for marks, chunk in _in_chunks(list(ids)):
            for doc_id, tree, win, body in conn.execute(
                "SELECT d.id, d.tree, d.winner, r.body FROM docs d "
                "LEFT JOIN revs r ON r.db = d.db AND r.doc_id = d.id AND r.rev = d.winner "
                f"WHERE d.db = ? AND d.id IN ({marks})", (self.db, *chunk)
            ):
                trees[doc_id] = revtree.from_json(jsonutil.loads(tree))
                if body is not None:
                    bodies[(doc_id, win)] = body
        return trees, bodies

    @staticmethod
    def _resolve(tree: revtree.Tree, rev: str, latest: bool) -> list[revtree.Leaf] | None:
        # Only a revision of the tree is found, so nothing else needs parsing (a
        # malformed one is as missing as an unknown one); "01-x" is not "1-x".
        pos_text, _, rev_hash = rev.partition("-")
        if not (pos_text.isascii() and pos_text.isdigit() and pos_text[0] != "0"):
            return None
        pos = int(pos_text)
        if (pos, rev_hash) not in tree.nodes:
            return None
        if latest:
            return revtree.leaves_under(tree, pos, rev_hash) or None
        found = revtree.find(tree, pos, rev_hash)
        if found is None:
            return None
        return [revtree.Leaf(pos, rev_hash, found[0].deleted, found[1])]

    def revs_diff(self, revs: dict[str, list[str]]) -> dict[str, dict]:
        if not isinstance(revs, dict):
            raise BadRequest("Request body must be a JSON object of {id: [revs]}")
        conn = self._conn()
        out: dict[str, dict] = {}
        conn.execute("BEGIN")
        try:
            trees = self._load_trees(conn, set(revs))
        finally:
            conn.execute("COMMIT")
        for doc_id, asked in revs.items():
            if not isinstance(asked, list) or not all(isinstance(r, str) for r in asked):
                raise BadRequest(f"revs_diff: the revisions of {doc_id!r} must be a list of strings")
            tree = trees.get(doc_id, revtree.EMPTY)
            missing = revtree.find_missing(tree, asked)
            if not missing:
                continue
            entry: dict = {"missing": missing}
            positions = [parse_rev(r)[0] for r in missing if _is_rev(r)] if tree else []
            if positions:
                ancestors = [leaf.rev_id for leaf in revtree.leaves(tree) if leaf.pos < max(positions)]
                if ancestors:
                    entry["possible_ancestors"] = ancestors
            out[doc_id] = entry
        return out

    def changes(
        self,
        since: object = 0,
        *,
        limit: int | None = None,
        style: Literal["main_only", "all_docs"] = "main_only",
        include_docs: bool = False,
        doc_ids: Iterable[str] | None = None,
        channels: Iterable[str] | Grants | None = None,
    ) -> ChangesPage:
        if channels is not None:
            return self._channel_changes(since, self.granted(channels), limit, style, include_docs, doc_ids)
        conn = self._conn()
        since_seq = self._parse_since(conn, since)
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise BadRequest("limit must be a non-negative integer")
        if style not in ("main_only", "all_docs"):
            raise BadRequest("style must be main_only or all_docs")
        columns = "d.seq, d.id, d.winner, d.deleted, d.tree"
        if include_docs:
            sql = (
                f"SELECT {columns}, r.body FROM docs d LEFT JOIN revs r "
                "ON r.db = d.db AND r.doc_id = d.id AND r.rev = d.winner WHERE d.db = ? AND d.seq > ?"
            )
        else:
            sql = f"SELECT {columns}, NULL FROM docs d WHERE d.db = ? AND d.seq > ?"
        params: list = [self.db, since_seq]
        if doc_ids is not None:
            ids = list(doc_ids)
            if not ids:
                return ChangesPage([], since_seq)
            marks, padded = _in_list(ids)
            sql += f" AND d.id IN ({marks})"
            params.extend(padded)
        sql += " ORDER BY d.seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        conn.execute("BEGIN")
        try:
            rows = conn.execute(sql, params).fetchall()
            last = rows[-1][0] if rows else (since_seq if limit == 0 or doc_ids is not None else self._update_seq(conn))
        finally:
            conn.execute("COMMIT")
        results = [self._change_row(row, style, include_docs) for row in rows]
        return ChangesPage(results, last)

    def _channel_changes(self, since: object, wanted: set[str], limit: int | None, style: str,
                         include_docs: bool, doc_ids: Iterable[str] | None) -> ChangesPage:
        """The changes of some channels only: the cost follows what they hold, not the database."""
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise BadRequest("limit must be a non-negative integer")
        conn = self._conn()
        vector = channels.decode(since, lambda plain: self._parse_since(conn, plain))
        ids = None if doc_ids is None else set(doc_ids)
        conn.execute("BEGIN")
        try:
            upto = self._update_seq(conn)
            found: set[tuple[int, str]] = set()
            boundary = None
            for channel in sorted(wanted):
                sql = "SELECT seq, doc_id FROM doc_channels WHERE db = ? AND channel = ? AND seq > ? ORDER BY seq"
                params: list = [self.db, channel, channels.position(vector, channel)]
                if limit is not None:
                    sql += " LIMIT ?"
                    params.append(limit)
                rows = conn.execute(sql, params).fetchall()
                if limit is not None and len(rows) == limit and rows:
                    # This channel may hold more: nothing past its last row is complete.
                    boundary = rows[-1][0] if boundary is None else min(boundary, rows[-1][0])
                found.update((seq, doc_id) for seq, doc_id in rows)
            picked = sorted(pair for pair in found if boundary is None or pair[0] <= boundary)
            if ids is not None:
                picked = [pair for pair in picked if pair[1] in ids]
            if limit is not None:
                picked = picked[:limit]
            results = self._rows_for(conn, [doc_id for _, doc_id in picked], style, include_docs)
        finally:
            conn.execute("COMMIT")
        for row in results:
            row["seq"] = channels.encode(channels.advance(vector, wanted, row["seq"]))
        if results:
            last = results[-1]["seq"]
        else:
            last = channels.encode(channels.advance(vector, wanted, upto if boundary is None else boundary))
        return ChangesPage(results, last)

    def _rows_for(self, conn: sqlite3.Connection, ids: list[str], style: str, include_docs: bool) -> list[dict]:
        """Changes rows for these documents, in seq order."""
        if not ids:
            return []
        out = []
        for marks, chunk in _in_chunks(ids):
            body = "r.body" if include_docs else "NULL"
            join = "LEFT JOIN revs r ON r.db = d.db AND r.doc_id = d.id AND r.rev = d.winner" if include_docs else ""
            out.extend(conn.execute(
                f"SELECT d.seq, d.id, d.winner, d.deleted, d.tree, {body} FROM docs d {join} "
                f"WHERE d.db = ? AND d.id IN ({marks})", (self.db, *chunk)).fetchall())
        out.sort()
        return [self._change_row(row, style, include_docs) for row in out]

    def _change_row(self, row: tuple, style: str, include_docs: bool) -> dict:
        seq, doc_id, win, deleted, tree, body = row
        if style == "all_docs":
            changes = [{"rev": leaf.rev_id} for leaf in revtree.leaves(revtree.from_json(jsonutil.loads(tree)))]
        else:
            changes = [{"rev": win}]
        out: dict = {"seq": seq, "id": doc_id, "changes": changes}
        if deleted:
            out["deleted"] = True
        if include_docs:
            out["doc"] = jsonutil.loads(body) if body is not None else None
        return out

    def channels_of(self, doc_ids: Iterable[str]) -> dict[str, set[str]]:
        """The channels each document is in now (a missing document: none)."""
        ids = list(doc_ids)
        found: dict[str, set[str]] = {doc_id: set() for doc_id in ids}
        conn = self._conn()
        for marks, chunk in _in_chunks(ids):
            for doc_id, channels_json in conn.execute(
                f"SELECT id, channels FROM docs WHERE db = ? AND id IN ({marks})", (self.db, *chunk)
            ):
                found[doc_id] = set(jsonutil.loads(channels_json)) if channels_json else set()
        return found

    def wait_for_change(self, since: object, timeout: float) -> bool:
        """Block until the database has changed after ``since``, or ``timeout`` seconds pass.

        Commits in this process wake the waiter at once; a write by another
        process on the same file is seen within half a second.
        """
        conn = self._conn()
        vector = channels.decode(since, lambda plain: self._parse_since(conn, plain))
        since_seq = max(vector.values())
        deadline = time.monotonic() + timeout
        while True:
            # Checked under the condition's lock: a commit that lands between
            # the check and the wait cannot notify before we wait.
            with self.server.changed:
                if self._update_seq(conn) > since_seq:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.server.changed.wait(min(remaining, 0.5))

    def _parse_since(self, conn: sqlite3.Connection, since: object) -> int:
        if since == "now":
            return self._update_seq(conn)
        if isinstance(since, bool):
            raise BadRequest("since must be a sequence this database gave out, 0 or now")
        if isinstance(since, int) and since >= 0:
            return since
        if isinstance(since, str) and since.isascii() and since.isdigit() and len(since) < 19:
            return int(since)
        raise BadRequest(f"since must be a sequence this database gave out, 0 or now (got {since!r})")

    def all_docs(
        self,
        *,
        keys: list[str] | None = None,
        startkey: str | None = None,
        endkey: str | None = None,
        limit: int | None = None,
        skip: int = 0,
        descending: bool = False,
        include_docs: bool = False,
    ) -> dict:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            total = self.info().doc_count
            if keys is not None:
                rows = [self._all_docs_key_row(conn, key, include_docs) for key in keys]
                return {"total_rows": total, "offset": None, "rows": rows}
            sql = "SELECT id, winner FROM docs WHERE db = ? AND deleted = 0"
            params: list = [self.db]
            lo, hi = (endkey, startkey) if descending else (startkey, endkey)
            if lo is not None:
                sql += " AND id >= ?"
                params.append(lo)
            if hi is not None:
                sql += " AND id <= ?"
                params.append(hi)
            sql += " ORDER BY id DESC" if descending else " ORDER BY id"
            sql += " LIMIT ? OFFSET ?"
            params.extend([-1 if limit is None else limit, skip])
            rows = []
            for doc_id, win in conn.execute(sql, params).fetchall():
                row: dict = {"id": doc_id, "key": doc_id, "value": {"rev": win}}
                if include_docs:
                    row["doc"] = self._body(conn, doc_id, win)
                rows.append(row)
            return {"total_rows": total, "offset": skip, "rows": rows}
        finally:
            conn.execute("COMMIT")

    def _all_docs_key_row(self, conn: sqlite3.Connection, key: str, include_docs: bool) -> dict:
        row = conn.execute("SELECT winner, deleted FROM docs WHERE db = ? AND id = ?", (self.db, key)).fetchone()
        if row is None:
            return {"key": key, "error": "not_found"}
        win, deleted = row
        if deleted:
            return {"id": key, "key": key, "value": {"rev": win, "deleted": True}, **({"doc": None} if include_docs else {})}
        out: dict = {"id": key, "key": key, "value": {"rev": win}}
        if include_docs:
            out["doc"] = self._body(conn, key, win)
        return out

    # -- attachments ------------------------------------------------------------

    def get_attachment(self, doc_id: str, name: str, rev: str | None = None) -> Attachment:
        doc = self.get(doc_id, rev)
        stub = (doc.get("_attachments") or {}).get(name)
        if stub is None:
            raise NotFound("Document is missing attachment", doc_id)
        row = self._conn().execute("SELECT data FROM blobs WHERE digest = ?", (stub["digest"],)).fetchone()
        if row is None:
            raise NotFound("Document is missing attachment", doc_id)
        return Attachment(stub.get("content_type", "application/octet-stream"), stub["digest"], bytes(row[0]))

    # -- _local documents -------------------------------------------------------

    def get_local(self, local_id: str) -> dict:
        local_id = update.check_local_id(local_id)
        row = self._conn().execute(
            "SELECT rev, body FROM local_docs WHERE db = ? AND id = ?", (self.db, local_id)
        ).fetchone()
        if row is None:
            raise NotFound("missing", local_id)
        doc = jsonutil.loads(row[1])
        doc.update({"_id": local_id, "_rev": f"0-{row[0]}"})
        return doc

    def put_local(self, doc: dict) -> dict:
        if not isinstance(doc, dict):
            raise BadRequest("Document must be a JSON object")
        local_id = update.check_local_id(doc.get("_id"))
        body = {k: v for k, v in doc.items() if k not in ("_id", "_rev")}
        if body.get("_deleted") is True:
            return self.delete_local(local_id, doc.get("_rev"))
        data = jsonutil.dumps(body)
        update.check_size(local_id, len(data), self.limits.max_document_bytes)
        # A checkpoint lost in a power cut only makes the client compare and
        # send again what it already sent (idempotent): no wait for the disk.
        with self.server.transaction(durable=False) as conn:
            current = self._local_rev(conn, local_id)
            _check_local_rev(local_id, doc.get("_rev"), current)
            new = (current or 0) + 1
            conn.execute(
                "INSERT INTO local_docs (db, id, rev, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (db, id) DO UPDATE SET rev = excluded.rev, body = excluded.body",
                (self.db, local_id, new, data),
            )
        return {"ok": True, "id": local_id, "rev": f"0-{new}"}

    def delete_local(self, local_id: str, rev: str | None) -> dict:
        local_id = update.check_local_id(local_id)
        with self.server.transaction() as conn:
            current = self._local_rev(conn, local_id)
            if current is None:
                raise NotFound("missing", local_id)
            _check_local_rev(local_id, rev, current)
            conn.execute("DELETE FROM local_docs WHERE db = ? AND id = ?", (self.db, local_id))
        return {"ok": True, "id": local_id, "rev": "0-0"}

    def _local_rev(self, conn: sqlite3.Connection, local_id: str) -> int | None:
        row = conn.execute("SELECT rev FROM local_docs WHERE db = ? AND id = ?", (self.db, local_id)).fetchone()
        return None if row is None else row[0]

    def close(self) -> None:
        """Databases share the server's connections; closing one is a no-op."""


def _check_local_rev(local_id: str, given: object, current: int | None) -> None:
    # A _local document follows the same rule as any other: name the revision
    # you saw, or none if it does not exist.
    expected = None if current is None else f"0-{current}"
    if given != expected and not (current is None and given in (None, "0-0")):
        raise Conflict("Document update conflict.", local_id)


def _check_copy(conn: sqlite3.Connection, name: str) -> None:
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        ok = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BadRequest(f"{name} is not a Blockwalk SQLite store: {exc}") from None
    if not {"meta", "dbs", "docs", "revs"} <= tables:
        raise BadRequest(f"{name} is not a Blockwalk SQLite store")
    if ok != "ok":
        raise BadRequest(f"{name} fails SQLite's integrity check: {ok}")


def _storage_error(exc: sqlite3.OperationalError) -> Exception:
    """The error a client should see when SQLite cannot write (others pass through)."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return InsufficientStorage("The disk of the store is full: nothing was stored; try again later")
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN):
        return StoreUnavailable("The store cannot write to its disk now (read-only or failing): nothing was stored")
    return exc


def _is_rev(rev: str) -> bool:
    try:
        parse_rev(rev)
    except InvalidRev:
        return False
    return True
