"""CORS with credentials for the configured origins (the canvasser app's).

Only origins listed in ``BLOCKWALK_CORS_ORIGINS`` get the headers, on every
route (``/sync`` now, the REST API later); with credentials the origin is
echoed, never ``*``.  A preflight (``OPTIONS``) needs no credentials; every
other request is authenticated as usual.
"""

from __future__ import annotations

from flask import Flask, Response, request

ALLOW_HEADERS = "Authorization, Content-Type, Accept, If-Match, Destination, X-Requested-With"
ALLOW_METHODS = "GET, HEAD, POST, PUT, DELETE, OPTIONS"
EXPOSE_HEADERS = "ETag, Content-Type, Server, Cache-Control"


def init_app(app: Flask) -> None:
    allowed = set(app.config["CORS_ORIGINS"])

    @app.after_request
    def add_cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if "Vary" in response.headers:
            response.vary.add("Origin")
        else:  # the common case, without parsing and rewriting a header set (every request passes here)
            response.headers["Vary"] = "Origin"
        if origin and origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
                response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
                response.headers["Access-Control-Max-Age"] = "600"
        return response
