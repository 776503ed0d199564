"""The geometry of turfs: pure functions, no Flask, no store.

Coordinates are WGS84 longitude/latitude in degrees, GeoJSON order (lon, lat).
Lengths and areas are in metres and square metres on a sphere of the mean
Earth radius (6,371,008.8 m): within about 0.5 % of the ellipsoid, plenty
for turfs and geotag checks.

* ``check_turf``: a GeoJSON Polygon or MultiPolygon, checked and turned into
  a shapely geometry; anything else raises ``GeoError`` (shapely's
  ``explain_validity`` text in the message for invalid shapes).
* ``overlaps``: the pairs of turfs whose interiors overlap, with the area.
  Turfs that only touch (a shared edge or corner) do not overlap.
* ``assign``: household -> turf, vectorised with an STRtree.  A household is
  in a turf when the turf *covers* it (interior or boundary).  A household
  in more than one turf (on a shared border, or where turfs overlap) goes
  to the turf with the smallest id (Python string order); a household in no
  turf maps to None.

Distances between points are the geotag checks' (``geo.geotags``, geodesic
on the WGS84 ellipsoid); household lists are read by ``geo.households``.

Turfs crossing the antimeridian are not supported: in GeoJSON longitudes
they look 360 degrees wide and are refused as too large.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

EARTH_RADIUS_M = 6_371_008.8
MAX_TURF_SPAN_M = 50_000.0
MAX_TURF_VERTICES = 10_000
SIMPLE_TURF_VERTICES = 64  # assign's switch between its two ways of querying (bench/geo.py --vertices)

_M_PER_DEG = EARTH_RADIUS_M * math.pi / 180.0


class GeoError(ValueError):
    """A geometry or coordinate that cannot be accepted; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------- turfs


def short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_position(pos: object, where: str) -> tuple[float, float]:
    if not isinstance(pos, (list, tuple)) or not 2 <= len(pos) <= 3:
        raise GeoError(f"{where}: a position is [longitude, latitude], got {short(pos)}")
    if not all(is_number(v) for v in pos):
        raise GeoError(f"{where}: coordinates must be numbers, got {short(pos)}")
    try:
        lon, lat, *alt = (float(v) for v in pos)
    except OverflowError:
        raise GeoError(f"{where}: coordinates must be finite numbers, got {short(pos)}") from None
    if not all(math.isfinite(v) for v in (lon, lat, *alt)):
        raise GeoError(f"{where}: coordinates must be finite numbers, got {short(pos)}")
    if not -180.0 <= lon <= 180.0:
        raise GeoError(f"{where}: longitude {lon:g} is out of range [-180, 180]")
    if not -90.0 <= lat <= 90.0:
        raise GeoError(f"{where}: latitude {lat:g} is out of range [-90, 90]")
    return lon, lat  # an altitude, if any, is dropped


def _fast_positions(ring: list | tuple) -> np.ndarray | None:
    """The ring as an (n, 2) float array if every position is plainly good, else None.

    The common case, checked without a Python loop per position; anything
    doubtful goes through ``_check_position`` for a precise message.
    """
    try:
        cells = np.array(ring, dtype=object)
    except (ValueError, TypeError):
        return None
    if cells.ndim != 2 or cells.shape[1] not in (2, 3) or not set(map(type, cells.flat)) <= {int, float}:
        return None  # bools, strings, None, numpy scalars, ragged or nested positions
    try:
        coords = cells.astype(float)
    except OverflowError:
        return None
    if not np.isfinite(coords).all() or (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        return None
    return coords[:, :2]  # an altitude, if any, is dropped


def _check_ring(ring: object, where: str, budget: list[int]) -> np.ndarray:
    if not isinstance(ring, (list, tuple)):
        raise GeoError(f"{where}: a linear ring is an array of positions, got {short(ring)}")
    budget[0] -= len(ring)
    if budget[0] < 0:
        raise GeoError(f"a turf has at most {MAX_TURF_VERTICES:,} vertices")
    if len(ring) < 4:
        raise GeoError(f"{where}: a linear ring needs at least 4 positions, got {len(ring)}")
    coords = _fast_positions(ring)
    if coords is None:
        coords = np.array([_check_position(pos, f"{where}[{i}]") for i, pos in enumerate(ring)])
    if not (coords[0] == coords[-1]).all():
        raise GeoError(f"{where}: the linear ring is not closed (its first and last positions differ)")
    return coords


def _check_rings(rings: object, where: str, budget: list[int]) -> shapely.Polygon:
    if not isinstance(rings, (list, tuple)) or not rings:
        raise GeoError(f"{where}: a polygon is a non-empty array of linear rings, got {short(rings)}")
    checked = [_check_ring(ring, f"{where}[{i}]", budget) for i, ring in enumerate(rings)]
    return shapely.Polygon(checked[0], checked[1:])


def _from_geojson(geometry: object) -> BaseGeometry:
    if not isinstance(geometry, Mapping):
        raise GeoError(f"a turf is a GeoJSON Polygon or MultiPolygon object, got {short(geometry)}")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeoError(f"a turf is a GeoJSON Polygon or MultiPolygon, got type {short(kind)}")
    if "coordinates" not in geometry:
        raise GeoError(f"the {kind} has no coordinates")
    coords = geometry["coordinates"]
    budget = [MAX_TURF_VERTICES]
    if kind == "Polygon":
        return _check_rings(coords, "coordinates", budget)
    if not isinstance(coords, (list, tuple)) or not coords:
        raise GeoError(f"coordinates: a MultiPolygon is a non-empty array of polygons, got {short(coords)}")
    return shapely.MultiPolygon([_check_rings(p, f"coordinates[{i}]", budget) for i, p in enumerate(coords)])


def _check_shape(geom: BaseGeometry) -> None:
    """The checks that apply to a shapely geometry, however it was made."""
    if not isinstance(geom, (shapely.Polygon, shapely.MultiPolygon)):
        raise GeoError(f"a turf is a Polygon or MultiPolygon, got {geom.geom_type}")
    if geom.is_empty:
        raise GeoError(f"the {geom.geom_type} is empty")
    if shapely.get_num_coordinates(geom) > MAX_TURF_VERTICES:
        raise GeoError(f"a turf has at most {MAX_TURF_VERTICES:,} vertices")
    coords = shapely.get_coordinates(geom)
    if not np.isfinite(coords).all():
        raise GeoError("coordinates must be finite numbers")
    minx, miny, maxx, maxy = geom.bounds
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        raise GeoError("coordinates are out of range (longitude [-180, 180], latitude [-90, 90])")
    if not geom.is_valid:
        raise GeoError(f"invalid {geom.geom_type}: {explain_validity(geom)}")
    width, height = _span_m(minx, miny, maxx, maxy)
    if max(width, height) > MAX_TURF_SPAN_M:
        raise GeoError(
            f"the turf is {width / 1000:,.1f} km wide and {height / 1000:,.1f} km tall; "
            f"a turf is at most {MAX_TURF_SPAN_M / 1000:g} km across"
        )


def _span_m(minx: float, miny: float, maxx: float, maxy: float) -> tuple[float, float]:
    """East-west (at its widest latitude) and north-south extent of a bounding box, in metres."""
    widest = 0.0 if miny <= 0.0 <= maxy else min(abs(miny), abs(maxy))
    return (maxx - minx) * _M_PER_DEG * math.cos(math.radians(widest)), (maxy - miny) * _M_PER_DEG


def check_turf(geometry: object) -> shapely.Polygon | shapely.MultiPolygon:
    """A GeoJSON Polygon or MultiPolygon (lon/lat) as a valid shapely geometry, or ``GeoError``.

    Refused: anything but a Polygon/MultiPolygon object; missing or malformed
    coordinates; a ring that is not closed or has fewer than 4 positions; a
    coordinate that is not a finite number or is out of range; more than
    ``MAX_TURF_VERTICES`` positions; any shape GEOS finds invalid
    (self-intersection, hole outside its shell, overlapping parts...: the
    message carries ``explain_validity``); a bounding box more than
    ``MAX_TURF_SPAN_M`` wide or tall.  Ring orientation is not checked
    (RFC 7946 asks parsers not to).  A shapely Polygon/MultiPolygon is
    accepted too and gets the same shape checks.
    """
    geom = geometry if isinstance(geometry, BaseGeometry) else _from_geojson(geometry)
    _check_shape(geom)
    return geom


def _turf_array(turfs: Mapping[str, object]) -> tuple[list[str], np.ndarray]:
    """Turf ids in sorted order and their checked geometries in the same order."""
    if not isinstance(turfs, Mapping):
        raise GeoError("turfs are a mapping of turf id to geometry")
    ids = sorted(turfs)
    geoms = np.empty(len(ids), dtype=object)
    for i, turf_id in enumerate(ids):
        try:
            geoms[i] = check_turf(turfs[turf_id])
        except GeoError as exc:
            raise GeoError(f"turf {turf_id}: {exc.message}") from None
    return ids, geoms


def area_m2(geom: BaseGeometry | np.ndarray) -> float | np.ndarray:
    """Area in square metres of lon/lat geometries (vectorised over arrays).

    Projects onto a sinusoidal projection centred on each geometry, which
    is equal-area on the sphere.
    """
    geoms = np.asarray(geom, dtype=object)
    flat = geoms.reshape(-1)
    out = np.zeros(len(flat))
    for_area = ~shapely.is_empty(flat) if len(flat) else np.zeros(0, dtype=bool)
    if for_area.any():
        parts = flat[for_area]
        lon0 = shapely.get_x(shapely.centroid(parts))
        counts = shapely.get_num_coordinates(parts)
        lon0_per_coord = np.repeat(lon0, counts)

        def project(coords: np.ndarray) -> np.ndarray:
            lat = np.radians(coords[:, 1])
            x = (coords[:, 0] - lon0_per_coord) * _M_PER_DEG * np.cos(lat)
            return np.column_stack([x, coords[:, 1] * _M_PER_DEG])

        out[for_area] = shapely.area(shapely.transform(parts, project))
    return float(out[0]) if geoms.ndim == 0 else out.reshape(geoms.shape)


def overlaps(turfs: Mapping[str, object], *, min_area_m2: float = 0.0) -> list[tuple[str, str, float]]:
    """Pairs (id_a, id_b, area_m2) of turfs whose interiors overlap, id_a < id_b, sorted.

    Candidate pairs come from an STRtree (bounding boxes that intersect);
    a pair is reported when the interiors intersect (DE-9IM ``T********``),
    so turfs that share an edge or a corner are not, nor is anything
    smaller than ``min_area_m2`` (a sliver from hand-drawn borders).
    Turfs are checked with ``check_turf`` first; a bad one raises
    ``GeoError`` naming it.
    """
    ids, geoms = _turf_array(turfs)
    if len(ids) < 2:
        return []
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    inner = shapely.relate_pattern(geoms[left], geoms[right], "T********")
    left, right = left[inner], right[inner]
    areas = area_m2(shapely.intersection(geoms[left], geoms[right]))
    out = [
        (ids[a], ids[b], float(area))
        for a, b, area in zip(left.tolist(), right.tolist(), areas.tolist())
        if area > min_area_m2
    ]
    out.sort()
    return out


# --------------------------------------------------------------------------- assignment


def assign(households: Iterable[tuple[Any, float, float]], turfs: Mapping[str, object]) -> dict[Any, str | None]:
    """Household id -> turf id (or None) for (id, lon, lat) triples, vectorised.

    One STRtree query pairs every household with the turfs that cover it.
    For simple turfs (at most ``SIMPLE_TURF_VERTICES`` vertices on average)
    the tree holds the turfs and is queried with all the points at once;
    otherwise it holds the points and is queried with all the turfs at
    once, so GEOS prepares each turf and the cost per household stays flat
    however many vertices a turf has.  Both give the same pairs (the
    predicate is symmetric).  ``intersects`` on a point is ``covers``: a point
    on a turf's boundary is in it.  A point covered by several turfs (a
    shared border, overlapping turfs) goes to the smallest turf id; a point
    in no turf, or with coordinates that are not finite, maps to None.
    Duplicate household ids, and coordinates that are not numbers, raise
    ``GeoError``.
    """
    rows = list(households)
    if not rows:
        _turf_array(turfs)
        return {}
    try:
        if set(map(len, rows)) != {3}:
            raise TypeError
    except TypeError:
        raise GeoError("households are (id, lon, lat) triples") from None
    hh_ids, lons, lats = (list(map(itemgetter(k), rows)) for k in range(3))
    if len(set(hh_ids)) != len(hh_ids):
        raise GeoError("household ids must be unique")
    coords = np.column_stack([np.asarray(lons), np.asarray(lats)])
    if coords.dtype.kind not in "fiu":
        raise GeoError("household coordinates must be numbers")
    turf_ids, geoms = _turf_array(turfs)
    if not turf_ids:
        return dict.fromkeys(hh_ids)
    coords = coords.astype(float)
    finite = np.isfinite(coords).all(axis=1)
    points = np.full(len(rows), None, dtype=object)
    points[finite] = shapely.points(coords[finite])  # None never matches
    if shapely.get_num_coordinates(geoms).mean() <= SIMPLE_TURF_VERTICES:
        point_idx, turf_idx = shapely.STRtree(geoms).query(points, predicate="intersects")
    else:
        turf_idx, point_idx = shapely.STRtree(points).query(geoms, predicate="intersects")
    best = np.full(len(rows), len(turf_ids), dtype=np.int64)  # len(turf_ids): in no turf
    np.minimum.at(best, point_idx, turf_idx)  # turfs are in id order: the smallest id wins
    names = np.array([*turf_ids, None], dtype=object)
    return dict(zip(hh_ids, names[best].tolist()))
