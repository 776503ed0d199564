"""REST payloads about turfs, households and assignments."""

from __future__ import annotations

from marshmallow import Schema, fields, validate


class TurfArgs(Schema):
    drive = fields.String(load_default=None, metadata={"description": "Only the turfs of this drive"})


class TurfIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    drive = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100),
                          metadata={"description": "The drive the turf is cut for; turfs of one drive may not overlap"})
    geometry = fields.Dict(required=True, metadata={"description": "A GeoJSON Polygon or MultiPolygon, [lon, lat]"})
    allow_overlap = fields.Boolean(load_default=False,
                                   metadata={"description": "Keep the turf even where it overlaps another of its drive"})


class TurfSummary(Schema):
    id = fields.String(required=True, metadata={"description": "turf:<turf_id>"})
    name = fields.String(allow_none=True)
    drive = fields.String(allow_none=True)
    households = fields.Integer(required=True, metadata={"description": "How many households are in the turf"})
    rev = fields.String(required=True, metadata={"description": "The revision: send it back as If-Match to edit"})


class Turf(TurfSummary):
    geometry = fields.Dict(required=True, metadata={"description": "A GeoJSON Polygon or MultiPolygon, [lon, lat]"})


class TurfSaved(Turf):
    reassigned = fields.Integer(required=True, metadata={"description": "Households whose turf changed"})
    conflicts = fields.List(fields.String(), required=True,
                            metadata={"description": "Households edited at the same moment (twice): not moved"})


class TurfDeleted(Schema):
    id = fields.String(required=True)
    reassigned = fields.Integer(required=True, metadata={"description": "Households whose turf changed"})
    conflicts = fields.List(fields.String(), required=True)


class Location(Schema):
    lat = fields.Float(required=True)
    lon = fields.Float(required=True)


class Household(Schema):
    id = fields.String(required=True, metadata={"description": "household:<stable id>"})
    address = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    location = fields.Nested(Location, allow_none=True)
    turf = fields.String(allow_none=True, metadata={"description": "turf:<turf_id>, or null: in no turf"})
    extra = fields.Dict(metadata={"description": "The file's other columns or properties"})
    rev = fields.String(required=True)


class HouseholdArgs(Schema):
    turf = fields.String(load_default=None, metadata={"description": "Only the households of this turf"})
    unassigned = fields.Boolean(load_default=False, metadata={"description": "Only the households in no turf"})
    id = fields.List(fields.String(), load_default=None, validate=validate.Length(max=100),
                     metadata={"description": "Only these households (repeat: ?id=a&id=b; at most 100)"})


class ImportProblem(Schema):
    where = fields.String(allow_none=True, metadata={"enum": ["line", "feature", None],
                                                     "description": "null: the whole file"})
    row = fields.Integer(allow_none=True, metadata={"description": "CSV line (1-based, header is 1) or feature index (0-based)"})
    field = fields.String(allow_none=True)
    message = fields.String(required=True)


class ImportDuplicate(Schema):
    where = fields.String(required=True, metadata={"enum": ["line", "feature"]})
    row = fields.Integer(allow_none=True)
    address = fields.String(required=True)
    unit = fields.String(required=True)
    duplicate_of = fields.String(required=True, metadata={"description": "The household it duplicates"})
    duplicate_of_row = fields.Integer(allow_none=True, metadata={"description": "Its line or feature, if in this file"})


class ImportReport(Schema):
    created = fields.Integer(required=True)
    duplicates = fields.List(fields.Nested(ImportDuplicate), required=True)
    problems = fields.List(fields.Nested(ImportProblem), required=True)
    unassigned = fields.Integer(required=True, metadata={"description": "Created households in no turf"})


class Assignment(Schema):
    id = fields.String(required=True, metadata={"description": "assignment:<user>:turf:<turf_id>"})
    user = fields.String(required=True)
    turf = fields.String(required=True)
    active = fields.Boolean(required=True)
    updated_at = fields.String(allow_none=True)
    updated_by = fields.String(allow_none=True)
    rev = fields.String(required=True)


class AssignmentArgs(Schema):
    user = fields.String(load_default=None)
    turf = fields.String(load_default=None, metadata={"description": "A turf id (with or without turf:)"})
    active = fields.Boolean(load_default=None, allow_none=True, metadata={"description": "Only active (or ended) ones"})
