"""Test data factories that refuse fields they do not know (a typo fails loudly)."""

from __future__ import annotations

import hashlib
import itertools

_counter = itertools.count(1)

RECORD_FIELDS = {"_id", "type", "form", "form_version", "household", "answers", "geotag", "author", "device", "_deleted", "_attachments"}


def make_record(**fields) -> dict:
    """A record document as a phone writes it; unknown fields raise TypeError."""
    unknown = set(fields) - RECORD_FIELDS
    if unknown:
        raise TypeError(f"make_record() got unknown fields: {', '.join(sorted(unknown))}")
    n = next(_counter)
    doc = {
        "_id": f"record:{n:06d}",
        "type": "record",
        "form": "form:asset_mapping",
        "form_version": 1,
        "household": f"household:{n:04d}",
        "answers": {"outcome": "contacted", "category": "skill", "asset_name": "Bike repair"},
        "geotag": {"lat": 41.89, "lon": -87.67, "accuracy_m": 8.0, "captured_at": "2026-11-20T18:00:00Z", "source": "gps"},
        "author": "user:ana",
        "device": "device:1",
    }
    doc.update(fields)
    return doc


def rev_hash(label: str) -> str:
    """A stable 32-hex revision hash named by a label, for hand-built histories."""
    return hashlib.md5(label.encode()).hexdigest()


def replicated(doc: dict, *labels: str, deleted: bool = False) -> dict:
    """``doc`` as a replicator sends it: the newest label last, e.g. ("a", "b") -> 2-b."""
    ids = [rev_hash(label) for label in reversed(labels)]
    out = {**doc, "_rev": f"{len(labels)}-{ids[0]}", "_revisions": {"start": len(labels), "ids": ids}}
    if deleted:
        out["_deleted"] = True
    return out
