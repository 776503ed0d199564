"""The CouchDB replication protocol under ``/sync/<db>``: one database per campaign.

Thin handlers over the store (``sync.store.DocumentStore``): they parse the
request, call the store and answer in CouchDB's shapes, because PouchDB and
CouchDB clients read those.  ``docs/replication.md`` lists what is served and
what is not.

The request's path, parameters and body are read by ``replication.params``.
"""

from __future__ import annotations

import logging
from typing import Callable, Iterator

from flask import Blueprint, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from server.access import auth, channels, reads, writes
from server.access.roles import MEMBERS, UNFILTERED
from server.records import conflicts
from server.replication import live
from server.replication.params import PREFIX, Params, couch_error, json_response, read_object, segments
from server.services import services, store_of
from sync import errors, jsonutil
from sync.errors import BadRequest, Forbidden, MethodNotAllowed, NotFound, RequestTooLarge, SyncError
from sync.store import DocumentStore, Grants, bulk_get_error

log = logging.getLogger("blockwalk.sync")  # streamed responses outlive the app context

bp = Blueprint("replication", __name__, url_prefix=PREFIX)

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]
CHANGES_PAGE = 1000
MAX_LIMIT = 100_000


@bp.errorhandler(SyncError)
def _sync_error(exc: SyncError) -> Response:
    return couch_error(exc)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    if exc.code == 413:
        return couch_error(RequestTooLarge(f"Request body is larger than {current_app.config['MAX_REQUEST_BYTES']} bytes"))
    return json_response({"error": (exc.name or "error").lower().replace(" ", "_"), "reason": exc.description}, exc.code or 500)


# -- dispatch ---------------------------------------------------------------------------


@bp.route("/", methods=METHODS, strict_slashes=False)
@bp.route("/<path:_rest>", methods=METHODS)
def dispatch(_rest: str = "") -> Response:
    if request.method == "OPTIONS":
        return Response(status=204)  # a CORS preflight; headers are added after the request
    g.user = auth.authenticate()
    parts = segments()
    if not parts:
        return _only(("GET", "HEAD"), root)
    db_name, rest = parts[0], parts[1:]
    if not (rest == [] and request.method == "PUT"):
        # No role in the campaign: nothing of it, not even whether it exists.
        auth.require_role(db_name, MEMBERS, "")
    g.campaign = db_name
    if not rest:
        return _database(db_name)
    store = _open(db_name)
    head = rest[0]
    if head.startswith("_") and head not in ("_local", "_design"):
        handler = ENDPOINTS.get(head)
        if handler is None or len(rest) > 1:
            raise NotFound(f"Blockwalk does not serve {head} (see docs/replication.md)")
        methods, fn = handler
        return _only(methods, lambda: fn(store))
    if head == "_local":
        if len(rest) < 2:
            raise NotFound("missing")
        return local_doc(store, "_local/" + "/".join(rest[1:]))
    if head == "_design":
        if len(rest) < 2:
            raise NotFound("missing")
        doc_id, att = "_design/" + rest[1], rest[2:]
    else:
        doc_id, att = head, rest[1:]
    if att:
        return _only(("GET", "HEAD"), lambda: attachment(store, doc_id, "/".join(att)))
    return document(store, doc_id)


def _only(methods: tuple[str, ...], fn: Callable[[], Response]) -> Response:
    if request.method not in methods:
        raise MethodNotAllowed(f"Only {', '.join(methods)} allowed")
    return fn()


def _open(db_name: str) -> DocumentStore:
    if db_name.startswith("_"):
        raise BadRequest(f"Blockwalk does not serve {db_name} (see docs/replication.md)")
    try:
        return store_of().open_db(db_name)
    except NotFound:
        raise NotFound("Database does not exist.") from None


# -- who may see what ------------------------------------------------------------------------


def _grants() -> set[str] | Grants | None:
    """The channels the user may read in this campaign (None: everything); once per request."""
    if "grants" not in g:
        g.grants = channels.grants(g.user, g.campaign)
    return g.grants


def _granted_now(store: DocumentStore) -> set[str] | None:
    """The channels granted now, as a set (None: everything); once per request."""
    if "granted_now" not in g:
        grants = _grants()
        g.granted_now = None if grants is None else store.granted(grants)
    return g.granted_now


def _writer(store: DocumentStore) -> writes.Writer:
    return writes.writer_of(g.user, g.campaign, lambda: _granted_now(store))


def _visible(store: DocumentStore, doc_ids: list[str]) -> set[str]:
    granted = _grants()
    if granted is None:
        return set(doc_ids)
    return store.visible(doc_ids, granted)


def _require_visible(store: DocumentStore, doc_id: str) -> None:
    # Not visible is not found: a volunteer learns nothing of other turfs' documents.
    if doc_id not in _visible(store, [doc_id]):
        raise NotFound("missing", doc_id)


def _require_readable(store: DocumentStore, body: dict) -> None:
    """A revision read by its rev (or a leaf) is judged on its own body too (``access.reads``)."""
    if not reads.body_readable(body, _granted_now(store)):
        raise NotFound("missing", body.get("_id"))


# -- the server and databases --------------------------------------------------------------


def root() -> Response:
    Params(set())
    return json_response(
        {
            "couchdb": "Welcome",
            "uuid": store_of().uuid,
            "version": "3.3.3",
            "vendor": {"name": "Blockwalk", "version": current_app.config["VERSION"]},
            "features": [],
        }
    )


# GET /{db} answers from an info read this long ago by this process at most
# (docs/replication.md): PouchDB reads it at the start of every replication
# for its progress figures only, and on the CouchDB store it costs a request.
INFO_MAX_AGE = 1.0


def _database(db_name: str) -> Response:
    if request.method in ("GET", "HEAD"):
        Params(set())
        store = _open(db_name)
        info = store.info(max_age=INFO_MAX_AGE)
        filtered = auth.role_in(g.user, db_name) not in UNFILTERED
        body = {
            "db_name": db_name,
            "update_seq": info.update_seq,
            "doc_count": info.doc_count,
            "doc_del_count": info.doc_del_count,
            "instance_start_time": "0",
            "purge_seq": 0,
            "compact_running": False,
            "disk_format_version": 8,
            "sizes": {"active": 0, "external": 0, "file": 0},
        }
        if info.doc_del_count is None:
            del body["doc_del_count"]
        if filtered:
            # A reader of some channels learns nothing of the rest: no counts (docs/permissions.md).
            body["doc_count"] = 0
            body.pop("doc_del_count", None)
        return json_response(body)
    if request.method == "PUT":
        Params(set())
        auth.require_role(None, ("admin",), "Only an admin may create a campaign database")
        try:
            store_of().create_db(db_name)
        except BadRequest as exc:
            return json_response({"error": "illegal_database_name", "reason": exc.reason}, 400)
        except SyncError as exc:
            if exc.status == 412:
                return json_response({"error": "file_exists", "reason": exc.reason}, 412)
            raise
        return json_response({"ok": True}, 201, {"Location": f"{PREFIX}/{db_name}"})
    if request.method == "POST":
        Params({"batch"})
        (result,) = _checked_bulk_docs(_open(db_name), [read_object()], True)
        if "error" in result:
            raise errors.from_result(result)
        return json_response(result, 201, {"ETag": f'"{result["rev"]}"'})
    raise MethodNotAllowed("Only GET, HEAD, PUT, POST allowed")


# -- _changes ---------------------------------------------------------------------------------


def changes(store: DocumentStore) -> Response:
    params = Params(
        {"since", "limit", "style", "include_docs", "feed", "heartbeat", "timeout", "filter", "doc_ids",
         "conflicts", "descending", "seq_interval", "attachments", "att_encoding_info"}
    )
    since: object = params.str("since", "0")
    limit = params.int("limit", maximum=MAX_LIMIT)
    style = params.str("style", "main_only")
    if style not in ("main_only", "all_docs"):
        raise BadRequest("style must be main_only or all_docs")
    include_docs = params.bool("include_docs")
    if params.bool("descending"):
        raise BadRequest("descending=true is not supported for _changes")
    if params.bool("attachments"):
        raise BadRequest("attachments=true is not supported for _changes; fetch attachments with _bulk_get")
    feed = params.str("feed", "normal")
    if feed not in ("normal", "longpoll"):
        raise BadRequest(f"feed={feed} is not supported; use normal or longpoll")
    doc_ids = _doc_ids_filter(params)
    timeout_ms = params.int("timeout", 60_000)
    max_wait = current_app.config["LONGPOLL_SECONDS"]
    timeout = min((timeout_ms or 0) / 1000, max_wait)
    heartbeat_ms = params.int("heartbeat")
    heartbeat = None if not heartbeat_ms else max(heartbeat_ms / 1000, 0.1)
    # Validate since before anything is streamed, so a bad one is a clean 400.
    granted = _grants()
    if doc_ids is not None and granted is not None:
        # Named documents: those of them the reader may see, from the plain feed, so that
        # limit counts rows answered, not rows scanned before the channel filter.
        visible = _visible(store, doc_ids)
        doc_ids, granted = [doc_id for doc_id in doc_ids if doc_id in visible], None

    readable = _granted_now(store) if style == "all_docs" and _grants() is not None else None

    def read(position: object, count: int):
        page = store.changes(position, limit=count, style=style, include_docs=include_docs, doc_ids=doc_ids,
                             channels=granted)
        if readable is not None:
            _readable_leaves(store, page.results, readable)
        return page

    # Under blockwalk serve a longpoll with nothing to send yet is parked in the front's event
    # loop, not in this thread (server.replication.live); the mark, taken before the read, closes the race.
    waiters = request.environ.get(live.ENVIRON_KEY) if feed == "longpoll" else None
    mark = waiters.mark(g.campaign) if waiters is not None else 0
    first = read(since, min(limit, CHANGES_PAGE) if limit is not None else CHANGES_PAGE)
    if feed == "longpoll" and not first.results:
        wait = live.Feed(store, read, first.last_seq, limit, timeout, heartbeat, _stream_changes)
        if waiters is not None:
            wakes_on = None if granted is None else _granted_now(store)  # the channels whose writes wake it
            return Response(waiters.park(wait, g.campaign, wakes_on, mark), mimetype="application/json",
                            direct_passthrough=True)
        return Response(_longpoll(wait), mimetype="application/json")
    return Response(_stream_changes(read, first, limit), mimetype="application/json")


def _readable_leaves(store: DocumentStore, rows: list[dict], granted: set[str]) -> None:
    """Leave out of ``style=all_docs`` rows the leaves the reader may not read (``access.reads``).

    PouchDB fetches every leaf a row lists, and a leaf answered as missing
    fails its whole batch; so a conflicting leaf of another turf, or a
    sign-up, is not listed.  Only rows with more than one leaf are read.
    """
    for row in rows:
        if len(row["changes"]) < 2:
            continue
        ok = reads.readable_revs(store, row["id"], [change["rev"] for change in row["changes"]], granted)
        row["changes"] = [change for change in row["changes"] if change["rev"] in ok]


def _doc_ids_filter(params: Params) -> list[str] | None:
    name = params.str("filter")
    if name is None:
        return None
    if name != "_doc_ids":
        raise BadRequest(f"filter={name} is not supported; only _doc_ids (Blockwalk filters by channel itself)")
    if request.method == "POST":
        ids = read_object().get("doc_ids")
    else:
        ids = params.json("doc_ids")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise BadRequest("filter=_doc_ids needs doc_ids, a JSON array of strings")
    return ids


def _stream_changes(read, first, limit) -> Iterator[bytes]:
    dumps = jsonutil.dumps
    yield b'{"results":['
    page, sent, last_seq = first, 0, first.last_seq
    while True:
        if page.results:
            yield (b"," if sent else b"") + b",\n".join(dumps(row) for row in page.results)
            sent += len(page.results)
            last_seq = page.results[-1]["seq"]
        if len(page.results) < CHANGES_PAGE or (limit is not None and sent >= limit):
            break
        want = CHANGES_PAGE if limit is None else min(CHANGES_PAGE, limit - sent)
        try:
            page = read(last_seq, want)
        except SyncError:
            # The status line is gone: end the feed at what was sent; the client resumes from there.
            log.warning("changes feed cut short: the store failed mid-stream")
            break
    yield b'],\n"last_seq":' + dumps(last_seq) + b',"pending":0}\n'


def _longpoll(wait: live.Feed) -> Iterator[bytes]:
    """Hold the request in this thread until a change arrives, sending a newline every heartbeat."""
    return wait.blocking()


# -- _revs_diff, _bulk_docs, _bulk_get, _all_docs ------------------------------------------------


def revs_diff(store: DocumentStore) -> Response:
    Params(set())
    asked = read_object()
    diff = store.revs_diff(asked)
    hidden = set(asked) - _visible(store, list(asked))
    for doc_id in hidden:  # a document the user may not see: as if it did not exist
        revs = asked[doc_id]
        if isinstance(revs, list) and revs:
            diff[doc_id] = {"missing": revs}
    return json_response(diff)


def bulk_docs(store: DocumentStore) -> Response:
    Params(set())
    body = read_object()
    docs = body.get("docs")
    if not isinstance(docs, list):
        raise BadRequest("POST body must include a docs array")
    new_edits = body.get("new_edits", True)
    if not isinstance(new_edits, bool):
        raise BadRequest("new_edits must be true or false")
    results = _checked_bulk_docs(store, docs, new_edits)
    if new_edits:
        return json_response(results, 201)
    # Replicated writes: CouchDB lists only the errors.  A document that cannot
    # be stored is refused as forbidden, which PouchDB reports as `denied` and
    # moves past; any other error name would abort the whole replication.
    errors = [_as_forbidden(r) for r in results if "error" in r]
    return json_response(errors, 201)


def _checked_bulk_docs(store: DocumentStore, docs: list, new_edits: bool) -> list[dict]:
    """Store what passes the server's checks; refuse the rest, keeping the batch's order."""
    # Replicated leaves may branch a record: the store merges them as it stores them (docs/conflicts.md).
    resolve = None if new_edits else conflicts.resolver(store)
    return services().writes.bulk(store, docs, _writer(store), new_edits=new_edits, resolve=resolve)


def _as_forbidden(result: dict) -> dict:
    if result["error"] in ("forbidden", "unauthorized"):
        return result
    refused = Forbidden(f"{result['error']}: {result['reason']}", result.get("id"))
    out = refused.as_result()
    if "id" not in out:
        out = {"id": None, **out}
    return out


def bulk_get(store: DocumentStore) -> Response:
    params = Params({"revs", "latest", "attachments", "att_encoding_info"})
    wanted = read_object().get("docs")
    if not isinstance(wanted, list):
        raise BadRequest("POST body must include a docs array")
    for item in wanted:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("rev", ""), str):
            raise BadRequest("each entry of docs needs an id (and optionally a rev), as strings")
    # The channels granted, resolved once: the store filters by them, and each revision's body is judged by them.
    granted = _granted_now(store)
    results = store.bulk_get(wanted, revs=params.bool("revs"), latest=params.bool("latest"),
                             attachments=params.bool("attachments"), grants=granted)
    if granted is not None:
        for result in results:
            result["docs"] = [item if "ok" not in item or reads.body_readable(item["ok"], granted)
                              else bulk_get_error(result["id"], item["ok"].get("_rev"), NotFound("missing"))
                              for item in result["docs"]]
    return json_response({"results": results})


def all_docs(store: DocumentStore) -> Response:
    params = Params({"include_docs", "keys", "key", "startkey", "endkey", "start_key", "end_key", "limit", "skip",
                     "descending", "conflicts", "inclusive_end", "update_seq"})
    keys = params.json("keys")
    if request.method == "POST":
        keys = read_object().get("keys")
    key = params.json("key")
    if key is not None:
        keys = [key]
    if keys is not None and (not isinstance(keys, list) or not all(isinstance(k, str) for k in keys)):
        raise BadRequest("keys must be an array of document ids")
    startkey = params.json("startkey", params.json("start_key"))
    endkey = params.json("endkey", params.json("end_key"))
    for name, value in (("startkey", startkey), ("endkey", endkey)):
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"{name} must be a JSON string")
    if not params.bool("inclusive_end", True):
        raise BadRequest("inclusive_end=false is not supported")
    result = store.all_docs(
        keys=keys, startkey=startkey, endkey=endkey, limit=params.int("limit", maximum=MAX_LIMIT),
        skip=params.int("skip", 0) or 0, descending=params.bool("descending"), include_docs=params.bool("include_docs"),
    )
    if _grants() is not None:
        ids = [row["id"] for row in result["rows"] if "id" in row]
        visible = _visible(store, ids)
        result["rows"] = [row if row.get("id") in visible else {"key": row["key"], "error": "not_found"}
                          for row in result["rows"] if row.get("id") in visible or keys is not None]
        result["total_rows"] = len([row for row in result["rows"] if "error" not in row])
    if params.bool("update_seq"):
        result["update_seq"] = store.info().update_seq
    return json_response(result)


def ensure_full_commit(store: DocumentStore) -> Response:
    Params(set())
    return json_response({"ok": True, "instance_start_time": "0"}, 201)


ENDPOINTS: dict[str, tuple[tuple[str, ...], Callable[[DocumentStore], Response]]] = {
    "_changes": (("GET", "HEAD", "POST"), changes),
    "_revs_diff": (("POST",), revs_diff),
    "_bulk_docs": (("POST",), bulk_docs),
    "_bulk_get": (("POST",), bulk_get),
    "_all_docs": (("GET", "HEAD", "POST"), all_docs),
    "_ensure_full_commit": (("POST",), ensure_full_commit),
}


# -- documents, _local documents, attachments ---------------------------------------------------


def document(store: DocumentStore, doc_id: str) -> Response:
    if request.method in ("GET", "HEAD"):
        return _get_document(store, doc_id)
    if request.method == "PUT":
        params = Params({"new_edits", "rev", "batch"})
        doc = read_object()
        doc["_id"] = doc_id
        if params.str("rev") is not None:
            doc["_rev"] = params.str("rev")
        (result,) = _checked_bulk_docs(store, [doc], params.bool("new_edits", True))
        if "error" in result:
            raise errors.from_result(result)
        return json_response(result, 201, {"ETag": f'"{result["rev"]}"'})
    if request.method == "DELETE":
        params = Params({"rev", "batch"})
        rev = params.str("rev") or request.headers.get("If-Match", "").strip('"') or None
        tombstone = {"_id": doc_id, "_rev": rev, "_deleted": True} if rev else {"_id": doc_id, "_deleted": True}
        (result,) = _checked_bulk_docs(store, [tombstone], True)
        if "error" in result:
            raise errors.from_result(result)
        return json_response(result, 200, {"ETag": f'"{result["rev"]}"'})
    raise MethodNotAllowed("Only GET, HEAD, PUT, DELETE allowed")


def _get_document(store: DocumentStore, doc_id: str) -> Response:
    _require_visible(store, doc_id)
    params = Params({"rev", "revs", "open_revs", "latest", "conflicts", "deleted_conflicts", "attachments",
                     "att_encoding_info", "revs_info", "local_seq", "meta"})
    for unsupported in ("revs_info", "local_seq", "meta"):
        if params.bool(unsupported):
            raise BadRequest(f"{unsupported}=true is not supported")
    attachments = params.bool("attachments")
    open_revs = params.str("open_revs")
    if open_revs is not None:
        wanted = "all" if open_revs == "all" else params.json("open_revs")
        if wanted != "all" and (not isinstance(wanted, list) or not all(isinstance(r, str) for r in wanted)):
            raise BadRequest("open_revs must be all or a JSON array of revisions")
        rows = reads.filter_revisions(store.open_revs(doc_id, wanted, latest=params.bool("latest"), attachments=attachments),
                                      _granted_now(store))
        if not params.bool("revs"):
            for row in rows:
                if "ok" in row:
                    row["ok"].pop("_revisions", None)
        return json_response(rows)
    doc = store.get(
        doc_id, params.str("rev"), revs=params.bool("revs"), conflicts=params.bool("conflicts"),
        deleted_conflicts=params.bool("deleted_conflicts"), attachments=attachments,
    )
    _require_readable(store, doc)
    granted = _granted_now(store)
    if granted is not None and doc.get("_conflicts"):  # only the leaves the reader could fetch
        readable = reads.readable_revs(store, doc_id, doc["_conflicts"], granted)
        doc["_conflicts"] = [rev for rev in doc["_conflicts"] if rev in readable]
        if not doc["_conflicts"]:
            del doc["_conflicts"]
    return json_response(doc, 200, {"ETag": f'"{doc["_rev"]}"'})


def local_doc(store: DocumentStore, local_id: str) -> Response:
    """``_local`` documents (checkpoints) are kept per user: each user reads and writes only their own.

    The store holds them as ``_local/~<user>~<id>``; the client sees its own id.
    """
    key = _local_key(local_id)
    if request.method in ("GET", "HEAD"):
        Params(set())
        return json_response({**store.get_local(key), "_id": local_id})
    if request.method == "PUT":
        Params({"rev", "batch"})
        doc = read_object()
        doc["_id"] = key
        return json_response({**store.put_local(doc), "id": local_id}, 201)
    if request.method == "DELETE":
        params = Params({"rev"})
        return json_response({**store.delete_local(key, params.str("rev")), "id": local_id})
    raise MethodNotAllowed("Only GET, HEAD, PUT, DELETE allowed")


def _local_key(local_id: str) -> str:
    return f"_local/~{g.user.name}~{local_id[len('_local/'):]}"


def attachment(store: DocumentStore, doc_id: str, name: str) -> Response:
    params = Params({"rev"})
    _require_visible(store, doc_id)
    if _grants() is not None:
        _require_readable(store, store.get(doc_id, params.str("rev")))
    att = store.get_attachment(doc_id, name, params.str("rev"))
    return Response(att.data, 200, content_type=att.content_type, headers={"ETag": f'"{att.digest}"'})
