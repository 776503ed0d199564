"""Names and arguments the stores take from clients: database names, ``_local/`` ids, revisions.

The rules every store applies alike before it looks anything up; a bad
name or argument is a 400 (``BadRequest``).  The conflict rule, and what a
document body may hold, are ``sync.update``'s.
"""

from __future__ import annotations

import re

from sync.errors import BadRequest
from sync.revid import InvalidRev, parse_rev

LOCAL_PREFIX = "_local/"
DESIGN_PREFIX = "_design/"
MAX_ID_LENGTH = 512

_DB_NAME = re.compile(r"[a-z][a-z0-9_$()+-]{0,237}")


def check_db_name(name: object) -> str:
    """CouchDB's database name rule, without ``/`` (names appear in URL paths)."""
    if not isinstance(name, str) or _DB_NAME.fullmatch(name) is None:
        raise BadRequest(
            "Name: "
            + repr(name)
            + ". Only lowercase letters (a-z), digits (0-9), and any of the characters "
            "_, $, (, ), +, - are allowed. Must begin with a letter."
        )
    return name


def system_db_name(name: str) -> str:
    """The internal name of a system database: ``_`` and a legal name."""
    return "_" + check_db_name(name)


def check_local_id(value: object) -> str:
    """A ``_local/`` document's id."""
    if not isinstance(value, str) or not value.startswith(LOCAL_PREFIX) or len(value) <= len(LOCAL_PREFIX):
        raise BadRequest("A local document id must start with _local/")
    if len(value) > MAX_ID_LENGTH:
        raise BadRequest("Document id is too long")
    return value


def parse_rev_or_400(rev: object, doc_id: str | None = None) -> tuple[int, str]:
    """``parse_rev`` for a revision a client named: a bad one is a 400."""
    try:
        return parse_rev(rev)
    except InvalidRev as exc:
        raise BadRequest(str(exc), doc_id) from None


def is_db_name(name: object) -> bool:
    return isinstance(name, str) and _DB_NAME.fullmatch(name) is not None
