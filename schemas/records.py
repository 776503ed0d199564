"""REST payloads about records and the conflicts review queue."""

from __future__ import annotations

from marshmallow import Schema, fields, validate, validates_schema, ValidationError

ANY = fields.Raw(allow_none=True)


class RecordArgs(Schema):
    form = fields.String(load_default=None, metadata={"description": "Only records of this form (form:<id>)"})
    turf = fields.String(load_default=None, metadata={"description": "Only records in this turf (turf:<id>)"})
    household = fields.String(load_default=None, metadata={"description": "Only records of this household"})
    author = fields.String(load_default=None, metadata={"description": "Only records by this canvasser"})
    conflicted = fields.Boolean(load_default=None,
                                metadata={"description": "true: only records with open conflicts; false: only without"})


class Record(Schema):
    id = fields.String(required=True, metadata={"description": "The record's document id"})
    rev = fields.String(required=True, metadata={"description": "The revision: send it back as If-Match to edit"})
    form = fields.String(allow_none=True)
    form_version = fields.Integer(allow_none=True)
    household = fields.String(allow_none=True)
    turf = fields.String(allow_none=True)
    author = fields.String(allow_none=True)
    device = fields.String(allow_none=True)
    answers = fields.Dict(required=True, metadata={"description": "The answers this role may see"})
    hidden = fields.List(fields.String(), required=True,
                         metadata={"description": "Answers left out: residents' personal data this role may not see"})
    geotag = fields.Dict(allow_none=True)
    open_conflicts = fields.List(fields.String(), required=True,
                                 metadata={"description": "Fields waiting for review (see /conflicts)"})
    merged = fields.Dict(allow_none=True, metadata={"description": "The last merge: {revs, changed: {rev: [fields]}}"})


class RecordEdit(Schema):
    answers = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=64)), values=ANY, required=True,
                          metadata={"description": "Answers to set; null removes an answer; others stay"})


class Head(Schema):
    value = ANY
    stamp = fields.String(required=True, metadata={"description": "<hlc>/<device>, or empty: from a client that does not stamp"})
    by = fields.String(allow_none=True, metadata={"description": "Who wrote the value"})
    device = fields.String(allow_none=True)
    at = fields.String(allow_none=True, metadata={"description": "When (ISO 8601, from the stamp's clock)"})
    geotag = fields.Dict(allow_none=True, metadata={"description": "Where that device recorded the visit"})


class Conflict(Schema):
    record = fields.String(required=True)
    rev = fields.String(required=True, metadata={"description": "Send it back as If-Match to resolve"})
    field = fields.String(required=True, metadata={"description": "answers.<name>, or a top-level field"})
    policy = fields.String(required=True)
    turf = fields.String(allow_none=True)
    household = fields.String(allow_none=True)
    form = fields.String(allow_none=True)
    form_version = fields.Integer(allow_none=True, metadata={"description": "The form version the record was filled in"})
    hidden = fields.Boolean(required=True, metadata={"description": "true: personal data this role may not see"})
    provisional = ANY
    heads = fields.List(fields.Nested(Head), required=True, metadata={"description": "Every competing value"})


class ConflictArgs(Schema):
    turf = fields.String(load_default=None, metadata={"description": "Only conflicts of this turf (turf:<id>)"})


class Resolution(Schema):
    choose = fields.Integer(validate=validate.Range(min=0),
                            metadata={"description": "The position in heads of the competing value to keep"})
    value = ANY

    @validates_schema
    def _one(self, data, **kwargs):
        if ("choose" in data) == ("value" in data):
            raise ValidationError("Send either choose (a competing value's position) or value (a new value)")
