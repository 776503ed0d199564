"""``/tiles/``: the base map's tiles and what the maps need to know of it.

The tiles are public, like the app's own files: a base map is a picture of
streets (most often OpenStreetMap's, whose licence wants it shared), and the
browser fetches tiles as images, which carry no ``Authorization`` header.
Nothing of a campaign is in it.  The pack (many tiles in one answer, the bulk
download a phone keeps its turfs' map with) needs a signed-in campaign member:
the app sends its device token.

* ``GET /tiles/meta.json``: ``{format, min_zoom, max_zoom, bounds, attribution, name, url}``;
  404 when the server has no base map.
* ``GET /tiles/{z}/{x}/{y}.{format}``: one tile, ``Cache-Control: public`` for a
  day and an ETag that changes with the archive file (304 on a match); 404 for
  a tile the archive does not hold (outside its area or its zooms).
* ``POST /tiles/pack``: up to 256 tiles in one answer (``pack``), what a phone
  downloads its turfs' map with: on a slow network each request costs a round trip.
  Signed in (a device token or a password, as on ``/api``), 401 otherwise; a user
  with no role in any campaign gets 403.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_smorest import abort

from server.access.auth import api_authenticate
from server.basemap.archive import Info
from server.services import services

bp = Blueprint("basemap", __name__, url_prefix="/tiles")


def archive():
    return services().basemap


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


PACK_MOST = 256  # tiles a pack may ask for: a few hundred KB, a minute at worst on slow 3G


@bp.post("/pack")
def pack() -> Response:
    """Many tiles in one answer, for a phone keeping its turfs' map: one round trip instead of one a tile.

    Signed in, as on ``/api``: 401 in the API's words without a working credential, 403 for a user
    with no role in any campaign (the bulk download is for the campaigns' own people).
    The body is ``{"tiles": [[z, x, y], ...]}`` (at most 256); the answer is
    ``application/octet-stream``: a 4-byte big-endian length, that many bytes
    of JSON ``[[z, x, y, length], ...]`` (the tiles the archive holds, in the
    order asked), then their bytes one after the other.
    """
    import json
    import struct

    api_authenticate()  # a 401 in the API's words
    if not g.user.admin and not any(g.user.roles.values()):
        abort(403, message="Only a member of a campaign may download the base map in packs: you have no role in any campaign")
    found = archive()
    if found is None:
        abort(404, message="This server has no base map (BLOCKWALK_BASEMAP is not set)")
    body = request.get_json(silent=True)
    wanted = body.get("tiles") if isinstance(body, dict) else None
    if not isinstance(wanted, list) or not 0 < len(wanted) <= PACK_MOST or not all(
            isinstance(t, list) and len(t) == 3 and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in t)
            and t[0] <= 30 for t in wanted):
        abort(422, message=f'Send {{"tiles": [[z, x, y], ...]}}: 1 to {PACK_MOST} tiles, each three whole numbers 0 or more, z at most 30')
    index, blobs = [], []
    for z, x, y in dict.fromkeys(map(tuple, wanted)):  # a tile asked twice is sent once
        data = found.tile(z, x, y)
        if data is not None:
            index.append([z, x, y, len(data)])
            blobs.append(data)
    head = json.dumps(index, separators=(",", ":")).encode()
    response = Response(struct.pack(">I", len(head)) + head + b"".join(blobs), content_type="application/octet-stream")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def tile_source() -> tuple[str, str]:
    """The maps' tile URL template and attribution: the archive's when there is one, else BLOCKWALK_TILE_URL's."""
    found = info()
    config = current_app.config
    if found is not None:
        return found.as_json()["url"], found.attribution or str(config.get("TILE_ATTRIBUTION") or "")
    return str(config.get("TILE_URL") or ""), str(config.get("TILE_ATTRIBUTION") or "")
