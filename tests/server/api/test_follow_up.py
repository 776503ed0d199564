"""Between meetings over REST: concerns gathered, grouped into an issue, taken up as a task, charted and exported."""

from __future__ import annotations

import csv
import json
import io
from datetime import date, timedelta

from tests import world

API = f"/api/v1/campaigns/{world.CAMPAIGN}"
AWARE = {"type": "record", "form": "form:meeting_awareness", "form_version": 1}


def _visit(doc_id: str, author: str, turf: str, household: str, concern: str, language: str = "es") -> dict:
    return {"_id": doc_id, **AWARE, "author": author, "turf": turf, "household": household,
            "created_at": "2026-11-25T17:00:00+00:00", "meeting": "meeting:m1",
            "answers": {"outcome": "contacted", "informed": "yes", "flyer_left": "yes", "door_language": language,
                        "concerns": concern}}


def _app(tmp_path, monkeypatch):
    app = world.build(tmp_path, monkeypatch)
    results = world.store_of(app).bulk_docs([
        _visit("record:c1", "vic", "turf:1", "household:1a", "Street lights out on Maple"),
        _visit("record:c2", "val", "turf:1", "household:1a", "Dark street at night", "en"),
        _visit("record:c3", "val", "turf:2", "household:2a", "=HYPERLINK(\"http://x\")"),
        # Any text field marked as a concern is one too.
        {"_id": "form:doorstep@1", "type": "form", "form_id": "doorstep", "status": "published", "version": 1,
         "languages": ["en"], "default_language": "en", "title": {"en": "Doorstep"}, "choices": {},
         "fields": [{"name": "worries", "type": "text", "concern": True, "label": {"en": "Worries"}},
                    {"name": "note", "type": "text", "label": {"en": "Note"}}]},
        {"_id": "record:c5", "type": "record", "form": "form:doorstep", "form_version": 1, "author": "vic",
         "turf": "turf:1", "created_at": "2026-11-26T17:00:00+00:00", "meeting": "meeting:m1",
         "answers": {"worries": "Broken swings in the park", "note": "not a concern"}},
        # A sign-up's words are roster data: never a concern a coordinator reads.
        {"_id": "record:c4", "type": "record", "form": "form:recruitment", "form_version": 1, "author": "val",
         "turf": "turf:1", "answers": {"outcome": "contacted", "full_name": "Rosa", "concerns": "private"}},
    ])
    assert all("ok" in r for r in results), results
    return app


def test_concerns_become_an_issue_a_task_on_the_chart_and_an_export(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)
    cora, olly = world.client(app, "cora"), world.client(app, "olly")
    everything = cora.get(f"{API}/concerns?meeting=m1").get_json()
    assert {c["text"] for c in everything} == {"Street lights out on Maple", "Dark street at night",
                                              "=HYPERLINK(\"http://x\")", "Broken swings in the park"}
    concerns = [c for c in everything if c["id"] != "record:c5#worries"]
    lights = [c for c in concerns if c["turf"] == "turf:1"]
    assert {c["address"] for c in lights} == {"1 Maple St"} and {c["language"] for c in lights} == {"es", "en"}
    assert all(c["turf_name"] == "North" and c["issue"] is None for c in lights)

    made = cora.post(f"{API}/issues", json={"title": {"en": "Street lighting", "es": "Alumbrado"}, "meeting": "m1",
                                            "concerns": [c["id"] for c in lights]})
    assert made.status_code == 201, made.get_json()
    issue = made.get_json()
    assert [s["language"] for s in issue["sources"]] == ["es", "en"] and issue["status"] == "raised"
    assert cora.post(f"{API}/issues", json={"title": {"en": "x"}, "concerns": ["record:nope#concerns"]}).status_code == 422
    assert cora.post(f"{API}/issues", json={"title": {"en": " "}}).status_code == 422
    other = cora.post(f"{API}/issues", json={"title": {"en": "=cmd|' /C calc'!A0"}, "meeting": "meeting:m1",
                                             "concerns": [next(c["id"] for c in concerns if c["turf"] == "turf:2")]})
    assert other.status_code == 201

    url = f"{API}/issues/{issue['id']}"
    assert cora.patch(url, json={"status": "open"}).status_code == 428
    assert olly.patch(url, json={"status": "open"}, headers={"If-Match": issue["rev"]}).status_code == 403
    yesterday = (date.today() - timedelta(days=2)).isoformat()
    taken = cora.patch(url, headers={"If-Match": issue["rev"]}, json={
        "task": {"responsible": "Officer Ruiz (police liaison)", "responsible_kind": "organization", "due": yesterday,
                 "milestones": [{"title": "Ask the city", "due": yesterday, "done": True}]},
        "problems": "The city's form is down", "outcome": {"en": "Lights ordered", "es": "Se pidieron las luces"},
        "note": "Taken up at the meeting"})
    assert taken.status_code == 200, taken.get_json()
    body = taken.get_json()
    assert body["status"] == "open" and body["overdue"] is True
    assert body["history"][-1]["by"] == "cora" and "task" in body["history"][-1]["changed"]
    stale = cora.patch(url, headers={"If-Match": issue["rev"]}, json={"status": "done"})
    assert stale.status_code == 412
    later = cora.patch(f"{API}/issues/{other.get_json()['id']}", headers={"If-Match": other.get_json()["rev"]},
                       json={"task": {"responsible": "Ana", "due": (date.today() + timedelta(days=9)).isoformat()}})
    assert later.status_code == 200

    chart = olly.get(f"{API}/follow-up").get_json()  # organizers read the chart
    assert [i["id"] for i in chart] == [issue["id"], other.get_json()["id"]]  # overdue first
    export = olly.get(f"{API}/follow-up/export?format=csv&language=es")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "issue" and rows[1][0] == "Alumbrado" and rows[1][5] == "yes"
    assert rows[1][9] == "Se pidieron las luces"
    assert rows[2][0].startswith("'=")  # formula-safe
    assert olly.get(f"{API}/follow-up/export?format=xlsx").status_code == 200
    agenda = olly.get(f"{API}/agenda/export?meeting=m1&language=es").get_data(as_text=True)
    assert "Alumbrado" in agenda and "'=HYPERLINK" in agenda

    # Volunteers: the status of their own turfs' concerns, never a door, the words, or who raised them.
    vic = world.client(app, "vic").get(f"{API}/concerns/status")
    assert vic.status_code == 200
    assert {s["issue"] for s in vic.get_json()} == {issue["id"], "issue:i1"}  # both of turf:1
    (seen,) = [s for s in vic.get_json() if s["issue"] == issue["id"]]
    assert seen["title"]["es"] == "Alumbrado" and seen["outcome"]["es"] == "Se pidieron las luces"
    assert "household" not in vic.get_data(as_text=True) and "Maple" not in vic.get_data(as_text=True)
    # val's phone holds turf:2's: the new issue's, and the world's concern_status:i2:turf:2.
    assert {s["issue"] for s in world.client(app, "val").get(f"{API}/concerns/status").get_json()} == {
        other.get_json()["id"], "issue:i2"}
    assert world.client(app, "vic").get(f"{API}/issues").status_code == 403
    assert world.client(app, "vic").get(f"{API}/concerns").status_code == 403
    # An issue is coordinators' and organizers' only: not on a volunteer's phone.
    assert world.client(app, "vic").get(f"/sync/{world.CAMPAIGN}/{issue['id']}").status_code == 404
    # The phones of the turf hold what became of it: the status, never a door's words or a name.
    status_id = f"concern_status:{issue['id'].removeprefix('issue:')}:turf:1"
    on_phone = world.client(app, "vic").get(f"/sync/{world.CAMPAIGN}/{status_id}")
    assert on_phone.status_code == 200
    held = on_phone.get_json()
    assert held["concerns"] == sorted(c["id"] for c in lights) and held["outcome"]["es"] == "Se pidieron las luces"
    assert held["status"] == "open" and "Maple" not in on_phone.get_data(as_text=True)
    assert "Street lights" not in on_phone.get_data(as_text=True)
    assert world.client(app, "val").get(f"/sync/{world.CAMPAIGN}/{status_id}").status_code == 404  # not val's turf
    forged = world.client(app, "vic").post(f"/sync/{world.CAMPAIGN}/_bulk_docs", json={"docs": [
        {**held, "status": "done"}]}).get_json()
    assert forged[0]["error"] == "forbidden"
    # Merging: a concern grouped into a new issue leaves the old one.
    merged = cora.post(f"{API}/issues", json={"title": {"en": "Lights again"}, "concerns": [lights[0]["id"]]})
    assert merged.status_code == 201
    assert [s["concern"] for s in cora.get(url).get_json()["sources"]] == [lights[1]["id"]]
    moved = world.store_of(app).get(status_id)
    assert moved["concerns"] == [lights[1]["id"]]
    gone = cora.delete(f"{API}/issues/{merged.get_json()['id']}", headers={"If-Match": merged.get_json()["rev"]})
    assert gone.status_code == 204
    left = [row for row in world.store_of(app).all_docs(startkey="concern_status:", endkey="concern_status:\uffff")["rows"]
            if row["id"].startswith(f"concern_status:{merged.get_json()['id'].removeprefix('issue:')}")]
    assert left == []


def _survey(n: int, turf: str, at: str, score: str, household: str | None = None) -> dict:
    answers = {"outcome": "contacted", "agrees_to_survey": "yes", "safe_day": score, "safe_night": score,
               "police_trust": "3"}
    return {"_id": f"record:s-{turf}-{at[:7]}-{n}", "type": "record", "form": "form:satisfaction", "form_version": 1,
            "author": "vic" if turf == "turf:1" else "val", "turf": turf, "household": household or f"household:{turf}-{n}",
            "created_at": at, "answers": answers}


def test_the_survey_report_shows_change_per_turf_and_round_and_hides_small_cells(tmp_path, monkeypatch):
    app = world.build(tmp_path, monkeypatch)
    docs = [_survey(n, "turf:1", "2026-08-10T17:00:00+00:00", "2") for n in range(12)]
    docs += [_survey(n, "turf:1", "2026-11-10T17:00:00+00:00", "4") for n in range(10)]
    # One door answered twice in the round: its newest answers count, once.
    docs += [_survey(99, "turf:1", "2026-11-11T17:00:00+00:00", "1", household="household:turf:1-0")]
    docs += [_survey(n, "turf:2", "2026-11-10T17:00:00+00:00", "5") for n in range(4)]  # 4 doors: too few to show
    assert all("ok" in r for r in world.store_of(app).bulk_docs(docs))
    olly = world.client(app, "olly")
    report = olly.get(f"{API}/reports/survey").get_json()
    assert report["threshold"] == 10 and report["rounds"] == ["2026-Q3", "2026-Q4"]
    rows = {(r["turf_name"], r["round"]): r for r in report["rows"]}
    q3, q4 = rows[("North", "2026-Q3")], rows[("North", "2026-Q4")]
    assert q3["respondents"] == 12 and q3["scores"]["safe_day"]["mean"] == 2.0
    assert q4["respondents"] == 10  # 10 doors, the one asked twice counted once
    assert q4["scores"]["safe_day"] == {"mean": 3.7, "answers": 10, "change": 1.7, "suppressed": False}
    south = rows[("South", "2026-Q4")]
    assert south["suppressed"] and south["respondents"] is None
    assert south["scores"]["safe_day"] == {"mean": None, "answers": None, "change": None, "suppressed": True}
    # Every turf shown, together: South's 4 doors are left out of it too, or they could be worked out by
    # subtracting North from the total.
    assert rows[(None, "2026-Q4")]["respondents"] == 10
    assert rows[(None, "2026-Q4")]["scores"]["police_trust"] == {"mean": 3.0, "answers": 10, "change": 0.0, "suppressed": False}
    assert rows[(None, "2026-Q4")]["scores"]["safe_day"]["mean"] == q4["scores"]["safe_day"]["mean"]
    assert world.client(app, "vic").get(f"{API}/reports/survey").status_code == 403


def test_a_filter_that_cannot_name_a_meeting_matches_nothing(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)
    cora = world.client(app, "cora")
    assert cora.get(f"{API}/concerns?meeting=m1").get_json()  # there are some
    for path in ("concerns?meeting=%20bad", "concerns?turf=..", "issues?meeting=%24", "follow-up?meeting=%24"):
        answer = cora.get(f"{API}/{path}")
        assert answer.status_code == 200 and answer.get_json() == [], path
    export = cora.get(f"{API}/follow-up/export?meeting=%24")
    assert export.status_code == 200 and "follow-up-east--" in export.headers["Content-Disposition"]


def test_residents_who_asked_to_be_told_are_listed_for_the_organizer_by_their_consent(tmp_path, monkeypatch):
    from tests.factories import signup_record

    app = world.build(tmp_path, monkeypatch)
    asked = {**_visit("record:t1", "vic", "turf:1", "household:1a", "Street lights out on Maple")}
    asked["answers"]["tell_me"] = "yes"
    not_asked = _visit("record:t2", "val", "turf:2", "household:2a", "=cmd")
    store = world.store_of(app)
    results = store.bulk_docs([
        asked, not_asked,
        {**signup_record(name="Rosa Díaz", phone="(312) 555-0142", email="rosa@example.org", household="household:1a",
                         consent={"sms": True, "email": False, "call": False}, language="es"), "turf": "turf:1"},
        {**signup_record(name="=Nobody", phone=None, email=None, household="household:1a", consent={"sms": False, "email": False,
                                                                             "call": False}), "turf": "turf:1"},
        {**signup_record(name="Otto", phone="(312) 555-0199", email="otto@example.org", household="household:2a"),
         "turf": "turf:2"}])
    assert all("ok" in r for r in results), results
    cora = world.client(app, "cora")
    made = cora.post(f"{API}/issues", json={"title": {"en": "Street lighting", "es": "Alumbrado"},
                                            "concerns": ["record:t1#concerns", "record:t2#concerns"]}).get_json()
    cora.patch(f"{API}/issues/{made['id']}", headers={"If-Match": made["rev"]},
               json={"outcome": {"es": "Se pidieron las luces"}, "status": "in_progress"})
    assert cora.get(f"{API}/follow-up/contacts/export").status_code == 403  # residents' details: not a coordinator's
    export = world.client(app, "olly").get(f"{API}/follow-up/contacts/export?format=csv")
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    # Rosa asked (her door said so) and consented to SMS: her phone, no e-mail; the one with no consent is left out;
    # Otto's door did not ask.
    assert {r["full_name"] for r in rows} == {"Rosa Díaz"}  # a row for each issue of her door
    assert [r for r in rows if r["issue"] == "Alumbrado"] == [{"full_name": "Rosa Díaz", "phone": "+13125550142", "email": "", "channels": "sms",
                     "language": "es", "household": "1 Maple St", "issue": "Alumbrado", "status": "in_progress",
                     "due": "", "outcome": "Se pidieron las luces"}]
    # Later, at another door, Rosa says no to SMS: the newest statement counts, so she is no longer listed.
    later = {**signup_record(name="Rosa Díaz", phone="(312) 555-0142", email="rosa@example.org", household="household:2a",
                             at="2026-11-25T18:00:00+00:00", consent={"sms": False, "email": False, "call": False},
                             language="es"), "turf": "turf:2"}
    assert "ok" in store.bulk_docs([later])[0]
    again = world.client(app, "olly").get(f"{API}/follow-up/contacts/export?format=csv")
    assert list(csv.DictReader(io.StringIO(again.get_data(as_text=True).lstrip("\ufeff")))) == []


def _lights(app) -> dict:
    """cora groups turf:1's street-light concerns into an issue; answers it."""
    cora = world.client(app, "cora")
    ids = [c["id"] for c in cora.get(f"{API}/concerns").get_json()
           if c["turf"] == "turf:1" and c["id"] != "record:c5#worries"]
    made = cora.post(f"{API}/issues", json={"title": {"en": "Street lighting"}, "concerns": ids})
    assert made.status_code == 201, made.get_json()
    return made.get_json()


def test_only_the_follow_up_api_writes_issues_and_what_became_of_them(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)
    cora, ada = world.client(app, "cora"), world.client(app, "ada")
    issue = _lights(app)
    status_id = f"concern_status:{issue['id'].removeprefix('issue:')}:turf:1"
    status = world.store_of(app).get(status_id)
    pushed = cora.post(f"/sync/{world.CAMPAIGN}/_bulk_docs", json={"docs": [
        {**status, "status": "done"},
        {**world.store_of(app).get(issue["id"]), "status": "done"},
        {"_id": "issue:mine", "type": "issue", "title": {"en": "Mine"}, "sources": [], "status": "raised"}]})
    results = pushed.get_json()
    assert [r.get("error") for r in results] == ["forbidden"] * 3, results
    assert all("follow-up API" in r["reason"] for r in results)
    deleted = cora.delete(f"/sync/{world.CAMPAIGN}/{status_id}", query_string={"rev": status["_rev"]})
    assert deleted.status_code == 403
    # The API writes both, as the same coordinator.
    done = cora.patch(f"{API}/issues/{issue['id']}", json={"status": "done"}, headers={"If-Match": issue["rev"]})
    assert done.status_code == 200 and done.get_json()["status"] == "done"
    assert world.store_of(app).get(status_id)["status"] == "done"
    # An admin is bound by the id rule only (a restore replicates them).
    again = world.store_of(app).get(status_id)
    assert ada.put(f"/sync/{world.CAMPAIGN}/{status_id}", json={**again, "status": "open"}).status_code == 201
    # And the documents' own rules hold over /sync for everyone: a status that is none of the five.
    bad = ada.put(f"/sync/{world.CAMPAIGN}/{issue['id']}",
                  json={**world.store_of(app).get(issue["id"]), "status": "finished"})
    assert bad.status_code == 403 and "raised, open, in_progress, done, dropped" in bad.get_json()["reason"]


def test_a_volunteers_concern_status_is_what_their_phone_holds(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)
    _lights(app)
    for name in ("vic", "val"):
        phone = world.client(app, name)
        pulled = phone.get(f"/sync/{world.CAMPAIGN}/_changes", query_string={"include_docs": "true"}).get_json()
        held = {}
        for row in pulled["results"]:
            doc = row.get("doc") or {}
            if doc.get("type") == "concern_status" and not doc.get("_deleted"):
                held.setdefault(doc["issue"], set()).add(doc["turf"])
        answered = phone.get(f"{API}/concerns/status").get_json()
        assert {s["issue"]: set(s["turfs"]) for s in answered} == held and held, name


def test_a_412_on_an_issue_change_leaves_every_issue_as_it_was(tmp_path, monkeypatch):
    """Moving a concern from one issue to another writes both issues and their statuses at once, or none."""
    app = _app(tmp_path, monkeypatch)
    cora = world.client(app, "cora")
    first = _lights(app)
    moved = first["sources"][0]["concern"]
    second = cora.post(f"{API}/issues", json={"title": {"en": "Dark streets"}}).get_json()
    store = world.store_of(app)
    before = {doc_id: store.get(doc_id) for doc_id in (first["id"], second["id"])}
    original = type(store).bulk_docs

    def edited_meanwhile(self, docs, new_edits=True, **kwargs):
        if any(doc.get("_id") == first["id"] for doc in docs):
            monkeypatch.setattr(type(store), "bulk_docs", original)
            current = self.get(first["id"])
            self.put({**current, "problems": "edited at the same moment"})
        return original(self, docs, new_edits, **kwargs)

    monkeypatch.setattr(type(store), "bulk_docs", edited_meanwhile)
    answer = cora.patch(f"{API}/issues/{second['id']}", json={"concerns": [moved]},
                        headers={"If-Match": second["rev"]})
    assert answer.status_code == 412, answer.get_json()
    after = store.get(second["id"])
    assert after["sources"] == [] and after["history"] == before[second["id"]]["history"]
    assert {s["concern"] for s in store.get(first["id"])["sources"]} == {s["concern"] for s in first["sources"]}
    held = [row["id"] for row in store.all_docs(startkey="concern_status:", endkey="concern_status:\uffff")["rows"]]
    assert not any(doc_id.startswith(f"concern_status:{second['id'].removeprefix('issue:')}:") for doc_id in held)


def test_concerns_issues_and_the_chart_come_in_pages(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)
    cora = world.client(app, "cora")
    for title in ("One", "Two", "Three"):
        assert cora.post(f"{API}/issues", json={"title": {"en": title}}).status_code == 201
    for path, total in (("concerns", 4), ("issues", 4)):  # the world's issue:i1 and these three
        first = cora.get(f"{API}/{path}?page_size=2")
        assert len(first.get_json()) == 2 and json.loads(first.headers["X-Pagination"])["total"] == total
        rest = cora.get(f"{API}/{path}?page_size=2&page=2").get_json()
        assert {x["id"] for x in first.get_json()}.isdisjoint({x["id"] for x in rest})
    assert "X-Pagination" in cora.get(f"{API}/follow-up").headers


def test_coordinators_read_the_status_of_every_issue_even_one_raised_in_no_turf(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)
    cora = world.client(app, "cora")
    issue = _lights(app)
    loose = cora.post(f"{API}/issues", json={"title": {"en": "A bench for the bus stop"}, "concerns": []})
    assert loose.status_code == 201, loose.get_json()
    seen = {s["issue"]: s for s in cora.get(f"{API}/concerns/status").get_json()}
    assert seen[issue["id"]]["turfs"] == ["turf:1"]
    assert seen[loose.get_json()["id"]]["turfs"] == [] and seen[loose.get_json()["id"]]["title"]["en"] == "A bench for the bus stop"
    # A volunteer's phone holds only their turfs' statuses: the issue raised in no turf is not among them.
    assert loose.get_json()["id"] not in {s["issue"] for s in world.client(app, "vic").get(f"{API}/concerns/status").get_json()}
