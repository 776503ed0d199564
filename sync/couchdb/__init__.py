"""The scale-out store: Apache CouchDB 3 keeps the revision trees (``CouchDBServer``, ``CouchDBStore``); docs/store.md.

* ``http``: the connections to CouchDB;
* ``store``: the server and one database;
* ``channel_index``: a database per channel, for filtered reads (docs/channels.md);
* ``checkpoints``: replication checkpoints written behind;
* ``watch``: a campaign's changes feed, for the live feeds of this process.
"""

from sync.couchdb.store import CouchDBServer, CouchDBStore

__all__ = ["CouchDBServer", "CouchDBStore"]
