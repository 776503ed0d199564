"""Who exported what, and where each organizer's "new since my last export" starts.

Kept in the store's system database ``_exports`` (as ``server.accounts``
keeps users in ``_accounts``): server-side, never synced, shared by every
server process on the same store, on SQLite and on CouchDB alike.

* ``cursor:<campaign>:<user>``: ``{campaign, user, kind, since, at}``:
  ``since`` is the campaign's changes-feed position (opaque, as the store
  gave it) up to which the user's last "new" export of ``kind`` included
  everything.  The next "new" export lists the people with a sign-up
  written or changed after it.
* ``audit:<campaign>:<time>:<random>``: one entry per export, ``{campaign,
  who, at, kind, format, preset, filter, rows, complete}``: who (a user
  name, or ``cli:<name>`` from the command line), when (UTC), what (roster
  or meetings), which filter (``new``, or a date range), how many rows, and
  whether the whole file was sent (a download cut off half-way is logged
  with ``complete`` false and does not move the cursor).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sync.errors import Conflict, NotFound
from sync.store import StoreServer

SYSTEM_DB = "exports"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class ExportLog:
    def __init__(self, server: StoreServer):
        self.db = server.system_db(SYSTEM_DB)

    # -- cursors -----------------------------------------------------------------

    @staticmethod
    def _cursor_id(campaign: str, user: str, kind: str) -> str:
        return f"cursor:{campaign}:{kind}:{user}"

    def cursor(self, campaign: str, user: str, kind: str = "roster") -> object | None:
        """Where ``user``'s next "new" export of ``kind`` starts; None: from the beginning."""
        try:
            return self.db.get(self._cursor_id(campaign, user, kind))["since"]
        except NotFound:
            return None

    def move_cursor(self, campaign: str, user: str, since: object, kind: str = "roster") -> None:
        doc_id = self._cursor_id(campaign, user, kind)
        for _ in range(5):
            try:
                current = self.db.get(doc_id)
            except NotFound:
                current = {"_id": doc_id}
            try:
                self.db.put({**current, "campaign": campaign, "user": user, "kind": kind, "since": since, "at": _now()})
                return
            except Conflict:
                continue  # the same organizer exporting in two tabs: the last to finish sets it
        raise Conflict(f"Could not move the export cursor of {user!r}: too many concurrent exports")

    # -- audit -------------------------------------------------------------------

    def record(self, *, campaign: str, who: str, kind: str, format: str, preset: str | None, filter: dict,
               rows: int, complete: bool) -> dict:
        at = _now()
        doc = {"_id": f"audit:{campaign}:{at}:{secrets.token_hex(4)}", "campaign": campaign, "who": who, "at": at,
               "kind": kind, "format": format, "preset": preset, "filter": filter, "rows": rows, "complete": complete}
        self.db.put(doc)
        return doc

    def entries(self, campaign: str, skip: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        """How many exports of ``campaign`` are logged, and ``limit`` of them from ``skip``, newest first."""
        span = {"startkey": f"audit:{campaign}:\uffff", "endkey": f"audit:{campaign}:", "descending": True}
        total = len(self.db.all_docs(**span)["rows"])
        if skip >= total:
            return total, []
        rows = self.db.all_docs(**span, skip=skip, limit=limit, include_docs=True)["rows"]
        return total, [{k: v for k, v in row["doc"].items() if not k.startswith("_")} for row in rows if row.get("doc")]
