"""Campaigns and who has a role in each.

A campaign is a database (``/sync/<id>``) and its ``campaign:<id>``
document, which holds its name, description and drives and reaches every
phone of the campaign through the ``campaign`` channel.  Roles in a
campaign are kept with the users (``server.access.accounts``), never synced.
"""

from __future__ import annotations

import secrets

from flask import g
from flask.views import MethodView
from flask_smorest import abort

from schemas.campaigns import Campaign, CampaignIn, CampaignPatch, Member, MemberIn, NewVolunteer
from server.access.accounts import AccountError, NAME, UserExists
from server.access.auth import accounts, api_authenticate, role_in
from server.access.roles import READERS
from server.api.blueprint import Blueprint
from server.api.common import campaign_store, check_if_match, page, require_campaign_role, require_member, save
from server.documents import checks
from server.documents.checks import Invalid
from server.documents.read import get_or_none
from server.services import store_of
from sync.errors import PreconditionFailed, SyncError
from sync.store import DocumentStore

blp = Blueprint("campaigns", __name__, url_prefix="/campaigns",
                description="Campaigns (one database each), and the roles people have in them")
blp.before_request(api_authenticate)
blp.before_request(require_member)  # on /campaigns/<campaign>/...: 403 before anything else

DEFAULT_OFFLINE_MAP_MB = 25


def campaign_doc_id(campaign: str) -> str:
    return f"campaign:{campaign}"


def campaign_doc(store: DocumentStore, campaign: str) -> dict | None:
    doc = get_or_none(store, campaign_doc_id(campaign))
    return doc if doc is not None and doc.get("type") == "campaign" else None


def drives_of(doc: dict | None) -> list[dict]:
    """The drives of a campaign document, as the API shows them (a bare name: a drive of that id)."""
    out = []
    for drive in (doc or {}).get("drives") or []:
        if isinstance(drive, str):
            drive = {"id": drive}
        if isinstance(drive, dict) and isinstance(drive.get("id"), str):
            forms = [f for f in drive.get("forms") or [] if isinstance(f, str)]
            out.append({"id": drive["id"], "name": drive.get("name") or drive["id"], "forms": forms})
    return out


def _view(campaign: str, doc: dict | None) -> dict:
    doc = doc or {}
    return {"id": campaign, "name": doc.get("name") or campaign, "description": doc.get("description") or "",
            "role": role_in(g.user, campaign), "drives": drives_of(doc),
            "time_zone": doc.get("time_zone") if isinstance(doc.get("time_zone"), str) else "UTC",
            "offline_map_mb": _offline_map_mb(doc), "rev": doc.get("_rev")}


def _offline_map_mb(doc: dict) -> int:
    """The phones' base-map limit; the app reads the same field of the synced document (mobile-shell tiles.js)."""
    value = doc.get("offline_map_mb")
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else DEFAULT_OFFLINE_MAP_MB


def _etag(doc: dict | None) -> dict:
    return {"ETag": f'"{doc["_rev"]}"'} if doc else {}


def _member_reader(campaign: str) -> None:
    require_campaign_role(READERS, "Only an admin, a coordinator or an organizer may see who is in a campaign", campaign)


@blp.route("")
class Campaigns(MethodView):
    @blp.response(200, Campaign(many=True))
    @blp.paginate()
    def get(self, pagination_parameters):
        """The campaigns you have a role in (an admin: every campaign), by id, with your role."""
        names = [name for name in store_of().list_dbs() if role_in(g.user, name) is not None]
        return [_view(name, campaign_doc(campaign_store(name), name)) for name in page(names, pagination_parameters)]

    @blp.arguments(CampaignIn)
    @blp.response(201, Campaign)
    @blp.alt_response(403, description="Not an admin")
    @blp.alt_response(409, description="A campaign (database) of that id exists")
    def post(self, new: dict):
        """Create a campaign: its database and its campaign document (admin)."""
        require_campaign_role(("admin",), "Only an admin may create a campaign", None)
        doc = {"_id": campaign_doc_id(new["id"]), "type": "campaign", "name": new["name"],
               "description": new["description"], "time_zone": new["time_zone"], "drives": []}
        try:
            checks.check(doc, doc["_id"])  # before the database is made: a refused campaign leaves nothing behind
        except Invalid as exc:
            abort(422, message=exc.reason)
        try:
            store = store_of().create_db(new["id"])
        except PreconditionFailed:
            abort(409, message=f"Campaign {new['id']!r} exists already")
        except SyncError as exc:
            abort(422, message=exc.reason)
        save(store, doc, "campaign", new["id"])
        doc = campaign_doc(store, new["id"])
        return _view(new["id"], doc), 201, _etag(doc)


@blp.route("/<campaign>")
class CampaignResource(MethodView):
    @blp.response(200, Campaign)
    @blp.alt_response(403, description="No role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    def get(self, campaign: str):
        """One campaign (anyone with a role in it); its document's revision is the ETag."""
        doc = campaign_doc(campaign_store(campaign), campaign)
        return _view(campaign, doc), 200, _etag(doc)

    @blp.arguments(CampaignPatch)
    @blp.response(200, Campaign)
    @blp.alt_response(403, description="Not an admin or a coordinator of the campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(428, description="If-Match is required once the campaign document exists")
    def patch(self, changes: dict, campaign: str):
        """Change the name, description, time zone or phones' base-map limit (an admin or a coordinator), with If-Match."""
        require_campaign_role(("admin", "coordinator"), "Only an admin or a coordinator may change a campaign", campaign)
        store = campaign_store(campaign)
        current = campaign_doc(store, campaign)
        check_if_match(current, "campaign")
        base = current or {"_id": campaign_doc_id(campaign), "type": "campaign", "name": campaign, "drives": []}
        save(store, {**base, **changes}, "campaign")
        doc = campaign_doc(store, campaign)
        return _view(campaign, doc), 200, _etag(doc)


@blp.route("/<campaign>/members")
class Members(MethodView):
    @blp.response(200, Member(many=True))
    @blp.alt_response(403, description="Not an admin, a coordinator or an organizer of the campaign")
    @blp.paginate()
    def get(self, campaign: str, pagination_parameters):
        """Who has a role in the campaign, by name (admins, who hold theirs everywhere, are not listed)."""
        _member_reader(campaign)
        campaign_store(campaign)
        members = [{"user": u.name, "role": u.roles[campaign], "full_name": u.full_name}
                   for u in accounts().member_users(campaign)]
        return page(members, pagination_parameters)


@blp.route("/<campaign>/volunteers")
class Volunteers(MethodView):
    @blp.arguments(NewVolunteer)
    @blp.response(201, Member)
    @blp.alt_response(403, description="Not an admin or a coordinator of the campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.alt_response(409, description="A user of that name exists")
    @blp.alt_response(422, description="A bad user name")
    def post(self, new: dict, campaign: str):
        """Add a volunteer to the campaign (an admin or a coordinator): a new user with the volunteer role there.

        The user has no password anyone knows (a random one, never shown):
        they sign in on their phone with a one-time sign-in code
        (``POST /signin-codes``).  A name that is taken is a 409; give an
        existing user the role with ``PUT .../members/{user}``.
        """
        _may_change(campaign, None, "volunteer")
        campaign_store(campaign)
        try:
            user = accounts().add_user(new["name"], "volunteer", secrets.token_urlsafe(24), campaign,
                                       full_name=new["full_name"].strip())
        except UserExists:
            abort(409, message=f"There is already a user named {new['name']!r}; give them the volunteer role instead")
        except AccountError as exc:
            abort(422, message=str(exc))
        return {"user": user.name, "role": "volunteer", "full_name": user.full_name}


def _existing(name: str):
    user = accounts().get_user(name) if NAME.fullmatch(name) else None
    if user is None:
        abort(404, message=f"No user {name!r}")
    return user


def _may_change(campaign: str, current: str | None, new: str | None) -> None:
    """An admin gives any role; a coordinator gives and takes away the volunteer role only."""
    role = require_campaign_role(("admin", "coordinator"),
                                 "Only an admin or a coordinator may change who is in a campaign", campaign)
    if role == "coordinator" and {current, new} - {None, "volunteer"}:
        abort(403, message="A coordinator may give or take away the volunteer role only")


@blp.route("/<campaign>/members/<user>")
class MemberResource(MethodView):
    @blp.arguments(MemberIn)
    @blp.response(200, Member)
    @blp.alt_response(403, description="Not allowed to give that role")
    @blp.alt_response(404, description="No such campaign or user")
    def put(self, body: dict, campaign: str, user: str):
        """Give the user a role in the campaign (admin: any; coordinator: volunteer); holds within 30 s on every process."""
        _may_change(campaign, None, body["role"])
        campaign_store(campaign)
        found = _existing(user)
        _may_change(campaign, role_in(found, campaign), body["role"])
        try:
            accounts().set_role(user, campaign, body["role"])
        except AccountError as exc:
            abort(409, message=str(exc))
        return {"user": user, "role": body["role"], "full_name": found.full_name}

    @blp.response(204)
    @blp.alt_response(403, description="Not allowed to take that role away")
    @blp.alt_response(404, description="No such campaign, user or role")
    def delete(self, campaign: str, user: str):
        """Take the user's role in the campaign away: their phones get 403 there within 30 s (their assignments stay)."""
        _may_change(campaign, None, None)
        campaign_store(campaign)
        found = _existing(user)
        if campaign not in found.roles:
            abort(404, message=f"{user!r} has no role in {campaign!r}")
        _may_change(campaign, role_in(found, campaign), None)
        try:
            accounts().set_role(user, campaign, None)
        except AccountError as exc:
            abort(409, message=str(exc))
