"""``/app/``: the canvasser app (``mobile-shell/``), served as an installable offline web app.

Serves the app's own files (``mobile-shell/app``), the vendor files it needs
from ``mobile-shell/node_modules`` (PouchDB 9's browser build, Leaflet), the
shared form-expression evaluator (the modules of ``forms/expressions/``), field checks
(``forms/fieldchecks.mjs`` with ``forms/phone_regions.json``) and field
stamper (``sync/stamps.mjs``), never forked,
and the validator's messages (``forms.messages``, so the phone and the server
say the same thing).  Everything is public: the app holds no data, and every
request for data (``/sync``, ``/api``) is authenticated.

The service worker (``/app/sw.js``) may control all of ``/app/``
(``Service-Worker-Allowed``); its cache name carries a hash of every file it
caches, ``config.json`` (this server's settings) included, so a new version of
any file or a changed setting replaces the cache on the next visit.
Files are sent with ``Cache-Control: no-cache``: the service worker, not the
HTTP cache, decides what a phone runs offline.

Where ``mobile-shell`` is (a checkout, an installed wheel) is
``server.web.files``'s to say.  An app missing its vendor files (``npm ci`` not
run) answers every request with a 503 and the message that says what to run,
found once when the app is built, never a 500 halfway through.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect

from forms.messages import CATALOGUES
from server.basemap.views import info as basemap_info, tile_source
from server.web import files as webfiles

ROOT = webfiles.CHECKOUT  # the packages' folder: the checkout, or site-packages
SHELL = webfiles.SHELL
APP = SHELL / "app"
MODULES = SHELL / "node_modules"
EXPRESSIONS = ROOT / "forms" / "expressions"  # its modules, served as /app/lib/expressions/<module>.mjs
STAMPS = ROOT / "sync" / "stamps.mjs"
FIELDCHECKS = ROOT / "forms" / "fieldchecks.mjs"
PHONE_REGIONS = ROOT / "forms" / "phone_regions.json"

# Files served from outside mobile-shell/app: URL path -> file.
VENDOR = {
    "vendor/pouchdb.min.js": MODULES / "pouchdb" / "dist" / "pouchdb.min.js",
    "vendor/leaflet.js": MODULES / "leaflet" / "dist" / "leaflet.js",
    "vendor/leaflet.css": MODULES / "leaflet" / "dist" / "leaflet.css",
    **{f"lib/expressions/{p.name}": p for p in sorted(EXPRESSIONS.glob("*.mjs"))},
    "lib/stamps.mjs": STAMPS,
    "lib/fieldchecks.mjs": FIELDCHECKS,
    "lib/phone_regions.json": PHONE_REGIONS,
}
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}

bp = Blueprint("app_shell", __name__)
webfiles.guard(bp, webfiles.SHELL_APP)


def _app_files() -> dict[str, Path]:
    """Every file the app is made of, by its path under /app/ (the service worker caches these)."""
    files = {str(p.relative_to(APP)): p for p in sorted(APP.rglob("*")) if p.is_file()}
    files.update(VENDOR)
    return files


def _messages() -> bytes:
    return json.dumps(CATALOGUES, ensure_ascii=False, sort_keys=True).encode()


def _config() -> bytes:
    config = current_app.config
    tile_url, attribution = tile_source()  # /tiles/...: the server's own base map, kept on the phone for offline use
    archive = basemap_info()
    return json.dumps({
        "tile_url": tile_url or None, "tile_attribution": attribution,
        # What the maps and the tile download need of the server's own base map, with no fetch of
        # /tiles/meta.json before a map starts (and offline, from the service worker's cache).
        "tile_meta": {"format": archive.format, "min_zoom": archive.min_zoom, "max_zoom": archive.max_zoom,
                      "bounds": list(archive.bounds)} if archive is not None else None,
        # What the server checks, so the phone warns at the door (a campaign's phone_region overrides the region).
        "phone_region": str(config["PHONE_REGION"]),
        "household_max_m": float(config["GEOTAG_HOUSEHOLD_MAX_M"]),
        "turf_tolerance_m": float(config["GEOTAG_TURF_TOLERANCE_M"]),
    }).encode()


@lru_cache(maxsize=4)
def _version(stamp: tuple, config: bytes) -> str:
    """The service worker's cache version: every file it caches, config.json included.

    A changed setting (``BLOCKWALK_TILE_URL``, ``BLOCKWALK_BASEMAP``, the geotag limits) makes a new
    version as a changed file does, so installed phones fetch the new config.json on their next online start.
    """
    digest = hashlib.sha256()
    for name, path in sorted(_app_files().items()):
        digest.update(name.encode() + b"\0" + path.read_bytes())
    digest.update(_messages())
    digest.update(b"config.json\0" + config)
    return digest.hexdigest()[:16]


def _stamp() -> tuple:
    """Changes when any file changes (names, sizes and times), so the version is recomputed only then."""
    return tuple((name, p.stat().st_mtime_ns, p.stat().st_size) for name, p in sorted(_app_files().items()))


def _send(body: bytes, name: str, **headers: str) -> Response:
    suffix = Path(name).suffix
    kind = TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = Response(body, content_type=kind)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.update(headers)
    return response


@bp.get("/app")
def app_root():
    return redirect("/app/", code=301)


@bp.get("/app/")
def index():
    return file("index.html")


@bp.get("/app/sw.js")
def service_worker():
    files = sorted(_app_files())
    assets = ["./"] + [name for name in files if name != "sw.js"] + ["messages.json", "config.json"]
    text = (APP / "sw.js").read_text()
    text = text.replace("__VERSION__", _version(_stamp(), _config())).replace("__ASSETS__", json.dumps(assets))
    return _send(text.encode(), "sw.js", **{"Service-Worker-Allowed": "/app/"})


@bp.get("/app/messages.json")
def messages():
    return _send(_messages(), "messages.json")


@bp.get("/app/config.json")
def config():
    return _send(_config(), "config.json")


@bp.get("/app/<path:name>")
def file(name: str):
    path = _app_files().get(name)
    if path is None and name.startswith("vendor/images/"):
        candidate = MODULES / "leaflet" / "dist" / "images" / name.removeprefix("vendor/images/")
        path = candidate if candidate.parent == MODULES / "leaflet" / "dist" / "images" else None
    if path is None or not path.is_file():
        abort(404)
    return _send(path.read_bytes(), name)
