"""Realistic canvass records of about 1 KB, shared by the benchmarks.

They fit the built-in asset-mapping form (version 1), so Blockwalk stores them.
"""

from __future__ import annotations

import hashlib
import random

CATEGORIES = ["skill", "association", "business", "culture"]
OUTCOMES = ["not_home", "contacted", "signed_up", "refused", "come_back_later"]


def record(i: int, rng: random.Random) -> dict:
    """One visit's answers with a geotag, as a phone pushes it (with _revisions)."""
    rev_hash = hashlib.md5(f"record-{i}".encode()).hexdigest()
    return {
        "_id": f"record:{i:08d}",
        "_rev": f"1-{rev_hash}",
        "_revisions": {"start": 1, "ids": [rev_hash]},
        "type": "record",
        "form": "form:asset_mapping",
        "form_version": 1,
        "household": f"household:{rng.randint(1, 20000):06d}",
        "turf": f"turf:{rng.randint(1, 200)}",
        "language": "en",
        "answers": {
            "outcome": "contacted",
            "door_language": rng.choice(["en", "es", "pl", "ar"]),
            "assets": [
                {
                    "category": rng.choice(CATEGORIES),
                    "asset_name": f"Asset {rng.randint(1, 99999)}",
                    "contact_name": "Ana Reyes",
                    "contact_phone": "(773) 555-0100",
                    "languages_served": rng.sample(["en", "es", "pl", "ar"], 2),
                    "notes": "Community garden with twelve raised beds; water on site; volunteers meet on "
                    "Saturday mornings and welcome new neighbours. Spoke with the caretaker at the side door.",
                    "location": {"lat": round(41.88 + rng.uniform(-0.05, 0.05), 6),
                                 "lon": round(-87.63 + rng.uniform(-0.05, 0.05), 6), "accuracy_m": 9.5},
                }
            ],
        },
        "geotag": {
            "lat": round(41.88 + rng.uniform(-0.05, 0.05), 6),
            "lon": round(-87.63 + rng.uniform(-0.05, 0.05), 6),
            "accuracy_m": round(rng.uniform(3, 60), 1),
            "captured_at": "2026-11-20T18:%02d:%02dZ" % (rng.randint(0, 59), rng.randint(0, 59)),
            "source": "gps",
        },
        "author": f"user:{rng.randint(1, 300)}",
        "device": f"device:{rng.randint(1, 400)}",
        "created_at": "2026-11-20T18:00:00Z",
        "updated_at": "2026-11-20T18:05:00Z",
        "field_stamps": {
            "answers.outcome": f"2026-11-20T18:05:00.000Z-0000-device:{rng.randint(1, 400)}",
            "answers.category": f"2026-11-20T18:05:00.000Z-0001-device:{rng.randint(1, 400)}",
        },
    }


def records(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    return [record(i, rng) for i in range(n)]
