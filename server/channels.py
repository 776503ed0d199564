"""Who receives what: the channels of each document, and the channels each user is granted.

Routing (``route``), applied by the store to the winning revision of every
document it writes:

| document | channels |
| --- | --- |
| form, meeting, campaign | ``campaign`` (everyone in the campaign) |
| turf ``turf:7`` | ``turf:turf:7`` |
| household | ``turf:<its turf>``; none yet: no channel |
| record | ``user:<author>`` and, unless it is a recruitment record, ``turf:<its turf>`` |
| assignment | ``user:<the volunteer>`` |
| anything else | none |

and every document but a recruitment record also goes to ``coordinators``.

Recruitment records hold residents' contact details and consent: roster
data, which only organizers and admins see (and the volunteer who took the
sign-up, through ``user:<author>``).  They never reach other volunteers of
the turf, nor coordinators.

Grants (``grants``), by the user's role in the campaign (``auth.role_in``):
admins and organizers read the whole campaign (no filter); a coordinator
gets ``coordinators`` and ``user:<name>`` (one channel for the campaign
less its roster data: a coordinator's pull costs one channel read, not one
per turf and user); a volunteer gets ``campaign``, ``user:<name>`` and
``turf:<t>`` for each active assignment (documents
``assignment:<name>:<t>`` with ``active`` true), read by the store when a
read needs them (``sync.store.Grants``); a user with no role there reads
nothing.
"""

from __future__ import annotations

from server.auth import role_in
from sync.errors import Forbidden
from sync.store import DocumentStore, Grants

CAMPAIGN = "campaign"
COORDINATORS = "coordinators"
UNFILTERED_ROLES = {"admin", "organizer"}
PRIVATE_FORMS = {"form:recruitment"}


def turf_channel(turf_id: str) -> str:
    return f"turf:{turf_id}"


def user_channel(name: str) -> str:
    return f"user:{name}"


def is_private(doc: dict) -> bool:
    """A recruitment record: residents' contact details and consent (roster data)."""
    return doc.get("type") == "record" and doc.get("form") in PRIVATE_FORMS


def route(doc: dict) -> set[str]:
    kind = doc.get("type")
    out: set[str] = set() if is_private(doc) else {COORDINATORS}
    if kind in ("form", "meeting", "campaign"):
        out.add(CAMPAIGN)
    elif kind == "turf" and isinstance(doc.get("_id"), str):
        out.add(turf_channel(doc["_id"]))
    elif kind == "household" and isinstance(doc.get("turf"), str):
        out.add(turf_channel(doc["turf"]))
    elif kind == "record":
        if isinstance(doc.get("author"), str):
            out.add(user_channel(doc["author"]))
        if isinstance(doc.get("turf"), str) and not is_private(doc):
            out.add(turf_channel(doc["turf"]))
    elif kind == "assignment" and isinstance(doc.get("user"), str):
        out.add(user_channel(doc["user"]))
    return out


def assignment_id(user: str, turf: str) -> str:
    return f"assignment:{user}:{turf}"


def assigned_turfs(store: DocumentStore, user: str) -> set[str]:
    prefix = f"assignment:{user}:"
    rows = store.all_docs(startkey=prefix, endkey=prefix + "\uffff", include_docs=True)["rows"]
    return {row["doc"]["turf"] for row in rows
            if row.get("doc") and row["doc"].get("active", True) and isinstance(row["doc"].get("turf"), str)}


def grants(user, campaign: str) -> set[str] | Grants | None:
    """The channels ``user`` may read in ``campaign``: a set, Grants read from the store, or None: everything.

    A volunteer's follow from their assignments, which the store reads when
    it is asked (and may remember while nothing changed: ``sync.store.Grants``).
    Raises Forbidden for a user with no role in the campaign (callers check that first).
    """
    role = role_in(user, campaign)
    if role is None:
        raise Forbidden(f"You have no role in campaign {campaign!r}")
    if role in UNFILTERED_ROLES:
        return None
    name = user.name
    if role == "coordinator":
        return {COORDINATORS, user_channel(name)}
    return Grants(f"volunteer:{name}", lambda store: volunteer_channels(store, name))


def volunteer_channels(store: DocumentStore, name: str) -> set[str]:
    """A volunteer's channels, as their assignments in ``store`` give them now."""
    return {CAMPAIGN, user_channel(name)} | {turf_channel(t) for t in assigned_turfs(store, name)}
