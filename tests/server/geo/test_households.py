"""Household lists: CSV and GeoJSON import with a problem per bad row, and duplicates by address."""

from __future__ import annotations

import json

import pytest

from server.geo import households as household_lists
from server.geo.households import Household, address_key, dedupe

# Chicago, where a degree of longitude is about 83 km and a degree of latitude about 111 km.
LON0, LAT0 = -87.70, 41.85


# --------------------------------------------------------------------------- CSV import


def test_csv_households_with_case_insensitive_header_and_extra_columns():
    text = "\ufeff Address ,UNIT,Lat,LON,Ward,\r\n12 Main St,2B,41.85,-87.7,3,\r\n\r\n14 Main St,,41.851,-87.701,4,\r\n"
    households, problems = household_lists.parse_households_csv(text)
    assert problems == []
    assert households == [
        Household("12 Main St", "2B", 41.85, -87.7, {"Ward": "3"}, 2),
        Household("14 Main St", "", 41.851, -87.701, {"Ward": "4"}, 4),
    ]


def test_csv_without_a_unit_column_and_with_short_rows():
    households, problems = household_lists.parse_households_csv("lat,lon,address,notes\n41.85,-87.7,12 Main St\n")
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
    households, problems = household_lists.parse_households_csv(text)
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
    assert problems[0] == household_lists.Problem("line", 3, "address", "missing address")


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
    households, problems = household_lists.parse_households_csv(text)
    assert households == [] and len(problems) == 1 and str(problems[0]).startswith(expected)


def test_csv_unreadable_is_a_problem():
    text = 'address,lat,lon\n1 Main St,41.85,-87.7\n"2 Main St,41.85,-87.7\n3 Main St,41.85,-87.7\n'
    households, problems = household_lists.parse_households_csv(text)
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
    households, problems = household_lists.parse_households_geojson(obj)
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
        feature({"address": "8 Bad St"}, [[[LON0, LAT0], [LON0 + 0.01, LAT0], [LON0, LAT0 + 0.01], [LON0, LAT0]]],
                "Polygon"),                                      # 8 not a point
        {"type": "Feature", "properties": {"address": "9 Bad St"}},          # 9 no geometry
        "feature",                                               # 10 not a feature
        feature({"address": "11 Bad St", "unit": [1]}),          # 11 unit not text
        feature([1, 2]),                                         # 12 properties not an object
        feature({"address": "13 Bad St"}, (LON0, True)),         # 13 bool
        feature({"address": "  "}),                              # 14 blank address
    ]
    households, problems = household_lists.parse_households_geojson({"type": "FeatureCollection", "features": features})
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
    assert household_lists.parse_households_geojson(obj) == ([], [household_lists.Problem(None, None, None, "the file is not a GeoJSON FeatureCollection")])


def test_geojson_features_must_be_an_array():
    _, problems = household_lists.parse_households_geojson({"type": "FeatureCollection", "features": {}})
    assert [str(p) for p in problems] == ["features: a FeatureCollection has an array of features"]
    assert household_lists.parse_households_geojson({"type": "FeatureCollection", "features": []}) == ([], [])


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
    households, problems = household_lists.parse_households_csv(text)
    unique, duplicates = dedupe(households)
    assert problems == [] and [u.source for u in unique] == [2] and duplicates[0].household.source == 3
