"""Opening the configured store from its URL."""

from __future__ import annotations

from typing import Mapping

from sync.sqlite_store import SQLiteServer
from sync.store import StoreLimits, StoreServer


class StoreURLError(ValueError):
    pass


def open_store(url: str, config: Mapping[str, object]) -> StoreServer:
    limits = StoreLimits(
        max_document_bytes=int(config["MAX_DOCUMENT_BYTES"]),  # type: ignore[arg-type]
        revs_limit=int(config["REVS_LIMIT"]),  # type: ignore[arg-type]
    )
    if url.startswith("sqlite://"):
        path = url[len("sqlite://"):]
        if not path:
            raise StoreURLError("sqlite:// needs a path: sqlite:///absolute/path.db")
        return SQLiteServer(path, limits=limits, synchronous=str(config["SQLITE_SYNCHRONOUS"]))
    scheme = url.split(":", 1)[0] if ":" in url else url
    raise StoreURLError(f"Unknown store scheme {scheme!r}: use sqlite:///path/to/file.db")
