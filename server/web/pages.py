"""The coordinator pages: static HTML and JavaScript under ``/coordinator/``.

The pages are plain ES modules in ``server/web/static/`` (no build step); their
vendor files (Leaflet, its marker clustering, Geoman's drawing tools) come from npm into
``server/web/static/node_modules`` and are served under ``/coordinator/vendor/``,
so the pages need no CDN and work on a server with no internet.

Pages sign in with a name and password through the REST API
(``POST /api/v1/auth/login``) and keep the device token in the tab's
``sessionStorage`` (gone when the tab closes), sending it as
``Authorization: Bearer`` on every API call; a strict Content-Security-Policy
(no inline script, no other origin but the configured tile server; the
base-map archive's tiles are same-origin, ``/tiles/``) keeps
other scripts from reading it.  Every permission is checked by the API, not
by the page.

Where the pages are (a checkout, an installed wheel) is ``server.web.files``'s
to say; pages missing their vendor files (``npm ci`` not run) answer a 503
with the message that says what to run.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, abort, jsonify, send_from_directory

from server.basemap.views import tile_source
from server.web import files as webfiles

WEB = webfiles.WEB
# The dist folder of each vendor package the pages may load, and nothing else of node_modules.
VENDOR = {
    "leaflet": WEB / "node_modules" / "leaflet" / "dist",
    "leaflet.markercluster": WEB / "node_modules" / "leaflet.markercluster" / "dist",
    "leaflet-geoman": WEB / "node_modules" / "@geoman-io" / "leaflet-geoman-free" / "dist",
}
PAGE_SUFFIXES = {".html", ".js", ".css", ".svg"}

bp = Blueprint("pages", __name__, url_prefix="/coordinator")
webfiles.guard(bp, webfiles.PAGES_APP)


@bp.after_request
def _headers(response: Response) -> Response:
    tile_origin = ""
    tile_url = tile_source()[0]
    if tile_url.startswith(("https://", "http://")):
        parts = urlsplit(tile_url)
        tile_origin = f" {parts.scheme}://{parts.netloc.replace('{s}', '*')}"  # {s}: the provider's subdomains
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src 'self' data: blob:{tile_origin}; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.route("/")
def index() -> Response:
    return send_from_directory(WEB, "index.html")


@bp.route("/site.json")
def site() -> Response:
    """What the pages need to know of this server: the base map, if any (``/tiles/...``: the archive's)."""
    tile_url, attribution = tile_source()
    return jsonify(tile_url=tile_url, tile_attribution=attribution)


@bp.route("/vendor/<package>/<path:name>")
def vendor(package: str, name: str) -> Response:
    folder = VENDOR.get(package)
    if folder is None:
        abort(404)
    return send_from_directory(folder, name)


@bp.route("/<path:name>")
def page(name: str) -> Response:
    if Path(name).suffix not in PAGE_SUFFIXES or name.startswith("node_modules/"):
        abort(404)
    return send_from_directory(WEB, name)
