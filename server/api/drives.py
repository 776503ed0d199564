"""Drives of a campaign: which forms each uses.

They live in the campaign's ``campaign:<id>`` document (its ``drives``
list), so they reach every phone of the campaign through the ``campaign``
channel with the campaign itself.  An edit of a drive is an edit of that
document: its revision is the ETag and If-Match.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort

from schemas.campaigns import Drive, DriveIn, DriveSaved
from server.access.auth import api_authenticate
from server.api.blueprint import Blueprint
from server.api.campaigns import campaign_doc, campaign_doc_id, drives_of
from server.api.common import campaign_store, check_if_match, page, require_member, require_writer, save
from server.documents.read import TURF_ID, get_or_none
from sync.store import DocumentStore

blp = Blueprint("drives", __name__, url_prefix="/campaigns/<campaign>/drives",
                description="Drives: asset mapping, recruitment, meeting awareness... and the forms each uses")
blp.before_request(api_authenticate)
blp.before_request(require_member)

DRIVE_ID = TURF_ID  # the same rule: letters, digits, '.', '_', '-'


def _form_ids(store: DocumentStore, names: list[str]) -> list[str]:
    """``form:<id>`` for each name; 422 for a form the campaign does not have (neither a draft nor version 1)."""
    out, unknown = [], []
    for name in names:
        doc_id = name if name.startswith("form:") else f"form:{name}"
        if get_or_none(store, doc_id) is None and get_or_none(store, f"{doc_id}@1") is None:
            unknown.append(name)
        out.append(doc_id)
    if unknown:
        abort(422, message=f"No form {', '.join(map(repr, unknown))} in this campaign",
              errors={"json": {"forms": [f"Unknown form {name!r}" for name in unknown]}})
    return list(dict.fromkeys(out))


def _save(store: DocumentStore, campaign: str, current: dict | None, drives: list[dict]) -> dict:
    base = current or {"_id": campaign_doc_id(campaign), "type": "campaign", "name": campaign}
    save(store, {**base, "drives": drives}, "campaign")
    return campaign_doc(store, campaign)


@blp.route("")
class Drives(MethodView):
    @blp.response(200, Drive(many=True))
    @blp.paginate()
    def get(self, campaign: str, pagination_parameters):
        """The campaign's drives, in the campaign document's order; its revision is the ETag."""
        doc = campaign_doc(campaign_store(campaign), campaign)
        headers = {"ETag": f'"{doc["_rev"]}"'} if doc else {}
        return page(drives_of(doc), pagination_parameters), 200, headers


@blp.route("/<drive_id>")
class DriveResource(MethodView):
    @blp.response(200, Drive)
    @blp.alt_response(404, description="No such drive")
    def get(self, campaign: str, drive_id: str):
        """One drive; the campaign document's revision is the ETag."""
        doc = campaign_doc(campaign_store(campaign), campaign)
        found = [d for d in drives_of(doc) if d["id"] == drive_id]
        if not found:
            abort(404, message=f"No drive {drive_id!r}")
        return found[0], 200, {"ETag": f'"{doc["_rev"]}"'}

    @blp.arguments(DriveIn)
    @blp.response(200, DriveSaved)
    @blp.alt_response(412, description="If-Match names another revision of the campaign document")
    @blp.alt_response(422, description="A bad drive id or an unknown form")
    @blp.alt_response(428, description="If-Match (the campaign document's revision) is required")
    def put(self, body: dict, campaign: str, drive_id: str):
        """Add or replace a drive (an admin or a coordinator), with If-Match: the campaign document's revision."""
        require_writer("drives")
        if DRIVE_ID.fullmatch(drive_id) is None:
            abort(422, message="A drive id is 1-64 letters, digits, '.', '_' or '-' (not first)")
        store = campaign_store(campaign)
        current = campaign_doc(store, campaign)
        check_if_match(current, "campaign")
        drive = {"id": drive_id, "name": body["name"], "forms": _form_ids(store, body["forms"])}
        drives = drives_of(current)
        at = next((i for i, d in enumerate(drives) if d["id"] == drive_id), None)
        if at is None:
            drives.append(drive)
        else:
            drives[at] = drive
        saved = _save(store, campaign, current, drives)
        return {**drive, "rev": saved["_rev"]}, 200, {"ETag": f'"{saved["_rev"]}"'}

    @blp.response(204)
    @blp.alt_response(404, description="No such drive")
    @blp.alt_response(412, description="If-Match names another revision of the campaign document")
    @blp.alt_response(428, description="If-Match is required")
    def delete(self, campaign: str, drive_id: str):
        """Remove a drive (an admin or a coordinator), with If-Match; its forms and turfs stay."""
        require_writer("drives")
        store = campaign_store(campaign)
        current = campaign_doc(store, campaign)
        drives = drives_of(current)
        if not any(d["id"] == drive_id for d in drives):
            abort(404, message=f"No drive {drive_id!r}")
        check_if_match(current, "campaign")
        _save(store, campaign, current, [d for d in drives if d["id"] != drive_id])
