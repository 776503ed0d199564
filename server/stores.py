"""Opening the configured store from its URL.

* ``sqlite:///absolute/path.db`` or ``sqlite://relative/path.db``: the
  embedded store (everything after ``sqlite://`` is the path);
* ``couchdb+http://user:pass@host:5984/prefix`` (or ``couchdb+https``):
  Apache CouchDB 3; Blockwalk's databases are named ``<prefix>-<campaign>``
  and ``<prefix>_<system>``; the prefix defaults to ``blockwalk``.

Credentials in a URL never reach a message or a log: ``safe_url`` masks them.
"""

from __future__ import annotations

from typing import Mapping
from urllib.parse import unquote, urlsplit

from server.access.channels import route
from sync.couchdb.store import CouchDBServer
from sync.errors import BadRequest
from sync.sqlite import SQLiteServer
from sync.store import Router, StoreLimits, StoreServer


class StoreURLError(ValueError):
    pass


def safe_url(url: str) -> str:
    """The store URL without any password, for messages and logs."""
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    return scheme + sep + authority + slash + path


def open_store(url: str, config: Mapping[str, object], router: Router | None = route) -> StoreServer:
    limits = StoreLimits(
        max_document_bytes=int(config["MAX_DOCUMENT_BYTES"]),  # type: ignore[arg-type]
        revs_limit=int(config["REVS_LIMIT"]),  # type: ignore[arg-type]
    )
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
        if not path:
            raise StoreURLError("sqlite:// needs a path: sqlite:///absolute/path.db")
        return SQLiteServer(path, limits=limits, synchronous=str(config["SQLITE_SYNCHRONOUS"]), router=router)
    if url.startswith(("couchdb+http://", "couchdb+https://")):
        return _couchdb(url, limits, router)
    scheme = url.split("://", 1)[0] if "://" in url else "(none)"
    raise StoreURLError(
        f"Unknown store scheme {scheme!r}: use sqlite:///path/to/file.db or couchdb+http://user:pass@host:5984/prefix"
    )


def _couchdb(url: str, limits: StoreLimits, router: Router | None) -> CouchDBServer:
    parts = urlsplit(url[len("couchdb+"):])
    try:
        port = parts.port
    except ValueError:
        raise StoreURLError(f"Bad port in {safe_url(url)}") from None
    if not parts.hostname:
        raise StoreURLError(f"No host in {safe_url(url)}")
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    base = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    prefix = parts.path.strip("/") or "blockwalk"
    auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None
    try:
        return CouchDBServer(base, prefix=prefix, auth=auth, limits=limits, router=router)
    except BadRequest:
        raise StoreURLError(
            f"Bad database prefix {prefix!r} in {safe_url(url)}: lowercase letters, digits and _ $ ( ) + -, a letter first"
        ) from None
