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

Recruitment records hold residents' contact details and consent: they go to
their author and the coordinators only, never to other volunteers of the
turf.  Coordinators read unfiltered, so a document in no channel reaches
them alone (and costs no index rows).

Grants (``grants``), by the user's role in the campaign (``auth.role_in``):
admins, organizers and coordinators read the whole campaign (no filter); a
user with no role there reads nothing.  A volunteer gets ``campaign``, ``user:<name>`` and
``turf:<t>`` for each active assignment (documents ``assignment:<name>:<t>``
with ``active`` true).
"""

from __future__ import annotations

from server.auth import role_in
from sync.errors import Forbidden
from sync.store import DocumentStore

CAMPAIGN = "campaign"
UNFILTERED_ROLES = {"admin", "organizer", "coordinator"}
PRIVATE_FORMS = {"form:recruitment"}


def turf_channel(turf_id: str) -> str:
    return f"turf:{turf_id}"


def user_channel(name: str) -> str:
    return f"user:{name}"


def route(doc: dict) -> set[str]:
    kind = doc.get("type")
    out: set[str] = set()
    if kind in ("form", "meeting", "campaign"):
        out.add(CAMPAIGN)
    elif kind == "turf" and isinstance(doc.get("_id"), str):
        out.add(turf_channel(doc["_id"]))
    elif kind == "household" and isinstance(doc.get("turf"), str):
        out.add(turf_channel(doc["turf"]))
    elif kind == "record":
        if isinstance(doc.get("author"), str):
            out.add(user_channel(doc["author"]))
        if isinstance(doc.get("turf"), str) and doc.get("form") not in PRIVATE_FORMS:
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


def grants(store: DocumentStore, user, campaign: str) -> set[str] | None:
    """The channels ``user`` may read in ``campaign`` (``store``); None: everything.

    Raises Forbidden for a user with no role in the campaign (callers check that first).
    """
    role = role_in(user, campaign)
    if role is None:
        raise Forbidden(f"You have no role in campaign {campaign!r}")
    if role in UNFILTERED_ROLES:
        return None
    return {CAMPAIGN, user_channel(user.name)} | {turf_channel(t) for t in assigned_turfs(store, user.name)}
