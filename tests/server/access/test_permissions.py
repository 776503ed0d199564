"""The permission matrix of docs/permissions.md, one test per cell.

The table is read from the doc itself: every row names a request made here
(``REQUESTS``, by the row's "what"), every cell the answer expected for the
column's role.  A row without a request here, or a request without a row,
fails the run, so the page and the code cannot disagree.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from forms.templates import template
from tests import world
from tests.peers import RECORD

DOC = Path(__file__).resolve().parents[3] / "docs" / "permissions.md"
API = f"/api/v1/campaigns/{world.CAMPAIGN}"
SYNC = f"/sync/{world.CAMPAIGN}"


def _table() -> tuple[list[str], list[tuple[str, str, list[str]]]]:
    lines = [line for line in DOC.read_text().splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = []
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows.append((cells[0], cells[1].strip("`"), cells[2:]))
    return header[2:], rows


COLUMNS, ROWS = _table()

_MINE = {**RECORD, "answers": {"outcome": "not_home"}, "author": "vic"}


def _if_match(c, url: str) -> dict:
    return {"If-Match": world.client(c.application, "ada").get(url).headers["ETag"]}


def _current(c, doc_id: str) -> dict:
    return world.store_of(c.application).get(doc_id)


def _draft_body() -> dict:
    return {k: v for k, v in template("asset_mapping").items() if k != "_id"}


# Each takes a client signed in as the column's user, and that user's name
# ("vic" for no credential, so a path has someone in it).
REQUESTS = {
    "campaigns: list": lambda c, me: c.get("/api/v1/campaigns"),
    "campaigns: create": lambda c, me: c.post("/api/v1/campaigns", json={"id": "north", "name": "North side"}),
    "campaign: read": lambda c, me: c.get(API),
    "campaign: rename": lambda c, me: c.patch(API, json={"name": "East end"}, headers=_if_match(c, API)),
    "members: list": lambda c, me: c.get(f"{API}/members"),
    "members: give the volunteer role": lambda c, me: c.put(f"{API}/members/nora", json={"role": "volunteer"}),
    "members: give the coordinator role": lambda c, me: c.put(f"{API}/members/nora", json={"role": "coordinator"}),
    "members: take a volunteer's role away": lambda c, me: c.delete(f"{API}/members/val"),
    "members: add a volunteer": lambda c, me: c.post(f"{API}/volunteers", json={"name": "nia", "full_name": "Nia Brown"}),
    "devices: the volunteers' phones": lambda c, me: c.get(f"{API}/devices"),
    "drives: list": lambda c, me: c.get(f"{API}/drives"),
    "drives: write": lambda c, me: c.put(f"{API}/drives/signups", json={"name": "Sign-ups", "forms": ["recruitment"]},
                                         headers=_if_match(c, API)),
    "meetings: list": lambda c, me: c.get(f"{API}/meetings"),
    "meetings: write": lambda c, me: c.put(f"{API}/meetings/m2", json={
        "starts_at": "2027-01-14T18:00:00-06:00", "place": "Library", "languages": ["en"]}),
    "forms: list": lambda c, me: c.get(f"{API}/forms"),
    "forms: write a draft": lambda c, me: c.put(f"{API}/forms/asset_mapping/draft", json=_draft_body()),
    "turfs: list": lambda c, me: c.get(f"{API}/turfs"),
    "turfs: write": lambda c, me: c.put(f"{API}/turfs/3", json={"name": "West", "geometry": world.square(5)}),
    "households: list": lambda c, me: c.get(f"{API}/households"),
    "households: import": lambda c, me: c.post(f"{API}/households/import", content_type="text/csv",
                                               data=f"address,lat,lon\n9 Elm St,{world.LAT + 0.001},{world.LON + 0.011}\n"),
    "assignments: list": lambda c, me: c.get(f"{API}/assignments"),
    "assignments: write": lambda c, me: c.put(f"{API}/assignments/val/turf:1"),
    "roster: list": lambda c, me: c.get(f"{API}/roster"),
    "roster: export": lambda c, me: c.get(f"{API}/roster/export?format=xlsx"),
    "export log: read": lambda c, me: c.get(f"{API}/exports"),
    "roster: one's own export's report": lambda c, me: _own_export(c),
    "reports: meeting coverage": lambda c, me: c.get(f"{API}/reports/meetings"),
    "reports: progress": lambda c, me: c.get(f"{API}/reports/progress"),
    "devices: report one's own phone": lambda c, me: c.put(f"{API}/devices/phone-1/report", json={
        "pending": 2, "refused": 0, "last_sync_at": "2026-11-25T15:00:00+00:00"}),
    "users: list": lambda c, me: c.get("/api/v1/users"),
    "users: create": lambda c, me: c.post("/api/v1/users", json={"name": "nia", "password": "nia-password"}),
    "users: read oneself": lambda c, me: c.get(f"/api/v1/users/{me}"),
    "users: read another": lambda c, me: c.get("/api/v1/users/val"),
    "tokens: list one's own": lambda c, me: c.get(f"/api/v1/users/{me}/tokens"),
    "tokens: sign out (revoke the one sent)": lambda c, me: c.delete("/api/v1/me/token"),
    "sign-in codes: for a volunteer of the campaign": lambda c, me: c.post("/api/v1/signin-codes", json={"user": "val"}),
    "sync: database": lambda c, me: c.get(SYNC),
    "sync: create a database": lambda c, me: c.put("/sync/north"),
    "sync: changes": lambda c, me: c.get(f"{SYNC}/_changes"),
    "sync: checkpoint": lambda c, me: c.put(f"{SYNC}/_local/checkpoint-{me}", json={"last_seq": "0"}),
}

def _xlsform() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "survey"
    for row in (["type", "name", "label"], ["text", "note", "Anything to add?"]):
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _admin(c):
    return world.client(c.application, "ada")


def _publish(c, me):
    assert _admin(c).put(f"{API}/forms/asset_mapping/draft", json=_draft_body()).status_code == 200
    return c.post(f"{API}/forms/asset_mapping/publish")


def _login(c, me):
    return c.post("/api/v1/auth/login", json={"name": me, "password": f"{me}-password"})


def _code(c, me):
    code = _admin(c).post("/api/v1/signin-codes", json={"user": "val"}).get_json()["code"]
    return c.post("/api/v1/auth/code", json={"code": code})


def _revoke_own_token(c, me):
    tokens = world.client(c.application, me).get(f"/api/v1/users/{me}/tokens").get_json()
    return c.delete(f"/api/v1/tokens/{tokens[0]['id']}")


def _revoke_volunteers_token(c, me):
    tokens = _admin(c).get("/api/v1/users/val/tokens").get_json()
    return c.delete(f"/api/v1/tokens/{tokens[0]['id']}")


def _own_export(c):
    made = c.get(f"{API}/roster/export")
    made.get_data()  # the whole file: its log entry is written at its end
    entry = made.headers.get("X-Export-Log", f"audit:{world.CAMPAIGN}:none")
    return c.get(f"{API}/roster/exports/{entry}")


def _resolve(c, me):
    world.open_conflict(world.store_of(c.application), "record:both", "turf:1")
    conflict = world.client(c.application, "ada").get(f"{API}/conflicts").get_json()[0]
    return c.post(f"{API}/conflicts/{conflict['record']}/{conflict['field']}", json={"choose": 0},
                  headers={"If-Match": conflict["rev"]})


REQUESTS.update({
    "forms: publish a draft": _publish,
    "forms: import an XLSForm": lambda c, me: c.post(f"{API}/forms/import?form_id=doorstep",
                                                      data={"file": (io.BytesIO(_xlsform()), "doorstep.xlsx")},
                                                      content_type="multipart/form-data"),
    "tokens: revoke one's own": _revoke_own_token,
    "tokens: revoke a volunteer's phone": _revoke_volunteers_token,
    "sign in: password": _login,
    "sign in: code": _code,
    "turfs: delete": lambda c, me: c.delete(f"{API}/turfs/turf:2", headers=_if_match(c, f"{API}/turfs/turf:2")),
    "assignments: delete": lambda c, me: c.delete(f"{API}/assignments/val/turf:2"),
    "drives: delete": lambda c, me: c.delete(f"{API}/drives/assets", headers=_if_match(c, API)),
    "meetings: delete": lambda c, me: c.delete(f"{API}/meetings/m1", headers=_if_match(c, f"{API}/meetings/m1")),
    "records: edit": lambda c, me: c.patch(f"{API}/records/record:val-1", json={"answers": {"outcome": "refused"}},
                                           headers=_if_match(c, f"{API}/records/record:val-1")),
    "conflicts: resolve": _resolve,
    "issues: group concerns into one": lambda c, me: c.post(f"{API}/issues", json={"title": {"en": "Lights"}}),
    "issues: change one (its task)": lambda c, me: c.patch(f"{API}/issues/i1", headers=_if_match(c, f"{API}/issues/i1"),
                                                          json={"task": {"responsible": "Ana", "due": "2027-01-10"}}),
    "issues: delete": lambda c, me: c.delete(f"{API}/issues/i1", headers=_if_match(c, f"{API}/issues/i1")),
})

# Plain reads: each row's GET.
GETS = {
    "forms: read one": f"{API}/forms/form:asset_mapping@1",
    "me: read": "/api/v1/me",
    "turfs: read one": f"{API}/turfs/turf:1",
    "drives: read one": f"{API}/drives/assets",
    "meetings: read one": f"{API}/meetings/m1",
    "records: list": f"{API}/records",
    "records: read one": f"{API}/records/record:val-1",
    "conflicts: list": f"{API}/conflicts",
    "assets: map": f"{API}/assets",
    "assets: export": f"{API}/assets/export?format=csv",
    "assets: turfs": f"{API}/assets/turfs",
    "assets: read a record": f"{API}/assets/records/record:val-2",
    "assets: read a record's attachment": f"{API}/assets/records/record:val-2/attachments/door.txt",
    "reports: meeting coverage export": f"{API}/reports/meetings/export",
    "reports: a meeting's RSVPs": f"{API}/reports/meetings/m1/rsvps",
    "reports: a meeting's RSVPs export": f"{API}/reports/meetings/m1/rsvps/export",
    "concerns: list": f"{API}/concerns",
    "concerns: what became of them in one's turfs": f"{API}/concerns/status",
    "issues: list": f"{API}/issues",
    "issues: read one": f"{API}/issues/i1",
    "follow-up: the chart": f"{API}/follow-up",
    "follow-up: export": f"{API}/follow-up/export?format=xlsx",
    "follow-up: residents who asked to be told": f"{API}/follow-up/contacts/export",
    "agenda: export": f"{API}/agenda/export?meeting=m1",
    "reports: community satisfaction survey": f"{API}/reports/survey",
    "pages: the coordinator pages": "/coordinator/",
    "pages: the canvasser app": "/app/",
}
for _what, _url in GETS.items():
    REQUESTS[_what] = lambda c, me, url=_url: c.get(url)

READS = {
    "sync: read the campaign document": "campaign:east",
    "sync: read a form": "form:asset_mapping@1",
    "sync: read a meeting": "meeting:m1",
    "sync: read an issue": "issue:i1",
    "sync: read the assigned turf": "turf:1",
    "sync: read another turf": "turf:2",
    "sync: read a household of the assigned turf": "household:1a",
    "sync: read a household of another turf": "household:2a",
    "sync: read one's own record": "record:vic-1",
    "sync: read another's record in the assigned turf": "record:val-1",
    "sync: read another's record in another turf": "record:val-2",
    "sync: read another's recruitment record in the assigned turf": "record:signup",
    "sync: read one's own recruitment record": "record:vic-signup",
    "sync: read a recruitment record's attachment": "record:signup/consent.txt",
    "sync: read one's own assignment": "assignment:vic:turf:1",
    "sync: read another's assignment": "assignment:val:turf:2",
    "sync: read a document in no channel": "roster:note",
    "sync: read what became of a concern of the assigned turf": "concern_status:i1:turf:1",
    "sync: read what became of a concern of another turf": "concern_status:i2:turf:2",
}
for _what, _doc_id in READS.items():
    REQUESTS[_what] = lambda c, me, doc_id=_doc_id: c.get(f"{SYNC}/{doc_id}")

# The document each write row sends through _bulk_docs (a function of the store, for current revisions).
WRITES = {
    "sync: write one's own record in the assigned turf": lambda c: {"_id": "record:vic-new", **_MINE, "turf": "turf:1"},
    "sync: write one's own record in no turf": lambda c: {"_id": "record:vic-find", **_MINE},
    "sync: write one's own record in another turf": lambda c: {"_id": "record:vic-far", **_MINE, "turf": "turf:2"},
    "sync: change another's record": lambda c: {**_current(c, "record:val-1"), "answers": {"outcome": "refused"}},
    "sync: change another's recruitment record": lambda c: {**_current(c, "record:signup"),
                                                            "answers": {"outcome": "refused"}},
    "sync: delete another's record": lambda c: {"_id": "record:val-1", "_rev": _current(c, "record:val-1")["_rev"],
                                                "_deleted": True},
    "sync: write a turf": lambda c: {"_id": "turf:9", "type": "turf", "name": "Mine now", "geometry": world.square(5)},
    "sync: write a household": lambda c: {"_id": "household:1b", "type": "household", "turf": "turf:1", "address": "3 Maple St"},
    "sync: write an assignment": lambda c: {"_id": "assignment:vic:turf:2", "type": "assignment", "user": "vic",
                                            "turf": "turf:2", "active": True},
    "sync: write a meeting": lambda c: {"_id": "meeting:m9", "type": "meeting", "place": "My house",
                                        "starts_at": "2026-12-10T18:30:00-06:00", "languages": ["en"]},
    "sync: write what became of a concern": lambda c: {**_current(c, "concern_status:i1:turf:1"), "status": "done"},
    "sync: write an issue": lambda c: {**_current(c, "issue:i1"), "status": "open"},
    "sync: write the campaign document": lambda c: {**_current(c, "campaign:east"), "name": "Renamed"},
    "sync: write a form draft": lambda c: template("asset_mapping"),
}


def test_every_row_of_the_doc_has_a_request_and_every_request_a_row():
    assert COLUMNS == list(world.COLUMNS)
    documented = [what for what, _, _ in ROWS]
    assert len(documented) == len(set(documented)), "a row appears twice"
    assert set(documented) == set(REQUESTS) | set(WRITES)
    assert not set(REQUESTS) & set(WRITES)


def test_every_operation_of_the_openapi_spec_has_a_row(tmp_path, monkeypatch):
    """The matrix cannot drift from the API: a new operation without a row fails here."""
    app = world.build(tmp_path, monkeypatch)
    spec = app.test_client().get("/api/openapi.json").get_json()
    operations = [(method.upper(), path) for path, item in spec["paths"].items() for method in item
                  if method in ("get", "put", "post", "patch", "delete")]
    assert len(operations) >= 50
    documented = [request.split(" ", 1) for _, request, _ in ROWS]
    missing = []
    for method, path in operations:
        pattern = re.escape(path).replace(re.escape("{campaign}"), world.CAMPAIGN)
        pattern = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", pattern) + "$"
        if not any(m == method and re.match(pattern, p.split("?")[0]) for m, p in documented):
            missing.append(f"{method} {path}")
    assert not missing, f"operations of the spec with no row in docs/permissions.md: {missing}"
    assert {"GET /coordinator/", "GET /app/"} <= {" ".join(d) for d in documented}


CELLS = [pytest.param(what, column, expected, id=f"{what} | {column}")
         for what, _, cells in ROWS for column, expected in zip(COLUMNS, cells, strict=True)]


def _snapshot(app, doc_id: str) -> str | None:
    """The document's winning revision, deleted or not (None: never written)."""
    (row,) = world.store_of(app).all_docs(keys=[doc_id])["rows"]
    return row["value"]["rev"] if "value" in row else None


@pytest.mark.parametrize(("what", "column", "expected"), CELLS)
def test_cell(what, column, expected, tmp_path, monkeypatch):
    app = world.build(tmp_path, monkeypatch)
    user = world.COLUMNS[column]
    c = world.client(app, user)
    if what in WRITES:
        doc = WRITES[what](c)
        before = _snapshot(app, doc["_id"])
        response = c.post(f"{SYNC}/_bulk_docs", json={"docs": [doc]})
        after = _snapshot(app, doc["_id"])
        if expected in ("stored", "forbidden"):
            assert response.status_code == 201, response.get_data(as_text=True)
            (result,) = response.get_json()
            if expected == "stored":
                assert result.get("ok") is True and after == result["rev"], result
            else:
                assert result["error"] == "forbidden" and result["reason"] and after == before, result
        else:
            assert response.status_code == int(expected), response.get_data(as_text=True)
            assert after == before  # nothing written
        return
    response = REQUESTS[what](c, user or "vic")
    body = response.get_data().decode(errors="replace")  # a streamed answer is read to its end (xlsx too)
    assert response.status_code == int(expected), body[:500]
    if response.status_code >= 400:
        # A refusal carries no data: no household address, no answers, no rev.
        assert not re.search(r"Maple|Oak|not_home|\"_rev\"", body), body
