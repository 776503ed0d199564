"""Writes: may this user store this revision?  Asked by every write path (``/sync`` and REST).

The rules, each written once:

* **Ids name their type.**  An id that begins with a document type the
  server sets up (``assignment:``, ``turf:``, ``household:``, ``form:``,
  ``meeting:``, ``campaign:``, ``issue:``,
  ``concern_status:``) holds a document of that type: no record can
  take an assignment's or a turf's id (grants never come from ids anyway).
* **Organizers** read a campaign and change nothing in it.
* **Volunteers** write only their own records (``author`` is them), in their
  assigned turfs or in none; a record that names a household names one of
  their turfs, and its ``turf`` (if set) is that household's.  The stored
  document must pass too, deleted ones included: a deleted document keeps its
  owner and turf (its last live revision), so nobody writes over another's
  deletion.  A document the volunteer may not read is refused with the same
  words whatever it is: the answer says only that the id is not theirs.
* **Coordinators** write the campaign but not another person's roster data
  (``privacy``), which they cannot read: in another's sign-up they may change
  only what is not private (a visit's outcome, a conflict on the door's
  language), never create, delete or re-own one.
* **Everyone but admins**: a new record's author is its writer, and a
  record's author never changes (an author's records reach their phone).
* **Roster data stays roster data**: no revision turns a record that holds a
  resident's details into one that does not (its earlier revisions stay
  private, and so does the document: ``reads``).
* **Server-kept documents**: an ``issue`` and its ``concern_status``
  documents carry a history and statuses derived from it, which only the
  follow-up API keeps in line: over ``/sync`` a coordinator writes neither
  (the REST path, ``Writer.via == "api"``, does; volunteers and organizers
  write neither anyway).
* **Admins** are bound by the id rule only: what the store holds is not read
  for them (a restore replicates whole histories, and a push stays one read
  cheaper); their earlier revisions stay judged on their own bodies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from server.access import privacy
from server.access.auth import role_in
from server.access.channels import ROSTER, turf_channel
from sync.errors import Forbidden, NotFound, SyncError
from sync.store import DocumentStore

TYPED_IDS = ("assignment", "turf", "household", "form", "meeting", "campaign", "issue", "concern_status")
SERVER_KEPT = ("issue", "concern_status")
SERVER_KEPT_WORDS = ("Issues and what became of concerns (concern_status) are kept by the server: change them "
                     "through the follow-up API (/api/v1/campaigns/<campaign>/issues), not over /sync")


@dataclass(frozen=True)
class Writer:
    """Who writes: their name, role in the campaign, (a volunteer) the channels granted now, and by which path.

    ``via``: ``"sync"`` (the replication endpoint) or ``"api"`` (the REST views).
    """

    name: str
    role: str | None
    granted: set[str] | None = None
    via: str = "sync"


# The server itself writes (the command line, the demo, what a REST view derives after its own
# role check): bound by each document's rules, not by the policy.  The write path takes a writer
# with no default, so a caller says which it is: forgetting one is an error, not a pass.
SERVER: Writer | None = None


def writer_of(user, campaign: str | None, granted_now: Callable[[], set[str] | None], via: str = "sync") -> Writer:
    """``user`` as the policy knows a writer in ``campaign``: their role, and a volunteer's channels granted now
    (``granted_now``, called for volunteers only: reading the grants costs a read of their assignments)."""
    role = role_in(user, campaign) if campaign is not None else None
    return Writer(user.name, role, granted_now() if role == "volunteer" else None, via)


def stored_versions(store: DocumentStore, docs: list) -> dict[str, "Stored"]:
    """What the store holds for each id of the batch that exists (live or deleted), in one read or two."""
    ids = sorted({doc["_id"] for doc in docs if isinstance(doc, dict) and isinstance(doc.get("_id"), str) and doc["_id"]})
    if not ids:
        return {}
    rows = store.all_docs(keys=ids, include_docs=True)["rows"]
    found: dict[str, Stored] = {}
    deleted = []
    for row in rows:
        if isinstance(row.get("doc"), dict):
            found[row["id"]] = Stored(row["doc"], set())
        elif isinstance(row.get("value"), dict) and row["value"].get("deleted"):
            deleted.append(row["id"])
    if deleted:
        try:
            channels = store.channels_of(deleted)
        except SyncError:  # a store that routes nothing (NotServed): the last live body alone
            channels = {}
        for doc_id in deleted:
            found[doc_id] = Stored(_last_live_body(store, doc_id), channels.get(doc_id, set()), deleted=True)
    return found


@dataclass(frozen=True)
class Stored:
    body: dict | None  # the winner, or for a deleted document its last live revision (None: not kept)
    channels: set[str]  # for a deleted document: the channels it is still in
    deleted: bool = False

    @property
    def roster(self) -> bool:
        return (self.body is not None and privacy.is_roster_record(self.body)) or ROSTER in self.channels


def _last_live_body(store: DocumentStore, doc_id: str) -> dict | None:
    """The body a deleted document had before it was deleted (its tombstone's parent), if the store keeps it."""
    try:
        tombstone = store.get(doc_id, revs=True)
        ids = tombstone.get("_revisions", {}).get("ids", [])
        start = tombstone.get("_revisions", {}).get("start")
        if len(ids) < 2 or not isinstance(start, int):
            return None
        return store.get(doc_id, f"{start - 1}-{ids[1]}")
    except (NotFound, SyncError):
        return None


def check(doc: object, stored: Stored | None, writer: Writer, form: dict | None = None) -> None:
    """Raise Forbidden unless ``writer`` may store ``doc`` over ``stored`` (what the store holds for its id).

    ``form``: the definition of the record's form version, if known (which of its answers are private).
    """
    if not isinstance(doc, dict):
        return  # the store refuses a non-object itself
    doc_id = doc.get("_id") if isinstance(doc.get("_id"), str) else None
    new = None if doc.get("_deleted") is True else doc
    if writer.role == "organizer":
        raise Forbidden("An organizer reads this campaign; only its coordinators and admins change it", doc_id)
    if new is not None and doc_id:
        _id_names_type(doc_id, new)
    if writer.role == "volunteer":
        _volunteer(doc_id, new, stored, writer)
    elif writer.role == "coordinator":
        if writer.via != "api" and _server_kept(doc_id, new, stored):
            raise Forbidden(SERVER_KEPT_WORDS, doc_id)
        _coordinator(doc_id, new, stored, writer, form)
    if writer.role != "admin" and new is not None and new.get("type") == "record":
        if stored is None and new.get("author") != writer.name:
            raise Forbidden("A new record's author is the person who writes it", doc_id)
    if stored is not None and stored.body is not None and writer.role != "admin" and new is not None:
        if stored.body.get("type") == "record" and new.get("author") != stored.body.get("author"):
            raise Forbidden("A record's author never changes", doc_id)
    if stored is not None and stored.roster and new is not None and not privacy.is_roster_record(new):
        raise Forbidden("This record holds a resident's personal details (roster data); a new revision must keep "
                        "them a sign-up's, not turn them into another kind of record", doc_id)


def _server_kept(doc_id: str | None, new: dict | None, stored: Stored | None) -> bool:
    prefix = doc_id.split(":", 1)[0] if doc_id and ":" in doc_id else None
    return prefix in SERVER_KEPT or (new is not None and new.get("type") in SERVER_KEPT) or (
        stored is not None and stored.body is not None and stored.body.get("type") in SERVER_KEPT)


def _id_names_type(doc_id: str, doc: dict) -> None:
    prefix = doc_id.split(":", 1)[0] if ":" in doc_id else None
    if prefix in TYPED_IDS and doc.get("type") != prefix:
        raise Forbidden(f"An id that begins {prefix}: holds a document of type {prefix}", doc_id)


NOT_YOURS = "You may not write {id}: it is not one of your records"


def _volunteer(doc_id: str | None, new: dict | None, stored: Stored | None, writer: Writer) -> None:
    granted = writer.granted or set()
    if stored is not None:
        # Deleted or not, the stored document must be this volunteer's own record in their turfs.
        if stored.body is None or not _own_record(stored.body, writer.name, granted):
            raise Forbidden(NOT_YOURS.format(id=doc_id), doc_id)
    if new is None:
        return
    if new.get("type") != "record" or new.get("author") != writer.name:
        raise Forbidden("A volunteer may write only their own records (type record, author themselves)", doc_id)
    turf = new.get("turf")
    if turf is not None and turf_channel(turf) not in granted:
        raise Forbidden(f"{turf} is not one of your assigned turfs", doc_id)


def _own_record(body: dict, name: str, granted: set[str]) -> bool:
    if body.get("type") != "record" or body.get("author") != name:
        return False
    turf = body.get("turf")
    return turf is None or (isinstance(turf, str) and turf_channel(turf) in granted)


def check_household(doc: object, household: dict | None, writer: Writer, new_record: bool = True) -> None:
    """A volunteer's record names a household of one of their turfs, and (a new record) the same turf as it.

    An edit of a stored record keeps the turf it was made in, if the household has since moved to
    another of the volunteer's turfs (a re-cut): the visit happened where it happened.
    """
    if writer.role != "volunteer" or not isinstance(doc, dict) or doc.get("_deleted") is True:
        return
    name = doc.get("household")
    if name is None:
        return
    doc_id = doc.get("_id") if isinstance(doc.get("_id"), str) else None
    turf = household.get("turf") if isinstance(household, dict) and household.get("type") == "household" else None
    if not isinstance(turf, str) or turf_channel(turf) not in (writer.granted or set()):
        raise Forbidden(f"{name} is not a household of your assigned turfs", doc_id)
    if new_record and doc.get("turf") is not None and doc.get("turf") != turf:
        raise Forbidden(f"{name} is in {turf}, not in {doc.get('turf')}", doc_id)


def _coordinator(doc_id: str | None, new: dict | None, stored: Stored | None, writer: Writer,
                 form: dict | None) -> None:
    """Another person's roster data: a coordinator cannot read it, so may change only what is not private in it."""
    was_roster = stored is not None and stored.roster
    is_roster = new is not None and privacy.is_roster_record(new)
    if not (was_roster or is_roster):
        return
    author = (stored.body if stored is not None and stored.body is not None else new or {}).get("author")
    if author == writer.name:
        return
    if was_roster and is_roster and stored is not None and stored.body is not None and not stored.deleted:
        hidden = privacy.private_fields(new, form) | privacy.private_fields(stored.body, form)
        if all(_field(new, name) == _field(stored.body, name) for name in hidden):
            return
    raise Forbidden("Recruitment records hold residents' contact details: only their author, organizers and admins "
                    "see them and change them; a coordinator may change only what is not personal in them", doc_id)


def _field(doc: dict, name: str) -> object:
    if name.startswith("answers."):
        answers = doc.get("answers")
        return answers.get(name[len("answers."):]) if isinstance(answers, dict) else None
    return doc.get(name)
