"""Turfs and the households in them: the turfs' shapes, households' locations, and re-assigning households.

A turf re-cut or deleted moves households to the turfs that now cover them
(``geo.geometry.assign``); assignments to a deleted turf end.
"""

from __future__ import annotations

import logging
import math
from collections import Counter

import shapely

from server.access.writes import Writer
from server.documents.read import docs_of_type, now
from server.documents.write import Writes
from server.geo import geometry as geo
from sync.errors import SyncError
from sync.store import DocumentStore

log = logging.getLogger(__name__)

BATCH = 500
OVERLAP_MIN_M2 = 1.0  # slivers of hand-drawn borders are not overlaps


def turf_shapes(turf_docs: list[dict]) -> dict[str, shapely.Geometry]:
    """Turf id -> checked geometry.

    Every write path refuses a turf without a good geometry (``documents.checks``); one stored before it
    did (by an older server, or straight into the store) is skipped, not fatal.
    """
    shapes = {}
    for doc in turf_docs:
        try:
            shapes[doc["_id"]] = geo.check_turf(doc.get("geometry"))
        except geo.GeoError as exc:
            log.warning("turf %s has a bad geometry and is left out: %s", doc["_id"], exc.message)
    return shapes


def location(doc: dict) -> tuple[float, float] | None:
    """(lon, lat) of a household, or None if it has no usable location."""
    loc = doc.get("location")
    if not isinstance(loc, dict):
        return None
    lon, lat = loc.get("lon"), loc.get("lat")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (lon, lat)):
        return None
    return float(lon), float(lat)


def reassign(store: DocumentStore, shapes: dict[str, shapely.Geometry], through: Writes,
             writer: Writer | None) -> tuple[dict[str, str | None], int, list[str]]:
    """Re-assign every located household of the campaign to ``shapes`` (``geo.assign``); write the moved ones.

    Writes go through the write path (``through``, as ``writer``) in batches.  A household edited at the same
    moment (a conflict) is read again and retried once; if that conflicts
    too, it is left as it is and named in the third result.  Returns the
    assignment of every located household, how many moved, and those conflicts.
    """
    located = {doc["_id"]: (doc, point) for doc in docs_of_type(store, "household:", "household")
               if (point := location(doc)) is not None}
    mapping = geo.assign(((hid, lon, lat) for hid, (_, (lon, lat)) in located.items()), shapes)
    moved = [{**doc, "turf": mapping[hid]} for hid, (doc, _) in located.items() if doc.get("turf") != mapping[hid]]
    retry: list[str] = []
    for start in range(0, len(moved), BATCH):
        for result in through.bulk(store, moved[start:start + BATCH], writer):
            if "error" in result:
                retry.append(result["id"])
    conflicts = []
    for hid in retry:
        try:
            doc = store.get(hid)
            point = location(doc)
            turf = geo.assign([(hid, *point)], shapes)[hid] if point else doc.get("turf")
            if doc.get("turf") != turf:
                through.put(store, {**doc, "turf": turf}, writer)
            mapping[hid] = turf
        except (SyncError, geo.GeoError):
            conflicts.append(hid)
    return mapping, len(moved) - len(conflicts), conflicts


def overlapping(doc_id: str, shape: shapely.Geometry, drive: str | None, others: list[dict],
                shapes: dict[str, shapely.Geometry]) -> list[tuple[str, float]]:
    """The turfs of the same drive that ``shape`` overlaps (more than a sliver), with the area shared in m²."""
    same_drive = {doc["_id"]: shapes[doc["_id"]] for doc in others if doc["_id"] in shapes and doc.get("drive") == drive}
    return [(b if a == doc_id else a, area)
            for a, b, area in geo.overlaps({doc_id: shape, **same_drive}, min_area_m2=OVERLAP_MIN_M2)
            if doc_id in (a, b)]


def household_counts(store: DocumentStore) -> Counter:
    """Turf id -> how many households it has."""
    return Counter(turf for doc in docs_of_type(store, "household:", "household")
                   if isinstance(turf := doc.get("turf"), str))


def end_assignments(store: DocumentStore, doc_id: str, through: Writes, writer: Writer) -> None:
    """Assignments to a deleted turf end (active false), so the volunteers' phones learn it.

    An assignment the write path will not end as it is (written around the API, it does not fit
    an assignment's rules) is deleted instead: a deleted assignment grants nothing either.
    """
    ended = [{**doc, "active": False, "updated_at": now(), "updated_by": writer.name}
             for doc in docs_of_type(store, "assignment:", "assignment")
             if doc.get("turf") == doc_id and doc.get("active", True)]
    for start in range(0, len(ended), BATCH):
        batch = ended[start:start + BATCH]
        results = through.bulk(store, batch, writer)
        # A conflict: changed at the same moment, and whoever changed it decided.
        misfits = [{"_id": doc["_id"], "_rev": doc["_rev"], "_deleted": True}
                   for doc, result in zip(batch, results, strict=True) if result.get("error") == "forbidden"]
        if misfits:
            through.bulk(store, misfits, writer)
