"""REST payloads about campaigns, their members, drives and meetings."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from schemas.accounts import CAMPAIGN_ROLES, ROLES, Text

REV = {"required": True, "allow_none": True,
       "metadata": {"description": "The revision (send it back as If-Match to edit); null: not written yet"}}


def _language() -> Text:
    return Text(validate=validate.Regexp(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", error="Not a language tag (en, es, pt-BR)"))


def _time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("Not a time zone (an IANA name such as America/Chicago or Europe/Madrid)") from None


class Drive(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    forms = fields.List(fields.String(), required=True, metadata={"description": "The forms the drive uses (form:<id>)"})


class DriveIn(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    forms = fields.List(Text(validate=validate.Length(min=1, max=100)), required=True, validate=validate.Length(max=50),
                        metadata={"description": "form ids (form:<id> or <id>), each a form of the campaign"})


class DriveSaved(Drive):
    rev = fields.String(required=True, metadata={"description": "The campaign document's new revision"})


class Campaign(Schema):
    id = fields.String(required=True, metadata={"description": "The campaign's database, as in /sync/<id>"})
    name = fields.String(required=True)
    description = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES), "description": "Your role in it"})
    drives = fields.List(fields.Nested(Drive), required=True)
    time_zone = fields.String(required=True, metadata={"description": "The campaign's IANA time zone (pages show times in it); UTC if not set"})
    offline_map_mb = fields.Integer(required=True, metadata={
        "description": "Most megabytes of base map each phone keeps for its turfs (docs/basemap.md); 25 if not set"})
    rev = fields.String(**REV)


class CampaignIn(Schema):
    id = Text(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_$()+-]{0,99}$", error=(
        "A campaign id is lowercase letters, digits and _ $ ( ) + -, a letter first, at most 100 characters")))
    name = Text(required=True, validate=validate.Length(min=1, max=200))
    description = Text(load_default="", validate=validate.Length(max=5000))
    time_zone = Text(load_default="UTC", validate=_time_zone)


OFFLINE_MAP_MB = (0, 500)  # 0: phones keep no base map; 500: more than a city at street zooms


class CampaignPatch(Schema):
    name = Text(validate=validate.Length(min=1, max=200))
    description = Text(validate=validate.Length(max=5000))
    time_zone = Text(validate=_time_zone)
    offline_map_mb = fields.Integer(strict=True, validate=validate.Range(*OFFLINE_MAP_MB, error=(
        "The base map a phone keeps is 0 (none) to 500 MB")), metadata={
        "description": "Most megabytes of base map each phone keeps for its turfs; 0: none"})

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("Send name, description, time_zone, offline_map_mb or some of them")


class Member(Schema):
    user = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(CAMPAIGN_ROLES)})
    full_name = fields.String(dump_default="", metadata={"description": "The person's name as people know it"})


class NewVolunteer(Schema):
    name = Text(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "The user name: 1-64 lowercase letters, digits and . _ @ - (not first)"})
    full_name = Text(load_default="", validate=validate.Length(max=100),
                     metadata={"description": "The person's name as people know it, for lists and printed cards"})


class MemberIn(Schema):
    role = Text(required=True, validate=validate.OneOf(CAMPAIGN_ROLES))


class MeetingIn(Schema):
    title = fields.Dict(keys=_language(), values=Text(validate=validate.Length(min=1, max=200)), load_default=dict,
                        metadata={"description": "The meeting's title in each language"})
    notice = fields.Dict(keys=_language(), values=Text(validate=validate.Length(max=2000)), load_default=dict,
                         validate=validate.Length(max=20),
                         metadata={"description": "What volunteers tell residents about it, in each language"})
    starts_at = fields.AwareDateTime(required=True, format="iso", metadata={"description": "With its UTC offset"})
    ends_at = fields.AwareDateTime(load_default=None, allow_none=True, format="iso")
    place = Text(required=True, validate=validate.Length(min=1, max=500))
    languages = fields.List(_language(), required=True, validate=validate.Length(min=1, max=20),
                            metadata={"description": "The languages the meeting is held or interpreted in"})

    @validates_schema
    def _ends_after_start(self, data, **kwargs):
        if data.get("ends_at") is not None and data["ends_at"] <= data["starts_at"]:
            raise ValidationError("A meeting ends after it starts", "ends_at")


class Meeting(Schema):
    id = fields.String(required=True, metadata={"description": "meeting:<meeting_id>"})
    title = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    notice = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    starts_at = fields.String(required=True, metadata={"format": "date-time"})
    ends_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    place = fields.String(required=True)
    languages = fields.List(fields.String(), required=True)
    rev = fields.String(required=True)
