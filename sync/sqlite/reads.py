"""Reads of the SQLite store: documents, revisions, ``_bulk_get``, ``_revs_diff``, ``_all_docs``, attachments."""

from __future__ import annotations

import sqlite3
from typing import Iterable, Literal

from sync import attachments as atts, jsonutil, names, revtree
from sync.errors import NotFound, SyncError
from sync.revid import InvalidRev, parse_rev
from sync.sqlite.base import StoreBase
from sync.sqlite.schema import in_chunks
from sync.store import Attachment, Grants, bulk_get_error, bulk_get_result, check_revs_diff, hidden_result

# Stored bodies (JSON bytes) by (doc id, rev), read in one query with the trees they belong to.
_Bodies = dict[tuple[str, str], bytes]


class Reads(StoreBase):
    """Each read in one read transaction, so it sees one commit."""

    def _tree(self, conn: sqlite3.Connection, doc_id: str) -> revtree.Tree:
        row = conn.execute("SELECT tree FROM docs WHERE db = ? AND id = ?", (self.db, doc_id)).fetchone()
        if row is None:
            raise NotFound("missing", doc_id)
        return revtree.from_json(jsonutil.loads(row[0]))

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
            pos, rev_hash = names.parse_rev_or_400(rev, doc_id)
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
        check_revs_diff(revs)
        conn = self._conn()
        out: dict[str, dict] = {}
        conn.execute("BEGIN")
        try:
            trees = self._load_trees(conn, set(revs))
        finally:
            conn.execute("COMMIT")
        for doc_id, asked in revs.items():
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


def _is_rev(rev: str) -> bool:
    try:
        parse_rev(rev)
    except InvalidRev:
        return False
    return True
