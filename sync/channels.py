"""Channel positions: the opaque ``since`` of a filtered changes feed.

A device that sees only some channels (its campaign, its turfs, itself)
reads each channel's own log from its own position.  Its checkpoint is
therefore a vector, one position per channel, passed to the device as one
opaque string.  A channel the vector does not name starts at the vector's
default: 0 for a device's first pull, so a channel granted later (a new
assignment) is read from its beginning on the next pull: the back-fill.

    encode({"*": 0, "turf:7": 120, "campaign": 131}) == "v1.eyIqIjowLCJjYW1wYWlnbiI6MTMxLCJ0dXJmOjciOjEyMH0"

A plain sequence (``0``, ``"42"``) is the vector whose default is that
sequence.  Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii

from sync import jsonutil
from sync.errors import BadRequest

PREFIX = "v1."
DEFAULT = "*"


def encode(vector: dict[str, int]) -> str:
    data = jsonutil.canonical(vector)
    return PREFIX + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode(since: object, parse_plain) -> dict[str, int]:
    """The vector of ``since``; ``parse_plain`` turns a plain seq into an int (raising BadRequest)."""
    if isinstance(since, str) and since.startswith(PREFIX):
        text = since[len(PREFIX):]
        try:
            vector = jsonutil.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError):
            raise BadRequest("since is not a position this server gave out") from None
        if (not isinstance(vector, dict) or DEFAULT not in vector
                or not all(isinstance(k, str) and type(v) is int and v >= 0 for k, v in vector.items())):
            raise BadRequest("since is not a position this server gave out")
        return vector
    return {DEFAULT: parse_plain(since)}


def position(vector: dict[str, int], channel: str) -> int:
    return vector.get(channel, vector[DEFAULT])


def advance(vector: dict[str, int], channels: set[str], seq: int) -> dict[str, int]:
    """Every channel of ``channels`` complete up to ``seq``."""
    out = dict(vector)
    for channel in channels:
        out[channel] = max(position(vector, channel), seq)
    return out


# -- positions of stores whose channel logs hand out opaque sequences (CouchDB) ---------------
#
# A CouchDB-store position names, for each channel read, the sequence of that
# channel's own log (an integer in pouchdb-server, an opaque string in
# CouchDB 3: never compared, only handed back), and under ``MAIN`` the main
# database's sequence up to which the channel logs were complete when it was
# given out (what a longpoll waits past).  A channel it does not name starts
# from its beginning (the back-fill).

OPAQUE_PREFIX = "c1."
MAIN = "@"


def encode_opaque(vector: dict[str, object]) -> str:
    data = jsonutil.canonical(vector)
    return OPAQUE_PREFIX + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_opaque(since: object, is_seq) -> dict[str, object] | None:
    """The vector of a position; None for a plain sequence (``0``, ``now``, a main seq).

    ``is_seq`` tells whether a value is a sequence the store could have given out.
    """
    if not (isinstance(since, str) and since.startswith(OPAQUE_PREFIX)):
        return None
    text = since[len(OPAQUE_PREFIX):]
    try:
        vector = jsonutil.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        raise BadRequest("since is not a position this server gave out") from None
    if not isinstance(vector, dict) or not all(isinstance(k, str) and is_seq(v) for k, v in vector.items()):
        raise BadRequest("since is not a position this server gave out")
    return vector
