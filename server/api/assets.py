"""The asset map: assets (and visits) as streamed GeoJSON, exports as CSV or GeoJSON, one record's detail.

Everything is read from the campaign's ``assets`` index (``server.geo.asset_index``),
caught up with the store before each answer.  Admins, coordinators and
organizers read; volunteers are refused (they sync).
"""

from __future__ import annotations

from contextlib import closing

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import abort

from schemas.assets import AssetExportArgs, AssetFilter, AssetRecord
from server import exports, projection
from server.access import privacy
from server.access.auth import api_authenticate
from server.access.roles import READERS, ROSTER_READERS
from server.api.blueprint import Blueprint
from server.api.common import campaign_store, require_campaign_role
from server.documents.read import get_or_none
from server.geo import asset_index, geotags
from sync.errors import NotFound

blp = Blueprint("assets", __name__, url_prefix="/campaigns/<campaign>/assets",
                description="The asset map: geotagged assets and visits, their geotag flags, and their exports")
blp.before_request(api_authenticate)

GEOJSON = "application/geo+json"
IMAGES = {"image/jpeg", "image/png", "image/webp", "image/gif"}
_ERRORS = {"403": {"description": "Volunteers may not read the asset map"}, "404": {"description": "No such campaign"}}


def _index(campaign: str) -> tuple[projection.Projection, bool]:
    """The campaign's asset index, and whether the asking role sees roster data (``access.privacy``)."""
    role = require_campaign_role(READERS, "Only an admin, a coordinator or an organizer may read the asset map; "
                                 "volunteers sync", campaign)
    store = campaign_store(campaign)
    return projection.index(campaign, asset_index.KIND, store), role in ROSTER_READERS


def _filters(args: dict, roster: bool, **more) -> dict:
    """The filters, less the points of roster records for a role that may not see them."""
    return {**args, **more} if roster else {**args, **more, "roster": False}


def _stream(found: projection.Projection, args: dict | None, render, columns: str = asset_index.SELECTED):
    """A generator of the bytes ``render(rows)`` makes, on its own connection, closed at the end.

    ``args`` None: ``render`` gets the connection itself; ``columns``: what ``asset_index.select`` reads.
    """
    conn = found.read()

    def generate():
        with closing(conn):
            yield from render(conn if args is None else asset_index.select(conn, args, columns))

    return stream_with_context(generate())


@blp.route("")
class Assets(MethodView):
    @blp.arguments(AssetFilter, location="query")
    @blp.doc(responses={"200": {"description": "A GeoJSON FeatureCollection of Points, streamed; properties: id "
                                              "(record#item), record, item, category, name, drive, canvasser, "
                                              "captured_at, flags",
                                "content": {GEOJSON: {"schema": {"type": "object"}}}}, **_ERRORS})
    def get(self, args: dict, campaign: str):
        """The assets (or visits) in a bounding box, filtered, as GeoJSON for the map."""
        found, roster = _index(campaign)
        args = _filters(args, roster, located=True)
        body = _stream(found, args, lambda rows: exports.geojson_stream(asset_index.features(rows)))
        return Response(body, mimetype=GEOJSON)


@blp.route("/export")
class AssetExport(MethodView):
    @blp.arguments(AssetExportArgs, location="query")
    @blp.doc(responses={"200": {"description": "A download, streamed: CSV (latitude and longitude columns, one column "
                                              "per answer, cells safe against formula injection) or GeoJSON with "
                                              "every answer and check",
                                "content": {"text/csv": {"schema": {"type": "string"}},
                                            GEOJSON: {"schema": {"type": "object"}}}}, **_ERRORS})
    def get(self, args: dict, campaign: str):
        """Export the filtered assets (or visits) as CSV or GeoJSON."""
        found, roster = _index(campaign)
        args = _filters(args, roster)
        kind = "visits" if args["kind"] == "visit" else "assets"
        if args["format"] == "geojson":
            body = _stream(found, args, lambda rows: exports.geojson_stream(asset_index.features(rows, full=True)))
            mimetype, suffix = GEOJSON, "geojson"
        else:
            body = _stream(found, args, lambda rows: exports.csv_text_stream(asset_index.CSV_HEADER, asset_index.csv_lines(rows)),
                           asset_index.CSV_SELECTED)
            mimetype, suffix = "text/csv", "csv"
        return Response(body, mimetype=mimetype, headers={
            "Content-Disposition": f'attachment; filename="{campaign}-{kind}.{suffix}"'})


@blp.route("/turfs")
class AssetTurfs(MethodView):
    @blp.doc(responses={"200": {"description": "The campaign's turfs as a GeoJSON FeatureCollection (id, name)",
                                "content": {GEOJSON: {"schema": {"type": "object"}}}}, **_ERRORS})
    def get(self, campaign: str):
        """Every turf with its geometry, in one answer, for the map."""
        found, _ = _index(campaign)
        return Response(_stream(found, None, lambda conn: exports.geojson_stream(asset_index.turf_features(conn))),
                        mimetype=GEOJSON)


@blp.route("/records/<record_id>")
class AssetRecordResource(MethodView):
    @blp.response(200, AssetRecord)
    @blp.alt_response(403, description="Volunteers may not read the asset map")
    @blp.alt_response(404, description="No such campaign, or no geotagged record of that id")
    def get(self, campaign: str, record_id: str):
        """One record's visit and assets, with their answers, photos and geotag flags."""
        found, roster = _index(campaign)
        with closing(found.read()) as conn:
            rows = conn.execute(
                "SELECT item, lat, lon, accuracy, sflags | vflags, detail, speed, category, name, form, version, drive, "
                "author, turf, household, captured_at FROM points WHERE doc_id = ? ORDER BY item", (record_id,)).fetchall()
        store = campaign_store(campaign)
        doc = get_or_none(store, record_id)
        if not rows or doc is None or doc.get("type") != "record" or (not roster and privacy.is_roster_record(doc)):
            abort(404, message=f"No geotagged record {record_id!r}")
        try:
            conflicts = len(store.get(record_id, conflicts=True).get("_conflicts", []))
        except NotFound:
            conflicts = 0
        answers = doc.get("answers") if isinstance(doc.get("answers"), dict) else {}
        assets = answers.get("assets") if isinstance(answers.get("assets"), list) else []
        points = []
        for item, lat, lon, accuracy, flags, detail, speed, category, name, *_ in rows:
            if item == -1:
                mine = {k: v for k, v in answers.items() if k != "assets"}
            else:
                mine = assets[item] if item < len(assets) and isinstance(assets[item], dict) else {}
            photo = mine.get("photo") if isinstance(mine.get("photo"), str) else None
            points.append({"item": item, "lat": lat, "lon": lon, "accuracy_m": accuracy,
                           "flags": geotags.flag_names(flags), "checks": asset_index.checks_of(detail, speed),
                           "category": category, "name": name, "answers": mine, "photo": photo})
        _, _, _, _, _, _, _, _, _, form, version, drive, author, turf, household, captured_at = rows[0]
        return {"id": record_id, "form": form, "form_version": version, "drive": drive, "canvasser": author,
                "turf": turf, "household": household, "captured_at": captured_at, "conflicts": conflicts,
                "points": points}


@blp.route("/records/<record_id>/attachments/<name>")
class AssetAttachment(MethodView):
    @blp.doc(responses={"200": {"description": "The attachment's bytes (a photo: its image type)",
                                "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                                            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}},
                        "403": _ERRORS["403"], "404": {"description": "No such campaign, record or attachment"}})
    def get(self, campaign: str, record_id: str, name: str):
        """An attachment of a record (an asset's photo), for the map page's authenticated fetch."""
        _, roster = _index(campaign)
        store = campaign_store(campaign)
        doc = get_or_none(store, record_id)
        if doc is None or doc.get("type") != "record" or (not roster and privacy.is_roster_record(doc)):
            abort(404, message=f"No record {record_id!r}")
        try:
            attachment = store.get_attachment(record_id, name)
        except NotFound:
            abort(404, message=f"No attachment {name!r} on {record_id!r}")
        image = attachment.content_type in IMAGES
        headers = {"Content-Security-Policy": "default-src 'none'; sandbox", "X-Content-Type-Options": "nosniff",
                   "ETag": f'"{attachment.digest}"'}
        if not image:
            headers["Content-Disposition"] = "attachment"
        return Response(attachment.data, mimetype=attachment.content_type if image else "application/octet-stream",
                        headers=headers)

