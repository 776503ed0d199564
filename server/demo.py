"""A realistic demo campaign: three turfs, their households, and a week of knocks.

Deterministic (a fixed seed), so the demo looks the same on every machine.
The form documents here are plain field lists; the Forms issue gives them
their full definition.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from sync.errors import PreconditionFailed
from sync.store import StoreServer

CENTER = (41.8902, -87.6780)  # a mixed residential neighbourhood, west of a city centre
STREETS = ["Maple St", "Washtenaw Ave", "Rockwell St", "Campbell Ave", "Fulton St", "Walnut St"]
LANGUAGES = ["en", "es", "pl", "ar"]
ASSETS = [
    ("skill", "Bike repair", "Fixes bikes for kids on the block"),
    ("skill", "Tax preparation", "Volunteers at tax season"),
    ("association", "Block club", "Meets first Tuesday of the month"),
    ("association", "Tenants' union", "Building-wide association"),
    ("institution", "Elementary school", "Open gym on Saturdays"),
    ("institution", "Community clinic", "Walk-in hours Mon-Fri"),
    ("business", "Corner grocery", "Owner offers the back room for meetings"),
    ("place", "Community garden", "Twelve raised beds, water on site"),
]
FIRST = ["Ana", "Luis", "Marta", "Kofi", "Ewa", "Omar", "Grace", "Tomás", "Layla", "Sam"]
LAST = ["Reyes", "Nowak", "Mensah", "Haddad", "Kim", "Ortiz", "Walker", "Lopez"]
OUTCOMES = ["not_home", "contacted", "signed_up", "refused", "come_back_later", "language_barrier"]


def _square(lat: float, lon: float, half: float) -> dict:
    ring = [[lon - half, lat - half], [lon + half, lat - half], [lon + half, lat + half], [lon - half, lat + half]]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def demo_documents(campaign: str = "demo") -> list[dict]:
    rng = random.Random(20261125)
    start = datetime(2026, 11, 16, 17, 0, tzinfo=timezone.utc)
    docs: list[dict] = [
        {
            "_id": f"campaign:{campaign}",
            "type": "campaign",
            "name": "Westside neighbourhood assets and meeting",
            "languages": ["en", "es"],
            "drives": ["asset_mapping", "recruitment", "meeting_awareness"],
        },
        {
            "_id": "meeting:2026-12-03",
            "type": "meeting",
            "title": {"en": "Neighbourhood meeting", "es": "Reunión del vecindario"},
            "starts_at": "2026-12-03T18:30:00-06:00",
            "place": "Elementary school gym, 2650 W Fulton St",
            "languages": ["en", "es", "pl"],
        },
    ]
    for drive in ("asset_mapping", "recruitment", "meeting_awareness"):
        docs.append({"_id": f"form:{drive}", "type": "form", "drive": drive, "version": 1, "status": "draft"})
    households = []
    for t in range(3):
        lat, lon = CENTER[0] + 0.004 * t, CENTER[1]
        turf_id = f"turf:{t + 1}"
        docs.append({"_id": turf_id, "type": "turf", "name": f"Turf {t + 1}", "geometry": _square(lat, lon, 0.0018)})
        for h in range(20):
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
    for n, (hid, turf_id, hlat, hlon) in enumerate(households):
        when = start + timedelta(days=n % 7, minutes=7 * n)
        drive = ("asset_mapping", "recruitment", "meeting_awareness")[n % 3]
        answers: dict = {"outcome": rng.choice(OUTCOMES), "language": rng.choice(LANGUAGES)}
        if drive == "asset_mapping":
            category, name, note = rng.choice(ASSETS)
            answers.update({"category": category, "asset_name": name, "description": note})
        elif drive == "recruitment" and answers["outcome"] == "signed_up":
            first, last = rng.choice(FIRST), rng.choice(LAST)
            answers.update(
                {
                    "name": f"{first} {last}",
                    "phone": f"(773) 555-{rng.randint(100, 999):04d}",
                    "email": f"{first.lower()}.{last.lower()}@example.org",
                    "consent": {"sms": rng.random() < 0.6, "email": True, "phone": rng.random() < 0.4},
                    "interests": rng.sample(["door knocking", "phone bank", "childcare", "translation"], 2),
                }
            )
        else:
            answers.update({"informed": True, "rsvp": rng.choice(["yes", "no", "maybe"])})
        docs.append(
            {
                "_id": f"record:{n + 1:04d}",
                "type": "record",
                "form": f"form:{drive}",
                "form_version": 1,
                "household": hid,
                "turf": turf_id,
                "answers": answers,
                "geotag": {
                    "lat": round(hlat + rng.uniform(-0.0002, 0.0002), 6),
                    "lon": round(hlon + rng.uniform(-0.0002, 0.0002), 6),
                    "accuracy_m": round(rng.uniform(4, 40), 1),
                    "captured_at": when.isoformat(),
                    "source": "gps",
                },
                "author": f"user:volunteer{n % 4 + 1}",
                "device": f"device:{n % 4 + 1}",
                "created_at": when.isoformat(),
            }
        )
    return docs


def load_demo(server: StoreServer, name: str = "demo") -> int:
    """Create the demo database; returns how many documents were written (0 if it exists)."""
    try:
        db = server.create_db(name)
    except PreconditionFailed:
        return 0
    results = db.bulk_docs(demo_documents(name), new_edits=True)
    failed = [r for r in results if "error" in r]
    if failed:
        raise RuntimeError(f"demo documents refused: {failed[:3]}")
    return len(results)
