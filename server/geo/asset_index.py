"""The asset map's index: every geotagged visit and asset of a campaign, checked and flagged.

One ``server.projection`` kind, ``assets``, with these tables:

* ``forms``, ``turfs``, ``households``: what the checks need of the forms
  (drive, accuracy thresholds), turfs (geometry) and households (location);
* ``points``: one row per record's visit geotag (``item`` -1) and per asset
  of its ``assets`` repeat (``item`` 0, 1, ...; an asset without a
  ``location`` has none and is only in exports), with what the filters read
  (drive, form, canvasser, time, category, flags) and the asset's answers;
* ``points.roster``: 1 for a point of a roster record (``server.access.privacy``),
  left out for the roles that may not see roster data;
* ``points.cell``: the point's cell of a grid of 0.01 degrees, indexed, for bounding boxes;
* ``points.csv_head``, ``csv_mid``, ``csv_answers``: the point's CSV cells
  that no other document changes (``exports.csv_cells``: quoted and safe),
  rendered once when the point is written, so that the CSV export is a
  stream of stored text (``csv_lines``): ``record`` to ``canvasser``, ``form``
  to ``household``, and the answer columns.  Only ``drive`` and ``flags``
  (which ``settle`` keeps) are rendered at export time, from small tables.

The flags (``server.geo.geotags``) are computed in ``settle``, after each batch
of changes: a record's own flags when it changes, every point of a turf,
household or form version when that changes, and the speed of a
canvasser's records from the earliest one that changed.  ``sflags`` holds
the flags that need no other record, ``vflags`` the speed flag of the visit
(copied to its assets).

``select(conn, filters)`` turns the filters of ``schemas.assets.AssetFilter``
into rows; ``features`` and ``csv_lines`` shape them for the map and the exports.
"""

from __future__ import annotations

import json
import math
import sqlite3
from datetime import datetime
from typing import Iterable, Iterator, Mapping

import numpy as np
import orjson
import shapely

from forms.definition import iter_fields
from forms.templates import published
from server import exports
from server.access import privacy
from server.geo import geometry as geo, geotags
from server.projection import Handler, register

KIND = "assets"
CHUNK = 5000
NO_LIMIT = -1

SCHEMA = """
CREATE TABLE forms (doc_id TEXT NOT NULL, drive TEXT, visit_acc REAL, asset_acc REAL);
CREATE INDEX forms_doc ON forms (doc_id);
CREATE TABLE turfs (doc_id TEXT NOT NULL, name TEXT, geometry TEXT);
CREATE INDEX turfs_doc ON turfs (doc_id);
CREATE TABLE households (doc_id TEXT NOT NULL, lat REAL, lon REAL, turf TEXT);
CREATE INDEX households_doc ON households (doc_id);
CREATE TABLE points (
    id INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL,
    item INTEGER NOT NULL,
    form TEXT, version INTEGER, form_doc TEXT, drive TEXT,
    author TEXT, turf TEXT, household TEXT,
    lat REAL, lon REAL, accuracy REAL, manual INTEGER NOT NULL,
    t REAL, captured_at TEXT,
    category TEXT, name TEXT, answers TEXT,
    cell INTEGER,
    sflags INTEGER NOT NULL DEFAULT 0, vflags INTEGER NOT NULL DEFAULT 0,
    detail TEXT, speed REAL,
    csv_head TEXT, csv_mid TEXT, csv_answers TEXT,
    roster INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX points_cell ON points (cell, lat, lon);
CREATE INDEX points_doc ON points (doc_id);
CREATE INDEX points_visits ON points (author, t, id) WHERE item = -1;
CREATE INDEX points_turf ON points (turf);
CREATE INDEX points_household ON points (household);
CREATE INDEX points_form_doc ON points (form_doc)
"""

# Bounding boxes: each point is in a cell of a grid of CELL_DEG degrees, and a box is read as the cells it
# touches.  (An R*Tree answered as fast but made writing the index four times slower: bench/exports.py.)
CELL_DEG = 0.01  # about 1.1 km of latitude
_ROW = round(360 / CELL_DEG)
MAX_CELLS = 4000  # a larger box (a city, a region) reads the points without the grid


def cell(lat: float, lon: float) -> int:
    return int((lat + 90) // CELL_DEG) * _ROW + min(_ROW - 1, int((lon + 180) // CELL_DEG))


def cells(min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> list[int] | None:
    """The cells a box touches (``min_lon > max_lon``: across the antimeridian), or None if there are too many."""
    spans = [(min_lon, max_lon)] if min_lon <= max_lon else [(min_lon, 180.0), (-180.0, max_lon)]
    first_row, last_row = cell(min_lat, 0) // _ROW, cell(max_lat, 0) // _ROW
    columns = [(cell(0, west) % _ROW, cell(0, east) % _ROW) for west, east in spans]
    count = (last_row - first_row + 1) * sum(b - a + 1 for a, b in columns)
    if count > MAX_CELLS:
        return None
    return [row * _ROW + col for row in range(first_row, last_row + 1) for a, b in columns for col in range(a, b + 1)]

SPEED_BIT = geotags.FLAGS["impossible_speed"]
NOT_THERE_BITS = geotags.flag_bits(list(geotags.NOT_THERE))

# The answer columns of the CSV: the built-in asset form's fields (other answers are in the GeoJSON export).
ANSWER_COLUMNS = [field["name"] for _, field, repeat in iter_fields(published("asset_mapping")["fields"])
                  if repeat == "assets" and field["type"] not in ("geopoint", "repeat", "group") and field["name"] not in ("category", "asset_name")]

CSV_HEADER = ["record", "item", "category", "name", "latitude", "longitude", "accuracy_m", "manual_pin", "captured_at",
              "canvasser", "drive", "form", "form_version", "turf", "household", "flags", *ANSWER_COLUMNS]
_NO_ANSWERS = exports.csv_cells([None] * len(ANSWER_COLUMNS))  # a visit's answer columns


# --------------------------------------------------------------------------- documents -> rows


def _number(value: object) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _position(value: object) -> tuple[float, float, float | None, bool] | None:
    """(lat, lon, accuracy, manual) of a geotag or geopoint, or None if it is not a usable one."""
    if not isinstance(value, dict):
        return None
    lat, lon = _number(value.get("lat")), _number(value.get("lon"))
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    accuracy = _number(value.get("accuracy_m"))
    return lat, lon, accuracy if accuracy is None or accuracy >= 0 else None, value.get("source") == "manual"


def _epoch(stamp: object) -> float | None:
    if not isinstance(stamp, str) or len(stamp) > 40:
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # a time without a zone cannot be ordered against the others
    try:
        return moment.timestamp()
    except (OverflowError, ValueError):
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _form_thresholds(doc: dict) -> tuple[float | None, float | None]:
    """The accuracy the form asks of the visit's geotag and of an asset's location (metres)."""
    settings = doc.get("settings") if isinstance(doc.get("settings"), dict) else {}
    visit = _number(settings.get("geotag_accuracy_m"))
    asset = None
    fields = doc.get("fields") if isinstance(doc.get("fields"), list) else []
    for _, field, repeat in iter_fields(fields):
        if repeat == "assets" and field.get("type") == "geopoint" and field.get("name") == "location":
            asset = _number(field.get("accuracy_m"))
    return visit, asset if asset is not None else visit


def record_points(doc: dict) -> list[tuple]:
    """The ``points`` rows of a record (without the id and the flags)."""
    form, version = _text(doc.get("form")), doc.get("form_version")
    version = version if type(version) is int else None
    form_doc = f"{form}@{version}" if form and version is not None else None
    geotag = doc.get("geotag") if isinstance(doc.get("geotag"), dict) else {}
    captured = _text(geotag.get("captured_at")) or _text(doc.get("created_at"))
    t = _epoch(captured)
    common = (form, version, form_doc, None, _text(doc.get("author")), _text(doc.get("turf")), _text(doc.get("household")))
    mid = exports.csv_cells(common[:2] + common[5:])
    rows = []
    roster = int(privacy.is_roster_record(doc))
    visit = _position(geotag)
    answers = doc.get("answers") if isinstance(doc.get("answers"), dict) else {}
    if visit is not None:
        lat, lon, accuracy, manual = visit
        rows.append((doc["_id"], -1, *common, lat, lon, accuracy, int(manual), t, captured, None, None, None,
                     cell(lat, lon), _csv_head(doc["_id"], -1, None, None, lat, lon, accuracy, manual, captured, common[4]),
                     mid, _NO_ANSWERS, roster))
    assets = answers.get("assets")
    if isinstance(assets, list):
        for i, asset in enumerate(assets):
            if not isinstance(asset, dict):
                continue
            where = _position(asset.get("location"))
            lat, lon, accuracy, manual = where if where is not None else (None, None, None, False)
            category, name = _text(asset.get("category")), _text(asset.get("asset_name"))
            rows.append((doc["_id"], i, *common, lat, lon, accuracy, int(manual), t, captured, category, name,
                         orjson.dumps(asset, option=orjson.OPT_SORT_KEYS).decode(),
                         None if lat is None else cell(lat, lon),
                         _csv_head(doc["_id"], i, category, name, lat, lon, accuracy, manual, captured, common[4]), mid,
                         exports.csv_cells([asset.get(column) for column in ANSWER_COLUMNS]), roster))
    return rows


def _csv_head(*values: object) -> str:
    """The CSV cells ``record`` to ``canvasser`` of a point."""
    return exports.csv_cells(values)


_POINT_COLUMNS = ("doc_id, item, form, version, form_doc, drive, author, turf, household, lat, lon, accuracy, manual, "
                  "t, captured_at, category, name, answers, cell, csv_head, csv_mid, csv_answers, roster")


class AssetHandler(Handler):
    name = KIND
    schema = SCHEMA
    tables = ("forms", "turfs", "households")  # points are kept by settle, which needs the old ones first

    def __init__(self, turf_tolerance_m: float, household_max_m: float, max_speed_kmh: float) -> None:
        self.turf_tolerance_m = turf_tolerance_m
        self.household_max_m = household_max_m
        self.max_speed_kmh = max_speed_kmh
        self.version = f"4;turf={turf_tolerance_m};household={household_max_m};speed={max_speed_kmh}"
        self._shapes: dict[str, tuple[str, shapely.Geometry | None]] = {}

    def rows(self, doc: dict):
        kind = doc.get("type")
        if kind == "form" and type(doc.get("version")) is int:
            visit, asset = _form_thresholds(doc)
            yield "forms", (doc["_id"], _text(doc.get("drive")), visit, asset)
        elif kind == "turf":
            yield "turfs", (doc["_id"], _text(doc.get("name")), json.dumps(doc.get("geometry")))
        elif kind == "household":
            where = _position(doc.get("location"))
            lat, lon = (where[0], where[1]) if where else (None, None)
            yield "households", (doc["_id"], lat, lon, _text(doc.get("turf")))

    # ----------------------------------------------------------------- settle

    def settle(self, conn: sqlite3.Connection, changed: Mapping[str, dict | None]) -> None:
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS changed (doc_id TEXT PRIMARY KEY)")
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS moved (author TEXT PRIMARY KEY, lo REAL)")
        conn.execute("DELETE FROM temp.changed")
        conn.execute("DELETE FROM temp.moved")
        conn.executemany("INSERT OR IGNORE INTO temp.changed VALUES (?)", [(doc_id,) for doc_id in changed])
        lows: dict[str, float] = {}
        old = conn.execute("SELECT author, t FROM points WHERE item = -1 AND author IS NOT NULL AND t IS NOT NULL "
                           "AND doc_id IN (SELECT doc_id FROM temp.changed)").fetchall()
        conn.execute("DELETE FROM points WHERE doc_id IN (SELECT doc_id FROM temp.changed)")
        new = [row for doc in changed.values() if doc is not None and doc.get("type") == "record"
               for row in record_points(doc)]
        if new:
            conn.executemany(f"INSERT INTO points ({_POINT_COLUMNS}) VALUES ({','.join('?' * 23)})", new)
        for author, t in old + [(row[6], row[13]) for row in new if row[1] == -1]:
            if author is not None and t is not None:
                lows[author] = min(t, lows.get(author, t))
        self._static(conn)
        if lows:
            self._speeds(conn, lows)

    def _turf(self, conn: sqlite3.Connection, turf_id: str) -> shapely.Geometry | None:
        found = conn.execute("SELECT geometry FROM turfs WHERE doc_id = ?", (turf_id,)).fetchone()
        if found is None:
            return None
        cached = self._shapes.get(turf_id)
        if cached is not None and cached[0] == found[0]:
            return cached[1]
        try:
            shape = geo.check_turf(json.loads(found[0]))
        except (geo.GeoError, ValueError):
            # Every write path refuses a bad turf now (documents.checks); a store written before may hold one:
            # its points are not checked against it.
            shape = None
        self._shapes[turf_id] = (found[0], shape)
        return shape

    def _static(self, conn: sqlite3.Connection) -> None:
        """The flags of every point touched by this batch that need no other record."""
        forms = {doc_id: (drive, visit, asset) for doc_id, drive, visit, asset in conn.execute(
            "SELECT doc_id, drive, visit_acc, asset_acc FROM forms")}
        dirty = conn.execute(
            "SELECT p.id, p.item, p.form_doc, p.lat, p.lon, p.accuracy, p.manual, COALESCE(p.turf, h.turf), h.lat, h.lon "
            "FROM points p LEFT JOIN households h ON h.doc_id = p.household WHERE p.id IN ("
            " SELECT id FROM points WHERE doc_id IN (SELECT doc_id FROM temp.changed)"
            " UNION SELECT id FROM points WHERE turf IN (SELECT doc_id FROM temp.changed)"
            " UNION SELECT id FROM points WHERE household IN (SELECT doc_id FROM temp.changed)"
            " UNION SELECT id FROM points WHERE form_doc IN (SELECT doc_id FROM temp.changed))")
        while True:
            rows = dirty.fetchmany(CHUNK)
            if not rows:
                break
            ids, items, form_docs, lats, lons, accs, manual, turfs, hlats, hlons = zip(*rows)
            thresholds = []
            drives = []
            for item, form_doc in zip(items, form_docs):
                drive, visit, asset = forms.get(form_doc, (None, None, None))
                drives.append(drive)
                limit = visit if item == -1 else asset
                thresholds.append(np.nan if limit is None else limit)
            shapes = {turf: shape for turf in set(turfs) if turf is not None
                      and (shape := self._turf(conn, turf)) is not None}
            nan = lambda values: np.array([np.nan if v is None else v for v in values], dtype=float)  # noqa: E731
            bits, details = geotags.check(
                nan(lats), nan(lons), nan(accs), np.array(thresholds, dtype=float), np.array(manual, dtype=bool),
                nan(hlats), nan(hlons), list(turfs), shapes,
                turf_tolerance_m=self.turf_tolerance_m, household_max_m=self.household_max_m)
            conn.executemany("UPDATE points SET drive = ?, sflags = ?, detail = ? WHERE id = ?",
                             [(drive, int(b), json.dumps(d) if d else None, pid)
                              for drive, b, d, pid in zip(drives, bits, details, ids)])

    def _speeds(self, conn: sqlite3.Connection, lows: dict[str, float]) -> None:
        """The speed flag of each canvasser's visits from the earliest one this batch changed."""
        conn.executemany("INSERT INTO temp.moved VALUES (?, ?)", list(lows.items()))
        # From the latest fix before the earliest change that is not flagged as elsewhere (geotags.NOT_THERE).
        rows = conn.execute(
            "SELECT p.author, p.id, p.doc_id, p.t, p.lat, p.lon, p.accuracy, m.lo, p.sflags & ? FROM temp.moved m "
            "JOIN points p ON p.item = -1 AND p.author = m.author AND p.t IS NOT NULL AND p.t >= COALESCE("
            " (SELECT max(q.t) FROM points q WHERE q.item = -1 AND q.author = m.author AND q.t < m.lo"
            "  AND q.sflags & ? = 0), m.lo) "
            "ORDER BY p.author, p.t, p.id", (NOT_THERE_BITS, NOT_THERE_BITS)).fetchall()
        if not rows:
            return
        authors = [row[0] for row in rows]
        columns = np.array([row[3:7] for row in rows], dtype=float)
        # Each canvasser's first row starts afresh: it is no one's predecessor across authors.
        starts = np.array([i == 0 or authors[i] != authors[i - 1] for i in range(len(rows))])
        speeds = np.full(len(rows), np.nan)
        bounds = list(np.flatnonzero(starts)) + [len(rows)]
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            usable = [not row[8] for row in rows[lo:hi]]
            speeds[lo:hi] = geotags.speeds_kmh(columns[lo:hi, 0], columns[lo:hi, 1], columns[lo:hi, 2],
                                               columns[lo:hi, 3], usable)
        updates = []
        for row, speed in zip(rows, speeds):
            if row[3] < row[7]:
                continue  # the visit before the earliest change: only its position was needed
            fast = not np.isnan(speed) and speed > self.max_speed_kmh  # infinite: two places at one moment
            updates.append((SPEED_BIT if fast else 0, None if not np.isfinite(speed) else round(float(speed), 2),
                            row[1]))
        conn.executemany("UPDATE points SET vflags = ?, speed = ? WHERE id = ?", updates)
        conn.execute(
            "UPDATE points SET vflags = (SELECT v.vflags FROM points v WHERE v.doc_id = points.doc_id AND v.item = -1) "
            "WHERE item >= 0 AND doc_id IN (SELECT p.doc_id FROM temp.moved m JOIN points p ON p.item = -1 "
            "AND p.author = m.author AND p.t >= m.lo)")


def _handlers(config: Mapping[str, object]) -> list[Handler]:
    return [AssetHandler(float(config["GEOTAG_TURF_TOLERANCE_M"]), float(config["GEOTAG_HOUSEHOLD_MAX_M"]),  # type: ignore[arg-type]
                         float(config["GEOTAG_MAX_SPEED_KMH"]))]  # type: ignore[arg-type]


register(KIND, _handlers)


# --------------------------------------------------------------------------- queries

SELECTED = ("p.id, p.doc_id, p.item, p.form, p.version, p.drive, p.author, p.turf, p.household, p.lat, p.lon, "
            "p.accuracy, p.captured_at, p.category, p.name, p.answers, p.sflags | p.vflags, p.detail, p.speed, p.manual")


def _any(column: str, values: list[str], params: list) -> str:
    params.extend(values)
    return f"{column} IN ({','.join('?' * len(values))})"


def _query(filters: Mapping[str, object]) -> tuple[str, str, list]:
    """FROM and WHERE of the points chosen by ``filters``, and their parameters."""
    where = ["p.item = -1" if filters.get("kind") == "visit" else "p.item >= 0"]
    params: list = []
    source = "points p"
    bbox = filters.get("bbox")
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox  # type: ignore[misc]
        where.append("p.lat BETWEEN ? AND ?")
        params += [min_lat, max_lat]
        if min_lon <= max_lon:
            where.append("p.lon BETWEEN ? AND ?")
            params += [min_lon, max_lon]
        else:  # across the antimeridian
            where.append("(p.lon >= ? OR p.lon <= ?)")
            params += [min_lon, max_lon]
        touched = cells(min_lon, min_lat, max_lon, max_lat)
        if touched is not None:
            where.append(_any("p.cell", touched, params))  # type: ignore[arg-type]
    if filters.get("roster") is False:  # roles that may not see roster data (server.access.privacy)
        where.append("p.roster = 0")
    if filters.get("located") and bbox is None:
        where.append("p.lat IS NOT NULL")
    for key, column in (("category", "p.category"), ("drive", "p.drive"), ("canvasser", "p.author")):
        if filters.get(key):
            where.append(_any(column, list(filters[key]), params))  # type: ignore[arg-type]
    if filters.get("form"):
        names = [name if name.startswith("form:") else f"form:{name}" for name in filters["form"]]  # type: ignore[union-attr]
        where.append(_any("p.form", names, params))
    if filters.get("since") is not None:
        where.append("p.t >= ?")
        params.append(filters["since"])
    if filters.get("until") is not None:
        where.append("p.t < ?")
        params.append(filters["until"])
    if filters.get("flag"):
        where.append("(p.sflags | p.vflags) & ? != 0")
        params.append(geotags.flag_bits(list(filters["flag"])))  # type: ignore[arg-type]
    if filters.get("flagged") is True:
        where.append("(p.sflags | p.vflags) != 0")
    elif filters.get("flagged") is False:
        where.append("(p.sflags | p.vflags) = 0")
    return source, " AND ".join(where), params


def select(conn: sqlite3.Connection, filters: Mapping[str, object], columns: str = SELECTED) -> sqlite3.Cursor:
    """The points chosen by ``filters`` (``schemas.assets.AssetFilter``, loaded), in index order.

    ``columns``: ``SELECTED`` (``features``) or ``CSV_SELECTED`` (``csv_lines``).
    """
    source, where, params = _query(filters)
    return conn.execute(f"SELECT {columns} FROM {source} WHERE {where} ORDER BY p.id LIMIT ?",
                        [*params, filters.get("limit") or NO_LIMIT])


def count(conn: sqlite3.Connection, filters: Mapping[str, object]) -> int:
    """How many points ``select`` gives."""
    source, where, params = _query(filters)
    (found,) = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT ?)",
                            [*params, filters.get("limit") or NO_LIMIT]).fetchone()
    return found


def checks_of(detail: str | None, speed: float | None) -> dict:
    """What was measured of a point (``household_m``, ``outside_turf_m``, ``accuracy_threshold_m``, ``speed_kmh``)."""
    checks = json.loads(detail) if detail else {}
    if speed is not None:
        checks["speed_kmh"] = speed
    return checks


_FLAG_LISTS = [geotags.flag_names(bits) for bits in range(1 << len(geotags.FLAGS))]
_FLAG_TEXTS = [" ".join(names) for names in _FLAG_LISTS]
_EMPTY = orjson.Fragment(b"{}")


def features(rows: Iterable[tuple], *, full: bool = False) -> Iterator[bytes]:
    """GeoJSON Features (encoded) of selected rows; ``full``: with every answer and check (exports)."""
    dumps, fragment, flag_lists = orjson.dumps, orjson.Fragment, _FLAG_LISTS
    for (pid, doc_id, item, form, version, drive, author, turf, household, lat, lon, accuracy, captured_at,
         category, name, answers, flags, detail, speed, manual) in rows:
        ident = f"{doc_id}#{item}"
        properties = {"id": ident, "record": doc_id, "item": item, "category": category, "name": name,
                      "drive": drive, "canvasser": author, "captured_at": captured_at, "flags": flag_lists[flags]}
        if full:
            properties.update(form=form, form_version=version, turf=turf, household=household, accuracy_m=accuracy,
                              source="manual" if manual else None,
                              checks=checks_of(detail, speed) if speed is not None else fragment(detail) if detail else _EMPTY,
                              answers=fragment(answers) if answers else _EMPTY)  # stored as JSON: copied, not parsed
        geometry = {"type": "Point", "coordinates": [lon, lat]} if lat is not None else None
        yield dumps({"type": "Feature", "id": ident, "geometry": geometry, "properties": properties})


CSV_SELECTED = "p.csv_head, p.drive, p.csv_mid, p.sflags | p.vflags, p.csv_answers"


def csv_lines(rows: Iterable[tuple]) -> Iterator[str]:
    """CSV rows (``CSV_HEADER``, rendered: ``exports.csv_text_stream``) of rows selected with ``CSV_SELECTED``."""
    texts, drives = _FLAG_TEXTS, {}  # flag names need neither quotes nor a quote prefix
    for head, drive, mid, flags, answers in rows:
        cells = drives.get(drive)
        if cells is None:
            cells = drives[drive] = exports.csv_cells([drive])
        yield f"{head},{cells},{mid},{texts[flags]},{answers}"


def turf_features(conn: sqlite3.Connection) -> Iterator[bytes]:
    """GeoJSON Features (encoded) of the campaign's turfs, by id."""
    for doc_id, name, geometry in conn.execute("SELECT doc_id, name, geometry FROM turfs ORDER BY doc_id"):
        yield orjson.dumps({"type": "Feature", "id": doc_id, "properties": {"id": doc_id, "name": name}}
                           )[:-1] + b',"geometry":' + geometry.encode() + b"}"
