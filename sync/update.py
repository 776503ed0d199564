"""How an incoming document becomes a path to merge: the conflict rule, in one place.

There are two kinds of write, as in CouchDB's ``_bulk_docs``:

* a **user edit** (``new_edits=true``) names the revision it was made on in
  ``_rev``.  It may only extend a leaf: an edit on an older revision, or a
  new document whose id is taken, is a 409 conflict, because accepting it
  would branch the tree behind the writer's back.  A document whose winner
  is deleted may be written again without ``_rev``: the new revision extends
  the deleted leaf (CouchDB's rule for re-creating a deleted document).
* a **replicated write** (``new_edits=false``) carries its revision and its
  history (``_revisions``) and is merged as it is: branches are kept, which
  is how conflicts reach the server.

Stores call ``plan_edit`` or ``plan_replicated`` and merge the result; they
never decide this themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sync import revtree
from sync.errors import BadRequest, Conflict, DocumentTooLarge
from sync.names import DESIGN_PREFIX, MAX_ID_LENGTH
from sync.revid import InvalidRev, is_hash, new_rev, parse_rev


# Special members a document may carry.  The first set is stored, the second
# is produced by reads and ignored when written back (PouchDB and CouchDB
# replicators send some of them).
_STORED_SPECIAL = {"_id", "_rev", "_deleted", "_attachments"}
_IGNORED_SPECIAL = {"_revisions", "_conflicts", "_deleted_conflicts", "_revs_info", "_local_seq"}


@dataclass(frozen=True, slots=True)
class Write:
    """A revision ready to store: merge ``path``; the new leaf is ``rev``."""

    doc_id: str
    rev: str
    deleted: bool
    path: revtree.Tree
    body: dict  # _id, _rev, _deleted when true, _attachments as sent, fields
    parent: str | None = None  # the edited revision, for a user edit


def check_doc_id(doc_id: object) -> str:
    """A stored document's id: a non-empty string; ``_`` only for ``_design/``."""
    if not isinstance(doc_id, str) or not doc_id:
        raise BadRequest("Document id must be a non-empty string", _id_or_none(doc_id))
    if len(doc_id) > MAX_ID_LENGTH:
        raise BadRequest(f"Document id is longer than {MAX_ID_LENGTH} characters", doc_id[:MAX_ID_LENGTH])
    if "\x00" in doc_id or (not doc_id.isascii() and any(0xD800 <= ord(c) <= 0xDFFF for c in doc_id)):
        raise BadRequest("Document id contains an invalid character", doc_id)
    if doc_id.startswith("_") and not doc_id.startswith(DESIGN_PREFIX):
        raise BadRequest(
            "Only reserved document ids may start with underscore "
            "(_design/ and _local/)",
            doc_id,
        )
    return doc_id


def _id_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def check_body(doc: object) -> dict:
    """A document must be a JSON object with only known special members."""
    if not isinstance(doc, dict):
        raise BadRequest("Document must be a JSON object")
    for key in doc:
        if key.startswith("_") and key not in _STORED_SPECIAL and key not in _IGNORED_SPECIAL:
            raise BadRequest(f"Bad special document member: {key}", _id_or_none(doc.get("_id")))
    deleted = doc.get("_deleted", False)
    if not isinstance(deleted, bool):
        raise BadRequest("_deleted must be true or false", _id_or_none(doc.get("_id")))
    attachments = doc.get("_attachments")
    if attachments is not None and not isinstance(attachments, dict):
        raise BadRequest("_attachments must be an object", _id_or_none(doc.get("_id")))
    return doc


def check_size(doc_id: str, size: int, limit: int) -> None:
    """A document's JSON body (attachments' data not counted) must fit the limit."""
    if size > limit:
        raise DocumentTooLarge(
            f"Document {doc_id} is {size} bytes; the limit is {limit} bytes (attachments not counted)", doc_id
        )


def _stored_body(doc: dict, doc_id: str, rev: str, deleted: bool) -> dict:
    body = {k: v for k, v in doc.items() if not k.startswith("_")}
    body["_id"] = doc_id
    body["_rev"] = rev
    if deleted:
        body["_deleted"] = True
    if doc.get("_attachments"):
        body["_attachments"] = doc["_attachments"]
    return body


def plan_replicated(doc: dict) -> Write:
    """A replicated revision (``new_edits=false``): its path, as sent.  ``doc`` passed ``check_body``."""
    doc_id = check_doc_id(doc.get("_id"))
    rev = doc.get("_rev")
    if rev is None:
        raise BadRequest("A replicated document needs _rev", doc_id)
    try:
        pos, rev_hash = parse_rev(rev)
    except InvalidRev as exc:
        raise BadRequest(str(exc), doc_id) from None
    deleted = doc.get("_deleted", False)
    revisions = doc.get("_revisions")
    if revisions is None:
        if pos != 1:
            raise BadRequest(
                f"_revisions is missing: {rev} has ancestors, and without them it "
                "would be stored unconnected to its history",
                doc_id,
            )
        ids = [rev_hash]
    else:
        ids = _check_revisions(revisions, pos, rev_hash, rev, doc_id)
    path = revtree.path(pos, ids, deleted)
    return Write(doc_id, rev, deleted, path, _stored_body(doc, doc_id, rev, deleted))


def plan_built(doc: dict) -> Write:
    """A revision the server built itself (a merge, a deletion), with a well-formed ``_rev`` and
    ``_revisions``: planned as ``plan_replicated`` would, without the checks of a client's write."""
    doc_id, rev = doc["_id"], doc["_rev"]
    deleted = doc.get("_deleted", False)
    revisions = doc["_revisions"]
    path = revtree.path(revisions["start"], revisions["ids"], deleted)
    return Write(doc_id, rev, deleted, path, _stored_body(doc, doc_id, rev, deleted))


def _check_revisions(revisions: object, pos: int, rev_hash: str, rev: str, doc_id: str) -> list[str]:
    if not isinstance(revisions, dict):
        raise BadRequest("_revisions must be an object {start, ids}", doc_id)
    start, ids = revisions.get("start"), revisions.get("ids")
    if type(start) is not int or not isinstance(ids, list) or not ids:
        raise BadRequest("_revisions needs an integer start and a non-empty list of ids", doc_id)
    if not all(is_hash(i) for i in ids):
        raise BadRequest("_revisions.ids must be lowercase hex revision hashes", doc_id)
    if start != pos or ids[0] != rev_hash:
        raise BadRequest(f"_revisions ({start}-{ids[0]}) does not match _rev ({rev})", doc_id)
    if len(ids) > start:
        raise BadRequest(f"_revisions lists {len(ids)} revisions for generation {start}", doc_id)
    if len(set(ids)) != len(ids):
        raise BadRequest("_revisions.ids repeats a revision", doc_id)
    return ids


def plan_edit(doc: dict, doc_id: str, tree: revtree.Tree) -> Write:
    """A user edit (``new_edits=true``) on ``tree``; raises Conflict per the rule.  ``doc`` passed ``check_body``."""
    check_doc_id(doc_id)
    deleted = doc.get("_deleted", False)
    given = doc.get("_rev")
    if given is None:
        if not tree:
            # Case: a new document.
            parent = None
        else:
            current = revtree.winner(tree)
            if not current.deleted:
                # Case: the id is taken and the writer did not say which revision it saw.
                raise Conflict("Document update conflict.", doc_id)
            # Case: re-creating a deleted document extends its deleted leaf.
            parent = current
    else:
        try:
            pos, rev_hash = parse_rev(given)
        except InvalidRev as exc:
            raise BadRequest(str(exc), doc_id) from None
        found = revtree.find(tree, pos, rev_hash)
        if found is None or not found[2]:
            # Case: an edit on an unknown or non-leaf revision would branch the tree.
            raise Conflict("Document update conflict.", doc_id)
        node, ancestry, _ = found
        parent = revtree.Leaf(pos, rev_hash, node.deleted, ancestry)
    body = _stored_body(doc, doc_id, "", deleted)
    rev = new_rev(None if parent is None else parent.rev_id, body, deleted)
    body["_rev"] = rev
    new_pos, new_hash = parse_rev(rev)
    ancestry = () if parent is None else parent.path
    path = revtree.path(new_pos, (new_hash, *ancestry), deleted)
    return Write(doc_id, rev, deleted, path, body, None if parent is None else parent.rev_id)
