"""Revision ids: parsing ``N-hash`` and computing new ones deterministically.

A new revision's hash is the MD5 (32 lowercase hex characters, as CouchDB's)
of the canonical JSON of its parent revision, its deleted flag and its body
without the ``_``-prefixed fields, plus the attachments' digests.  The same
edit made twice on the same parent therefore gets the same revision id, which
keeps a retried write idempotent.
"""

from __future__ import annotations

import hashlib
import re

from sync.jsonutil import canonical

# Generations fit in 31 bits (CouchDB uses integers of any size, PouchDB plain
# JavaScript numbers); hashes are lowercase hex as CouchDB and PouchDB write
# them (MD5 32 chars, UUID-derived 32 chars, SHA-1 40 chars).
_REV = re.compile(r"([1-9][0-9]{0,9})-([0-9a-f]{1,64})")
_HASH = re.compile(r"[0-9a-f]{1,64}")
MAX_POS = 2**31 - 1


class InvalidRev(ValueError):
    """A revision id that is not ``N-hash``."""


def parse_rev(rev: object) -> tuple[int, str]:
    """``"3-abc"`` -> ``(3, "abc")``; raises InvalidRev for anything else."""
    if not isinstance(rev, str):
        raise InvalidRev(f"Invalid rev format: {rev!r} is not a string")
    match = _REV.fullmatch(rev)
    if match is None or int(match.group(1)) > MAX_POS:
        raise InvalidRev(f"Invalid rev format: {rev!r} (expected N-hash, hash in lowercase hex)")
    return int(match.group(1)), match.group(2)


def is_hash(value: object) -> bool:
    return isinstance(value, str) and _HASH.fullmatch(value) is not None


def new_rev(parent: str | None, body: dict, deleted: bool) -> str:
    """The ``N-hash`` of a new revision written on ``parent`` (None: the first)."""
    pos = 1 if parent is None else parse_rev(parent)[0] + 1
    content = {k: v for k, v in body.items() if not k.startswith("_")}
    attachments = body.get("_attachments") or {}
    digests = sorted((name, att.get("digest")) for name, att in attachments.items())
    digest = hashlib.md5(canonical([parent, deleted, content, digests])).hexdigest()
    return f"{pos}-{digest}"
