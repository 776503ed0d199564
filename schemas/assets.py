"""REST payloads of the asset map: the filters (shared by the map, the exports and the CLI) and an asset's detail."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# The geotag flags, in the order of their bits (server.geo.geotags gives each its bit).
FLAG_NAMES = ("low_accuracy", "outside_turf", "far_from_household", "impossible_speed", "manual")


class Moment(fields.Field):
    """An ISO 8601 date (``2026-11-20``: its start, UTC) or date-time (no zone: UTC); loads as epoch seconds."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or len(value) > 40:
            raise ValidationError("An ISO 8601 date (2026-11-20) or date-time (2026-11-20T18:00:00Z)")
        text = value.strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValidationError("An ISO 8601 date (2026-11-20) or date-time (2026-11-20T18:00:00Z)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        try:
            return moment.timestamp()
        except (OverflowError, ValueError):
            raise ValidationError("A date between the years 1 and 9999") from None


class BBox(fields.Field):
    """``min_lon,min_lat,max_lon,max_lat`` in degrees; ``min_lon > max_lon`` crosses the antimeridian."""

    def _deserialize(self, value, attr, data, **kwargs):
        message = "min_lon,min_lat,max_lon,max_lat in degrees (longitudes -180..180, latitudes -90..90)"
        if not isinstance(value, str) or len(value) > 200:
            raise ValidationError(message)
        try:
            numbers = [float(part) for part in value.split(",")]
        except ValueError:
            raise ValidationError(message) from None
        if len(numbers) != 4 or not all(math.isfinite(n) for n in numbers):
            raise ValidationError(message)
        min_lon, min_lat, max_lon, max_lat = numbers
        if not (-180 <= min_lon <= 180 and -180 <= max_lon <= 180 and -90 <= min_lat <= max_lat <= 90):
            raise ValidationError(message)
        return (min_lon, min_lat, max_lon, max_lat)


def _names(description: str):
    return fields.List(fields.String(validate=validate.Length(min=1, max=200)), load_default=None,
                       validate=validate.Length(max=100), metadata={"description": description})


class AssetFilter(Schema):
    """What the map, the exports and ``blockwalk export assets`` select; every filter is optional."""

    bbox = BBox(load_default=None, metadata={"description": "min_lon,min_lat,max_lon,max_lat (WGS84 degrees)",
                                              "example": "-87.69,41.88,-87.66,41.90"})
    category = _names("Asset categories (category=school&category=clinic): any of them")
    drive = _names("Drives (asset_mapping, recruitment, meeting_awareness): any of them")
    form = _names("Forms, form:<id> or <id>: any of them")
    canvasser = _names("Canvassers (the records' author): any of them")
    since = Moment(load_default=None, metadata={"description": "Captured at or after (ISO date or date-time; UTC if no zone)"})
    until = Moment(load_default=None, metadata={"description": "Captured before (ISO date or date-time; a date: its start)"})
    flag = fields.List(fields.String(validate=validate.OneOf(FLAG_NAMES)), load_default=None,
                       validate=validate.Length(max=len(FLAG_NAMES)),
                       metadata={"description": "Only points with any of these geotag flags"})
    flagged = fields.Boolean(load_default=None, metadata={"description": "true: only flagged points; false: only unflagged"})
    kind = fields.String(load_default="asset", validate=validate.OneOf(("asset", "visit")),
                         metadata={"description": "asset (default): the assets mapped; visit: the records' own geotags"})
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=10_000_000),
                           metadata={"description": "At most this many"})

    @validates_schema
    def _order(self, data, **kwargs):
        if data.get("since") is not None and data.get("until") is not None and data["since"] > data["until"]:
            raise ValidationError("since is after until", "since")


class AssetExportArgs(AssetFilter):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "geojson")),
                           metadata={"description": "csv (latitude and longitude columns) or geojson"})


class Point(Schema):
    item = fields.Integer(required=True, metadata={"description": "-1: the visit's geotag; 0, 1, ...: the asset's place in the repeat"})
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    accuracy_m = fields.Float(allow_none=True)
    flags = fields.List(fields.String(), required=True)
    checks = fields.Dict(required=True, metadata={"description": "What was measured: household_m, outside_turf_m, "
                                                                 "accuracy_threshold_m, speed_kmh"})
    category = fields.String(allow_none=True)
    name = fields.String(allow_none=True)
    answers = fields.Dict(required=True, metadata={"description": "The asset's answers (for the visit: the record's other answers)"})
    photo = fields.String(allow_none=True, metadata={"description": "The photo's attachment name: GET .../attachments/<name>"})


class AssetRecord(Schema):
    id = fields.String(required=True, metadata={"description": "The record's id"})
    form = fields.String(allow_none=True)
    form_version = fields.Integer(allow_none=True)
    drive = fields.String(allow_none=True)
    canvasser = fields.String(allow_none=True)
    turf = fields.String(allow_none=True)
    household = fields.String(allow_none=True)
    captured_at = fields.String(allow_none=True)
    conflicts = fields.Integer(required=True, metadata={"description": "Conflicting revisions waiting in the conflict queue"})
    points = fields.List(fields.Nested(Point), required=True, metadata={"description": "The visit and each asset"})
