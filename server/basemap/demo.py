"""The demo's own base map: its streets and houses drawn into raster tiles, written as PMTiles.

``blockwalk demo`` writes it beside the store, so a fresh install shows streets
with no internet; the tests draw one too.  The demo's households sit on a
Chicago-like grid: a street every 100 m or so each way, named from the demo's
street names, and a footprint at every household.  Tiles are drawn at twice
their size and scaled down (smooth lines with Pillow), then cut to a small
palette (a few KB a tile).  Build output: never committed.
"""

from __future__ import annotations

import io
import math
from typing import Iterable

from server.basemap import pmtiles

ATTRIBUTION = "Demo map drawn by Blockwalk"
ZOOMS = (13, 18)
LAT_STEP, LON_STEP = 0.0009, 0.00125  # metres apart: ~100 x ~104 at the demo's latitude
EAST_WEST = ["Fulton St", "Walnut St", "Maple St", "Carroll Ave", "Kinzie St", "Lake St"]
NORTH_SOUTH = ["Rockwell St", "Washtenaw Ave", "Campbell Ave", "Maplewood Ave", "Talman Ave"]
LAND, PARK, ROAD, CASING, HOUSE, HOUSE_EDGE, TEXT = (
    (242, 239, 233), (200, 230, 190), (255, 255, 255), (205, 198, 188), (217, 208, 201), (190, 178, 170), (90, 85, 80))
SCALE = 2  # drawn at 512 px, saved at 256


def _world(lat: float, lon: float, z: int) -> tuple[float, float]:
    """Web-Mercator pixel coordinates of a point at zoom z (256-px tiles)."""
    n = 256 * (1 << z)
    s = math.sin(math.radians(lat))
    return (lon + 180) / 360 * n, (0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)) * n


def tiles_over(bounds: tuple[float, float, float, float], z: int) -> Iterable[tuple[int, int]]:
    west, south, east, north = bounds
    x0, y0 = (int(v // 256) for v in _world(north, west, z))
    x1, y1 = (int(v // 256) for v in _world(south, east, z))
    for x in range(x0, x1 + 1):
        for y in range(y0, y1 + 1):
            yield x, y


def area_of(docs: list[dict], margin: float = 0.004) -> tuple[float, float, float, float]:
    lats, lons = [], []
    for doc in docs:
        if doc.get("type") == "household" and isinstance(doc.get("location"), dict):
            lats.append(doc["location"]["lat"])
            lons.append(doc["location"]["lon"])
        elif doc.get("type") == "turf" and isinstance(doc.get("geometry"), dict):
            for ring in doc["geometry"].get("coordinates", []):
                for lon, lat in ring:
                    lats.append(lat)
                    lons.append(lon)
    if not lats:
        raise ValueError("no turfs or households to draw a base map around")
    return min(lons) - margin, min(lats) - margin, max(lons) + margin, max(lats) + margin


def _lat_lon(wx: float, wy: float, z: int) -> tuple[float, float]:
    n = 256 * (1 << z)
    return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * wy / n)))), wx / n * 360 - 180


class Drawing:
    """The demo area's streets, park and houses, drawn into any tile of it (the grid runs on to its edges)."""

    def __init__(self, docs: list[dict], bounds: tuple[float, float, float, float]):
        self.bounds = bounds
        self.houses = [(d["location"]["lat"], d["location"]["lon"]) for d in docs
                       if d.get("type") == "household" and isinstance(d.get("location"), dict)]
        # One block of the grid is a park (the demo's community garden), near the middle.
        lat = math.floor((bounds[1] + bounds[3]) / 2 / LAT_STEP) * LAT_STEP
        lon = math.floor((bounds[0] + bounds[2]) / 2 / LON_STEP) * LON_STEP - LON_STEP
        self.park = (lat, lon, lat + LAT_STEP, lon + LON_STEP)

    def tile(self, z: int, x: int, y: int) -> bytes:
        from PIL import Image, ImageDraw, ImageFont

        size = 256 * SCALE
        img = Image.new("RGB", (size, size), LAND)
        draw = ImageDraw.Draw(img)
        ox, oy = x * 256, y * 256

        def px(lat: float, lon: float) -> tuple[float, float]:
            wx, wy = _world(lat, lon, z)
            return (wx - ox) * SCALE, (wy - oy) * SCALE

        north, west = _lat_lon(ox, oy, z)
        south, east = _lat_lon(ox + 256, oy + 256, z)
        reach = 3  # grid lines past the tile's edges: their labels may reach into it
        lats = [k * LAT_STEP for k in range(math.floor(south / LAT_STEP) - reach, math.ceil(north / LAT_STEP) + reach + 1)]
        lons = [k * LON_STEP for k in range(math.floor(west / LON_STEP) - reach, math.ceil(east / LON_STEP) + reach + 1)]
        metres_per_px = 156543.03 * math.cos(math.radians((self.bounds[1] + self.bounds[3]) / 2)) / (1 << z) / SCALE
        width = max(2, round(11 / metres_per_px))
        a, b = px(self.park[2], self.park[1]), px(self.park[0], self.park[3])
        draw.rectangle([a, b], fill=PARK)
        lines = [(px(lat, lons[0]), px(lat, lons[-1])) for lat in lats] + [(px(lats[0], lon), px(lats[-1], lon)) for lon in lons]
        for a, b in lines:  # the casing under every street, then the streets: crossings stay clean
            draw.line([a, b], fill=CASING, width=width + 2 * SCALE)
        for a, b in lines:
            draw.line([a, b], fill=ROAD, width=width)
        if z >= 15:
            half_w, half_h = 5 / metres_per_px, 7 / metres_per_px  # a 10 m x 14 m house
            for lat, lon in self.houses:
                cx, cy = px(lat, lon)
                if -40 < cx < size + 40 and -40 < cy < size + 40:
                    draw.rectangle([cx - half_w, cy - half_h, cx + half_w, cy + half_h], fill=HOUSE,
                                   outline=HOUSE_EDGE if z >= 17 else None, width=SCALE)
        if z >= 16:
            font = ImageFont.load_default(11 * SCALE)
            every = 1 if z >= 17 else 3
            for lat in lats:
                name = EAST_WEST[round(lat / LAT_STEP) % len(EAST_WEST)]
                for lon in lons[:-1]:  # a label mid-block, every block (every third further out)
                    if round(lon / LON_STEP) % every:
                        continue
                    cx, cy = px(lat, lon + LON_STEP / 2)
                    if -300 < cx < size + 300 and -40 < cy < size + 40:
                        draw.text((cx, cy), name, fill=TEXT, font=font, anchor="mm")
            for lon in lons:
                name = NORTH_SOUTH[round(lon / LON_STEP) % len(NORTH_SOUTH)]
                for lat in lats[:-1]:
                    if round(lat / LAT_STEP) % every:
                        continue
                    cx, cy = px(lat + LAT_STEP / 2, lon)
                    if -40 < cx < size + 40 and -300 < cy < size + 300:
                        _vertical_text(img, (cx, cy), name, font)
        out = io.BytesIO()
        img.resize((256, 256), Image.LANCZOS).quantize(colors=24).save(out, "PNG", optimize=True)
        return out.getvalue()


def _vertical_text(img, centre: tuple[float, float], text: str, font) -> None:
    from PIL import Image, ImageDraw

    left, top, right, bottom = font.getbbox(text)
    label = Image.new("L", (right - left + 4, bottom - top + 4), 0)
    ImageDraw.Draw(label).text((2 - left, 2 - top), text, fill=255, font=font)
    label = label.rotate(90, expand=True)
    x, y = round(centre[0] - label.width / 2), round(centre[1] - label.height / 2)
    img.paste(Image.new("RGB", label.size, TEXT), (x, y), label)


def write_demo_basemap(path: str, docs: list[dict], zooms: tuple[int, int] = ZOOMS, margin: float = 0.004) -> int:
    """Draw the demo area (its turfs and households, ``margin`` degrees around) at ``zooms`` into a PMTiles file; its size."""
    bounds = area_of(docs, margin)
    drawing = Drawing(docs, bounds)
    tiles = [(z, x, y, drawing.tile(z, x, y)) for z in range(zooms[0], zooms[1] + 1) for x, y in tiles_over(bounds, z)]
    return pmtiles.write(path, tiles, tile_type="png", bounds=bounds, metadata={
        "name": "Blockwalk demo", "attribution": ATTRIBUTION, "format": "png", "type": "baselayer",
        "description": "Streets and houses of the demo campaign, drawn by blockwalk demo"})
