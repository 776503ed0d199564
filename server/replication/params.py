"""What a replication request says, and CouchDB's shapes of answers.

Paths are split from the raw request URI, not the decoded one, so a document
id with an encoded ``/`` (``a%2Fb``) stays one id, and ``_local`` ids arrive
URL-decoded as PouchDB expects.  Query parameters are checked against the
ones an endpoint knows; bodies are parsed with ``sync.jsonutil`` (orjson).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from flask import Response, request

from sync import jsonutil
from sync.errors import BadRequest, NotFound, SyncError, TooManyRequests

PREFIX = "/sync"


# -- responses ------------------------------------------------------------------------


def json_response(body: object, status: int = 200, headers: dict | None = None) -> Response:
    return Response(jsonutil.dumps(body), status=status, mimetype="application/json", headers=headers)


def couch_error(exc: SyncError) -> Response:
    headers = {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="blockwalk"'
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    return json_response({"error": exc.error, "reason": exc.reason}, exc.status, headers)


# -- request parsing --------------------------------------------------------------------


def segments() -> list[str]:
    raw = request.environ.get("REQUEST_URI") or request.environ.get("RAW_URI")
    if raw is None:
        from urllib.parse import quote

        raw = quote(request.path)
    path = raw.split("?", 1)[0]
    if "://" in path:  # an absolute URI in the request line
        path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
    if not path.startswith(PREFIX):
        raise NotFound("not_found")
    rest = path[len(PREFIX):].strip("/")
    try:  # the request line's bytes arrive as latin-1; an id is their UTF-8, percent-decoded
        return [part if "%" not in part and part.isascii() else unquote_to_bytes(part.encode("latin-1")).decode("utf-8")
                for part in rest.split("/")] if rest else []
    except UnicodeError:
        raise BadRequest("The path must be UTF-8 (percent-encoded)") from None


def read_body() -> object:
    data = request.get_data(cache=False)
    try:
        return jsonutil.loads(data)
    except jsonutil.JSONDecodeError:
        raise BadRequest("Request body must be valid UTF-8 JSON") from None


def read_object() -> dict:
    body = read_body()
    if not isinstance(body, dict):
        raise BadRequest("Request body must be a JSON object")
    return body


class Params:
    """Query parameters, checked against the ones an endpoint knows."""

    def __init__(self, allowed: set[str]):
        if not request.environ.get("QUERY_STRING"):
            return  # most replication requests have none: nothing to parse
        unknown = sorted(set(request.args) - allowed)
        if unknown:
            raise BadRequest(f"Unknown query parameter {', '.join(unknown)}; this endpoint takes {', '.join(sorted(allowed)) or 'none'}")

    def bool(self, name: str, default: bool = False) -> bool:
        value = request.args.get(name)
        if value is None:
            return default
        if value in ("true", "false"):
            return value == "true"
        raise BadRequest(f"{name} must be true or false")

    def int(self, name: str, default: int | None = None, maximum: int | None = None) -> int | None:
        value = request.args.get(name)
        if value is None:
            return default
        if not value.isascii() or not value.isdigit() or len(value) > 15:
            raise BadRequest(f"{name} must be a non-negative integer")
        number = int(value)
        if maximum is not None and number > maximum:
            raise BadRequest(f"{name} must be at most {maximum}")
        return number

    def json(self, name: str, default: object = None) -> object:
        value = request.args.get(name)
        if value is None:
            return default
        try:
            return jsonutil.loads(value)
        except jsonutil.JSONDecodeError:
            raise BadRequest(f"{name} must be JSON") from None

    def str(self, name: str, default: str | None = None) -> str | None:
        return request.args.get(name, default)
