"""Between meetings: concerns from the doors, the issues they are grouped into, and the follow-up chart.

**Concerns** are what residents asked to raise at a meeting: the answer
``concerns`` of the meeting-awareness drive, and the answer of any form field
marked ``"concern": true``.  They come from the ``concerns`` index (a
``server.projection`` kind: one row per text answer of every record that is
not roster data, so a resident's sign-up never becomes a concern that a
coordinator reads).  A concern's id is ``<record id>#<field>``.  Its meeting
is the record's own (``meeting``), else the next meeting after the knock
(``reports.meetings.meeting_for``'s rule); its language is the language spoken
at the door, else the record's.

**Issues** (``issue:<id>`` documents, written by coordinators and admins)
group concerns: ``sources`` lists each concern with its door (household,
turf, language), so duplicates are merged and every door is kept.  An issue
has a title in each campaign language, the meeting it goes to (its agenda),
and once taken up at a meeting a **task**: who is responsible (a person or a
partner organization), a due date and milestones (campaign-local days), a
status, the problems encountered, and what came of it to tell residents
(``outcome``, per language).  Every change is appended to ``history``.
Issues are routed to coordinators only (``access.channels``): they name doors.

**What became of it, at the door.**  For each turf an issue's concerns come
from, the server keeps a ``concern_status:<issue>:<turf>`` document
(``status_docs``): the issue's title, status, due date and outcome in each
language, and the ids of the concerns of that turf it answers
(``<record id>#<field>``).  It goes to the turf's channel, so the phones of
the turf's volunteers hold it offline; it carries no resident's words, name
or contact (the phone already holds the turf's records, whose concerns the
ids point to), and no door of another turf.

**The chart** lists the issues with a task, overdue first (the due date has
passed in the campaign's time zone and the task is not done nor dropped),
then by due date.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from forms.definition import iter_fields
from server import projection
from server.access import privacy
from server.people.roster import record_time
from server.people.visits import utc

KIND = "concerns"
CONCERN_FIELD = "concerns"  # the meeting-awareness drive's field; any other field says "concern": true
STATUSES = ("raised", "open", "in_progress", "done", "dropped")
CLOSED = frozenset({"done", "dropped"})
CHART_COLUMNS = ["issue", "meeting", "responsible", "responsible_kind", "due", "overdue", "status", "milestones",
                 "problems", "outcome", "doors", "languages", "updated_at"]
AGENDA_COLUMNS = ["item", "issue", "doors", "languages", "turfs", "concerns"]
CONTACT_COLUMNS = ["full_name", "phone", "email", "channels", "language", "household", "issue", "status", "due",
                   "outcome"]
TELL_ME = "tell_me"  # the meeting-awareness drive's "would they like to be told what comes of it?"


class ConcernsHandler(projection.Handler):
    """One row per text answer of a record that is not roster data (the concern fields are chosen when read)."""

    name = "concerns"
    version = "1"
    schema = """
        CREATE TABLE texts (doc_id TEXT, form TEXT, field TEXT, text TEXT, turf TEXT, household TEXT, at TEXT,
                            meeting TEXT, language TEXT, PRIMARY KEY (doc_id, field));
        CREATE INDEX texts_field ON texts (field)
    """
    tables = ("texts",)

    def rows(self, doc: dict) -> Iterable[tuple[str, tuple]]:
        if doc.get("type") != "record" or not isinstance(doc.get("_id"), str) or privacy.is_roster_record(doc):
            return
        answers = doc.get("answers") if isinstance(doc.get("answers"), dict) else {}
        language = _text(answers.get("door_language")) or _text(doc.get("language"))
        for field, value in answers.items():
            if isinstance(value, str) and value.strip() and isinstance(field, str):
                yield "texts", (doc["_id"], _text(doc.get("form")) or "", field, value.strip(), _text(doc.get("turf")),
                                _text(doc.get("household")), utc(record_time(doc)), _text(doc.get("meeting")),
                                language)


projection.register(KIND, lambda config: [ConcernsHandler()])


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class Concern:
    id: str
    record: str
    field: str
    text: str
    turf: str | None
    household: str | None
    at: str | None
    meeting: str | None
    language: str | None


def concern_fields(form_docs: Iterable[dict]) -> set[tuple[str, str]]:
    """(form key, field name) of every field marked ``"concern": true`` in these form documents."""
    out = set()
    for doc in form_docs:
        key = privacy.form_key(doc)
        fields = doc.get("fields") if isinstance(doc.get("fields"), list) else []
        for _, field, _ in iter_fields(fields):
            if field.get("concern") is True and isinstance(field.get("name"), str) and key:
                out.add((key, field["name"]))
    return out


def concerns(conn: sqlite3.Connection, marked: set[tuple[str, str]], meetings: list) -> list[Concern]:
    """Every concern of the campaign, by time; ``meetings`` (``reports.meetings.Meeting``, by start) place each."""
    rows = conn.execute("SELECT doc_id, form, field, text, turf, household, at, meeting, language FROM texts "
                        "ORDER BY at, doc_id, field")
    ids = {m.id for m in meetings}
    out = []
    for doc_id, form, field, text, turf, household, at, meeting, language in rows:
        if field != CONCERN_FIELD and (form, field) not in marked:
            continue
        out.append(Concern(f"{doc_id}#{field}", doc_id, field, text, turf, household, at,
                           _meeting_of(meeting, at, meetings, ids), language))
    return out


def _meeting_of(meeting: str | None, at: str | None, meetings: list, ids: set[str]) -> str | None:
    if meeting in ids:
        return meeting
    if at is None:
        return None
    return next((m.id for m in meetings if m.starts_utc is not None and m.starts_utc >= at), None)


def overdue(issue: dict, today: date) -> bool:
    """A task whose due date (a campaign-local day) has passed and that is neither done nor dropped."""
    task = issue.get("task") if isinstance(issue.get("task"), dict) else None
    if task is None or issue.get("status") in CLOSED:
        return False
    try:
        return date.fromisoformat(str(task.get("due") or "")) < today
    except ValueError:
        return False


def chart(issues: list[dict], today: date, meeting: str | None = None) -> list[dict]:
    """The issues with a task (of ``meeting``, if given): overdue first, then by due date, then by title."""
    tasks = [i for i in issues if isinstance(i.get("task"), dict) and (meeting is None or i.get("meeting") == meeting)]

    def key(issue: dict) -> tuple:
        return (not overdue(issue, today), issue.get("status") in CLOSED, str(issue["task"].get("due") or "9999"),
                title_in(issue, "en"))

    return sorted(tasks, key=key)


def title_in(issue: dict, language: str) -> str:
    title = issue.get("title") if isinstance(issue.get("title"), dict) else {}
    return title.get(language) or title.get("en") or next(iter(title.values()), issue.get("_id", ""))


def text_in(value: object, language: str) -> str:
    if not isinstance(value, dict):
        return ""
    return value.get(language) or value.get("en") or next(iter(value.values()), "")


def changes(before: dict, after: dict, keys: Iterable[str]) -> list[str]:
    """The keys whose values differ (for the history)."""
    return [k for k in keys if json.dumps(before.get(k), sort_keys=True) != json.dumps(after.get(k), sort_keys=True)]


def chart_rows(issues: list[dict], today: date, language: str, meeting_titles: dict[str, str]):
    for issue in issues:
        task = issue["task"]
        milestones = "; ".join(f"{m.get('title', '')} ({m.get('due') or '-'}){' ✓' if m.get('done') else ''}"
                               for m in task.get("milestones") or [])
        sources = issue.get("sources") or []
        yield [title_in(issue, language), meeting_titles.get(issue.get("meeting") or "", ""),
               task.get("responsible", ""), task.get("responsible_kind", ""), task.get("due", ""),
               "yes" if overdue(issue, today) else "no", issue.get("status", ""), milestones,
               issue.get("problems", ""), text_in(issue.get("outcome"), language), len(sources),
               " ".join(sorted({s.get("language") for s in sources if s.get("language")})),
               issue.get("updated_at", "")]


def agenda_rows(issues: list[dict], language: str, texts: dict[str, str], turf_names: dict[str, str]):
    for n, issue in enumerate(issues, start=1):
        sources = issue.get("sources") or []
        yield [n, title_in(issue, language), len({s.get("household") or s.get("concern") for s in sources}),
               " ".join(sorted({s.get("language") for s in sources if s.get("language")})),
               ", ".join(sorted({turf_names.get(s.get("turf"), s.get("turf")) for s in sources if s.get("turf")})),
               " | ".join(texts.get(s.get("concern"), "") for s in sources)]


def status_id(issue_id: str, turf: str) -> str:
    return f"concern_status:{issue_id.removeprefix('issue:')}:{turf}"


def status_docs(issue: dict | None, issue_id: str) -> dict[str, dict]:
    """The ``concern_status`` bodies an issue gives (none for a deleted one), by document id."""
    if issue is None or issue.get("_deleted"):
        return {}
    task = issue.get("task") if isinstance(issue.get("task"), dict) else {}
    by_turf: dict[str, list[str]] = {}
    for source in issue.get("sources") or []:
        if isinstance(source.get("turf"), str) and isinstance(source.get("concern"), str):
            by_turf.setdefault(source["turf"], []).append(source["concern"])
    return {status_id(issue_id, turf): {
        "_id": status_id(issue_id, turf), "type": "concern_status", "issue": issue_id, "turf": turf,
        "concerns": sorted(ids), "title": issue.get("title") or {}, "status": issue.get("status") or "raised",
        "due": task.get("due"), "outcome": issue.get("outcome") or {}, "updated_at": issue.get("updated_at"),
    } for turf, ids in by_turf.items()}


def asking_doors(conn: sqlite3.Connection) -> set[str]:
    """The households where a resident asked to be told what comes of their concerns (``tell_me`` = yes)."""
    return {row[0] for row in conn.execute(
        "SELECT DISTINCT household FROM texts WHERE field = ? AND text = 'yes' AND household IS NOT NULL", (TELL_ME,))}


def contact_rows(people: list[dict], issues: list[dict], today: date):
    """One row per person and issue of their door: ``people`` are ``{household, full_name, phone, email,
    channels, language, address}`` (consent-gated already); titles and outcomes in each person's language."""
    by_door: dict[str, list[dict]] = {}
    for issue in issues:
        for door in {s.get("household") for s in issue.get("sources") or [] if s.get("household")}:
            by_door.setdefault(door, []).append(issue)
    for person in people:
        for issue in sorted(by_door.get(person["household"], []), key=lambda i: title_in(i, "en")):
            language = person["language"] or "en"
            task = issue.get("task") if isinstance(issue.get("task"), dict) else {}
            yield [person["full_name"], person["phone"], person["email"], " ".join(person["channels"]), language,
                   person["address"], title_in(issue, language),
                   "overdue" if overdue(issue, today) else issue.get("status", ""), task.get("due") or "",
                   text_in(issue.get("outcome"), language)]
