"""What every part of ``SQLiteStore`` reads through: its database's id, connection, trees, bodies and counts."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, NamedTuple

from sync import jsonutil, revtree
from sync.errors import NotFound
from sync.sqlite.schema import in_chunks
from sync.store import DbInfo, StoreLimits

if TYPE_CHECKING:
    from sync.sqlite.server import SQLiteServer


class Before(NamedTuple):
    """A document's row as a batch found it."""

    seq: int
    channels: list[str]
    deleted: bool


class StoreBase:
    """One database of a ``SQLiteServer``; the parts of ``SQLiteStore`` (writes, reads, changes, ``_local``) extend it."""

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

    def _load_trees(self, conn: sqlite3.Connection, ids: set[str],
                     before: dict[str, Before] | None = None) -> dict[str, revtree.Tree]:
        """The trees of ``ids``; with ``before``, also each document's seq, channels and deleted flag now."""
        trees: dict[str, revtree.Tree] = {}
        id_list = list(ids)
        for marks, chunk in in_chunks(id_list):
            for doc_id, tree, seq, channels_json, deleted in conn.execute(
                f"SELECT id, tree, seq, channels, deleted FROM docs WHERE db = ? AND id IN ({marks})", (self.db, *chunk)
            ):
                trees[doc_id] = revtree.from_json(jsonutil.loads(tree))
                if before is not None:
                    before[doc_id] = Before(seq, jsonutil.loads(channels_json) if channels_json else [], bool(deleted))
        return trees

    def _update_seq(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT update_seq FROM dbs WHERE id = ?", (self.db,)).fetchone()
        if row is None:
            raise NotFound("Database does not exist.")
        return row[0]

    def _body(self, conn: sqlite3.Connection, doc_id: str, rev: str) -> dict | None:
        row = conn.execute(
            "SELECT body FROM revs WHERE db = ? AND doc_id = ? AND rev = ?", (self.db, doc_id, rev)
        ).fetchone()
        return None if row is None else jsonutil.loads(row[0])

    def close(self) -> None:
        """Databases share the server's connections; closing one is a no-op."""
