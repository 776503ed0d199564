"""Geotag checks: pure functions on numbers and shapes, vectorised with numpy; no Flask, no store.

A geotagged record (the visit's ``geotag``) or asset (a ``location``
geopoint in the record's ``assets`` repeat) is checked and flagged, never
dropped.  The flags, a bit each, so that an index filters by them:

* ``low_accuracy``: its ``accuracy_m`` is worse (larger) than the form's
  threshold: the geopoint field's ``accuracy_m``, else the form's
  ``settings.geotag_accuracy_m``.  No ``accuracy_m``: not flagged (a manual
  pin has none, and has its own flag).
* ``outside_turf``: further than the tolerance (metres) outside its
  assigned turf.  "Inside" is the turf covering the point in longitude and
  latitude, as households are assigned (``server.geo.geometry.assign``).
* ``far_from_household``: further than a set distance from its household.
* ``impossible_speed``: the canvasser would have moved faster than a set
  speed between their previous record and this one (by capture time).  The
  distance counted is the distance between the two fixes less both fixes'
  accuracy, so GPS jitter at one door is no speed; the later record of the
  pair is flagged.  A fix flagged ``far_from_household`` is never the
  "previous record": the knock after a bad geotag is measured from the last
  good one.
* ``manual``: a pin placed by hand (``source: "manual"``).

Distances are geodesic on the WGS84 ellipsoid (pyproj's ``Geod``, Karney's
algorithm: exact to the nanometre, at any latitude, across the antimeridian).
The distance from a point to a turf outside it is found on the sphere in the
gnomonic projection centred on the point (great circles are straight lines
there, and the distance from the centre grows with the true distance, so the
nearest point of the plane is the nearest point of the sphere); the distance
to that nearest point is then measured on the ellipsoid.
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import shapely
from pyproj import Geod

from schemas.assets import FLAG_NAMES

WGS84 = Geod(ellps="WGS84")
SPHERE_M = 6_371_008.8

# A bit each, in the order the REST schemas list them.
FLAGS: dict[str, int] = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}


def flag_names(bits: int) -> list[str]:
    return [name for name, bit in FLAGS.items() if bits & bit]


def flag_bits(names: list[str]) -> int:
    """The bits of flag names; an unknown name raises KeyError."""
    bits = 0
    for name in names:
        bits |= FLAGS[name]
    return bits


def distances_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Geodesic distances in metres between arrays of points (NaN where a point is missing)."""
    lat1, lon1, lat2, lon2 = (np.asarray(a, dtype=float) for a in (lat1, lon1, lat2, lon2))
    out = np.full(lat1.shape, np.nan)
    ok = np.isfinite(lat1) & np.isfinite(lon1) & np.isfinite(lat2) & np.isfinite(lon2)
    if ok.any():
        _, _, dist = WGS84.inv(lon1[ok], lat1[ok], lon2[ok], lat2[ok])
        out[ok] = dist
    return out


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(distances_m([lat1], [lon1], [lat2], [lon2])[0])


# --------------------------------------------------------------------------- outside a turf


def _unit(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)], axis=-1)


def _rings(shape: shapely.Geometry) -> list[np.ndarray]:
    polygons = shape.geoms if hasattr(shape, "geoms") else [shape]
    rings = []
    for polygon in polygons:
        rings.append(np.asarray(polygon.exterior.coords))
        rings.extend(np.asarray(ring.coords) for ring in polygon.interiors)
    return rings


def _outside_one(lat: float, lon: float, vertices: np.ndarray, starts: np.ndarray) -> float:
    """Geodesic metres from (lat, lon) to the nearest point of the rings (see the module docstring)."""
    n = _unit(np.array(lat), np.array(lon))
    phi, lam = math.radians(lat), math.radians(lon)
    east = np.array([-math.sin(lam), math.cos(lam), 0.0])
    north = np.array([-math.sin(phi) * math.cos(lam), -math.sin(phi) * math.sin(lam), math.cos(phi)])
    v = _unit(vertices[:, 1], vertices[:, 0])
    d = v @ n
    if (d <= 1e-6).any():  # part of the turf is a hemisphere away: the nearest vertex is near enough
        _, _, dist = WGS84.inv(np.full(len(vertices), lon), np.full(len(vertices), lat), vertices[:, 0], vertices[:, 1])
        return float(np.min(dist))
    x, y = (v @ east) / d, (v @ north) / d
    a = np.stack([x[:-1], y[:-1]], axis=1)[starts]
    b = np.stack([x[1:], y[1:]], axis=1)[starts]
    ab = b - a
    length2 = (ab * ab).sum(axis=1)
    t = np.clip(np.where(length2 > 0, -(a * ab).sum(axis=1) / np.where(length2 > 0, length2, 1), 0.0), 0.0, 1.0)
    nearest = a + ab * t[:, None]
    best = int(np.argmin((nearest * nearest).sum(axis=1)))
    px, py = nearest[best]
    w = n + px * east + py * north
    w /= np.linalg.norm(w)
    nlat, nlon = math.degrees(math.asin(max(-1.0, min(1.0, w[2])))), math.degrees(math.atan2(w[1], w[0]))
    return distance_m(lat, lon, nlat, nlon)


def outside_m(shape: shapely.Geometry, lats, lons) -> np.ndarray:
    """Metres each point lies outside ``shape`` (0 inside or on it; NaN for a missing point)."""
    lats, lons = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
    out = np.full(lats.shape, np.nan)
    ok = np.isfinite(lats) & np.isfinite(lons)
    if not ok.any():
        return out
    inside = shapely.covers(shape, shapely.points(lons[ok], lats[ok]))
    result = np.zeros(int(ok.sum()))
    rings = _rings(shape)
    vertices = np.concatenate(rings)
    # segment i joins vertex i and i + 1 within one ring: not the last vertex of a ring to the next ring's first
    ends = np.cumsum([len(r) for r in rings]) - 1
    starts = np.setdiff1d(np.arange(len(vertices) - 1), ends)
    for i in np.flatnonzero(~inside):
        result[i] = _outside_one(float(lats[ok][i]), float(lons[ok][i]), vertices, starts)
    out[ok] = result
    return out


# --------------------------------------------------------------------------- speed


# A fix flagged with one of these is not where the canvasser said they were (at the household's door): no
# speed is measured from it.  Outside the turf alone is not enough: a knock just over the turf's edge is real.
NOT_THERE = ("far_from_household",)


def speeds_kmh(times, lats, lons, accuracies, usable=None) -> np.ndarray:
    """For one canvasser's fixes in time order: the speed (km/h) from each fix's predecessor.

    The predecessor is the latest earlier fix that is ``usable`` (default:
    all): a fix flagged as not where the canvasser was (``NOT_THERE``) is
    measured itself, but the next knock is measured from the fix before it,
    so one bad geotag does not make the correct one after it "impossible".
    The distance is the geodesic distance less both fixes' accuracy (never
    below 0); the first fix, one with no usable fix before it, and a fix
    without time or position, gets NaN.  Two fixes at the same time but
    apart get infinity.
    """
    t, lat, lon = (np.asarray(a, dtype=float) for a in (times, lats, lons))
    acc = np.nan_to_num(np.asarray(accuracies, dtype=float), nan=0.0)
    out = np.full(t.shape, np.nan)
    if len(t) < 2:
        return out
    ok = np.ones(t.shape, dtype=bool) if usable is None else np.asarray(usable, dtype=bool)
    # prev[i]: the index of the latest usable fix before i, or -1.
    marks = np.where(ok, np.arange(len(t)), -1)
    prev = np.concatenate(([-1], np.maximum.accumulate(marks)[:-1]))
    rows = np.flatnonzero(prev >= 0)
    if not len(rows):
        return out
    before = prev[rows]
    dist = distances_m(lat[before], lon[before], lat[rows], lon[rows])
    moved = np.maximum(0.0, dist - acc[before] - acc[rows])
    dt = t[rows] - t[before]
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.where(moved > 0, moved / np.maximum(dt, 0.0) * 3.6, 0.0)
    speed[~np.isfinite(dt) | ~np.isfinite(dist)] = np.nan
    out[rows] = speed
    return out


# --------------------------------------------------------------------------- static checks


def check(
    lats, lons, accuracies, thresholds, manual,
    household_lats, household_lons, turf_ids, turfs: Mapping[str, shapely.Geometry],
    *, turf_tolerance_m: float, household_max_m: float,
) -> tuple[np.ndarray, list[dict]]:
    """The flags that need no other record: bits per point, and what was measured (for people to read).

    ``turf_ids[i]`` None: no assigned turf; a turf id not in ``turfs``
    (deleted, or a bad shape) is not checked.
    """
    lats, lons = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
    acc = np.asarray(accuracies, dtype=float)
    thr = np.asarray(thresholds, dtype=float)
    bits = np.zeros(lats.shape, dtype=np.int64)
    details: list[dict] = [{} for _ in range(len(lats))]
    with np.errstate(invalid="ignore"):
        low = acc > thr
    bits[low] |= FLAGS["low_accuracy"]
    bits[np.asarray(manual, dtype=bool)] |= FLAGS["manual"]
    to_household = distances_m(lats, lons, household_lats, household_lons)
    with np.errstate(invalid="ignore"):
        far = to_household > household_max_m
    bits[far] |= FLAGS["far_from_household"]
    for i in np.flatnonzero(np.isfinite(to_household)):
        details[i]["household_m"] = round(float(to_household[i]), 1)
    for i in np.flatnonzero(low):
        details[i]["accuracy_threshold_m"] = float(thr[i])
    by_turf: dict[str, list[int]] = {}
    for i, turf in enumerate(turf_ids):
        if turf is not None and turf in turfs:
            by_turf.setdefault(turf, []).append(i)
    for turf, rows in by_turf.items():
        idx = np.asarray(rows)
        out = outside_m(turfs[turf], lats[idx], lons[idx])
        for i, metres in zip(idx, out):
            if np.isfinite(metres) and metres > 0:
                details[i]["outside_turf_m"] = round(float(metres), 1)
                if metres > turf_tolerance_m:
                    bits[i] |= FLAGS["outside_turf"]
    return bits, details
