"""Household lists as coordinators bring them: CSV or GeoJSON, a problem per bad row, and duplicates found.

* ``parse_households_csv`` / ``parse_households_geojson``: households and a
  problem per bad row or feature;
* ``dedupe`` by normalised address + unit (the rule is in ``address_key``).

Pure functions, no Flask, no store.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any
from dataclasses import dataclass, field

from server.geo.geometry import is_number, short

# --------------------------------------------------------------------------- households


@dataclass(frozen=True)
class Household:
    """One household to visit.  ``source`` is its CSV line number or GeoJSON feature index."""

    address: str
    unit: str
    lat: float
    lon: float
    extra: dict[str, Any] = field(default_factory=dict)
    source: int | None = None


@dataclass(frozen=True)
class Problem:
    """Why one CSV line or GeoJSON feature (or the whole file, ``where`` None) was not imported.

    ``where`` is ``"line"`` (``row`` is the 1-based line number where the
    CSV record starts; the header is line 1) or ``"feature"`` (``row`` is
    the 0-based index in ``features``).
    """

    where: str | None
    row: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        prefix = f"{self.where} {self.row}: " if self.where else ""
        return f"{prefix}{self.field + ': ' if self.field else ''}{self.message}"


@dataclass(frozen=True)
class Duplicate:
    """A household left out by ``dedupe``, and the earlier one it duplicates."""

    household: Household
    kept: Household
    key: tuple[str, str]


_REQUIRED = ("address", "lat", "lon")
_KNOWN = ("address", "unit", "lat", "lon")
_RANGES = {"lat": 90.0, "lon": 180.0}
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEADER_HINT = "a header line naming the columns address, lat, lon (and optionally unit) is required"


def _coordinate(name: str, value: object, problem, text: bool) -> float | None:
    """A latitude or longitude from a CSV cell (``text``) or a JSON number; calls ``problem`` if bad."""
    if text and isinstance(value, str):
        text = value.strip()
        if not text:
            problem(name, f"missing {name}")
            return None
        if not _DECIMAL.fullmatch(text):
            problem(name, f"not a number: {short(text)}")
            return None
        number = float(text)
    elif is_number(value):
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    else:
        problem(name, f"not a number: {short(value)}")
        return None
    if not math.isfinite(number):
        problem(name, f"not a finite number: {short(value)}")
        return None
    limit = _RANGES[name]
    if not -limit <= number <= limit:
        problem(name, f"{number:g} is out of range [-{limit:g}, {limit:g}]")
        return None
    return number


def parse_households_csv(text: str) -> tuple[list[Household], list[Problem]]:
    """Households from CSV text, and a problem for every line that cannot be imported.

    The first line is the header: column names are matched without regard
    to case or surrounding spaces; address, lat and lon are required, unit
    is optional; every other column is kept in ``extra`` under its header
    name.  Blank lines are skipped.  A line with more fields than the
    header is refused; missing trailing fields count as empty.  A bad
    line gives one problem per bad field and is left out; so does a line
    the CSV reader cannot read (a stray or unclosed quote).
    """
    text = text.removeprefix("\ufeff")  # a byte-order mark, as spreadsheets write
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    problems: list[Problem] = []
    households: list[Household] = []
    try:
        header = next(reader, None)
    except csv.Error as exc:
        return [], [Problem("line", 1, None, f"unreadable CSV: {exc}")]
    if header is None or not any(cell.strip() for cell in header):
        return [], [Problem("line", 1, None, f"empty file: {_HEADER_HINT}")]
    names = [cell.strip() for cell in header]
    lowered = [name.casefold() for name in names]
    seen: set[str] = set()
    for name, low in zip(names, lowered):
        if low and low in seen:
            problems.append(Problem("line", 1, None, f"column {name!r} appears more than once"))
        seen.add(low)
    missing = [name for name in _REQUIRED if name not in seen]
    if missing:
        problems.append(Problem("line", 1, None, f"missing column(s) {', '.join(missing)}: {_HEADER_HINT}"))
    if problems:
        return [], problems
    index = {low: i for i, low in enumerate(lowered)}
    extras = [(i, name) for i, (name, low) in enumerate(zip(names, lowered)) if low not in _KNOWN and name]
    last_line = reader.line_num
    while True:
        start = last_line + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:  # a stray or unclosed quote: report it, read on from the next line
            problems.append(Problem("line", start, None, f"unreadable CSV: {exc}"))
            last_line = reader.line_num
            continue
        last_line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(names):
            problems.append(Problem("line", start, None, f"{len(row)} fields, but the header has {len(names)}"))
            continue
        row = row + [""] * (len(names) - len(row))
        row_problems: list[Problem] = []

        def problem(name: str, message: str, _out: list = row_problems, _start: int = start) -> None:
            _out.append(Problem("line", _start, name, message))

        address = row[index["address"]].strip()
        if not address:
            problem("address", "missing address")
        lat = _coordinate("lat", row[index["lat"]], problem, text=True)
        lon = _coordinate("lon", row[index["lon"]], problem, text=True)
        if row_problems:
            problems.extend(row_problems)
            continue
        unit = row[index["unit"]].strip() if "unit" in index else ""
        extra = {name: row[i] for i, name in extras}
        households.append(Household(address, unit, lat, lon, extra, start))
    return households, problems


def parse_households_geojson(obj: object) -> tuple[list[Household], list[Problem]]:
    """Households from a GeoJSON FeatureCollection of Points, and a problem per bad feature.

    Each feature is a Point ``[lon, lat]`` (an altitude is ignored) with
    properties ``address`` (a non-empty string) and optionally ``unit`` (a
    string or a whole number); other properties go to ``extra``.  A problem
    names the feature's 0-based index in ``features``.
    """
    if not isinstance(obj, Mapping) or obj.get("type") != "FeatureCollection":
        return [], [Problem(None, None, None, "the file is not a GeoJSON FeatureCollection")]
    features = obj.get("features")
    if not isinstance(features, list):
        return [], [Problem(None, None, "features", "a FeatureCollection has an array of features")]
    households: list[Household] = []
    problems: list[Problem] = []
    for i, feature in enumerate(features):
        feature_problems: list[Problem] = []

        def problem(name: str | None, message: str, _out: list = feature_problems, _i: int = i) -> None:
            _out.append(Problem("feature", _i, name, message))

        if not isinstance(feature, Mapping) or feature.get("type") != "Feature":
            problem(None, "not a GeoJSON Feature")
            problems.extend(feature_problems)
            continue
        geometry = feature.get("geometry")
        lat = lon = None
        if not isinstance(geometry, Mapping) or geometry.get("type") != "Point":
            kind = geometry.get("type") if isinstance(geometry, Mapping) else geometry
            problem("geometry", f"must be a Point, got {short(kind)}")
        else:
            coords = geometry.get("coordinates")
            if not isinstance(coords, list) or not 2 <= len(coords) <= 3:
                problem("geometry", f"a Point has coordinates [lon, lat], got {short(coords)}")
            else:
                lon = _coordinate("lon", coords[0], problem, text=False)
                lat = _coordinate("lat", coords[1], problem, text=False)
        props = feature.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, Mapping):
            problem("properties", "must be an object")
            props = {}
        address = props.get("address")
        if address is None or (isinstance(address, str) and not address.strip()):
            problem("address", "missing address")
        elif not isinstance(address, str):
            problem("address", f"must be text, got {short(address)}")
        unit = props.get("unit")
        if unit is None:
            unit = ""
        elif isinstance(unit, int) and not isinstance(unit, bool):
            unit = str(unit)
        elif not isinstance(unit, str):
            problem("unit", f"must be text or a whole number, got {short(unit)}")
        if feature_problems:
            problems.extend(feature_problems)
            continue
        extra = {k: v for k, v in props.items() if k not in ("address", "unit")}
        households.append(Household(address.strip(), unit.strip(), lat, lon, extra, i))
    return households, problems


# --------------------------------------------------------------------------- dedupe

# Whole words rewritten before comparing: street types (USPS abbreviations)
# and compass directions.  Applied to every word of the address, so
# "North Street" and "N St" compare equal.
ABBREVIATIONS = {
    "street": "st", "str": "st",
    "avenue": "ave", "av": "ave", "avn": "ave",
    "road": "rd",
    "boulevard": "blvd", "blvrd": "blvd",
    "drive": "dr", "drv": "dr",
    "lane": "ln",
    "court": "ct",
    "place": "pl",
    "terrace": "ter", "terr": "ter",
    "parkway": "pkwy", "pky": "pkwy",
    "highway": "hwy",
    "square": "sq",
    "circle": "cir",
    "crescent": "cres",
    "alley": "aly",
    "trail": "trl",
    "expressway": "expy",
    "north": "n", "south": "s", "east": "e", "west": "w",
    "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}
# Words that only say "this is a unit", dropped from the unit: "Apt. 2B" == "#2b" == "2B".
UNIT_WORDS = frozenset({"apt", "apartment", "unit", "suite", "ste", "flat", "no", "number", "rm", "room"})

_DELETED = frozenset("'\u2019.")  # apostrophes and periods vanish: "O'Brien" == "OBrien", "St." == "St"


def _words(text: str) -> list[str]:
    kept: list[str] = []
    for c in unicodedata.normalize("NFKD", text).casefold():
        if c in _DELETED:
            continue
        if unicodedata.category(c).startswith("M"):  # a mark: an accent, a vowel sign
            if kept and kept[-1].isascii():
                continue  # an accent on a Latin letter: "É" == "E"; other scripts keep their marks
            kept.append(c)
        else:
            kept.append(c if c.isalnum() else " ")  # anything else that is not a letter or digit separates words
    return "".join(kept).split()


def address_key(address: str, unit: str = "") -> tuple[str, str]:
    """The comparison key of an address and unit; equal keys are the same household.

    Both parts: compatibility-decomposed (NFKD, so full-width digits are
    digits) with the accents on Latin letters removed, case folded,
    apostrophes and periods deleted, every other run of characters that
    are not letters, digits or marks (of any script) turned into one
    space, surrounding space trimmed.  The address then has every word
    that is a street type or a compass direction abbreviated
    (``ABBREVIATIONS``: Street -> st, Avenue -> ave, North -> n...); the
    unit loses its designator words (``UNIT_WORDS``: Apt, Unit, Suite;
    "#" is punctuation).  Not done: numbers written as words ("First" vs
    "1st"), "Saint" vs "St", a unit written inside the address ("12 Main
    St Apt 2" with no unit is not "12 Main St" unit "2"), and "12-14" is
    "12 14", not "1214".
    """
    address_words = [ABBREVIATIONS.get(w, w) for w in _words(address)]
    unit_words = [w for w in _words(unit) if w not in UNIT_WORDS]
    return " ".join(address_words), " ".join(unit_words)


def dedupe(households: Iterable[Household]) -> tuple[list[Household], list[Duplicate]]:
    """Unique households (the first of each ``address_key``, in order) and the duplicates left out."""
    first: dict[tuple[str, str], Household] = {}
    unique: list[Household] = []
    duplicates: list[Duplicate] = []
    for household in households:
        key = address_key(household.address, household.unit)
        kept = first.get(key)
        if kept is None:
            first[key] = household
            unique.append(household)
        else:
            duplicates.append(Duplicate(household, kept, key))
    return unique, duplicates
