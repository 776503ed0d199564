"""REST payloads between meetings: concerns from the doors, issues, the follow-up chart, the status at a door."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.accounts import Text
from schemas.reports import FORMATS

# server.reports.follow_up.STATUSES (schemas import no other layer)
STATUSES = ["raised", "open", "in_progress", "done", "dropped"]
KINDS = ["person", "organization"]
LANGUAGE = {"validate": validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", error="Not a language tag (en, es)")}


def _texts(max_length: int, **kwargs) -> fields.Dict:
    return fields.Dict(keys=Text(**LANGUAGE), values=Text(validate=validate.Length(max=max_length)),
                       validate=validate.Length(max=20), **kwargs)


class ConcernArgs(Schema):
    meeting = Text(load_default=None, metadata={"description": "Only this meeting's concerns (meeting:<id>)"})
    turf = Text(load_default=None, metadata={"description": "Only this turf's concerns (turf:<id>)"})


class Concern(Schema):
    id = fields.String(required=True, metadata={"description": "<record id>#<field>"})
    text = fields.String(required=True)
    household = fields.String(allow_none=True)
    address = fields.String(allow_none=True, metadata={"description": "The household's address, with its unit"})
    turf = fields.String(allow_none=True)
    turf_name = fields.String(allow_none=True)
    meeting = fields.String(allow_none=True, metadata={"description": "The meeting it is for (meeting:<id>)"})
    language = fields.String(allow_none=True, metadata={"description": "The language spoken at the door"})
    at = fields.String(allow_none=True, metadata={"format": "date-time"})
    issue = fields.String(allow_none=True, metadata={"description": "The issue it is grouped into (issue:<id>)"})


class Milestone(Schema):
    title = Text(required=True, validate=validate.Length(min=1, max=200))
    due = fields.Date(load_default=None, allow_none=True)
    done = fields.Boolean(load_default=False)


class Task(Schema):
    responsible = Text(required=True, validate=validate.Length(min=1, max=200),
                       metadata={"description": "A person, or a partner organization (the police liaison officer)"})
    responsible_kind = fields.String(load_default="person", validate=validate.OneOf(KINDS))
    due = fields.Date(required=True, metadata={"description": "A day in the campaign's time zone"})
    milestones = fields.List(fields.Nested(Milestone), load_default=list, validate=validate.Length(max=50))


class IssueIn(Schema):
    title = _texts(300, required=True, metadata={"description": "The issue's title in each language"})
    meeting = Text(load_default=None, allow_none=True, metadata={"description": "The meeting whose agenda it is on"})
    concerns = fields.List(Text(validate=validate.Length(min=1, max=200)), load_default=list,
                           validate=validate.Length(max=1000),
                           metadata={"description": "The concerns it groups (<record id>#<field>)"})

    @validates_schema
    def _titled(self, data, **kwargs):
        if not any(str(v).strip() for v in data.get("title", {}).values()):
            raise ValidationError("An issue has a title in at least one language", "title")


class IssuePatch(Schema):
    title = _texts(300)
    meeting = Text(allow_none=True)
    concerns = fields.List(Text(validate=validate.Length(min=1, max=200)), validate=validate.Length(max=1000))
    task = fields.Nested(Task, allow_none=True, metadata={"description": "Taken up at a meeting: who, by when"})
    status = fields.String(validate=validate.OneOf(STATUSES))
    problems = Text(validate=validate.Length(max=5000), metadata={"description": "The problems encountered"})
    outcome = _texts(2000, metadata={"description": "What came of it, to tell residents, in each language"})
    note = Text(validate=validate.Length(max=2000), metadata={"description": "A line for the history"})


class Source(Schema):
    concern = fields.String(required=True)
    text = fields.String(allow_none=True)
    household = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    turf = fields.String(allow_none=True)
    language = fields.String(allow_none=True)


class HistoryEntry(Schema):
    at = fields.String(required=True)
    by = fields.String(required=True)
    changed = fields.List(fields.String(), required=True)
    note = fields.String(allow_none=True)


class TaskOut(Schema):
    responsible = fields.String(required=True)
    responsible_kind = fields.String(required=True)
    due = fields.String(required=True)
    milestones = fields.List(fields.Dict(), required=True)


class Issue(Schema):
    id = fields.String(required=True)
    title = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    meeting = fields.String(allow_none=True)
    sources = fields.List(fields.Nested(Source), required=True)
    task = fields.Nested(TaskOut, allow_none=True)
    status = fields.String(required=True)
    overdue = fields.Boolean(required=True)
    problems = fields.String(required=True)
    outcome = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    history = fields.List(fields.Nested(HistoryEntry), required=True)
    updated_at = fields.String(allow_none=True)
    rev = fields.String(required=True)


class IssueArgs(Schema):
    meeting = Text(load_default=None, metadata={"description": "Only this meeting's issues (meeting:<id>)"})


class FollowUpExportArgs(IssueArgs):
    format = fields.String(load_default="csv", validate=validate.OneOf(FORMATS))
    language = Text(load_default="en", **LANGUAGE)


class ContactsExportArgs(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(FORMATS))


class DoorStatus(Schema):
    issue = fields.String(required=True)
    title = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    status = fields.String(required=True)
    due = fields.String(allow_none=True)
    outcome = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    turfs = fields.List(fields.String(), required=True, metadata={"description": "Turfs where it was raised"})


class SurveyScore(Schema):
    mean = fields.Float(allow_none=True, metadata={"description": "1 (worst) to 5 (best); null when suppressed"})
    answers = fields.Integer(allow_none=True)
    change = fields.Float(allow_none=True, metadata={"description": "From the turf's previous round with data"})
    suppressed = fields.Boolean(required=True, metadata={"description": "Fewer answers than the threshold"})


class SurveyRow(Schema):
    turf = fields.String(allow_none=True, metadata={"description": "null: every turf together"})
    turf_name = fields.String(allow_none=True)
    round = fields.String(required=True, metadata={"description": "A calendar quarter in the campaign's time zone"})
    respondents = fields.Integer(allow_none=True)
    suppressed = fields.Boolean(required=True)
    scores = fields.Dict(keys=fields.String(), values=fields.Nested(SurveyScore), required=True)


class SurveyReport(Schema):
    threshold = fields.Integer(required=True)
    rounds = fields.List(fields.String(), required=True)
    questions = fields.List(fields.String(), required=True)
    rows = fields.List(fields.Nested(SurveyRow), required=True)
