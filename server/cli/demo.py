"""A realistic demo campaign: three turfs, their households, and a week of knocks.

Deterministic (a fixed seed), so the demo looks the same on every machine,
but for its meetings: they are dated from the day the demo is loaded (the
next one on a Thursday one to two weeks ahead, at 18:30 in Chicago), so a new user's
meeting-awareness form always has a meeting ahead to tell residents about.
The forms are the built-in templates, published as version 1, and every
record fits its form.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from forms.definition import iter_fields
from forms.templates import DRIVES, published
from server.access.channels import assignment_id
from server.access.writes import SERVER
from server.documents.write import Writes, server_writes
from server.records.conflicts import RECORD_FIELDS
from sync.errors import PreconditionFailed
from sync.stamps import Clock, stamp_edit
from sync.store import StoreServer

CONSENT_FIELDS = [f for _, f, _ in iter_fields(published("recruitment")["fields"]) if f["type"] == "consent"]

TURFS = 4
HOUSEHOLDS_PER_TURF = 75
COORDINATOR = "cora"
ORGANIZER = "orla"  # sees the roster the recruitment sign-ups make
VOLUNTEERS = ["vic", "val"]
CENTER = (41.8902, -87.6780)  # a mixed residential neighbourhood, west of a city centre
STREETS = ["Maple St", "Washtenaw Ave", "Rockwell St", "Campbell Ave", "Fulton St", "Walnut St"]
LANGUAGES = ["en", "es", "pl", "ar"]
OUTCOMES = ["not_home", "not_home", "contacted", "contacted", "contacted", "refused", "come_back_later", "language_barrier"]
ASSETS = [
    ("skill", "Bike repair", "Fixes bikes for kids on the block"),
    ("skill", "Tax preparation", "Volunteers at tax season"),
    ("association", "Block club", "Meets first Tuesday of the month"),
    ("association", "Tenants' union", "Building-wide association"),
    ("institution", "Elementary school", "Open gym on Saturdays"),
    ("institution", "Community clinic", "Walk-in hours Mon-Fri"),
    ("business", "Corner grocery", "Owner offers the back room for meetings"),
    ("space", "Community garden", "Twelve raised beds, water on site"),
]
FIRST = ["Ana", "Luis", "Marta", "Kofi", "Ewa", "Omar", "Grace", "Tomás", "Layla", "Sam"]
LAST = ["Reyes", "Nowak", "Mensah", "Haddad", "Kim", "Ortiz", "Walker", "Lopez"]


def _square(lat: float, lon: float, half: float) -> dict:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


MEETING_ZONE = ZoneInfo("America/Chicago")


def meeting_day(today: date) -> date:
    """The demo's meeting day: the Thursday 7 to 13 days after ``today``."""
    return today + timedelta(days=(3 - today.weekday()) % 7 + 7)


def _meetings(today: date) -> list[dict]:
    first = meeting_day(today)
    out = []
    for day, title, place in (
        (first, ("Neighbourhood meeting", "Reunión del vecindario"), "Elementary school gym, 2650 W Fulton St"),
        (first + timedelta(days=28), ("Neighbourhood meeting: follow-up", "Reunión del vecindario: seguimiento"),
         "Community clinic, 2700 W Maple St"),
    ):
        starts = datetime.combine(day, time(18, 30), MEETING_ZONE)
        out.append({
            "_id": f"meeting:{day.isoformat()}",
            "type": "meeting",
            "title": {"en": title[0], "es": title[1]},
            "starts_at": starts.isoformat(),
            "place": place,
            "languages": ["en", "es", "pl"],
        })
    return out


def demo_documents(campaign: str = "demo", today: date | None = None) -> list[dict]:
    """The demo's documents; its meetings dated from ``today`` (default: today in Chicago)."""
    today = today or datetime.now(MEETING_ZONE).date()
    rng = random.Random(20261125)
    start = datetime(2026, 11, 16, 17, 0, tzinfo=timezone.utc)
    docs: list[dict] = [
        {
            "_id": f"campaign:{campaign}",
            "type": "campaign",
            "name": "Westside neighbourhood assets and meeting",
            "languages": ["en", "es"],
            "time_zone": "America/Chicago",
            "description": "Map what the neighbourhood has, recruit volunteers, and bring people to the meeting.",
            "drives": [{"id": drive, "name": published(drive)["title"]["en"], "forms": [f"form:{drive}"]}
                       for drive in DRIVES],
        },
        *_meetings(today),
    ]
    for drive in DRIVES:
        docs.append(published(drive))
    households = []
    for t in range(TURFS):
        lat, lon = CENTER[0] + 0.004 * t, CENTER[1]
        turf_id = f"turf:{t + 1}"
        docs.append({"_id": turf_id, "type": "turf", "name": f"Turf {t + 1}", "geometry": _square(lat, lon, 0.0018)})
        for h in range(HOUSEHOLDS_PER_TURF):
            hid = f"household:{t + 1}-{h + 1:02d}"
            hlat = lat + rng.uniform(-0.0015, 0.0015)
            hlon = lon + rng.uniform(-0.0015, 0.0015)
            unit = rng.choice([None, None, None, "1F", "2F", "Apt 3"])
            households.append((hid, turf_id, hlat, hlon))
            docs.append(
                {
                    "_id": hid,
                    "type": "household",
                    "turf": turf_id,
                    "address": f"{2600 + 2 * h + 40 * t} W {rng.choice(STREETS)}",
                    "unit": unit,
                    "location": {"lat": round(hlat, 6), "lon": round(hlon, 6)},
                }
            )
    for n, (hid, turf_id, hlat, hlon) in enumerate(households[::2]):
        when = start + timedelta(days=n % 7, minutes=7 * n)
        drive = ("asset_mapping", "recruitment", "meeting_awareness")[n % 3]
        language = rng.choice(["en", "en", "es"])
        answers = _answers(drive, rng, language, (hlat, hlon))
        docs.append(_stamped(
            {
                "_id": f"record:{n + 1:04d}",
                "type": "record",
                "form": f"form:{drive}",
                "form_version": 1,
                "household": hid,
                "turf": turf_id,
                "answers": answers,
                "language": language,
                "geotag": {
                    "lat": round(hlat + rng.uniform(-0.0002, 0.0002), 6),
                    "lon": round(hlon + rng.uniform(-0.0002, 0.0002), 6),
                    "accuracy_m": round(rng.uniform(4, 40), 1),
                    "captured_at": when.isoformat(),
                    "source": "gps",
                },
                "author": VOLUNTEERS[int(turf_id.split(":")[1]) % 2],
                "device": f"device:{int(turf_id.split(':')[1]) % 2 + 1}",
                "created_at": when.isoformat(),
            }, when
        ))
    return docs


def _stamped(record: dict, when: datetime) -> dict:
    """The record with field stamps, as its phone would have written it (docs/conflicts.md)."""
    return stamp_edit(None, record, device=record["device"], user=record["author"], clock=Clock(),
                      now_ms=int(when.timestamp() * 1000), layout=RECORD_FIELDS)


def _answers(drive: str, rng: random.Random, language: str, where: tuple[float, float]) -> dict:
    """Answers that fit the drive's built-in form, as a canvasser would give them."""
    outcome = rng.choice(OUTCOMES)
    answers: dict = {"outcome": outcome, "door_language": rng.choice(LANGUAGES)}
    if drive == "asset_mapping" and outcome == "contacted":
        category, name, note = rng.choice(ASSETS)
        asset = {"category": category, "asset_name": name, "notes": note, "languages_served": rng.sample(["en", "es", "pl"], 2),
                 "location": {"lat": round(where[0], 6), "lon": round(where[1], 6), "accuracy_m": round(rng.uniform(4, 25), 1)}}
        if category == "institution":
            asset["institution_kind"] = rng.choice(["school", "clinic", "social_services"])
        answers["assets"] = [asset]
    elif drive == "recruitment" and outcome == "contacted":
        answers["interested"] = rng.choice(["yes", "yes", "no", "maybe"])
        if answers["interested"] == "yes":
            first, last = rng.choice(FIRST), rng.choice(LAST)
            answers.update({
                "full_name": f"{first} {last}",
                "phone": f"(773) 555-{rng.randint(100, 999):04d}",
                "email": f"{first.lower()}.{last.lower()}@example.org".replace("á", "a"),
                "languages": rng.sample(["en", "es", "pl"], 2),
                "skills": rng.sample(["door_knocking", "phone_bank", "translation", "childcare", "food"], 2),
                "availability": [rng.choice(["weekday_evenings", "weekends", "daytime"])],
            })
            for field in CONSENT_FIELDS:
                answers[field["name"]] = {"given": rng.random() < 0.7, "language": language, "text": field["consent_text"][language]}
    elif drive == "meeting_awareness":
        if outcome != "do_not_knock":
            answers["flyer_left"] = rng.choice(["yes", "no"])
        if outcome == "contacted":
            answers["informed"] = "yes"
            answers.update({"rsvp": rng.choice(["yes", "maybe", "no"]), "language_needed": [rng.choice(["es", "pl"])]})
    return answers


def assignments() -> list[dict]:
    """Each volunteer walks every other turf."""
    return [
        {"_id": assignment_id(VOLUNTEERS[t % 2], f"turf:{t + 1}"), "type": "assignment",
         "user": VOLUNTEERS[t % 2], "turf": f"turf:{t + 1}", "active": True}
        for t in range(TURFS)
    ]


def people() -> list[tuple[str, str]]:
    """The demo's users and their roles in the demo campaign."""
    return [(ORGANIZER, "organizer"), (COORDINATOR, "coordinator")] + [(v, "volunteer") for v in VOLUNTEERS]


def load_demo(server: StoreServer, name: str = "demo", through: Writes | None = None) -> int:
    """Create the demo database; returns how many documents were written (0 if it exists).

    Written through the write path as the server (``through``; default: the default settings), so every
    demo document passes the checks any write passes.
    """
    try:
        db = server.create_db(name)
    except PreconditionFailed:
        return 0
    path, docs = through or server_writes(), demo_documents(name) + assignments()
    # The forms first: a record is checked against its form version, which must be stored by then.
    forms = [doc for doc in docs if doc.get("type") == "form"]
    results = path.bulk(db, forms, SERVER) + path.bulk(db, [doc for doc in docs if doc.get("type") != "form"], SERVER)
    failed = [r for r in results if "error" in r]
    if failed:
        raise RuntimeError(f"demo documents refused: {failed[:3]}")
    return len(results)
