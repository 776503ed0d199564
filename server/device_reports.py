"""What each phone last said it still holds: its sync report, kept server-side.

After each sync the canvasser app sends ``PUT
/api/v1/campaigns/<campaign>/devices/<device>/report`` with ``{pending,
refused, last_sync_at}``.  Reports live in the store's system database
``_devices`` (never synced, shared by every server process), one document per
campaign, user and device: ``report:<campaign>:<user>:<device>``.  The user is
the one whose token sent it, so a volunteer reports only for themself.  A
report older (by ``last_sync_at``) than the one kept is ignored: reports can
arrive out of order from a phone that retries.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sync.errors import Conflict, NotFound
from sync.store import StoreServer

SYSTEM_DB = "devices"


class DeviceReports:
    def __init__(self, server: StoreServer):
        self.db = server.system_db(SYSTEM_DB)

    def put(self, campaign: str, user: str, device: str, pending: int, refused: int, last_sync_at: datetime) -> dict:
        """Keep the report (unless a newer one is kept already); returns the report kept."""
        doc_id = f"report:{campaign}:{user}:{device}"
        stamp = last_sync_at.astimezone(UTC).isoformat(timespec="seconds")
        for _ in range(5):
            try:
                current = self.db.get(doc_id)
            except NotFound:
                current = {"_id": doc_id}
            if current.get("last_sync_at", "") > stamp:
                return _public(current)
            doc = {**current, "campaign": campaign, "user": user, "device": device, "pending": pending,
                   "refused": refused, "last_sync_at": stamp,
                   "received_at": datetime.now(UTC).isoformat(timespec="seconds")}
            try:
                self.db.put(doc)
                return _public(doc)
            except Conflict:
                continue  # two reports of one phone at once: read the other and compare again
        raise Conflict("The device's report changed too often to be saved; send it again")

    def of_campaign(self, campaign: str) -> list[dict]:
        prefix = f"report:{campaign}:"
        rows = self.db.all_docs(startkey=prefix, endkey=prefix + "\uffff", include_docs=True)["rows"]
        return [_public(row["doc"]) for row in rows if row.get("doc")]


def _public(doc: dict) -> dict:
    return {k: doc[k] for k in ("device", "user", "pending", "refused", "last_sync_at", "received_at")}
