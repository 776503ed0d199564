"""The geometry of turfs and households: pure functions, no Flask, no store.

Coordinates are WGS84 longitude/latitude in degrees, GeoJSON order (lon, lat).
Lengths and areas are in metres and square metres on a sphere of the mean
Earth radius (6,371,008.8 m): within about 0.5 % of the ellipsoid, plenty
for turfs and geotag checks.

* ``check_turf``: a GeoJSON Polygon or MultiPolygon, checked and turned into
  a shapely geometry; anything else raises ``GeoError`` (shapely's
  ``explain_validity`` text in the message for invalid shapes).
* ``overlaps``: the pairs of turfs whose interiors overlap, with the area.
  Turfs that only touch (a shared edge or corner) do not overlap.
* ``parse_households_csv`` / ``parse_households_geojson``: households and a
  problem per bad row or feature; ``dedupe`` by normalised address + unit
  (the rule is in ``address_key``).
* ``assign``: household -> turf, vectorised with an STRtree.  A household is
  in a turf when the turf *covers* it (interior or boundary).  A household
  in more than one turf (on a shared border, or where turfs overlap) goes
  to the turf with the smallest id (Python string order); a household in no
  turf maps to None.
* ``distance_m``: haversine distance, correct at any latitude and across
  the antimeridian.

Turfs crossing the antimeridian are not supported: in GeoJSON longitudes
they look 360 degrees wide and are refused as too large.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_position(pos: object, where: str) -> tuple[float, float]:
    if not isinstance(pos, (list, tuple)) or not 2 <= len(pos) <= 3:
        raise GeoError(f"{where}: a position is [longitude, latitude], got {_short(pos)}")
    if not all(_is_number(v) for v in pos):
        raise GeoError(f"{where}: coordinates must be numbers, got {_short(pos)}")
    try:
        lon, lat, *alt = (float(v) for v in pos)
    except OverflowError:
        raise GeoError(f"{where}: coordinates must be finite numbers, got {_short(pos)}") from None
    if not all(math.isfinite(v) for v in (lon, lat, *alt)):
        raise GeoError(f"{where}: coordinates must be finite numbers, got {_short(pos)}")
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
        raise GeoError(f"{where}: a linear ring is an array of positions, got {_short(ring)}")
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
        raise GeoError(f"{where}: a polygon is a non-empty array of linear rings, got {_short(rings)}")
    checked = [_check_ring(ring, f"{where}[{i}]", budget) for i, ring in enumerate(rings)]
    return shapely.Polygon(checked[0], checked[1:])


def _from_geojson(geometry: object) -> BaseGeometry:
    if not isinstance(geometry, Mapping):
        raise GeoError(f"a turf is a GeoJSON Polygon or MultiPolygon object, got {_short(geometry)}")
    kind = geometry.get("type")
    if kind not in ("Polygon", "MultiPolygon"):
        raise GeoError(f"a turf is a GeoJSON Polygon or MultiPolygon, got type {_short(kind)}")
    if "coordinates" not in geometry:
        raise GeoError(f"the {kind} has no coordinates")
    coords = geometry["coordinates"]
    budget = [MAX_TURF_VERTICES]
    if kind == "Polygon":
        return _check_rings(coords, "coordinates", budget)
    if not isinstance(coords, (list, tuple)) or not coords:
        raise GeoError(f"coordinates: a MultiPolygon is a non-empty array of polygons, got {_short(coords)}")
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


# --------------------------------------------------------------------------- distance


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine on the mean Earth radius).

    Well conditioned for short distances, near the poles, across the
    antimeridian and for antipodal points (atan2 form).  Coordinates that
    are not finite numbers or out of range raise ``GeoError``.
    """
    for name, value, limit in (("lat1", lat1, 90), ("lon1", lon1, 180), ("lat2", lat2, 90), ("lon2", lon2, 180)):
        if not _is_number(value) or not math.isfinite(value) or not -limit <= value <= limit:
            raise GeoError(f"{name} must be a number in [-{limit}, {limit}], got {value!r}")
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    a = min(1.0, max(0.0, a))
    return 2 * EARTH_RADIUS_M * math.atan2(math.sqrt(a), math.sqrt(1 - a))


# --------------------------------------------------------------------------- households


@dataclass(frozen=True)
class Household:
    """One household to visit.  ``source`` is its CSV line number or GeoJSON feature index."""

    address: str
    unit: str
    lat: float
    lon: float
    extra: dict[str, Any] = field(default_factory=dict)
    source: int | None = None


@dataclass(frozen=True)
class Problem:
    """Why one CSV line or GeoJSON feature (or the whole file, ``where`` None) was not imported.

    ``where`` is ``"line"`` (``row`` is the 1-based line number where the
    CSV record starts; the header is line 1) or ``"feature"`` (``row`` is
    the 0-based index in ``features``).
    """

    where: str | None
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        prefix = f"{self.where} {self.row}: " if self.where else ""
        return f"{prefix}{self.field + ': ' if self.field else ''}{self.message}"


@dataclass(frozen=True)
class Duplicate:
    """A household left out by ``dedupe``, and the earlier one it duplicates."""

    household: Household
    kept: Household
    key: tuple[str, str]


_REQUIRED = ("address", "lat", "lon")
_KNOWN = ("address", "unit", "lat", "lon")
_RANGES = {"lat": 90.0, "lon": 180.0}
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEADER_HINT = "a header line naming the columns address, lat, lon (and optionally unit) is required"


def _short(value: object, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _coordinate(name: str, value: object, problem, text: bool) -> float | None:
    """A latitude or longitude from a CSV cell (``text``) or a JSON number; calls ``problem`` if bad."""
    if text and isinstance(value, str):
        text = value.strip()
        if not text:
            problem(name, f"missing {name}")
            return None
        if not _DECIMAL.fullmatch(text):
            problem(name, f"not a number: {_short(text)}")
            return None
        number = float(text)
    elif _is_number(value):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    else:
        problem(name, f"not a number: {_short(value)}")
        return None
    if not math.isfinite(number):
        problem(name, f"not a finite number: {_short(value)}")
        return None
    limit = _RANGES[name]
    if not -limit <= number <= limit:
        problem(name, f"{number:g} is out of range [-{limit:g}, {limit:g}]")
        return None
    return number


def parse_households_csv(text: str) -> tuple[list[Household], list[Problem]]:
    """Households from CSV text, and a problem for every line that cannot be imported.

    The first line is the header: column names are matched without regard
    to case or surrounding spaces; address, lat and lon are required, unit
    is optional; every other column is kept in ``extra`` under its header
    name.  Blank lines are skipped.  A line with more fields than the
    header is refused; missing trailing fields count as empty.  A bad
    line gives one problem per bad field and is left out; so does a line
    the CSV reader cannot read (a stray or unclosed quote).
    """
    text = text.removeprefix("\ufeff")  # a byte-order mark, as spreadsheets write
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    households: list[Household] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [Problem("line", 1, None, f"unreadable CSV: {exc}")]
    if header is None or not any(cell.strip() for cell in header):
        return [], [Problem("line", 1, None, f"empty file: {_HEADER_HINT}")]
    names = [cell.strip() for cell in header]
    lowered = [name.casefold() for name in names]
    seen: set[str] = set()
    for name, low in zip(names, lowered):
        if low and low in seen:
            problems.append(Problem("line", 1, None, f"column {name!r} appears more than once"))
        seen.add(low)
    missing = [name for name in _REQUIRED if name not in seen]
    if missing:
        problems.append(Problem("line", 1, None, f"missing column(s) {', '.join(missing)}: {_HEADER_HINT}"))
    if problems:
        return [], problems
    index = {low: i for i, low in enumerate(lowered)}
    extras = [(i, name) for i, (name, low) in enumerate(zip(names, lowered)) if low not in _KNOWN and name]
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a stray or unclosed quote: report it, read on from the next line
            problems.append(Problem("line", start, None, f"unreadable CSV: {exc}"))
            last_line = reader.line_num
            continue
        last_line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(names):
            problems.append(Problem("line", start, None, f"{len(row)} fields, but the header has {len(names)}"))
            continue
        row = row + [""] * (len(names) - len(row))
        row_problems: list[Problem] = []

        def problem(name: str, message: str, _out: list = row_problems, _start: int = start) -> None:
            _out.append(Problem("line", _start, name, message))

        address = row[index["address"]].strip()
        if not address:
            problem("address", "missing address")
        lat = _coordinate("lat", row[index["lat"]], problem, text=True)
        lon = _coordinate("lon", row[index["lon"]], problem, text=True)
        if row_problems:
            problems.extend(row_problems)
            continue
        unit = row[index["unit"]].strip() if "unit" in index else ""
        extra = {name: row[i] for i, name in extras}
        households.append(Household(address, unit, lat, lon, extra, start))
    return households, problems


def parse_households_geojson(obj: object) -> tuple[list[Household], list[Problem]]:
    """Households from a GeoJSON FeatureCollection of Points, and a problem per bad feature.

    Each feature is a Point ``[lon, lat]`` (an altitude is ignored) with
    properties ``address`` (a non-empty string) and optionally ``unit`` (a
    string or a whole number); other properties go to ``extra``.  A problem
    names the feature's 0-based index in ``features``.
    """
    if not isinstance(obj, Mapping) or obj.get("type") != "FeatureCollection":
        return [], [Problem(None, None, None, "the file is not a GeoJSON FeatureCollection")]
    features = obj.get("features")
    if not isinstance(features, list):
        return [], [Problem(None, None, "features", "a FeatureCollection has an array of features")]
    households: list[Household] = []
    problems: list[Problem] = []
    for i, feature in enumerate(features):
        feature_problems: list[Problem] = []

        def problem(name: str | None, message: str, _out: list = feature_problems, _i: int = i) -> None:
            _out.append(Problem("feature", _i, name, message))

        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            problem(None, "not a GeoJSON Feature")
            problems.extend(feature_problems)
            continue
        geometry = feature.get("geometry")
        lat = lon = None
        if not isinstance(geometry, Mapping) or geometry.get("type") != "Point":
            kind = geometry.get("type") if isinstance(geometry, Mapping) else geometry
            problem("geometry", f"must be a Point, got {_short(kind)}")
        else:
            coords = geometry.get("coordinates")
            if not isinstance(coords, list) or not 2 <= len(coords) <= 3:
                problem("geometry", f"a Point has coordinates [lon, lat], got {_short(coords)}")
            else:
                lon = _coordinate("lon", coords[0], problem, text=False)
                lat = _coordinate("lat", coords[1], problem, text=False)
        props = feature.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, Mapping):
            problem("properties", "must be an object")
            props = {}
        address = props.get("address")
        if address is None or (isinstance(address, str) and not address.strip()):
            problem("address", "missing address")
        elif not isinstance(address, str):
            problem("address", f"must be text, got {_short(address)}")
        unit = props.get("unit")
        if unit is None:
            unit = ""
        elif isinstance(unit, int) and not isinstance(unit, bool):
            unit = str(unit)
        elif not isinstance(unit, str):
            problem("unit", f"must be text or a whole number, got {_short(unit)}")
        if feature_problems:
            problems.extend(feature_problems)
            continue
        extra = {k: v for k, v in props.items() if k not in ("address", "unit")}
        households.append(Household(address.strip(), unit.strip(), lat, lon, extra, i))
    return households, problems


# --------------------------------------------------------------------------- dedupe

# Whole words rewritten before comparing: street types (USPS abbreviations)
# and compass directions.  Applied to every word of the address, so
# "North Street" and "N St" compare equal.
ABBREVIATIONS = {
    "street": "st", "str": "st",
    "avenue": "ave", "av": "ave", "avn": "ave",
    "road": "rd",
    "boulevard": "blvd", "blvrd": "blvd",
    "drive": "dr", "drv": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "terrace": "ter", "terr": "ter",
    "parkway": "pkwy", "pky": "pkwy",
    "highway": "hwy",
    "square": "sq",
    "circle": "cir",
    "crescent": "cres",
    "alley": "aly",
    "trail": "trl",
    "expressway": "expy",
    "north": "n", "south": "s", "east": "e", "west": "w",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}
# Words that only say "this is a unit", dropped from the unit: "Apt. 2B" == "#2b" == "2B".
UNIT_WORDS = frozenset({"apt", "apartment", "unit", "suite", "ste", "flat", "no", "number", "rm", "room"})

_DELETED = frozenset("'\u2019.")  # apostrophes and periods vanish: "O'Brien" == "OBrien", "St." == "St"


def _words(text: str) -> list[str]:
    kept: list[str] = []
    for c in unicodedata.normalize("NFKD", text).casefold():
        if c in _DELETED:
            continue
        if unicodedata.category(c).startswith("M"):  # a mark: an accent, a vowel sign
            if kept and kept[-1].isascii():
                continue  # an accent on a Latin letter: "É" == "E"; other scripts keep their marks
            kept.append(c)
        else:
            kept.append(c if c.isalnum() else " ")  # anything else that is not a letter or digit separates words
    return "".join(kept).split()


def address_key(address: str, unit: str = "") -> tuple[str, str]:
    """The comparison key of an address and unit; equal keys are the same household.

    Both parts: compatibility-decomposed (NFKD, so full-width digits are
    digits) with the accents on Latin letters removed, case folded,
    apostrophes and periods deleted, every other run of characters that
    are not letters, digits or marks (of any script) turned into one
    space, surrounding space trimmed.  The address then has every word
    that is a street type or a compass direction abbreviated
    (``ABBREVIATIONS``: Street -> st, Avenue -> ave, North -> n...); the
    unit loses its designator words (``UNIT_WORDS``: Apt, Unit, Suite;
    "#" is punctuation).  Not done: numbers written as words ("First" vs
    "1st"), "Saint" vs "St", a unit written inside the address ("12 Main
    St Apt 2" with no unit is not "12 Main St" unit "2"), and "12-14" is
    "12 14", not "1214".
    """
    address_words = [ABBREVIATIONS.get(w, w) for w in _words(address)]
    unit_words = [w for w in _words(unit) if w not in UNIT_WORDS]
    return " ".join(address_words), " ".join(unit_words)


def dedupe(households: Iterable[Household]) -> tuple[list[Household], list[Duplicate]]:
    """Unique households (the first of each ``address_key``, in order) and the duplicates left out."""
    first: dict[tuple[str, str], Household] = {}
    unique: list[Household] = []
    duplicates: list[Duplicate] = []
    for household in households:
        key = address_key(household.address, household.unit)
        kept = first.get(key)
        if kept is None:
            first[key] = household
            unique.append(household)
        else:
            duplicates.append(Duplicate(household, kept, key))
    return unique, duplicates
