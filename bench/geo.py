"""Turf assignment benchmark: ``server.geo.geometry.assign`` against the naive loop, and ``overlaps``.

A city-sized area (about 20 km x 15 km around Chicago) is cut into a grid
of 1,000 rectangular turfs sharing their borders; 200,000 households are
scattered over it (a few outside, a few exactly on borders).  The run
assigns every household with ``assign`` (STRtree, vectorised) and, in the
same run, a sample with the naive way: for each household, for each turf
in id order, ``turf.covers(point)`` until one does.  It checks that the two
agree on the sample, prints households/s for both and the ratio, then
times ``overlaps`` on the 1,000 turfs against the naive all-pairs loop.

    python bench/geo.py [--households 200000] [--turfs 1000] [--naive 2000] [--vertices 5]

``--vertices N`` densifies every turf's outline to about N vertices (same
shapes), as turfs traced along streets have; above
``server.geo.geometry.SIMPLE_TURF_VERTICES`` on average, ``assign`` switches from a
tree of turfs queried with the points to a tree of points queried with
the (prepared) turfs.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import shapely  # noqa: E402

from server.geo.geometry import assign, check_turf, overlaps  # noqa: E402

WEST, SOUTH = -87.80, 41.78
WIDTH_DEG, HEIGHT_DEG = 0.24, 0.135  # about 20 km x 15 km


def make_turfs(n: int, vertices: int) -> dict[str, dict]:
    cols = max(1, round(math.sqrt(n * WIDTH_DEG / HEIGHT_DEG)))
    rows = math.ceil(n / cols)
    dx, dy = WIDTH_DEG / cols, HEIGHT_DEG / rows
    turfs = {}
    for k in range(n):
        i, j = k % cols, k // cols
        x0, y0, x1, y1 = WEST + i * dx, SOUTH + j * dy, WEST + (i + 1) * dx, SOUTH + (j + 1) * dy
        ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
        if vertices > 5:
            per_side = (vertices - 1) // 4
            ring = []
            for (ax, ay), (bx, by) in (((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x1, y1), (x0, y1)), ((x0, y1), (x0, y0))):
                ring += [[ax + (bx - ax) * s / per_side, ay + (by - ay) * s / per_side] for s in range(per_side)]
            ring.append(ring[0])
        turfs[f"turf:{k:05d}"] = {"type": "Polygon", "coordinates": [ring]}
    return turfs


def make_households(n: int, turfs: dict[str, dict], seed: int = 7) -> list[tuple[str, float, float]]:
    rng = random.Random(seed)
    corners = [tuple(g["coordinates"][0][0]) for g in turfs.values()]
    out = []
    for i in range(n):
        r = rng.random()
        if r < 0.01:  # on a turf's corner (shared by up to four turfs)
            lon, lat = rng.choice(corners)
        elif r < 0.03:  # outside the area
            lon, lat = WEST - rng.uniform(0.001, 0.05), SOUTH + rng.uniform(0, HEIGHT_DEG)
        else:
            lon, lat = WEST + rng.uniform(0, WIDTH_DEG), SOUTH + rng.uniform(0, HEIGHT_DEG)
        out.append((f"household:{i:07d}", lon, lat))
    return out


def naive_assign(households, shapes: list[tuple[str, object]]) -> dict:
    out = {}
    for hh_id, lon, lat in households:
        point = shapely.Point(lon, lat)
        found = None
        for turf_id, shape in shapes:  # id order: the first match is the smallest id
            if shape.covers(point):
                found = turf_id
                break
        out[hh_id] = found
    return out


def naive_overlaps(shapes: list[tuple[str, object]]) -> list[tuple[str, str]]:
    out = []
    for a in range(len(shapes)):
        for b in range(a + 1, len(shapes)):
            if shapes[a][1].relate_pattern(shapes[b][1], "T********"):
                out.append((shapes[a][0], shapes[b][0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=200_000)
    parser.add_argument("--turfs", type=int, default=1_000)
    parser.add_argument("--naive", type=int, default=2_000, help="households for the naive loop")
    parser.add_argument("--vertices", type=int, default=5, help="vertices per turf outline (5: a rectangle)")
    args = parser.parse_args()

    turfs = make_turfs(args.turfs, args.vertices)
    households = make_households(args.households, turfs)
    shapes = sorted((turf_id, check_turf(g)) for turf_id, g in turfs.items())
    n_vertices = shapely.get_num_coordinates(shapes[0][1])
    print(f"shapely {shapely.__version__} (GEOS {shapely.geos_version_string}); "
          f"{len(turfs):,} turfs of {n_vertices} vertices, {len(households):,} households")

    start = time.perf_counter()
    result = assign(households, turfs)
    fast_s = time.perf_counter() - start
    fast_rate = len(households) / fast_s
    assigned = sum(v is not None for v in result.values())
    print(f"assign (STRtree):  {fast_s:8.3f} s  {fast_rate:12,.0f} households/s  "
          f"({assigned:,} in a turf, {len(result) - assigned:,} outside)")

    sample = random.Random(3).sample(households, min(args.naive, len(households)))
    start = time.perf_counter()
    naive = naive_assign(sample, shapes)
    naive_s = time.perf_counter() - start
    naive_rate = len(sample) / naive_s
    print(f"naive loop:        {naive_s:8.3f} s  {naive_rate:12,.0f} households/s  ({len(sample):,} households)")
    mismatched = [h for h, _, _ in sample if naive[h] != result[h]]
    print(f"ratio:             {fast_rate / naive_rate:8,.0f} x  (sample agrees: {'yes' if not mismatched else mismatched[:5]})")

    start = time.perf_counter()
    found = overlaps(turfs)
    overlaps_s = time.perf_counter() - start
    start = time.perf_counter()
    overlaps(dict(shapes))
    overlaps_checked_s = time.perf_counter() - start
    start = time.perf_counter()
    naive_found = naive_overlaps(shapes)
    naive_overlaps_s = time.perf_counter() - start
    print(f"overlaps (STRtree):{overlaps_s:8.3f} s  from GeoJSON, {overlaps_checked_s:.3f} s from shapely "
          f"({len(found)} overlapping pairs; neighbours only touch)")
    print(f"overlaps all pairs:{naive_overlaps_s:8.3f} s  ({len(naive_found)} pairs; shapely turfs, no checks)  "
          f"ratio {naive_overlaps_s / overlaps_checked_s:,.1f} x")
    if mismatched or [(a, b) for a, b, _ in found] != naive_found:
        sys.exit("the naive and the fast results differ")


if __name__ == "__main__":
    main()
