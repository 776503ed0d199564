"""What the REST resources share: who may call them, the campaign's store, revisions as ETags, pages.

Views translate HTTP: these turn a request into a role, a store and a
revision, and a refusal into the status and words the API answers with.
"""

from __future__ import annotations

from typing import Callable, NoReturn

from datetime import UTC, datetime

from flask import Response, g, request, stream_with_context
from flask_smorest import abort

from server.access import channels, writes
from server.access.auth import require_role
from server.access.roles import MEMBERS, READERS, WRITERS
from server.documents.checks import Invalid
from server.people import roster_export
from server.services import services, store_of
from sync import errors
from sync.errors import Conflict, Forbidden, NotFound, SyncError
from sync.store import DocumentStore


def require_campaign_role(roles: tuple[str, ...], message: str, campaign: str | None = None) -> str:
    """The user's role in the campaign of this request (``auth.role_in``) if it is one of ``roles``; else 403."""
    if campaign is None:
        campaign = (request.view_args or {}).get("campaign")
    try:
        return require_role(campaign, roles, message)
    except Forbidden as exc:
        abort(403, message=exc.reason)


def allow(roles: tuple[str, ...], message: str) -> Callable[[], None]:
    """A ``before_request`` (after ``api_authenticate``): 403 with ``message`` unless the user's role is one of ``roles``."""

    def check() -> None:
        require_campaign_role(roles, message)

    return check


def require_member() -> None:
    """``before_request`` of the blueprints everyone in the campaign may read (campaigns, forms, drives, meetings)."""
    if (request.view_args or {}).get("campaign") is not None:
        require_campaign_role(MEMBERS, "You have no role in this campaign")


def require_reader() -> None:
    """``before_request`` (after ``api_authenticate``) of the turf, household and assignment blueprints."""
    require_campaign_role(READERS, "Only an admin, a coordinator or an organizer may use this; volunteers sync")


def require_writer(what: str) -> None:
    require_campaign_role(WRITERS, f"Only an admin or a coordinator may change {what}")


def campaign_store(campaign: str) -> DocumentStore:
    try:
        return store_of().open_db(campaign)
    except (NotFound, SyncError):
        abort(404, message=f"No campaign {campaign!r}")


def check_if_match(current: dict | None, what: str) -> None:
    """The revision rule: editing ``current`` needs If-Match with its revision (428 without, 412 stale)."""
    match = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if current is None:
        if match:
            abort(412, message=f"If-Match names a revision, but there is no {what}")
        return
    if not match:
        abort(428, message=f"Send If-Match with the {what}'s revision to change it")
    if match != current["_rev"]:
        abort(412, message=f"The {what} has changed since you read it")


def writer(campaign: str | None = None) -> writes.Writer:
    """The signed-in user as the access policy knows a writer: name, role in the campaign, path ``api``.

    A volunteer carries the channels granted now, as on ``/sync`` (REST gates keep volunteers from writing,
    but the policy is asked the same way whoever asks).
    """
    if campaign is None:
        campaign = (request.view_args or {}).get("campaign")
    def granted_now() -> set[str]:
        return store_of().open_db(campaign).granted(channels.grants(g.user, campaign))

    return writes.writer_of(g.user, campaign, granted_now, via="api")


def put(store: DocumentStore, doc: dict, campaign: str | None = None) -> dict:
    """Write ``doc`` through the write path, as the signed-in user; raises the store's ``Conflict``.

    A document that does not fit its type's rules is a 422 with the reason, the access policy's refusal a
    403 with its reason.
    """
    try:
        return services().writes.put(store, doc, writer(campaign))
    except Forbidden as exc:  # checks.Invalid is a Forbidden too
        refused(exc)


def refused(problem: SyncError) -> NoReturn:
    """A refusal of the write path as the API answers it: 422 a document that does not fit its type, 403 the
    access policy's refusal, otherwise the error's own status; with the reason in words."""
    abort(422 if isinstance(problem, Invalid) else 403 if isinstance(problem, Forbidden) else problem.status,
          message=problem.reason)


def save(store: DocumentStore, doc: dict, what: str, campaign: str | None = None) -> dict:
    """Write ``doc`` (with the ``_rev`` it was read at) as ``put`` does; someone else's write in between is a 412."""
    try:
        return put(store, doc, campaign)
    except Conflict:
        abort(412, message=f"The {what} has changed since you read it")


def save_all(store: DocumentStore, docs: list[dict], what: str, campaign: str | None = None) -> list[dict]:
    """Write every one of ``docs`` or, where one cannot be written, none of them: answered as ``save`` answers.

    The write path judges them all first (a refusal writes nothing); then they are written in one batch,
    and a conflict on any (someone else's write in between) takes back those written, so a 412 leaves
    the documents as they were read.
    """
    path, who = services().writes, writer(campaign)
    for problem in path.judge(store, docs, who):
        if problem is not None:
            refused(problem)
    results = store.bulk_docs(docs) if docs else []
    if all("error" not in r for r in results):
        return results
    undo = []
    for doc, result in zip(docs, results, strict=True):
        if "error" in result:
            continue
        if doc.get("_rev"):  # written over what was read: put what was read back
            try:
                before = store.get(doc["_id"], doc["_rev"])
            except SyncError:
                continue  # the revision read is no longer kept: nothing to put back
            undo.append({**before, "_rev": result["rev"]})
        else:  # created: deleted again
            undo.append({"_id": doc["_id"], "_rev": result["rev"], "_deleted": True})
    if undo:
        store.bulk_docs(undo)
    failed = errors.from_result(next(r for r in results if "error" in r))
    if isinstance(failed, Conflict):
        abort(412, message=f"The {what} has changed since you read it")
    abort(failed.status if failed.status in (413, 503) else 422, message=failed.reason)


def page(items: list, pagination_parameters) -> list:
    pagination_parameters.item_count = len(items)
    start = pagination_parameters.first_item
    return items[start:start + pagination_parameters.page_size]


EXPORT_RESPONSES = {"200": {"description": "The file (CSV or XLSX), streamed", "content": {
    "text/csv": {"schema": {"type": "string"}},
    roster_export.FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
}}}


def file_response(body, fmt: str, name: str) -> Response:
    """A streamed download (CSV or XLSX) that a browser saves as ``name``."""
    return Response(stream_with_context(body), mimetype=roster_export.FORMATS[fmt].split(";")[0],
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def logged_file(campaign: str, kind: str, fmt: str, label: str, header: list[str], rows, filter_: dict):
    log, who = services().export_log, g.user.name

    def done(count: int, complete: bool) -> None:
        log.record(campaign=campaign, who=who, kind=kind, format=fmt, preset=None, filter=filter_, rows=count,
                   complete=complete)

    body = roster_export.stream(header, rows, fmt, done, sheet=kind.capitalize())
    return file_response(body, fmt, roster_export.file_name(kind, campaign, label, fmt, datetime.now(UTC)))
