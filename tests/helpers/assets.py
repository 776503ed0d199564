"""A small asset-mapping campaign for the map's tests: a turf, households and records that fit the built-in form.

Each record is built as a phone writes it; ``flags`` says which geotag flags
the server must give it, from the settings' defaults (turf tolerance 25 m,
household 100 m, 15 km/h, the form's 30 m for an asset's location).
"""

from __future__ import annotations

import base64
import struct
import zlib

LAT, LON = 41.8900, -87.6800  # the turf's south-west corner
SIZE = 0.004  # degrees: about 330 m by 445 m
M_LAT = 1 / 111_000  # degrees of latitude in a metre (near enough for placing test points)
M_LON = 1 / 83_000  # degrees of longitude in a metre at 41.9 degrees


def png(width: int = 40, height: int = 30, rgb: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    """A real PNG image of one colour."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def turf() -> dict:
    ring = [[LON, LAT], [LON + SIZE, LAT], [LON + SIZE, LAT + SIZE], [LON, LAT + SIZE], [LON, LAT]]
    return {"_id": "turf:north", "type": "turf", "name": "North", "geometry": {"type": "Polygon", "coordinates": [ring]}}


def household(n: int, lat: float, lon: float) -> dict:
    return {"_id": f"household:{n}", "type": "household", "turf": "turf:north", "address": f"{2600 + 2 * n} W Fulton St",
            "location": {"lat": lat, "lon": lon}}


def record(n: int, minute: int, asset: dict, *, lat: float, lon: float, author: str = "ana", accuracy: float = 8.0,
           source: str = "gps", asset_accuracy: float = 10.0, asset_source: str | None = None,
           photo: bytes | None = None) -> dict:
    """Record ``n`` at ``minute`` past 18:00 on 2026-11-20, its visit and asset at (lat, lon)."""
    location = {"lat": lat, "lon": lon, "accuracy_m": asset_accuracy}
    if asset_source:
        location["source"] = asset_source
    asset = {**asset, "location": location}
    doc = {
        "_id": f"record:{n:04d}", "type": "record", "form": "form:asset_mapping", "form_version": 1,
        "household": f"household:{n}", "turf": "turf:north", "author": author, "device": "device:1",
        "answers": {"outcome": "contacted", "assets": [asset]},
        "geotag": {"lat": lat, "lon": lon, "accuracy_m": accuracy, "captured_at": f"2026-11-20T18:{minute:02d}:00Z",
                   "source": source},
        "created_at": f"2026-11-20T18:{minute:02d}:00Z",
    }
    if photo is not None:
        asset["photo"] = "photo.png"
        doc["_attachments"] = {"photo.png": {"content_type": "image/png", "data": base64.b64encode(photo).decode()}}
    return doc


def campaign_docs() -> tuple[list[dict], dict[str, list[str]]]:
    """The documents (turf, households, records) and each record's expected asset flags."""
    inside = lambda i: (LAT + 0.001 + i * 0.0004, LON + 0.001 + i * 0.0004)  # noqa: E731
    docs: list[dict] = [turf()]
    expected: dict[str, list[str]] = {}
    plan = [
        # (asset, where, options, flags)
        ({"category": "institution", "institution_kind": "school", "asset_name": "Elementary school",
          "notes": "Open gym on Saturdays", "languages_served": ["en", "es"], "capacity": 400}, inside(0),
         {"photo": png()}, []),
        ({"category": "business", "asset_name": '=HYPERLINK("http://x","y")', "notes": "-2+3"}, inside(1), {}, []),
        ({"category": "skill", "asset_name": "Bike repair"}, inside(2), {"asset_accuracy": 80.0}, ["low_accuracy"]),
        ({"category": "space", "asset_name": "Community garden"}, inside(3), {"asset_source": "manual"}, ["manual"]),
        # 200 m east of the turf, knocked 8 minutes after the last one: outside, but a walkable pace
        ({"category": "association", "asset_name": "Block club"}, (LAT + 0.002, LON + SIZE + 200 * M_LON), {},
         ["outside_turf"]),
    ]
    for n, (asset, (lat, lon), options, flags) in enumerate(plan, start=1):
        docs.append(household(n, lat, lon))
        docs.append(record(n, 8 * n, asset, lat=lat, lon=lon, **options))
        expected[f"record:{n:04d}"] = flags
    # Record 6: 300 m from its household (far_from_household), and about 500 m from record 5 one minute
    # later (impossible_speed, which its asset shares with its visit).
    docs.append(household(6, LAT + 0.001, LON + 0.001))
    far_lat, far_lon = LAT + 0.001 + 300 * M_LAT, LON + 0.001
    docs.append(record(6, 41, {"category": "culture", "asset_name": "Mural"}, lat=far_lat, lon=far_lon))
    expected["record:0006"] = ["far_from_household", "impossible_speed"]
    return docs, expected
