"""The roster: recruitment sign-ups become people, deduplicated, with consent per channel.

A pure core (no store, no Flask): the projection hands in sign-ups, as read
from recruitment records, and gets back people.

**A sign-up** is one record that names a volunteer (``full_name``) and,
where its form asks ``interested``, answered ``yes``: the recruitment
drive's form, and any other drive's form (an XLSForm of a campaign's own)
that uses the same field names.  It holds who signed up, with
which phone, e-mail, languages, skills and availability, and the consent
answers (``consent_sms``, ``consent_email``, ``consent_call``), plus where
and when (the record's geotag and capture time), who canvassed (the
record's author) and at which household.

**Normalising.**  Phones become E.164 (``+17735550123``) with
``phonenumbers``, read in the campaign's default region when typed without
a country code; a number that is not a valid number (of the region, or of the country its
``+`` code names) stays in the history as typed, is listed among the
person's ``problems``, and is never used as a contact.  E-mails are checked
with ``email-validator`` (syntax only, no DNS: the server may be offline)
and compared case-insensitively.

**Same person.**  Two sign-ups are one person when (1) their e-mails are the
same; or (2) their phones are the same *and* their names are similar; or
(3) their names are similar and they were given at the same household.
Deduplication is transitive (a union-find over the sign-ups), so the order
sign-ups arrive in never changes who is merged with whom.  A phone shared by
two people whose names differ (a household's landline, a parent's mobile)
does not merge them: the roster would lose a volunteer.  Both stay, each
marked ``shared_phone``, so an organizer can see why one number appears twice.

Names are similar when, after folding case and accents and dropping
punctuation, they are equal, one's words are all in the other's (``Ana
Reyes`` and ``Ana María Reyes``) with at least two words, or
``difflib.SequenceMatcher`` gives a ratio of at least ``NAME_SIMILARITY``
(``Marta Nowak`` and ``Martha Nowak``).

**Merging keeps everything.**  A person keeps every sign-up as history
(oldest first).  Their contact details are the newest valid ones; languages,
skills and availability are the union; **consent per channel is the newest
statement for that channel** (a later "no" withdraws an earlier "yes"), with
its exact text, language, canvasser, time and place.

**Exports** (``rows``) fill each preset's columns, consent-gated, and keep
each CRM within the limits its import documents (``Preset.max_bytes``:
Mailchimp's 255 bytes for a text field), shortening a value at a grapheme
boundary (a letter with its accents, an emoji with its modifiers: never a
UTF-8 sequence cut in two) and telling an ``ExportReport`` which rows were
shortened and which people have a phone or e-mail that could not be
exported.  The CRM ``language`` is the language the person gave consent in,
else the language spoken at their door, else the first they listed.

The person's id is ``person:`` and the record id of their first sign-up; a
late-arriving earlier sign-up that merges into a person therefore changes the
id (documented in ``docs/roster.md``).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

import phonenumbers
import regex
from email_validator import EmailNotValidError, validate_email

from server.exports import E164, FORMULA_STARTS

CHANNELS = ("sms", "email", "call")
NAME_SIMILARITY = 0.85
_PUNCT = re.compile(r"[^\w\s]", re.UNICODE)


# --------------------------------------------------------------------------- normalising


def normalize_phone(raw: object, region: str) -> str | None:
    """E.164 for a phone typed at a door, or None when it is not a possible number."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    return _phone(raw, region)


# The roster is rebuilt from its sign-ups on every read; parsing is most of that cost, so the
# answers are remembered (pure functions of their arguments; bounded).
@functools.lru_cache(maxsize=200_000)
def _phone(raw: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, region.upper() or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: object) -> tuple[str | None, str | None]:
    """(the address as email-validator normalises it, None) or (None, why it is not an address)."""
    if not isinstance(raw, str) or not raw.strip():
        return None, None
    return _email(raw.strip())


@functools.lru_cache(maxsize=200_000)
def _email(raw: str) -> tuple[str | None, str | None]:
    try:
        return validate_email(raw, check_deliverability=False).normalized, None
    except EmailNotValidError as exc:
        return None, str(exc)


def name_key(name: object) -> str:
    """A name folded for comparison: no accents, no case, no punctuation, single spaces."""
    if not isinstance(name, str):
        return ""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join(_PUNCT.sub(" ", bare).split())


def similar_names(a: str, b: str) -> bool:
    """Whether two folded names (``name_key``) are likely the same person's."""
    if not a or not b:
        return False
    if a == b:
        return True
    words_a, words_b = set(a.split()), set(b.split())
    if min(len(words_a), len(words_b)) >= 2 and (words_a <= words_b or words_b <= words_a):
        return True
    return difflib.SequenceMatcher(None, a, b).ratio() >= NAME_SIMILARITY


def split_name(full_name: str) -> tuple[str, str]:
    """(first name, last name) for CRMs that want two columns: the first word, and the rest."""
    words = full_name.split()
    if not words:
        return "", ""
    return words[0], " ".join(words[1:])


# --------------------------------------------------------------------------- sign-ups


@dataclass(frozen=True)
class Consent:
    """One answer to a consent question, with what was shown and where it was given."""

    channel: str
    given: bool
    text: str
    language: str
    canvasser: str
    at: str
    record: str
    household: str | None
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class SignUp:
    record: str
    form: str
    at: str  # ISO 8601: the geotag's capture time, else the record's created_at
    canvasser: str
    device: str
    household: str | None
    turf: str | None
    full_name: str
    phone: str  # as typed
    email: str  # as typed
    languages: tuple[str, ...]
    skills: tuple[str, ...]
    availability: tuple[str, ...]
    consents: tuple[Consent, ...]
    door_language: str = ""  # the language spoken at the door: the answer door_language, else the record's language

    @property
    def name_key(self) -> str:
        return name_key(self.full_name)


def _strings(value: object) -> tuple[str, ...]:
    return tuple(v for v in value if isinstance(v, str)) if isinstance(value, list) else ()


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def record_time(doc: dict) -> str:
    """When a record was made: its geotag's capture time, else its created_at ("" when neither)."""
    geotag = doc.get("geotag") if isinstance(doc.get("geotag"), dict) else {}
    for stamp in (geotag.get("captured_at"), doc.get("created_at")):
        if isinstance(stamp, str) and stamp:
            return stamp
    return ""


def signup_from_record(doc: dict) -> SignUp | None:
    """The sign-up a record holds, or None (no volunteer's name, not interested, not a record, deleted)."""
    if doc.get("_deleted") or doc.get("type") != "record":
        return None
    answers = doc.get("answers")
    if not isinstance(answers, dict) or answers.get("interested", "yes") != "yes":
        return None
    full_name = _text(answers.get("full_name"))
    if not full_name:
        return None
    geotag = doc.get("geotag") if isinstance(doc.get("geotag"), dict) else {}
    at = record_time(doc)
    canvasser = _text(doc.get("author"))
    household = doc.get("household") if isinstance(doc.get("household"), str) else None
    consents = []
    for channel in CHANNELS:
        answer = answers.get(f"consent_{channel}")
        if not isinstance(answer, dict) or not isinstance(answer.get("given"), bool):
            continue
        consents.append(Consent(
            channel=channel, given=answer["given"], text=_text(answer.get("text")),
            language=_text(answer.get("language")) or _text(doc.get("language")), canvasser=canvasser, at=at,
            record=str(doc.get("_id")), household=household,
            lat=_number(geotag.get("lat")), lon=_number(geotag.get("lon")),
        ))
    return SignUp(
        record=str(doc.get("_id")), form=_text(doc.get("form")), at=at, canvasser=canvasser, device=_text(doc.get("device")), household=household,
        turf=doc.get("turf") if isinstance(doc.get("turf"), str) else None, full_name=full_name,
        phone=_text(answers.get("phone")), email=_text(answers.get("email")),
        languages=_strings(answers.get("languages")), skills=_strings(answers.get("skills")),
        availability=_strings(answers.get("availability")), consents=tuple(consents),
        door_language=_text(answers.get("door_language")) or _text(doc.get("language")),
    )


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


# --------------------------------------------------------------------------- people


@dataclass(frozen=True)
class Problem:
    """A phone or e-mail given at a door that cannot be used as a contact, as typed."""

    kind: str  # "phone" or "email"
    typed: str
    reason: str  # phone: "invalid" (not a valid number of ``region``); e-mail: email-validator's reason
    region: str | None = None  # phones: the region a number without a country code was read in

    @property
    def text(self) -> str:
        if self.kind == "phone":
            return f"phone {self.typed!r} is not a valid number" + (f" in {self.region}" if self.region else "")
        return f"e-mail {self.typed!r}: {self.reason}"


@dataclass(frozen=True)
class Person:
    id: str
    signups: tuple[SignUp, ...]  # oldest first
    full_name: str
    phone: str | None  # E.164
    email: str | None
    languages: tuple[str, ...]
    skills: tuple[str, ...]
    availability: tuple[str, ...]
    consent: dict[str, Consent] = field(default_factory=dict)  # the newest statement per channel
    shared_phone: bool = False
    problems: tuple[Problem, ...] = ()  # phones and e-mails that could not be used, as typed

    @property
    def first_signed_up_at(self) -> str:
        return self.signups[0].at

    @property
    def last_signed_up_at(self) -> str:
        return self.signups[-1].at

    def consents_to(self, channel: str) -> bool:
        statement = self.consent.get(channel)
        return statement is not None and statement.given


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


@dataclass(frozen=True)
class Key:
    """What deduplication reads of one sign-up: small, so a whole campaign's keys fit in memory."""

    record: str
    at: str
    household: str | None
    name: str  # name_key
    phone: str | None  # E.164
    email: str | None  # normalised (case kept)


def key_of(signup: SignUp, region: str) -> Key:
    return Key(signup.record, signup.at, signup.household, signup.name_key, normalize_phone(signup.phone, region),
               normalize_email(signup.email)[0])


def groups(keys: list[Key]) -> list[list[int]]:
    """Which keys are one person (indices into ``keys``, which are sorted by time then record): by first sign-up."""
    uf = _UnionFind(len(keys))

    def link(index: dict[object, list[int]], same) -> None:
        for members in index.values():
            for i, a in enumerate(members):
                for b in members[i + 1:]:
                    if uf.find(a) != uf.find(b) and same(a, b):
                        uf.union(a, b)

    by_email: dict[object, list[int]] = {}
    by_phone: dict[object, list[int]] = {}
    by_household: dict[object, list[int]] = {}
    for i, key in enumerate(keys):
        if key.email:
            by_email.setdefault(key.email.casefold(), []).append(i)
        if key.phone:
            by_phone.setdefault(key.phone, []).append(i)
        if key.household:
            by_household.setdefault(key.household, []).append(i)
    link(by_email, lambda a, b: True)
    similar = lambda a, b: similar_names(keys[a].name, keys[b].name)  # noqa: E731
    link(by_phone, similar)
    link(by_household, similar)
    found: dict[int, list[int]] = {}
    for i in range(len(keys)):
        found.setdefault(uf.find(i), []).append(i)
    return [found[root] for root in sorted(found)]  # a root is its group's smallest index: its first sign-up


def shared_phones(keys: list[Key], found: list[list[int]]) -> set[str]:
    """Phones given by more than one person."""
    owners: dict[str, int] = {}
    shared: set[str] = set()
    for n, members in enumerate(found):
        for i in members:
            phone = keys[i].phone
            if phone and owners.setdefault(phone, n) != n:
                shared.add(phone)
    return shared


def people(signups: Iterable[SignUp], region: str) -> list[Person]:
    """The people these sign-ups are, merged as the module says; ordered by first sign-up."""
    items = sorted(signups, key=lambda s: (s.at, s.record))
    keys = [key_of(s, region) for s in items]
    found = groups(keys)
    shared = shared_phones(keys, found)
    return [person([items[i] for i in members], [keys[i] for i in members], shared, region) for members in found]


def _union(values: Iterable[tuple[str, ...]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for group in values:
        for value in group:
            seen.setdefault(value, None)
    return tuple(seen)


def person(signups: list[SignUp], keys: list[Key], shared: set[str], region: str | None = None) -> Person:
    """One person from their sign-ups and those sign-ups' keys, oldest first (``region``: the one
    their phones were read in, named in their problems)."""
    phone = next((k.phone for k in reversed(keys) if k.phone), None)
    email = next((k.email for k in reversed(keys) if k.email), None)
    consent: dict[str, Consent] = {}
    for signup in signups:  # oldest first: a newer statement replaces an older one
        for statement in signup.consents:
            consent[statement.channel] = statement
    problems: dict[tuple[str, str], Problem] = {}  # one per phone or e-mail as typed, however often given
    for s, k in zip(signups, keys):
        if s.phone and not k.phone:
            problems.setdefault(("phone", s.phone), Problem("phone", s.phone, "invalid", region or None))
        if s.email and not k.email:
            problems.setdefault(("email", s.email), Problem("email", s.email, str(normalize_email(s.email)[1])))
    return Person(
        id=f"person:{signups[0].record}",
        signups=tuple(signups),
        full_name=signups[-1].full_name,
        phone=phone,
        email=email,
        languages=_union(s.languages for s in signups),
        skills=_union(s.skills for s in signups),
        availability=_union(s.availability for s in signups),
        consent=consent,
        shared_phone=phone in shared,
        problems=tuple(problems.values()),
    )


# --------------------------------------------------------------------------- exports


@dataclass(frozen=True)
class Preset:
    """Columns a CRM import accepts: (header, how to fill it), and who is listed at all."""

    name: str
    columns: tuple[tuple[str, str], ...]
    needs_contact: bool  # list only people who may be contacted on a channel this preset carries
    phone_channels: tuple[str, ...]  # the consents that allow the phone column
    # Header -> the most UTF-8 bytes the service keeps of that column's text (its documented limit).
    max_bytes: Mapping[str, int] = field(default_factory=dict)
    label: str = ""  # the service's name, for messages


MAILCHIMP_TEXT_BYTES = 255  # "Text fields are limited to a maximum of 255 bytes" (Mailchimp's import guidelines)

# Column sources (the second item of each column), filled by ``row``.
PRESETS = {
    "full": Preset("full", (
        ("person_id", "id"), ("full_name", "full_name"), ("first_name", "first_name"), ("last_name", "last_name"),
        ("phone", "phone"), ("email", "email"), ("languages", "languages"), ("skills", "skills"),
        ("availability", "availability"), ("consent_sms", "consent_sms"), ("consent_email", "consent_email"),
        ("consent_call", "consent_call"), ("consent_language", "consent_language"),
        ("first_signed_up_at", "first_signed_up_at"), ("last_signed_up_at", "last_signed_up_at"),
        ("signups", "signups"), ("canvassers", "canvassers"), ("turfs", "turfs"), ("shared_phone", "shared_phone"),
        ("problems", "problems"),
    ), needs_contact=False, phone_channels=("sms", "call"), label="Blockwalk"),
    # Action Network matches these headers to its own fields; it skips rows with neither an
    # e-mail nor a mobile number and requires opt-in for both, hence the consent gating.  Its
    # upload help documents no length limit for these fields.
    "action_network": Preset("action_network", (
        ("email", "email"), ("first_name", "first_name"), ("last_name", "last_name"),
        ("phone_number", "phone"), ("language", "language"), ("skills", "skills"),
        ("availability", "availability"), ("source", "source"),
    ), needs_contact=True, phone_channels=("sms",), label="Action Network"),
    # Mailchimp: "Email Address" is required for e-mail contacts, an SMS phone in E.164 for SMS
    # contacts; text fields (names, language, and tags here) keep at most 255 bytes.
    "mailchimp": Preset("mailchimp", (
        ("Email Address", "email"), ("First Name", "first_name"), ("Last Name", "last_name"),
        ("Phone Number", "phone"), ("Language", "language"), ("Tags", "tags"),
    ), needs_contact=True, phone_channels=("sms",), label="Mailchimp",
        max_bytes={"First Name": MAILCHIMP_TEXT_BYTES, "Last Name": MAILCHIMP_TEXT_BYTES,
                   "Language": MAILCHIMP_TEXT_BYTES, "Tags": MAILCHIMP_TEXT_BYTES}),
}
LIST_SEPARATORS = {"tags": ","}  # columns whose items are kept or left out whole, never cut


def gated_contact(person: Person, preset: Preset) -> tuple[str | None, str | None]:
    """(phone, e-mail) as an export may show them: each only with consent to a channel that uses it."""
    phone = person.phone if any(person.consents_to(c) for c in preset.phone_channels) else None
    email = person.email if person.consents_to("email") else None
    return phone, email


def _consent_cell(person: Person, channel: str) -> str:
    statement = person.consent.get(channel)
    return "" if statement is None else ("yes" if statement.given else "no")


def crm_language(person: Person) -> str:
    """The language to write to a person in: that of their newest consent statement, else the one
    spoken at the door of their newest sign-up that says, else the first they listed."""
    statements = sorted(person.consent.values(), key=lambda c: (c.at, CHANNELS.index(c.channel)))
    for statement in reversed(statements):
        if statement.language:
            return statement.language
    for signup in reversed(person.signups):
        if signup.door_language:
            return signup.door_language
    return person.languages[0] if person.languages else ""


def problems_cell(person: Person, preset: Preset) -> str:
    """The person's unusable phones and e-mails for an export, each as typed only with consent to a
    channel that would use it (else said without it)."""
    phone_ok = any(person.consents_to(c) for c in preset.phone_channels)
    email_ok = person.consents_to("email")
    out = []
    for problem in person.problems:
        if problem.kind == "phone":
            out.append(problem.text if phone_ok else "a phone that is not a valid number (not shown: no consent)")
        else:
            out.append(problem.text if email_ok else "an e-mail that is not valid (not shown: no consent)")
    return "; ".join(out)


# --------------------------------------------------------------------------- limits

_GRAPHEME = regex.compile(r"\X")


def fit_bytes(text: str, limit: int) -> str:
    """``text`` if its UTF-8 takes at most ``limit`` bytes, else its longest start that does and ends
    at a grapheme boundary (a letter with its combining marks, an emoji with its modifiers and
    joiners stay whole; a UTF-8 sequence is never split), without trailing spaces.  A text whose
    first grapheme alone is too long is cut at a character boundary instead."""
    if len(text) * 4 <= limit or len(text.encode("utf-8")) <= limit:
        return text
    size, end = 0, 0
    for match in _GRAPHEME.finditer(text):
        size += len(match.group().encode("utf-8"))
        if size > limit:
            break
        end = match.end()
    if end == 0:  # one grapheme longer than the limit (a letter under hundreds of marks)
        size = 0
        for end, char in enumerate(text):
            size += len(char.encode("utf-8"))
            if size > limit:
                break
    return text[:end].rstrip()


def fit_items(items: list[str], separator: str, limit: int) -> str:
    """As many whole items, in order, as fit in ``limit`` UTF-8 bytes joined by ``separator``."""
    kept: list[str] = []
    size = 0
    for item in items:
        extra = len(item.encode("utf-8")) + (len(separator) if kept else 0)
        if size + extra > limit:
            continue
        kept.append(item)
        size += extra
    return separator.join(kept)


def _budget(text: str, limit: int) -> int:
    """The bytes a value may take so that the cell, as written, fits: the quote a formula-like text
    gets in CSV (``server.exports.safe_cell``) counts too."""
    return limit - 1 if text[:1] in FORMULA_STARTS and not E164.fullmatch(text) else limit


@dataclass
class ExportReport:
    """What an export had to change or leave out, row by row (``row``: the line of the file, the
    header being line 1; None for a person not in the file at all)."""

    cut: list[dict] = field(default_factory=list)  # {"row", "person", "columns"}
    problems: list[dict] = field(default_factory=list)  # {"row", "person", "kinds"}
    no_consent: int = 0  # people left out of a preset that needs a contact: no consent to a channel it uses

    def summary(self, preset: Preset) -> list[str]:
        """What to tell whoever exported, in a line each (the command line prints it)."""
        out = []
        if self.cut:
            rows_ = ", ".join(str(c["row"]) for c in self.cut[:20]) + (", ..." if len(self.cut) > 20 else "")
            out.append(f"{len(self.cut)} row(s) shortened to fit {preset.label}'s limits: line(s) {rows_}")
        if self.problems:
            out.append(f"{len(self.problems)} person(s) with a phone or e-mail that could not be exported "
                       "(see their problems on the roster)")
        if self.no_consent:
            out.append(f"{self.no_consent} person(s) left out: no consent to a channel {preset.label} uses")
        return out

    def logged(self, limit: int = 200) -> dict:
        """For the export log: the counts, and the first ``limit`` rows of each."""
        return {"cut_rows": len(self.cut), "cut": self.cut[:limit],
                "problem_people": len(self.problems), "problems": self.problems[:limit],
                "no_consent": self.no_consent}


def rows(people_: Iterable[Person], preset: Preset, report: ExportReport | None = None) -> Iterator[list[object]]:
    """One list of cells per person (headers not included), consent-gated; people with no usable
    contact are left out of the presets that need one; values past the preset's limits shortened.
    ``report`` is told which rows were shortened and which people have an unusable phone or e-mail."""
    line = 1  # the header
    for person in people_:
        phone, email = gated_contact(person, preset)
        if preset.needs_contact and not phone and not email:
            if report is not None and person.problems:
                report.problems.append({"row": None, "person": person.id,
                                        "kinds": sorted({p.kind for p in person.problems})})
            elif report is not None:
                report.no_consent += 1
            continue
        line += 1
        first, last = split_name(person.full_name)
        values = {
            "id": person.id, "full_name": person.full_name, "first_name": first, "last_name": last,
            "phone": phone or "", "email": email or "",
            "languages": ";".join(person.languages), "language": crm_language(person),
            "skills": ";".join(person.skills), "availability": ";".join(person.availability),
            "consent_sms": _consent_cell(person, "sms"), "consent_email": _consent_cell(person, "email"),
            "consent_call": _consent_cell(person, "call"),
            "consent_language": ";".join(sorted({c.language for c in person.consent.values() if c.language})),
            "first_signed_up_at": person.first_signed_up_at, "last_signed_up_at": person.last_signed_up_at,
            "signups": len(person.signups),
            "canvassers": ";".join(_union((s.canvasser,) for s in person.signups if s.canvasser)),
            "turfs": ";".join(_union((s.turf,) for s in person.signups if s.turf)),
            "shared_phone": "yes" if person.shared_phone else "",
            "source": "blockwalk",
            "tags": ",".join(["blockwalk", *person.skills]),
        }
        if "problems" in (source for _, source in preset.columns):
            values["problems"] = problems_cell(person, preset)
        cells = []
        cut = []
        for header, source in preset.columns:
            value = values[source]
            limit = preset.max_bytes.get(header)
            if limit is not None and isinstance(value, str) and value:
                separator = LIST_SEPARATORS.get(source)
                fitted = (fit_items(value.split(separator), separator, _budget(value, limit)) if separator
                          else fit_bytes(value, _budget(value, limit)))
                if fitted != value:
                    cut.append(header)
                    value = fitted
            cells.append(value)
        if report is not None:
            if cut:
                report.cut.append({"row": line, "person": person.id, "columns": cut})
            if person.problems:
                report.problems.append({"row": line, "person": person.id,
                                        "kinds": sorted({p.kind for p in person.problems})})
        yield cells


def headers(preset: Preset) -> list[str]:
    return [header for header, _ in preset.columns]
