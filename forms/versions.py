"""Publishing: a draft becomes an immutable version, with its changes declared.

``publish(draft, previous)`` checks the draft, compares it with the previous
version and refuses any difference the draft's ``changes`` do not declare
(a field added, removed or renamed; a choice added or retired), so records
of every version can be read and exported together.  ``current_name`` maps
an old version's field name to today's through the declared renames.
"""

from __future__ import annotations

from forms.definition import DefinitionError, Problem, check_definition, form_doc_id, iter_fields

CHANGE_OPS = {"add", "remove", "rename", "add_choice", "retire_choice"}


def _field_names(defn: dict) -> set[str]:
    return {f["name"] for _, f, _ in iter_fields(defn.get("fields", [])) if f.get("type") != "group"}


def _offered(defn: dict) -> dict[str, set[str]]:
    return {name: {c["value"] for c in items if not c.get("retired")} for name, items in defn.get("choices", {}).items()}


def undeclared_changes(previous: dict, draft: dict) -> list[Problem]:
    """What differs between two versions without being declared in ``draft['changes']``."""
    problems: list[Problem] = []
    changes = draft.get("changes") or []
    if not isinstance(changes, list):
        return [Problem("changes", "changes must be a list")]
    old, new = _field_names(previous), _field_names(draft)
    added, removed = new - old, old - new
    declared_choices: dict[str, set[tuple[str, str]]] = {"add_choice": set(), "retire_choice": set()}
    for i, change in enumerate(changes):
        path = f"changes[{i}]"
        op = change.get("op") if isinstance(change, dict) else None
        if op not in CHANGE_OPS:
            problems.append(Problem(path, f"Unknown change {op!r}; changes: {', '.join(sorted(CHANGE_OPS))}"))
            continue
        if op == "rename":
            source, target = change.get("from"), change.get("to")
            if source not in old or target not in new:
                problems.append(Problem(path, f"A rename from {source!r} to {target!r} needs {source!r} in the previous version and {target!r} in this one"))
            else:
                removed.discard(source)
                added.discard(target)
        elif op in ("add", "remove"):
            field = change.get("field")
            pool = added if op == "add" else removed
            if field not in pool:
                problems.append(Problem(path, f"{op} {field!r} does not match the forms: it is not {'new' if op == 'add' else 'gone'} in this version"))
            pool.discard(field)
        else:
            declared_choices[op].add((change.get("list"), change.get("value")))
    for name in sorted(added):
        problems.append(Problem("changes", f"The field {name!r} is new: declare {{\"op\": \"add\", \"field\": \"{name}\"}} (or a rename)"))
    for name in sorted(removed):
        problems.append(Problem("changes", f"The field {name!r} is gone: declare {{\"op\": \"remove\", \"field\": \"{name}\"}} (or a rename)"))
    before, after = _offered(previous), _offered(draft)
    for list_name in sorted(set(before) | set(after)):
        for value in sorted(after.get(list_name, set()) - before.get(list_name, set())):
            if (list_name, value) not in declared_choices["add_choice"] and list_name in before:
                problems.append(Problem(f"choices.{list_name}", f"The choice {value!r} is new: declare add_choice"))
        for value in sorted(before.get(list_name, set()) - after.get(list_name, set())):
            if (list_name, value) not in declared_choices["retire_choice"] and list_name in after:
                problems.append(Problem(f"choices.{list_name}", f"The choice {value!r} is no longer offered: declare retire_choice"))
    return problems


def publish(draft: dict, previous: dict | None) -> dict:
    """The next published version of ``draft`` (raises DefinitionError with every problem)."""
    number = 1 if previous is None else previous["version"] + 1
    candidate = {k: v for k, v in draft.items() if not k.startswith("_")}
    candidate.update({"_id": form_doc_id(draft["form_id"], number), "status": "published", "version": number})
    if previous is None:
        candidate["changes"] = []
    problems = check_definition(candidate)
    if previous is not None and not problems:
        problems = undeclared_changes(previous, candidate)
    if problems:
        raise DefinitionError(problems)
    return candidate


def check_form_write(existing: dict | None, new: dict) -> list[Problem]:
    """May ``new`` be stored where ``existing`` is?  Published versions never change."""
    if existing is not None and existing.get("status") == "published":
        return [Problem("(form)", f"{existing.get('_id')} is a published version and cannot change; edit the draft and publish again")]
    if new.get("_deleted"):
        return []
    return check_definition(new)


def current_name(versions: list[dict], version: int, name: str) -> str:
    """The name today of field ``name`` of ``version``, following declared renames."""
    for defn in sorted(versions, key=lambda d: d["version"]):
        if defn["version"] <= version:
            continue
        for change in defn.get("changes") or []:
            if change.get("op") == "rename" and change.get("from") == name:
                name = change["to"]
    return name
