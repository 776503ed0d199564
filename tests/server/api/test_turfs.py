"""The REST API for turfs, households and assignments, on a real SQLite store."""

from __future__ import annotations

import io
import json

import pytest

from server.services import services
from tests.helpers.api import app_with_users, client_as

API = "/api/v1/campaigns/east"
LON, LAT = -87.69, 41.88  # Chicago's West Side; squares of 0.002 degrees are about 170 m by 220 m


def square(x: int, y: int = 0, size: float = 0.002) -> dict:
    """The square turf at column ``x``, row ``y`` of a grid of ``size`` degrees."""
    x0, y0 = LON + x * size, LAT + y * size
    x1, y1 = x0 + size, y0 + size
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def point(x: float, y: float = 0.5, size: float = 0.002) -> tuple[float, float]:
    """(lat, lon) at grid position ``x``, ``y`` (0.5: the middle of square 0)."""
    return round(LAT + y * size, 7), round(LON + x * size, 7)


@pytest.fixture
def app(tmp_path):
    app = app_with_users(f"sqlite://{tmp_path}/turfs.db")
    store = services(app).store
    store.create_db("east")
    yield app
    store.close()


def _client(app, user: str = "cora"):
    return client_as(app, user)


def _db(app):
    return services(app).store.open_db("east")


def _csv(rows: list[tuple]) -> str:
    return "address,unit,lat,lon\n" + "".join(",".join(map(str, row)) + "\n" for row in rows)


def _put_turf(client, turf_id: str, geometry: dict, **fields):
    return client.put(f"{API}/turfs/{turf_id}", json={"name": turf_id.title(), "geometry": geometry, **fields})


# --------------------------------------------------------------------------- turfs


def test_a_bow_tie_or_a_point_is_refused(app):
    client = _client(app)
    x0, y0 = LON, LAT
    bow_tie = {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 0.002, y0 + 0.002], [x0 + 0.002, y0],
                                                   [x0, y0 + 0.002], [x0, y0]]]}
    response = _put_turf(client, "bowtie", bow_tie)
    assert response.status_code == 422
    assert "Self-intersection" in response.get_json()["message"]
    response = _put_turf(client, "dot", {"type": "Point", "coordinates": [LON, LAT]})
    assert response.status_code == 422 and "Polygon or MultiPolygon" in response.get_json()["message"]
    assert _put_turf(client, "-bad", square(0)).status_code == 422  # not a turf id
    assert client.get(f"{API}/turfs").get_json() == []


def test_a_bad_turf_is_refused_with_the_same_words_over_rest_and_sync(app):
    """One write path: the geometry rule a coordinator meets on REST is the one a /sync push meets."""
    client = _client(app)
    x0, y0 = LON, LAT
    bow_tie = {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 0.002, y0 + 0.002], [x0 + 0.002, y0],
                                                   [x0, y0 + 0.002], [x0, y0]]]}
    rest = _put_turf(client, "bowtie", bow_tie)
    assert rest.status_code == 422
    pushed = client.post("/sync/east/_bulk_docs", json={"docs": [
        {"_id": "turf:bowtie", "type": "turf", "name": "Bowtie", "geometry": bow_tie},
        {"_id": "turf:good", "type": "turf", "name": "Good", "geometry": square(3)}]})
    refused, stored = pushed.get_json()
    assert refused["error"] == "forbidden" and refused["reason"] == rest.get_json()["message"]
    assert "Self-intersection" in refused["reason"] and stored.get("ok") is True  # the rest of the batch is stored
    # So is a turf with no geometry at all, a household out of range, an assignment under another's id.
    bad = [{"_id": "turf:bare", "type": "turf", "name": "Bare"},
           {"_id": "household:far", "type": "household", "address": "1 Far Rd", "location": {"lat": 91, "lon": 0}},
           {"_id": "assignment:vic:turf:good", "type": "assignment", "user": "olga", "turf": "turf:good"},
           {"_id": "meeting:soon", "type": "meeting", "place": "Gym", "starts_at": "tomorrow", "languages": ["en"]}]
    results = client.post("/sync/east/_bulk_docs", json={"docs": bad}).get_json()
    assert [r.get("error") for r in results] == ["forbidden"] * 4, results
    assert "Bad geometry" in results[0]["reason"] and "lat -90..90" in results[1]["reason"]
    assert "assignment:olga:turf:good" in results[2]["reason"] and "starts_at" in results[3]["reason"]
    assert [t["id"] for t in client.get(f"{API}/turfs").get_json()] == ["turf:good"]


def test_overlap_is_refused_within_a_drive_unless_allowed(app):
    client = _client(app)
    assert _put_turf(client, "west", square(0), drive="recruitment").status_code == 200
    assert _put_turf(client, "east", square(1), drive="recruitment").status_code == 200  # shares an edge only
    half = square(0.5, size=0.002)  # half on west, half on east
    refused = _put_turf(client, "middle", half, drive="recruitment")
    assert refused.status_code == 409
    body = refused.get_json()
    assert "turf:west 'West'" in body["message"] and "turf:east 'East'" in body["message"]
    assert "m²" in body["message"] and "allow_overlap" in body["message"]
    overlaps = {o["turf"]: o["area_m2"] for o in body["errors"]["overlaps"]}
    assert set(overlaps) == {"turf:west", "turf:east"}
    assert 16_000 < overlaps["turf:west"] < 21_000  # about 83 m by 222 m
    assert client.get(f"{API}/turfs/middle").status_code == 404
    assert _put_turf(client, "middle", half, drive="meeting_awareness").status_code == 200  # another drive
    allowed = _put_turf(client, "middle2", half, drive="recruitment", allow_overlap=True)
    assert allowed.status_code == 200 and allowed.get_json()["id"] == "turf:middle2"
    listed = client.get(f"{API}/turfs?drive=recruitment").get_json()
    assert [t["id"] for t in listed] == ["turf:east", "turf:middle2", "turf:west"]


def test_a_turf_is_read_with_its_geometry_and_edited_under_if_match(app):
    client = _client(app)
    created = _put_turf(client, "t1", square(0))
    assert created.status_code == 200
    read = client.get(f"{API}/turfs/t1")
    assert read.status_code == 200 and read.headers["ETag"] == created.headers["ETag"]
    body = read.get_json()
    assert body["geometry"] == square(0) and body["id"] == "turf:t1" and body["households"] == 0
    assert client.get(f"{API}/turfs/turf:t1").get_json()["id"] == "turf:t1"  # with its prefix too
    assert _put_turf(client, "t1", square(0)).status_code == 428
    stale = {"If-Match": '"1-00000000000000000000000000000000"'}
    assert client.put(f"{API}/turfs/t1", json={"name": "T1", "geometry": square(0)}, headers=stale).status_code == 412
    saved = client.put(f"{API}/turfs/t1", json={"name": "Renamed", "geometry": square(0)},
                       headers={"If-Match": read.headers["ETag"]})
    assert saved.status_code == 200 and saved.get_json()["rev"].startswith("2-") and saved.get_json()["name"] == "Renamed"
    assert client.delete(f"{API}/turfs/t1").status_code == 428
    assert client.delete(f"{API}/turfs/t1", headers={"If-Match": read.headers["ETag"]}).status_code == 412
    assert client.delete(f"{API}/turfs/t1", headers={"If-Match": saved.headers["ETag"]}).status_code == 200
    assert client.get(f"{API}/turfs/t1").status_code == 404
    assert client.delete(f"{API}/turfs/t1", headers={"If-Match": saved.headers["ETag"]}).status_code == 404
    assert client.get("/api/v1/campaigns/nowhere/turfs/t1").status_code == 403  # no role there
    assert _client(app, "ada").get("/api/v1/campaigns/nowhere/turfs/t1").status_code == 404


# --------------------------------------------------------------------------- households


def test_csv_import_dedupes_reports_bad_lines_and_assigns_turfs(app):
    client = _client(app)
    _put_turf(client, "a", square(0))
    _put_turf(client, "b", square(1))
    text = _csv([
        ("2600 W Fulton St", "", *point(0.5)),       # line 2: in a
        ("2600 West Fulton Street", "", *point(0.5)),  # line 3: duplicate of line 2
        ("2602 W Fulton St", "Apt 2", *point(1.5)),  # line 4: in b
        ("2602 W Fulton St", "#2", *point(1.5)),     # line 5: duplicate of line 4
        ("2604 W Fulton St", "", "north", LON),      # line 6: bad latitude
        ("", "", *point(0.5)),                       # line 7: no address
        ("9 Far Away Rd", "", *point(9.5)),          # line 8: in no turf
    ])
    response = client.post(f"{API}/households/import", data=text, content_type="text/csv")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["created"] == 3 and report["unassigned"] == 1
    assert [(d["row"], d["duplicate_of_row"]) for d in report["duplicates"]] == [(3, 2), (5, 4)]
    assert [(p["row"], p["field"]) for p in report["problems"]] == [(6, "lat"), (7, "address")]
    stored = {doc["address"]: doc for doc in client.get(f"{API}/households").get_json()}
    assert stored["2600 W Fulton St"]["turf"] == "turf:a"
    assert stored["2602 W Fulton St"]["turf"] == "turf:b" and stored["2602 W Fulton St"]["unit"] == "Apt 2"
    assert stored["9 Far Away Rd"]["turf"] is None
    assert report["duplicates"][0]["duplicate_of"] == stored["2600 W Fulton St"]["id"]
    doc = _db(app).get(stored["2600 W Fulton St"]["id"])
    assert doc["type"] == "household" and doc["location"] == {"lat": point(0.5)[0], "lon": point(0.5)[1]}
    # Again, as a multipart upload: everything is a duplicate of what is stored now.
    again = client.post(f"{API}/households/import", data={"file": (io.BytesIO(text.encode()), "households.csv")},
                        content_type="multipart/form-data").get_json()
    assert again["created"] == 0 and len(again["duplicates"]) == 5
    assert {d["duplicate_of"] for d in again["duplicates"]} == {h["id"] for h in stored.values()}
    assert [h["address"] for h in client.get(f"{API}/households?turf=a").get_json()] == ["2600 W Fulton St"]
    assert [h["address"] for h in client.get(f"{API}/households?unassigned=true").get_json()] == ["9 Far Away Rd"]
    # Named ones (a page showing households by address): only those, the unknown ignored.
    far = client.get(f"{API}/households?unassigned=true").get_json()[0]["id"]
    named = client.get(f"{API}/households", query_string=[("id", far), ("id", "household:nowhere")]).get_json()
    assert [h["address"] for h in named] == ["9 Far Away Rd"]
    assert {t["id"]: t["households"] for t in client.get(f"{API}/turfs").get_json()} == {"turf:a": 1, "turf:b": 1}


def test_geojson_import_as_a_body_or_an_upload(app):
    client = _client(app)
    _put_turf(client, "a", square(0))
    lat, lon = point(0.5)
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"address": "1 Oak Ave", "unit": 3, "language": "es"}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
         "properties": {"address": "1 Oak Avenue", "unit": "Apt. 3"}},  # duplicate of feature 0
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[lon, lat], [lon, lat + 1]]},
         "properties": {"address": "2 Oak Ave"}},  # not a Point
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon + 0.01, lat]},
         "properties": {"address": "3 Oak Ave"}},  # in no turf
    ]}
    response = client.post(f"{API}/households/import", data=json.dumps(collection), content_type="application/geo+json")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["created"] == 2 and report["unassigned"] == 1
    assert [(d["where"], d["row"], d["duplicate_of_row"]) for d in report["duplicates"]] == [("feature", 1, 0)]
    assert [(p["where"], p["row"], p["field"]) for p in report["problems"]] == [("feature", 2, "geometry")]
    (oak,) = client.get(f"{API}/households?turf=turf:a").get_json()
    assert oak["address"] == "1 Oak Ave" and oak["unit"] == "3" and oak["extra"] == {"language": "es"}
    # The same addresses uploaded as a .geojson file, plus a new one: only the new one is created.
    collection["features"].append({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                                   "properties": {"address": "4 Oak Ave"}})
    upload = {"file": (io.BytesIO(json.dumps(collection).encode()), "oak.geojson")}
    again = client.post(f"{API}/households/import", data=upload, content_type="multipart/form-data").get_json()
    assert again["created"] == 1 and again["unassigned"] == 0 and len(again["duplicates"]) == 3
    assert oak["id"] in {d["duplicate_of"] for d in again["duplicates"]}


def test_a_file_with_nothing_to_import_is_refused(app):
    client = _client(app)
    url = f"{API}/households/import"
    no_header = client.post(url, data="12 Main St,41.88,-87.69\n", content_type="text/csv")
    assert no_header.status_code == 422
    assert "missing column" in no_header.get_json()["errors"]["problems"][0]["message"]
    all_bad = client.post(url, data=_csv([("1 Main St", "", "x", "y")]), content_type="text/csv")
    assert all_bad.status_code == 422 and len(all_bad.get_json()["errors"]["problems"]) == 2
    assert client.post(url, data=b"address,lat,lon\n\xff\xfe,1,2\n", content_type="text/csv").status_code == 422
    assert client.post(url, data="{not json", content_type="application/geo+json").status_code == 422
    assert client.post(url, data=json.dumps({"type": "Point"}), content_type="application/geo+json").status_code == 422
    assert client.post(url, data=b"PK\x03\x04", content_type="application/zip").status_code == 415
    assert client.post(url, data={}, content_type="multipart/form-data").status_code == 422
    assert client.post(url, data="address,lat,lon\n", content_type="text/csv").get_json()["created"] == 0


def test_recutting_or_deleting_a_turf_moves_its_households(app):
    client = _client(app)
    a = _put_turf(client, "a", square(0))
    b = _put_turf(client, "b", square(1))
    rows = [(f"{n} Kedzie Ave", "", *point(x)) for n, x in ((1, 0.25), (2, 0.75), (3, 1.25), (4, 1.75))]
    client.post(f"{API}/households/import", data=_csv(rows), content_type="text/csv")
    ids = {h["address"]: h["id"] for h in client.get(f"{API}/households").get_json()}
    db = _db(app)

    def turfs() -> list:
        return [db.get(ids[f"{n} Kedzie Ave"])["turf"] for n in (1, 2, 3, 4)]

    assert turfs() == ["turf:a", "turf:a", "turf:b", "turf:b"]
    # Shrink a to its western half: household 2 is left in no turf ...
    west_half = {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.001, LAT], [LON + 0.001, LAT + 0.002],
                                                     [LON, LAT + 0.002], [LON, LAT]]]}
    shrunk = client.put(f"{API}/turfs/a", json={"name": "A", "geometry": west_half}, headers={"If-Match": a.headers["ETag"]})
    assert shrunk.status_code == 200 and shrunk.get_json()["reassigned"] == 1
    assert turfs() == ["turf:a", None, "turf:b", "turf:b"]
    # ... until b grows west over it.
    wide = {"type": "Polygon", "coordinates": [[[LON + 0.001, LAT], [LON + 0.004, LAT], [LON + 0.004, LAT + 0.002],
                                                [LON + 0.001, LAT + 0.002], [LON + 0.001, LAT]]]}
    grown = client.put(f"{API}/turfs/b", json={"name": "B", "geometry": wide}, headers={"If-Match": b.headers["ETag"]})
    assert grown.status_code == 200 and grown.get_json()["reassigned"] == 1 and grown.get_json()["households"] == 3
    assert turfs() == ["turf:a", "turf:b", "turf:b", "turf:b"]
    assert db.get(ids["2 Kedzie Ave"])["_rev"].startswith("3-")  # written twice, through the store
    # A new turf over household 1 with allow_overlap: the smallest turf id wins ("turf:0" < "turf:a").
    _put_turf(client, "0", square(0), allow_overlap=True)
    assert turfs() == ["turf:0", "turf:0", "turf:b", "turf:b"]  # 2 is on both 0 and b
    # Deleting turf 0: its households go back to the turfs that still cover them.
    etag = client.get(f"{API}/turfs/0").headers["ETag"]
    deleted = client.delete(f"{API}/turfs/0", headers={"If-Match": etag})
    assert deleted.status_code == 200 and deleted.get_json()["reassigned"] == 2
    assert turfs() == ["turf:a", "turf:b", "turf:b", "turf:b"]
    etag = client.get(f"{API}/turfs/b").headers["ETag"]
    client.delete(f"{API}/turfs/b", headers={"If-Match": etag})
    assert turfs() == ["turf:a", None, None, None]


# --------------------------------------------------------------------------- roles and assignments


def test_deleting_a_turf_ends_even_an_assignment_written_around_the_api(app):
    client = _client(app)
    assert _put_turf(client, "a", square(0)).status_code == 200
    # Written straight into the store: its id names another turf than its body, so the write path
    # refuses to store it as it is; it grants vic turf:a all the same (grants read the body).
    _db(app).put({"_id": "assignment:vic:turf:old", "type": "assignment", "user": "vic", "turf": "turf:a", "active": True})
    etag = client.get(f"{API}/turfs/a").headers["ETag"]
    assert client.delete(f"{API}/turfs/a", headers={"If-Match": etag}).status_code == 200
    rows = _db(app).all_docs(keys=["assignment:vic:turf:old"], include_docs=True)["rows"]
    assert rows[0]["value"].get("deleted") is True  # it grants nothing any more


def test_roles(app):
    cora, olga, vic, ada = (_client(app, name) for name in ("cora", "olga", "vic", "ada"))
    assert _put_turf(ada, "a", square(0)).status_code == 200
    for url in (f"{API}/turfs", f"{API}/turfs/a", f"{API}/households", f"{API}/assignments"):
        assert vic.get(url).status_code == 403
        assert olga.get(url).status_code == 200
    assert _put_turf(vic, "b", square(1)).status_code == 403
    assert _put_turf(olga, "b", square(1)).status_code == 403
    assert vic.post(f"{API}/households/import", data=_csv([]), content_type="text/csv").status_code == 403
    assert olga.post(f"{API}/households/import", data=_csv([]), content_type="text/csv").status_code == 403
    assert olga.put(f"{API}/assignments/vic/a").status_code == 403
    assert vic.put(f"{API}/assignments/vic/a").status_code == 403
    assert olga.delete(f"{API}/turfs/a", headers={"If-Match": "x"}).status_code == 403
    assert cora.put(f"{API}/assignments/vic/a").status_code == 200
    assert app.test_client().get(f"{API}/turfs").status_code == 401


def test_assignments_are_created_ended_and_reactivated(app):
    client = _client(app)
    _put_turf(client, "a", square(0))
    _put_turf(client, "b", square(1))
    created = client.put(f"{API}/assignments/vic/a")
    assert created.status_code == 200
    assert created.get_json() | {"rev": None, "updated_at": None} == {
        "id": "assignment:vic:turf:a", "user": "vic", "turf": "turf:a", "active": True,
        "updated_by": "cora", "updated_at": None, "rev": None}
    assert client.put(f"{API}/assignments/vic/a").get_json()["rev"] == created.get_json()["rev"]  # nothing to change
    client.put(f"{API}/assignments/olga/b")
    ended = client.delete(f"{API}/assignments/vic/a")
    assert ended.status_code == 200 and ended.get_json()["active"] is False
    assert _db(app).get("assignment:vic:turf:a")["active"] is False  # kept, so the phone learns it ended
    assert [a["id"] for a in client.get(f"{API}/assignments?user=vic").get_json()] == ["assignment:vic:turf:a"]
    assert [a["user"] for a in client.get(f"{API}/assignments?turf=b").get_json()] == ["olga"]
    assert [a["user"] for a in client.get(f"{API}/assignments?active=true").get_json()] == ["olga"]
    again = client.put(f"{API}/assignments/vic/a")
    assert again.get_json()["active"] is True and again.get_json()["rev"].startswith("3-")
    assert client.put(f"{API}/assignments/nobody/a").status_code == 404
    assert client.put(f"{API}/assignments/vic/nowhere").status_code == 404
    assert client.delete(f"{API}/assignments/vic/b").status_code == 404
    page = client.get(f"{API}/assignments?page_size=1")
    assert len(page.get_json()) == 1 and json.loads(page.headers["X-Pagination"])["total"] == 2
    # Deleting a turf ends its assignments.
    etag = client.get(f"{API}/turfs/a").headers["ETag"]
    client.delete(f"{API}/turfs/a", headers={"If-Match": etag})
    assert _db(app).get("assignment:vic:turf:a")["active"] is False


def test_an_assignment_made_through_the_api_reaches_the_volunteers_phone(app):
    client = _client(app)
    _put_turf(client, "a", square(0))
    _put_turf(client, "b", square(1))
    rows = [("1 Kedzie Ave", "", *point(0.5)), ("2 Kedzie Ave", "", *point(0.6)), ("3 Kedzie Ave", "", *point(1.5))]
    client.post(f"{API}/households/import", data=_csv(rows), content_type="text/csv")
    in_a = {h["id"] for h in client.get(f"{API}/households?turf=a").get_json()}
    assert len(in_a) == 2
    phone = _client(app, "vic")

    def synced() -> set[str]:
        response = phone.get("/sync/east/_changes")
        assert response.status_code == 200
        return {row["id"] for row in json.loads(response.get_data())["results"]}

    assert not synced() & (in_a | {"turf:a"})
    client.put(f"{API}/assignments/vic/a")
    seen = synced()
    assert in_a | {"turf:a", "assignment:vic:turf:a"} <= seen
    assert "turf:b" not in seen and not any(h.startswith("household:") for h in seen - in_a)
    client.delete(f"{API}/assignments/vic/a")
    assert "assignment:vic:turf:a" in synced() and not synced() & in_a


def test_a_household_edited_during_a_recut_is_read_again_and_moved(app, monkeypatch):
    client = _client(app)
    a = _put_turf(client, "a", square(0))
    client.post(f"{API}/households/import", data=_csv([("1 Kedzie Ave", "", *point(0.75))]), content_type="text/csv")
    (household,) = client.get(f"{API}/households").get_json()
    db = _db(app)
    original = type(db).bulk_docs

    def edited_meanwhile(self, docs, new_edits=True):
        if any(doc.get("_id") == household["id"] for doc in docs):
            monkeypatch.setattr(type(db), "bulk_docs", original)
            current = self.get(household["id"])
            self.put({**current, "notes": "gate code 1234"})  # a coordinator's edit, at the same moment
        return original(self, docs, new_edits)

    monkeypatch.setattr(type(db), "bulk_docs", edited_meanwhile)
    west_half = {"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.001, LAT], [LON + 0.001, LAT + 0.002],
                                                     [LON, LAT + 0.002], [LON, LAT]]]}
    shrunk = client.put(f"{API}/turfs/a", json={"name": "A", "geometry": west_half}, headers={"If-Match": a.headers["ETag"]})
    assert shrunk.status_code == 200
    assert shrunk.get_json()["reassigned"] == 1 and shrunk.get_json()["conflicts"] == []
    doc = db.get(household["id"])
    assert doc["turf"] is None and doc["notes"] == "gate code 1234" and doc["_rev"].startswith("3-")
