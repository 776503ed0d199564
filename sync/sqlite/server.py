"""The SQLite store's server: one file, its connections, transactions, backup and change notifications.

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
import uuid
from pathlib import Path
from contextlib import contextmanager
from typing import Callable, Iterator

from sync import names
from sync.errors import InsufficientStorage, NotFound, PreconditionFailed, StoreUnavailable
from sync.sqlite import schema
from sync.sqlite.store import SQLiteStore
from sync.store import Router, StoreLimits

log = logging.getLogger(__name__)

SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

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
        # of the changed documents (None: unknown); the live feeds' wake-ups (server.replication.live).
        self._listeners: list[Callable[[str, set[str] | None], None]] = []
        self._seen_seqs: dict[int, int] = {}  # db id -> update_seq this process committed or noticed last
        self._watcher: threading.Thread | None = None
        self._closed = threading.Event()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.writing() as conn:
            schema.create(conn)
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

    def create_db(self, name: str) -> SQLiteStore:
        names.check_db_name(name)
        try:
            with self.transaction() as conn:
                conn.execute("INSERT INTO dbs (name) VALUES (?)", (name,))
        except sqlite3.IntegrityError:
            raise PreconditionFailed("The database could not be created, the file already exists.") from None
        return self.open_db(name)

    def open_db(self, name: str) -> SQLiteStore:
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

    def system_db(self, name: str) -> SQLiteStore:
        internal = names.system_db_name(name)
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
            schema.check_copy(copy, str(dest))
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
            schema.check_copy(source, str(backup))
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


def _storage_error(exc: sqlite3.OperationalError) -> Exception:
    """The error a client should see when SQLite cannot write (others pass through)."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return InsufficientStorage("The disk of the store is full: nothing was stored; try again later")
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN):
        return StoreUnavailable("The store cannot write to its disk now (read-only or failing): nothing was stored")
    return exc

