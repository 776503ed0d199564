"""Form validation benchmark: the compiled validator against a naive marshmallow baseline.

Validates N records of the built-in asset-mapping form (realistic answers:
outcome, language, one to three assets with category, name, contact,
languages served, capacity, notes and a geopoint; a few percent invalid)
with the validator compiled once per form version, and, in the same run,
with the naive way: a plain marshmallow schema built from the definition
for every record.  Prints records/s for both and the ratio.

    python bench/forms.py [--records 100000] [--naive-records 5000]

Targets (issue "Forms"): at least 20,000 records/s, at least 10 times the naive baseline.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate  # noqa: E402

from forms.templates import published  # noqa: E402
from forms.validator import compile_form  # noqa: E402

CATEGORIES = ["skill", "association", "institution", "business", "space", "culture"]


def make_records(n: int, seed: int = 11) -> list[dict]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        outcome = rng.choice(["contacted", "contacted", "contacted", "not_home", "refused"])
        answers: dict = {"outcome": outcome, "door_language": rng.choice(["en", "es", "pl"])}
        if outcome == "contacted":
            assets = []
            for _ in range(rng.randint(1, 3)):
                category = rng.choice(CATEGORIES)
                asset = {
                    "category": category,
                    "asset_name": f"Asset {rng.randint(1, 99999)}",
                    "contact_name": "Ana Reyes",
                    "contact_phone": "(773) 555-0100",
                    "languages_served": rng.sample(["en", "es", "pl", "ar"], 2),
                    "notes": "Open to the neighbourhood on Saturdays; ask for the caretaker.",
                    "location": {"lat": 41.88 + rng.uniform(-0.01, 0.01), "lon": -87.63 + rng.uniform(-0.01, 0.01), "accuracy_m": 9.5},
                }
                if category != "skill":
                    asset["opening_hours"] = "Mon-Fri 9-5"
                if category in ("institution", "space", "association"):
                    asset["capacity"] = rng.randint(10, 500)
                if category == "institution":
                    asset["institution_kind"] = rng.choice(["school", "clinic", "social_services"])
                assets.append(asset)
            answers["assets"] = assets
        if rng.random() < 0.03:
            answers["outcome"] = "maybe"  # an invalid record now and then
        records.append({
            "_id": f"record:{i:06d}", "type": "record", "form": "form:asset_mapping", "form_version": 1,
            "answers": answers,
            "geotag": {"lat": 41.88, "lon": -87.63, "accuracy_m": 12.0, "captured_at": "2026-11-20T18:00:00Z", "source": "gps"},
        })
    return records


def naive_validate(defn: dict, record: dict) -> dict:
    """The baseline: build a plain marshmallow schema from the definition, for this record."""
    choices = {name: [c["value"] for c in items] for name, items in defn["choices"].items()}

    def field_for(spec: dict) -> fields.Field:
        kind = spec["type"]
        if kind == "select_one":
            return fields.String(validate=validate.OneOf(choices[spec["choices"]]))
        if kind == "select_multiple":
            return fields.List(fields.String(validate=validate.OneOf(choices[spec["choices"]])))
        if kind == "integer":
            return fields.Integer(strict=True, validate=validate.Range(spec.get("min"), spec.get("max")))
        if kind == "geopoint":
            return fields.Dict()
        if kind == "repeat":
            return fields.List(fields.Nested(schema_for(spec["fields"])))
        return fields.String(validate=validate.Length(max=spec.get("max_length", 2000)))

    def schema_for(specs: list[dict]) -> type[Schema]:
        return Schema.from_dict({spec["name"]: field_for(spec) for spec in specs if spec["type"] != "note"})

    answers_schema = schema_for(defn["fields"])
    try:
        answers_schema(unknown=INCLUDE).load(record["answers"])
    except ValidationError as exc:
        return exc.messages
    return {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--naive-records", type=int, default=5_000, help="the baseline is slow: time it on fewer")
    args = parser.parse_args()
    defn = published("asset_mapping")
    records = make_records(args.records)

    started = time.perf_counter()
    validator = compile_form(defn)
    invalid = sum(1 for record in records if validator.validate(record))
    compiled = time.perf_counter() - started

    sample = records[: args.naive_records]
    started = time.perf_counter()
    naive_invalid = sum(1 for record in sample if naive_validate(defn, record))
    naive = time.perf_counter() - started

    rate, naive_rate = len(records) / compiled, len(sample) / naive
    print(f"{len(records)} asset-mapping records ({invalid} invalid), naive baseline on {len(sample)} ({naive_invalid} invalid)")
    print(f"compiled validator {rate:10,.0f} records/s")
    print(f"naive marshmallow  {naive_rate:10,.0f} records/s   (schema built per record)")
    print(f"ratio {rate / naive_rate:.1f}x")


if __name__ == "__main__":
    main()
