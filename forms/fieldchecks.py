"""Field checks shared by the server's validator and the phone: one definition, two evaluators.

``forms/fieldchecks.mjs`` is the same rules in JavaScript (served to the app
as ``/app/lib/fieldchecks.mjs``); ``forms/field_vectors.json`` holds the test
vectors both must pass (``tests/forms/test_fieldchecks.py`` runs them here and
through ``node forms/check_field_vectors.mjs``), as the expression language's
vectors hold its two evaluators together.

**Phones** are checked the way the roster reads them (``server.people.roster``, with
``phonenumbers``): a number the phone accepts is one the roster keeps.  The
rules are data, not code: ``forms/phone_regions.json`` holds, for each region
listed, its country code, the prefixes dialled before a national number and
before an international one, and the national-number patterns of every kind
of line, copied from ``phonenumbers``' metadata by ``python -m
forms.fieldchecks`` (run it again to add a region or after upgrading
``phonenumbers``).  A number is read:

1. only digits, spaces, ``( ) . -`` and one leading ``+``; 5 to 32 characters;
2. with a ``+``: the country code is the first 1 to 3 digits that a listed
   region has, the rest the national number;
3. without: in the campaign's region (its ``phone_region``, else
   ``BLOCKWALK_PHONE_REGION``).  A leading international prefix (``011`` in
   the US, ``00`` elsewhere) makes it international as in 2; otherwise the
   national prefix (``1`` in the US, ``0`` in the UK) is dropped when what is
   left still looks like a national number;
4. it is good when the national number fully matches a pattern of one of the
   regions with that country code (a Chicago number typed in a Canadian
   campaign is good: the roster finds it is a US one).

A region not listed has no patterns: a number typed there is good when it has
7 to 15 digits (E.164's limits), which the roster may still find invalid.

**E-mails**: ``local@domain`` with a dot-atom local part (letters, digits and
``!#$%&'*+/=?^_`{|}~-``, dots not first, last or doubled; at most 64
characters), a domain of at least two labels (letters, digits, hyphens not at
either end, at most 63 characters each; the last one ending in a letter and
not a special-use name such as ``test`` or ``local``), 254 characters at most
in all.  Stricter than ``email-validator`` on purpose (no
quoted local parts, no IP literals): what this accepts, it accepts too.

**Dates** are ``YYYY-MM-DD`` and a real day; **times** ``HH:MM`` or
``HH:MM:SS``; **numbers** typed as text become numbers when they are whole
(``-12``) or decimal (``3.5``, ``.5``, ``5.``), else stay text (refused);
**lengths** count Unicode code points (what ``len`` and ``[...s].length``
count), not UTF-16 units.
"""

from __future__ import annotations

import json
import re
from datetime import date
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent
PHONE_REGIONS = HERE / "phone_regions.json"

PHONE_CHARS = re.compile(r"\+?[0-9 ().\-]{5,32}")
EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
EMAIL_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
SPECIAL_USE = ("arpa", "invalid", "local", "localhost", "onion", "test")  # reserved names: no e-mail there
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?")
INTEGER = re.compile(r"-?\d+")
DECIMAL = re.compile(r"-?(\d+\.?\d*|\.\d+)")

# The line kinds phonenumbers counts as valid numbers.
LINE_KINDS = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "personal_number", "voip",
              "pager", "uan", "voicemail")


@lru_cache(maxsize=1)
def phone_table() -> dict:
    return json.loads(PHONE_REGIONS.read_text(encoding="utf-8"))


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(f"(?:{pattern})")


def _full(pattern: str, text: str) -> bool:
    return _compiled(pattern).fullmatch(text) is not None


def _national_ok(national: str, rules: list[dict]) -> bool:
    return any(_full(p, national) for rule in rules for p in rule["patterns"])


def _by_code(table: dict, digits: str) -> tuple[list[dict], str] | None:
    for k in (1, 2, 3):
        rules = [r for r in table["regions"].values() if r["code"] == digits[:k]]
        if rules:
            return rules, digits[k:]
    return None


def phone_ok(text: object, region: str, table: dict | None = None) -> bool:
    """Whether ``text`` is a phone number the roster keeps, read in ``region`` when it has no ``+``."""
    table = table or phone_table()
    if not isinstance(text, str) or not PHONE_CHARS.fullmatch(text) or "+" in text[1:]:
        return False
    digits = re.sub(r"\D", "", text)
    if text.startswith("+"):
        found = _by_code(table, digits)
        return found is not None and _national_ok(found[1], found[0])
    rule = table["regions"].get((region or "").upper())
    if rule is None:
        return 7 <= len(digits) <= 15
    idd = _compiled(rule["international_prefix"]).match(digits) if rule.get("international_prefix") else None
    if idd and idd.end() < len(digits):
        found = _by_code(table, digits[idd.end():])
        if found is not None and _national_ok(found[1], found[0]):
            return True
    national = digits
    prefix = _compiled(rule["national_prefix"]).match(digits) if rule.get("national_prefix") else None
    if prefix and prefix.end() > 0:
        rest = digits[prefix.end():]
        if not (_full(rule["general"], digits) and not _full(rule["general"], rest)):
            national = rest
    return _national_ok(national, [r for r in table["regions"].values() if r["code"] == rule["code"]])


def email_ok(text: object) -> bool:
    if not isinstance(text, str) or len(text) > 254 or text.count("@") != 1:
        return False
    local, domain = text.split("@")
    if not (0 < len(local) <= 64 and EMAIL_LOCAL.fullmatch(local)):
        return False
    labels = domain.split(".")
    return (len(labels) >= 2 and len(domain) <= 253 and all(EMAIL_LABEL.fullmatch(label) for label in labels)
            and labels[-1][-1].isalpha() and labels[-1].lower() not in SPECIAL_USE)


def date_ok(text: object) -> bool:
    if not isinstance(text, str) or not DATE.fullmatch(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def time_ok(text: object) -> bool:
    return isinstance(text, str) and TIME.fullmatch(text) is not None


def typed_number(text: str, kind: str) -> int | float | str | None:
    """What a number typed at the door is stored as: a number, the text as typed (refused), None (empty)."""
    stripped = text.strip()
    if stripped == "":
        return None
    if kind == "integer":
        return int(stripped) if INTEGER.fullmatch(stripped) else text
    if DECIMAL.fullmatch(stripped):
        value = float(stripped)
        return int(value) if value.is_integer() and abs(value) < 2**53 else value
    return text


def length(text: str) -> int:
    return len(text)


def build_phone_table(regions: list[str]) -> dict:
    """The phone rules of ``regions`` from phonenumbers' metadata (the roster's own)."""
    import phonenumbers

    out: dict = {}
    for region in regions:
        meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if meta is None:
            raise SystemExit(f"{region}: phonenumbers has no such region")
        if meta.national_prefix_transform_rule:
            raise SystemExit(f"{region}: its national prefix rewrites numbers; not supported")
        patterns = []
        for kind in LINE_KINDS:
            desc = getattr(meta, kind)
            if desc is not None and desc.national_number_pattern:
                patterns.append(desc.national_number_pattern)
        out[region] = {
            "code": str(meta.country_code),
            "general": meta.general_desc.national_number_pattern,
            "national_prefix": meta.national_prefix_for_parsing or meta.national_prefix or None,
            "international_prefix": meta.international_prefix or None,
            "patterns": patterns,
        }
    return {
        "description": "Phone rules per region, from phonenumbers " + phonenumbers.__version__
                       + " (python -m forms.fieldchecks writes this file; see forms/fieldchecks.py).",
        "regions": out,
    }


REGIONS = ["US", "CA", "PR", "MX", "GT", "SV", "HN", "CO", "GB", "IE", "PL", "ES", "DE", "FR", "IT", "PT", "PH",
           "IN", "VN", "EG", "MA", "SA", "NG", "UA"]


if __name__ == "__main__":
    PHONE_REGIONS.write_text(json.dumps(build_phone_table(REGIONS), indent=1) + "\n", encoding="utf-8")
    print(f"wrote {PHONE_REGIONS}")
