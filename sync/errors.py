"""Every error the sync engine raises, named as CouchDB names it.

The replication endpoint answers ``{"error": <error>, "reason": <reason>}``
with ``status``; a per-document error in ``_bulk_docs`` uses the same names.
"""

from __future__ import annotations


class SyncError(Exception):
    """Base class; ``error`` and ``status`` are CouchDB's for the case."""

    error = "unknown_error"
    status = 500

    def __init__(self, reason: str, doc_id: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.doc_id = doc_id

    def as_result(self) -> dict:
        """The per-document shape of ``_bulk_docs``: ``{id, error, reason}``."""
        result = {"error": self.error, "reason": self.reason}
        if self.doc_id is not None:
            result = {"id": self.doc_id, **result}
        return result


class BadRequest(SyncError):
    """Malformed input: a bad revision id, a non-object body, a bad id."""

    error, status = "bad_request", 400


class Forbidden(SyncError):
    """A document the writer may not write (validation or authorisation)."""

    error, status = "forbidden", 403


class NotFound(SyncError):
    """No such document, revision, attachment or database."""

    error, status = "not_found", 404


class Conflict(SyncError):
    """A user edit against a revision that is not a leaf: CouchDB's 409."""

    error, status = "conflict", 409


class PreconditionFailed(SyncError):
    """An attachment stub with no attachment behind it, or a db that exists."""

    error, status = "precondition_failed", 412


class MissingStub(PreconditionFailed):
    error = "missing_stub"


class Unauthorized(SyncError):
    """No credential, or a wrong one: nothing is read or written."""

    error, status = "unauthorized", 401


class MethodNotAllowed(SyncError):
    error, status = "method_not_allowed", 405


class RequestTooLarge(SyncError):
    """A request body over the configured limit."""

    error, status = "too_large", 413


class TooManyRequests(SyncError):
    """Too many failed sign-ins from this account or address: wait and try again."""

    error, status = "too_many_requests", 429

    def __init__(self, reason: str, doc_id: str | None = None, retry_after: int = 60):
        super().__init__(reason, doc_id)
        self.retry_after = retry_after


class NotServed(SyncError):
    """A request this store cannot answer yet (see the docs for what is served)."""

    error, status = "not_implemented", 501


class StoreUnavailable(SyncError):
    """The document store cannot be reached or failed; try again later."""

    error, status = "service_unavailable", 503


class InsufficientStorage(SyncError):
    """The disk is full: nothing of the request was stored; reads are still served."""

    error, status = "insufficient_storage", 507


class DocumentTooLarge(SyncError):
    """A body over the configured size limit (attachments not counted)."""

    error, status = "document_too_large", 413


def from_result(result: dict) -> SyncError:
    """The exception for a per-document result ``{id, error, reason}``."""
    for cls in _all_subclasses(SyncError):
        if cls.error == result["error"]:
            return cls(result["reason"], result.get("id"))
    return SyncError(result["reason"], result.get("id"))


def _all_subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_all_subclasses(sub))
    return found
