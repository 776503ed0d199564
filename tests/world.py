"""One small campaign with a person of every role, on a real SQLite store, for the permission tests.

Campaign ``east``: turfs ``turf:1`` (volunteer ``vic``) and ``turf:2``
(volunteer ``val``), a household in each, records of both, a recruitment
record of each (``record:signup`` by val, with a resident's name, phone and a
consent attachment; ``record:vic-signup``), a meeting, an issue (coordinators only), the built-in forms, a document in no channel.  ``nora``
is a volunteer of campaign ``west`` only: no role in ``east``.
"""

from __future__ import annotations

from datetime import timedelta

from forms.templates import DRIVES, published
from server import create_app
from server.access import accounts as accounts_module
from server.access.channels import assignment_id
from server.services import services
from tests.peers import RECORD

CAMPAIGN = "east"
USERS = {"ada": ("admin", None), "olly": ("organizer", CAMPAIGN), "cora": ("coordinator", CAMPAIGN),
         "vic": ("volunteer", CAMPAIGN), "val": ("volunteer", CAMPAIGN), "nora": ("volunteer", "west")}
# The columns of docs/permissions.md, and who plays each.
COLUMNS = {"admin": "ada", "organizer": "olly", "coordinator": "cora", "volunteer": "vic", "no role here": "nora",
           "no credential": None}
LAT, LON = 41.89, -87.68


def square(x: int, size: float = 0.002) -> dict:
    x0, y0 = LON + x * size, LAT
    x1, y1 = x0 + size, y0 + size
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


def documents() -> list[dict]:
    mine = {**RECORD, "answers": {"outcome": "not_home"}}
    return [
        {"_id": f"campaign:{CAMPAIGN}", "type": "campaign", "name": "East side", "description": "",
         "drives": [{"id": "assets", "name": "Assets", "forms": ["form:asset_mapping"]}]},
        *[published(drive) for drive in DRIVES],
        {"_id": "meeting:m1", "type": "meeting", "title": {"en": "Block meeting"}, "starts_at": "2026-12-03T18:30:00-06:00",
         "place": "School gym", "languages": ["en", "es"]},
        {"_id": "turf:1", "type": "turf", "name": "North", "geometry": square(0)},
        {"_id": "turf:2", "type": "turf", "name": "South", "geometry": square(1)},
        {"_id": "household:1a", "type": "household", "turf": "turf:1", "address": "1 Maple St",
         "location": {"lat": LAT + 0.001, "lon": LON + 0.001}},
        {"_id": "household:2a", "type": "household", "turf": "turf:2", "address": "2 Oak St",
         "location": {"lat": LAT + 0.001, "lon": LON + 0.003}},
        {"_id": "record:vic-1", **mine, "turf": "turf:1", "author": "vic"},
        {"_id": "record:val-1", **mine, "turf": "turf:1", "author": "val"},
        {"_id": "record:val-2", **mine, "turf": "turf:2", "author": "val",
         "geotag": {"lat": LAT + 0.001, "lon": LON + 0.003, "accuracy_m": 8.0, "captured_at": "2026-11-20T17:00:00+00:00",
                    "source": "gps"},
         "_attachments": {"door.txt": {"content_type": "text/plain", "data": "c2VjcmV0"}}},
        {"_id": "record:signup", "type": "record", "form": "form:recruitment", "form_version": 1, "turf": "turf:1",
         "author": "val", "answers": {"outcome": "contacted", "interested": "yes", "name": "Rosa Diaz",
                                      "phone": "+13125550123"},
         "_attachments": {"consent.txt": {"content_type": "text/plain", "data": "c2lnbmVk"}}},
        {"_id": "record:vic-signup", "type": "record", "form": "form:recruitment", "form_version": 1,
         "turf": "turf:1", "author": "vic", "answers": {"outcome": "contacted", "interested": "no"}},
        {"_id": assignment_id("vic", "turf:1"), "type": "assignment", "user": "vic", "turf": "turf:1", "active": True},
        {"_id": assignment_id("val", "turf:2"), "type": "assignment", "user": "val", "turf": "turf:2", "active": True},
        {"_id": "roster:note", "type": "roster_note", "text": "coordinators only"},
        {"_id": "issue:i1", "type": "issue", "title": {"en": "Street lights"}, "meeting": "meeting:m1", "status": "raised",
         "sources": [{"concern": "record:vic-1#concerns", "household": "household:1a", "turf": "turf:1", "language": "es"}],
         "task": None, "problems": "", "outcome": {}, "history": []},
        *[{"_id": f"concern_status:i{n}:turf:{n}", "type": "concern_status", "issue": f"issue:i{n}", "turf": f"turf:{n}",
           "concerns": [f"record:vic-{n}#concerns"], "title": {"en": "Street lights"}, "status": "open", "due": None,
           "outcome": {"es": "Se pidieron las luces"}} for n in (1, 2)],
    ]


def build(folder, monkeypatch):
    """The app, with ``TEST_TOKENS`` (a token per user), ``EXPIRED`` and ``REVOKED`` tokens of vic."""
    monkeypatch.setattr(accounts_module, "SCRYPT", {"n": 2**4, "r": 8, "p": 1})  # fast hashes
    app = create_app({"STORE": f"sqlite://{folder}/world.db"}, environ={})
    store = services(app).store
    accounts = services(app).accounts
    east = store.create_db(CAMPAIGN)
    store.create_db("west")
    results = east.bulk_docs(documents())
    assert all("ok" in r for r in results), results
    for name, (role, campaign) in USERS.items():
        accounts.add_user(name, role, f"{name}-password", campaign)
    app.config["TEST_TOKENS"] = {name: accounts.create_token(name) for name in USERS}
    app.config["EXPIRED"] = accounts.create_token("vic", expires_in=timedelta(seconds=-1))
    revoked = accounts.create_token("vic")
    accounts.revoke_token(accounts_module.token_id(revoked).removeprefix("token:"))
    app.config["REVOKED"] = revoked
    return app


def client(app, user: str | None = None, token: str | None = None):
    """A test client signed in as ``user`` (or with ``token``; neither: no credential)."""
    c = app.test_client()
    token = token or (app.config["TEST_TOKENS"][user] if user else None)
    if token:
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return c


def store_of(app):
    return services(app).store.open_db(CAMPAIGN)


def open_conflict(db, record_id: str = "record:fuzz", turf: str = "turf:a") -> None:
    """A record two phones edited at once, merged by the server: one open conflict on ``answers.door_language``."""
    from server.records.conflicts import merge_writes, policies_for
    from server.records.conflicts import RECORD_FIELDS
    from sync.stamps import Clock, stamp_edit

    base = {"_id": record_id, "type": "record", "form": "form:recruitment", "form_version": 1, "turf": turf,
            "answers": {"outcome": "not_home"}}
    sides = []
    for n, (device, language) in enumerate((("phone-a", "es"), ("phone-b", "pl"))):
        doc = stamp_edit(None, {**base, "answers": {**base["answers"], "door_language": language}}, device=device,
                         user="vic", clock=Clock(), now_ms=1_764_085_500_000 + n, layout=RECORD_FIELDS)
        sides.append({**doc, "_rev": f"1-{'ab'[n] * 32}", "_revisions": {"start": 1, "ids": ['ab'[n] * 32]}})
    db.bulk_docs(sides, new_edits=False)
    leaves = [db.get(record_id, rev=side["_rev"]) for side in sides]
    db.bulk_docs(merge_writes(record_id, leaves, policies_for(db, leaves[0])), new_edits=False)
