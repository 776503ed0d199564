"""Geotag checks: metres right at the equator, near the poles and across the antimeridian."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from server.geo import geotags

A = 6_378_137.0  # WGS84 semi-major axis: one degree of longitude on the equator is A * pi / 180
POLAR_DEGREE_M = 111_693.98  # one degree of latitude at the pole (meridional radius of curvature there)


def square(lat, lon, half_deg_lat, half_deg_lon):
    return shapely.Polygon([(lon - half_deg_lon, lat - half_deg_lat), (lon + half_deg_lon, lat - half_deg_lat),
                            (lon + half_deg_lon, lat + half_deg_lat), (lon - half_deg_lon, lat + half_deg_lat)])


def test_distances_at_the_equator_the_pole_and_across_the_antimeridian():
    assert geotags.distance_m(0, 0, 0, 1) == pytest.approx(A * math.pi / 180, rel=1e-9)
    across = geotags.distance_m(0, 179.9999, 0, -179.9999)
    assert across == pytest.approx(0.0002 * A * math.pi / 180, rel=1e-6)  # 22 m, not 40,000 km
    over_the_pole = geotags.distance_m(89.9999, 0, 89.9999, 180)
    assert over_the_pole == pytest.approx(0.0002 * POLAR_DEGREE_M, rel=1e-4)
    assert np.isnan(geotags.distances_m([np.nan], [0], [0], [0])[0])


@pytest.mark.parametrize("lat", [0.0, 45.0, -60.0, 85.0, 89.5])
def test_metres_outside_a_turf_east_and_north_at_any_latitude(lat):
    turf = square(lat, 10.0, 0.001, 0.001)
    east_lon = 10.001 + 80 / (A * math.pi / 180 * math.cos(math.radians(lat)))  # about 80 m east, on a parallel
    north_lat = lat + 0.001
    # The truth for each point: the geodesic distance to the nearest edge point, searched densely.
    edge_lons = np.linspace(9.999, 10.001, 4001)
    for plat, plon in [(lat, east_lon), (north_lat + 0.0005, 10.0)]:
        got = geotags.outside_m(turf, [plat], [plon])[0]
        east_edge = geotags.distances_m(np.full(4001, plat), np.full(4001, plon), np.linspace(lat - 0.001, lat + 0.001, 4001),
                                        np.full(4001, 10.001))
        north_edge = geotags.distances_m(np.full(4001, plat), np.full(4001, plon), np.full(4001, north_lat), edge_lons)
        truth = min(east_edge.min(), north_edge.min())
        assert got == pytest.approx(truth, abs=0.5), (plat, plon)
        assert got > 40
    assert geotags.outside_m(turf, [lat], [10.0])[0] == 0  # inside
    assert geotags.outside_m(turf, [lat - 0.001], [10.0])[0] == 0  # on the edge


def test_a_turf_at_the_antimeridian_measures_across_it():
    turf = shapely.Polygon([(179.99, -0.01), (180.0, -0.01), (180.0, 0.01), (179.99, 0.01)])
    # 0.0005 degrees east of the line, on the other side: about 56 m away, not 40,000 km
    assert geotags.outside_m(turf, [0.0], [-179.9995])[0] == pytest.approx(0.0005 * A * math.pi / 180, rel=1e-3)


def test_a_point_in_a_hole_is_outside_by_its_distance_to_the_hole_edge():
    outer = [(0, 0), (0.01, 0), (0.01, 0.01), (0, 0.01)]
    hole = [(0.004, 0.004), (0.006, 0.004), (0.006, 0.006), (0.004, 0.006)]
    turf = shapely.Polygon(outer, [hole])
    assert geotags.outside_m(turf, [0.005], [0.005])[0] == pytest.approx(0.001 * A * math.pi / 180, rel=2e-3)


def test_speed_allows_for_accuracy_and_flags_a_jump():
    t = [0, 60, 120, 120]
    lat = [0.0, 0.0, 0.0, 0.0]
    lon = [0.0, 0.00015, 0.00015 + 1000 / (A * math.pi / 180), 0.01]  # 17 m jitter, then 1 km in a minute
    speeds = geotags.speeds_kmh(t, lat, lon, [10, 10, 10, 5])
    assert np.isnan(speeds[0])
    assert speeds[1] == 0  # 17 m apart with 10 m accuracy each: no movement measured
    assert speeds[2] == pytest.approx((1000 - 20) / 60 * 3.6, rel=1e-6)
    assert speeds[3] == math.inf  # somewhere else at the same second


def test_static_checks_flag_without_dropping():
    turf = square(41.89, -87.67, 0.001, 0.001)
    lats = [41.89, 41.89, 41.89, 41.95, 41.89]
    lons = [-87.67, -87.67, -87.67, -87.67, -87.67]
    bits, details = geotags.check(
        lats, lons, accuracies=[5, 80, np.nan, 5, 5], thresholds=[50, 50, 50, 50, 50],
        manual=[False, False, True, False, False],
        household_lats=[41.8901, 41.8901, np.nan, 41.8901, 41.8950], household_lons=[-87.67] * 5,
        turf_ids=["turf:1", "turf:1", None, "turf:1", "turf:gone"], turfs={"turf:1": turf},
        turf_tolerance_m=25, household_max_m=100)
    names = [geotags.flag_names(int(b)) for b in bits]
    assert names == [[], ["low_accuracy"], ["manual"], ["outside_turf", "far_from_household"], ["far_from_household"]]
    assert details[3]["outside_turf_m"] > 6000 and details[4]["household_m"] == pytest.approx(555.9, abs=1)
    assert geotags.flag_bits(["manual", "low_accuracy"]) == 17


def test_speed_is_not_measured_from_a_fix_flagged_as_elsewhere():
    """Issue 21: a geotag 7 km off, then a correct knock a minute later: only the bad one is a jump."""
    km = 1000 / (A * math.pi / 180)
    t = [0, 120, 240, 360]
    lat = [0.0, 0.0, 0.0, 0.0]
    lon = [0.0, 7 * km, 0.0003, 0.0006]  # door 1, a fix 7 km away, door 3, door 4
    every = geotags.speeds_kmh(t, lat, lon, [8, 8, 8, 8])
    assert every[1] > 100 and every[2] > 100  # measured from the bad fix, the correct knock looks like a jump
    usable = [True, False, True, True]
    speeds = geotags.speeds_kmh(t, lat, lon, [8, 8, 8, 8], usable)
    assert speeds[1] > 100  # the bad fix is still a jump from door 1
    assert speeds[2] == pytest.approx((0.0003 * A * math.pi / 180 - 16) / 240 * 3.6, rel=1e-3)
    assert speeds[2] < 5 and speeds[3] < 5  # from door 1 to door 3, and on: a walk
    assert np.isnan(geotags.speeds_kmh([0, 60], [0, 0], [0, 0.001], [5, 5], [False, True])[1])  # nothing usable before
