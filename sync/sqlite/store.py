"""One database of the SQLite store (``SQLiteStore``): writes, reads, the changes feed, ``_local`` documents.

The server (``sync.sqlite.server``) holds the file and its connections;
the tables are described in ``sync.sqlite.schema``.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from typing import TYPE_CHECKING, Iterable, Literal, NamedTuple

from sync import attachments as atts
from sync import channels
from sync import jsonutil, revtree, update
from sync.errors import BadRequest, Conflict, MissingStub, NotFound, SyncError
from sync.revid import InvalidRev, parse_rev
from sync.sqlite.schema import ID_CHUNK, in_chunks, in_list, padded_length
from sync.store import (Attachment, ChangesPage, DbInfo, Grants, PutFromBulkDocs, ReadsByGrants, Resolver,
                        StoreLimits, bulk_get_error, bulk_get_result, hidden_result)

if TYPE_CHECKING:
    from sync.sqlite.server import SQLiteServer

log = logging.getLogger(__name__)


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
        for marks, chunk in in_chunks(id_list):
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
        for marks, chunk in in_chunks(list(ids)):
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



def _is_rev(rev: str) -> bool:
    try:
        parse_rev(rev)
    except InvalidRev:
        return False
    return True
