"""Who is asking: every request to the sync endpoint carries a credential.

``Authorization: Bearer <device token>`` or HTTP Basic (name and password),
checked against ``server.access.accounts``.  Anything else is a 401, before any
data is read.
"""

from __future__ import annotations

import base64
import binascii

from flask import g, request

from server.access.accounts import Accounts, TooManyFailures, User
from server.services import services
from sync.errors import Forbidden, TooManyRequests, Unauthorized


def accounts() -> Accounts:
    return services().accounts


def _credential() -> tuple[str, str, str]:
    """(the whole Authorization header, its scheme in lower case, the credential after it)."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    return header, scheme.lower(), credential.strip()


def bearer_token() -> str | None:
    """The device token the request carries (None: it carries a password or nothing)."""
    _, scheme, credential = _credential()
    return credential if scheme == "bearer" and credential else None


def authenticate() -> User:
    header, scheme, credential = _credential()
    user = None
    if scheme == "bearer" and credential:
        user = accounts().check_token(credential)
    elif scheme == "basic" and credential:
        try:
            decoded = base64.b64decode(credential, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("Malformed Basic credentials") from None
        name, sep, password = decoded.partition(":")
        if sep:
            try:
                user = accounts().check_basic(name, password, request.remote_addr or "")
            except TooManyFailures as exc:
                raise TooManyRequests(str(exc), retry_after=exc.retry_after) from None
    elif not header:
        raise Unauthorized("Authentication required: a device token (Bearer) or name and password (Basic)")
    if user is None:
        raise Unauthorized("Name or password is incorrect, or the token is unknown, expired or revoked")
    return user


def role_in(user: User, campaign: str | None) -> str | None:
    """``user``'s role in ``campaign`` (None: no role there).

    The one place that answers "may this person act in this campaign, and
    as what"; every permission check goes through it.  Admin is server-wide:
    an admin is "admin" in every campaign, and for ``campaign`` None (the
    server itself: users, creating campaigns).  Organizer, coordinator and
    volunteer are held per campaign (``server.access.accounts``).
    """
    if user.admin:
        return "admin"
    if campaign is None:
        return None
    return user.roles.get(campaign)


def require_role(campaign: str | None, roles: tuple[str, ...], reason: str) -> str:
    """The user's role in ``campaign`` if it is one of ``roles``; else Forbidden (no role there at all: says so)."""
    role = role_in(g.user, campaign)
    if role is None and campaign is not None:
        raise Forbidden(f"You have no role in campaign {campaign!r}")
    if role not in roles:
        raise Forbidden(reason)
    return role


def api_authenticate() -> None:
    """``before_request`` of every REST blueprint: a 401 in the API's error shape."""
    from flask_smorest import abort

    try:
        g.user = authenticate()
    except Unauthorized as exc:
        abort(401, message=exc.reason)
    except TooManyRequests as exc:
        abort(429, message=exc.reason, headers={"Retry-After": str(exc.retry_after)})
