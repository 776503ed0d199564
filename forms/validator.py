"""A published form version, compiled once into a validator of records.

``compile_form(defn)`` turns a definition into a ``FormValidator``; its
``validate(record, language)`` returns every problem at once as
``{"answers.outcome": ["An answer is required."], ...}`` (empty: valid).

How a record is checked, in order:

1. relevance (skip logic) is evaluated on the raw answers, groups first; the
   answers of fields that are not relevant are set aside and never checked;
2. a marshmallow schema built once per version and language checks what is
   left: unknown fields, types, choices, ranges, lengths, patterns (repeats
   are checked instance by instance, with relevance per instance);
3. relevant required fields without an answer, and answers whose
   ``constraint`` is false, are reported with the form's own messages.

The geotag is checked by a few plain functions.  Messages come in the language
asked for, falling back to the form's default language.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from email_validator import EmailNotValidError, validate_email
from marshmallow import RAISE, Schema, ValidationError, fields

from forms import expressions, fieldchecks
from forms.definition import require_valid
from forms.messages import message

DEFAULT_PHONE_REGION = "US"  # BLOCKWALK_PHONE_REGION's default
DEFAULT_MAX_TEXT = 2000
GEOTAG_SOURCES = {"gps", "network", "manual"}


# -- rules: what marshmallow does not do --------------------------------------------------


@dataclass
class Rule:
    """One answerable field of a schema level (top level or a repeat's instance)."""

    name: str
    relevant: list[expressions.Expr]  # its groups' and its own
    required: bool
    constraint: expressions.Expr | None
    texts: dict  # constraint_message, required_message per language
    kind: str
    repeat: "Level | None" = None
    min_count: int | None = None
    max_count: int | None = None


@dataclass
class Level:
    rules: list[Rule]
    schemas: dict[tuple[str, str], Schema]  # per language and phone region
    build: Callable[[str, str], Schema]


class FormValidator:
    def __init__(self, defn: dict):
        self.defn = require_valid(defn)
        self.form = f"form:{defn['form_id']}"
        self.version = defn.get("version")
        self.languages = defn["languages"]
        self.default_language = defn.get("default_language", self.languages[0])
        self.choices = {
            name: {c["value"] for c in items if not c.get("retired")} for name, items in defn.get("choices", {}).items()
        }
        self.uses_today = False  # does any expression call today()? (set while compiling)
        self.asks_phone = False  # has it a phone field? (its check depends on the campaign's region)
        self.top = self._level(defn["fields"])
        self._lock = threading.Lock()
        self._geotag: dict[str, dict] = {}

    # -- compiling --------------------------------------------------------------------

    def _level(self, field_list: list) -> Level:
        rules: list[Rule] = []
        specs: list[dict] = []
        self._collect(field_list, [], rules, specs)
        by_name = {spec["name"]: spec for spec in specs}

        def build(language: str, region: str) -> Schema:
            declared = {name: self._marshmallow_field(spec, language, region) for name, spec in by_name.items()}
            declared["Meta"] = type("Meta", (), {"unknown": RAISE})
            declared["error_messages"] = {"unknown": message(language, "unknown_field")}
            return type("AnswersSchema", (Schema,), declared)()

        return Level(rules, {}, build)

    def _collect(self, field_list: list, relevant: list, rules: list[Rule], specs: list[dict]) -> None:
        for field in field_list:
            own = relevant + ([expressions.parse(field["relevant"])] if field.get("relevant") else [])
            constraint = expressions.parse(field["constraint"]) if field.get("constraint") else None
            self.uses_today = self.uses_today or any(e.uses_today for e in own) or bool(constraint and constraint.uses_today)
            kind = field["type"]
            self.asks_phone = self.asks_phone or kind == "phone"
            if kind == "group":
                self._collect(field["fields"], own, rules, specs)
                continue
            specs.append(field)
            if kind == "note":
                continue
            rule = Rule(
                name=field["name"],
                relevant=own,
                required=bool(field.get("required")),
                constraint=constraint,
                texts={k: field[k] for k in ("constraint_message", "required_message") if k in field},
                kind=kind,
            )
            if kind == "repeat":
                rule.repeat = self._level(field["fields"])
                rule.min_count, rule.max_count = field.get("min_count"), field.get("max_count")
            rules.append(rule)

    def _schema(self, level: Level, language: str, region: str) -> Schema:
        schema = level.schemas.get((language, region))
        if schema is None:
            with self._lock:
                schema = level.schemas.setdefault((language, region), level.build(language, region))
        return schema

    def _marshmallow_field(self, spec: dict, language: str, region: str) -> fields.Field:
        kind = spec["type"]
        say = lambda key, **params: message(language, key, **params)  # noqa: E731
        checks: list[Callable[[object], None]] = []
        if "min" in spec:
            low = spec["min"]
            checks.append(lambda v: _fail(say("too_small", min=low)) if v < low else None)
        if "max" in spec:
            high = spec["max"]
            checks.append(lambda v: _fail(say("too_large", max=high)) if v > high else None)
        if kind in ("text", "phone", "email"):
            shortest, longest = spec.get("min_length"), spec.get("max_length", DEFAULT_MAX_TEXT if kind == "text" else None)
            if shortest is not None:
                checks.append(lambda v: _fail(say("too_short", min=shortest)) if fieldchecks.length(v) < shortest else None)
            if longest is not None:
                checks.append(lambda v: _fail(say("too_long", max=longest)) if fieldchecks.length(v) > longest else None)
        if "pattern" in spec:
            pattern = re.compile(spec["pattern"])
            text = self._text(spec.get("pattern_message"), language) or say("pattern")
            checks.append(lambda v: _fail(text) if not pattern.fullmatch(v) else None)
        parse = self._parser(spec, language, say, region)
        return _Answer(parse, checks)

    def _parser(self, spec: dict, language: str, say, region: str) -> Callable[[object], object]:
        kind = spec["type"]
        if kind in ("text", "photo"):
            return lambda v: v if isinstance(v, str) else _fail(say("not_text"))
        if kind == "integer":
            return lambda v: v if type(v) is int else _fail(say("not_integer"))
        if kind == "decimal":
            return lambda v: v if type(v) in (int, float) and math.isfinite(v) else _fail(say("not_number"))
        if kind == "select_one":
            allowed = self.choices[spec["choices"]]
            return lambda v: v if isinstance(v, str) and v in allowed else _fail(say("not_choice", value=_show(v)))
        if kind == "select_multiple":
            allowed = self.choices[spec["choices"]]
            return lambda v: _select_multiple(v, allowed, say)
        if kind == "date":
            return lambda v: _date(v, say)
        if kind == "time":
            return lambda v: v if fieldchecks.time_ok(v) else _fail(say("not_time"))
        if kind == "phone":
            # forms/fieldchecks.py: a number the roster keeps, read in the campaign's region.
            return lambda v: v if fieldchecks.phone_ok(v, region) else _fail(say("not_phone"))
        if kind == "email":
            return lambda v: _email(v, say)
        if kind == "geopoint":
            return lambda v: _geopoint(v, say)
        if kind == "consent":
            texts = spec["consent_text"]
            return lambda v: _consent(v, texts, say)
        if kind == "note":
            return lambda v: _fail(say("no_answer"))
        if kind == "repeat":
            # Only the shape here; each instance is checked by _validate_level, which knows the scope.
            return lambda v: v if isinstance(v, list) else _fail(say("not_repeat"))
        raise AssertionError(kind)  # check_definition refused every other type

    def _text(self, texts: dict | None, language: str) -> str | None:
        if not texts:
            return None
        return texts.get(language) or texts.get(self.default_language)

    # -- validating -----------------------------------------------------------------------

    def validate(self, record: dict, language: str | None = None, region: str | None = None) -> dict[str, list[str]]:
        """Every problem of a record's answers and geotag, by path; {} when valid.

        ``region``: the campaign's phone region (``server.people.roster_export.campaign_region``), in
        which a phone typed without a country code is read; default ``US``.
        """
        language = language if language in self.languages else self.default_language
        region = (region or DEFAULT_PHONE_REGION).upper()
        problems: dict[str, list[str]] = {}
        if record.get("form") != self.form or record.get("form_version") != self.version:
            problems["form_version"] = [message(language, "wrong_form")]
        answers = record.get("answers")
        if not isinstance(answers, dict):
            problems["answers"] = [message(language, "not_object")]
        else:
            # today() is the day the record was made, not the day it reached the server.
            context = (record, _record_day(record) if self.uses_today else None)
            self._validate_level(self.top, answers, answers, (language, region), "answers", problems, context)
        geotag = record.get("geotag")
        if geotag is not None:
            self._check_geotag(geotag, language, problems)
        return problems

    def _check_geotag(self, geotag: object, language: str, problems: dict) -> None:
        # A few fixed checks: plain functions, not a schema (this runs for every record).
        if not isinstance(geotag, dict):
            problems["geotag"] = [message(language, "not_geopoint")]
            return
        checks = self._geotag.get(language)
        if checks is None:
            checks = self._geotag[language] = geotag_checks(language)
        for key in ("lat", "lon"):
            if geotag.get(key) is None:
                problems[f"geotag.{key}"] = [message(language, "required")]
        for key, value in geotag.items():
            check = checks.get(key)
            if check is not None and value is not None:
                try:
                    check(value)
                except ValidationError as exc:
                    problems.setdefault(f"geotag.{key}", []).extend(exc.messages)

    def _validate_level(self, level: Level, answers: dict, scope: dict, where: tuple[str, str], path: str,
                        problems: dict, context: tuple[dict, str | None]) -> None:
        record, today = context
        language = where[0]
        # An empty answer ("", [], null) is no answer: it can only be "required".
        kept = {name: value for name, value in answers.items() if value is not None and value != "" and value != []}
        asked: list[Rule] = []  # the rules whose field is relevant, in order
        evaluate, truthy = expressions.evaluate, expressions.truthy
        for rule in level.rules:
            if rule.name not in kept and not rule.required:
                continue  # no answer and none needed: relevant or not, there is nothing to check
            for expr in rule.relevant:
                if not truthy(evaluate(expr, scope, today=today)):
                    kept.pop(rule.name, None)  # answers of fields that are not asked are ignored
                    break
            else:
                asked.append(rule)
        schema = level.schemas.get(where) or self._schema(level, *where)
        loaded = _fast_load(schema, kept)
        if loaded is None:
            # Something is wrong: let marshmallow collect every problem of this level.
            try:
                loaded = schema.load(kept)
            except ValidationError as exc:
                _flatten(exc.messages, path, problems)
                loaded = exc.valid_data if isinstance(exc.valid_data, dict) else {}
        for rule in asked:
            value = kept.get(rule.name)  # None: no answer (empty ones were dropped above)
            if value is None:
                if rule.required:
                    problems.setdefault(f"{path}.{rule.name}", []).append(
                        self._text(rule.texts.get("required_message"), language) or message(language, "required")
                    )
                continue
            if rule.name not in loaded:
                continue
            if rule.repeat is not None:
                self._validate_repeat(rule, value, scope, where, f"{path}.{rule.name}", problems, context)
            elif rule.kind == "photo" and value not in (record.get("_attachments") or {}):
                problems.setdefault(f"{path}.{rule.name}", []).append(message(language, "not_photo"))
            elif rule.constraint is not None:
                if not truthy(evaluate(rule.constraint, scope, current=value, today=today)):
                    problems.setdefault(f"{path}.{rule.name}", []).append(
                        self._text(rule.texts.get("constraint_message"), language) or message(language, "constraint")
                    )

    def _validate_repeat(self, rule: Rule, instances: list, scope: dict, where: tuple[str, str], path: str,
                         problems: dict, context: tuple[dict, str | None]) -> None:
        language = where[0]
        if rule.min_count is not None and len(instances) < rule.min_count:
            problems.setdefault(path, []).append(message(language, "too_few", min=rule.min_count))
        if rule.max_count is not None and len(instances) > rule.max_count:
            problems.setdefault(path, []).append(message(language, "too_many", max=rule.max_count))
            return
        assert rule.repeat is not None
        for i, instance in enumerate(instances):
            if not isinstance(instance, dict):
                problems.setdefault(f"{path}.{i}", []).append(message(language, "not_object"))
                continue
            # Inside an instance, ${name} finds the instance's own answers first.
            self._validate_level(rule.repeat, instance, {**scope, **instance}, where, f"{path}.{i}", problems, context)

def _record_day(record: dict) -> str | None:
    """The day a record was made: its geotag's capture time, else its created_at."""
    geotag = record.get("geotag")
    for stamp in (geotag.get("captured_at") if isinstance(geotag, dict) else None, record.get("created_at")):
        if isinstance(stamp, str) and len(stamp) >= 10:
            try:
                return date.fromisoformat(stamp[:10]).isoformat()
            except ValueError:
                continue
    return None


def _fast_load(schema: Schema, answers: dict) -> dict | None:
    """The schema's own fields, their parsers and checks called directly: the answers if all are good, else None.

    Most records are valid; marshmallow's full ``load`` (and its error
    collection) costs three times as much, so it runs only when this finds a problem.
    """
    declared = schema.fields
    for name, value in answers.items():
        field = declared.get(name)
        if field is None:
            return None
        try:
            value = field.parse(value)
            for check in field.checks:
                check(value)
        except ValidationError:
            return None
    return answers


def _fail(text: str):
    raise ValidationError(text)


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _select_multiple(value: object, allowed: set, say) -> object:
    if not isinstance(value, list):
        _fail(say("not_list"))
    seen = set()
    for item in value:
        if not isinstance(item, str) or item not in allowed:
            _fail(say("not_choice", value=_show(item)))
        if item in seen:
            _fail(say("repeated_choice", value=_show(item)))
        seen.add(item)
    return value


def _date(value: object, say) -> object:
    if not fieldchecks.date_ok(value):
        _fail(say("not_date"))
    return value


def _email(value: object, say) -> object:
    # The shared rule (the phone's), then email-validator (the roster's), which the shared rule never contradicts.
    if not fieldchecks.email_ok(value):
        _fail(say("not_email"))
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        _fail(say("not_email"))
    return value


def _number(value: object) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


def _geopoint(value: object, say) -> object:
    if not isinstance(value, dict) or not _number(value.get("lat")) or not _number(value.get("lon")):
        _fail(say("not_geopoint"))
    if not -90 <= value["lat"] <= 90:
        _fail(say("latitude"))
    if not -180 <= value["lon"] <= 180:
        _fail(say("longitude"))
    if "accuracy_m" in value and not (_number(value["accuracy_m"]) and value["accuracy_m"] >= 0):
        _fail(say("accuracy"))
    return value


def _consent(value: object, texts: dict, say) -> object:
    if (not isinstance(value, dict) or not isinstance(value.get("given"), bool)
            or not isinstance(value.get("language"), str) or not isinstance(value.get("text"), str)):
        _fail(say("not_consent"))
    if texts.get(value["language"]) != value["text"]:
        _fail(say("consent_text", language=value["language"]))
    return value


class _Answer(fields.Field):
    """One answer: a parser (type and choices) and checks (ranges, lengths, pattern)."""

    def __init__(self, parse: Callable[[object], object], checks: list[Callable[[object], None]]):
        super().__init__(allow_none=True, required=False)
        self.parse = parse
        self.checks = checks

    def _deserialize(self, value, attr, data, **kwargs):
        value = self.parse(value)
        for check in self.checks:
            check(value)
        return value


def _flatten(messages: object, path: str, problems: dict[str, list[str]]) -> None:
    if isinstance(messages, dict):
        for key, inner in messages.items():
            _flatten(inner, f"{path}.{key}" if key != "_schema" else path, problems)
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        problems.setdefault(path, []).extend(messages)
    elif isinstance(messages, list):
        for i, inner in enumerate(messages):
            _flatten(inner, f"{path}.{i}", problems)
    else:
        problems.setdefault(path, []).append(str(messages))


def geotag_checks(language: str) -> dict[str, Callable[[object], object]]:
    """The checks of ``{lat, lon, accuracy_m, captured_at, source, altitude_m}``, messages in ``language``."""
    say = lambda key: message(language, key)  # noqa: E731

    def number_in(low: float, high: float, key: str):
        return lambda v: v if _number(v) and low <= v <= high else _fail(say(key))

    def captured(v):
        if not isinstance(v, str):
            _fail(say("captured_at"))
        try:
            datetime.fromisoformat(v.replace("Z", "+00:00"))
        except ValueError:
            _fail(say("captured_at"))
        return v

    return {
        "lat": number_in(-90, 90, "latitude"),
        "lon": number_in(-180, 180, "longitude"),
        "accuracy_m": number_in(0, 1e7, "accuracy"),
        "captured_at": captured,
        "source": lambda v: v if v in GEOTAG_SOURCES else _fail(say("source")),
        "altitude_m": number_in(-1e5, 1e5, "not_number"),
    }


def compile_form(defn: dict) -> FormValidator:
    """The validator of a form version.  Compile once and keep it: the server
    caches one per campaign, form and version (published versions never change)."""
    return FormValidator(defn)


__all__ = ["FormValidator", "compile_form", "geotag_checks"]
