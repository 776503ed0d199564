"""The store interface: what every document store (SQLite, CouchDB) provides.

Documents are plain dicts in CouchDB's shape (``_id``, ``_rev``, ``_deleted``,
``_attachments``, ``_revisions``, ``_conflicts``).  Sequence values are
opaque: a store hands them out and takes them back, and nothing outside the
store may do arithmetic on them.  Errors are the classes of ``sync.errors``.
The contract tests in ``tests/sync/test_store_contract.py`` hold every store to this.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterable, Literal, Protocol, runtime_checkable

from sync import errors
from sync.errors import SyncError

log = logging.getLogger(__name__)

Seq = object  # opaque: int in SQLite, a string in CouchDB 3

# The server's routing policy: the channels a document body belongs to
# (``{"campaign", "turf:7", "user:ana"}``).  The sync engine only stores and
# filters by them; what they mean is the server's business.
Router = Callable[[dict], Iterable[str]]

# The server's conflict policy: a document's id and its live leaves (bodies
# with ``_id`` and ``_rev``, no ``_revisions``; not to be modified) -> the
# replicated writes that resolve them (``new_edits=False`` documents), or
# ``[]`` to leave them.  The first write must be the one that keeps every
# leaf's content (the merge): the store writes the rest (deletions of the
# losing leaves) only if that one was stored.
Resolver = Callable[[str, list[dict]], list[dict]]


@dataclass(frozen=True)
class Grants:
    """Channels a reader is granted by documents of the store (a volunteer's assignments).

    ``read(store)`` computes them from the store.  ``key`` names the reader
    (the same key, the same ``read``), so that a store may give ``read``'s
    earlier answer again while it can tell that nothing it holds has changed
    since: the CouchDB store does, at its channel index's marker, where a
    read of the assignments costs a request.  Channels granted whatever the
    store holds are passed as a plain set instead.
    """

    key: str
    read: Callable[["DocumentStore"], set[str]]


@dataclass(frozen=True)
class DbInfo:
    update_seq: Seq
    doc_count: int
    doc_del_count: int | None  # None: the backend does not count them (pouchdb-server)


@dataclass(frozen=True)
class ChangesPage:
    """Rows ``{seq, id, changes: [{rev}], deleted?, doc?}`` and the last seq."""

    results: list[dict]
    last_seq: Seq


@dataclass(frozen=True)
class Attachment:
    content_type: str
    digest: str
    data: bytes


@dataclass
class StoreLimits:
    """Limits a store enforces on every write (configurable in the server)."""

    max_document_bytes: int = 1_000_000  # the JSON body, attachments' data not counted
    revs_limit: int = 1000


@runtime_checkable
class DocumentStore(Protocol):
    def info(self, max_age: float = 0.0) -> DbInfo:
        """The database's counts and ``update_seq``.

        ``max_age``: seconds an answer this process read earlier may be old
        (a store whose info costs a request may keep it that long; every
        write through this process makes it fresh again).  0: read now.
        """
        ...

    def bulk_docs(self, docs: list, new_edits: bool = True, resolve: Resolver | None = None) -> list[dict]:
        """Write a batch; one result per input, ``{ok, id, rev}`` or ``{id, error, reason}``.

        ``new_edits=True``: user edits (the conflict rule of ``sync.update``).
        ``new_edits=False``: replicated revisions with their ``_revisions``.
        A bad document fails alone; the rest of the batch is stored.
        ``resolve`` (with ``new_edits=False``): every document of the batch
        that has more than one live leaf after it is passed to ``resolve``
        and the writes it returns are stored (``resolve_after``, or inside
        the batch's own transaction); their results are not returned.  A
        store may look only at the documents the batch could have branched
        (the CouchDB store does, docs/conflicts.md).
        """
        ...

    def put(self, doc: dict) -> dict:
        """One user edit; raises the error instead of returning it."""
        ...

    def get(
        self,
        doc_id: str,
        rev: str | None = None,
        *,
        revs: bool = False,
        conflicts: bool = False,
        deleted_conflicts: bool = False,
        attachments: bool = False,
    ) -> dict: ...

    def open_revs(
        self,
        doc_id: str,
        revs: list[str] | Literal["all"],
        *,
        latest: bool = False,
        attachments: bool = False,
    ) -> list[dict]:
        """``[{"ok": doc with _revisions} | {"missing": rev}]``."""
        ...

    def bulk_get(self, wanted: list[dict], *, revs: bool = True, latest: bool = False, attachments: bool = False,
                 grants: Iterable[str] | Grants | None = None) -> list[dict]:
        """CouchDB's ``_bulk_get``: for each ``{id, rev?}``, ``{id, docs: [{ok: doc} | {error: {...}}]}``.

        ``grants``: a document in none of the channels they give now is
        answered as missing (``hidden_result``).
        """
        ...

    def revs_diff(self, revs: dict[str, list[str]]) -> dict[str, dict]: ...

    def changes(
        self,
        since: Seq = 0,
        *,
        limit: int | None = None,
        style: Literal["main_only", "all_docs"] = "main_only",
        include_docs: bool = False,
        doc_ids: Iterable[str] | None = None,
        channels: Iterable[str] | Grants | None = None,
    ) -> ChangesPage:
        """``channels``: only the documents of these channels (or those granted now), from a ``sync.channels`` position."""
        ...

    def channels_of(self, doc_ids: Iterable[str]) -> dict[str, set[str]]:
        """The channels each document is in now."""
        ...

    def granted(self, grants: Iterable[str] | Grants) -> set[str]:
        """The channels ``grants`` gives now."""
        ...

    def visible(self, doc_ids: Iterable[str], grants: Iterable[str] | Grants) -> set[str]:
        """Those of ``doc_ids`` that are in a channel ``grants`` gives now."""
        ...

    def wait_for_change(self, since: Seq, timeout: float) -> bool:
        """Block until there is a change after ``since`` (True) or ``timeout`` seconds pass (False)."""
        ...

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
        """``{total_rows, offset, rows: [{id, key, value: {rev}, doc?}]}``."""
        ...

    def get_local(self, local_id: str) -> dict: ...

    def put_local(self, doc: dict) -> dict: ...

    def delete_local(self, local_id: str, rev: str) -> dict: ...

    def get_attachment(self, doc_id: str, name: str, rev: str | None = None) -> Attachment: ...

    def close(self) -> None: ...


@runtime_checkable
class StoreServer(Protocol):
    """A set of named databases (one per campaign), like a CouchDB server."""

    uuid: str

    def create_db(self, name: str) -> DocumentStore:
        """Raises PreconditionFailed if it exists, BadRequest for an illegal name."""
        ...

    def open_db(self, name: str) -> DocumentStore:
        """Raises NotFound if there is no such database."""
        ...

    def list_dbs(self) -> list[str]:
        """The campaign databases; system databases are not listed."""
        ...

    def system_db(self, name: str) -> DocumentStore:
        """A server-side database (accounts, tokens), created on first use.

        Its name starts with ``_``, which ``create_db`` refuses, so no client
        can create, open or replicate it through the sync endpoint.
        """
        ...

    def close(self) -> None: ...


def check_limit(limit: object) -> None:
    """A ``limit`` argument: None or a non-negative integer (not a boolean)."""
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 0):
        raise errors.BadRequest("limit must be a non-negative integer")


def check_revs_diff(revs: object) -> dict[str, list[str]]:
    """A ``_revs_diff`` body: ``{doc id: [rev, ...]}``; anything else is a 400."""
    if not isinstance(revs, dict):
        raise errors.BadRequest("Request body must be a JSON object of {id: [revs]}")
    for doc_id, asked in revs.items():
        if not isinstance(asked, list) or not all(isinstance(r, str) for r in asked):
            raise errors.BadRequest(f"revs_diff: the revisions of {doc_id!r} must be a list of strings")
    return revs


def bulk_get_error(doc_id: str, rev: str | None, exc: SyncError) -> dict:
    """The ``_bulk_get`` row of a document that could not be read."""
    return {"error": {"id": doc_id, "rev": rev or "undefined", "error": exc.error, "reason": exc.reason}}


def hidden_result(item: dict) -> dict:
    """The ``_bulk_get`` result of a document the reader may not see: missing, so they learn nothing of it."""
    return {"id": item["id"], "docs": [bulk_get_error(item["id"], item.get("rev"), errors.NotFound("missing"))]}


def bulk_get_result(doc_id: str, found: list[dict], revs: bool) -> dict:
    """One ``_bulk_get`` result from ``open_revs`` rows (or a ``get`` as ``{ok: doc}``)."""
    docs = []
    for row in found:
        if "missing" in row:
            docs.append({"error": {"id": doc_id, "rev": row["missing"], "error": "not_found", "reason": "missing"}})
            continue
        if "ok" in row and not revs:
            row["ok"].pop("_revisions", None)
        docs.append(row)
    return {"id": doc_id, "docs": docs}


def resolve_after(store: DocumentStore, doc_ids: Iterable[str], resolve: Resolver) -> list[str]:
    """Resolve ``doc_ids`` by reading their leaves and writing what ``resolve`` returns; the ids resolved.

    The path for a store that cannot resolve inside its write: the merges
    first, then the deletions of the documents whose merge was stored, so a
    merge that is refused (too large) deletes nothing.
    """
    planned: dict[str, list[dict]] = {}
    for doc_id in dict.fromkeys(doc_ids):
        try:
            rows = store.open_revs(doc_id, "all")
        except SyncError:
            continue
        leaves = [row["ok"] for row in rows if "ok" in row and not row["ok"].get("_deleted")]
        if len(leaves) < 2:
            continue
        for leaf in leaves:
            leaf.pop("_revisions", None)
        try:
            writes = resolve(doc_id, leaves)
        except Exception:  # the leaves are stored; a failing resolver leaves them for the next push
            log.exception("could not resolve %s", doc_id)
            continue
        if writes:
            planned[doc_id] = writes
    if not planned:
        return []
    stored = store.bulk_docs([writes[0] for writes in planned.values()], new_edits=False)
    done = [doc_id for doc_id, result in zip(planned, stored, strict=True) if _logged(result)]
    rest = [write for doc_id in done for write in planned[doc_id][1:]]
    if rest:
        for result in store.bulk_docs(rest, new_edits=False):
            _logged(result)
    return done


def _logged(result: dict) -> bool:
    """True for a stored write; an error is logged (never silently: the leaves stay, the next push tries again)."""
    if "error" in result:
        log.error("could not write the resolution of %s: %s", result.get("id"), result.get("reason"))
        return False
    return True


class ReadsByGrants:
    """``granted`` and ``visible`` for a store whose reads of its documents are cheap (SQLite)."""

    def granted(self, grants: Iterable[str] | Grants) -> set[str]:
        return grants.read(self) if isinstance(grants, Grants) else set(grants)  # type: ignore[arg-type]

    def visible(self, doc_ids: Iterable[str], grants: Iterable[str] | Grants) -> set[str]:
        granted = self.granted(grants)
        return {doc_id for doc_id, found in self.channels_of(doc_ids).items() if found & granted}  # type: ignore[attr-defined]


class PutFromBulkDocs:
    """``put`` for a store that has ``bulk_docs``: one way to write, for every store."""

    def put(self, doc: dict) -> dict:
        result = self.bulk_docs([doc], new_edits=True)[0]  # type: ignore[attr-defined]
        if "error" in result:
            raise errors.from_result(result)
        return result
