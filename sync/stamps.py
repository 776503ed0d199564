"""Field stamps: who changed which field of a document, when, and over what.

Every writer of stamped documents (Blockwalk's records: the canvasser app,
the REST API, the server's own merges and resolutions) stamps each field it
changes.  A stamp is

    "<hlc>/<device>"      e.g.  "018f3a2b4c5d-0000/phone-ana"

where ``hlc`` is a hybrid logical clock, 12 hex digits of wall-clock
milliseconds and 4 hex digits of a counter, so stamps sort as strings in
clock order (ties broken by the device id).  A document keeps, per field,

    "stamps": {"answers.outcome": {"s": "<stamp>", "r": ["<replaced>", ...], "by": "ana", "h": "<digest>"}}

``r`` lists the stamps this value replaced (the one it overwrote, then the
ones that value had replaced, newest first, at most ``MAX_REPLACED``), so a
merge can tell a sequential edit (its ``r`` names the other side's stamp)
from a concurrent one without any ancestor body.  ``h`` is the digest of
the value the stamp was given to (``value_digest``): a client that does not
stamp (any plain PouchDB) changes a value and leaves its stamp as it was, and
the digest tells the merge that this value is not the stamped one.  ``docs/conflicts.md``
describes the format; ``sync/stamps.mjs`` is the same code for the app, and
``sync/stamp_vectors.json`` holds both to the same answers.

A *field* is each member of a group (``answers.<name>`` when the caller's
``FieldLayout`` names the group ``answers``) and each other top-level key of
the document except ``_`` keys and the merge metadata (``stamps``,
``conflicts``, ``merged``).  The layout comes from the caller, who knows the
document type (the server's records: ``server.records.conflicts.RECORD_FIELDS``).
This module is pure: the clock's state and the time are passed in.
"""

from __future__ import annotations

import hashlib
import math
import re
import struct
from dataclasses import dataclass
from typing import Iterable

HLC_LENGTH = 17  # 12 hex digits of milliseconds, "-", 4 hex digits of counter
MAX_MS = 16**12 - 1
MAX_COUNTER = 16**4 - 1
MAX_REPLACED = 16
_HLC = re.compile(r"[0-9a-f]{12}-[0-9a-f]{4}")
_STAMP = re.compile(_HLC.pattern + "/")  # a stamp starts so; the device is any text after it
META = frozenset({"stamps", "conflicts", "merged"})


@dataclass(frozen=True)
class FieldLayout:
    """Where a document type keeps its fields (given by the caller: ``sync`` knows no document type).

    ``groups``: top-level keys whose members are each a field of its own,
    keyed ``<group>.<member>`` (a record's ``answers``); every other
    top-level key is one field.  The rest is read by the merge only
    (``sync.merge``): for a value that carries no stamp, the top-level keys
    that say who wrote the leaf (``author``), on which device (``device``)
    and when (``times``, the first one set); and the field that says where a
    device was (``location``), shown beside its values in a conflict entry.
    """

    groups: tuple[str, ...] = ()
    author: str | None = None
    device: str | None = None
    times: tuple[str, ...] = ()
    location: str | None = None

    def to_json(self) -> dict:
        """The layout as ``sync/stamps.mjs`` takes it (``{groups}``: the stamper reads no more)."""
        return {"groups": list(self.groups)}


class StampError(ValueError):
    """A clock value or stamp that is not in the stamps format."""


# --------------------------------------------------------------------------- the clock


def format_hlc(ms: int, counter: int) -> str:
    return f"{ms:012x}-{counter:04x}"


def parse_hlc(text: object) -> tuple[int, int]:
    if not isinstance(text, str) or _HLC.fullmatch(text) is None:
        raise StampError(f"Not a clock value: {text!r}")
    return int(text[:12], 16), int(text[13:], 16)


@dataclass
class Clock:
    """A hybrid logical clock (Kulkarni et al., 2014): wall milliseconds and a counter.

    ``next(now_ms, seen)`` gives a value greater than every value this clock
    gave before and than ``seen`` (a clock value read from a document), and as
    close to ``now_ms`` as that allows.  A phone whose clock runs behind still
    stamps its edit after the value it replaced.
    """

    ms: int = 0
    counter: int = 0

    def next(self, now_ms: int, seen: str | None = None) -> str:
        seen_ms, seen_counter = parse_hlc(seen) if seen is not None else (0, 0)
        ms = max(self.ms, seen_ms, now_ms)
        if ms == self.ms and ms == seen_ms:
            counter = max(self.counter, seen_counter) + 1
        elif ms == self.ms:
            counter = self.counter + 1
        elif ms == seen_ms:
            counter = seen_counter + 1
        else:
            counter = 0
        if counter > MAX_COUNTER:  # 65,536 stamps in one millisecond: borrow the next one
            ms, counter = ms + 1, 0
        if ms > MAX_MS:
            raise StampError("The clock is past the year 10889")
        self.ms, self.counter = ms, counter
        return format_hlc(ms, counter)


# --------------------------------------------------------------------------- stamps


def stamp_id(hlc: str, device: str) -> str:
    return f"{hlc}/{device}"


def parse_stamp(stamp: object) -> tuple[str, str]:
    """``"<hlc>/<device>"`` -> ``(hlc, device)``; raises StampError."""
    if not isinstance(stamp, str) or len(stamp) < HLC_LENGTH + 1 or stamp[HLC_LENGTH] != "/":
        raise StampError(f"Not a stamp: {stamp!r}")
    parse_hlc(stamp[:HLC_LENGTH])
    return stamp[:HLC_LENGTH], stamp[HLC_LENGTH + 1:]


def stamp_ms(stamp: str) -> int:
    return parse_hlc(parse_stamp(stamp)[0])[0]


def is_stamp(value: object) -> bool:
    """``parse_stamp`` would accept it (one regular expression: stamps are mostly new, a cache misses)."""
    return isinstance(value, str) and _STAMP.match(value) is not None


def field_stamp(doc: dict, field: str) -> dict | None:
    """The stamp entry ``{s, r, by}`` of ``field`` in ``doc`` if it is well formed, else None."""
    stamps = doc.get("stamps")
    return stamp_entry(stamps.get(field)) if isinstance(stamps, dict) else None


def stamp_entry(entry: object) -> dict | None:
    """``entry`` if it is a well-formed stamp entry ``{s, r, by[, h]}``, else None."""
    if not isinstance(entry, dict):
        return None
    stamp, replaced = entry.get("s"), entry.get("r")
    if not isinstance(stamp, str) or _STAMP.match(stamp) is None or not isinstance(replaced, list):
        return None
    for r in replaced:
        if not isinstance(r, str):
            return None
    return entry


# --------------------------------------------------------------------------- value digests


def value_digest(value: object) -> str:
    """16 hex digits naming ``value`` up to JSON equality (``same``): the first 64 bits of the
    SHA-256 of a tagged encoding that JavaScript writes byte for byte alike (``valueDigest`` in
    ``sync/stamps.mjs``): every number as its IEEE 754 double (so ``1`` and ``1.0`` agree, as in
    JavaScript), texts in UTF-8 with their length, object keys in code point order."""
    if type(value) is str:  # (the common case, a text answer: its encoding written at once, as ``_text`` writes it)
        data = value.encode("utf-8", "replace")
        return hashlib.sha256(b"s%d:%b" % (len(data), data)).hexdigest()[:16]
    constant = _CONSTANT_DIGESTS.get(value) if value is None or value is True or value is False else None
    if constant is not None:
        return constant
    out = bytearray()
    _encode(value, out)
    return hashlib.sha256(out).hexdigest()[:16]


def _encode(value: object, out: bytearray) -> None:
    if value is None:
        out += b"n"
    elif value is True or value is False:
        out += b"t" if value else b"f"
    elif isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an integer no JSON reader of the app could hold
            out += b"i%d;" % value
            return
        if not math.isfinite(number):  # (JSON has no such number: it is written as null)
            out += b"n"
            return
        out += b"d" + struct.pack(">d", number + 0.0)  # -0.0 + 0.0 is 0.0
    elif isinstance(value, str):
        _text(value, out)
    elif isinstance(value, (list, tuple)):
        out += b"["
        for item in value:
            _encode(item, out)
        out += b"]"
    elif isinstance(value, dict):
        out += b"{"
        for key in sorted(value):
            _text(key, out)
            _encode(value[key], out)
        out += b"}"
    else:
        raise TypeError(f"Not a JSON value: {type(value).__name__}")


_CONSTANT_DIGESTS = {key: hashlib.sha256(code).hexdigest()[:16] for key, code in ((None, b"n"), (True, b"t"), (False, b"f"))}


def _text(text: str, out: bytearray) -> None:
    data = text.encode("utf-8", "replace")
    out += b"s%d:" % len(data)
    out += data


def stale(entry: dict, value: object) -> bool:
    """Whether ``value`` is not the value ``entry`` (a well-formed stamp entry) was given to: a
    client that does not stamp changed it.  An entry without a digest (written before digests
    were) is taken at its word."""
    digest = entry.get("h")
    return isinstance(digest, str) and digest != value_digest(value)


# --------------------------------------------------------------------------- fields


def field_values(doc: dict, layout: FieldLayout) -> dict[str, object]:
    """Field key -> value: ``<group>.<name>`` for each member of a group of ``layout``, the other top-level keys
    by name."""
    groups = layout.groups
    out: dict[str, object] = {}
    for key, value in doc.items():
        if key.startswith("_") or key in META:
            continue
        if key in groups and isinstance(value, dict):
            for name, member in value.items():
                out[f"{key}.{name}"] = member
        else:
            out[key] = value
    return out


def same(a: object, b: object) -> bool:
    """JSON equality: booleans are not numbers, 1 equals 1.0, key order does not matter."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def replaced_by_edit(doc: dict, field: str) -> list[str]:
    """What an edit of ``field`` in ``doc`` replaces: every current value's stamp and their histories."""
    entry = (doc.get("conflicts") or {}).get(field) if isinstance(doc.get("conflicts"), dict) else None
    heads = entry.get("heads") if isinstance(entry, dict) else None
    found: set[str] = set()
    if isinstance(heads, list):
        for head in heads:
            if isinstance(head, dict):
                if is_stamp(head.get("stamp")):
                    found.add(head["stamp"])
                found.update(r for r in head.get("replaced") or [] if isinstance(r, str))
    own = field_stamp(doc, field)
    if own is not None:
        found.add(own["s"])
        found.update(own["r"])
    return newest(found)


def newest(stamps: Iterable[str]) -> list[str]:
    """The newest ``MAX_REPLACED`` stamps, newest first (keeping the newest is associative)."""
    return sorted(set(stamps), reverse=True)[:MAX_REPLACED]


def max_hlc(doc: dict) -> str | None:
    """The greatest clock value of any stamp in ``doc`` (values and conflict entries)."""
    best = None
    stamps = doc.get("stamps")
    if isinstance(stamps, dict):
        for entry in stamps.values():
            if isinstance(entry, dict) and is_stamp(entry.get("s")):
                hlc = entry["s"][:HLC_LENGTH]
                best = hlc if best is None or hlc > best else best
    conflicts = doc.get("conflicts")
    if isinstance(conflicts, dict):
        for entry in conflicts.values():
            for head in (entry.get("heads") or []) if isinstance(entry, dict) else []:
                if isinstance(head, dict) and is_stamp(head.get("stamp")):
                    hlc = head["stamp"][:HLC_LENGTH]
                    best = hlc if best is None or hlc > best else best
    return best


def stamp_edit(before: dict | None, after: dict, *, device: str, user: str, clock: Clock, now_ms: int,
               layout: FieldLayout, touched: Iterable[str] = ()) -> dict:
    """``after`` with stamps for every field (of ``layout``) that differs from ``before`` (None: a new document).

    Every changed field (and every field in ``touched``, e.g. a conflict
    resolved by keeping the provisional value) gets one new stamp, later than
    any stamp in ``before``, that replaces the value(s) it overwrote; its open
    or merged conflict entry is closed, and its digest (``h``) names its new value (None for a
    field removed).  Unchanged fields keep their stamps;
    a field removed from ``after`` keeps a stamp saying it was cleared.  The
    note of the last merge (``merged``) is dropped: this is a new edit.
    """
    before = before or {}
    old, new = field_values(before, layout), field_values(after, layout)
    changed = sorted({f for f in old.keys() | new.keys() if f not in old or f not in new or not same(old[f], new[f])}
                     | set(touched))
    stamps = {k: v for k, v in (before.get("stamps") or {}).items()} if isinstance(before.get("stamps"), dict) else {}
    conflicts = dict(before.get("conflicts") or {}) if isinstance(before.get("conflicts"), dict) else {}
    out = {k: v for k, v in after.items() if k not in META}
    if changed:
        stamp = stamp_id(clock.next(now_ms, max_hlc(before)), device)
        for field in changed:
            stamps[field] = {"s": stamp, "r": replaced_by_edit(before, field), "by": user,
                             "h": value_digest(new.get(field))}
            conflicts.pop(field, None)
    if stamps:
        out["stamps"] = {k: stamps[k] for k in sorted(stamps)}
    if conflicts:
        out["conflicts"] = conflicts
    return out
