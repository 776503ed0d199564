"""What each phone last said it still holds: its sync report, kept server-side.

After each sync the canvasser app sends ``PUT
/api/v1/campaigns/<campaign>/devices/<device>/report`` with ``{pending,
refused, last_sync_at}``.  Reports live in the store's system database
``_devices`` (never synced, shared by every server process), one document per
campaign, user and device: ``report:<campaign>:<user>:<device>``.  The user is
the one whose token sent it, so a volunteer reports only for themself.  A
report older (by ``last_sync_at``) than the one kept is ignored: reports can
arrive out of order from a phone that retries.

Each report also keeps which device token sent it (its public id), so the
coordinators' people page can put a phone's report and its sign-in
together, and revoke that sign-in (``phones``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sync.errors import Conflict, NotFound
from sync.store import StoreServer

SYSTEM_DB = "devices"


class DeviceReports:
    def __init__(self, server: StoreServer):
        self.db = server.system_db(SYSTEM_DB)

    def put(self, campaign: str, user: str, device: str, pending: int, refused: int, last_sync_at: datetime,
            token: str | None = None) -> dict:
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
                   "refused": refused, "last_sync_at": stamp, "token": token or current.get("token"),
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


def phones(volunteers: list[str], tokens: dict[str, list[dict]], reports: list[dict], now: datetime) -> list[dict]:
    """Each volunteer's phones: every sign-in (device token) not yet expired, with the report its phone sent last.

    A report sent with no known token (before tokens were kept with reports,
    or by a password on every request) is a phone of its own with no
    sign-in to revoke.  A revoked sign-in stays listed while its phone last
    said it held pending or refused changes: that work is still on it.
    By volunteer, then newest sync first.
    """
    by_token: dict[str, dict] = {}
    loose: list[dict] = []
    for report in reports:
        if report["user"] not in volunteers:
            continue
        kept = by_token.get(report.get("token") or "")
        if report.get("token") and (kept is None or kept["last_sync_at"] < report["last_sync_at"]):
            by_token[report["token"]] = report
        elif not report.get("token"):
            loose.append(report)
    out = []
    for user in volunteers:
        for token in tokens.get(user, []):
            report = by_token.get(token["id"])
            expired = token["expires_at"] is not None and datetime.fromisoformat(token["expires_at"]) <= now
            # An ended sign-in (expired or revoked) is listed while its phone last said it still held work:
            # that phone needs a new sign-in most of all.
            if (expired or token["revoked"]) and not (report and (report["pending"] or report["refused"])):
                continue
            if token["label"] == "coordinator pages":
                continue  # a laptop's browser tab, not a phone
            out.append(_phone(user, token, report))
        out.extend(_phone(user, None, r) for r in loose if r["user"] == user)
    order = {user: i for i, user in enumerate(volunteers)}
    out.sort(key=lambda p: (order[p["user"]], -_stamp(p["last_sync_at"] or p["signed_in_at"] or "")))
    return out


def _stamp(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return 0.0


def _phone(user: str, token: dict | None, report: dict | None) -> dict:
    report = report or {}
    return {"user": user, "token": token["id"] if token else None, "label": token["label"] if token else "",
            "signed_in_at": token["created_at"] if token else None,
            "last_used_at": token["last_used_at"] if token else None,
            "expires_at": token["expires_at"] if token else None, "revoked": bool(token and token["revoked"]),
            "device": report.get("device"), "pending": report.get("pending"), "refused": report.get("refused"),
            "last_sync_at": report.get("last_sync_at")}


def _public(doc: dict) -> dict:
    return {**{k: doc[k] for k in ("device", "user", "pending", "refused", "last_sync_at", "received_at")},
            "token": doc.get("token")}
