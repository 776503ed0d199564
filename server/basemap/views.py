"""``/tiles/``: the base map's tiles and what the maps need to know of it.

Public, like the app's own files: a base map is a picture of streets (most
often OpenStreetMap's, whose licence wants it shared), and the browser fetches
tiles as images, which carry no ``Authorization`` header.  Nothing of a
campaign is in it.

* ``GET /tiles/meta.json``: ``{format, min_zoom, max_zoom, bounds, attribution, name, url}``;
  404 when the server has no base map.
* ``GET /tiles/{z}/{x}/{y}.{format}``: one tile, ``Cache-Control: public`` for a
  day and an ETag that changes with the archive file (304 on a match); 404 for
  a tile the archive does not hold (outside its area or its zooms).
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify, request
from flask_smorest import abort

from server.basemap.archive import Info

EXTENSION = "blockwalk.basemap"

bp = Blueprint("basemap", __name__, url_prefix="/tiles")


def archive():
    return current_app.extensions.get(EXTENSION)


def info() -> Info | None:
    found = archive()
    return found.info if found is not None else None


@bp.get("/meta.json")
def meta() -> Response:
    found = info()
    if found is None:
        abort(404, message="This server has no base map (BLOCKWALK_BASEMAP is not set)")
    response = jsonify(found.as_json())
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/<int:z>/<int:x>/<int:y>.<ext>")
def tile(z: int, x: int, y: int, ext: str) -> Response:
    found = archive()
    if found is None:
        abort(404, message="This server has no base map (BLOCKWALK_BASEMAP is not set)")
    if ext != found.info.format or z > 30:
        abort(404, message=f"The base map's tiles are .{found.info.format}")
    data = found.tile(z, x, y)
    if data is None:
        abort(404, message=f"The base map has no tile {z}/{x}/{y} (outside its area or its zoom levels "
                   f"{found.info.min_zoom}-{found.info.max_zoom})")
    response = Response(data, content_type=found.info.content_type)
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(f"{found.info.etag}-{z}-{x}-{y}")
    return response.make_conditional(request)


def tile_source() -> tuple[str, str]:
    """The maps' tile URL template and attribution: the archive's when there is one, else BLOCKWALK_TILE_URL's."""
    found = info()
    config = current_app.config
    if found is not None:
        return found.as_json()["url"], found.attribution or str(config.get("TILE_ATTRIBUTION") or "")
    return str(config.get("TILE_URL") or ""), str(config.get("TILE_ATTRIBUTION") or "")
