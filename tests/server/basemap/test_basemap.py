"""The base-map archive and /tiles/: PMTiles v3 read as the spec says, MBTiles too, and bad archives refused in words."""

from __future__ import annotations

import gzip
import json
import sqlite3

import pytest

from server.access.accounts import token_id
from server.app import create_app
from server.basemap import pmtiles
from server.basemap.archive import ArchiveError, open_archive
from server.config import ConfigError
from server.services import services

PNG = b"\x89PNG\r\n\x1a\n"


def test_tile_ids_follow_the_spec_s_hilbert_curve():
    # The PMTiles spec's own test vectors (protomaps/PMTiles, the reference implementations' tests).
    for (z, x, y), expected in {(0, 0, 0): 0, (1, 0, 0): 1, (1, 0, 1): 2, (1, 1, 1): 3, (1, 1, 0): 4, (2, 0, 0): 5,
                                (12, 3423, 1763): 19078479, (20, 1234, 5678): 366563052717,
                                (26, 67108863, 0): 6004799503160660}.items():
        assert pmtiles.tile_id(z, x, y) == expected


def test_a_written_archive_reads_back_every_tile_and_nothing_else(tmp_path):
    tiles = [(z, x, y, PNG + f"{z}/{x}/{y}".encode()) for z in range(3, 6) for x in range(2) for y in range(3)]
    tiles += [(6, 10, y, PNG + b"the sea") for y in range(5)]  # a run of one tile's bytes: one entry, stored once
    path = str(tmp_path / "a.pmtiles")
    pmtiles.write(path, tiles, tile_type="png", bounds=(-1, -1, 1, 1), metadata={"attribution": "© test"})
    archive = open_archive(path)
    assert archive.info.format == "png" and (archive.info.min_zoom, archive.info.max_zoom) == (3, 6)
    assert archive.info.attribution == "© test"
    for z, x, y, data in tiles:
        assert archive.tile(z, x, y) == data
    assert archive.reader.header.tile_contents == len(tiles) - 4
    assert archive.tile(6, 10, 5) is None and archive.tile(4, 9, 9) is None and archive.tile(2, 0, 0) is None
    assert archive.tile(3, 99, 0) is None  # no such tile at that zoom


def test_mbtiles_rows_are_counted_from_the_south(tmp_path):
    path = tmp_path / "a.mbtiles"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE metadata (name, value); CREATE TABLE tiles (zoom_level, tile_column, tile_row, tile_data);")
    db.executemany("INSERT INTO metadata VALUES (?, ?)", [("format", "png"), ("attribution", "© OpenStreetMap contributors"),
                                                         ("bounds", "-87.7,41.8,-87.6,41.9")])
    db.execute("INSERT INTO tiles VALUES (2, 1, 0, ?)", (PNG + b"south",))  # TMS row 0: the southmost, y = 3
    db.commit()
    db.close()
    archive = open_archive(str(path))
    assert archive.tile(2, 1, 3) == PNG + b"south" and archive.tile(2, 1, 0) is None
    assert archive.info.bounds == (-87.7, 41.8, -87.6, 41.9) and archive.info.attribution.startswith("©")


def test_archives_the_maps_cannot_draw_stop_the_server_at_start_with_the_reason(tmp_path):
    vector = tmp_path / "v.pmtiles"
    pmtiles.write(str(vector), [(0, 0, 0, gzip.compress(b"mvt"))], tile_type="mvt", bounds=(-1, -1, 1, 1), metadata={})
    (tmp_path / "junk.pmtiles").write_bytes(b"PMTiles\x02" + bytes(200))
    (tmp_path / "text.pmtiles").write_text("hello")
    for name, reason in [("v.pmtiles", "vector tiles"), ("junk.pmtiles", "only version 3"),
                         ("text.pmtiles", "neither a PMTiles"), ("missing.pmtiles", "No such file")]:
        with pytest.raises(ConfigError, match=reason):
            create_app({"STORE": f"sqlite://{tmp_path}/s.db", "BASEMAP": str(tmp_path / name)}, environ={})
    with pytest.raises(ArchiveError, match="cut off"):
        data = (tmp_path / "v.pmtiles").read_bytes()
        (tmp_path / "cut.pmtiles").write_bytes(data[:130])
        open_archive(str(tmp_path / "cut.pmtiles"))


def test_tiles_are_served_cacheable_with_an_etag_and_404_outside(tmp_path):
    path = str(tmp_path / "a.pmtiles")
    pmtiles.write(path, [(14, 4200, 6088, PNG + b"x")], tile_type="png", bounds=(-87.7, 41.88, -87.67, 41.9),
                  metadata={"attribution": "Demo"})
    app = create_app({"STORE": f"sqlite://{tmp_path}/s.db", "BASEMAP": path}, environ={})
    client = app.test_client()
    tile = client.get("/tiles/14/4200/6088.png")
    assert tile.status_code == 200 and tile.data == PNG + b"x" and tile.content_type == "image/png"
    assert "public" in tile.headers["Cache-Control"]
    assert client.get("/tiles/14/4200/6088.png", headers={"If-None-Match": tile.headers["ETag"]}).status_code == 304
    for missing in ("/tiles/14/4200/6089.png", "/tiles/14/4200/6088.webp", "/tiles/40/1/1.png", "/tiles/14/99999999/1.png"):
        response = client.get(missing)
        assert response.status_code == 404 and response.json["message"], missing
    meta = client.get("/tiles/meta.json").json
    assert meta == {"format": "png", "min_zoom": 14, "max_zoom": 14, "bounds": [-87.7, 41.88, -87.67, 41.9],
                    "attribution": "Demo", "name": "", "url": "/tiles/{z}/{x}/{y}.png"}
    assert client.get("/coordinator/site.json").json == {"tile_url": "/tiles/{z}/{x}/{y}.png", "tile_attribution": "Demo"}
    config = client.get("/app/config.json").json
    assert config["tile_url"] == "/tiles/{z}/{x}/{y}.png"
    # What the app's maps need of the archive comes with the app's config: no fetch of meta.json before a map.
    assert config["tile_meta"] == {"format": "png", "min_zoom": 14, "max_zoom": 14, "bounds": [-87.7, 41.88, -87.67, 41.9]}
    accounts = services(app).accounts
    accounts.add_user("vic", "volunteer", "vic-password-1", campaign="east")
    signed_in = {"Authorization": f"Bearer {accounts.create_token('vic')}"}
    pack = client.post("/tiles/pack", json={"tiles": [[14, 4200, 6089], [14, 4200, 6088]]}, headers=signed_in)  # one it has, one it has not
    assert pack.status_code == 200 and pack.headers["Cache-Control"] == "no-store"
    head = int.from_bytes(pack.data[:4], "big")
    assert json.loads(pack.data[4:4 + head]) == [[14, 4200, 6088, len(PNG) + 1]] and pack.data[4 + head:] == PNG + b"x"
    for bad in ({"tiles": []}, {"tiles": [[14, 1]]}, {"tiles": [[14, -1, 2]]}, {"tiles": [[31, 0, 0]]}, {"tiles": [["14", 1, 2]]},
                {"tiles": [[14, 1, 2]] * 257}, [[14, 1, 2]], {"tiles": [[14, 1.5, 2]]}):
        refused = client.post("/tiles/pack", json=bad, headers=signed_in)
        assert refused.status_code == 422 and "1 to 256 tiles" in refused.json["message"], bad
    assert client.post("/tiles/pack", data=b"\xff\xfe", content_type="application/json", headers=signed_in).status_code == 422
    services(app).store.close()
    bare_app = create_app({"STORE": f"sqlite://{tmp_path}/t.db"}, environ={})
    bare = bare_app.test_client()
    assert bare.get("/tiles/meta.json").status_code == 404 and bare.get("/tiles/1/1/1.png").status_code == 404
    assert bare.get("/app/config.json").json["tile_meta"] is None
    services(bare_app).store.close()


def test_a_pack_of_tiles_needs_a_campaign_member_signed_in(tmp_path):
    path = str(tmp_path / "a.pmtiles")
    pmtiles.write(path, [(14, 4200, 6088, PNG)], tile_type="png", bounds=(-87.7, 41.88, -87.67, 41.9), metadata={})
    app = create_app({"STORE": f"sqlite://{tmp_path}/s.db", "BASEMAP": path}, environ={})
    client = app.test_client()
    accounts = services(app).accounts
    accounts.add_user("vic", "volunteer", "vic-password-1", campaign="east")
    accounts.add_user("nobody", None, "nobody-password-1")
    wanted = {"tiles": [[14, 4200, 6088]]}
    revoked = accounts.create_token("vic")
    accounts.revoke_token(token_id(revoked).removeprefix("token:"))
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": f"Bearer {revoked}"},
                    {"Authorization": "Basic dmljOndyb25n"}):  # vic:wrong
        refused = client.post("/tiles/pack", json=wanted, headers=headers)
        assert refused.status_code == 401, headers
        assert refused.json["message"] in ("Authentication required: a device token (Bearer) or name and password (Basic)",
                                           "Name or password is incorrect, or the token is unknown, expired or revoked")
    outsider = client.post("/tiles/pack", json=wanted, headers={"Authorization": f"Bearer {accounts.create_token('nobody')}"})
    assert outsider.status_code == 403 and "no role in any campaign" in outsider.json["message"]
    member = client.post("/tiles/pack", json=wanted, headers={"Authorization": f"Bearer {accounts.create_token('vic')}"})
    assert member.status_code == 200 and member.data.endswith(PNG)
    # The tiles themselves stay public: a map's <img> carries no Authorization header.
    assert client.get("/tiles/14/4200/6088.png").status_code == 200
    services(app).store.close()


def test_tiles_behind_a_leaf_directory_are_found(tmp_path):
    """Large archives (a city from a planet build) keep most entries in leaf directories: root -> leaf -> tile."""
    tiles = {(15, 8400, 12176 + i): PNG + bytes([i]) for i in range(5)}
    ids = sorted((pmtiles.tile_id(*k), v) for k, v in tiles.items())
    data, entries = b"", []
    for tid, blob in ids:
        entries.append(pmtiles.Entry(tid, len(data), len(blob), 1))
        data += blob
    leaf = gzip.compress(pmtiles.encode_directory(entries))
    root = gzip.compress(pmtiles.encode_directory([pmtiles.Entry(ids[0][0], 0, len(leaf), 0)]))
    meta = gzip.compress(b'{"attribution": "x"}')
    root_at = pmtiles.HEADER.size
    meta_at, leaf_at = root_at + len(root), root_at + len(root) + len(meta)
    data_at = leaf_at + len(leaf)
    header = pmtiles.HEADER.pack(b"PMTiles", 3, root_at, len(root), meta_at, len(meta), leaf_at, len(leaf), data_at, len(data),
                                 5, 5, 5, 1, 2, 1, 2, 15, 15, -877000000, 418000000, -876000000, 419000000, 15, -876500000, 418500000)
    path = tmp_path / "leaf.pmtiles"
    path.write_bytes(header + root + meta + leaf + data)
    archive = open_archive(str(path))
    for (z, x, y), blob in tiles.items():
        assert archive.tile(z, x, y) == blob
    assert archive.tile(15, 8400, 12175) is None and archive.tile(15, 8401, 12176) is None
