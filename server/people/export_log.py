"""Who exported what, and where each organizer's "new since my last export" starts.

Kept in the store's system database ``_exports`` (as ``server.access.accounts``
keeps users in ``_accounts``): server-side, never synced, shared by every
server process on the same store, on SQLite and on CouchDB alike.

* ``cursor:<campaign>:<user>``: ``{campaign, user, kind, since, at}``:
  ``since`` is the campaign's changes-feed position (opaque, as the store
  gave it) up to which the user's last "new" export of ``kind`` included
  everything.  The next "new" export lists the people with a sign-up
  written or changed after it.
* ``audit:<campaign>:<time>:<random>`` (the time the export began): one entry per export, ``{campaign,
  who, at, kind, format, preset, filter, rows, complete}``: who (a user
  name, or ``cli:<name>`` from the command line), when (UTC), what (roster
  or meetings), which filter (``new``, or a date range), how many rows, and
  whether the whole file was sent (a download cut off half-way is logged
  with ``complete`` false and does not move the cursor).  A roster export
  also says which rows it had to change or leave out
  (``server.people.roster.ExportReport``): ``cut_rows`` and ``cut`` (``{row,
  person, columns}``: values shortened to the CRM's limits), and
  ``problem_people`` and ``problems`` (``{row, person, kinds}``: people whose
  phone or e-mail could not be exported; ``row`` null when the person is not
  in the file at all); ``row`` is the line of the file, the header being
  line 1, and each list keeps its first 200 rows.  Person ids, never names
  or contacts: the log outlives the roster's data.
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

    @staticmethod
    def new_id(campaign: str) -> str:
        """The id of an entry not yet written: an export names it before it ends (the page asks for it after)."""
        return f"audit:{campaign}:{_now()}:{secrets.token_hex(4)}"

    def record(self, *, campaign: str, who: str, kind: str, format: str, preset: str | None, filter: dict,
               rows: int, complete: bool, report: dict | None = None, entry_id: str | None = None) -> dict:
        """Log one export; ``report``: what ``ExportReport.logged`` gives; ``entry_id``: from ``new_id``."""
        doc = {"_id": entry_id or self.new_id(campaign), "campaign": campaign, "who": who, "at": _now(),
               "kind": kind, "format": format, "preset": preset, "filter": filter, "rows": rows, "complete": complete,
               **(report or {})}
        self.db.put(doc)
        return doc

    def entry(self, campaign: str, entry_id: str) -> dict | None:
        """One entry of ``campaign`` by id (with ``id``), or None."""
        if not entry_id.startswith(f"audit:{campaign}:"):
            return None
        try:
            doc = self.db.get(entry_id)
        except NotFound:
            return None
        return {"id": doc["_id"], **{k: v for k, v in doc.items() if not k.startswith("_")}}

    def entries(self, campaign: str, skip: int = 0, limit: int | None = None) -> tuple[int, list[dict]]:
        """How many exports of ``campaign`` are logged, and ``limit`` of them from ``skip``, newest first."""
        span = {"startkey": f"audit:{campaign}:\uffff", "endkey": f"audit:{campaign}:", "descending": True}
        total = len(self.db.all_docs(**span)["rows"])
        if skip >= total:
            return total, []
        rows = self.db.all_docs(**span, skip=skip, limit=limit, include_docs=True)["rows"]
        return total, [{k: v for k, v in row["doc"].items() if not k.startswith("_")} for row in rows if row.get("doc")]
