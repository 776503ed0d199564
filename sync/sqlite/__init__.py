"""The embedded store: SQLite in WAL mode, with Blockwalk keeping the revision trees (docs/store.md).

* ``schema``: the tables, and how queries list ids;
* ``server``: ``SQLiteServer``, the file with its connections, transactions,
  backup and restore, and change notifications;
* ``store``: ``SQLiteStore``, one database, made of ``base`` (what every part
  shares), ``writes`` (the write batch), ``reads`` (documents, revisions,
  ``_all_docs``, attachments), ``changes`` (the feeds and waiting for a
  change) and ``local`` (``_local`` documents).
"""

from sync.sqlite.server import SQLiteServer
from sync.sqlite.store import SQLiteStore

__all__ = ["SQLiteServer", "SQLiteStore"]
