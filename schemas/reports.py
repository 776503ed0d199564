"""REST payloads of the roster, its exports and their audit log, meeting coverage, progress and device reports."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates_schema
from marshmallow.validate import OneOf, Range

# server.people.roster.PRESETS and server.people.roster_export.FORMATS (schemas import no other layer; a test keeps them equal)
PRESETS = ["full", "action_network", "mailchimp"]
FORMATS = ["csv", "xlsx"]


class DateRange(Schema):
    from_ = fields.AwareDateTime(data_key="from", load_default=None,
                                 metadata={"description": "From this time (ISO 8601 with offset), inclusive"})
    to = fields.AwareDateTime(load_default=None, metadata={"description": "Until this time, exclusive"})

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("from_") and data.get("to") and data["from_"] >= data["to"]:
            raise ValidationError("'from' must be before 'to'", "to")


class RosterArgs(DateRange):
    problems = fields.Boolean(load_default=False, metadata={
        "description": "Only the people with a phone or e-mail that cannot be used (the total counts them)"})


class RosterExportArgs(DateRange):
    format = fields.String(load_default="csv", validate=OneOf(FORMATS))
    preset = fields.String(load_default="full", validate=OneOf(PRESETS),
                           metadata={"description": "Columns: full (Blockwalk's own), action_network, mailchimp"})
    new = fields.Boolean(load_default=False,
                         metadata={"description": "Only the people new or changed since your last 'new' export"})

    @validates_schema
    def _one_filter(self, data, **kwargs):
        if data.get("new") and (data.get("from_") or data.get("to")):
            raise ValidationError("Ask for new people or for a date range, not both", "new")


class ConsentOut(Schema):
    given = fields.Boolean(required=True)
    text = fields.String(required=True, metadata={"description": "The exact text shown"})
    language = fields.String(required=True)
    canvasser = fields.String(required=True)
    at = fields.String(required=True, metadata={"description": "When it was given (ISO 8601)"})
    record = fields.String(required=True)
    household = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)


class SignUpOut(Schema):
    record = fields.String(required=True)
    form = fields.String(required=True, metadata={"description": "The record's form: the drive it was made in"})
    at = fields.String(required=True)
    canvasser = fields.String(required=True)
    device = fields.String(required=True)
    household = fields.String(allow_none=True)
    turf = fields.String(allow_none=True)
    full_name = fields.String(required=True)
    phone = fields.String(required=True, metadata={"description": "As typed at the door"})
    email = fields.String(required=True, metadata={"description": "As typed at the door"})


class ProblemOut(Schema):
    kind = fields.String(required=True, metadata={"enum": ["phone", "email"]})
    typed = fields.String(required=True, metadata={"description": "As typed at the door"})
    reason = fields.String(required=True, metadata={
        "description": "phone: 'invalid' (not a valid number of the region); e-mail: why it is not an address"})
    region = fields.String(allow_none=True, metadata={"description": "The region a phone was read in"})


class PersonOut(Schema):
    id = fields.String(required=True, metadata={"description": "person:<record id of the first sign-up>"})
    full_name = fields.String(required=True)
    phone = fields.String(allow_none=True, metadata={"description": "E.164"})
    email = fields.String(allow_none=True)
    languages = fields.List(fields.String(), required=True)
    skills = fields.List(fields.String(), required=True)
    availability = fields.List(fields.String(), required=True)
    consent = fields.Dict(keys=fields.String(), values=fields.Nested(ConsentOut), required=True,
                          metadata={"description": "The newest statement per channel: sms, email, call"})
    shared_phone = fields.Boolean(required=True, metadata={"description": "Another person gave the same phone"})
    problems = fields.List(fields.String(), required=True,
                           metadata={"description": "Phones and e-mails that could not be used, as typed"})
    problem_details = fields.List(fields.Nested(ProblemOut), required=True,
                                  metadata={"description": "The same problems, one object each"})
    first_signed_up_at = fields.String(required=True)
    last_signed_up_at = fields.String(required=True)
    signups = fields.List(fields.Nested(SignUpOut), required=True, metadata={"description": "Every sign-up, oldest first"})


class AuditEntry(Schema):
    campaign = fields.String(required=True)
    who = fields.String(required=True)
    at = fields.String(required=True)
    kind = fields.String(required=True, metadata={"enum": ["roster", "meetings", "rsvps", "follow-up", "agenda", "follow-up-contacts"]})
    format = fields.String(required=True)
    preset = fields.String(allow_none=True)
    filter = fields.Dict(required=True)
    rows = fields.Integer(required=True)
    complete = fields.Boolean(required=True, metadata={"description": "False: the download was cut off"})
    cut_rows = fields.Integer(metadata={"description": "Roster: rows with a value shortened to the CRM's limits"})
    cut = fields.List(fields.Dict(), metadata={
        "description": "Roster: the first 200 such rows, {row (line of the file, the header being 1), person, columns}"})
    problem_people = fields.Integer(metadata={
        "description": "Roster: people exported or left out whose phone or e-mail could not be exported"})
    problems = fields.List(fields.Dict(), metadata={
        "description": "Roster: the first 200 of them, {row (null: not in the file), person, kinds}"})
    no_consent = fields.Integer(metadata={
        "description": "Roster, Action Network and Mailchimp presets: people left out for want of consent to a channel the CRM uses"})


class AuditEntryOne(AuditEntry):
    id = fields.String(required=True)


class DeviceReportIn(Schema):
    pending = fields.Integer(required=True, strict=True, validate=Range(min=0, max=10_000_000),
                             metadata={"description": "Changes on the phone not yet on the server"})
    refused = fields.Integer(required=True, strict=True, validate=Range(min=0, max=10_000_000),
                             metadata={"description": "Changes the server refused, kept on the phone to fix"})
    last_sync_at = fields.AwareDateTime(required=True, metadata={"description": "When the phone last synced (ISO 8601)"})


class DeviceReport(Schema):
    device = fields.String(required=True)
    user = fields.String(required=True)
    pending = fields.Integer(required=True)
    refused = fields.Integer(required=True)
    last_sync_at = fields.String(required=True)
    received_at = fields.String(required=True)


class Phone(Schema):
    user = fields.String(required=True, metadata={"description": "The volunteer"})
    full_name = fields.String(dump_default="")
    token = fields.String(required=True, allow_none=True, metadata={
        "description": "The sign-in's public id (DELETE /tokens/{id} revokes it); null: a phone with no sign-in on record"})
    label = fields.String(required=True, metadata={"description": "The sign-in's label (the app names its phone)"})
    signed_in_at = fields.String(required=True, allow_none=True)
    last_used_at = fields.String(required=True, allow_none=True)
    expires_at = fields.String(required=True, allow_none=True)
    revoked = fields.Boolean(required=True)
    device = fields.String(required=True, allow_none=True, metadata={"description": "The phone's own id; null: no report yet"})
    pending = fields.Integer(required=True, allow_none=True, metadata={"description": "Changes on the phone not yet on the server"})
    refused = fields.Integer(required=True, allow_none=True, metadata={"description": "Changes the server refused, kept on the phone"})
    last_sync_at = fields.String(required=True, allow_none=True)


class MeetingTurf(Schema):
    turf = fields.String(allow_none=True, metadata={"description": "turf:<id>; null: records with no turf"})
    name = fields.String(allow_none=True)
    doors_knocked = fields.Integer(required=True)
    doors_informed = fields.Integer(required=True)
    rsvp_yes = fields.Integer(required=True)
    rsvp_maybe = fields.Integer(required=True)
    rsvp_no = fields.Integer(required=True)
    languages_needed = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class MeetingCoverage(Schema):
    meeting = fields.String(required=True)
    title = fields.String(required=True)
    titles = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "The title in each language the meeting has it in"})
    starts_at = fields.String(allow_none=True)
    place = fields.String(allow_none=True)
    languages = fields.List(fields.String(), required=True)
    totals = fields.Nested(MeetingTurf, required=True)
    turfs = fields.List(fields.Nested(MeetingTurf), required=True)


class MeetingExportArgs(Schema):
    format = fields.String(load_default="csv", validate=OneOf(FORMATS))


class Rsvp(Schema):
    meeting = fields.String(required=True)
    household = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    turf = fields.String(allow_none=True)
    rsvp = fields.String(required=True)
    language = fields.String(required=True, metadata={"description": "The language to remind them in"})
    languages_needed = fields.List(fields.String(), required=True)
    reminder = fields.String(required=True, metadata={"description": "The reminder text"})
    reminder_language = fields.String(required=True, metadata={
        "description": "The language the reminder is in: 'language' when Blockwalk has a text for it, else en"})
    at = fields.String(allow_none=True)


class ProgressRow(Schema):
    key = fields.String(allow_none=True, metadata={"description": "The turf or the canvasser; null: none"})
    name = fields.String(allow_none=True)
    doors_knocked = fields.Integer(required=True, metadata={"description": "Distinct households visited"})
    visits = fields.Integer(required=True, metadata={"description": "Records"})
    contacts = fields.Integer(required=True)
    contact_rate = fields.Float(allow_none=True, metadata={"description": "Contacted / visits; null with no visits"})
    hours = fields.Float(required=True, metadata={"description": "Hours in the field (shifts)"})
    records_per_hour = fields.Float(allow_none=True)
    assets_mapped = fields.Integer(required=True)
    signups = fields.Integer(required=True)
    pending = fields.Integer(allow_none=True, metadata={"description": "Changes still on phones (device reports)"})
    refused = fields.Integer(allow_none=True)
    last_sync_at = fields.String(allow_none=True)


class ProgressDay(Schema):
    day = fields.String(required=True)
    visits = fields.Integer(required=True)
    contacts = fields.Integer(required=True)
    assets_mapped = fields.Integer(required=True)
    signups = fields.Integer(required=True)


class Progress(Schema):
    campaign = fields.Nested(ProgressRow, required=True)
    turfs = fields.List(fields.Nested(ProgressRow), required=True)
    canvassers = fields.List(fields.Nested(ProgressRow), required=True)
    devices = fields.List(fields.Nested(DeviceReport), required=True)
    days = fields.List(fields.Nested(ProgressDay), required=True, metadata={"description": "Per day (UTC), oldest first"})
