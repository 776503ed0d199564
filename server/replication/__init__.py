"""The CouchDB replication protocol under ``/sync/<db>``, the endpoint phones replicate with.

* ``endpoint``: the blueprint, its dispatch and the handlers over the store;
* ``params``: the request's raw path segments, query parameters and body, and
  CouchDB's shapes of answers and errors;
* ``live``: longpolls parked in the front's event loop until a write wakes them.
"""

from server.replication.endpoint import bp

__all__ = ["bp"]
