"""The base-map archive the server serves: a PMTiles v3 or an MBTiles file, one interface.

``open_archive(path)`` tells the two apart by their first bytes and answers
``ArchiveError`` in words for anything else (a missing file, a vector archive
the maps cannot draw, an archive with no tiles).  ``Archive.tile(z, x, y)``
gives a tile's bytes and ``Archive.info`` what the maps need to know (format,
zooms, bounds, attribution).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from dataclasses import dataclass

from server.basemap.pmtiles import ArchiveError, COMPRESSION, Reader, TILE_TYPES

# What the maps draw: Leaflet shows raster tiles; vector tiles would need a renderer in every map.
RASTER = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class Info:
    format: str  # png, jpg or webp: the tiles' file extension
    min_zoom: int
    max_zoom: int
    bounds: tuple[float, float, float, float]  # west, south, east, north
    attribution: str
    name: str
    etag: str  # changes when the file does: the tiles' ETags carry it

    @property
    def content_type(self) -> str:
        return RASTER[self.format]

    def as_json(self) -> dict:
        return {"format": self.format, "min_zoom": self.min_zoom, "max_zoom": self.max_zoom,
                "bounds": list(self.bounds), "attribution": self.attribution, "name": self.name,
                "url": f"/tiles/{{z}}/{{x}}/{{y}}.{self.format}"}


def _etag(path: str) -> str:
    st = os.stat(path)
    return hashlib.sha256(f"{os.path.realpath(path)}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:12]


def _raster(kind: str, path: str) -> str:
    kind = {"jpeg": "jpg"}.get(kind, kind)
    if kind in ("mvt", "pbf"):
        raise ArchiveError(f"{path} holds vector tiles; the maps draw raster tiles (PNG, JPEG or WebP): "
                           "docs/basemap.md says how to make a raster archive of an area")
    if kind not in RASTER:
        raise ArchiveError(f"{path} holds tiles of type {kind or 'unknown'}; the maps draw PNG, JPEG or WebP tiles")
    return kind


class PMTilesArchive:
    def __init__(self, path: str):
        self.reader = Reader(path)
        h = self.reader.header
        if h.tile_compression not in (0, 1):
            raise ArchiveError(f"{path}: its raster tiles are compressed with {COMPRESSION.get(h.tile_compression)}; "
                               "raster tiles are stored as they are (tile compression none)")
        meta = self.reader.metadata if isinstance(self.reader.metadata, dict) else {}
        self.info = Info(_raster(TILE_TYPES.get(h.tile_type, ""), path), h.min_zoom, h.max_zoom, h.bounds,
                         str(meta.get("attribution") or ""), str(meta.get("name") or ""), _etag(path))

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        return self.reader.tile(z, x, y)

    def close(self) -> None:
        self.reader.close()


class MBTilesArchive:
    """An MBTiles file (SQLite; rows are TMS, y counted from the south), opened read-only."""

    def __init__(self, path: str):
        self.path = path
        self._local = threading.local()
        try:
            db = self._db()
            meta = dict(db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = db.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ArchiveError(f"{path} is not an MBTiles file ({exc})") from None
        if zooms[0] is None:
            raise ArchiveError(f"{path} holds no tiles")
        try:
            bounds = tuple(float(v) for v in str(meta.get("bounds", "-180,-85.0511,180,85.0511")).split(","))
            assert len(bounds) == 4
        except (ValueError, AssertionError):
            raise ArchiveError(f"{path}: its bounds are not west,south,east,north") from None
        self.info = Info(_raster(str(meta.get("format", "")).lower(), path), int(zooms[0]), int(zooms[1]), bounds,
                         str(meta.get("attribution") or ""), str(meta.get("name") or ""), _etag(path))

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        return db

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        if not (0 <= x < 1 << z and 0 <= y < 1 << z):
            return None
        row = self._db().execute("SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                                 (z, x, (1 << z) - 1 - y)).fetchone()
        return bytes(row[0]) if row else None

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()


def open_archive(path: str) -> PMTilesArchive | MBTilesArchive:
    try:
        with open(path, "rb") as f:
            start = f.read(16)
    except OSError as exc:
        raise ArchiveError(f"cannot read the base map {path}: {exc.strerror}") from None
    if start.startswith(b"PMTiles"):
        return PMTilesArchive(path)
    if start.startswith(b"SQLite format 3\0"):
        return MBTilesArchive(path)
    raise ArchiveError(f"{path} is neither a PMTiles (v3) nor an MBTiles file")
