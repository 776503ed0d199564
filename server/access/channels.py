"""Who receives what: the channels of each document, and the channels each user is granted.

Routing (``route``), applied by the store to the winning revision of every
document it writes (a deleted winner keeps the channels the document had):

| document | channels |
| --- | --- |
| form, meeting, campaign | ``campaign`` (everyone in the campaign) |
| turf ``turf:7`` | ``turf:turf:7`` |
| household | ``turf:<its turf>``; none yet: no channel |
| record | ``user:<author>`` and ``turf:<its turf>`` |
| roster record (``privacy.is_roster_record``) | ``user:<author>`` and ``roster`` only |
| assignment | ``user:<the volunteer>`` |
| concern_status ``concern_status:<issue>:<turf>`` | ``turf:<its turf>`` |
| issue (names the doors that raised it) | none (coordinators only) |
| anything else | none |

and every document but a roster record also goes to ``coordinators``.
``roster`` is granted to nobody: it marks a document as roster data, and the
mark stays on a deleted one, so the write checks know it (``access.writes``).

Roster records hold residents' contact details and consent, which only
organizers and admins see (and the volunteer who took the sign-up, through
``user:<author>``).  They never reach other volunteers of the turf, nor
coordinators.

Grants (``grants``), by the user's role in the campaign (``auth.role_in``):
admins and organizers read the whole campaign (no filter); a coordinator
gets ``coordinators`` and ``user:<name>`` (one channel for the campaign
less its roster data: a coordinator's pull costs one channel read, not one
per turf and user); a volunteer gets ``campaign``, ``user:<name>`` and
``turf:<t>`` for each active assignment, read by the store when a read
needs them (``sync.store.Grants``); a user with no role there reads nothing.
An assignment is a document of type ``assignment`` naming the volunteer in
``user``: only coordinators and admins may write one (``access.writes``), and
its id (``assignment:<user>:<turf>``) grants nothing by itself.
"""

from __future__ import annotations

from server.access import privacy
from server.access.auth import role_in
from server.access.roles import UNFILTERED
from sync.errors import Forbidden
from sync.store import DocumentStore, Grants

CAMPAIGN = "campaign"
COORDINATORS = "coordinators"
ROSTER = "roster"


def turf_channel(turf_id: str) -> str:
    return f"turf:{turf_id}"


def user_channel(name: str) -> str:
    return f"user:{name}"


def route(doc: dict) -> set[str]:
    kind = doc.get("type")
    if kind == "form":
        privacy.note_form(doc)
    if privacy.is_roster_record(doc):
        author = doc.get("author")
        return {ROSTER, user_channel(author)} if isinstance(author, str) else {ROSTER}
    out: set[str] = {COORDINATORS}
    if kind in ("form", "meeting", "campaign"):
        out.add(CAMPAIGN)
    elif kind == "turf" and isinstance(doc.get("_id"), str):
        out.add(turf_channel(doc["_id"]))
    elif kind == "household" and isinstance(doc.get("turf"), str):
        out.add(turf_channel(doc["turf"]))
    elif kind == "record":
        if isinstance(doc.get("author"), str):
            out.add(user_channel(doc["author"]))
        if isinstance(doc.get("turf"), str):
            out.add(turf_channel(doc["turf"]))
    elif kind == "assignment" and isinstance(doc.get("user"), str):
        out.add(user_channel(doc["user"]))
    elif kind == "concern_status" and isinstance(doc.get("turf"), str):
        out.add(turf_channel(doc["turf"]))
    return out


def assignment_id(user: str, turf: str) -> str:
    return f"assignment:{user}:{turf}"


def assigned_turfs(store: DocumentStore, user: str) -> set[str]:
    """The turfs of ``user``'s active assignments: documents of type assignment naming them, never an id alone."""
    prefix = f"assignment:{user}:"
    rows = store.all_docs(startkey=prefix, endkey=prefix + "\uffff", include_docs=True)["rows"]
    return {doc["turf"] for row in rows
            if isinstance(doc := row.get("doc"), dict) and doc.get("type") == "assignment" and doc.get("user") == user
            and doc.get("active", True) and isinstance(doc.get("turf"), str)}


def grants(user, campaign: str) -> set[str] | Grants | None:
    """The channels ``user`` may read in ``campaign``: a set, Grants read from the store, or None: everything.

    A volunteer's follow from their assignments, which the store reads when
    it is asked (and may remember while nothing changed: ``sync.store.Grants``).
    Raises Forbidden for a user with no role in the campaign (callers check that first).
    """
    role = role_in(user, campaign)
    if role is None:
        raise Forbidden(f"You have no role in campaign {campaign!r}")
    if role in UNFILTERED:
        return None
    name = user.name
    if role == "coordinator":
        return {COORDINATORS, user_channel(name)}
    return Grants(f"volunteer:{name}", lambda store: volunteer_channels(store, name))


def volunteer_channels(store: DocumentStore, name: str) -> set[str]:
    """A volunteer's channels, as their assignments in ``store`` give them now."""
    return {CAMPAIGN, user_channel(name)} | {turf_channel(t) for t in assigned_turfs(store, name)}
