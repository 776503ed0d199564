"""What each campaign document the server sets up must be, whoever writes it and by whichever path.

One rule each, asked by the write path (``documents.write``) for every
document written by ``/sync``, REST or the command line; the REST views
check only what HTTP brings (their schemas) and leave the documents' rules
here, so a document pushed over ``/sync`` is refused with the same words a
REST call gets (``Invalid``: a per-document ``forbidden`` over ``/sync``, a
422 over REST).  A deleted document (a tombstone) is not checked.

* ``turf``: id ``turf:<id>`` (1-64 letters, digits, ``.``, ``_``, ``-``), a
  name (1-200 characters), a drive (text up to 100, or none), and a good
  geometry (``geo.geometry.check_turf``);
* ``household``: an address (text), a unit (text or none), a location
  (``lat``/``lon`` finite and in range) or none, a turf (``turf:<id>``) or none;
* ``assignment``: a user and a turf, under the id they make
  (``assignment:<user>:<turf>``), ``active`` true or false;
* ``meeting``: id ``meeting:<id>``, a start (an ISO date and time), an end
  after it or none, a place (1-500), languages (1-20 language tags), a title
  (1-200) and a notice (up to 2000) per language;
* ``campaign``: id ``campaign:<id>`` (the database's name, as the API writes it), a name (1-200), a description (up
  to 5000), a time zone, the phones' base-map limit (0-500 MB), drives (each
  an id, a name and its forms);
* ``issue``: a title in at least one language, a meeting or none, sources
  (each a concern id with its door), a status, a task or none;
* ``concern_status``: the id its issue and turf make, the concerns it answers,
  a title, a status, a due date or none, an outcome per language.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from typing import Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from server.documents.read import TURF_ID as ID  # turfs, meetings, drives
from sync.errors import Forbidden

LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
STATUSES = ("raised", "open", "in_progress", "done", "dropped")  # reports.follow_up.STATUSES
RESPONSIBLE_KINDS = ("person", "organization")
OFFLINE_MAP_MB = (0, 500)


class Invalid(Forbidden):
    """A document that does not fit its type's rules: ``forbidden`` over ``/sync``, 422 over REST."""


def check(doc: dict, doc_id: str | None) -> None:
    """Raise ``Invalid`` unless ``doc`` (a live document) fits the rules of its type."""
    kind = doc.get("type")
    rule = RULES.get(kind) if isinstance(kind, str) else None  # another type, or none: not these rules
    if rule is not None:
        rule(doc, doc_id)


# -- one rule each, shared with the REST views ---------------------------------------------------


def turf_shape(geometry: object, doc_id: str | None = None):
    """The turf's checked shape (shapely), or ``Invalid`` with the words REST answers ("Bad geometry: ...")."""
    from server.geo import geometry as geo  # shapely and numpy: loaded when a turf is written

    try:
        return geo.check_turf(geometry)
    except geo.GeoError as exc:
        raise Invalid(f"Bad geometry: {exc.message}", doc_id) from None


def id_words(kind: str) -> str:
    return f"A {kind} id is 1-64 letters, digits, '.', '_' or '-' (not first)"


def id_of(kind: str, doc_id: str | None) -> None:
    """``<kind>:<id>``, the id 1-64 letters, digits, '.', '_' or '-' (``documents.read.prefixed_id``)."""
    if doc_id is None or not doc_id.startswith(f"{kind}:") or not ID.fullmatch(doc_id[len(kind) + 1:]):
        raise Invalid(f"{id_words(kind)}, after {kind}:", doc_id)


# -- helpers -------------------------------------------------------------------------------------


def _a(kind: object) -> str:
    """"A turf", "An issue", "What became of a concern" (``concern_status``): how a refusal names the document."""
    if kind == "concern_status":
        return "What became of a concern"
    return f"{'An' if str(kind)[:1] in 'aeiou' else 'A'} {kind}"


def _text(doc: dict, key: str, doc_id: str | None, low: int = 0, high: int | None = None, *,
          optional: bool = False, what: str | None = None) -> None:
    value = doc.get(key)
    if value is None and optional:
        return
    what = what or key
    if not isinstance(value, str) or len(value.strip() if low else value) < low or (high is not None and len(value) > high):
        limits = f"{low}-{high} characters" if high is not None and low else (f"up to {high} characters" if high else "text")
        raise Invalid(f"{_a(doc.get('type'))}'s {what} is {limits}{' or none' if optional else ''}", doc_id)


def _per_language(doc: dict, key: str, doc_id: str | None, low: int, high: int, *, required: bool = False,
                  most: int | None = 20) -> None:
    value = doc.get(key, {} if not required else None)
    kind = doc.get("type")
    if value is None and not required:
        return
    if not isinstance(value, dict) or (most is not None and len(value) > most) or not all(
            isinstance(k, str) and LANGUAGE.fullmatch(k) and isinstance(v, str) and low <= len(v) <= high
            for k, v in value.items()):
        limits = f"{low}-{high} characters" if low else f"up to {high} characters"
        raise Invalid(f"{_a(kind)}'s {key} is text ({limits}) per language tag (en, es, pt-BR)"
                      + (f", at most {most}" if most is not None else ""), doc_id)
    if required and not any(v.strip() for v in value.values()):
        raise Invalid(f"{_a(kind)} has a {key} in at least one language", doc_id)


def _turf_ref(value: object) -> bool:
    return isinstance(value, str) and value.startswith("turf:") and bool(ID.fullmatch(value[5:]))


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _date(value: object) -> bool:
    try:
        date.fromisoformat(value)  # type: ignore[arg-type]
        return isinstance(value, str)
    except (TypeError, ValueError):
        return False


# -- the rules -----------------------------------------------------------------------------------


def _turf(doc: dict, doc_id: str | None) -> None:
    id_of("turf", doc_id)
    _text(doc, "name", doc_id, 1, 200)
    _text(doc, "drive", doc_id, 0, 100, optional=True)
    turf_shape(doc.get("geometry"), doc_id)


def _household(doc: dict, doc_id: str | None) -> None:
    _text(doc, "address", doc_id, 1)
    _text(doc, "unit", doc_id, optional=True)
    location = doc.get("location")
    if location is not None:
        if not isinstance(location, dict) or not all(_number(location.get(k)) for k in ("lat", "lon")) \
                or abs(location["lat"]) > 90 or abs(location["lon"]) > 180:
            raise Invalid("A household's location is {lat, lon} (numbers, lat -90..90, lon -180..180) or none", doc_id)
    if doc.get("turf") is not None and not _turf_ref(doc.get("turf")):
        raise Invalid("A household's turf is a turf id (turf:<id>) or none", doc_id)
    if doc.get("extra") is not None and not isinstance(doc.get("extra"), dict):
        raise Invalid("A household's extra is an object of the list's other columns, or none", doc_id)


def _assignment(doc: dict, doc_id: str | None) -> None:
    user, turf = doc.get("user"), doc.get("turf")
    if not isinstance(user, str) or not user or not _turf_ref(turf):
        raise Invalid("An assignment names a user and a turf (turf:<id>)", doc_id)
    if doc_id != f"assignment:{user}:{turf}":
        raise Invalid(f"An assignment of {user} to {turf} has the id assignment:{user}:{turf}", doc_id)
    if not isinstance(doc.get("active", True), bool):
        raise Invalid("An assignment's active is true or false", doc_id)


def _meeting(doc: dict, doc_id: str | None) -> None:
    id_of("meeting", doc_id)
    starts = _datetime(doc.get("starts_at"))
    if starts is None:
        raise Invalid("A meeting's starts_at is a date and time (ISO 8601)", doc_id)
    if doc.get("ends_at") is not None:
        ends = _datetime(doc.get("ends_at"))
        try:
            after = ends is not None and ends > starts
        except TypeError:  # one with a time zone, one without
            after = False
        if not after:
            raise Invalid("A meeting's ends_at is a date and time after it starts, or none", doc_id)
    _text(doc, "place", doc_id, 1, 500)
    languages = doc.get("languages")
    if not isinstance(languages, list) or not 1 <= len(languages) <= 20 \
            or not all(isinstance(x, str) and LANGUAGE.fullmatch(x) for x in languages):
        raise Invalid("A meeting's languages are 1-20 language tags (en, es, pt-BR)", doc_id)
    _per_language(doc, "title", doc_id, 1, 200, most=None)
    _per_language(doc, "notice", doc_id, 0, 2000)


def _time_zone(value: object) -> bool:
    try:
        ZoneInfo(value)  # type: ignore[arg-type]
        return isinstance(value, str)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        return False


def _campaign(doc: dict, doc_id: str | None) -> None:
    if doc_id is None or not doc_id.startswith("campaign:"):
        raise Invalid("A campaign document's id is campaign:<its database>", doc_id)
    _text(doc, "name", doc_id, 1, 200)
    _text(doc, "description", doc_id, 0, 5000, optional=True)
    if doc.get("time_zone") is not None and not _time_zone(doc["time_zone"]):
        raise Invalid("A campaign's time zone is an IANA name such as America/Chicago or Europe/Madrid", doc_id)
    limit = doc.get("offline_map_mb")
    if limit is not None and (type(limit) is not int or not OFFLINE_MAP_MB[0] <= limit <= OFFLINE_MAP_MB[1]):
        raise Invalid(f"A campaign's offline_map_mb is a whole number of MB, {OFFLINE_MAP_MB[0]}-{OFFLINE_MAP_MB[1]}",
                      doc_id)
    drives = doc.get("drives")
    if drives is None:
        return
    if not isinstance(drives, list):
        raise Invalid("A campaign's drives are a list", doc_id)
    for drive in drives:
        if isinstance(drive, str) and ID.fullmatch(drive):
            continue  # a bare id: a drive of that name (an early shape, read by api.campaigns.drives_of)
        if not isinstance(drive, dict) or not isinstance(drive.get("id"), str) or not ID.fullmatch(drive["id"]) \
                or not isinstance(drive.get("name", ""), str) \
                or not isinstance(drive.get("forms", []), list) \
                or not all(isinstance(f, str) and f.startswith("form:") for f in drive.get("forms", [])):
            raise Invalid("A campaign's drive is {id, name, forms}: an id of 1-64 letters, digits, '.', '_' or '-', "
                          "and the forms it uses (form:<id>)", doc_id)


def _issue(doc: dict, doc_id: str | None) -> None:
    _per_language(doc, "title", doc_id, 0, 300, required=True)
    meeting = doc.get("meeting")
    if meeting is not None and not (isinstance(meeting, str) and meeting.startswith("meeting:")):
        raise Invalid("An issue's meeting is a meeting id (meeting:<id>) or none", doc_id)
    sources = doc.get("sources", [])
    if not isinstance(sources, list) or not all(
            isinstance(s, dict) and isinstance(s.get("concern"), str)
            and all(s.get(k) is None or isinstance(s.get(k), str) for k in ("household", "turf", "language"))
            for s in sources):
        raise Invalid("An issue's sources are concerns, each {concern, household, turf, language}", doc_id)
    _status(doc, doc_id)
    task = doc.get("task")
    if task is not None:
        if not isinstance(task, dict) or not isinstance(task.get("responsible"), str) or not task["responsible"] \
                or task.get("responsible_kind", "person") not in RESPONSIBLE_KINDS or not _date(task.get("due")) \
                or not isinstance(task.get("milestones", []), list):
            raise Invalid("An issue's task is {responsible, responsible_kind, due (a date), milestones} or none", doc_id)
    _text(doc, "problems", doc_id, 0, 5000, optional=True)
    _per_language(doc, "outcome", doc_id, 0, 2000)
    if not isinstance(doc.get("history", []), list):
        raise Invalid("An issue's history is a list", doc_id)


def _status(doc: dict, doc_id: str | None) -> None:
    if doc.get("status", "raised") not in STATUSES:
        raise Invalid(f"{_a(doc.get('type'))}'s status is one of {', '.join(STATUSES)}", doc_id)


def _concern_status(doc: dict, doc_id: str | None) -> None:
    issue, turf = doc.get("issue"), doc.get("turf")
    if not (isinstance(issue, str) and issue.startswith("issue:")) or not _turf_ref(turf):
        raise Invalid("What became of a concern names its issue (issue:<id>) and turf (turf:<id>)", doc_id)
    if doc_id != f"concern_status:{issue.removeprefix('issue:')}:{turf}":
        raise Invalid(f"What became of {issue}'s concerns in {turf} has the id "
                      f"concern_status:{issue.removeprefix('issue:')}:{turf}", doc_id)
    concerns = doc.get("concerns")
    if not isinstance(concerns, list) or not all(isinstance(c, str) for c in concerns):
        raise Invalid("What became of a concern lists the concerns it answers (their ids)", doc_id)
    _per_language(doc, "title", doc_id, 0, 300)
    _status(doc, doc_id)
    if doc.get("due") is not None and not _date(doc.get("due")):
        raise Invalid("What became of a concern has a due date (YYYY-MM-DD) or none", doc_id)
    _per_language(doc, "outcome", doc_id, 0, 2000)


RULES: dict[str, Callable[[dict, str | None], None]] = {
    "turf": _turf, "household": _household, "assignment": _assignment, "meeting": _meeting, "campaign": _campaign,
    "issue": _issue, "concern_status": _concern_status,
}
