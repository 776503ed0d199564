"""One database of the SQLite store (``SQLiteStore``), made of its parts.

The server (``sync.sqlite.server``) holds the file and its connections; the
tables are described in ``sync.sqlite.schema``.  Each part extends
``sync.sqlite.base.StoreBase``: ``writes`` (``bulk_docs``), ``reads``
(``get``, ``open_revs``, ``bulk_get``, ``revs_diff``, ``all_docs``,
attachments), ``changes`` (the feed and the wait for it) and ``local``
(``_local`` documents).
"""

from __future__ import annotations

from sync.sqlite.changes import Changes
from sync.sqlite.local import LocalDocs
from sync.sqlite.reads import Reads
from sync.sqlite.writes import Writes
from sync.store import PutFromBulkDocs, ReadsByGrants


class SQLiteStore(Writes, Reads, Changes, LocalDocs, PutFromBulkDocs, ReadsByGrants):
    """One database (implements ``sync.store.DocumentStore``)."""
