"""Meetings of a campaign: ``meeting:<id>`` documents (title and notice per language, date, place, languages).

They reach every phone of the campaign through the ``campaign`` channel, so
canvassers can tell residents when and where, in their language.
Coordinators and admins write them, with the document's revision as ETag.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort

from schemas.campaigns import Meeting, MeetingIn
from server.access.auth import api_authenticate
from server.api.blueprint import Blueprint
from server.api.common import campaign_store, check_if_match, page, require_member, require_writer, save
from server.documents.read import docs_of_type, get_or_none, prefixed_id

blp = Blueprint("meetings", __name__, url_prefix="/campaigns/<campaign>/meetings",
                description="Meetings: when and where, in which languages (synced to every phone of the campaign)")
blp.before_request(api_authenticate)
blp.before_request(require_member)


def _view(doc: dict) -> dict:
    title = doc.get("title")
    languages = doc.get("languages")
    notice = doc.get("notice")
    return {"id": doc["_id"], "title": title if isinstance(title, dict) else {},
            "notice": {k: v for k, v in notice.items() if isinstance(v, str)} if isinstance(notice, dict) else {},
            "starts_at": str(doc.get("starts_at") or ""), "ends_at": doc.get("ends_at"),
            "place": str(doc.get("place") or ""), "languages": languages if isinstance(languages, list) else [],
            "rev": doc["_rev"]}


def _existing(store, meeting_id: str) -> dict:
    doc_id = prefixed_id("meeting", meeting_id)
    doc = get_or_none(store, doc_id) if doc_id else None
    if doc is None or doc.get("type") != "meeting":
        abort(404, message=f"No meeting {meeting_id!r}")
    return doc


@blp.route("")
class Meetings(MethodView):
    @blp.response(200, Meeting(many=True))
    @blp.paginate()
    def get(self, campaign: str, pagination_parameters):
        """The campaign's meetings, soonest first (anyone with a role in the campaign)."""
        docs = sorted(docs_of_type(campaign_store(campaign), "meeting:", "meeting"),
                      key=lambda doc: (str(doc.get("starts_at") or ""), doc["_id"]))
        return [_view(doc) for doc in page(docs, pagination_parameters)]


@blp.route("/<meeting_id>")
class MeetingResource(MethodView):
    @blp.response(200, Meeting)
    @blp.alt_response(404, description="No such meeting")
    def get(self, campaign: str, meeting_id: str):
        """One meeting; its revision is the ETag."""
        doc = _existing(campaign_store(campaign), meeting_id)
        return _view(doc), 200, {"ETag": f'"{doc["_rev"]}"'}

    @blp.arguments(MeetingIn)
    @blp.response(200, Meeting)
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(422, description="A bad meeting id, date, place or language")
    @blp.alt_response(428, description="If-Match is required to replace a meeting")
    def put(self, body: dict, campaign: str, meeting_id: str):
        """Create a meeting, or replace it with If-Match (an admin or a coordinator)."""
        require_writer("meetings")
        doc_id = prefixed_id("meeting", meeting_id)
        if doc_id is None:
            abort(422, message="A meeting id is 1-64 letters, digits, '.', '_' or '-' (not first)")
        store = campaign_store(campaign)
        current = get_or_none(store, doc_id)
        check_if_match(current, "meeting")
        doc = {"_id": doc_id, "type": "meeting", "title": body["title"],
               "notice": {k: v for k, v in body["notice"].items() if v.strip()}, "starts_at": body["starts_at"].isoformat(),
               "ends_at": body["ends_at"].isoformat() if body["ends_at"] else None, "place": body["place"],
               "languages": body["languages"]}
        if current is not None:
            doc["_rev"] = current["_rev"]
        save(store, doc, "meeting")
        saved = store.get(doc_id)
        return _view(saved), 200, {"ETag": f'"{saved["_rev"]}"'}

    @blp.response(204)
    @blp.alt_response(404, description="No such meeting")
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(428, description="If-Match is required")
    def delete(self, campaign: str, meeting_id: str):
        """Delete a meeting (an admin or a coordinator), with If-Match; phones receive the deletion."""
        require_writer("meetings")
        store = campaign_store(campaign)
        current = _existing(store, meeting_id)
        check_if_match(current, "meeting")
        save(store, {"_id": current["_id"], "_rev": current["_rev"], "_deleted": True}, "meeting")
