"""Writes to the SQLite store: a batch of documents in one transaction, conflicts resolved inside it."""

from __future__ import annotations

import logging
import sqlite3
import uuid

from sync import attachments as atts, jsonutil, names, revtree, update
from sync.errors import BadRequest, MissingStub, SyncError
from sync.revid import parse_rev
from sync.sqlite.base import Before, StoreBase
from sync.sqlite.schema import ID_CHUNK, padded_length
from sync.store import Resolver

log = logging.getLogger(__name__)


class _Batch:
    """The state of one write transaction: trees read once, rows written at the end."""

    def __init__(self, trees: dict[str, revtree.Tree], seq: int, before: dict[str, Before]):
        self.trees = trees
        self.before = before  # the stored state of each document this batch found
        self.channels: dict[str, list[str]] = {}  # doc id -> channels after this batch
        self.written: dict[tuple[str, str], dict] = {}  # (doc id, rev) -> body, every one this batch wrote
        self.seq = seq
        self.changed: dict[str, int] = {}  # doc id -> its new seq
        self.bodies: list[tuple] = []
        self.blobs: dict[str, bytes] = {}
        self.stemmed: list[tuple[str, str]] = []



class Writes(StoreBase):
    """``bulk_docs``: the batch's trees read once, merged in memory, its rows written at the end."""

    def bulk_docs(self, docs: list, new_edits: bool = True, resolve: Resolver | None = None) -> list[dict]:
        if not isinstance(docs, list):
            raise BadRequest("docs must be an array")
        results: list[dict | None] = [None] * len(docs)
        regular: list[tuple[int, dict]] = []
        for i, doc in enumerate(docs):
            if isinstance(doc, dict) and isinstance(doc.get("_id"), str) and doc["_id"].startswith(names.LOCAL_PREFIX):
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
            before: dict[str, Before] = {}
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

        The list of pairs is padded to the lengths ``in_list`` gives id
        lists, so the query has at most six forms, with a pair no document
        has (an empty id), so the padding reads nothing.
        """
        found = {}
        for start in range(0, len(wanted), ID_CHUNK):
            chunk = wanted[start:start + ID_CHUNK]
            chunk += [("", "")] * (padded_length(len(chunk)) - len(chunk))
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
