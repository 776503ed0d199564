"""Conflicts resolved on arrival, and the server's own stamped edits of records.

When a replicated batch is stored, every record of the batch that then has
more than one live leaf is merged (``sync.merge``, with the policies of its
form version): one merge revision as a child of the winning leaf, and a
deletion of every losing leaf, written by the store in the batch's own
transaction (``resolver``, the store's hook) or, by ``resolve``, as a
second write.  The merge revision's id comes from its parent and its
content (``sync.revid``), and the content only from the set of leaves, so
server processes racing on the same conflict write the same revisions:
exactly one merge, on either store.
See ``docs/conflicts.md``.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import Iterable

from forms.definition import iter_fields, merge_policy
from sync import merge as merging
from sync.errors import NotFound, SyncError
from sync.revid import new_rev, parse_rev
from sync.stamps import Clock, FieldLayout, stamp_edit
from sync.store import DocumentStore, Resolver, resolve_after

SERVER_DEVICE = "server"
# A record's fields, as the stamps and the merge read them (docs/conflicts.md): each answer is a field of
# its own (``answers.<name>``); a leaf written without stamps says who, on which device and when by its
# own keys, and the geotag says where each device was.
RECORD_FIELDS = FieldLayout(groups=("answers",), author="author", device="device", times=("updated_at", "created_at"),
                            location="geotag")
TOP_POLICIES = {
    "geotag": merging.Policy("best_accuracy"),
    "updated_at": merging.Policy("newest"),
    "updated_by": merging.Policy("newest"),
    "device": merging.Policy("newest"),
}

# Per store server (several apps may run in one process), by campaign, form and version.
_policies: "weakref.WeakKeyDictionary[object, dict]" = weakref.WeakKeyDictionary()
_clock = Clock()
_clock_lock = threading.Lock()


# --------------------------------------------------------------------------- policies


def policies_of(definition: dict) -> dict[str, merging.Policy]:
    """Field key -> merge policy, from a form definition (``forms.definition.merge_policy``)."""
    choices = definition.get("choices") if isinstance(definition.get("choices"), dict) else {}
    out = dict(TOP_POLICIES)
    for _, field, _ in iter_fields(definition.get("fields") or []):
        kind, name = field.get("type"), field.get("name")
        if kind in ("group", "note") or not isinstance(name, str):
            continue
        listed = choices.get(field.get("choices")) or []
        order = tuple(c.get("value") for c in listed if isinstance(c, dict))
        out[f"answers.{name}"] = merging.Policy(merge_policy(field), order)
    return out


def policies_for(store: DocumentStore, record: dict) -> dict[str, merging.Policy]:
    """The policies of the record's form version (cached: published versions never change)."""
    form, version = record.get("form"), record.get("form_version")
    if not isinstance(form, str) or type(version) is not int:
        return dict(TOP_POLICIES)
    cache = _policies.setdefault(getattr(store, "server", store), {})
    key = (getattr(store, "name", ""), form, version)
    found = cache.get(key)
    if found is None:
        try:
            definition = store.get(f"{form}@{version}")
        except (NotFound, SyncError):
            return dict(TOP_POLICIES)  # no such version: every answer by last writer
        if definition.get("status") != "published":
            return policies_of(definition)  # a draft may still change: not cached
        found = cache[key] = policies_of(definition)
    return found


# --------------------------------------------------------------------------- resolution on arrival


def _winner_key(doc: dict) -> tuple[int, str]:
    return parse_rev(doc["_rev"])


def merge_writes(doc_id: str, leaves: list[dict], policies: dict[str, merging.Policy]) -> list[dict]:
    """The replicated writes that resolve ``leaves`` (live leaves, with ``_rev``): a merge and deletions."""
    winner = max(leaves, key=_winner_key)
    merged = merging.merge_noted(leaves, policies, layout=RECORD_FIELDS)
    merged["_id"] = doc_id
    pos, parent_hash = parse_rev(winner["_rev"])
    rev = new_rev(winner["_rev"], merged, False)
    merged["_rev"] = rev
    merged["_revisions"] = {"start": pos + 1, "ids": [rev.split("-", 1)[1], parent_hash]}
    writes = [merged]
    for leaf in leaves:
        if leaf is winner:
            continue
        lpos, lhash = parse_rev(leaf["_rev"])
        gone = new_rev(leaf["_rev"], {}, True)
        writes.append({"_id": doc_id, "_rev": gone, "_deleted": True,
                       "_revisions": {"start": lpos + 1, "ids": [gone.split("-", 1)[1], lhash]}})
    return writes


def resolver(store: DocumentStore) -> Resolver:
    """The store's conflict hook (``sync.store.Resolver``): the merge of a record's live leaves."""

    known: dict[tuple[str, int], dict[str, merging.Policy]] = {}  # for this batch, by form and version

    def resolve_record(doc_id: str, leaves: list[dict]) -> list[dict]:
        winner = max(leaves, key=_winner_key)
        if winner.get("type") != "record":
            return []  # other types keep CouchDB's rule
        form, version = winner.get("form"), winner.get("form_version")
        if not isinstance(form, str) or type(version) is not int:
            return merge_writes(doc_id, leaves, policies_for(store, winner))
        policies = known.get((form, version))
        if policies is None:
            policies = known[(form, version)] = policies_for(store, winner)
        return merge_writes(doc_id, leaves, policies)

    return resolve_record


def resolve(store: DocumentStore, doc_ids: Iterable[str]) -> list[str]:
    """Merge every record among ``doc_ids`` that has conflicting leaves, as a second write; the ids merged."""
    return resolve_after(store, doc_ids, resolver(store))


# --------------------------------------------------------------------------- the server's own edits


def stamp(before: dict | None, after: dict, user: str, touched: Iterable[str] = ()) -> dict:
    """``after`` stamped as an edit by the server on behalf of ``user`` (REST edits, resolutions)."""
    with _clock_lock:
        return stamp_edit(before, after, device=SERVER_DEVICE, user=user, clock=_clock,
                          now_ms=int(time.time() * 1000), layout=RECORD_FIELDS, touched=touched)
