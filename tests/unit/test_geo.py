"""Turfs and households: validation, overlaps, import, dedupe, assignment, distance (real shapely)."""

from __future__ import annotations

import json
import math
from unittest import mock

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.geo import geometry as geo
from server.geo.geometry import (
    GeoError,
    Household,
    address_key,
    assign,
    check_turf,
    dedupe,
    distance_m,
    overlaps,
)

# Chicago, where a degree of longitude is about 83 km and a degree of latitude about 111 km.
LON0, LAT0 = -87.70, 41.85


def rect(x0: float, y0: float, x1: float, y1: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def polygon(*rings: list) -> dict:
    return {"type": "Polygon", "coordinates": [list(r) for r in rings]}


SQUARE = rect(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01)
BOW_TIE = polygon([[LON0, LAT0], [LON0 + 0.01, LAT0 + 0.01], [LON0 + 0.01, LAT0], [LON0, LAT0 + 0.01], [LON0, LAT0]])


def refused(geometry: object) -> str:
    with pytest.raises(GeoError) as info:
        check_turf(geometry)
    assert info.value.message == str(info.value)
    return info.value.message


# --------------------------------------------------------------------------- check_turf: accepted


def test_a_polygon_is_accepted():
    geom = check_turf(SQUARE)
    assert isinstance(geom, shapely.Polygon)
    assert geom.bounds == pytest.approx((LON0, LAT0, LON0 + 0.01, LAT0 + 0.01))


def test_a_polygon_with_a_hole_either_orientation_and_altitudes_is_accepted():
    shell = [[LON0, LAT0, 180.0], [LON0, LAT0 + 0.02, 180.0], [LON0 + 0.02, LAT0 + 0.02, 180.0],
             [LON0 + 0.02, LAT0, 180.0], [LON0, LAT0, 180.0]]  # clockwise, with altitudes
    hole = rect(LON0 + 0.005, LAT0 + 0.005, LON0 + 0.01, LAT0 + 0.01)["coordinates"][0]
    geom = check_turf(polygon(shell, hole))
    assert len(geom.interiors) == 1 and not geom.has_z


def test_positions_as_tuples_and_numpy_numbers_are_accepted():
    ring = tuple((np.float64(x), y) for x, y in SQUARE["coordinates"][0])
    assert check_turf({"type": "Polygon", "coordinates": (ring,)}).equals(check_turf(SQUARE))
    assert check_turf(rect(10, 20, 10.25, 20.125)).bounds == (10, 20, 10.25, 20.125)  # whole numbers too


def test_a_multipolygon_is_accepted():
    geom = check_turf({"type": "MultiPolygon", "coordinates": [
        SQUARE["coordinates"], rect(LON0 + 0.02, LAT0, LON0 + 0.03, LAT0 + 0.01)["coordinates"]]})
    assert isinstance(geom, shapely.MultiPolygon) and len(geom.geoms) == 2


def test_a_shapely_polygon_is_accepted_and_checked_alike():
    assert check_turf(shapely.box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01)).is_valid
    assert "Self-intersection" in refused(shapely.Polygon(BOW_TIE["coordinates"][0]))
    assert "Polygon or MultiPolygon" in refused(shapely.Point(LON0, LAT0))
    assert "empty" in refused(shapely.Polygon())


# --------------------------------------------------------------------------- check_turf: refused


@pytest.mark.parametrize(
    "geometry, expected",
    [
        (None, "GeoJSON Polygon or MultiPolygon object"),
        ([[0, 0]], "GeoJSON Polygon or MultiPolygon object"),
        ("Polygon", "GeoJSON Polygon or MultiPolygon object"),
        ({"type": "Point", "coordinates": [LON0, LAT0]}, "got type 'Point'"),
        ({"type": "Feature", "geometry": SQUARE}, "got type 'Feature'"),
        ({"coordinates": SQUARE["coordinates"]}, "got type None"),
        ({"type": "Polygon"}, "the Polygon has no coordinates"),
        ({"type": "MultiPolygon"}, "the MultiPolygon has no coordinates"),
        ({"type": "Polygon", "coordinates": None}, "non-empty array of linear rings"),
        ({"type": "Polygon", "coordinates": []}, "non-empty array of linear rings"),
        ({"type": "MultiPolygon", "coordinates": []}, "non-empty array of polygons"),
        ({"type": "MultiPolygon", "coordinates": [[]]}, "coordinates[0]: a polygon is a non-empty array"),
        ({"type": "Polygon", "coordinates": [5]}, "coordinates[0]: a linear ring is an array"),
    ],
)
def test_wrong_types_and_missing_coordinates_are_refused(geometry, expected):
    assert expected in refused(geometry)


def test_an_unclosed_ring_is_refused():
    ring = SQUARE["coordinates"][0][:-1] + [[LON0 + 0.001, LAT0]]
    assert "coordinates[0]: the linear ring is not closed" in refused(polygon(ring))


def test_a_ring_of_fewer_than_4_positions_is_refused():
    message = refused(polygon([[LON0, LAT0], [LON0 + 0.01, LAT0], [LON0, LAT0]]))
    assert "coordinates[0]: a linear ring needs at least 4 positions, got 3" in message


def test_a_hole_of_fewer_than_4_positions_is_refused():
    message = refused(polygon(SQUARE["coordinates"][0], [[LON0, LAT0], [LON0, LAT0]]))
    assert "coordinates[1]: a linear ring needs at least 4 positions" in message


@pytest.mark.parametrize(
    "position, expected",
    [
        ([LON0], "a position is [longitude, latitude]"),
        ([LON0, LAT0, 0, 0], "a position is [longitude, latitude]"),
        ("x", "a position is [longitude, latitude]"),
        ([LON0, "41.85"], "coordinates must be numbers"),
        ([True, LAT0], "coordinates must be numbers"),
        ([LON0, None], "coordinates must be numbers"),
        ([math.nan, LAT0], "coordinates must be finite numbers"),
        ([LON0, math.inf], "coordinates must be finite numbers"),
        ([LON0, LAT0, math.nan], "coordinates must be finite numbers"),
        ([10**400, LAT0], "coordinates must be finite numbers"),
        ([180.5, LAT0], "longitude 180.5 is out of range [-180, 180]"),
        ([-181, LAT0], "longitude -181 is out of range"),
        ([LON0, 90.01], "latitude 90.01 is out of range [-90, 90]"),
        ([LON0, -90.5], "latitude -90.5 is out of range"),
    ],
)
def test_bad_coordinates_are_refused_with_their_position(position, expected):
    ring = [list(p) for p in SQUARE["coordinates"][0]]
    ring[2] = position
    message = refused(polygon(ring))
    assert message.startswith("coordinates[0][2]: ") and expected in message


def test_a_bow_tie_is_refused_with_explain_validity():
    message = refused(BOW_TIE)
    expected = shapely.validation.explain_validity(shapely.Polygon(BOW_TIE["coordinates"][0]))
    assert expected.startswith("Self-intersection[")
    assert message == f"invalid Polygon: {expected}"


@pytest.mark.parametrize(
    "geometry, expected",
    [
        # a hole outside its shell
        (polygon(SQUARE["coordinates"][0], rect(LON0 + 0.02, LAT0, LON0 + 0.03, LAT0 + 0.01)["coordinates"][0]),
         "Hole lies outside shell["),
        # a spike back along an edge
        (polygon([[LON0, LAT0], [LON0 + 0.01, LAT0], [LON0 + 0.01, LAT0 + 0.01], [LON0 + 0.01, LAT0 - 0.005],
                  [LON0, LAT0 + 0.01], [LON0, LAT0]]), "Self-intersection["),
        # every point the same: closed and 4 positions, but nothing there
        (polygon([[LON0, LAT0]] * 4), "Too few points in geometry component["),
        # collinear: no area
        (polygon([[LON0, LAT0], [LON0 + 0.01, LAT0], [LON0 + 0.02, LAT0], [LON0, LAT0]]), "Self-intersection["),
        # two parts of a MultiPolygon that overlap
        ({"type": "MultiPolygon", "coordinates": [
            SQUARE["coordinates"], rect(LON0 + 0.005, LAT0, LON0 + 0.015, LAT0 + 0.01)["coordinates"]]},
         "invalid MultiPolygon: Self-intersection["),
    ],
)
def test_other_invalid_shapes_are_refused_with_explain_validity(geometry, expected):
    message = refused(geometry)
    assert message.startswith("invalid ") and expected in message


def test_a_turf_more_than_50_km_across_is_refused():
    # 0.6 degrees of longitude at 41.85 N is about 49.7 km; 0.61 about 50.5 km.
    assert check_turf(rect(LON0, LAT0, LON0 + 0.6, LAT0 + 0.01))
    assert "at most 50 km across" in refused(rect(LON0, LAT0, LON0 + 0.61, LAT0 + 0.01))
    assert "at most 50 km across" in refused(rect(LON0, LAT0, LON0 + 0.01, LAT0 + 0.46))  # 51 km tall
    # the same width in degrees is narrower in metres further north
    assert check_turf(rect(20.0, 69.0, 21.2, 69.01))
    # a turf across the antimeridian looks 360 degrees wide
    assert "at most 50 km across" in refused(rect(-179.99, 0, 179.99, 0.01))
    # a turf across the equator is measured at its widest
    assert "at most 50 km across" in refused(rect(0, -0.01, 0.46, 0.01))


def test_a_turf_of_more_than_10000_vertices_is_refused():
    def circle(n: int) -> dict:
        ring = [[LON0 + 0.01 * math.cos(2 * math.pi * i / n), LAT0 + 0.01 * math.sin(2 * math.pi * i / n)]
                for i in range(n)]
        return polygon(ring + [ring[0]])

    assert check_turf(circle(9_999))  # 10,000 positions with the closing one
    assert "at most 10,000 vertices" in refused(circle(10_000))
    assert "at most 10,000 vertices" in refused(shapely.Polygon(circle(10_000)["coordinates"][0]))
    # counted over every ring and every part
    many = {"type": "MultiPolygon", "coordinates": [circle(5_000)["coordinates"], circle(5_000)["coordinates"]]}
    assert "at most 10,000 vertices" in refused(many)


# --------------------------------------------------------------------------- area and overlaps


def test_area_in_square_metres_at_any_latitude():
    side = geo.EARTH_RADIUS_M * math.radians(0.01)
    assert geo.area_m2(check_turf(rect(0, 0, 0.01, 0.01))) == pytest.approx(side * side, rel=1e-4)
    assert geo.area_m2(check_turf(rect(10, 60, 10.01, 60.01))) == pytest.approx(side * side * 0.5, rel=1e-3)
    assert geo.area_m2(shapely.Polygon()) == 0.0


def test_overlaps_reports_pairs_with_their_area():
    side = geo.EARTH_RADIUS_M * math.radians(0.01)
    turfs = {
        "t1": rect(0, 0, 0.01, 0.01),
        "t2": rect(0.005, 0, 0.015, 0.01),  # overlaps t1 on half of it
        "t3": rect(0.002, 0.002, 0.004, 0.004),  # inside t1: overlaps too
    }
    found = overlaps(turfs)
    assert [(a, b) for a, b, _ in found] == [("t1", "t2"), ("t1", "t3")]
    assert found[0][2] == pytest.approx(side * side / 2, rel=1e-4)
    assert found[1][2] == pytest.approx(side * side / 25, rel=1e-4)


def test_touching_turfs_do_not_overlap():
    turfs = {
        "a": rect(0, 0, 0.01, 0.01),
        "b": rect(0.01, 0, 0.02, 0.01),  # shares an edge with a
        "c": rect(0.02, 0.01, 0.03, 0.02),  # shares a corner with b
        "d": rect(0, 0.01, 0.005, 0.02),  # shares half an edge with a
    }
    assert overlaps(turfs) == []


def test_overlaps_pairs_are_ordered_and_identical_turfs_overlap():
    turfs = {"z": SQUARE, "m": SQUARE, "a": rect(LON0 + 0.009, LAT0, LON0 + 0.02, LAT0 + 0.01)}
    assert [(a, b) for a, b, _ in overlaps(turfs)] == [("a", "m"), ("a", "z"), ("m", "z")]


def test_overlaps_min_area_ignores_slivers():
    turfs = {"a": rect(0, 0, 0.01, 0.01), "b": rect(0.0099999, 0, 0.02, 0.01)}  # about 1 m wide
    ((_, _, area),) = overlaps(turfs)
    assert 0 < area < 1200
    assert overlaps(turfs, min_area_m2=2000) == []


def test_overlaps_of_multipolygons():
    turfs = {
        "a": {"type": "MultiPolygon", "coordinates": [rect(0, 0, 0.01, 0.01)["coordinates"],
                                                      rect(0.05, 0, 0.06, 0.01)["coordinates"]]},
        "b": rect(0.02, 0, 0.055, 0.01),  # overlaps only a's second part, within a's bounding box
        "c": rect(0.012, 0, 0.018, 0.01),  # in a's bounding box, touches nothing
    }
    side = geo.EARTH_RADIUS_M * math.radians(0.01)
    ((a, b, area),) = overlaps(turfs)
    assert (a, b) == ("a", "b") and area == pytest.approx(side * side / 2, rel=1e-4)


def test_overlaps_with_fewer_than_two_turfs_and_bad_turfs():
    assert overlaps({}) == [] and overlaps({"a": SQUARE}) == []
    with pytest.raises(GeoError, match=r"^turf bad: invalid Polygon: Self-intersection\["):
        overlaps({"good": SQUARE, "bad": BOW_TIE})
    with pytest.raises(GeoError, match="mapping"):
        overlaps([SQUARE])


# --------------------------------------------------------------------------- assign


GRID = {  # 2 x 2 turfs, 0.01 degree each, sharing borders; ids deliberately not in grid order
    "nw": rect(LON0, LAT0 + 0.01, LON0 + 0.01, LAT0 + 0.02),
    "ne": rect(LON0 + 0.01, LAT0 + 0.01, LON0 + 0.02, LAT0 + 0.02),
    "sw": rect(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01),
    "se": rect(LON0 + 0.01, LAT0, LON0 + 0.02, LAT0 + 0.01),
}


def test_assign_puts_households_in_their_turf():
    households = [
        ("h1", LON0 + 0.005, LAT0 + 0.005),
        ("h2", LON0 + 0.015, LAT0 + 0.005),
        ("h3", LON0 + 0.005, LAT0 + 0.015),
        ("h4", LON0 + 0.015, LAT0 + 0.015),
    ]
    assert assign(households, GRID) == {"h1": "sw", "h2": "se", "h3": "nw", "h4": "ne"}


def test_assign_border_points_go_to_the_smallest_turf_id():
    households = [
        ("west-east border south", LON0 + 0.01, LAT0 + 0.005),  # sw | se
        ("west-east border north", LON0 + 0.01, LAT0 + 0.015),  # nw | ne
        ("south-north border west", LON0 + 0.005, LAT0 + 0.01),  # sw | nw
        ("centre", LON0 + 0.01, LAT0 + 0.01),  # all four
        ("outer edge", LON0, LAT0 + 0.005),  # only sw, on its boundary
        ("outer corner", LON0 + 0.02, LAT0 + 0.02),  # only ne, its corner
    ]
    assert assign(households, GRID) == {
        "west-east border south": "se",
        "west-east border north": "ne",
        "south-north border west": "nw",
        "centre": "ne",
        "outer edge": "sw",
        "outer corner": "ne",
    }


def test_assign_in_overlapping_turfs_goes_to_the_smallest_id():
    turfs = {"b": rect(0, 0, 0.02, 0.02), "a": rect(0.01, 0.01, 0.03, 0.03)}
    assert assign([(1, 0.015, 0.015), (2, 0.005, 0.005), (3, 0.025, 0.025)], turfs) == {1: "a", 2: "b", 3: "a"}


def test_assign_outside_every_turf_is_none():
    households = [
        ("far", 2.35, 48.85),
        ("just outside", LON0 - 1e-9, LAT0 + 0.005),
        ("in the hole", 0.015, 0.015),
        ("between parts", 0.035, 0.005),
        ("nan", math.nan, LAT0),
        ("inf", LON0, math.inf),
    ]
    turfs = dict(GRID)
    turfs["holed"] = polygon(rect(0, 0, 0.03, 0.03)["coordinates"][0], rect(0.01, 0.01, 0.02, 0.02)["coordinates"][0])
    turfs["multi"] = {"type": "MultiPolygon", "coordinates": [rect(0.03, 0.03, 0.032, 0.032)["coordinates"],
                                                              rect(0.04, 0, 0.05, 0.01)["coordinates"]]}
    assert assign(households, turfs) == dict.fromkeys(["far", "just outside", "in the hole", "between parts", "nan", "inf"])


def test_assign_keeps_every_household_and_its_id_type():
    assert assign([], GRID) == {}
    assert assign([(7, LON0 + 0.005, LAT0 + 0.005)], {}) == {7: None}
    assert assign(iter([(("x", 1), LON0 + 0.005, LAT0 + 0.005)]), GRID) == {("x", 1): "sw"}


def test_assign_refuses_bad_turfs_and_duplicate_household_ids():
    with pytest.raises(GeoError, match=r"^turf bow: invalid Polygon: Self-intersection\["):
        assign([(1, LON0, LAT0)], {"bow": BOW_TIE})
    with pytest.raises(GeoError, match="household ids must be unique"):
        assign([(1, LON0, LAT0), (1, LON0, LAT0)], GRID)
    for households in ([(1, LON0)], [(1, LON0, LAT0, 0)], [7]):
        with pytest.raises(GeoError, match=r"households are \(id, lon, lat\) triples"):
            assign(households, GRID)
    for lat in ("41.85", None, 10**400):
        with pytest.raises(GeoError, match="household coordinates must be numbers"):
            assign([(1, LON0, LAT0), (2, LON0, lat)], GRID)


@pytest.mark.parametrize("vertices, tree_of", [(5, "turfs"), (200, "points")])
def test_assign_makes_one_strtree_query_not_a_loop_over_turfs(monkeypatch, vertices, tree_of):
    """All the points, or all the turfs, go to one STRtree query, in one call."""
    calls = []
    real = shapely.STRtree.query

    def spy(self, geometry, predicate=None, distance=None):
        calls.append((len(self), len(geometry), predicate))
        return real(self, geometry, predicate=predicate, distance=distance)

    monkeypatch.setattr(shapely.STRtree, "query", spy)
    turfs = {t: shapely.segmentize(check_turf(g), 0.01 / 50) if vertices > 5 else g for t, g in GRID.items()}
    assert (shapely.get_num_coordinates(check_turf(turfs["ne"])) > geo.SIMPLE_TURF_VERTICES) == (tree_of == "points")
    households = [(i, LON0 + 0.0001 * i, LAT0 + 0.0001 * i) for i in range(150)]
    # the 101st is on the corner all four share
    assert list(assign(households, turfs).values()) == ["sw"] * 100 + ["ne"] * 50
    assert calls == [(4, 150, "intersects")] if tree_of == "turfs" else [(150, 4, "intersects")]


# Non-overlapping rectangles on a lattice over a few square kilometres of
# Chicago: each lies inside its own grid cell (often filling it), so
# rectangles in neighbouring cells can share an edge or a corner but never
# overlap.  Points are drawn on the lattice (corners, shared corners), on
# lattice lines (edges, shared edges: the edges are axis-parallel, so such a
# point is exactly on them) and anywhere at random.
CELLS, TICKS, STEP = 3, 4, 0.0025
SPAN = CELLS * TICKS


def lattice(k: int) -> float:
    return k * STEP


def side(draw) -> tuple[int, int]:
    """A rectangle's extent within its cell, in ticks: often the whole cell."""
    whole = st.just((0, TICKS))
    part = st.lists(st.integers(0, TICKS), min_size=2, max_size=2, unique=True).map(sorted).map(tuple)
    return draw(st.one_of(whole, whole, part))


@st.composite
def rectangles(draw) -> dict[str, dict]:
    cells = draw(st.sets(st.tuples(st.integers(0, CELLS - 1), st.integers(0, CELLS - 1)),
                         min_size=2, max_size=CELLS * CELLS))
    turfs = {}
    for cx, cy in cells:
        (x0, x1), (y0, y1) = side(draw), side(draw)
        turf_id = draw(st.text("abcdefgh", min_size=1, max_size=3).filter(lambda t: t not in turfs))
        turfs[turf_id] = rect(LON0 + lattice(cx * TICKS + x0), LAT0 + lattice(cy * TICKS + y0),
                              LON0 + lattice(cx * TICKS + x1), LAT0 + lattice(cy * TICKS + y1))
    return turfs


ticks = st.integers(-1, SPAN + 1).map(lattice)
lons = st.floats(-0.002, lattice(SPAN) + 0.002)
lats = st.floats(-0.002, lattice(SPAN) + 0.002)
offsets = st.one_of(
    st.tuples(ticks, ticks),  # on the lattice: corners
    st.tuples(ticks, lats),  # on a north-south line
    st.tuples(lons, ticks),  # on an east-west line
    st.tuples(lons, lats),  # anywhere
)
points = st.lists(offsets.map(lambda o: (LON0 + o[0], LAT0 + o[1])), max_size=80)


def on_turfs(turfs: dict[str, dict]) -> st.SearchStrategy:
    """Points on the drawn turfs: their corners, and points along their edges."""
    corners = sorted({tuple(p) for g in turfs.values() for p in g["coordinates"][0]})
    corner = st.sampled_from(corners)
    along = st.tuples(corner, st.floats(0, 1), st.booleans()).map(
        lambda c: (c[0][0] + c[1] * STEP, c[0][1]) if c[2] else (c[0][0], c[0][1] + c[1] * STEP))
    return st.lists(st.one_of(corner, along), max_size=40)


@pytest.mark.parametrize("tree_of", ["turfs", "points"])
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(turfs=rectangles(), points=points, data=st.data())
def test_assign_agrees_with_a_naive_contains_loop(tree_of, turfs, points, data):
    """Both ways ``assign`` queries (a tree of turfs for simple ones, a tree of points) agree with the loop."""
    points = points + data.draw(on_turfs(turfs))
    households = [(i, lon, lat) for i, (lon, lat) in enumerate(points)]
    shapes = {turf_id: shapely.Polygon(g["coordinates"][0]) for turf_id, g in turfs.items()}
    expected = {}
    for i, lon, lat in households:
        point = shapely.Point(lon, lat)
        # contains or touches: in the interior or on the boundary
        inside = sorted(t for t, shape in shapes.items() if shape.contains(point) or shape.touches(point))
        expected[i] = inside[0] if inside else None
    with mock.patch.object(geo, "SIMPLE_TURF_VERTICES", 5 if tree_of == "turfs" else 4):
        assert assign(households, turfs) == expected
    assert overlaps(turfs) == []


# --------------------------------------------------------------------------- distance


def test_distance_m():
    degree = geo.EARTH_RADIUS_M * math.pi / 180
    assert distance_m(LAT0, LON0, LAT0, LON0) == 0.0
    assert distance_m(0, 0, 1, 0) == pytest.approx(degree, rel=1e-12)
    assert distance_m(0, 0, 0, 1) == pytest.approx(degree, rel=1e-12)
    assert distance_m(60, 10, 60, 11) == pytest.approx(degree * 0.5, rel=1e-4)  # shorter east-west up north
    assert distance_m(0, 179.9995, 0, -179.9995) == pytest.approx(degree * 0.001, rel=1e-9)  # antimeridian
    assert distance_m(89.9999, 0, 89.9999, 180) == pytest.approx(degree * 0.0002, rel=1e-6)  # over the pole
    assert distance_m(90, 0, -90, 0) == pytest.approx(math.pi * geo.EARTH_RADIUS_M, rel=1e-12)
    assert distance_m(0, 0, 0, 180) == pytest.approx(math.pi * geo.EARTH_RADIUS_M, rel=1e-12)
    # a few metres, where the law of cosines loses precision
    assert distance_m(LAT0, LON0, LAT0 + 1e-5, LON0) == pytest.approx(degree * 1e-5, rel=1e-6)
    assert distance_m(LAT0, LON0, LAT0 + 0.01, LON0 + 0.01) == distance_m(LAT0 + 0.01, LON0 + 0.01, LAT0, LON0)


@pytest.mark.parametrize("args", [(91, 0, 0, 0), (0, 181, 0, 0), (0, 0, math.nan, 0), (0, 0, 0, math.inf),
                                  ("1", 0, 0, 0), (0, None, 0, 0), (True, 0, 0, 0)])
def test_distance_m_refuses_bad_coordinates(args):
    with pytest.raises(GeoError):
        distance_m(*args)


# --------------------------------------------------------------------------- CSV import


def test_csv_households_with_case_insensitive_header_and_extra_columns():
    text = "\ufeff Address ,UNIT,Lat,LON,Ward,\r\n12 Main St,2B,41.85,-87.7,3,\r\n\r\n14 Main St,,41.851,-87.701,4,\r\n"
    households, problems = geo.parse_households_csv(text)
    assert problems == []
    assert households == [
        Household("12 Main St", "2B", 41.85, -87.7, {"Ward": "3"}, 2),
        Household("14 Main St", "", 41.851, -87.701, {"Ward": "4"}, 4),
    ]


def test_csv_without_a_unit_column_and_with_short_rows():
    households, problems = geo.parse_households_csv("lat,lon,address,notes\n41.85,-87.7,12 Main St\n")
    assert problems == [] and households == [Household("12 Main St", "", 41.85, -87.7, {"notes": ""}, 2)]


def test_csv_problems_name_the_line_and_what_is_wrong():
    text = (
        "address,unit,lat,lon\n"          # line 1
        "1 Good St,,41.85,-87.7\n"        # 2
        ",1,41.85,-87.7\n"                # 3 missing address
        "   ,,41.85,-87.7\n"              # 4 blank address
        "3 Bad St,,91,-87.7\n"            # 5 lat out of range
        "4 Bad St,,41.85,-187\n"          # 6 lon out of range
        "5 Bad St,,north,-87.7\n"         # 7 not a number
        "6 Bad St,,41.85,\n"              # 8 missing lon
        "7 Bad St,,nan,inf\n"             # 9 nan, inf are not numbers
        "8 Bad St,,1e999,1_0\n"           # 10 overflow, underscores
        '"9 Multi\nLine St",,41.85,-87.7\n'  # 11-12 a quoted newline is fine
        "10 Bad St,,41.85,-87.7,extra\n"  # 13 too many fields
        ",,,\n"                            # 14 empty cells: a blank line, skipped
        " ,x,,\n"                          # 15 no address, no lat, no lon
        "11 Good St,,-41.85,87.7\n"       # 16
        '12 "Main" St,,41.85,-87.7\n'     # 17 quotes inside a field are kept
        '"13 Bad" St,,41.85,-87.7\n'      # 18 a stray quote
        '"14 Good St",,41.85,-87.7\n'     # 19
    )
    households, problems = geo.parse_households_csv(text)
    assert [(h.address, h.source) for h in households] == [("1 Good St", 2), ("9 Multi\nLine St", 11), ("11 Good St", 16),
        ('12 "Main" St', 17), ("14 Good St", 19)]
    assert [str(p) for p in problems] == [
        "line 3: address: missing address",
        "line 4: address: missing address",
        "line 5: lat: 91 is out of range [-90, 90]",
        "line 6: lon: -187 is out of range [-180, 180]",
        "line 7: lat: not a number: 'north'",
        "line 8: lon: missing lon",
        "line 9: lat: not a number: 'nan'",
        "line 9: lon: not a number: 'inf'",
        "line 10: lat: not a finite number: '1e999'",
        "line 10: lon: not a number: '1_0'",
        "line 13: 5 fields, but the header has 4",
        "line 15: address: missing address",
        "line 15: lat: missing lat",
        "line 15: lon: missing lon",
        "line 18: unreadable CSV: ',' expected after '\"'",
    ]
    assert problems[0] == geo.Problem("line", 3, "address", "missing address")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", "line 1: empty file: a header line naming the columns address, lat, lon"),
        ("\n\n", "line 1: empty file"),
        ("12 Main St,41.85,-87.7\n", "line 1: missing column(s) address, lat, lon"),
        ("address,latitude,longitude\n", "line 1: missing column(s) lat, lon"),
        ("address,lat,lon,Address\n", "line 1: column 'Address' appears more than once"),
    ],
)
def test_csv_header_is_required(text, expected):
    households, problems = geo.parse_households_csv(text)
    assert households == [] and len(problems) == 1 and str(problems[0]).startswith(expected)


def test_csv_unreadable_is_a_problem():
    text = 'address,lat,lon\n1 Main St,41.85,-87.7\n"2 Main St,41.85,-87.7\n3 Main St,41.85,-87.7\n'
    households, problems = geo.parse_households_csv(text)
    assert [h.address for h in households] == ["1 Main St"]  # an unclosed quote swallows the rest
    assert [str(p) for p in problems] == ["line 3: unreadable CSV: unexpected end of data"]


# --------------------------------------------------------------------------- GeoJSON import


def feature(props: object, coords: object = (LON0, LAT0), kind: str = "Point") -> dict:
    geometry = {"type": kind, "coordinates": list(coords) if isinstance(coords, tuple) else coords}
    return {"type": "Feature", "geometry": geometry, "properties": props}


def test_geojson_households():
    obj = json.loads(json.dumps({"type": "FeatureCollection", "features": [
        feature({"address": " 12 Main St ", "unit": "2B", "ward": 3}),
        feature({"address": "14 Main St", "unit": 4}, (LON0 + 0.001, LAT0 + 0.001, 190.0)),
        feature({"address": "16 Main St", "unit": None}),
    ]}))
    households, problems = geo.parse_households_geojson(obj)
    assert problems == []
    assert households == [
        Household("12 Main St", "2B", LAT0, LON0, {"ward": 3}, 0),
        Household("14 Main St", "4", LAT0 + 0.001, LON0 + 0.001, {}, 1),
        Household("16 Main St", "", LAT0, LON0, {}, 2),
    ]


def test_geojson_problems_name_the_feature_and_what_is_wrong():
    features = [
        feature({"address": "0 Good St"}),                      # 0
        feature({}),                                             # 1 missing address
        feature(None),                                           # 2 missing address
        feature({"address": 12}),                                # 3 address not text
        feature({"address": "4 Bad St"}, (LON0, 91)),            # 4 lat out of range
        feature({"address": "5 Bad St"}, (200, LAT0)),           # 5 lon out of range
        feature({"address": "6 Bad St"}, ("-87.7", LAT0)),       # 6 not a number
        feature({"address": "7 Bad St"}, (LON0,)),               # 7 one coordinate
        feature({"address": "8 Bad St"}, SQUARE["coordinates"], "Polygon"),  # 8 not a point
        {"type": "Feature", "properties": {"address": "9 Bad St"}},          # 9 no geometry
        "feature",                                               # 10 not a feature
        feature({"address": "11 Bad St", "unit": [1]}),          # 11 unit not text
        feature([1, 2]),                                         # 12 properties not an object
        feature({"address": "13 Bad St"}, (LON0, True)),         # 13 bool
        feature({"address": "  "}),                              # 14 blank address
    ]
    households, problems = geo.parse_households_geojson({"type": "FeatureCollection", "features": features})
    assert [h.address for h in households] == ["0 Good St"]
    assert [str(p) for p in problems] == [
        "feature 1: address: missing address",
        "feature 2: address: missing address",
        "feature 3: address: must be text, got 12",
        "feature 4: lat: 91 is out of range [-90, 90]",
        "feature 5: lon: 200 is out of range [-180, 180]",
        "feature 6: lon: not a number: '-87.7'",  # a string, in GeoJSON
        "feature 7: geometry: a Point has coordinates [lon, lat], got [-87.7]",
        "feature 8: geometry: must be a Point, got 'Polygon'",
        "feature 9: geometry: must be a Point, got None",
        "feature 10: not a GeoJSON Feature",
        "feature 11: unit: must be text or a whole number, got [1]",
        "feature 12: properties: must be an object",
        "feature 12: address: missing address",
        "feature 13: lat: not a number: True",
        "feature 14: address: missing address",
    ]


@pytest.mark.parametrize("obj", [None, [], {"type": "Feature"}, {"features": []}])
def test_geojson_must_be_a_feature_collection(obj):
    assert geo.parse_households_geojson(obj) == ([], [geo.Problem(None, None, None, "the file is not a GeoJSON FeatureCollection")])


def test_geojson_features_must_be_an_array():
    _, problems = geo.parse_households_geojson({"type": "FeatureCollection", "features": {}})
    assert [str(p) for p in problems] == ["features: a FeatureCollection has an array of features"]
    assert geo.parse_households_geojson({"type": "FeatureCollection", "features": []}) == ([], [])


# --------------------------------------------------------------------------- dedupe


@pytest.mark.parametrize(
    "a, b",
    [
        (("12 Main Street", ""), ("12 main st", "")),
        (("12 Main St.", ""), ("  12  MAIN   ST ", "")),
        (("12 Oak Avenue", ""), ("12 Oak Ave.", "")),
        (("12 Oak Av", ""), ("12 Oak Ave", "")),
        (("400 North Lake Shore Drive", ""), ("400 N. Lake Shore Dr", "")),
        (("1 Sunset Boulevard", ""), ("1 Sunset Blvd", "")),
        (("9 Elm Road", ""), ("9 Elm Rd", "")),
        (("7 O'Brien Lane", ""), ("7 OBrien Ln", "")),
        (("5 Rue de l'Église", ""), ("5 RUE DE L\u2019EGLISE", "")),
        (("12-14 Main St", ""), ("12 14 main st", "")),
        (("3 Main St, Chicago", ""), ("3 Main St Chicago", "")),
        (("12 Main St", "Apt 2B"), ("12 Main St", "2b")),
        (("12 Main St", "#2B"), ("12 Main St", "apt. 2B")),
        (("12 Main St", "Unit 4"), ("12 Main St", "Suite 4")),
        (("ул. Ленина, 5", ""), ("УЛ ЛЕНИНА 5", "")),
        (("１２ Main St", ""), ("12 Main St", "")),  # full-width digits (NFKD)
        (("12 Main_St", ""), ("12 Main St", "")),
    ],
)
def test_address_key_treats_these_as_the_same(a, b):
    assert address_key(*a) == address_key(*b)


@pytest.mark.parametrize(
    "a, b",
    [
        (("12 Main St", ""), ("14 Main St", "")),
        (("12 Main St", ""), ("12 Main Ave", "")),
        (("12 N Main St", ""), ("12 S Main St", "")),
        (("12-14 Main St", ""), ("1214 Main St", "")),
        (("12 Main St", "2B"), ("12 Main St", "2C")),
        (("12 Main St", "2B"), ("12 Main St", "")),
        (("12 Main St Apt 2", ""), ("12 Main St", "2")),  # a unit inside the address is not split out
        (("1st Ave", ""), ("First Ave", "")),  # numbers in words are not rewritten
        (("ул. Ленина 5", ""), ("ул. Пушкина 5", "")),  # other scripts are compared, not dropped
        (("5 मार्ग", ""), ("5 मर्ग", "")),  # and keep their vowel signs
        (("5 \u095bमीन", ""), ("5 जमीन", "")),  # and their other marks
        (("5 Main St", ""), ("5 Main St 12", "")),
    ],
)
def test_address_key_keeps_these_apart(a, b):
    assert address_key(*a) != address_key(*b)


def test_address_key_value():
    assert address_key(" 400 North Lake-Shore Drive. ", "Apt. #12") == ("400 n lake shore dr", "12")
    assert address_key("Straße 5", "") == ("strasse 5", "")  # case folding
    assert address_key("5 मार्ग", "") == ("5 मार्ग", "")  # a word with vowel signs stays one word


def test_dedupe_keeps_the_first_and_reports_the_rest():
    h = [
        Household("12 Main Street", "", 41.85, -87.7, {}, 2),
        Household("14 Main St", "", 41.85, -87.7, {}, 3),
        Household("12 main st.", "", 41.86, -87.71, {}, 4),
        Household("12 Main St", "Apt 1", 41.85, -87.7, {}, 5),
        Household("12 MAIN ST", "", 41.85, -87.7, {}, 6),
        Household("12 Main St", "#1", 41.85, -87.7, {}, 7),
    ]
    unique, duplicates = dedupe(h)
    assert [x.source for x in unique] == [2, 3, 5]
    assert [(d.household.source, d.kept.source, d.key) for d in duplicates] == [
        (4, 2, ("12 main st", "")), (6, 2, ("12 main st", "")), (7, 5, ("12 main st", "1"))]
    assert dedupe([]) == ([], [])


def test_parse_then_dedupe():
    text = "address,unit,lat,lon\n12 Main Street,,41.85,-87.7\n12 Main St.,,41.85,-87.7\n"
    households, problems = geo.parse_households_csv(text)
    unique, duplicates = dedupe(households)
    assert problems == [] and [u.source for u in unique] == [2] and duplicates[0].household.source == 3
