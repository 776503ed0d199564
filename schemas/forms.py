"""REST payloads about forms."""

from __future__ import annotations

from marshmallow import Schema, fields


class FormSummary(Schema):
    id = fields.String(required=True, metadata={"description": "form:<form_id> (the draft) or form:<form_id>@<n>"})
    form_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["draft", "published"]})
    version = fields.Integer(allow_none=True)
    drive = fields.String(allow_none=True)
    title = fields.Dict(keys=fields.String(), values=fields.String())
    rev = fields.String(required=True, metadata={"description": "The revision: send it back as If-Match to edit"})


class FormDefinition(Schema):
    """A form definition as docs/forms.md describes it; the server checks it whole
    (``forms.definition``) and names every problem, so this schema only shapes it."""

    class Meta:
        unknown = "include"

    id = fields.String(data_key="_id", dump_only=True)
    rev = fields.String(data_key="_rev", dump_only=True)
    type = fields.String()
    form_id = fields.String()
    status = fields.String()
    version = fields.Integer(allow_none=True)
    drive = fields.String(allow_none=True)
    description = fields.Raw()
    title = fields.Dict(keys=fields.String(), values=fields.String())
    languages = fields.List(fields.String())
    default_language = fields.String()
    settings = fields.Dict()
    fields_ = fields.List(fields.Dict(), data_key="fields")
    choices = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()))
    changes = fields.List(fields.Dict())


class ImportArgs(Schema):
    publish = fields.Boolean(load_default=False, metadata={"description": "Publish the imported draft as the next version"})
    form_id = fields.String(load_default=None, metadata={"description": "The form's id, if the XLSForm has none"})


class XLSFormFile(Schema):
    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})
