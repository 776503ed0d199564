"""The roster over REST on a real SQLite store: who may see it, exports re-read cell by cell, "new since", the log."""

from __future__ import annotations

import csv
import io

import re

import openpyxl
import pytest

from forms.templates import DRIVES, published
from server.access.accounts import Accounts
from server.services import services
from tests.factories import signup_record
from tests.helpers.api import app_with_users, client_as

API = "/api/v1/campaigns/east"
ALL = {"sms": True, "email": True, "call": True}
HYPERLINK = '=HYPERLINK("http://x","y")'
E164 = re.compile(r"\+[0-9]{8,15}")


@pytest.fixture
def app(tmp_path):
    """ada (admin), cora (coordinator), olga and otto (organizers), vic (volunteer); a campaign with the built-in forms."""
    app = app_with_users(f"sqlite://{tmp_path}/roster.db")
    store = services(app).store
    Accounts(store).add_user("otto", "organizer", "otto-password", "east")
    app.config["TEST_TOKENS"]["otto"] = Accounts(store).create_token("otto")
    store.create_db("east").bulk_docs([published(drive) for drive in DRIVES])
    yield app
    store.close()


client = client_as


def push(app, *docs) -> None:
    """Write records as a phone would (through /sync, so the server validates them)."""
    response = client(app, "ada").post("/sync/east/_bulk_docs", json={"docs": list(docs)})
    assert response.status_code == 201 and all(r.get("ok") for r in response.json), response.json


def csv_rows(response) -> list[dict]:
    assert response.status_code == 200, response.get_data(as_text=True)
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("user", ["vic", "cora"])
def test_volunteers_and_coordinators_are_refused_roster_data(app, user):
    push(app, signup_record(name="Ana Reyes", consent=ALL))
    c = client(app, user)
    for path in ("/roster", "/roster/export", "/roster/export?format=xlsx&new=true", "/exports"):
        response = c.get(API + path)
        assert response.status_code == 403, (path, response.status_code)
        assert "Ana" not in response.get_data(as_text=True)


def test_organizers_and_admins_see_people_merged_across_canvassers(app):
    push(app,
         signup_record(name="Ana Reyes", email="ana@example.org", phone="773 555 0100", author="vic",
                       household="household:a", consent=ALL, at="2026-11-20T18:00:00+00:00"),
         signup_record(name="Ana M. Reyes", email="ANA@example.org", phone=None, author="val",
                       household="household:b", consent={"sms": False, "email": True, "call": True},
                       at="2026-11-22T18:00:00+00:00"),
         signup_record(name="Luis Ortiz", email="luis@example.org", phone="773 555 0177", consent=ALL))
    for user in ("olga", "ada"):
        response = client(app, user).get(f"{API}/roster")
        assert response.status_code == 200
        people = {p["full_name"]: p for p in response.json}
        assert set(people) == {"Ana M. Reyes", "Luis Ortiz"}
        ana = people["Ana M. Reyes"]
        assert [s["canvasser"] for s in ana["signups"]] == ["vic", "val"]
        assert ana["phone"] == "+17735550100" and ana["email"] == "ANA@example.org"  # the newest, as typed
        assert ana["consent"]["sms"]["given"] is False and ana["consent"]["sms"]["canvasser"] == "val"
        assert ana["consent"]["email"]["text"].startswith("May we e-mail you")
    assert client(app, "ada").get("/api/v1/campaigns/nowhere/roster").status_code == 404
    assert client(app, "olga").get("/api/v1/campaigns/nowhere/roster").status_code == 403  # no role there


def test_csv_export_is_consent_gated_and_formula_safe_cell_by_cell(app):
    push(app,
         signup_record(name=HYPERLINK, email="x@example.org", phone="773 555 0100", consent=ALL),
         signup_record(name="Sam Walker", email="sam@example.org", phone="773 555 0111", household="household:s",
                       consent={"sms": True, "email": False, "call": False}),
         signup_record(name="Ewa Nowak", email="ewa@example.org", phone="773 555 0133", household="household:e",
                       consent={"sms": False, "email": False, "call": False}))
    rows = csv_rows(client(app, "olga").get(f"{API}/roster/export?format=csv&preset=full"))
    by_name = {r["full_name"]: r for r in rows}
    assert set(by_name) == {"'" + HYPERLINK, "Sam Walker", "Ewa Nowak"}
    hyper = by_name["'" + HYPERLINK]
    assert hyper["first_name"] == "'" + HYPERLINK.split()[0] and hyper["phone"] == "+17735550100"
    assert (by_name["Sam Walker"]["phone"], by_name["Sam Walker"]["email"]) == ("+17735550111", "")
    assert (by_name["Ewa Nowak"]["phone"], by_name["Ewa Nowak"]["email"]) == ("", "")
    assert by_name["Ewa Nowak"]["consent_sms"] == "no" and by_name["Sam Walker"]["consent_sms"] == "yes"
    for row in rows:  # nothing a spreadsheet would run: only E.164 phones keep their leading "+"
        assert not any(cell.startswith(("=", "+", "-", "@")) and not E164.fullmatch(cell) for cell in row.values()), row
    # Mailchimp's columns: nobody without a channel they consented to; Ewa is left out.
    mailchimp = csv_rows(client(app, "olga").get(f"{API}/roster/export?preset=mailchimp"))
    assert list(mailchimp[0]) == ["Email Address", "First Name", "Last Name", "Phone Number", "Language", "Tags"]
    assert sorted(r["Last Name"] or r["First Name"] for r in mailchimp) == ["'" + HYPERLINK.split()[0], "Walker"]


def test_xlsx_export_reread_with_openpyxl(app):
    push(app, signup_record(name=HYPERLINK, email="x@example.org", phone="773 555 0100", consent=ALL),
         signup_record(name="Grace Kim", email="grace@example.org", phone="773 555 0199", household="household:g",
                       consent={"sms": False, "email": True, "call": False}))
    response = client(app, "ada").get(f"{API}/roster/export?format=xlsx&preset=action_network")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert 'filename="roster-east-action_network-' in response.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.get_data())).active
    table = [[cell for cell in row] for row in sheet.iter_rows()]
    assert [c.value for c in table[0]] == ["email", "first_name", "last_name", "phone_number", "language", "skills",
                                          "availability", "source"]
    body = {row[0].value: row for row in table[1:]}
    assert set(body) == {"x@example.org", "grace@example.org"}
    first = body["x@example.org"][1]
    # The name is kept exactly, as text (never a formula), with Excel's quote prefix so editing keeps it text.
    assert (first.value, first.data_type, first.quotePrefix) == (HYPERLINK.split()[0], "s", True)
    assert body["x@example.org"][3].value == "+17735550100"
    assert body["grace@example.org"][3].value is None  # no SMS consent: no phone
    for row in table:
        for cell in row:
            assert cell.data_type != "f"


def test_new_since_my_last_export_per_organizer_and_the_audit_log(app):
    push(app, signup_record(name="Ana Reyes", email="ana@example.org", consent=ALL),
         signup_record(name="Luis Ortiz", email="luis@example.org", household="household:l", consent=ALL))
    olga = client(app, "olga")
    assert {r["full_name"] for r in csv_rows(olga.get(f"{API}/roster/export?new=true"))} == {"Ana Reyes", "Luis Ortiz"}
    assert csv_rows(olga.get(f"{API}/roster/export?new=true")) == []
    push(app, signup_record(name="Kofi Mensah", email="kofi@example.org", household="household:k", consent=ALL,
                            at="2026-11-01T10:00:00+00:00"))  # made long ago, synced only now: still new
    # A date range export neither needs nor moves the cursor.
    ranged = csv_rows(olga.get(f"{API}/roster/export?from=2026-11-15T00:00:00Z&to=2026-11-30T00:00:00Z"))
    assert {r["full_name"] for r in ranged} == {"Ana Reyes", "Luis Ortiz"}
    assert [r["full_name"] for r in csv_rows(olga.get(f"{API}/roster/export?new=true"))] == ["Kofi Mensah"]
    # Another organizer has a cursor of their own.
    assert len(csv_rows(client(app, "otto").get(f"{API}/roster/export?new=true&format=csv"))) == 3
    assert olga.get(f"{API}/roster/export?new=true&from=2026-11-15T00:00:00Z").status_code == 422

    assert client(app, "olga").get(f"{API}/exports").status_code == 403
    log = client(app, "ada").get(f"{API}/exports?page_size=100")
    assert log.status_code == 200
    entries = log.json
    assert [(e["who"], e["rows"]) for e in entries] == [("otto", 3), ("olga", 1), ("olga", 2), ("olga", 0), ("olga", 2)]
    assert all(e["kind"] == "roster" and e["format"] == "csv" and e["complete"] for e in entries)
    assert entries[2]["filter"] == {"mode": "range", "from": "2026-11-15T00:00:00+00:00", "to": "2026-11-30T00:00:00+00:00"}
    assert entries[-1]["filter"] == {"mode": "new", "first": True}


def test_a_download_cut_off_is_logged_incomplete_and_does_not_move_the_cursor(app):
    push(app, signup_record(name="Ana Reyes", email="ana@example.org", consent=ALL))
    olga = client(app, "olga")
    response = olga.get(f"{API}/roster/export?new=true", buffered=False)
    next(response.response)  # the first chunk, then the client goes away
    response.close()
    assert len(csv_rows(olga.get(f"{API}/roster/export?new=true"))) == 1  # still new
    entries = client(app, "ada").get(f"{API}/exports").json
    assert [e["complete"] for e in entries] == [True, False]


def test_phones_are_read_in_the_campaigns_region(app):
    store = services(app).store.open_db("east")
    store.put({"_id": "campaign:east", "type": "campaign", "name": "East", "phone_region": "PL"})
    push(app, signup_record(name="Ewa Nowak", email="ewa@example.org", phone="601 234 567", consent=ALL))
    [ewa] = client(app, "olga").get(f"{API}/roster").json
    assert ewa["phone"] == "+48601234567"


ARABIC = ("نادية " + "عبدالرحمن الهاشمي " * 11)[:200]  # the form's limit of 200 characters; 355 bytes after the first word


def test_mailchimp_export_keeps_within_255_bytes_and_the_log_says_which_rows_were_cut(app):
    push(app, signup_record(name=ARABIC, email="nadia@example.org", phone=None, consent=ALL,
                            at="2026-11-20T18:00:00Z"),
         signup_record(name=HYPERLINK + " " + "x" * 150, email="h@example.org", phone=None, consent=ALL, household="household:h",
                       at="2026-11-21T18:00:00Z"),
         signup_record(name="Ana Reyes", email="ana@example.org", consent=ALL, household="household:b",
                       at="2026-11-22T18:00:00Z"))
    olga = client(app, "olga")
    response = olga.get(f"{API}/roster/export?preset=mailchimp")
    rows = csv_rows(response)
    assert len(ARABIC.split(" ", 1)[1].encode()) > 255
    for row in rows:
        assert all(len(row[h].encode("utf-8")) <= 255 for h in ("First Name", "Last Name", "Language", "Tags")), row
    assert rows[0]["First Name"] == "نادية" and ARABIC.split(" ", 1)[1].startswith(rows[0]["Last Name"])
    assert rows[1]["First Name"].startswith("'=HYPERLINK")  # still formula-safe
    entry = olga.get(f"{API}/roster/exports/{response.headers['X-Export-Log']}").json
    assert entry["cut_rows"] == 1 and [(c["row"], c["columns"]) for c in entry["cut"]] == [(2, ["Last Name"])]
    assert entry["cut"][0]["person"].startswith("person:record:")
    assert "نادية" not in str(entry)  # ids in the log, never names
    # Only the exporter (and admins) read it; the admin's log has the same entry.
    assert client(app, "otto").get(f"{API}/roster/exports/{entry['id']}").status_code == 404
    assert client(app, "ada").get(f"{API}/exports").json[0]["cut_rows"] == 1


def test_the_crm_language_is_the_consents_not_the_first_listed(app):
    # Signed up at a Spanish door, consent given in Spanish; languages listed English first.
    push(app, signup_record(name="Rosa Díaz", consent=ALL, language="es", languages=["en", "es"]))
    olga = client(app, "olga")
    [row] = csv_rows(olga.get(f"{API}/roster/export?preset=mailchimp"))
    assert row["Language"] == "es"
    [row] = csv_rows(olga.get(f"{API}/roster/export?preset=action_network"))
    assert row["language"] == "es"


def test_phones_invalid_for_the_region_are_problems_counted_and_exported_as_such(app):
    store = services(app).store.open_db("east")
    store.put({"_id": "campaign:east", "type": "campaign", "name": "East", "phone_region": "PL"})
    # A US number, not Polish: the door refuses it now (forms.fieldchecks); one an older app stored is in the store.
    store.bulk_docs([signup_record(name="Jan Kowalski", email=None, phone="312 555 0100", consent=ALL)])
    push(app, signup_record(name="Ewa Nowak", email="ewa@example.org", phone="601 234 567", consent=ALL,
                            household="household:e"))
    olga = client(app, "olga")
    everyone = olga.get(f"{API}/roster")
    assert [p["full_name"] for p in everyone.json] == ["Jan Kowalski", "Ewa Nowak"]
    jan = everyone.json[0]
    assert jan["phone"] is None and jan["problems"] == ["phone '312 555 0100' is not a valid number in PL"]
    assert jan["problem_details"] == [{"kind": "phone", "typed": "312 555 0100", "reason": "invalid", "region": "PL"}]
    troubled = olga.get(f"{API}/roster?problems=true")
    assert [p["full_name"] for p in troubled.json] == ["Jan Kowalski"]
    assert '"total": 1' in troubled.headers["X-Pagination"]
    # The full export says so in its own column; a CRM export leaves Jan out (no usable contact) and logs it.
    full = {r["full_name"]: r for r in csv_rows(olga.get(f"{API}/roster/export?preset=full"))}
    assert full["Jan Kowalski"]["phone"] == "" and "312 555 0100" in full["Jan Kowalski"]["problems"]
    assert full["Ewa Nowak"]["problems"] == ""
    response = olga.get(f"{API}/roster/export?preset=mailchimp")
    assert [r["Email Address"] for r in csv_rows(response)] == ["ewa@example.org"]
    entry = olga.get(f"{API}/roster/exports/{response.headers['X-Export-Log']}").json
    assert entry["problem_people"] == 1 and entry["problems"][0]["row"] is None
    assert entry["problems"][0]["kinds"] == ["phone"]
