"""The field-level merge of a document's conflicting leaves (a pure module: no I/O).

The fields are those of the caller's ``sync.stamps.FieldLayout`` (a record's:
``server.records.conflicts.RECORD_FIELDS``).

A worked example.  Ana's phone and Ben's phone both hold revision ``1-a`` of
a record.  Offline, Ana sets the outcome to ``contacted`` and Ben adds a
note; both push.  The server now has two leaves, ``2-b`` and ``2-c``::

    2-b: outcome contacted (stamp A, replaced S0)   notes ""        (stamp S0)
    2-c: outcome not_home  (stamp S0)               notes "big dog" (stamp B, replaced S0)

Per field, the merge gathers the *heads* (the values with their stamps) of
every leaf and drops each head whose stamp another head replaced: for the
outcome, A replaced S0, so ``contacted`` is the only head; for the notes,
``big dog``.  Different fields both survive.  Had both changed the outcome,
two heads would remain (neither replaced the other): the field's policy
gives the value and a conflict entry keeps both heads, with who, when, the
device and where it was (the layout's ``location``, a record's geotag; a
head keeps it as ``geotag``, the conflict entry's format).  See
``docs/conflicts.md`` for the format and the policies.

The state of a field is a set of heads and merging is a union that drops
replaced heads, so the merge is commutative, associative and idempotent:
any interleaving of the same edits gives the same document.  The policies
only choose what to show from the heads; they never lose one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as dataclass_field
from functools import lru_cache
from datetime import UTC, datetime
from typing import Iterable, Mapping, Sequence

from sync.jsonutil import canonical
from sync.stamps import FieldLayout, field_stamp, field_values, is_stamp, same, stale, stamp_entry, value_digest

POLICIES = ("last_writer", "union", "forward_only", "best_accuracy", "keep_both", "newest")
REVIEWED = {"last_writer"}  # policies whose disagreements go to the review queue
KEEP_BOTH_SEPARATOR = "\n\n"


@dataclass(frozen=True)
class Policy:
    """How concurrent values of one field merge; ``order`` ranks values for ``forward_only``."""

    name: str = "last_writer"
    order: tuple = ()
    # The canonical JSON of each value of ``order`` -> its index, computed once.
    rank: Mapping[bytes, int] = dataclass_field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "rank", {canonical(v): i for i, v in enumerate(self.order)})


LAST_WRITER = Policy()
_ENTRY_KEYS = ("s", "r", "by", "h")
_OLD_ENTRY_KEYS = ("s", "r", "by")  # an entry written before value digests


# --------------------------------------------------------------------------- heads


def _at(stamp: str) -> str:
    """The time of a (well-formed) stamp, ISO 8601 in UTC with milliseconds."""
    ms = int(stamp[:12], 16)
    seconds = ms // 1000 % 86400
    return f"{_day(ms // 86_400_000)}{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.{ms % 1000:03d}Z"


@lru_cache(maxsize=1024)
def _day(days: int) -> str:
    """The date of a day since 1970, ``YYYY-MM-DDT``; past the year 9999 (a clock far ahead, which
    stamps allow until 10889), ISO 8601's expanded year ``+YYYYYY``: the Gregorian calendar
    repeats every 400 years (146,097 days)."""
    cycles = max(0, -(-(days - _LAST_DAY) // _CYCLE_DAYS))
    date = datetime.fromtimestamp((days - cycles * _CYCLE_DAYS) * 86400, UTC)
    year = date.year + 400 * cycles
    return f"{year:04d}-{date:%m-%d}T" if year <= 9999 else f"+{year:06d}-{date:%m-%d}T"


_LAST_DAY = 2_932_896  # 9999-12-31, in days since 1970
_CYCLE_DAYS = 146_097


# A stamped head's ``at`` follows from its stamp: it is filled in only for the heads that end
# in a conflict entry (in ``_merge``), the rest of the time it is None.


def _stamped_head(leaf: dict, value: object, entry: dict) -> dict:
    stamp = entry["s"]
    return {"value": value, "stamp": stamp, "replaced": list(entry["r"]), "by": entry.get("by"),
            "device": stamp[18:], "at": None, "geotag": None}


def _unstamped_head(leaf: dict, value: object, layout: FieldLayout) -> dict:
    """A value without a stamp: who, which device, when and where as the leaf's own keys say (``layout``)."""
    at = None
    for key in layout.times:  # the first one set
        at = leaf.get(key)
        if at:
            break
    return {"value": value, "stamp": "", "replaced": [], "by": _text(leaf.get(layout.author)) if layout.author else None,
            "device": _text(leaf.get(layout.device)) if layout.device else None, "at": _text(at),
            "geotag": _location(leaf, layout.location)}


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _location(leaf: dict, location: str | None) -> dict | None:
    where = leaf.get(location) if location else None
    return where if isinstance(where, dict) else None


def _clean_head(head: object) -> dict | None:
    """A head read back from a conflict entry, or None if it is not one."""
    if not isinstance(head, dict) or "value" not in head:
        return None
    stamp = head.get("stamp")
    if stamp != "" and not is_stamp(stamp):
        return None
    replaced = head.get("replaced")
    replaced = [r for r in replaced if isinstance(r, str)] if isinstance(replaced, list) else []
    if stamp:  # everything else of a stamped head follows from its stamp; the geotag is looked up again
        return {"value": head["value"], "stamp": stamp, "replaced": replaced, "by": _text(head.get("by")),
                "device": stamp[18:], "at": None, "geotag": None}
    return {"value": head["value"], "stamp": stamp, "replaced": [], "by": _text(head.get("by")),
            "device": _text(head.get("device")), "at": _text(head.get("at")),
            "geotag": head.get("geotag") if isinstance(head.get("geotag"), dict) else None}


def leaf_heads(leaf: dict, field: str, values: Mapping[str, object], policy: Policy,
               layout: FieldLayout) -> list[dict]:
    """The heads one leaf holds for ``field``: its conflict entry's, or its one value."""
    conflicts = leaf.get("conflicts")
    entry = conflicts.get(field) if isinstance(conflicts, dict) else None
    if isinstance(entry, dict) and isinstance(entry.get("heads"), list):
        heads = [h for h in map(_clean_head, entry["heads"]) if h is not None]
        if heads:
            value = values.get(field)
            shown, _ = _derive(_settle(heads), policy)
            if not same(value, shown):  # edited by a client that does not stamp: keep that value too
                heads.append(_unstamped_head(leaf, value, layout))
            return heads
    value = values.get(field)
    stamp = field_stamp(leaf, field)
    if stamp is not None:
        if stale(stamp, value):
            # Changed (or cleared) by a client that does not stamp: the stamp it still carries is
            # that of the value it overwrote, which another leaf's edit may well have replaced.
            # The value is unstamped, concurrent with every other and replacing none: never dropped.
            return [_unstamped_head(leaf, value, layout)]
        return [_stamped_head(leaf, value, stamp)]
    if value is None:
        return []
    return [_unstamped_head(leaf, value, layout)]


def _settle(heads: Iterable[dict]) -> list[dict]:
    """One head per (stamp, value), without the heads another head replaced, in stamp order."""
    heads = list(heads)
    if len(heads) == 1 and heads[0]["stamp"] not in heads[0]["replaced"]:
        return heads
    replaced = {r for head in heads for r in head["replaced"]}
    kept: dict[tuple[str, bytes], list[dict]] = {}
    for head in heads:
        stamp = head["stamp"]
        if stamp and stamp in replaced:
            continue
        kept.setdefault((stamp, canonical(head["value"])), []).append(head)
    # Two heads with one stamp and value (the same edit seen through two leaves) differ at
    # most in what was looked up about them: keep the greatest, whatever the leaves' order.
    return [group[0] if len(group) == 1 else max(group, key=canonical)
            for _, group in sorted(kept.items(), key=lambda item: item[0])]


# --------------------------------------------------------------------------- policies


def _last(heads: list[dict]) -> tuple[object, bool]:
    distinct = {canonical(h["value"]) for h in heads}
    return heads[-1]["value"], len(distinct) > 1


def _derive(heads: list[dict], policy: Policy) -> tuple[object, bool]:
    """The value shown for settled ``heads`` (in stamp order) and whether it needs review."""
    if len(heads) == 1:
        return heads[0]["value"], False
    values = [h["value"] for h in heads if h["value"] is not None]
    name = policy.name
    if name == "newest":
        return heads[-1]["value"], False
    if name == "union" and values and all(isinstance(v, list) for v in values):
        seen: dict[bytes, object] = {}
        for value in values:
            for item in value:
                seen.setdefault(canonical(item), item)
        items = list(seen.values())
        if policy.order:
            rank = policy.rank
            items.sort(key=lambda item: (rank.get(canonical(item), len(rank)), canonical(item)))
        return items, False
    if name == "forward_only" and values and policy.order:
        rank = policy.rank
        if all(canonical(v) in rank for v in values):
            return max(values, key=lambda v: rank[canonical(v)]), False
    if name == "best_accuracy" and values and all(isinstance(v, dict) for v in values):
        def accuracy(index_value: tuple[int, dict]) -> tuple[float, int]:
            index, value = index_value
            acc = value.get("accuracy_m")
            good = isinstance(acc, (int, float)) and not isinstance(acc, bool) and math.isfinite(acc)
            return (acc if good else math.inf), -index  # then the latest stamp
        return min(enumerate(values), key=accuracy)[1], False
    if name == "keep_both" and values and all(isinstance(v, str) for v in values):
        texts: list[str] = []
        for value in values:
            if value not in texts:
                texts.append(value)
        return KEEP_BOTH_SEPARATOR.join(texts), False
    return _last(heads)  # last_writer, or a policy that cannot apply to these values


# --------------------------------------------------------------------------- the merge


def merge(leaves: Sequence[dict], policies: Mapping[str, Policy] | None = None, *, layout: FieldLayout) -> dict:
    """The merged body of ``leaves`` (bodies of one document's non-deleted leaves), fields as ``layout`` has them.

    ``policies``: field key (for a record ``answers.<name>``, ``geotag``, ...) -> Policy;
    fields not named use ``last_writer``.  The result has the fields, their
    ``stamps``, a ``conflicts`` entry for every field with concurrent values,
    and the union of the leaves' attachments; no ``_rev``.
    """
    return _merge(leaves, policies or {}, layout)[0]


def merge_noted(leaves: Sequence[dict], policies: Mapping[str, Policy] | None = None, *,
                layout: FieldLayout) -> dict:
    """``merge`` with the note for the phones (``merged``, as ``what_changed`` gives it); leaves with ``_rev``."""
    body, values, contested = _merge(leaves, policies or {}, layout)
    # A field every leaf agrees on has that value in the merge: only the others can have changed.
    before = {leaf["_rev"]: leaf_values for leaf, leaf_values in zip(leaves, values)}
    body["merged"] = _note(before, field_values(body, layout), contested)
    return body


def _merge(leaves: Sequence[dict], policies: Mapping[str, Policy],
           layout: FieldLayout) -> tuple[dict, list[dict], set[str]]:
    """The merged body, each leaf's field values, and the fields the leaves did not all agree on."""
    if not leaves:
        raise ValueError("merge needs at least one leaf")
    values = [field_values(leaf, layout) for leaf in leaves]
    stamp_maps = [leaf["stamps"] if isinstance(leaf.get("stamps"), dict) else {} for leaf in leaves]
    conflict_maps = [leaf["conflicts"] if isinstance(leaf.get("conflicts"), dict) else {} for leaf in leaves]
    fields = set()
    for leaf_values, stamp_map, conflict_map in zip(values, stamp_maps, conflict_maps):
        fields.update(leaf_values)
        fields.update(stamp_map)
        fields.update(conflict_map)
    agreed = _agreed(values, stamp_maps, conflict_maps, fields)
    contested = fields - agreed.keys()
    settled = {}
    for field in sorted(contested):
        policy = policies.get(field, LAST_WRITER)
        settled[field] = _settle(h for leaf, leaf_values in zip(leaves, values)
                                 for h in leaf_heads(leaf, field, leaf_values, policy, layout))
    # Where each device was: the location it recorded (its latest still standing), shown
    # beside its values in conflict entries.
    where = {}
    location = layout.location
    if location is not None:
        where = {h["device"]: h["value"] for h in settled.get(location, []) if h["stamp"] and isinstance(h["value"], dict)}
        if location in agreed and agreed[location][1] is not None and isinstance(agreed[location][0], dict):
            where[agreed[location][1]["s"][18:]] = agreed[location][0]
    top: dict[str, object] = {}
    grouped: dict[str, dict[str, object]] = {group: {} for group in layout.groups}
    prefixes = [(group + ".", len(group) + 1, grouped[group]) for group in layout.groups]

    def place(field: str, value: object) -> None:
        for prefix, cut, members in prefixes:
            if field.startswith(prefix):
                members[field[cut:]] = value
                return
        top[field] = value

    stamps: dict[str, dict] = {}
    conflicts: dict[str, dict] = {}
    for field, (value, stamp) in agreed.items():
        if value is not None:
            place(field, value)
        if stamp is not None:
            stamps[field] = stamp
    for field, heads in settled.items():
        if not heads:
            continue
        policy = policies.get(field, LAST_WRITER)
        value, needs_review = _derive(heads, policy)
        if value is not None:
            place(field, value)
        stamped = [h for h in heads if h["stamp"]]
        if stamped:
            last = stamped[-1]
            stamps[field] = {"s": last["stamp"], "r": last["replaced"], "by": last["by"], "h": value_digest(value)}
        if len(heads) > 1:
            shown = [{**h, "at": _at(h["stamp"]), "geotag": where.get(h["device"])} if h["stamp"] else h
                     for h in heads]
            conflicts[field] = {"policy": policy.name, "open": needs_review, "heads": shown}
    body: dict[str, object] = {"_id": leaves[0].get("_id")}
    body.update(sorted(top.items()))
    for group, members in grouped.items():
        if members or any(isinstance(leaf.get(group), dict) for leaf in leaves):
            body[group] = dict(sorted(members.items()))
    if stamps:
        body["stamps"] = dict(sorted(stamps.items()))
    if conflicts:
        body["conflicts"] = conflicts
    attachments = _attachments(leaves)
    if attachments:
        body["_attachments"] = attachments
    return body, values, contested


def _agreed(values: list[dict], stamp_maps: list[dict], conflict_maps: list[dict],
            fields: set[str]) -> dict[str, tuple[object, dict | None]]:
    """Field -> (value, stamp entry), for the fields every leaf holds with the same stamp entry and
    value and no conflict entry.

    The common case (most fields of a conflicting document were not edited on
    either side): the same answer as the full path gives, without building
    heads.  Whole-field comparisons first, one pass per leaf.
    """
    candidates = fields.difference(*conflict_maps)
    first_values, first_stamps = values[0], stamp_maps[0]
    for leaf_values, stamp_map in zip(values[1:], stamp_maps[1:]):
        candidates = {f for f in candidates if stamp_map.get(f) == first_stamps.get(f)
                      and _same_value(leaf_values.get(f), first_values.get(f))}
    out = {}
    for field in candidates:
        raw = first_stamps.get(field)
        if raw is None:
            out[field] = first_values.get(field), None
        elif stamp_entry(raw) is not None:  # (a malformed stamp entry: the full path reads the value as unstamped)
            # The entry as it is when it is exactly {s, r, by, h} or {s, r, by} (shared, never
            # modified), else those keys alone.
            keys = tuple(raw)
            out[field] = first_values.get(field), raw if keys == _ENTRY_KEYS or keys == _OLD_ENTRY_KEYS else {
                "s": raw["s"], "r": list(raw["r"]), "by": raw.get("by"),
                **({"h": raw["h"]} if isinstance(raw.get("h"), str) else {})}
    return out


def _same_value(a: object, b: object) -> bool:
    """The same canonical JSON (strings, integers and None by ``==`` and type alone)."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is str or kind is int or kind is bool:
        return a == b
    return a == b and canonical(a) == canonical(b)


def _attachments(leaves: Sequence[dict]) -> dict:
    """Every leaf's attachments by name; one name with two contents keeps the greater digest."""
    out: dict[str, dict] = {}
    for leaf in leaves:
        for name, att in (leaf.get("_attachments") or {}).items():
            if not isinstance(att, dict):
                continue
            if name not in out or str(att.get("digest")) > str(out[name].get("digest")):
                out[name] = att
    return out


def what_changed(merged: dict, leaves: Mapping[str, dict], layout: FieldLayout) -> dict:
    """The note a merge revision carries: the leaves merged and, per leaf, the fields now different."""
    now = field_values(merged, layout)
    before = {rev: field_values(leaf, layout) for rev, leaf in leaves.items()}
    return _note(before, now, set(now).union(*before.values()))


def _note(before: Mapping[str, dict], now: dict, fields: set[str]) -> dict:
    """``what_changed`` among ``fields``, from the field values of each leaf (by rev) and of the merge."""
    changed = {rev: sorted(f for f in fields if not _unchanged(now.get(f), values.get(f)))
               for rev, values in sorted(before.items())}
    return {"revs": sorted(before), "changed": changed}


def _unchanged(now: object, before: object) -> bool:
    """``same``, by C-level comparisons first: values ``same`` holds equal are ``==``, and equal
    canonical JSON is ``same`` (``same`` itself is left for ``1`` against ``1.0``)."""
    if now is before and not isinstance(now, float):  # (a NaN is not the same as itself)
        return True
    if now != before:
        return False
    return canonical(now) == canonical(before) or same(now, before)


def open_conflicts(doc: dict) -> dict[str, dict]:
    """The conflict entries of ``doc`` waiting for review, by field."""
    conflicts = doc.get("conflicts")
    if not isinstance(conflicts, dict):
        return {}
    return {field: entry for field, entry in sorted(conflicts.items()) if isinstance(entry, dict) and entry.get("open")}
