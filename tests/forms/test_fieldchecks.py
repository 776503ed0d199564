"""The shared field checks: one set of vectors, run in Python and in JavaScript, and the roster's agreement.

Every vector of forms/field_vectors.json runs through forms/fieldchecks.py
here and through forms/fieldchecks.mjs in Node (never skipped: without node
the test fails).  Random numbers and e-mails then check the promise the
phone makes: what it accepts the roster keeps (``phonenumbers``,
``email-validator``), and the two evaluators agree on all of them.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path

import phonenumbers
import pytest

from forms import fieldchecks
from forms.templates import published
from forms.validator import compile_form
from server.people.roster import normalize_email, normalize_phone

ROOT = Path(__file__).resolve().parents[2]
VECTORS_FILE = ROOT / "forms" / "field_vectors.json"
CHECKER = ROOT / "forms" / "check_field_vectors.mjs"
VECTORS = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["vectors"]


def python_result(v: dict):
    value = v["value"]
    return {
        "phone": lambda: fieldchecks.phone_ok(value, v["region"]),
        "email": lambda: fieldchecks.email_ok(value),
        "date": lambda: fieldchecks.date_ok(value),
        "time": lambda: fieldchecks.time_ok(value),
        "integer": lambda: fieldchecks.typed_number(value, "integer"),
        "decimal": lambda: fieldchecks.typed_number(value, "decimal"),
        "length": lambda: fieldchecks.length(value),
    }[v["check"]]()


def run_node(path: Path | None = None) -> tuple[int, dict]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the app's field checks (forms/fieldchecks.mjs) cannot be checked")
    done = subprocess.run([node, str(CHECKER)] + ([str(path)] if path else []), capture_output=True, text=True,
                          timeout=120, cwd=ROOT, check=False)
    try:
        return done.returncode, json.loads(done.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"check_field_vectors.mjs printed no summary (exit {done.returncode}): {done.stdout} {done.stderr}")


def test_the_vectors_cover_every_check_and_the_issue_21_cases():
    assert {v["check"] for v in VECTORS} == {"phone", "email", "date", "time", "integer", "decimal", "length"}
    refused = {v["value"] for v in VECTORS if v["expected"] is False}
    assert {"555-12", "12345", "(773) 555-12", "maria@example"} <= refused
    assert len({v.get("region") for v in VECTORS if v["check"] == "phone"}) >= 8


@pytest.mark.parametrize("v", VECTORS, ids=lambda v: f"{v['check']}:{v['value']!r}:{v.get('region', '')}")
def test_python_passes_every_vector(v):
    assert python_result(v) == v["expected"]


def test_javascript_passes_every_vector():
    code, summary = run_node()
    assert code == 0 and summary["total"] == len(VECTORS) and summary["failed"] == 0, summary


def test_the_javascript_checker_reports_a_mismatch(tmp_path):
    path = tmp_path / "v.json"
    path.write_text(json.dumps({"vectors": [{"check": "phone", "value": "555-12", "region": "US", "expected": True},
                                            {"check": "email", "value": "a@b.co", "expected": True}]}))
    code, summary = run_node(path)
    assert code == 1 and (summary["passed"], summary["failed"]) == (1, 1)


def _random_phones(rng: random.Random, n: int) -> list[tuple[str, str]]:
    regions = list(fieldchecks.phone_table()["regions"])
    out = []
    for _ in range(n):
        region = rng.choice(regions)
        kind = rng.random()
        if kind < 0.4:  # a real example, maybe mangled by a digit
            example = phonenumbers.example_number_for_type(region, rng.choice(
                [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]))
            if example is None:
                continue
            text = phonenumbers.format_number(example, rng.choice(
                [phonenumbers.PhoneNumberFormat.NATIONAL, phonenumbers.PhoneNumberFormat.INTERNATIONAL]))
            if rng.random() < 0.5:
                digits = [i for i, c in enumerate(text) if c.isdigit()]
                i = rng.choice(digits)
                text = rng.choice([text[:i] + text[i + 1:], text[:i] + str(rng.randrange(10)) + text[i:],
                                   text[:i] + str(rng.randrange(10)) + text[i + 1:]])
        else:  # random digits, the length of a phone number or near it
            text = ("+" if rng.random() < 0.3 else "") + "".join(str(rng.randrange(10)) for _ in range(rng.randint(5, 16)))
        out.append((text, region))
    return out


def test_a_phone_the_app_accepts_is_one_the_roster_keeps_and_both_evaluators_agree(tmp_path):
    rng = random.Random(21)
    cases = _random_phones(rng, 6000)
    accepted = [(text, region) for text, region in cases if fieldchecks.phone_ok(text, region)]
    assert len(accepted) > 800  # both verdicts are well represented
    kept_by_roster = [(t, r) for t, r in accepted if normalize_phone(t, r) is None]
    assert not kept_by_roster, kept_by_roster[:20]
    agree = sum(1 for t, r in cases if fieldchecks.phone_ok(t, r) == (normalize_phone(t, r) is not None))
    assert agree / len(cases) > 0.97  # stricter only for regions sharing a country code that are not listed
    path = tmp_path / "phones.json"
    path.write_text(json.dumps({"vectors": [{"check": "phone", "value": t, "region": r,
                                             "expected": fieldchecks.phone_ok(t, r)} for t, r in cases]}))
    code, summary = run_node(path)
    assert code == 0 and summary["failed"] == 0, summary["failures"][:5]


def test_an_email_the_app_accepts_is_one_the_roster_keeps(tmp_path):
    rng = random.Random(2121)
    alphabet = "abcXYZ019.-_+@'\" é"
    cases = ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 20))) for _ in range(6000)]
    cases += [f"{rng.choice(['ana', 'a.b', 'x+y'])}@{rng.choice(['example', 'ex-ample', 'a'])}.{rng.choice(['org', 'co', 'c0', '1'])}"
              for _ in range(500)]
    accepted = [c for c in cases if fieldchecks.email_ok(c)]
    assert len(accepted) > 200
    refused_by_roster = [c for c in accepted if normalize_email(c)[0] is None]
    assert not refused_by_roster, refused_by_roster[:20]
    path = tmp_path / "emails.json"
    path.write_text(json.dumps({"vectors": [{"check": "email", "value": c, "expected": fieldchecks.email_ok(c)} for c in cases]}))
    code, summary = run_node(path)
    assert code == 0 and summary["failed"] == 0, summary["failures"][:5]


def test_the_phone_regions_file_is_what_phonenumbers_gives():
    """The rules are phonenumbers' own (python -m forms.fieldchecks writes them)."""
    table = fieldchecks.phone_table()
    assert table["regions"] == fieldchecks.build_phone_table(list(table["regions"]))["regions"]


def test_the_validator_refuses_what_the_roster_would_drop():
    validator = compile_form(published("recruitment"))

    def problems(phone=None, email=None, region="US"):
        answers = {"outcome": "contacted", "interested": "yes", "full_name": "Maria Ortiz"}
        for channel in ("sms", "email", "call"):
            field = next(f for f in validator.defn["fields"][-1]["fields"] if f["name"] == f"consent_{channel}")
            answers[f"consent_{channel}"] = {"given": False, "language": "en", "text": field["consent_text"]["en"]}
        if phone:
            answers["phone"] = phone
        if email:
            answers["email"] = email
        record = {"form": "form:recruitment", "form_version": 1, "answers": answers}
        return validator.validate(record, "en", region=region)

    for phone in ("555-12", "12345", "(773) 555-12"):
        assert problems(phone=phone) == {"answers.phone": ["Must be a phone number."]}, phone
    assert problems(email="maria@example") == {"answers.email": ["Must be an e-mail address."]}
    assert problems(phone="(773) 555-0142", email="maria@example.org") == {}
    assert problems(phone="81 1234 5678", region="MX") == {}
    assert problems(phone="81 1234 5678", region="US") == {"answers.phone": ["Must be a phone number."]}
