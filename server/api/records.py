"""Records of a campaign: list (filters, pages), read, and coordinators' edits under If-Match.

Also what the conflicts endpoints share: who may read and write records,
which answers are residents' personal data, and the stamped write
(``server.records.conflicts.stamp``) that every REST edit goes through.  Volunteers
use /sync.
"""

from __future__ import annotations

from flask import g, request
from flask.views import MethodView
from flask_smorest import abort

from schemas.records import Record, RecordArgs, RecordEdit
from server.access import privacy
from server.access.auth import api_authenticate, role_in
from server.access.roles import ROSTER_READERS
from server.api.blueprint import Blueprint
from server.api.common import campaign_store, check_if_match, page, require_reader, require_writer, save
from server.documents.read import docs_of_type, get_or_none
from server.records import conflicts
from sync.errors import SyncError
from sync.merge import open_conflicts
from sync.store import DocumentStore

blp = Blueprint("records", __name__, url_prefix="/campaigns/<campaign>/records",
                description="Records: the answers canvassers collected, and coordinators' corrections")


def role() -> str | None:
    return role_in(g.user, (request.view_args or {}).get("campaign"))


blp.before_request(api_authenticate)
blp.before_request(require_reader)


def _form(store: DocumentStore, record: dict) -> dict | None:
    form, version = record.get("form"), record.get("form_version")
    if not isinstance(form, str) or type(version) is not int:
        return None
    found = get_or_none(store, f"{form}@{version}")
    return found if found and found.get("type") == "form" else None


def hidden_fields(store: DocumentStore, record: dict) -> set[str]:
    """The fields (``answers.<name>``, ``geotag``) the asking role may not see in ``record`` (``access.privacy``)."""
    if role() in ROSTER_READERS:
        return set()
    return privacy.private_fields(record, _form(store, record))


def get_record(store: DocumentStore, record_id: str) -> dict:
    doc = get_or_none(store, record_id)
    if doc is None or doc.get("type") != "record":
        abort(404, message=f"No record {record_id!r}")
    return doc


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def show(store: DocumentStore, doc: dict) -> dict:
    hidden = hidden_fields(store, doc)
    answers = doc.get("answers") if isinstance(doc.get("answers"), dict) else {}
    version = doc.get("form_version")
    return {
        "id": doc["_id"], "rev": doc["_rev"], "form": _text(doc.get("form")),
        "form_version": version if type(version) is int else None,
        "household": _text(doc.get("household")), "turf": _text(doc.get("turf")), "author": _text(doc.get("author")),
        "device": _text(doc.get("device")),
        "answers": {k: v for k, v in answers.items() if f"answers.{k}" not in hidden},
        "hidden": sorted(f for f in hidden if f.startswith("answers.") and f[len("answers."):] in answers),
        "geotag": doc.get("geotag") if isinstance(doc.get("geotag"), dict) and "geotag" not in hidden else None,
        "open_conflicts": sorted(open_conflicts(doc)),
        "merged": doc.get("merged") if isinstance(doc.get("merged"), dict) else None,
    }


def save_edit(store: DocumentStore, current: dict, after: dict, touched: tuple[str, ...] = ()) -> dict:
    """Stamp, check against the record's form and store an edit of ``current``; answers the saved record."""
    doc = conflicts.stamp(current, {**after, "updated_by": g.user.name}, g.user.name, touched)
    doc["_rev"] = current["_rev"]
    try:
        save(store, doc, "record")  # the write path, as the signed-in user: 422 a misfit, 403 the policy's, 412
    except SyncError as exc:
        abort(422, message=exc.reason)
    saved = store.get(doc["_id"])
    return show(store, saved), 200, {"ETag": f'"{saved["_rev"]}"'}


def records(store: DocumentStore) -> list[dict]:
    return docs_of_type(store, "record:", "record")


@blp.route("")
class Records(MethodView):
    @blp.arguments(RecordArgs, location="query")
    @blp.response(200, Record(many=True))
    @blp.paginate()
    def get(self, args: dict, campaign: str, pagination_parameters):
        """Records by id, filtered by form, turf, household, author or open conflicts."""
        store = campaign_store(campaign)
        wanted = [doc for doc in records(store)
                  if all(args[key] in (None, doc.get(key)) for key in ("form", "turf", "household", "author"))
                  and args["conflicted"] in (None, bool(open_conflicts(doc)))]
        return [show(store, doc) for doc in page(wanted, pagination_parameters)]


@blp.route("/<record_id>")
class RecordResource(MethodView):
    @blp.response(200, Record)
    @blp.alt_response(404, description="No such record")
    def get(self, campaign: str, record_id: str):
        """One record; its revision is the ETag."""
        store = campaign_store(campaign)
        doc = get_record(store, record_id)
        return show(store, doc), 200, {"ETag": f'"{doc["_rev"]}"'}

    @blp.arguments(RecordEdit)
    @blp.response(200, Record)
    @blp.alt_response(403, description="Not a writer, or an answer this role may not see")
    @blp.alt_response(404, description="No such record")
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(422, description="The answers do not fit the record's form")
    @blp.alt_response(428, description="If-Match is required")
    def patch(self, body: dict, campaign: str, record_id: str):
        """Correct answers (If-Match): the edit is stamped by the server and replicates to the phones."""
        require_writer("records")
        store = campaign_store(campaign)
        current = get_record(store, record_id)
        check_if_match(current, "record")
        blocked = hidden_fields(store, current)
        if any(f"answers.{k}" in blocked for k in body["answers"]):
            abort(403, message="Only an admin or an organizer may see or change residents' personal data")
        answers = dict(current.get("answers") or {})
        for name, value in body["answers"].items():
            if value is None:
                answers.pop(name, None)
            else:
                answers[name] = value
        return save_edit(store, current, {**current, "answers": answers})

