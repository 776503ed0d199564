"""The visits index: what the roster, the meeting coverage and the progress pages read.

An index of ``server.projection`` (kind ``visits``, one SQLite file per
campaign, caught up from the changes feed before every read), with two
tables:

* ``visits``: one row per record: form, canvasser, device, turf, household,
  time (UTC), outcome, how many assets it mapped, whether it signed someone
  up, and the meeting-awareness answers (meeting, informed, RSVP, languages
  needed, the language spoken at the door);
* ``signups``: one row per recruitment sign-up (``server.people.roster``), holding
  the parts of the record the roster reads, so the roster is rebuilt from the
  index without reading the store.

Rows depend on one document each; phones are normalised when read (the
campaign's region may change), so the index never needs rebuilding for it.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Iterable, Iterator

from server import projection
from server.documents.read import docs_of_type
from server.people.roster import Key, SignUp, key_of, normalize_phone, record_time, signup_from_record
from sync.store import DocumentStore

KIND = "visits"
SIGNUP_KEYS = ("_id", "type", "form", "answers", "geotag", "author", "device", "household", "turf", "language", "created_at")


def utc(stamp: object) -> str | None:
    """An ISO 8601 time as UTC (``2026-11-20T18:00:00+00:00``), comparable as text; None if it is not one."""
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # a phone that sent no offset: read as UTC
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class Visit:
    id: str
    form: str
    author: str
    device: str
    turf: str | None
    household: str | None
    at: str | None  # UTC
    outcome: str | None
    assets: int
    signup: bool
    meeting: str | None
    informed: str | None
    rsvp: str | None
    language_needed: tuple[str, ...]
    door_language: str | None
    language: str | None


class VisitsHandler(projection.Handler):
    """``region``: the server's default phone region; sign-ups' phones are kept in E.164 read in it."""

    name = "visits"
    schema = """
        CREATE TABLE visits (doc_id TEXT PRIMARY KEY, form TEXT, author TEXT, device TEXT, turf TEXT, household TEXT,
                             at TEXT, outcome TEXT, assets INTEGER, signup INTEGER, meeting TEXT, informed TEXT,
                             rsvp TEXT, language_needed TEXT, door_language TEXT, language TEXT);
        CREATE INDEX visits_at ON visits (at);
        CREATE INDEX visits_author_at ON visits (author, at);
        CREATE TABLE signups (doc_id TEXT PRIMARY KEY, at TEXT, household TEXT, name TEXT, phone TEXT, email TEXT,
                              body TEXT);
        CREATE INDEX signups_at ON signups (at, doc_id)
    """
    tables = ("visits", "signups")

    def __init__(self, region: str = "US"):
        self.region = region
        self.version = f"4:{region}"  # another default region: the phones are read again

    def rows(self, doc: dict) -> Iterable[tuple[str, tuple]]:
        if doc.get("type") != "record" or not isinstance(doc.get("_id"), str):
            return
        answers = doc.get("answers") if isinstance(doc.get("answers"), dict) else {}
        signup = signup_from_record(doc)
        assets = answers.get("assets")
        needed = answers.get("language_needed")
        yield "visits", (
            doc["_id"], _text(doc.get("form")) or "", _text(doc.get("author")) or "", _text(doc.get("device")) or "",
            _text(doc.get("turf")), _text(doc.get("household")), utc(record_time(doc)), _text(answers.get("outcome")),
            len(assets) if isinstance(assets, list) else 0, int(signup is not None), _text(doc.get("meeting")),
            _text(answers.get("informed")), _text(answers.get("rsvp")),
            json.dumps([v for v in needed if isinstance(v, str)] if isinstance(needed, list) else []),
            _text(answers.get("door_language")), _text(doc.get("language")),
        )
        if signup is not None:
            body = {key: doc[key] for key in SIGNUP_KEYS if key in doc}
            key = key_of(signup, self.region)
            yield "signups", (doc["_id"], signup.at, key.household, key.name, key.phone, key.email, json.dumps(body))


projection.register(KIND, lambda config: [VisitsHandler(str(config.get("PHONE_REGION") or "US"))])


def index(campaign: str, store: DocumentStore) -> projection.Projection:
    """In a request: the campaign's visits index, caught up."""
    return projection.index(campaign, KIND, store)


@contextmanager
def snapshot(found: projection.Projection) -> Iterator[sqlite3.Connection]:
    """A read connection inside one transaction: every query sees the same state of the index."""
    with closing(found.read()) as conn:
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")


def signup_keys(conn: sqlite3.Connection, region: str, default_region: str) -> list[Key]:
    """Every sign-up's deduplication key, by time then record; phones read again if ``region`` is not the index's."""
    rows = conn.execute("SELECT doc_id, at, household, name, phone, email, "
                        "CASE WHEN ? = ? THEN NULL ELSE json_extract(body, '$.answers.phone') END "
                        "FROM signups ORDER BY at, doc_id", (region, default_region))
    return [Key(r[0], r[1], r[2], r[3], r[4] if region == default_region else normalize_phone(r[6], region), r[5])
            for r in rows]


def signups_of(conn: sqlite3.Connection, records: list[str]) -> dict[str, SignUp]:
    """The sign-ups of these records (a person's), by record."""
    out: dict[str, SignUp] = {}
    for start in range(0, len(records), 500):
        chunk = records[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for doc_id, body in conn.execute(f"SELECT doc_id, body FROM signups WHERE doc_id IN ({marks})", chunk):
            found = signup_from_record(json.loads(body))
            if found is not None:
                out[doc_id] = found
    return out


def visits(conn: sqlite3.Connection, *, form: str | None = None) -> Iterator[Visit]:
    sql = "SELECT * FROM visits" + (" WHERE form = ?" if form else "") + " ORDER BY at, doc_id"
    for row in conn.execute(sql, (form,) if form else ()):
        yield Visit(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], bool(row[9]), row[10],
                    row[11], row[12], tuple(json.loads(row[13] or "[]")), row[14], row[15])


GROUPS = {"campaign": "NULL", "turf": "turf", "canvasser": "author", "day": "substr(at, 1, 10)"}


def tallies(conn: sqlite3.Connection, by: str) -> dict[str | None, tuple[int, int, int, int, int]]:
    """Per ``by`` (a key of GROUPS): (doors knocked, visits, contacts, assets mapped, sign-ups), counted by SQLite.

    Days are UTC days; records with no time have no day.
    """
    key = GROUPS[by]
    where = " WHERE at IS NOT NULL" if by == "day" else ""
    sql = (f"SELECT {key}, COUNT(DISTINCT COALESCE(household, doc_id)), COUNT(*), "
           f"COALESCE(SUM(outcome = 'contacted'), 0), COALESCE(SUM(assets), 0), COALESCE(SUM(signup), 0) "
           f"FROM visits{where} GROUP BY {key}")
    return {row[0]: tuple(row[1:]) for row in conn.execute(sql)}


def times(conn: sqlite3.Connection) -> Iterator[tuple[str, str | None, str]]:
    """(canvasser, turf, time) of every record with a time, by canvasser then time: one pass, nothing held."""
    yield from conn.execute("SELECT author, turf, at FROM visits WHERE at IS NOT NULL ORDER BY author, at")


# --------------------------------------------------------------------------- what the reports read of the store


def turf_names(store: DocumentStore) -> dict[str, str]:
    return {doc["_id"]: doc.get("name") or doc["_id"] for doc in docs_of_type(store, "turf:", "turf")}


def meeting_docs(store: DocumentStore) -> list[dict]:
    return docs_of_type(store, "meeting:", "meeting")


def households(store: DocumentStore, ids: Iterable[str]) -> dict[str, dict]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = store.all_docs(keys=wanted, include_docs=True)["rows"]
    return {row["id"]: row["doc"] for row in rows if isinstance(row.get("doc"), dict)}
