"""Turfs: validation, areas, overlaps and assigning households to turfs (real shapely)."""

from __future__ import annotations

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
    assign,
    check_turf,
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
