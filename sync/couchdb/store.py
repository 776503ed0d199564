"""The scale-out store: Apache CouchDB 3 keeps the revision trees, Blockwalk talks HTTP.

Blockwalk holds no state of its own here, so several server processes can
run in front of one CouchDB cluster.  Each campaign database is the CouchDB
database ``<prefix>-<name>``; system databases (accounts) are
``<prefix>_<name>``; Blockwalk's own uuid lives in ``<prefix>_meta``, so
every process answers the same uuid and PouchDB's checkpoints are shared.

Writes are validated here exactly as in the SQLite store (``sync.update``),
then sent with ``new_edits=false`` (replicated revisions, with their
``_revisions``) or ``new_edits=true`` (user edits: CouchDB applies the
conflict rule atomically and computes the revision id).  Sequences are
CouchDB's, opaque: strings in CouchDB 3, integers in pouchdb-server; they
are handed back unchanged.

Faults: an unreachable CouchDB, a timeout or a 5xx is ``StoreUnavailable``
(503) with a reason that names no host or credential.  Reads, and
replicated writes (which are idempotent), are retried with backoff first;
a user edit is never retried, so nothing is reported stored that CouchDB did
not acknowledge.
"""

from __future__ import annotations

import http.client
import re
import threading
import time
import uuid
from typing import Callable, Iterable, Literal
from urllib.parse import quote

from sync import attachments as atts, channels as positions, errors, jsonutil, names, update
from sync.couchdb.channel_index import ChannelIndex, IndexState
from sync.couchdb.checkpoints import Checkpoints
from sync.couchdb.http import ConnectionPool, Response, raise_for, winner_key, with_retries
from sync.couchdb.watch import ChangeWatcher
from sync.errors import BadRequest, NotFound, NotServed, PreconditionFailed, StoreUnavailable, SyncError
from sync.store import (Attachment, ChangesPage, DbInfo, Grants, PutFromBulkDocs, Resolver, Router, StoreLimits,
                        check_limit, check_revs_diff, hidden_result, resolve_after)


INDEX_MARK = "$"  # in the names of a campaign's channel index databases only (sync.couchdb.channel_index)
# since: 0, now, an integer (pouchdb-server), or CouchDB 3's "<n>-<opaque base64url>".
_SINCE = re.compile(r"[0-9]{1,18}|[0-9]{1,18}-[A-Za-z0-9_-]{1,4096}")


class CouchDBServer:
    """Every Blockwalk database on one CouchDB (implements ``sync.store.StoreServer``)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "blockwalk",
        auth: tuple[str, str] | None = None,
        limits: StoreLimits | None = None,
        timeout: float = 30.0,
        router: Router | None = None,
    ):
        names.check_db_name(prefix)
        self.prefix = prefix
        self.limits = limits or StoreLimits()
        self.router = router  # applied by the channel index (sync.couchdb.channel_index)
        # This process's state of the campaigns' channel indexes: markers, caches, catch-ups, followers, workers.
        self.index = IndexState()
        self._closed = False
        self.http = ConnectionPool(url, auth=auth, timeout=timeout)
        self._known: set[str] = set()
        # Each database's info as last read, with when (CouchDBStore.info with max_age).
        self.infos: dict[str, tuple[float, DbInfo]] = {}
        # Checkpoints (_local documents) as this process last wrote them (sync.couchdb.checkpoints).
        self.checkpoints = Checkpoints()
        self._lock = threading.Lock()
        self._uuid: str | None = None
        self._pouchdb_server: bool | None = None
        # Live feeds (server.replication.live): listeners of changes, and one change watcher a watched campaign.
        self._listeners: list[Callable[[str, set[str] | None], None]] = []
        self.watchers: dict[str, ChangeWatcher] = {}
        self._watchers_lock = threading.Lock()

    # -- HTTP with retries ----------------------------------------------------------------

    def request(self, method: str, path: str, *, retry: bool, **kwargs) -> Response:
        """One request to CouchDB (``sync.couchdb.http.Requester``), retried with backoff when ``retry``."""
        return with_retries(self.http.request, method, path, retry=retry, **kwargs)

    @property
    def uuid(self) -> str:  # type: ignore[override]
        if self._uuid is None:
            meta = self.system_db("meta")
            try:
                self._uuid = meta.get("server")["uuid"]
            except NotFound:
                try:
                    meta.put({"_id": "server", "uuid": uuid.uuid4().hex})
                except errors.Conflict:
                    pass  # another process wrote it first: use theirs
                self._uuid = meta.get("server")["uuid"]
        return self._uuid

    @property
    def is_pouchdb_server(self) -> bool:
        """pouchdb-server (the test backend) rather than Apache CouchDB."""
        if self._pouchdb_server is None:
            response = self.request("GET", "/", retry=True)
            raise_for(response)
            self._pouchdb_server = "express-pouchdb" in response.json()
        return self._pouchdb_server

    def _couch_name(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    def create_db(self, name: str) -> "CouchDBStore":
        names.check_db_name(name)
        if INDEX_MARK in name:
            raise BadRequest(f"Name: {name!r}. The character $ is kept for Blockwalk's channel index databases")
        couch = self._couch_name(name)
        response = self.request("PUT", f"/{couch}", retry=False)
        if response.status_code == 412:
            raise PreconditionFailed("The database could not be created, the file already exists.")
        raise_for(response)
        if not self.is_pouchdb_server:  # pouchdb-server has no _revs_limit
            raise_for(self.request("PUT", f"/{couch}/_revs_limit", retry=True, content=str(self.limits.revs_limit)))
        with self._lock:
            self._known.add(couch)
        return CouchDBStore(self, couch, name)

    def open_db(self, name: str) -> "CouchDBStore":
        couch = self._couch_name(name)
        if couch not in self._known:
            if not names.is_db_name(name) or INDEX_MARK in name:
                raise NotFound("Database does not exist.")
            response = self.request("HEAD", f"/{couch}", retry=True)
            if response.status_code == 404:
                raise NotFound("Database does not exist.")
            raise_for(response)
            with self._lock:
                self._known.add(couch)
        return CouchDBStore(self, couch, name)

    def list_dbs(self) -> list[str]:
        response = self.request("GET", "/_all_dbs", retry=True)
        raise_for(response)
        start = self.prefix + "-"
        return sorted(name[len(start):] for name in response.json() if name.startswith(start) and INDEX_MARK not in name)

    def system_db(self, name: str) -> "CouchDBStore":
        names.check_db_name(name)
        couch = f"{self.prefix}_{name}"
        if couch not in self._known:
            response = self.request("PUT", f"/{couch}", retry=True)
            if response.status_code not in (201, 202, 412):
                raise_for(response)
            with self._lock:
                self._known.add(couch)
        return CouchDBStore(self, couch, "_" + name)

    # -- change notifications (live feeds) -------------------------------------------------

    def add_listener(self, listener: Callable[[str, set[str] | None], None]) -> None:
        """Call ``listener(campaign, channels)`` for the changes of every campaign ``watch`` was asked for."""
        self._listeners.append(listener)

    def watch(self, name: str) -> None:
        """Follow campaign ``name``'s changes feed (one watcher a process, sync.couchdb.watch), if not yet."""
        couch = self._couch_name(name)
        watcher = self.watchers.get(couch)
        if watcher is not None:
            watcher.asked_at = time.monotonic()
            return
        if self._closed or not self._listeners:
            return
        # From the sequence now, read before the caller's own first read: no change falls between them.
        since: object = "now"
        try:
            response = self.request("GET", f"/{couch}", retry=True)
            if response.status_code == 200:
                since = response.json().get("update_seq", "now")
        except StoreUnavailable:
            pass
        with self._watchers_lock:
            if couch in self.watchers or self._closed:
                return
            watcher = self.watchers[couch] = ChangeWatcher(self, couch, name, self._notify, self.router, since)
        watcher.start()

    def unwatch(self, couch: str, watcher: ChangeWatcher) -> None:
        with self._watchers_lock:
            if self.watchers.get(couch) is watcher:
                del self.watchers[couch]

    def _notify(self, name: str, channels: set[str] | None) -> None:
        for listener in self._listeners:
            try:
                listener(name, channels)
            except Exception:  # noqa: BLE001 (a listener must never stop the watcher)
                pass

    def close(self) -> None:
        with self._watchers_lock:
            self._closed = True
            watchers = list(self.watchers.values())
        self.index.close()
        for watcher in watchers:
            watcher.stop()
        self.checkpoints.close()
        self.http.close()


def _doc_path(doc_id: str) -> str:
    if doc_id.startswith(names.DESIGN_PREFIX):
        return names.DESIGN_PREFIX + quote(doc_id[len(names.DESIGN_PREFIX):], safe="")
    return quote(doc_id, safe="")


def _flag(value: bool) -> str:
    return "true" if value else "false"


class CouchDBStore(PutFromBulkDocs):
    """One CouchDB database (implements ``sync.store.DocumentStore``)."""

    def __init__(self, server: CouchDBServer, couch_name: str, name: str):
        self.server = server
        self.couch = couch_name
        self.name = name
        self.base = f"/{couch_name}"

    def _request(self, method: str, path: str = "", *, retry: bool = True, **kwargs) -> Response:
        return self.server.request(method, self.base + path, retry=retry, **kwargs)

    def _json(self, method: str, path: str = "", *, doc_id: str | None = None, retry: bool = True, **kwargs):
        response = self._request(method, path, retry=retry, **kwargs)
        raise_for(response, doc_id)
        return jsonutil.loads(response.content)

    # -- info ----------------------------------------------------------------------------

    def info(self, max_age: float = 0.0) -> DbInfo:
        now = time.monotonic()
        kept = self.server.infos.get(self.couch)
        if kept is not None and now - kept[0] <= max_age:
            return kept[1]
        body = self._json("GET")
        # pouchdb-server does not count deleted documents; CouchDB 3 does.
        info = DbInfo(update_seq=body["update_seq"], doc_count=body["doc_count"], doc_del_count=body.get("doc_del_count"))
        self.server.infos[self.couch] = (now, info)
        return info

    # -- writes --------------------------------------------------------------------------

    def bulk_docs(self, docs: list, new_edits: bool = True, resolve: Resolver | None = None) -> list[dict]:
        if not isinstance(docs, list):
            raise BadRequest("docs must be an array")
        results: list[dict | None] = [None] * len(docs)
        outgoing: list[tuple[int, dict]] = []
        for i, doc in enumerate(docs):
            try:
                if isinstance(doc, dict) and isinstance(doc.get("_id"), str) and doc["_id"].startswith(names.LOCAL_PREFIX):
                    results[i] = self.put_local(doc)
                    continue
                outgoing.append((i, self._checked(doc, new_edits)))
            except SyncError as exc:
                if exc.doc_id is None and isinstance(doc, dict) and isinstance(doc.get("_id"), str):
                    exc.doc_id = doc["_id"]
                results[i] = exc.as_result()
        if outgoing:
            sending = [d for _, d in outgoing]
            # Which documents this write could branch, asked before it (docs/conflicts.md).
            watched = self._may_branch(sending) if resolve is not None and not new_edits else set()
            for (i, _), result in zip(outgoing, self._send(sending, new_edits), strict=True):
                results[i] = result
            if watched:  # a second write (sync.store.resolve_after)
                written = [r["id"] for r in results if r is not None and "error" not in r and r["id"] in watched]
                resolve_after(self, self._conflicted(written), resolve)
        return results  # type: ignore[return-value]

    def _may_branch(self, docs: list[dict]) -> set[str]:
        """The ids of ``docs`` (replicated revisions) that may have a second live leaf once written.

        A replicated revision adds a branch only to a document of which the
        server already holds a revision: a parent it does not extend, or an
        older leaf.  Its path (``_revisions``) goes back to the document's
        first revision, so one cheap ``_revs_diff`` before the write says
        whether the server held any revision of that path; if it held none,
        the document was new here and this write cannot branch it.  A
        document's first revision alone needs no question (held, it is a
        resend, which adds no leaf).  Looked at after the write, as before:
        an id twice in the batch, a path cut short (its older revisions
        unknown), and every path of which the server held a revision.
        Documents that reach the server by two devices without sharing a
        revision (two devices creating one id) are not looked at here: see
        docs/conflicts.md.
        """
        watched: set[str] = set()
        asked: dict[str, list[str]] = {}
        seen: set[str] = set()
        for doc in docs:
            doc_id = doc["_id"]
            if doc_id in seen:
                watched.add(doc_id)
            seen.add(doc_id)
            revisions = doc.get("_revisions") or {"start": 1, "ids": [doc["_rev"].partition("-")[2]]}
            start, ids = revisions["start"], revisions["ids"]
            if len(ids) < start:
                watched.add(doc_id)
            elif start > 1:
                asked.setdefault(doc_id, []).extend(f"{start - n}-{rev_hash}" for n, rev_hash in enumerate(ids))
        asked = {doc_id: revs for doc_id, revs in asked.items() if doc_id not in watched}
        if not asked:
            return watched
        if self.server.is_pouchdb_server:
            # pouchdb-server calls a revision it holds without its body (an ancestor that came
            # only as part of a path, or compacted) missing: ask whether the document exists
            # instead, which it answers by listing only the ids it does not have.
            absent = self._json("POST", "/_revs_diff", content=jsonutil.dumps({doc_id: [] for doc_id in asked}))
            watched.update(doc_id for doc_id in asked if doc_id not in absent)
        else:
            missing = self._json("POST", "/_revs_diff", content=jsonutil.dumps(asked))
            watched.update(doc_id for doc_id, revs in asked.items()
                           if len((missing.get(doc_id) or {}).get("missing", ())) < len(set(revs)))
        return watched

    def _conflicted(self, doc_ids: list[str]) -> list[str]:
        """Those of ``doc_ids`` that have conflicting leaves: one request for a batch, not one per document."""
        if not doc_ids:
            return []
        body = self._json("POST", "/_all_docs", params={"include_docs": "true", "conflicts": "true"},
                          content=jsonutil.dumps({"keys": list(dict.fromkeys(doc_ids))}))
        return [row["id"] for row in body.get("rows", []) if (row.get("doc") or {}).get("_conflicts")]

    def _checked(self, doc: object, new_edits: bool) -> dict:
        """The same validation as every store; returns the document to send."""
        update.check_body(doc)
        assert isinstance(doc, dict)
        if new_edits and "_id" not in doc:
            doc = {**doc, "_id": uuid.uuid4().hex}
        prepared, _ = atts.prepare(doc)  # validates attachment data; CouchDB stores the bytes
        if new_edits:
            update.check_doc_id(doc.get("_id"))
            if doc.get("_rev") is not None:
                names.parse_rev_or_400(doc["_rev"], doc["_id"])
            body = {k: v for k, v in prepared.items() if k != "_attachments"}
            doc = self._with_parent_stubs(doc)
        else:
            write = update.plan_replicated(prepared)
            body = {k: v for k, v in write.body.items() if k != "_attachments"}
        update.check_size(doc["_id"], len(jsonutil.dumps(body)), self.server.limits.max_document_bytes)
        if not new_edits and "_revisions" in doc:
            revisions = doc["_revisions"]
            limit = self.server.limits.revs_limit
            if len(revisions["ids"]) > limit:
                doc = {**doc, "_revisions": {"start": revisions["start"], "ids": revisions["ids"][:limit]}}
        return doc

    def _with_parent_stubs(self, doc: dict) -> dict:
        """Give stubs that name no digest the parent revision's (pouchdb-server needs it)."""
        stubs = doc.get("_attachments") or {}
        bare = [name for name, att in stubs.items() if att.get("stub") and "digest" not in att]
        if not bare or doc.get("_rev") is None:
            return doc
        try:
            parent = self.get(doc["_id"], doc["_rev"]).get("_attachments") or {}
        except NotFound:
            return doc  # CouchDB answers the conflict
        filled = dict(stubs)
        for name in bare:
            if name not in parent:
                raise errors.MissingStub(f"Invalid attachment stub in {doc['_id']} for {name}", doc["_id"])
            filled[name] = {**parent[name], "stub": True}
        return {**doc, "_attachments": filled}

    def _send(self, docs: list[dict], new_edits: bool) -> list[dict]:
        payload = jsonutil.dumps({"docs": docs, "new_edits": new_edits})
        # Replicated writes are idempotent, so they may be retried; user edits are not.
        try:
            response = self._request("POST", "/_bulk_docs", retry=not new_edits, content=payload)
        finally:
            self.server.infos.pop(self.couch, None)  # what this write changed is read anew
        if response.status_code == 412 and len(docs) > 1:
            # CouchDB refuses a whole batch for one bad attachment stub: find it.
            return [self._send([doc], new_edits)[0] for doc in docs]
        if response.status_code == 412:
            body = response.json()
            return [{"id": docs[0]["_id"], "error": "missing_stub", "reason": str(body.get("reason", "missing stub"))}]
        raise_for(response)
        answered = {r.get("id"): r for r in response.json()}
        results = []
        for doc in docs:
            found = answered.get(doc["_id"])
            if found is None:
                # new_edits=false lists only the errors: this one was stored.
                results.append({"ok": True, "id": doc["_id"], "rev": doc["_rev"]})
            elif "error" in found:
                results.append({"id": doc["_id"], "error": found["error"], "reason": found.get("reason", "")})
            else:
                results.append({"ok": True, "id": doc["_id"], "rev": found["rev"]})
        return results

    # -- reads ---------------------------------------------------------------------------

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
        params = {"revs": _flag(revs), "attachments": _flag(attachments)}
        if rev is not None:
            names.parse_rev_or_400(rev, doc_id)
            params["rev"] = rev
        response = self._request("GET", "/" + _doc_path(doc_id), params=params)
        if response.status_code == 404 and rev is None and self.open_revs(doc_id, "all"):
            # pouchdb-server says "missing" where CouchDB 3 says "deleted": tell them apart.
            raise NotFound("deleted", doc_id)
        raise_for(response, doc_id)
        doc = self._trim(response.json())
        if conflicts or deleted_conflicts:
            # From the leaves, by the winner rule, because pouchdb-server answers
            # neither option (CouchDB 3 does): one answer for both.
            leaves = sorted(
                (row["ok"] for row in self.open_revs(doc_id, "all") if "ok" in row and row["ok"]["_rev"] != doc["_rev"]),
                key=winner_key, reverse=True,
            )
            live = [leaf["_rev"] for leaf in leaves if not leaf.get("_deleted")]
            dead = [leaf["_rev"] for leaf in leaves if leaf.get("_deleted")]
            if conflicts and live:
                doc["_conflicts"] = live
            if deleted_conflicts and dead:
                doc["_deleted_conflicts"] = dead
        return doc

    def open_revs(
        self,
        doc_id: str,
        revs: list[str] | Literal["all"],
        *,
        latest: bool = False,
        attachments: bool = False,
    ) -> list[dict]:
        if revs != "all" and latest:
            return self._latest(doc_id, list(revs), attachments)
        wanted = "all" if revs == "all" else jsonutil.dumps(list(revs)).decode()
        params = {"open_revs": wanted, "revs": "true", "attachments": _flag(attachments)}
        response = self._request("GET", "/" + _doc_path(doc_id), params=params)
        if response.status_code == 404:
            return [] if revs == "all" else [{"missing": rev} for rev in revs]
        raise_for(response, doc_id)
        return [{"ok": self._trim(row["ok"])} if "ok" in row else row for row in response.json()]

    def _trim(self, doc: dict) -> dict:
        """Show at most revs_limit revisions of history, as the SQLite store keeps.

        CouchDB 3 stems at the database's _revs_limit (set when Blockwalk
        creates it); pouchdb-server cannot be told, so reads are trimmed here.
        """
        revisions = doc.get("_revisions")
        limit = self.server.limits.revs_limit
        if revisions and len(revisions["ids"]) > limit:
            doc["_revisions"] = {"start": revisions["start"], "ids": revisions["ids"][:limit]}
        return doc

    def _latest(self, doc_id: str, revs: list[str], attachments: bool) -> list[dict]:
        """open_revs with latest=true, worked out from the leaves.

        pouchdb-server crashes when asked for the latest of a revision it does
        not have, so every backend gets the leaves and picks the descendants.
        """
        leaves = [row["ok"] for row in self.open_revs(doc_id, "all", attachments=attachments) if "ok" in row]
        out: list[dict] = []
        seen: set[str] = set()
        for rev in revs:
            pos, rev_hash = names.parse_rev_or_400(rev, doc_id)
            found = [leaf for leaf in leaves if _descends(leaf, pos, rev_hash)]
            if not found:
                out.append({"missing": rev})
            for leaf in sorted(found, key=winner_key, reverse=True):
                if leaf["_rev"] not in seen:
                    seen.add(leaf["_rev"])
                    out.append({"ok": leaf})
        return out

    def bulk_get(self, wanted: list[dict], *, revs: bool = True, latest: bool = False, attachments: bool = False,
                 grants: Iterable[str] | Grants | None = None) -> list[dict]:
        if grants is not None:
            # Every document is read while the index says which may be seen (one round trip, not two).
            visible, results = self._index().visible(
                [item["id"] for item in wanted], grants,
                meanwhile=lambda: self.bulk_get(wanted, revs=revs, latest=latest, attachments=attachments))
            return [result if item["id"] in visible else hidden_result(item)
                    for item, result in zip(wanted, results, strict=True)]
        # pouchdb-server crashes on latest=true for an unknown revision, and groups
        # its answers by id in its own order: it is asked for the named revisions
        # and the answers are matched back.  CouchDB 3 answers in order.
        pouchdb_server = self.server.is_pouchdb_server
        params = {"revs": _flag(revs), "latest": _flag(latest and not pouchdb_server), "attachments": _flag(attachments)}
        body = self._json("POST", "/_bulk_get", params=params, content=jsonutil.dumps({"docs": wanted}))
        results = body["results"]
        if pouchdb_server:
            results = self._matched(wanted, results, revs, attachments)
        for result in results:
            for i, row in enumerate(result["docs"]):
                if "ok" in row:
                    self._trim(row["ok"])
                elif "missing" in row:  # pouchdb-server's shape; CouchDB 3 answers an error
                    error = {"id": result["id"], "rev": row["missing"], "error": "not_found", "reason": "missing"}
                    result["docs"][i] = {"error": error}
        return results

    def _matched(self, wanted: list[dict], results: list[dict], revs: bool, attachments: bool) -> list[dict]:
        rows: dict[tuple[str, str], dict] = {}
        for result in results:
            for row in result["docs"]:
                rev = row["ok"]["_rev"] if "ok" in row else row.get("missing")
                rows[(result["id"], rev)] = row
        matched = []
        for item in wanted:
            if item.get("rev") is None:
                try:
                    row = {"ok": self.get(item["id"], revs=revs, attachments=attachments)}
                except NotFound as exc:
                    row = {"error": {"id": item["id"], "rev": "undefined", "error": "not_found", "reason": exc.reason}}
            else:
                row = rows.get((item["id"], item["rev"]), {"missing": item["rev"]})
            matched.append({"id": item["id"], "docs": [dict(row)]})
        return matched

    def revs_diff(self, revs: dict[str, list[str]]) -> dict[str, dict]:
        check_revs_diff(revs)
        if not revs:
            return {}
        return self._json("POST", "/_revs_diff", content=jsonutil.dumps(revs))

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
            self._changes_params(0, limit, style, include_docs)  # the same checks
            if positions.decode_opaque(since, _is_seq) is None:
                _since(since)
            wanted = channels if isinstance(channels, Grants) else set(channels)
            return self._index().changes(since, wanted, limit=limit, style=style, include_docs=include_docs,
                                         doc_ids=doc_ids, is_seq=_is_seq)
        params = self._changes_params(since, limit, style, include_docs)
        if doc_ids is not None:
            ids = list(doc_ids)
            params["filter"] = "_doc_ids"
            body = self._json("POST", "/_changes", params=params, content=jsonutil.dumps({"doc_ids": ids}))
        else:
            body = self._json("GET", "/_changes", params=params)
        return ChangesPage(body["results"], body["last_seq"])

    def _changes_params(self, since: object, limit: int | None, style: str, include_docs: bool) -> dict:
        check_limit(limit)
        if style not in ("main_only", "all_docs"):
            raise BadRequest("style must be main_only or all_docs")
        params = {"since": _since(since), "style": style, "include_docs": _flag(include_docs)}
        if limit is not None:
            params["limit"] = str(limit)
        return params

    def _index(self) -> ChannelIndex:
        if self.server.router is None:
            raise NotServed("This CouchDB store routes no documents to channels")
        return ChannelIndex(self, self.couch, self.server, self.server.index, self.server.router)

    def channels_of(self, doc_ids: Iterable[str]) -> dict[str, set[str]]:
        return self._index().lookup(list(doc_ids))

    def granted(self, grants: Iterable[str] | Grants) -> set[str]:
        return self._index().granted(grants) if isinstance(grants, Grants) else set(grants)

    def visible(self, doc_ids: Iterable[str], grants: Iterable[str] | Grants) -> set[str]:
        return self._index().visible(list(doc_ids), grants)[0]

    def build_channel_index(self, progress: Callable[[int], None] | None = None) -> None:
        """Bring the channel index up to date with everything stored (``blockwalk db index``)."""
        self._index().update(progress)

    def wait_for_change(self, since: object, timeout: float) -> bool:
        vector = positions.decode_opaque(since, _is_seq)
        if vector is not None:  # a channel position: wait past the main seq it was complete up to
            since = vector.get(positions.MAIN, 0)
        params = {"since": _since(since), "feed": "longpoll", "limit": "1", "timeout": str(int(timeout * 1000))}
        try:
            # pouchdb-server ignores the timeout parameter: our own read timeout ends the wait.
            response = self.server.http.request("GET", self.base + "/_changes", params=params, timeout=max(timeout, 0.05))
        except TimeoutError:
            return False
        except (OSError, http.client.HTTPException) as exc:
            raise StoreUnavailable(f"The document store (CouchDB) cannot be reached ({type(exc).__name__}); try again shortly") from None
        if response.status_code >= 500:
            raise StoreUnavailable(f"The document store (CouchDB) answered {response.status_code}; try again shortly")
        raise_for(response)
        return bool(response.json()["results"])

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
        params = {"include_docs": _flag(include_docs), "descending": _flag(descending), "skip": str(skip)}
        if limit is not None:
            params["limit"] = str(limit)
        for name, value in (("startkey", startkey), ("endkey", endkey)):
            if value is not None:
                params[name] = jsonutil.dumps(value).decode()
        if keys is not None:
            return self._json("POST", "/_all_docs", params=params, content=jsonutil.dumps({"keys": keys}))
        return self._json("GET", "/_all_docs", params=params)

    # -- attachments ---------------------------------------------------------------------

    def get_attachment(self, doc_id: str, name: str, rev: str | None = None) -> Attachment:
        doc = self.get(doc_id, rev)
        stub = (doc.get("_attachments") or {}).get(name)
        if stub is None:
            raise NotFound("Document is missing attachment", doc_id)
        response = self._request(
            "GET", f"/{_doc_path(doc_id)}/{quote(name, safe='')}", params={"rev": doc["_rev"]}, headers={"Accept": "*/*"}
        )
        raise_for(response, doc_id)
        return Attachment(stub.get("content_type", "application/octet-stream"), stub["digest"], response.content)

    # -- _local documents ------------------------------------------------------------------

    def _local_path(self, local_id: object) -> str:
        names.check_local_id(local_id)
        assert isinstance(local_id, str)
        return "/_local/" + quote(local_id[len(names.LOCAL_PREFIX):], safe="")

    def get_local(self, local_id: str) -> dict:
        """The checkpoint as this process last wrote it, else as CouchDB holds it (``sync.couchdb.checkpoints``)."""
        kept = self.server.checkpoints.get((self.couch, local_id))
        if kept is not None:
            return kept
        return self._json("GET", self._local_path(local_id), doc_id=local_id)

    def put_local(self, doc: dict) -> dict:
        if not isinstance(doc, dict):
            raise BadRequest("Document must be a JSON object")
        local_id = doc.get("_id")
        path = self._local_path(local_id)
        if doc.get("_deleted") is True:
            return self.delete_local(local_id, doc.get("_rev"))
        body = jsonutil.dumps(doc)
        update.check_size(local_id, len(body), self.server.limits.max_document_bytes)
        key = (self.couch, local_id)

        def write(doc: dict) -> str:
            return self._json("PUT", path, doc_id=local_id, retry=False, content=jsonutil.dumps(doc))["rev"]

        answered = self.server.checkpoints.put_behind(key, doc, write)
        if answered is not None:
            return answered
        try:
            rev = write(doc)
        except BaseException:
            self.server.checkpoints.forget(key)  # a 409 above all: another process wrote it
            raise
        self.server.checkpoints.written(key, doc, rev)
        return {"ok": True, "id": local_id, "rev": rev}

    def delete_local(self, local_id: str, rev: str | None) -> dict:
        path = self._local_path(local_id)
        self.server.checkpoints.forget((self.couch, local_id))
        self._json("DELETE", path, doc_id=local_id, retry=False, params={} if rev is None else {"rev": rev})
        return {"ok": True, "id": local_id, "rev": "0-0"}

    def close(self) -> None:
        """Databases share the server's connection pool; closing one is a no-op."""


def _descends(leaf: dict, pos: int, rev_hash: str) -> bool:
    start, ids = leaf["_revisions"]["start"], leaf["_revisions"]["ids"]
    return 0 <= start - pos < len(ids) and ids[start - pos] == rev_hash


def _is_seq(value: object) -> bool:
    if isinstance(value, int) and not isinstance(value, bool):
        return value >= 0
    return isinstance(value, str) and _SINCE.fullmatch(value) is not None


def _since(since: object) -> str:
    if since == "now" or (isinstance(since, int) and not isinstance(since, bool) and since >= 0):
        return str(since)
    if isinstance(since, str) and _SINCE.fullmatch(since):
        return since
    raise BadRequest(f"since must be a sequence this database gave out, 0 or now (got {since!r})")
