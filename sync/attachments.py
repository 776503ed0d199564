"""Attachments: stored once by digest, sent as stubs, CouchDB-style.

A document carries ``_attachments: {name: {...}}``.  Inline data
(``{"content_type", "data": <base64>}``) is decoded here, given its digest
(``md5-<base64 of the MD5>``, as CouchDB and PouchDB compute it, so a client
that already holds that digest never fetches the bytes again) and replaced by
a stub.  A stub (``{"stub": true, ...}``) refers to bytes the store already
has, by digest or by the name in the parent revision.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from sync.errors import BadRequest


def digest_of(data: bytes) -> str:
    return "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode("ascii")


def prepare(doc: dict) -> tuple[dict, dict[str, bytes]]:
    """Replace inline data by stubs; return the document and the new blobs.

    The stubs of new data have no ``revpos`` yet unless the sender gave one
    (a replicated revision keeps its own); the store fills it in.
    """
    attachments = doc.get("_attachments")
    if not attachments:
        return doc, {}
    doc_id = doc.get("_id") if isinstance(doc.get("_id"), str) else None
    blobs: dict[str, bytes] = {}
    stubs: dict[str, dict] = {}
    for name, att in attachments.items():
        if not isinstance(att, dict) or not name:
            raise BadRequest(f"Attachment {name!r} must be a non-empty name with an object", doc_id)
        if att.get("follows"):
            raise BadRequest("Multipart attachments (follows) are not supported; send data inline", doc_id)
        if "data" in att:
            data = _decode(att["data"], name, doc_id)
            digest = digest_of(data)
            blobs[digest] = data
            stub = {
                "content_type": _content_type(att, name, doc_id),
                "digest": digest,
                "length": len(data),
                "stub": True,
            }
            if type(att.get("revpos")) is int and att["revpos"] > 0:
                stub["revpos"] = att["revpos"]
            stubs[name] = stub
        elif att.get("stub") is True:
            stubs[name] = dict(att)
        else:
            raise BadRequest(f"Attachment {name!r} needs data or stub", doc_id)
    return {**doc, "_attachments": stubs}, blobs


def _decode(data: object, name: str, doc_id: str | None) -> bytes:
    if not isinstance(data, str):
        raise BadRequest(f"Attachment {name!r}: data must be a base64 string", doc_id)
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"Attachment {name!r}: data is not valid base64", doc_id) from None


def _content_type(att: dict, name: str, doc_id: str | None) -> str:
    content_type = att.get("content_type", "application/octet-stream")
    if not isinstance(content_type, str):
        raise BadRequest(f"Attachment {name!r}: content_type must be a string", doc_id)
    return content_type


def inline(stub: dict, data: bytes) -> dict:
    """A stub with its bytes, for reads with ``attachments=true``."""
    out = {k: v for k, v in stub.items() if k != "stub"}
    out["data"] = base64.b64encode(data).decode("ascii")
    return out
