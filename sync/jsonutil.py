"""JSON in one place: orjson for speed, canonical bytes for hashing."""

from __future__ import annotations

import orjson

JSONDecodeError = orjson.JSONDecodeError


def dumps(value: object) -> bytes:
    return orjson.dumps(value)


def loads(data: bytes | str) -> object:
    return orjson.loads(data)


def canonical(value: object) -> bytes:
    """Sorted keys, no spaces: the same value always gives the same bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
