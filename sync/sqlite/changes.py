"""The SQLite store's changes feed, whole or by channels, and the wait for the next change."""

from __future__ import annotations

import sqlite3
import time
from typing import Iterable, Literal

from sync import channels, jsonutil, revtree
from sync.errors import BadRequest
from sync.sqlite.base import StoreBase
from sync.sqlite.schema import in_chunks, in_list
from sync.store import ChangesPage, Grants, check_limit


class Changes(StoreBase):
    """``changes``, ``channels_of`` and ``wait_for_change``."""

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
        check_limit(limit)
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
            marks, padded = in_list(ids)
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
        check_limit(limit)
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
        for marks, chunk in in_chunks(ids):
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
        for marks, chunk in in_chunks(ids):
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
