"""The embedded store: SQLite in WAL mode (``SQLiteServer``, ``SQLiteStore``); docs/store.md."""

from sync.sqlite.store import SQLiteServer, SQLiteStore

__all__ = ["SQLiteServer", "SQLiteStore"]
