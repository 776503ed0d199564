"""The asset map's API: geotag flags, filters, exports and roles, on a real store (SQLite and CouchDB)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from server import create_app
from server.access.accounts import Accounts
from server.campaigns.forms import install_template
from server.services import services
from tests.conftest import couch_store_url, unique_prefix
from tests.helpers import assets as data

API = "/api/v1/campaigns/east/assets"


def make_app(store_url: str, tmp_path, **settings):
    app = create_app({"STORE": store_url, "INDEX_DIR": str(tmp_path / "index"), **settings}, environ={})
    store = services(app).store
    accounts = Accounts(store)
    tokens = {}
    for name, role, campaign in (("ada", "admin", None), ("cora", "coordinator", "east"), ("olga", "organizer", "east"),
                                 ("vic", "volunteer", "east"), ("wes", "coordinator", "west")):
        if accounts.get_user(name) is None:  # a second app on the same store has them already
            accounts.add_user(name, role, f"{name}-password", campaign)
        tokens[name] = accounts.create_token(name)
    app.config["TEST_TOKENS"] = tokens
    return app


def client(app, user: str = "cora"):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['TEST_TOKENS'][user]}"
    return c


def push(app, docs: list[dict]) -> list[dict]:
    """Documents written as a phone does, through /sync (checked against the form)."""
    response = client(app, "ada").post("/sync/east/_bulk_docs", json={"docs": docs})
    assert response.status_code == 201, response.data
    results = response.get_json()
    assert all("error" not in r for r in results), results
    return results


@pytest.fixture
def app(tmp_path):
    app = make_app(f"sqlite://{tmp_path}/assets.db", tmp_path)
    install_template(services(app).store.create_db("east"), "asset_mapping")
    docs, expected = data.campaign_docs()
    push(app, docs)
    app.config["EXPECTED"] = expected
    yield app
    services(app).store.close()


def features(c, query: str = "") -> list[dict]:
    response = c.get(f"{API}?{query}")
    assert response.status_code == 200, response.data
    assert response.mimetype == "application/geo+json" and response.is_streamed
    body = json.loads(response.data)
    assert body["type"] == "FeatureCollection"
    return body["features"]


def flags_by_record(found: list[dict]) -> dict[str, list[str]]:
    return {f["properties"]["record"]: f["properties"]["flags"] for f in found}


def test_every_asset_is_flagged_as_it_should_be_and_none_is_dropped(app):
    assert flags_by_record(features(client(app))) == app.config["EXPECTED"]


def test_the_checks_run_the_same_on_the_couchdb_store(couchdb_url, tmp_path):
    app = make_app(couch_store_url(couchdb_url, unique_prefix("assets")), tmp_path)
    install_template(services(app).store.create_db("east"), "asset_mapping")
    docs, expected = data.campaign_docs()
    push(app, docs)
    c = client(app)
    assert flags_by_record(features(c)) == expected
    # caught up again from the opaque seq it kept
    push(app, [data.record(7, 50, {"category": "skill", "asset_name": "Sewing"}, lat=data.LAT + 0.001, lon=data.LON + 0.001)])
    assert flags_by_record(features(c))["record:0007"] == []
    services(app).store.close()


def test_visits_have_their_own_flags(app):
    visits = flags_by_record(features(client(app), "kind=visit"))
    assert visits["record:0003"] == []  # the asset's fix was poor, the visit's was not
    assert visits["record:0005"] == ["outside_turf"]
    assert visits["record:0006"] == ["far_from_household", "impossible_speed"]


def test_filters(app):
    c = client(app)
    names = lambda query: sorted(f["properties"]["name"] for f in features(c, query))  # noqa: E731
    # a neighbourhood: the turf's south-west quarter
    box = f"{data.LON},{data.LAT},{data.LON + 0.002},{data.LAT + 0.002}"
    assert names(f"bbox={box}") == ['=HYPERLINK("http://x","y")', "Bike repair", "Elementary school"]
    assert names(f"bbox={box}&category=skill&category=institution") == ["Bike repair", "Elementary school"]
    assert names("flag=manual&flag=low_accuracy") == ["Bike repair", "Community garden"]
    assert names("flagged=false") == ['=HYPERLINK("http://x","y")', "Elementary school"]
    assert len(names("drive=asset_mapping")) == 6 and names("drive=recruitment") == []
    assert len(names("form=asset_mapping")) == 6 and len(names("form=form:asset_mapping")) == 6
    assert names("canvasser=someone") == [] and len(names("canvasser=ana")) == 6
    # records at 18:08, 18:16, ... 18:41 on 2026-11-20
    assert names("since=2026-11-20T18:30:00Z&until=2026-11-20T18:41:00Z") == ["Block club", "Community garden"]
    assert names("since=2026-11-21") == [] and len(names("until=2026-11-21")) == 6
    assert len(names("limit=2")) == 2
    for bad in ("bbox=1,2,3", "bbox=0,10,1,5", "flag=nope", "since=yesterday", "kind=house",
                "since=2026-11-21&until=2026-11-20", "limit=0"):
        response = c.get(f"{API}?{bad}")
        assert response.status_code == 422, bad


def test_a_bbox_across_the_antimeridian(tmp_path):
    app = make_app(f"sqlite://{tmp_path}/am.db", tmp_path)
    install_template(services(app).store.create_db("east"), "asset_mapping")
    push(app, [data.record(n, n, {"category": "space", "asset_name": name}, lat=-17.0, lon=lon)
               for n, (name, lon) in enumerate([("west of the line", 179.99), ("east of the line", -179.99),
                                                ("far away", 0.0)], start=1)])
    found = features(client(app), "bbox=179.9,-17.1,-179.9,-16.9")
    assert sorted(f["properties"]["name"] for f in found) == ["east of the line", "west of the line"]


def test_flags_follow_edits_of_records_turfs_households_and_the_order_of_knocks(app):
    c = client(app)
    store = services(app).store.open_db("east")
    # The household of record 6 moves to where the knock was: no longer far.
    household = store.get("household:6")
    record6 = store.get("record:0006")
    push(app, [{**household, "location": {"lat": record6["geotag"]["lat"], "lon": record6["geotag"]["lon"]}}])
    assert flags_by_record(features(c))["record:0006"] == ["impossible_speed"]
    # A knock half-way between 5 and 6, half a minute earlier than 6, breaks the jump in two walkable legs?
    # No: 250 m in 30 s is still too fast, so both later knocks are flagged.
    r5 = store.get("record:0005")
    mid_lat = (r5["geotag"]["lat"] + record6["geotag"]["lat"]) / 2
    mid_lon = (r5["geotag"]["lon"] + record6["geotag"]["lon"]) / 2
    middle = data.record(8, 40, {"category": "skill", "asset_name": "Middle"}, lat=mid_lat, lon=mid_lon)
    middle["geotag"]["captured_at"] = middle["created_at"] = "2026-11-20T18:40:30Z"
    push(app, [middle])
    flags = flags_by_record(features(c))
    assert "impossible_speed" in flags["record:0008"] and flags["record:0006"] == ["impossible_speed"]
    # Record 6 re-timed to an hour later: a walk, not a jump; the middle one stays a jump from 5.
    record6 = store.get("record:0006")
    later = {**record6, "geotag": {**record6["geotag"], "captured_at": "2026-11-20T19:41:00Z"}}
    push(app, [later])
    flags = flags_by_record(features(c))
    assert flags["record:0006"] == [] and "impossible_speed" in flags["record:0008"]
    # Deleting the middle knock: 6 is still an hour after 5; the middle one is gone from the map.
    push(app, [{"_id": "record:0008", "_rev": store.get("record:0008")["_rev"], "_deleted": True}])
    flags = flags_by_record(features(c))
    assert "record:0008" not in flags and flags["record:0006"] == []
    # The turf grows east over the block club (through the turf API): no longer outside.
    turf = store.get("turf:north")
    ring = [[data.LON, data.LAT], [data.LON + 0.01, data.LAT], [data.LON + 0.01, data.LAT + data.SIZE],
            [data.LON, data.LAT + data.SIZE], [data.LON, data.LAT]]
    response = c.put("/api/v1/campaigns/east/turfs/north", json={"name": "North", "geometry": {"type": "Polygon", "coordinates": [ring]}},
                     headers={"If-Match": turf["_rev"]})
    assert response.status_code == 200, response.data
    assert flags_by_record(features(c))["record:0005"] == []


def test_settings_change_the_flags_and_the_index_is_rebuilt(app, tmp_path):
    url = app.config["STORE"]
    assert flags_by_record(features(client(app)))["record:0005"] == ["outside_turf"]
    services(app).store.close()
    tolerant = make_app(url, tmp_path, GEOTAG_TURF_TOLERANCE_M=500.0, GEOTAG_HOUSEHOLD_MAX_M=1000.0)
    flags = flags_by_record(features(client(tolerant)))
    assert flags["record:0005"] == [] and flags["record:0006"] == ["impossible_speed"]
    services(tolerant).store.close()


def test_csv_export_re_read_cell_by_cell(app):
    response = client(app, "olga").get(f"{API}/export?format=csv&category=business&category=institution")
    assert response.status_code == 200 and response.mimetype == "text/csv" and response.is_streamed
    assert response.headers["Content-Disposition"] == 'attachment; filename="east-assets.csv"'
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    header = rows[0]
    assert header[:6] == ["record", "item", "category", "name", "latitude", "longitude"]
    cells = [dict(zip(header, row)) for row in rows[1:]]
    assert len(cells) == 2
    school, shop = cells
    lat, lon = data.LAT + 0.001, data.LON + 0.001
    assert school == {**school, "record": "record:0001", "item": "0", "category": "institution",
                      "name": "Elementary school", "latitude": str(lat), "longitude": str(lon), "accuracy_m": "10.0",
                      "manual_pin": "false", "captured_at": "2026-11-20T18:08:00Z", "canvasser": "ana",
                      "drive": "asset_mapping", "form": "form:asset_mapping", "form_version": "1", "turf": "turf:north",
                      "household": "household:1", "flags": "", "institution_kind": "school", "capacity": "400",
                      "languages_served": "en es", "notes": "Open gym on Saturdays", "photo": "photo.png",
                      "contact_name": ""}
    assert shop["name"] == "'=HYPERLINK(\"http://x\",\"y\")" and shop["notes"] == "'-2+3"
    flagged = list(csv.DictReader(io.StringIO(client(app).get(f"{API}/export?flagged=true").data.decode("utf-8-sig"))))
    assert sorted((r["record"], r["flags"]) for r in flagged) == [
        ("record:0003", "low_accuracy"), ("record:0004", "manual"), ("record:0005", "outside_turf"),
        ("record:0006", "far_from_household impossible_speed")]


def test_geojson_export_has_every_answer_and_check(app):
    response = client(app).get(f"{API}/export?format=geojson&kind=asset&flag=outside_turf")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="east-assets.geojson"'
    (feature,) = json.loads(response.data)["features"]
    props = feature["properties"]
    assert props["answers"] == {"category": "association", "asset_name": "Block club",
                                "location": {"lat": pytest.approx(data.LAT + 0.002), "lon": pytest.approx(feature["geometry"]["coordinates"][0]),
                                             "accuracy_m": 10.0}}
    assert 190 < props["checks"]["outside_turf_m"] < 210 and props["flags"] == ["outside_turf"]


def test_a_record_opens_with_answers_flags_and_photo(app):
    c = client(app)
    body = c.get(f"{API}/records/record:0001").get_json()
    assert body["id"] == "record:0001" and body["canvasser"] == "ana" and body["conflicts"] == 0
    visit, asset = body["points"]
    assert visit["item"] == -1 and visit["answers"] == {"outcome": "contacted"}
    assert asset["name"] == "Elementary school" and asset["photo"] == "photo.png" and asset["flags"] == []
    photo = c.get(f"{API}/records/record:0001/attachments/photo.png")
    assert photo.status_code == 200 and photo.mimetype == "image/png" and photo.data == data.png()
    assert "sandbox" in photo.headers["Content-Security-Policy"]
    assert c.get(f"{API}/records/record:0001/attachments/none.png").status_code == 404
    assert c.get(f"{API}/records/record:9999").status_code == 404
    assert c.get(f"{API}/records/turf:north").status_code == 404
    assert client(app, "ada").get("/api/v1/campaigns/nowhere/assets").status_code == 404
    assert c.get("/api/v1/campaigns/nowhere/assets").status_code == 403  # no role there: whether it exists is not said


def test_turfs_come_with_their_geometry(app):
    body = json.loads(client(app).get(f"{API}/turfs").data)
    assert [(f["id"], f["properties"]["name"], f["geometry"]["type"]) for f in body["features"]] == [("turf:north", "North", "Polygon")]


def test_a_volunteer_and_another_campaigns_coordinator_are_refused_and_an_organizer_reads(app):
    for who in ("vic", "wes"):
        for path in ("", "/export", "/turfs", "/records/record:0001", "/records/record:0001/attachments/photo.png"):
            response = client(app, who).get(API + path)
            assert response.status_code == 403, (who, path)
            assert b"Elementary" not in response.data and b"turf:north" not in response.data
    assert len(features(client(app, "olga"))) == 6 and len(features(client(app, "ada"))) == 6
    assert app.test_client().get(API).status_code == 401


def test_the_knock_after_a_geotag_far_from_its_door_is_measured_from_the_last_good_one(tmp_path):
    """Issue 21: a fix 7 km off is flagged; the correct knock a minute after it is not an "impossible speed"."""
    app = make_app(f"sqlite://{tmp_path}/chain.db", tmp_path)
    install_template(services(app).store.create_db("east"), "asset_mapping")
    doors = [(data.LAT + 0.001, data.LON + 0.001 + i * 0.0003) for i in range(3)]
    docs: list[dict] = [data.turf()] + [data.household(n, lat, lon) for n, (lat, lon) in enumerate(doors, start=1)]
    bad = (doors[1][0] + 7000 * data.M_LAT, doors[1][1])
    for n, (minute, (lat, lon)) in enumerate([(10, doors[0]), (12, bad), (14, doors[2])], start=1):
        docs.append(data.record(n, minute, {"category": "skill", "asset_name": f"Door {n}"}, lat=lat, lon=lon))
    push(app, docs[:-1])
    push(app, docs[-1:])  # the correct knock arrives after the bad one is indexed
    visits = flags_by_record(features(client(app), "kind=visit"))
    assert visits["record:0002"] == ["outside_turf", "far_from_household", "impossible_speed"]
    assert visits["record:0003"] == []
    assert visits["record:0001"] == []
    services(app).store.close()
