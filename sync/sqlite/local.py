"""``_local`` documents (replication checkpoints) of the SQLite store: never in the changes feed."""

from __future__ import annotations

import sqlite3

from sync import jsonutil, names, update
from sync.errors import BadRequest, Conflict, NotFound
from sync.sqlite.base import StoreBase


class LocalDocs(StoreBase):
    """``get_local``, ``put_local``, ``delete_local``: a counter for a revision, no tree."""

    def get_local(self, local_id: str) -> dict:
        local_id = names.check_local_id(local_id)
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
        local_id = names.check_local_id(doc.get("_id"))
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
        local_id = names.check_local_id(local_id)
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


def _check_local_rev(local_id: str, given: object, current: int | None) -> None:
    # A _local document follows the same rule as any other: name the revision
    # you saw, or none if it does not exist.
    expected = None if current is None else f"0-{current}"
    if given != expected and not (current is None and given in (None, "0-0")):
        raise Conflict("Document update conflict.", local_id)


