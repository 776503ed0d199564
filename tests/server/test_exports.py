"""Streaming exports: spreadsheet-safe cells, CSV and GeoJSON re-read as a user's tool reads them."""

from __future__ import annotations

import csv
import io
import json

from server.exports import CHUNK, csv_cells, csv_stream, csv_text_stream, geojson_stream, safe_cell

FORMULAS = ['=HYPERLINK("http://x","y")', "+1+2", "-2+3", "@SUM(A1)", "\tx", "\r=1+1"]


def test_a_cell_that_a_spreadsheet_would_run_is_text_numbers_stay_numbers():
    for text in FORMULAS:
        assert safe_cell(text) == "'" + text
    assert safe_cell("Ana Reyes") == "Ana Reyes"
    assert safe_cell("x=1") == "x=1"  # only the first character makes a formula
    assert safe_cell(-3.5) == -3.5 and safe_cell(0) == 0
    assert safe_cell(None) == "" and safe_cell(True) == "true"
    assert safe_cell(["en", "es"]) == "en es"
    assert safe_cell(["=1+1"]) == "'=1+1"


def test_csv_re_read_cell_by_cell():
    rows = [[name, 41.5, -87.25, None] for name in FORMULAS] + [["Tomás, \"el\" sastre\nline 2", 1, 2, "ok"]]
    data = b"".join(csv_stream(["name", "lat", "lon", "note"], rows))
    assert data.startswith(b"\xef\xbb\xbf")
    back = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert back[0] == ["name", "lat", "lon", "note"]
    for text, row in zip(FORMULAS, back[1:]):
        assert row == ["'" + text, "41.5", "-87.25", ""]
    assert back[-1] == ["Tomás, \"el\" sastre\nline 2", "1", "2", "ok"]


def test_csv_comes_in_chunks_without_building_the_file():
    rows = ([str(i), "x" * 100] for i in range(5000))
    chunks = list(csv_stream(["i", "x"], rows, bom=False))
    assert len(chunks) > 5 and max(len(c) for c in chunks) < 2 * CHUNK  # bounded, whatever the row count
    assert b"".join(chunks).count(b"\r\n") == 5001


def test_cells_rendered_ahead_and_joined_are_the_csv_the_writer_makes():
    # What an index stores (csv_cells of parts of a row) and streams joined must be byte for byte csv_stream's file.
    rows = [[text, -3.5, None, True] for text in FORMULAS] + [
        ["Tomás, \"el\" sastre\nline 2", 0, ["en", "=es"], False], ["", None, "", None], [None, "a\rb", 1e-7, "+15551234567"]]
    header = ["name", "=n", "langs", "ok"]
    expected = b"".join(csv_stream(header, rows))
    lines = [csv_cells(row[:1]) + "," + csv_cells(row[1:3]) + "," + csv_cells(row[3:]) for row in rows]
    assert b"".join(csv_text_stream(header, lines)) == expected
    back = list(csv.reader(io.StringIO(expected.decode("utf-8-sig"), newline="")))
    assert back[0] == ["name", "'=n", "langs", "ok"] and back[-2] == ["", "", "", ""]
    assert back[-1] == ["", "a\rb", "1e-07", "+15551234567"]
    many = list(csv_text_stream(["i"], (csv_cells([i, "x" * 100]) for i in range(5000)), bom=False))
    assert len(many) > 5 and max(len(c) for c in many) < 2 * CHUNK
    assert b"".join(many) == b"".join(csv_stream(["i"], ([i, "x" * 100] for i in range(5000)), bom=False))


def test_geojson_is_one_valid_feature_collection():
    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [i / 10, 1.0]},
                 "properties": {"n": i, "name": '=HYPERLINK("http://x","y")'}} for i in range(3000)]
    chunks = list(geojson_stream(iter(features), bbox=[0, 1, 300, 1]))
    assert len(chunks) > 1
    doc = json.loads(b"".join(chunks))
    assert doc["type"] == "FeatureCollection" and doc["bbox"] == [0, 1, 300, 1]
    assert doc["features"] == features  # GeoJSON is data, not a spreadsheet: kept as it is
    assert json.loads(b"".join(geojson_stream([]))) == {"type": "FeatureCollection", "features": []}
