"""`blockwalk export roster|meetings` as a user runs it: a real process, a real SQLite store, files re-read."""

from __future__ import annotations

import csv
import io
import os
import pty
import subprocess
import sys

import openpyxl
import pytest

from forms.templates import DRIVES, published
from server.access.accounts import Accounts
from server.people.export_log import ExportLog
from server.stores import open_store
from tests.conftest import store_config
from tests.factories import awareness_record, signup_record
from tests.peers import ROOT

ALL = {"sms": True, "email": True, "call": True}
MEETING = {"_id": "meeting:dec", "type": "meeting", "title": {"en": "Neighbourhood meeting", "es": "Reunión del vecindario"},
           "starts_at": "2026-12-03T18:30:00-06:00", "place": "School gym", "languages": ["en", "es"]}


def run(*args: str, store: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKWALK_")}
    return subprocess.run([sys.executable, "-m", "server.cli", "export", *args, "--store", store],
                          capture_output=True, env=env, cwd=ROOT, timeout=120)


@pytest.fixture
def store_url(tmp_path):
    url = f"sqlite://{tmp_path}/cli.db"
    server = open_store(url, store_config())
    db = server.create_db("east")
    Accounts(server).add_user("olga", "organizer", "olga-password", "east")
    Accounts(server).add_user("cora", "coordinator", "cora-password", "east")
    db.bulk_docs([published(drive) for drive in DRIVES] + [MEETING, {"_id": "turf:1", "type": "turf", "name": "North"}])
    db.bulk_docs([signup_record(name='=HYPERLINK("http://x","y")', email="x@example.org", phone="773 555 0100", consent=ALL),
                  signup_record(name="Grace Kim", email="grace@example.org", phone="773 555 0199", household="household:g",
                                consent={"sms": False, "email": True, "call": False}),
                  awareness_record(household="household:a", rsvp="yes", language_needed=["es"]),
                  awareness_record(household="household:b", rsvp="no", language_needed=[])])
    server.close()
    return url


def on_a_terminal(*args: str, store: str) -> tuple[int, bytes]:
    """Run with stderr on a pseudo-terminal, as at a shell (click draws progress bars only there)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKWALK_")}
    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "server.cli", "export", *args, "--store", store],
                            stdout=subprocess.DEVNULL, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the process closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return proc.wait(timeout=120), seen


def test_roster_to_an_xlsx_file_with_a_progress_bar(store_url, tmp_path):
    target = tmp_path / "roster.xlsx"
    code, terminal = on_a_terminal("roster", "--db", "east", "--format", "xlsx", "--preset", "mailchimp",
                                   "--output", str(target), store=store_url)
    assert code == 0, terminal.decode()
    assert b"Exporting" in terminal and b"100%" in terminal
    sheet = openpyxl.load_workbook(target).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0] == ["Email Address", "First Name", "Last Name", "Phone Number", "Language", "Tags"]
    assert sorted(rows[1:], key=lambda r: r[0]) == [
        ["grace@example.org", "Grace", "Kim", None, "en", "blockwalk"],  # no SMS consent: no phone
        ["x@example.org", '=HYPERLINK("http://x","y")', None, "+17735550100", "en", "blockwalk"]]
    hyper = next(row for row in sheet.iter_rows() if row[0].value == "x@example.org")[1]
    assert hyper.data_type == "s" and hyper.quotePrefix


def test_new_exports_move_the_organizers_cursor_and_are_logged(store_url):
    first = run("roster", "--db", "east", "--new", "--as", "olga", store=store_url)
    assert first.returncode == 0, first.stderr.decode()
    people = list(csv.DictReader(io.StringIO(first.stdout.decode("utf-8-sig"))))
    assert {p["full_name"] for p in people} == {"'=HYPERLINK(\"http://x\",\"y\")", "Grace Kim"}
    again = run("roster", "--db", "east", "--new", "--as", "olga", store=store_url)
    assert list(csv.DictReader(io.StringIO(again.stdout.decode("utf-8-sig")))) == []
    server = open_store(store_url, store_config())
    try:
        total, entries = ExportLog(server).entries("east")
    finally:
        server.close()
    assert total == 2 and [(e["who"], e["rows"], e["filter"]["first"]) for e in entries] == [
        ("cli:olga", 0, False), ("cli:olga", 2, True)]
    refused = run("roster", "--db", "east", "--new", store=store_url)
    assert refused.returncode == 2 and b"--new needs --as" in refused.stderr
    coordinator = run("roster", "--db", "east", "--new", "--as", "cora", store=store_url)
    assert coordinator.returncode == 2 and b"not an organizer or admin" in coordinator.stderr
    both = run("roster", "--db", "east", "--new", "--as", "olga", "--from", "2026-11-01T00:00:00Z", store=store_url)
    assert both.returncode == 2
    missing = run("roster", "--db", "nowhere", store=store_url)
    assert missing.returncode == 1 and b"not_found" in missing.stderr


def test_meetings_coverage_and_rsvp_list_to_stdout(store_url):
    coverage = run("meetings", "--db", "east", store=store_url)
    assert coverage.returncode == 0, coverage.stderr.decode()
    rows = list(csv.DictReader(io.StringIO(coverage.stdout.decode("utf-8-sig"))))
    assert [(r["turf"], r["turf_name"], r["doors_informed"], r["rsvp_yes"], r["rsvp_no"]) for r in rows] == [
        ("turf:1", "North", "2", "1", "1"), ("all", "", "2", "1", "1")]
    rsvps = run("meetings", "--db", "east", "--meeting", "dec", store=store_url)
    assert rsvps.returncode == 0, rsvps.stderr.decode()
    [row] = list(csv.DictReader(io.StringIO(rsvps.stdout.decode("utf-8-sig"))))
    assert (row["household"], row["language"], row["reminder_language"]) == ("household:a", "es", "es")
    assert row["reminder"].startswith("Recordatorio: Reunión del vecindario el 2026-12-03 a las 18:30")
    unknown = run("meetings", "--db", "east", "--meeting", "nope", store=store_url)
    assert unknown.returncode == 2 and b"No meeting" in unknown.stderr
