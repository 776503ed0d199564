"""REST payloads about users, device tokens and signing in.  No password, hash or stored id is ever dumped."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields
from marshmallow.validate import URL, Length, Range


class Text(fields.String):
    """A string that is valid Unicode (JSON can carry lone surrogates, which cannot be hashed or stored)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            text.encode()
        except UnicodeEncodeError:
            raise ValidationError("Not valid Unicode text") from None
        return text


# server.access.accounts.ROLES (schemas import no other layer; a test keeps the two equal)
ROLES = ["admin", "organizer", "coordinator", "volunteer"]
LABEL = {"load_default": "", "validate": Length(max=200),
         "metadata": {"description": "What the token is for, e.g. the phone's name"}}


CAMPAIGN_ROLES = ROLES[1:]


class User(Schema):
    name = Text(required=True)
    admin = fields.Boolean(required=True, metadata={"description": "Admin is the one server-wide role"})
    roles = fields.Dict(keys=fields.String(), values=fields.String(metadata={"enum": CAMPAIGN_ROLES}), required=True,
                        metadata={"description": "The user's role in each campaign where they have one"})


class NewUser(Schema):
    name = Text(required=True)
    admin = fields.Boolean(load_default=False, metadata={
        "description": "A server-wide admin; otherwise the user has no role until one is given in a campaign"})
    password = Text(required=True, load_only=True, validate=Length(min=8, max=1024),
                  metadata={"description": "8 characters at least; stored as a scrypt hash"})


class TokenInfo(Schema):
    id = fields.String(required=True, metadata={"description": "The hex SHA-256 of the token (never the token)"})
    user = fields.String(required=True)
    label = fields.String(required=True)
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    expires_at = fields.String(required=True, allow_none=True, metadata={"format": "date-time"})
    last_used_at = fields.String(required=True, allow_none=True, metadata={
        "format": "date-time", "description": "Recorded at most every 10 minutes"})
    revoked = fields.Boolean(required=True)


class Login(Schema):
    name = Text(required=True, validate=Length(max=64))
    password = Text(required=True, load_only=True, validate=Length(max=1024))
    label = Text(**LABEL)


class CodeLogin(Schema):
    code = Text(required=True, validate=Length(max=64),
                metadata={"description": "As shown (XXXX-XXXX-XXXX); case, dashes and spaces do not matter"})


class NewToken(Schema):
    token = fields.String(required=True, metadata={"description": "The device token: shown this once, never stored"})
    expires_at = fields.String(required=True, metadata={"format": "date-time"})


def _no_fragment(value: str) -> None:
    if "#" in value:
        raise ValidationError("The app's address takes no #fragment: the code goes there")


class NewSigninCode(Schema):
    user = Text(required=True, validate=Length(max=64))
    minutes = fields.Integer(load_default=10, validate=Range(1, 60), metadata={"description": "How long the code works"})
    label = Text(**LABEL)
    app_url = Text(load_default=None, allow_none=True, validate=[Length(max=300), URL(schemes={"http", "https"}, require_tld=False), _no_fragment],
                   metadata={"description": "The canvasser app's address as phones reach it (e.g. "
                                            "https://blockwalk.example.org/app/?campaign=east): the QR code is then "
                                            "that address with the code, which a phone's camera opens"})


class SigninCode(Schema):
    code = fields.String(required=True, metadata={"description": "12 characters of Crockford's base32 (60 bits), "
                                                                 "as XXXX-XXXX-XXXX; works once"})
    expires_at = fields.String(required=True, metadata={"format": "date-time"})
    url = fields.String(required=True, metadata={"description": "What the QR code holds: <app_url>#/signin?code=<code>, "
                                                                "or blockwalk:signin?code=<code> without app_url"})
    qr_svg = fields.String(required=True, metadata={"description": "An SVG QR code of url"})
