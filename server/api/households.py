"""Households of a campaign: import a CSV or GeoJSON file, list them (by turf)."""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath

from flask import request
from flask.views import MethodView
from flask_smorest import abort

from schemas.turfs import Household, HouseholdArgs, ImportReport
from server.access.auth import api_authenticate
from server.access.writes import Writer
from server.api.blueprint import Blueprint
from server.api.common import campaign_store, page, require_reader, require_writer, writer
from server.campaigns.turfs import BATCH, location, turf_shapes
from server.documents.read import docs_of_type, turf_doc_id
from server.documents.write import Writes
from server.geo import geometry as geo, households as household_lists
from server.services import services
from sync import jsonutil
from sync.store import DocumentStore

blp = Blueprint("households", __name__, url_prefix="/campaigns/<campaign>/households",
                description="Households: import from CSV or GeoJSON, deduplicated and assigned to turfs")

blp.before_request(api_authenticate)
blp.before_request(require_reader)

CSV_TYPES = {"text/csv", "application/csv", "text/plain"}
GEOJSON_TYPES = {"application/geo+json", "application/json"}
IMPORT_BODY = {
    "required": True,
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/geo+json": {"schema": {"type": "object", "description": "A FeatureCollection of Points"}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary",
                                    "description": "A .csv, or a .geojson / .json FeatureCollection"}},
        }},
    },
}


def household_id(key: tuple[str, str]) -> str:
    """A stable id from the address key: the same address and unit get the same id in every import."""
    return "household:" + hashlib.sha256("\x1f".join(key).encode()).hexdigest()[:24]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _view(doc: dict) -> dict:
    point = location(doc)
    return {"id": doc["_id"], "address": doc.get("address"), "unit": doc.get("unit"),
            "location": {"lon": point[0], "lat": point[1]} if point else None,
            "turf": doc.get("turf"), "extra": doc.get("extra") or {}, "rev": doc["_rev"]}


def _refuse(message: str, problems: list[household_lists.Problem] | None = None) -> None:
    errors = {"problems": [_problem(p) for p in problems]} if problems else None
    abort(422, message=message, **({"errors": errors} if errors else {}))


def _problem(p: household_lists.Problem) -> dict:
    return {"where": p.where, "row": p.row, "field": p.field, "message": p.message}


def _read_upload() -> tuple[str, bytes]:
    """("csv" | "geojson", the file's bytes) from a raw body or a multipart ``file``."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            _refuse("Send the file in the multipart field 'file'")
        data = upload.read()
        suffix = PurePosixPath(upload.filename or "").suffix.lower()
        if suffix == ".csv" or (not suffix and upload.mimetype in CSV_TYPES):
            return "csv", data
        if suffix in (".geojson", ".json") or (not suffix and upload.mimetype in GEOJSON_TYPES):
            return "geojson", data
        return ("geojson" if data.lstrip()[:1] == b"{" else "csv"), data
    if request.mimetype in CSV_TYPES:
        return "csv", request.get_data()
    if request.mimetype in GEOJSON_TYPES:
        return "geojson", request.get_data()
    abort(415, message="Send text/csv, application/geo+json, or a multipart/form-data upload in the field 'file'")


def _parse(kind: str, data: bytes) -> tuple[list[household_lists.Household], list[household_lists.Problem]]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _refuse(f"The file is not UTF-8 text (byte {exc.start})")
    if kind == "csv":
        return household_lists.parse_households_csv(text)
    try:
        obj = jsonutil.loads(text)  # orjson: nesting past its depth limit is an error, not a crash
    except ValueError as exc:
        _refuse(f"The file is not JSON: {exc}")
    return household_lists.parse_households_geojson(obj)


def _duplicate(dup_of: str, household: household_lists.Household, kind: str, kept_row: int | None) -> dict:
    return {"where": "line" if kind == "csv" else "feature", "row": household.source, "address": household.address,
            "unit": household.unit, "duplicate_of": dup_of, "duplicate_of_row": kept_row}


def import_households(store: DocumentStore, kind: str, data: bytes, through: Writes, who: Writer | None) -> dict:
    parsed, problems = _parse(kind, data)
    if problems and not parsed:
        _refuse("Nothing in the file could be imported", problems)
    unique, in_file = household_lists.dedupe(parsed)
    existing = {household_lists.address_key(_text(doc.get("address")), _text(doc.get("unit"))): doc["_id"]
                for doc in docs_of_type(store, "household:", "household")}
    duplicates = [_duplicate(existing.get(d.key) or household_id(d.key), d.household, kind, d.kept.source)
                  for d in in_file]
    new: dict[str, household_lists.Household] = {}
    for household in unique:
        key = household_lists.address_key(household.address, household.unit)
        if key in existing:
            duplicates.append(_duplicate(existing[key], household, kind, None))
        else:
            new[household_id(key)] = household
    shapes = turf_shapes(docs_of_type(store, "turf:", "turf"))
    turfs = geo.assign(((hid, h.lon, h.lat) for hid, h in new.items()), shapes)
    docs = [{"_id": hid, "type": "household", "address": h.address, "unit": h.unit or None,
             "location": {"lat": h.lat, "lon": h.lon}, "turf": turfs[hid], **({"extra": h.extra} if h.extra else {})}
            for hid, h in new.items()]
    created = unassigned = 0
    for start in range(0, len(docs), BATCH):
        batch = docs[start:start + BATCH]
        for doc, result in zip(batch, through.bulk(store, batch, who)):
            if result.get("error") == "conflict":  # stored at the same moment by another import: it is there already
                duplicates.append(_duplicate(doc["_id"], new[doc["_id"]], kind, None))
            elif "error" in result:  # refused by the write path (its rules are the file's: not expected)
                source = new[doc["_id"]]
                problems.append(household_lists.Problem("line" if kind == "csv" else "feature", source.source, None,
                                                        result["reason"]))
            else:
                created += 1
                unassigned += doc["turf"] is None
    duplicates.sort(key=lambda d: d["row"] if d["row"] is not None else -1)
    return {"created": created, "duplicates": duplicates, "problems": [_problem(p) for p in problems],
            "unassigned": unassigned}


@blp.route("")
class Households(MethodView):
    @blp.arguments(HouseholdArgs, location="query")
    @blp.response(200, Household(many=True))
    @blp.paginate()
    def get(self, args: dict, campaign: str, pagination_parameters):
        """Households by id; ?turf= for one turf's, ?unassigned=true for those in no turf, ?id= for those named."""
        store = campaign_store(campaign)
        docs = docs_of_type(store, "household:", "household")
        if args["turf"] is not None:
            doc_id = turf_doc_id(args["turf"])
            docs = [doc for doc in docs if doc_id is not None and doc.get("turf") == doc_id]
        if args["unassigned"]:
            docs = [doc for doc in docs if doc.get("turf") is None]
        if args["id"] is not None:
            wanted = set(args["id"])
            docs = [doc for doc in docs if doc["_id"] in wanted]
        return [_view(doc) for doc in page(docs, pagination_parameters)]


@blp.route("/import")
class Import(MethodView):
    @blp.doc(requestBody=IMPORT_BODY)
    @blp.response(200, ImportReport)
    @blp.alt_response(413, description="The file is larger than the server accepts")
    @blp.alt_response(415, description="Neither CSV nor GeoJSON")
    @blp.alt_response(422, description="Nothing in the file could be imported (every problem with its line or feature)")
    def post(self, campaign: str):
        """Import households from CSV or GeoJSON: deduplicated, assigned to turfs; bad rows are reported and skipped."""
        require_writer("households")
        store = campaign_store(campaign)
        kind, data = _read_upload()
        return import_households(store, kind, data, services().writes, writer())
