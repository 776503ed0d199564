"""Users, device tokens, sign-in codes, and signing in for a device token.

``sign_in_blp`` (``/auth``) is the only part of the API that needs no
credential; its failures are limited per account and per client address
(``server.access.accounts``), in each process's memory.
"""

from __future__ import annotations

import io

import segno
from flask import g, request
from flask.views import MethodView
from flask_smorest import abort

from schemas.accounts import CodeLogin, Login, NewSigninCode, NewToken, NewUser, SigninCode, TokenInfo, User
from server.access.accounts import NAME, AccountError, SignInRefused, TooManyFailures, UserExists, token_id
from server.access.accounts import User as UserRecord
from server.access.auth import accounts, api_authenticate, bearer_token, role_in
from server.api.blueprint import Blueprint

blp = Blueprint("accounts", __name__, url_prefix="", description="Users, their device tokens, sign-in codes for phones")
blp.before_request(api_authenticate)

sign_in_blp = Blueprint("sign-in", __name__, url_prefix="/auth",
                        description="A device token for a name and password, or for a sign-in code (no credential needed)")

RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}}


def _is_admin() -> bool:
    return role_in(g.user, None) == "admin"


def _require_admin() -> None:
    if not _is_admin():
        abort(403, message="Only an admin may do this")


def _require_admin_or(name: str) -> None:
    if not _is_admin() and g.user.name != name:
        abort(403, message="Only an admin or the user themself may do this")


def _may_make_code_for(target: UserRecord) -> bool:
    """An admin, for anyone; a coordinator, for a volunteer whose every campaign they coordinate.

    A sign-in code is a token for all the target may do, so a coordinator
    may not make one for someone who could do more than a volunteer, or act
    in a campaign the coordinator does not run.
    """
    if _is_admin():
        return True
    if role_in(target, None) == "admin" or not target.roles:
        return False
    return all(role_in(target, c) == "volunteer" and role_in(g.user, c) == "coordinator" for c in target.roles)


def _existing_user(name: str) -> None:
    if NAME.fullmatch(name) is None or accounts().get_user(name) is None:
        abort(404, message=f"No user {name!r}")


def _address() -> str:
    return request.remote_addr or "unknown"


def _too_many(exc: TooManyFailures):
    abort(429, message=str(exc), headers={"Retry-After": str(exc.retry_after)})


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, User(many=True))
    @blp.alt_response(403, description="Not an admin")
    @blp.paginate()
    def get(self, pagination_parameters):
        """Every user, by name (admin)."""
        _require_admin()
        total, users = accounts().list_users(pagination_parameters.first_item, pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return users

    @blp.arguments(NewUser)
    @blp.response(201, User)
    @blp.alt_response(403, description="Not an admin")
    @blp.alt_response(409, description="A user of that name exists")
    @blp.alt_response(422, description="A bad name or password")
    def post(self, new: dict):
        """Add a user (admin): an admin, or a user with no role yet (give roles with PUT /campaigns/{campaign}/members/{name})."""
        _require_admin()
        try:
            return accounts().add_user(new["name"], "admin" if new["admin"] else None, new["password"])
        except UserExists as exc:
            abort(409, message=str(exc))
        except AccountError as exc:
            abort(422, message=str(exc))


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, User)
    def get(self):
        """The user the credential belongs to (a phone signed in with a code learns its name here)."""
        return accounts().get_user(g.user.name)


@blp.route("/me/token")
class MyToken(MethodView):
    @blp.response(204)
    @blp.alt_response(400, description="The request was signed with a password, not a device token")
    def delete(self):
        """Sign out: revoke the device token this request carries (the pages' and the app's sign-out button)."""
        token = bearer_token()
        if token is None:
            abort(400, message="Signed in with a password: there is no device token to revoke")
        accounts().revoke_token(token_id(token).removeprefix("token:"))


@blp.route("/users/<name>")
class OneUser(MethodView):
    @blp.response(200, User)
    @blp.alt_response(403, description="Neither an admin nor this user")
    @blp.alt_response(404, description="No such user")
    def get(self, name: str):
        """One user (an admin, or the user themself)."""
        _require_admin_or(name)
        _existing_user(name)
        return accounts().get_user(name)


@blp.route("/users/<name>/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenInfo(many=True))
    @blp.alt_response(403, description="Neither an admin nor this user")
    @blp.alt_response(404, description="No such user")
    @blp.paginate()
    def get(self, name: str, pagination_parameters):
        """The user's device tokens, oldest first, revoked and expired ones too (an admin, or the user themself)."""
        _require_admin_or(name)
        _existing_user(name)
        tokens = accounts().tokens_of(name)
        pagination_parameters.item_count = len(tokens)
        start = pagination_parameters.first_item
        return tokens[start:start + pagination_parameters.page_size]


@blp.route("/tokens/<token_id>")
class Token(MethodView):
    @blp.response(204)
    @blp.alt_response(403, description="Neither an admin nor the token's owner")
    @blp.alt_response(404, description="No such token")
    def delete(self, token_id: str):
        """Revoke a device token: at once on this process, within 30 s on the others.

        An admin, the token's owner, or a coordinator for a volunteer they may
        make sign-in codes for (a volunteer of their campaigns alone).
        """
        token = accounts().token_info(token_id)
        if token is None:
            abort(404, message="No such token")
        owner = accounts().get_user(token["user"])
        if not _is_admin() and g.user.name != token["user"] and not (owner is not None and _may_make_code_for(owner)):
            abort(403, message="Only an admin, the token's owner, or a coordinator of the volunteer's campaign "
                               "may revoke it")
        accounts().revoke_token(token_id)


@blp.route("/signin-codes")
class SigninCodes(MethodView):
    @blp.arguments(NewSigninCode)
    @blp.response(201, SigninCode)
    @blp.alt_response(403, description="Not an admin or a coordinator, or a coordinator asking for someone who is "
                                       "not a volunteer of their campaigns alone")
    @blp.alt_response(404, description="No such user")
    def post(self, new: dict):
        """A one-time sign-in code for a user's phone, and its QR code.

        An admin, for anyone; a coordinator, for a user who is a volunteer in
        campaigns the coordinator coordinates and has no other role.
        """
        if not _is_admin() and not any(role_in(g.user, c) == "coordinator" for c in g.user.roles):
            abort(403, message="Only an admin or a coordinator may make sign-in codes")
        _existing_user(new["user"])
        if not _may_make_code_for(accounts().get_user(new["user"])):
            abort(403, message="A coordinator may make sign-in codes only for volunteers of the campaigns they coordinate")
        code, expires_at = accounts().create_signin_code(
            new["user"], minutes=new["minutes"], label=new["label"], created_by=g.user.name)
        # With the app's address, a phone's own camera opens the app with the code (the app redeems it);
        # without, the app's scanner reads the bare code.  The code goes in the fragment: never sent to a server.
        url = f"{new['app_url']}#/signin?code={code}" if new["app_url"] else f"blockwalk:signin?code={code}"
        svg = io.BytesIO()
        segno.make(url, error="m").save(svg, kind="svg", xmldecl=False, scale=4)
        return {"code": code, "expires_at": expires_at, "url": url, "qr_svg": svg.getvalue().decode()}


@sign_in_blp.route("/login")
class PasswordLogin(MethodView):
    @sign_in_blp.doc(security=[])
    @sign_in_blp.arguments(Login)
    @sign_in_blp.response(201, NewToken)
    @sign_in_blp.alt_response(401, description="Name or password is incorrect")
    @sign_in_blp.alt_response(429, description="Too many failed sign-ins for the account or the address", headers=RETRY_AFTER)
    def post(self, login: dict):
        """A new device token (30 days) for a name and password."""
        try:
            token, expires_at = accounts().sign_in(login["name"], login["password"], _address(), label=login["label"])
        except TooManyFailures as exc:
            _too_many(exc)
        except SignInRefused as exc:
            abort(401, message=str(exc))
        return {"token": token, "expires_at": expires_at}


@sign_in_blp.route("/code")
class SigninCodeLogin(MethodView):
    @sign_in_blp.doc(security=[])
    @sign_in_blp.arguments(CodeLogin)
    @sign_in_blp.response(201, NewToken)
    @sign_in_blp.alt_response(401, description="The code is unknown, expired or used already")
    @sign_in_blp.alt_response(429, description="Too many failed sign-ins from the address", headers=RETRY_AFTER)
    def post(self, login: dict):
        """A new device token (30 days) for a sign-in code, which is used up."""
        try:
            token, expires_at = accounts().redeem_signin_code(login["code"], _address())
        except TooManyFailures as exc:
            _too_many(exc)
        except SignInRefused as exc:
            abort(401, message=str(exc))
        return {"token": token, "expires_at": expires_at}
