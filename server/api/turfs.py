"""Turfs of a campaign: list, read, create or re-cut (re-assigning households), delete.

Also the helpers the other campaign endpoints share: roles (through
``server.access.auth.role_in``), the campaign's store, turf ids, If-Match, and ``reassign``.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import Counter
from datetime import UTC, datetime

import shapely
from flask import g, request
from flask.views import MethodView
from flask_smorest import abort

from schemas.turfs import Turf, TurfArgs, TurfDeleted, TurfIn, TurfSaved, TurfSummary
from server.geo import geometry as geo
from server.access.roles import MEMBERS, READERS, WRITERS
from server.api.blueprint import Blueprint
from server.services import store_of
from server.access.auth import api_authenticate, require_role
from sync.errors import Conflict, Forbidden, NotFound, SyncError
from sync.store import DocumentStore

log = logging.getLogger(__name__)

TURF_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
BATCH = 500
OVERLAP_MIN_M2 = 1.0  # slivers of hand-drawn borders are not overlaps

blp = Blueprint("turfs", __name__, url_prefix="/campaigns/<campaign>/turfs",
                description="Turfs: the areas volunteers canvass; households are assigned to them by location")


# --------------------------------------------------------------------------- shared helpers


def require_campaign_role(roles: tuple[str, ...], message: str, campaign: str | None = None) -> str:
    """The user's role in the campaign of this request (``auth.role_in``) if it is one of ``roles``; else 403."""
    if campaign is None:
        campaign = (request.view_args or {}).get("campaign")
    try:
        return require_role(campaign, roles, message)
    except Forbidden as exc:
        abort(403, message=exc.reason)


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


def prefixed_id(kind: str, given: str) -> str | None:
    """``<kind>:<id>`` for an id given with or without its prefix (turfs, meetings); None if it cannot be one."""
    bare = given.removeprefix(f"{kind}:")
    return f"{kind}:{bare}" if TURF_ID.fullmatch(bare) else None


def turf_doc_id(turf_id: str) -> str | None:
    """``turf:<id>`` for a turf id given with or without its ``turf:`` prefix; None if it cannot be one."""
    return prefixed_id("turf", turf_id)


def get_or_none(store: DocumentStore, doc_id: str) -> dict | None:
    try:
        return store.get(doc_id)
    except NotFound:
        return None


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


def save(store: DocumentStore, doc: dict, what: str) -> None:
    """Write ``doc`` (with the ``_rev`` it was read at); someone else's write in between is a 412."""
    try:
        store.put(doc)
    except Conflict:
        abort(412, message=f"The {what} has changed since you read it")


def docs_of_type(store: DocumentStore, prefix: str, kind: str) -> list[dict]:
    rows = store.all_docs(startkey=prefix, endkey=prefix + "\uffff", include_docs=True)["rows"]
    return [row["doc"] for row in rows if row.get("doc") and row["doc"].get("type") == kind]


def page(items: list, pagination_parameters) -> list:
    pagination_parameters.item_count = len(items)
    start = pagination_parameters.first_item
    return items[start:start + pagination_parameters.page_size]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def turf_shapes(turf_docs: list[dict]) -> dict[str, shapely.Geometry]:
    """Turf id -> checked geometry; a stored turf whose geometry is not good (written around the API) is skipped."""
    shapes = {}
    for doc in turf_docs:
        try:
            shapes[doc["_id"]] = geo.check_turf(doc.get("geometry"))
        except geo.GeoError as exc:
            log.warning("turf %s has a bad geometry and is left out: %s", doc["_id"], exc.message)
    return shapes


def location(doc: dict) -> tuple[float, float] | None:
    """(lon, lat) of a household, or None if it has no usable location."""
    loc = doc.get("location")
    if not isinstance(loc, dict):
        return None
    lon, lat = loc.get("lon"), loc.get("lat")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lon, lat)):
        return None
    return float(lon), float(lat)


def reassign(store: DocumentStore, shapes: dict[str, shapely.Geometry]) -> tuple[dict[str, str | None], int, list[str]]:
    """Re-assign every located household of the campaign to ``shapes`` (``geo.assign``); write the moved ones.

    Writes go through the store in batches.  A household edited at the same
    moment (a conflict) is read again and retried once; if that conflicts
    too, it is left as it is and named in the third result.  Returns the
    assignment of every located household, how many moved, and those conflicts.
    """
    located = {doc["_id"]: (doc, point) for doc in docs_of_type(store, "household:", "household")
               if (point := location(doc)) is not None}
    mapping = geo.assign(((hid, lon, lat) for hid, (_, (lon, lat)) in located.items()), shapes)
    moved = [{**doc, "turf": mapping[hid]} for hid, (doc, _) in located.items() if doc.get("turf") != mapping[hid]]
    retry: list[str] = []
    for start in range(0, len(moved), BATCH):
        for result in store.bulk_docs(moved[start:start + BATCH]):
            if "error" in result:
                retry.append(result["id"])
    conflicts = []
    for hid in retry:
        try:
            doc = store.get(hid)
            point = location(doc)
            turf = geo.assign([(hid, *point)], shapes)[hid] if point else doc.get("turf")
            if doc.get("turf") != turf:
                store.put({**doc, "turf": turf})
            mapping[hid] = turf
        except (SyncError, geo.GeoError):
            conflicts.append(hid)
    return mapping, len(moved) - len(conflicts), conflicts


def _summary(doc: dict, households: int) -> dict:
    return {"id": doc["_id"], "name": doc.get("name"), "drive": doc.get("drive"), "households": households,
            "rev": doc["_rev"]}


def _household_counts(store: DocumentStore) -> Counter:
    return Counter(turf for doc in docs_of_type(store, "household:", "household")
                   if isinstance(turf := doc.get("turf"), str))


def _end_assignments(store: DocumentStore, doc_id: str) -> None:
    """Assignments to a deleted turf end (active false), so the volunteers' phones learn it."""
    for doc in docs_of_type(store, "assignment:", "assignment"):
        if doc.get("turf") == doc_id and doc.get("active", True):
            try:
                store.put({**doc, "active": False, "updated_at": now(), "updated_by": g.user.name})
            except Conflict:
                pass  # changed at the same moment: whoever changed it decided


blp.before_request(api_authenticate)
blp.before_request(require_reader)


# --------------------------------------------------------------------------- endpoints


@blp.route("")
class Turfs(MethodView):
    @blp.arguments(TurfArgs, location="query")
    @blp.response(200, TurfSummary(many=True))
    @blp.paginate()
    def get(self, args: dict, campaign: str, pagination_parameters):
        """Every turf, by id, with how many households it has."""
        store = campaign_store(campaign)
        docs = [doc for doc in docs_of_type(store, "turf:", "turf") if args["drive"] in (None, doc.get("drive"))]
        counts = _household_counts(store)
        return [_summary(doc, counts[doc["_id"]]) for doc in page(docs, pagination_parameters)]


@blp.route("/<turf_id>")
class TurfResource(MethodView):
    @blp.response(200, Turf)
    @blp.alt_response(404, description="No such turf")
    def get(self, campaign: str, turf_id: str):
        """One turf with its GeoJSON geometry; its revision is the ETag."""
        store = campaign_store(campaign)
        doc_id = turf_doc_id(turf_id)
        doc = get_or_none(store, doc_id) if doc_id else None
        if doc is None or doc.get("type") != "turf":
            abort(404, message=f"No turf {turf_id!r}")
        count = _household_counts(store)[doc_id]
        return {**_summary(doc, count), "geometry": doc.get("geometry") or {}}, 200, {"ETag": f'"{doc["_rev"]}"'}

    @blp.arguments(TurfIn)
    @blp.response(200, TurfSaved)
    @blp.alt_response(409, description="The turf overlaps another turf of its drive (allow_overlap: false)")
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(422, description="The geometry is not a good Polygon or MultiPolygon, or the turf id is not one")
    @blp.alt_response(428, description="If-Match is required to replace a turf")
    def put(self, body: dict, campaign: str, turf_id: str):
        """Create a turf, or replace it with If-Match; households are re-assigned to the turfs that now cover them."""
        require_writer("turfs")
        doc_id = turf_doc_id(turf_id)
        if doc_id is None:
            abort(422, message="A turf id is 1-64 letters, digits, '.', '_' or '-' (not first)")
        store = campaign_store(campaign)
        try:
            shape = geo.check_turf(body["geometry"])
        except geo.GeoError as exc:
            abort(422, message=f"Bad geometry: {exc.message}", errors={"json": {"geometry": [exc.message]}})
        current = get_or_none(store, doc_id)
        check_if_match(current, "turf")
        others = [doc for doc in docs_of_type(store, "turf:", "turf") if doc["_id"] != doc_id]
        shapes = turf_shapes(others)
        if not body["allow_overlap"]:
            same_drive = {doc["_id"]: shapes[doc["_id"]] for doc in others
                          if doc["_id"] in shapes and doc.get("drive") == body["drive"]}
            found = [(b if a == doc_id else a, area)
                     for a, b, area in geo.overlaps({doc_id: shape, **same_drive}, min_area_m2=OVERLAP_MIN_M2)
                     if doc_id in (a, b)]
            if found:
                names = {doc["_id"]: doc.get("name") for doc in others}
                listed = ", ".join(f"{other} {names[other]!r} by {area:,.0f} m²" for other, area in found)
                drive = f"drive {body['drive']!r}" if body["drive"] is not None else "no drive"
                abort(409, message=f"{doc_id} overlaps {listed} ({drive}); send allow_overlap: true to keep it anyway",
                      errors={"overlaps": [{"turf": other, "area_m2": round(area, 1)} for other, area in found]})
        doc = {"_id": doc_id, "type": "turf", "name": body["name"], "drive": body["drive"],
               "geometry": json.loads(shapely.to_geojson(shape))}
        if current is not None:
            doc["_rev"] = current["_rev"]
        save(store, doc, "turf")
        mapping, moved, conflicts = reassign(store, {**shapes, doc_id: shape})
        saved = store.get(doc_id)
        count = sum(1 for turf in mapping.values() if turf == doc_id)
        return ({**_summary(saved, count), "geometry": saved["geometry"], "reassigned": moved, "conflicts": conflicts},
                200, {"ETag": f'"{saved["_rev"]}"'})

    @blp.response(200, TurfDeleted)
    @blp.alt_response(404, description="No such turf")
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(428, description="If-Match is required")
    def delete(self, campaign: str, turf_id: str):
        """Delete a turf (If-Match): its households go to another turf that covers them, or to none; its assignments end."""
        require_writer("turfs")
        store = campaign_store(campaign)
        doc_id = turf_doc_id(turf_id)
        current = get_or_none(store, doc_id) if doc_id else None
        if current is None or current.get("type") != "turf":
            abort(404, message=f"No turf {turf_id!r}")
        check_if_match(current, "turf")
        save(store, {"_id": doc_id, "_rev": current["_rev"], "_deleted": True}, "turf")
        _, moved, conflicts = reassign(store, turf_shapes(docs_of_type(store, "turf:", "turf")))
        _end_assignments(store, doc_id)
        return {"id": doc_id, "reassigned": moved, "conflicts": conflicts}
