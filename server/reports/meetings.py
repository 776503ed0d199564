"""Meeting coverage: for each meeting, doors informed, RSVPs and languages needed, per turf; the RSVP list.

Pure functions over the visits index's rows (``server.people.visits.Visit``) and
the campaign's ``meeting`` documents (``{title, starts_at, place,
languages}``; ``title`` a text or ``{language: text}``); ``load`` and
``rsvps`` read those from the index and the store, for the API and the CLI.

**Which meeting a knock was about.**  A meeting-awareness record may name
its meeting (``meeting: "meeting:<id>"``, a top-level field of the record);
one that does not is counted for the next meeting after the knock (the first
whose ``starts_at`` is at or after the record's time).  A knock after every
meeting counts for none.

**Per household, not per record.**  Two visits to one door count it once: it
was informed if any visit informed it, its RSVP is the newest one given, its
languages are every language asked for there.  A record without a household
(a door not in the list) counts as a door of its own.

**The RSVP list** holds the doors whose newest RSVP is yes or maybe, with the
language to remind them in (the first language needed at the meeting, else
the language spoken at the door, else the record's language, else the
meeting's first language) and a reminder text in that language when
Blockwalk has one (``REMINDERS``); otherwise in English, and
``reminder_language`` says so, so the organizer knows to have it translated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Iterable

from server.people import visits as visits_index
from server.people.visits import Visit, utc

AWARENESS_FORM = "form:meeting_awareness"
REMINDERS = {
    "en": "Reminder: {title} on {date} at {time}, {place}. We hope to see you there!",
    "es": "Recordatorio: {title} el {date} a las {time}, {place}. ¡Esperamos verle allí!",
    "pl": "Przypomnienie: {title}, {date}, godz. {time}, {place}. Do zobaczenia!",
    "ar": "تذكير: {title} يوم {date} الساعة {time}، {place}. نأمل أن نراكم هناك!",
    "zh": "提醒：{title}，{date} {time}，地点：{place}。期待与您见面！",
    "vi": "Nhắc nhở: {title} vào {date} lúc {time}, tại {place}. Rất mong gặp bạn!",
}
RSVPS = ("yes", "maybe", "no")


@dataclass(frozen=True)
class Meeting:
    id: str
    title: dict[str, str]
    starts_at: str | None  # as written, with its offset: the local time of the meeting
    starts_utc: str | None
    place: str | None
    languages: tuple[str, ...]

    def title_in(self, language: str) -> str:
        return self.title.get(language) or self.title.get("en") or next(iter(self.title.values()), self.id)


def meeting_from_doc(doc: dict) -> Meeting:
    title = doc.get("title")
    titles = {k: v for k, v in title.items() if isinstance(v, str)} if isinstance(title, dict) else (
        {"en": title} if isinstance(title, str) else {})
    languages = doc.get("languages")
    starts = doc.get("starts_at") if isinstance(doc.get("starts_at"), str) else None
    return Meeting(id=doc["_id"], title=titles, starts_at=starts, starts_utc=utc(starts),
                   place=doc.get("place") if isinstance(doc.get("place"), str) else None,
                   languages=tuple(v for v in languages if isinstance(v, str)) if isinstance(languages, list) else ())


def find(meetings: list[Meeting], meeting_id: str) -> Meeting | None:
    """The meeting of this id (``meeting:<id>`` or the bare id), or None."""
    wanted = meeting_id if meeting_id.startswith("meeting:") else f"meeting:{meeting_id}"
    return next((m for m in meetings if m.id == wanted), None)


def load(found, store) -> tuple[list[Meeting], list[Visit]]:
    """The campaign's meetings (by start) and its meeting-awareness visits, from a caught-up visits index."""
    with visits_index.snapshot(found) as conn:
        awareness = list(visits_index.visits(conn, form=AWARENESS_FORM))
    return sorted_meetings(visits_index.meeting_docs(store)), awareness


def rsvps(store, meeting: Meeting, meetings: list[Meeting], awareness: list[Visit]) -> list[dict]:
    """``rsvp_list`` with the doors' addresses read from the store."""
    homes = visits_index.households(store, (v.household for v in awareness if v.household))
    return rsvp_list(meeting, awareness, meetings, homes)


def meeting_for(visit: Visit, meetings: list[Meeting]) -> str | None:
    """The meeting a knock was about (see the module docstring); ``meetings`` sorted by start."""
    ids = {m.id for m in meetings}
    if visit.meeting in ids:
        return visit.meeting
    if visit.at is None:
        return None
    return next((m.id for m in meetings if m.starts_utc is not None and m.starts_utc >= visit.at), None)


@dataclass
class Door:
    """What is known of one door for one meeting, from every visit there."""

    turf: str | None
    household: str | None
    informed: bool = False
    rsvp: str | None = None
    rsvp_at: str | None = None
    languages: list[str] = field(default_factory=list)
    door_language: str | None = None
    record_language: str | None = None

    def add(self, visit: Visit) -> None:
        self.turf = visit.turf or self.turf
        self.informed = self.informed or visit.informed == "yes"
        if visit.rsvp in RSVPS and (self.rsvp_at is None or (visit.at or "") >= self.rsvp_at):
            self.rsvp, self.rsvp_at = visit.rsvp, visit.at or ""
        for language in visit.language_needed:
            if language not in self.languages:
                self.languages.append(language)
        self.door_language = visit.door_language or self.door_language
        self.record_language = visit.language or self.record_language


def sorted_meetings(docs: Iterable[dict]) -> list[Meeting]:
    found = [meeting_from_doc(d) for d in docs if d.get("type") == "meeting" and isinstance(d.get("_id"), str)]
    return sorted(found, key=lambda m: (m.starts_utc is None, m.starts_utc or "", m.id))


def doors(meetings: list[Meeting], visits: Iterable[Visit]) -> dict[str, dict[str, Door]]:
    """Meeting id -> door key (household, or the record for a door not in the list) -> Door."""
    out: dict[str, dict[str, Door]] = {m.id: {} for m in meetings}
    for visit in visits:
        if visit.form != AWARENESS_FORM:
            continue
        meeting = meeting_for(visit, meetings)
        if meeting is None:
            continue
        key = visit.household or visit.id
        door = out[meeting].setdefault(key, Door(turf=visit.turf, household=visit.household))
        door.add(visit)
    return out


def _counts(turf: str | None, name: str | None, group: Iterable[Door]) -> dict:
    group = list(group)
    needed: dict[str, int] = {}
    for door in group:
        for language in door.languages:
            needed[language] = needed.get(language, 0) + 1
    return {"turf": turf, "name": name, "doors_knocked": len(group),
            "doors_informed": sum(d.informed for d in group),
            **{f"rsvp_{r}": sum(d.rsvp == r for d in group) for r in RSVPS},
            "languages_needed": dict(sorted(needed.items(), key=lambda kv: (-kv[1], kv[0])))}


def coverage(meetings: list[Meeting], visits: Iterable[Visit], turf_names: dict[str, str]) -> list[dict]:
    """Per meeting: its details, the totals and one row per turf (by turf id; doors with no turf last)."""
    by_meeting = doors(meetings, visits)
    out = []
    for meeting in meetings:
        found = by_meeting[meeting.id].values()
        turfs: dict[str | None, list[Door]] = {}
        for door in found:
            turfs.setdefault(door.turf, []).append(door)
        out.append({
            "meeting": meeting.id, "title": meeting.title_in("en"), "titles": dict(meeting.title),
            "starts_at": meeting.starts_at,
            "place": meeting.place, "languages": list(meeting.languages),
            "totals": _counts(None, None, found),
            "turfs": [_counts(t, turf_names.get(t) if t else None, turfs[t])
                      for t in sorted(turfs, key=lambda t: (t is None, t or ""))],
        })
    return out


def reminder(meeting: Meeting, language: str) -> tuple[str, str]:
    """(the reminder text, the language it is in): ``language`` when Blockwalk has it, else English."""
    used = language if language in REMINDERS else "en"
    when = None
    if meeting.starts_at:
        try:
            when = datetime.fromisoformat(meeting.starts_at)
        except ValueError:
            when = None
    text = REMINDERS[used].format(title=meeting.title_in(used), date=when.date().isoformat() if when else "?",
                                  time=when.strftime("%H:%M") if when else "?", place=meeting.place or "?")
    return text, used


def rsvp_list(meeting: Meeting, visits: Iterable[Visit], meetings: list[Meeting], households: dict[str, dict]) -> list[dict]:
    """The doors whose newest RSVP to ``meeting`` is yes or maybe, each with a reminder in its language."""
    out = []
    for key, door in sorted(doors(meetings, visits).get(meeting.id, {}).items()):
        if door.rsvp not in ("yes", "maybe"):
            continue
        language = (door.languages[0] if door.languages else None) or door.door_language or door.record_language \
            or (meeting.languages[0] if meeting.languages else "en")
        text, used = reminder(meeting, language)
        home = households.get(door.household or "", {})
        out.append({"meeting": meeting.id, "household": door.household, "address": home.get("address"),
                    "unit": home.get("unit"), "turf": door.turf, "rsvp": door.rsvp, "language": language,
                    "languages_needed": list(door.languages), "reminder": text, "reminder_language": used,
                    "at": door.rsvp_at or None})
    return out


COVERAGE_COLUMNS = ["meeting", "title", "starts_at", "place", "turf", "turf_name", "doors_knocked", "doors_informed",
                    "rsvp_yes", "rsvp_maybe", "rsvp_no", "languages_needed"]
RSVP_COLUMNS = ["meeting", "household", "address", "unit", "turf", "rsvp", "language", "languages_needed",
                "reminder_language", "reminder", "at"]


def coverage_rows(report: list[dict]) -> Iterable[list[object]]:
    """One CSV row per meeting and turf (then a total row per meeting, turf ``all``)."""
    for meeting in report:
        head = [meeting["meeting"], meeting["title"], meeting["starts_at"], meeting["place"]]
        for row in [*meeting["turfs"], {**meeting["totals"], "turf": "all"}]:
            yield head + [row["turf"], row["name"], row["doors_knocked"], row["doors_informed"], row["rsvp_yes"],
                          row["rsvp_maybe"], row["rsvp_no"],
                          ";".join(f"{k}:{v}" for k, v in row["languages_needed"].items())]


def rsvp_rows(rsvps: list[dict]) -> Iterable[list[object]]:
    for r in rsvps:
        yield [r["meeting"], r["household"], r["address"], r["unit"], r["turf"], r["rsvp"], r["language"],
               ";".join(r["languages_needed"]), r["reminder_language"], r["reminder"], r["at"]]
