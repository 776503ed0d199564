"""Form definitions: the shape of a ``form`` document, and every way it can be wrong.

``check_definition`` reports all problems at once, each with where it is
(``fields[3].relevant``) and a message a coordinator can act on; a form is
stored or published only when it has none.  ``docs/forms.md`` describes the
format.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import orjson

from forms import expressions

NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")

ANSWER_TYPES = {
    "text", "integer", "decimal", "select_one", "select_multiple", "date", "time",
    "phone", "email", "geopoint", "photo", "consent",
}
CONTAINER_TYPES = {"group", "repeat"}
TYPES = ANSWER_TYPES | CONTAINER_TYPES | {"note"}
SELECTS = {"select_one", "select_multiple"}

MERGE_POLICIES = {"last_writer", "union", "forward_only", "best_accuracy", "keep_both"}
DEFAULT_MERGE = {"select_multiple": "union", "geopoint": "best_accuracy"}
MERGE_FOR_TYPES = {
    "union": {"select_multiple"},
    "forward_only": {"select_one"},
    "best_accuracy": {"geopoint"},
    "keep_both": {"text"},
}

FIELD_KEYS = {
    "name", "type", "label", "hint", "required", "relevant", "constraint", "constraint_message",
    "required_message", "min", "max", "min_length", "max_length", "pattern", "pattern_message", "default",
    "choices", "merge", "accuracy_m", "consent_text", "fields", "min_count", "max_count", "appearance", "concern",
}
FORM_KEYS = {
    "_id", "_rev", "_revisions", "_attachments", "_deleted", "_conflicts", "type", "form_id", "status", "version",
    "drive", "title", "languages", "default_language", "settings", "fields", "choices", "changes", "description",
}
SETTINGS = {"geotag_accuracy_m", "xlsform_version"}
TRANSLATED = ("label", "hint", "constraint_message", "required_message", "pattern_message", "consent_text")
EXPRESSIONS = ("relevant", "constraint")

MAX_FIELDS = 500
MAX_CHOICES = 1000
MAX_BYTES = 1_000_000
MAX_DEPTH = 5


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class DefinitionError(ValueError):
    """A form definition with problems; ``problems`` lists them all."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def form_doc_id(form_id: str, version: int | None = None) -> str:
    return f"form:{form_id}" if version is None else f"form:{form_id}@{version}"


def iter_fields(fields: list, path: str = "fields") -> Iterator[tuple[str, dict, str | None]]:
    """Every field, depth first: (its path, the field, the repeat it sits in or None)."""
    yield from _iter(fields, path, None)


def _iter(fields: list, path: str, repeat: str | None) -> Iterator[tuple[str, dict, str | None]]:
    for i, field in enumerate(fields):
        if not isinstance(field, dict):
            continue
        here = f"{path}[{i}]"
        yield here, field, repeat
        inner = field.get("fields")
        if isinstance(inner, list):
            inner_repeat = field.get("name") if field.get("type") == "repeat" else repeat
            yield from _iter(inner, f"{here}.fields", inner_repeat)


def merge_policy(field: dict) -> str:
    return field.get("merge") or DEFAULT_MERGE.get(field.get("type", ""), "last_writer")


def check_definition(defn: object) -> list[Problem]:
    """Every problem of a form definition (an empty list: the form is good)."""
    problems: list[Problem] = []

    def add(path: str, message: str) -> None:
        problems.append(Problem(path, message))

    if not isinstance(defn, dict):
        return [Problem("(form)", "A form definition must be a JSON object")]
    try:
        size = len(orjson.dumps(defn))
    except (orjson.JSONEncodeError, TypeError):
        return [Problem("(form)", "The form holds text that is not valid Unicode, or a value JSON cannot hold")]
    if size > MAX_BYTES:
        add("(form)", f"The form is {size} bytes; the limit is {MAX_BYTES}")
    for key in sorted(set(defn) - FORM_KEYS):
        add(key, f"Unknown key {key!r}")
    form_id = defn.get("form_id")
    if not isinstance(form_id, str) or not NAME.fullmatch(form_id):
        add("form_id", "form_id must be a name: letters, digits and _, a letter first, at most 64 characters")
    status, version = defn.get("status"), defn.get("version")
    if status not in ("draft", "published"):
        add("status", "status must be draft or published")
    elif status == "published" and (type(version) is not int or version < 1):
        add("version", "A published form needs a version: a whole number from 1")
    elif status == "draft" and version is not None:
        add("version", "A draft has no version; publishing gives it one")
    if isinstance(form_id, str) and status in ("draft", "published") and "_id" in defn:
        expected = form_doc_id(form_id, version if status == "published" else None)
        if defn["_id"] != expected:
            add("_id", f"The id of this form must be {expected!r}")
    languages = defn.get("languages")
    if not isinstance(languages, list) or not languages or not all(isinstance(x, str) and LANGUAGE.fullmatch(x) for x in languages):
        add("languages", "languages must be a non-empty list of language codes such as en, es, pt-BR")
        languages = ["en"]
    elif len(set(languages)) != len(languages):
        add("languages", "A language is listed twice")
    default_language = defn.get("default_language", languages[0])
    if default_language not in languages:
        add("default_language", f"The default language {default_language!r} is not in languages")
        default_language = languages[0]
    _check_text(defn.get("title"), "title", languages, default_language, add, required=True)
    settings = defn.get("settings", {})
    if not isinstance(settings, dict):
        add("settings", "settings must be an object")
    else:
        for key in sorted(set(settings) - SETTINGS):
            add(f"settings.{key}", f"Unknown setting {key!r}; settings: {', '.join(sorted(SETTINGS))}")
        accuracy = settings.get("geotag_accuracy_m")
        if accuracy is not None and not (isinstance(accuracy, (int, float)) and not isinstance(accuracy, bool) and accuracy > 0):
            add("settings.geotag_accuracy_m", "geotag_accuracy_m must be a positive number of metres")

    choices = defn.get("choices", {})
    if not isinstance(choices, dict):
        add("choices", "choices must be an object of named lists")
        choices = {}
    for list_name, items in choices.items():
        _check_choice_list(list_name, items, languages, default_language, add)

    fields = defn.get("fields")
    if not isinstance(fields, list) or not fields:
        add("fields", "A form needs a non-empty list of fields")
        return problems
    names: dict[str, str] = {}
    count = 0
    for path, field, _repeat in iter_fields(fields):
        count += 1
        name = field.get("name")
        if isinstance(name, str) and name in names:
            add(f"{path}.name", f"The field name {name!r} is used twice (also at {names[name]})")
        elif isinstance(name, str):
            names[name] = path
    if count > MAX_FIELDS:
        add("fields", f"The form has {count} fields; the limit is {MAX_FIELDS}")
    for i, field in enumerate(fields):
        _check_field(field, f"fields[{i}]", 1, choices, languages, default_language, add)
    _check_references(fields, names, add)
    return problems


def require_valid(defn: object) -> dict:
    problems = check_definition(defn)
    if problems:
        raise DefinitionError(problems)
    assert isinstance(defn, dict)
    return defn


def _check_text(value: object, path: str, languages: list, default_language: str, add, required: bool = False) -> None:
    if value is None:
        if required:
            add(path, f"Text in the default language ({default_language}) is required")
        return
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        add(path, 'Text must be an object of languages: {"en": "...", "es": "..."}')
        return
    for language in value:
        if language not in languages:
            add(f"{path}.{language}", f"{language!r} is not one of the form's languages")
    if required and not value.get(default_language):
        add(path, f"Text in the default language ({default_language}) is required")


def _check_choice_list(list_name: object, items: object, languages: list, default_language: str, add) -> None:
    path = f"choices.{list_name}"
    if not isinstance(list_name, str) or not NAME.fullmatch(list_name):
        add(path, "A choice list name is letters, digits and _, a letter first")
    if not isinstance(items, list) or not items:
        add(path, "A choice list must be a non-empty list")
        return
    if len(items) > MAX_CHOICES:
        add(path, f"The list has {len(items)} choices; the limit is {MAX_CHOICES}")
    seen = set()
    for j, item in enumerate(items):
        here = f"{path}[{j}]"
        if not isinstance(item, dict):
            add(here, "A choice must be an object {value, label}")
            continue
        value = item.get("value")
        if not isinstance(value, str) or not value or len(value) > 100 or " " in value:
            add(f"{here}.value", "A choice value is a non-empty string without spaces, at most 100 characters")
        elif value in seen:
            add(f"{here}.value", f"The choice {value!r} is listed twice")
        else:
            seen.add(value)
        for key in sorted(set(item) - {"value", "label", "retired"}):
            add(f"{here}.{key}", f"Unknown key {key!r}")
        _check_text(item.get("label"), f"{here}.label", languages, default_language, add, required=True)


def _check_field(field: object, path: str, depth: int, choices: dict, languages: list, default_language: str, add) -> None:
    if not isinstance(field, dict):
        add(path, "A field must be an object")
        return
    for key in sorted(set(field) - FIELD_KEYS):
        add(f"{path}.{key}", f"Unknown key {key!r}")
    name, kind = field.get("name"), field.get("type")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        add(f"{path}.name", "A field name is letters, digits and _, a letter first, at most 64 characters")
    if kind not in TYPES:
        add(f"{path}.type", f"Unknown type {kind!r}; types: {', '.join(sorted(TYPES))}")
        return
    if kind not in CONTAINER_TYPES:
        _check_text(field.get("label"), f"{path}.label", languages, default_language, add, required=True)
    for key in TRANSLATED[1:]:
        _check_text(field.get(key), f"{path}.{key}", languages, default_language, add)
    if kind in SELECTS:
        list_name = field.get("choices")
        if list_name not in choices:
            add(f"{path}.choices", f"The choice list {list_name!r} does not exist")
    elif "choices" in field:
        add(f"{path}.choices", f"A {kind} field has no choices")
    merge = field.get("merge")
    if merge is not None:
        if merge not in MERGE_POLICIES:
            add(f"{path}.merge", f"Unknown merge policy {merge!r}; policies: {', '.join(sorted(MERGE_POLICIES))}")
        elif merge in MERGE_FOR_TYPES and kind not in MERGE_FOR_TYPES[merge]:
            allowed = ", ".join(sorted(MERGE_FOR_TYPES[merge]))
            add(f"{path}.merge", f"The merge policy {merge} is for {allowed} fields, not {kind}")
    if "required" in field and not isinstance(field["required"], bool):
        add(f"{path}.required", "required must be true or false")
    if "concern" in field and (field["concern"] not in (True, False) or (field["concern"] and kind != "text")):
        add(f"{path}.concern", "concern is true on a text field whose answer is a concern to raise at a meeting")
    for key in EXPRESSIONS:
        text = field.get(key)
        if text is None:
            continue
        if not isinstance(text, str):
            add(f"{path}.{key}", "An expression must be a string")
            continue
        try:
            expressions.parse(text)
        except expressions.ExpressionError as exc:
            add(f"{path}.{key}", f"The expression does not parse: {exc}")
    for key in ("min", "max"):
        if key in field and not _is_bound(field[key], kind):
            add(f"{path}.{key}", f"{key} must be a number (or an ISO date for a date field)")
    for key in ("min_length", "max_length", "min_count", "max_count"):
        if key in field and (type(field[key]) is not int or field[key] < 0):
            add(f"{path}.{key}", f"{key} must be a whole number from 0")
    if "pattern" in field:
        _check_pattern(field["pattern"], f"{path}.pattern", add)
    if kind == "consent":
        _check_text(field.get("consent_text"), f"{path}.consent_text", languages, default_language, add, required=True)
    if kind == "geopoint" and "accuracy_m" in field and not (isinstance(field["accuracy_m"], (int, float)) and field["accuracy_m"] > 0):
        add(f"{path}.accuracy_m", "accuracy_m must be a positive number of metres")
    if kind in CONTAINER_TYPES:
        inner = field.get("fields")
        if not isinstance(inner, list) or not inner:
            add(f"{path}.fields", f"A {kind} needs a non-empty list of fields")
        elif depth >= MAX_DEPTH:
            add(f"{path}.fields", f"Groups and repeats nest at most {MAX_DEPTH} deep")
        else:
            for i, child in enumerate(inner):
                _check_field(child, f"{path}.fields[{i}]", depth + 1, choices, languages, default_language, add)
    elif "fields" in field:
        add(f"{path}.fields", f"A {kind} field has no fields inside")
    if "default" in field and kind in SELECTS and field.get("choices") in choices:
        values = {c.get("value") for c in choices[field["choices"]] if isinstance(c, dict)}
        given = field["default"] if isinstance(field["default"], list) else [field["default"]]
        for value in given:
            if value not in values:
                add(f"{path}.default", f"The default {value!r} is not a choice of {field['choices']!r}")


def _is_bound(value: object, kind: object) -> bool:
    if kind == "date":
        return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_pattern(pattern: object, path: str, add) -> None:
    if not isinstance(pattern, str) or len(pattern) > 200:
        add(path, "pattern must be a regular expression of at most 200 characters")
        return
    try:
        re.compile(pattern)
    except re.error as exc:
        add(path, f"The pattern does not compile: {exc}")


def _check_references(fields: list, names: dict[str, str], add) -> None:
    """Expressions name only existing fields, and relevance has no cycles."""
    depends: dict[str, set[str]] = {}
    for path, field, _repeat in iter_fields(fields):
        name = field.get("name")
        for key in EXPRESSIONS:
            text = field.get(key)
            if not isinstance(text, str):
                continue
            try:
                refs = expressions.references(text)
            except expressions.ExpressionError:
                continue  # reported where it is parsed
            for ref in sorted(refs - set(names)):
                add(f"{path}.{key}", f"The expression names ${{{ref}}}, which is not a field of this form")
            if key == "relevant" and isinstance(name, str):
                depends.setdefault(name, set()).update(refs & set(names))
    # Case: relevance that depends on itself, directly or through other fields.
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(depends.get(node, ())):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt]
                add(f"{names[node]}.relevant", "Relevance depends on itself: " + " -> ".join(cycle))
            elif state.get(nxt) is None:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for node in sorted(depends):
        if state.get(node) is None:
            visit(node, [node])
