"""`blockwalk export assets`: the map's filters, a file or stdout, a progress bar on stderr."""

from __future__ import annotations

import csv
import io
import json

from server.campaigns.forms import install_template
from server.stores import open_store
from tests.conftest import store_config
from tests.helpers import assets as data
from tests.server.test_app import run


def campaign(tmp_path) -> str:
    url = f"sqlite://{tmp_path}/cli.db"
    server = open_store(url, store_config())
    db = server.create_db("east")
    install_template(db, "asset_mapping")
    docs, _ = data.campaign_docs()
    assert all("error" not in r for r in db.bulk_docs(docs))
    server.close()
    return url


def test_csv_to_stdout_with_filters_re_read_cell_by_cell(tmp_path):
    store = campaign(tmp_path)
    result = run("export", "assets", "--db", "east", "--store", store, "--category", "business", "--category", "skill")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout.lstrip("\ufeff"), newline="")))
    assert [(r["record"], r["category"], r["name"], r["flags"]) for r in rows] == [
        ("record:0002", "business", "'=HYPERLINK(\"http://x\",\"y\")", ""),
        ("record:0003", "skill", "Bike repair", "low_accuracy")]
    assert rows[0]["notes"] == "'-2+3" and float(rows[1]["accuracy_m"]) == 80.0
    assert "Exporting 2 assets" in result.stderr and "Exported 2 assets of 'east'." in result.stderr


def test_geojson_to_a_file_and_the_flag_filters(tmp_path):
    store = campaign(tmp_path)
    out = tmp_path / "flagged.geojson"
    result = run("export", "assets", "--db", "east", "--store", store, "--format", "geojson", "-o", str(out),
                 "--flagged", "--kind", "visit")
    assert result.returncode == 0 and result.stdout == "", result.stderr
    found = json.loads(out.read_text())["features"]
    assert {f["properties"]["record"]: f["properties"]["flags"] for f in found} == {
        "record:0005": ["outside_turf"], "record:0006": ["far_from_household", "impossible_speed"]}
    assert f"to {out}" in result.stderr
    unflagged = run("export", "assets", "--db", "east", "--store", store, "--unflagged", "--since", "2026-11-20T18:10:00Z")
    assert [r["record"] for r in csv.DictReader(io.StringIO(unflagged.stdout.lstrip("\ufeff")))] == ["record:0002"]


def test_bad_filters_and_campaigns_exit_non_zero(tmp_path):
    store = campaign(tmp_path)
    bad = run("export", "assets", "--db", "east", "--store", store, "--flag", "nope", "--bbox", "1,2")
    assert bad.returncode == 2 and bad.stdout == ""
    assert "--flag: Must be one of" in bad.stderr and "--bbox:" in bad.stderr
    missing = run("export", "assets", "--db", "west", "--store", store)
    assert missing.returncode == 1 and "not_found" in missing.stderr
