"""Assignments of volunteers to turfs: a volunteer's phone receives the turfs it is assigned."""

from __future__ import annotations

from flask import g
from flask.views import MethodView
from flask_smorest import abort

from schemas.turfs import Assignment, AssignmentArgs
from server.access import channels
from server.access.auth import accounts, api_authenticate, role_in
from server.api.blueprint import Blueprint
from server.api.common import campaign_store, page, put, require_reader, require_writer
from server.documents.read import docs_of_type, get_or_none, now, turf_doc_id
from sync.errors import Conflict
from sync.store import DocumentStore

blp = Blueprint("assignments", __name__, url_prefix="/campaigns/<campaign>/assignments",
                description="Assignments: which user canvasses which turf (ended ones are kept, active false)")

blp.before_request(api_authenticate)
blp.before_request(require_reader)


def _view(doc: dict) -> dict:
    return {"id": doc["_id"], "user": doc.get("user"), "turf": doc.get("turf"), "active": doc.get("active", True),
            "updated_at": doc.get("updated_at"), "updated_by": doc.get("updated_by"), "rev": doc["_rev"]}


def _is_assignment(doc: dict, fresh: dict) -> bool:
    return all(doc.get(key) == fresh[key] for key in ("type", "user", "turf"))


def _set_active(store: DocumentStore, fresh: dict, active: bool) -> dict:
    """Set ``active`` on the assignment (``fresh``: as it is created if there is none).

    A conflict (an edit at the same moment) is retried once on a fresh read.
    """
    doc_id = fresh["_id"]
    current = get_or_none(store, doc_id)
    for attempt in (1, 2):
        if current is not None and not _is_assignment(current, fresh):
            # Another user's or turf's under this id: every write path refuses one now (documents.checks),
            # but a store written before it did may hold one; it is replaced.
            current = {**fresh, "_rev": current["_rev"]}
        elif current is not None and current.get("active", True) is active:
            return current
        try:
            put(store, {**(current or fresh), "active": active, "updated_at": now(), "updated_by": g.user.name})
            return store.get(doc_id)
        except Conflict:
            if attempt == 2:
                abort(409, message="The assignment was changed at the same moment; try again")
            current = get_or_none(store, doc_id)
    raise AssertionError("unreachable")


@blp.route("")
class Assignments(MethodView):
    @blp.arguments(AssignmentArgs, location="query")
    @blp.response(200, Assignment(many=True))
    @blp.paginate()
    def get(self, args: dict, campaign: str, pagination_parameters):
        """Assignments by id (user, then turf); filter by ?user=, ?turf=, ?active=."""
        store = campaign_store(campaign)
        user, turf, active = args["user"], args["turf"], args["active"]
        prefix = f"assignment:{user}:" if user is not None else "assignment:"
        docs = docs_of_type(store, prefix, "assignment")
        if turf is not None:
            docs = [doc for doc in docs if doc.get("turf") == turf_doc_id(turf)]
        if active is not None:
            docs = [doc for doc in docs if doc.get("active", True) is active]
        return [_view(doc) for doc in page(docs, pagination_parameters)]


@blp.route("/<user>/<turf_id>")
class AssignmentResource(MethodView):
    @blp.response(200, Assignment)
    @blp.alt_response(404, description="No such turf, or no such user with a role in the campaign")
    @blp.alt_response(409, description="Changed at the same moment, twice")
    def put(self, campaign: str, user: str, turf_id: str):
        """Assign the user to the turf (create, or reactivate an ended assignment)."""
        require_writer("assignments")
        store = campaign_store(campaign)
        doc_id = turf_doc_id(turf_id)
        turf = get_or_none(store, doc_id) if doc_id else None
        if turf is None or turf.get("type") != "turf":
            abort(404, message=f"No turf {turf_id!r}")
        found = accounts().get_user(user)
        if found is None or role_in(found, campaign) is None:
            abort(404, message=f"No user {user!r} in campaign {campaign!r} (give them a role there first)")
        fresh = {"_id": channels.assignment_id(user, doc_id), "type": "assignment", "user": user, "turf": doc_id}
        return _view(_set_active(store, fresh, True))

    @blp.response(200, Assignment)
    @blp.alt_response(404, description="No such assignment")
    @blp.alt_response(409, description="Changed at the same moment, twice")
    def delete(self, campaign: str, user: str, turf_id: str):
        """End the assignment: it is kept with active false, so the phone learns that it ended."""
        require_writer("assignments")
        store = campaign_store(campaign)
        doc_id = turf_doc_id(turf_id)
        base = get_or_none(store, channels.assignment_id(user, doc_id)) if doc_id else None
        if base is None or base.get("type") != "assignment":
            abort(404, message=f"No assignment of {user!r} to {turf_id!r}")
        return _view(_set_active(store, base, False))
