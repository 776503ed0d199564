"""PouchDB 9 in a real headless Chromium replicating with Blockwalk, cross-origin, as a phone does.

The page comes from another origin than the server (see conftest.py), so every
replication request is a credentialed CORS request with a preflight.  One
phone saves geotagged records offline (one with a photo) and pushes them; a
second phone, with its own browser profile, pulls the campaign and must get
those records and what the office wrote on the server, byte for byte.  A page
from an origin the server does not allow must be able to do neither.
"""

from __future__ import annotations

import base64
import hashlib
import struct
import zlib

import httpx

from forms.templates import DRIVES
from tests.peers import RECORD
from tests.world import square

RECORD_COUNT = 50


def _png(seed: int, size: int = 16) -> bytes:
    """A small, valid RGB PNG with a pattern (so bytes 0-255 all travel)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes(((x * 16 + seed) % 256, (y * 16) % 256, (x * y * 7 + seed * 3) % 256)) for x in range(size))
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _digest(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()


def _records() -> list[dict]:
    outcomes = ["contacted", "not_home", "refused", "come_back_later"]
    return [
        {
            "_id": f"record:{i:03d}",
            **RECORD,
            "household": f"household:{i % 7}",
            "answers": {"outcome": outcomes[i % 4]},
            "geotag": {"lat": round(40.7128 + i * 0.00013, 6), "lon": round(-74.0060 - i * 0.00011, 6), "accuracy_m": 4 + i % 5},
            "recorded_at": f"2024-10-05T14:{i % 60:02d}:00Z",
        }
        for i in range(1, RECORD_COUNT + 1)
    ]


def _unexpected_errors(phone, server) -> list[tuple[str, int, str]]:
    """Error answers from Blockwalk, but for the 404 of a first checkpoint read (PouchDB expects it)."""
    return [
        (method, status, url) for method, status, url in phone.responses
        if url.startswith(server.url) and status >= 400 and not (method == "GET" and status == 404 and "/_local/" in url)
    ]


def _server_revs(server, campaign: str) -> dict[str, str]:
    response = server.http.get(f"/sync/{campaign}/_all_docs")
    assert response.status_code == 200, response.text
    return {row["id"]: row["value"]["rev"] for row in response.json()["rows"]}


def test_a_phone_pushes_and_another_pulls(server, static_site, open_phone, tmp_path):
    campaign = server.new_db(forms=True)  # the built-in forms, which the records fit
    remote = f"{server.url}/sync/{campaign}"
    forms = {row["id"]: row["value"]["rev"] for row in server.http.get(f"/sync/{campaign}/_all_docs").json()["rows"]}
    assert len(forms) == len(DRIVES)

    # The office writes some documents on the server first; one carries a turf map.
    turf_map = _png(seed=200)
    office = server.http.post(f"/sync/{campaign}/_bulk_docs", json={"docs": [
        {"_id": "household:1", "type": "household", "address": "1 Maple St"},
        {"_id": "household:2", "type": "household", "address": "2 Maple St"},
    ]})
    assert office.status_code == 201, office.text
    turf = server.http.put(f"/sync/{campaign}/turf:north", json={
        "type": "turf", "name": "North", "geometry": square(0),
        "_attachments": {"map.png": {"content_type": "image/png", "data": base64.b64encode(turf_map).decode()}},
    })
    assert turf.status_code == 201, turf.text
    office_revs = forms | {r["id"]: r["rev"] for r in office.json()} | {"turf:north": turf.json()["rev"]}

    # Phone A: 50 geotagged records saved offline in IndexedDB, one with a photo, then pushed.
    records = _records()
    photo = _png(seed=7)
    phone_a = open_phone(static_site.page)
    pushed = phone_a.call("phonePush", dbName="phone-a", remote=remote, token=server.token, records=records,
                          photo={"docId": "record:007", "name": "door.png", "type": "image/png",
                                 "b64": base64.b64encode(photo).decode()})
    phone_a.page.screenshot(path=str(tmp_path / "phone-a.png"), full_page=True)
    assert "error" not in pushed, f"{pushed['error']}\nconsole:\n" + "\n".join(phone_a.console)
    assert pushed["adapter"] == "idb"  # PouchDB's default IndexedDB adapter
    result = pushed["result"]
    assert result["ok"] and result["docs_written"] == RECORD_COUNT, result
    assert result["doc_write_failures"] == 0 and result["errors"] == [] and result["denied"] == [], result
    assert pushed["again"]["ok"] and pushed["again"]["docs_written"] == 0, pushed["again"]
    assert pushed["digests"] == {"record:007/door.png": _digest(photo)}
    assert _unexpected_errors(phone_a, server) == []

    # On the server: every record at the phone's revision, with its content and the photo's bytes.
    on_server = _server_revs(server, campaign)
    assert on_server == pushed["revs"] | office_revs
    by_id = {r["_id"]: r for r in records}
    rows = server.http.get(f"/sync/{campaign}/_all_docs", params={"include_docs": "true"}).json()["rows"]
    for row in rows:
        if row["id"] in by_id:
            doc = row["doc"]
            expected = by_id[row["id"]]
            assert {k: doc[k] for k in expected if k != "_id"} == {k: v for k, v in expected.items() if k != "_id"}
    stub = server.http.get(f"/sync/{campaign}/record:007").json()["_attachments"]["door.png"]
    assert stub["digest"] == _digest(photo) and stub["length"] == len(photo) and stub["content_type"] == "image/png"
    raw = server.http.get(f"/sync/{campaign}/record:007/door.png")
    assert raw.status_code == 200 and raw.content == photo and raw.headers["content-type"] == "image/png"

    # Phone B, a fresh browser profile: pulls the whole campaign.
    phone_b = open_phone(static_site.page)
    pulled = phone_b.call("phonePull", dbName="phone-b", remote=remote, token=server.token)
    screenshot = tmp_path / "phone-b.png"
    phone_b.page.screenshot(path=str(screenshot), full_page=True)
    assert "error" not in pulled, f"{pulled['error']}\nconsole:\n" + "\n".join(phone_b.console)
    assert pulled["adapter"] == "idb"
    total = RECORD_COUNT + len(office_revs)
    assert pulled["result"]["ok"] and pulled["result"]["docs_written"] == total, pulled["result"]
    assert pulled["result"]["doc_write_failures"] == 0 and pulled["result"]["errors"] == []
    assert _unexpected_errors(phone_b, server) == []
    assert {d["_id"]: d["_rev"] for d in pulled["docs"]} == on_server
    docs = {d["_id"]: d for d in pulled["docs"]}
    for record in records:
        assert docs[record["_id"]]["geotag"] == record["geotag"]
        assert docs[record["_id"]]["answers"] == record["answers"]
    assert docs["household:2"]["address"] == "2 Maple St" and docs["turf:north"]["name"] == "North"
    assert {key: (a["type"], a["digest"], base64.b64decode(a["b64"])) for key, a in pulled["attachments"].items()} == {
        "record:007/door.png": ("image/png", _digest(photo), photo),
        "turf:north/map.png": ("image/png", _digest(turf_map), turf_map),
    }
    status = phone_b.page.text_content("#status")
    assert status.startswith(f"Pulled {total} documents: {RECORD_COUNT} geotagged records"), status
    assert screenshot.stat().st_size > 0


def test_a_wrong_token_is_a_readable_401_not_a_network_error(server, static_site, open_phone):
    """The 401 carries the CORS headers too, so the app can tell "log in again" from "offline"."""
    campaign = server.new_db()
    phone = open_phone(static_site.page)
    out = phone.call("probe", dbName="wrong-token", remote=f"{server.url}/sync/{campaign}", token="bw_not-a-token")
    assert out["fetch"]["status"] == 401, out
    assert out["pull"]["error"]["status"] == 401 and not out["pull"]["error"]["type_error"], out
    assert out["push"]["error"]["status"] == 401, out
    assert server.http.get(f"/sync/{campaign}").json()["doc_count"] == 0


def test_a_page_from_another_origin_can_neither_read_nor_write(server, foreign_site, open_phone, tmp_path):
    campaign = server.new_db()
    server.http.put(f"/sync/{campaign}/record:secret", json={"name": "Ana Reyes"})
    port = foreign_site.origin.rsplit(":", 1)[1]
    phone = open_phone(foreign_site.page)
    out = phone.call("probe", dbName="foreign", remote=f"{server.url}/sync/{campaign}", token=server.token)
    phone.page.screenshot(path=str(tmp_path / "foreign-origin.png"), full_page=True)
    # Even with a valid token the browser hides every answer: fetch rejects with a TypeError.
    assert out["fetch"]["error"]["type_error"], out
    assert "error" in out["pull"] and "error" in out["push"], out
    assert out["local_ids"] == [f"record:from-{port}"]  # only its own record: nothing was pulled
    assert any("blocked by CORS policy" in line for line in phone.console), phone.console
    # The push's preflight was refused, so its write never reached the server.
    assert server.http.get(f"/sync/{campaign}/record:from-{port}").status_code == 404
    assert server.http.get(f"/sync/{campaign}").json()["doc_count"] == 1


def test_cors_headers(server, static_site, foreign_site):
    """What the browser decides on: the preflight and the actual responses' headers."""
    campaign = server.new_db()
    allowed, other = static_site.origin, foreign_site.origin
    path = f"/sync/{campaign}/_bulk_docs"
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}
    with httpx.Client(base_url=server.url, timeout=10) as anonymous:  # a preflight carries no credentials
        ok = anonymous.options(path, headers={"Origin": allowed, **preflight})
        assert ok.is_success, (ok.status_code, ok.text)
        assert ok.headers.get("access-control-allow-origin") == allowed
        assert ok.headers.get("access-control-allow-credentials") == "true"
        assert "POST" in ok.headers["access-control-allow-methods"]
        allow_headers = {h.strip().lower() for h in ok.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type"} <= allow_headers
        assert "origin" in ok.headers.get("vary", "").lower()

        refused = anonymous.options(path, headers={"Origin": other, **preflight})
        assert "access-control-allow-origin" not in refused.headers
        assert "access-control-allow-credentials" not in refused.headers
        assert "origin" in refused.headers.get("vary", "").lower()

        unauthorized = anonymous.get(f"/sync/{campaign}", headers={"Origin": allowed})
        assert unauthorized.status_code == 401
        assert unauthorized.headers.get("access-control-allow-origin") == allowed

    for origin, expected in ((allowed, allowed), (other, None)):
        response = server.http.get(f"/sync/{campaign}", headers={"Origin": origin})
        assert response.status_code == 200
        assert response.headers.get("access-control-allow-origin") == expected
        assert response.headers.get("access-control-allow-credentials") == ("true" if expected else None)
