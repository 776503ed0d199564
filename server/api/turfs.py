"""Turfs of a campaign: list, read, create or re-cut (re-assigning households), delete."""

from __future__ import annotations

import json

import shapely
from flask.views import MethodView
from flask_smorest import abort

from schemas.turfs import Turf, TurfArgs, TurfDeleted, TurfIn, TurfSaved, TurfSummary
from server.access.auth import api_authenticate
from server.api.blueprint import Blueprint
from server.api.common import campaign_store, check_if_match, page, require_reader, require_writer, save, writer
from server.campaigns.turfs import end_assignments, household_counts, overlapping, reassign, turf_shapes
from server.documents import checks
from server.documents.read import docs_of_type, get_or_none, turf_doc_id
from server.services import services

blp = Blueprint("turfs", __name__, url_prefix="/campaigns/<campaign>/turfs",
                description="Turfs: the areas volunteers canvass; households are assigned to them by location")


def _summary(doc: dict, households: int) -> dict:
    return {"id": doc["_id"], "name": doc.get("name"), "drive": doc.get("drive"), "households": households,
            "rev": doc["_rev"]}


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
        counts = household_counts(store)
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
        count = household_counts(store)[doc_id]
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
            abort(422, message=checks.id_words("turf"))
        store = campaign_store(campaign)
        try:
            shape = checks.turf_shape(body["geometry"])  # the write path's own rule, read here for the overlaps
        except checks.Invalid as exc:
            abort(422, message=exc.reason, errors={"json": {"geometry": [exc.reason.removeprefix("Bad geometry: ")]}})
        current = get_or_none(store, doc_id)
        check_if_match(current, "turf")
        others = [doc for doc in docs_of_type(store, "turf:", "turf") if doc["_id"] != doc_id]
        shapes = turf_shapes(others)
        if not body["allow_overlap"]:
            found = overlapping(doc_id, shape, body["drive"], others, shapes)
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
        mapping, moved, conflicts = reassign(store, {**shapes, doc_id: shape}, services().writes, writer())
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
        who = writer()
        _, moved, conflicts = reassign(store, turf_shapes(docs_of_type(store, "turf:", "turf")), services().writes, who)
        end_assignments(store, doc_id, services().writes, who)
        return {"id": doc_id, "reassigned": moved, "conflicts": conflicts}
