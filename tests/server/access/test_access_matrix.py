"""The permission matrix generated from the access policy (``server.access``), and planted secrets.

For every user (each role, and a volunteer of each turf) and every document
of the permission world, *every revision* of it (old ones, conflicting
leaves, deletions), each read path must answer what the policy says of that
revision: readable or "missing".  Each write path must agree with the
policy's verdict on the same document.  Every refusal is paired with the
same request by an admin, which must succeed, so no cell passes on an empty
answer.

Then a secret is planted in every private field of roster data (a sign-up's
name, phone, e-mail, consent text and consent file), in a live sign-up, in
one that was later edited into another form (an older server allowed that),
in a deleted one and in a conflicting leaf, and every response of every read
path, ``/sync`` and REST, to every role that may not see roster data is
checked to hold none of it.
"""

from __future__ import annotations

import base64
import json

import pytest

from server.access import channels, reads, writes
from server.access.auth import role_in
from server.services import services
from sync.errors import Forbidden
from tests import world
from tests.peers import RECORD

SYNC = f"/sync/{world.CAMPAIGN}"
API = f"/api/v1/campaigns/{world.CAMPAIGN}"
SECRET = "Zq7-PLANTED-SECRET"
SECRET_B64 = base64.b64encode(f"consent of {SECRET}".encode()).decode()
USERS = ("ada", "olly", "cora", "vic", "val")
NOT_ROSTER_READERS = ("cora", "vic")  # vic shares turf:1 with the sign-ups' author val


def _signup(doc_id: str, author: str = "val", turf: str = "turf:1") -> dict:
    return {"_id": doc_id, "type": "record", "form": "form:recruitment", "form_version": 1, "turf": turf,
            "author": author,
            "answers": {"outcome": "contacted", "interested": "yes", "full_name": f"Ana {SECRET}",
                        "phone": f"+1312555{SECRET}", "email": f"{SECRET}@example.org",
                        "consent_sms": {"given": True, "text": f"I agree {SECRET}", "language": "es"}},
            "_attachments": {"consent.txt": {"content_type": "text/plain", "data": SECRET_B64}}}


def _plant(store) -> None:
    """Roster data in every shape history can leave it, written straight into the store (as an older server did)."""
    store.bulk_docs([_signup("record:secret-signup")])
    first = store.put(_signup("record:was-signup"))
    store.put({"_id": "record:was-signup", "_rev": first["rev"], **RECORD, "turf": "turf:1", "author": "val",
               "answers": {"outcome": "not_home"}})
    gone = store.put(_signup("record:gone-signup"))
    store.put({"_id": "record:gone-signup", "_rev": gone["rev"], "_deleted": True})
    public = {"_id": "record:split", **RECORD, "turf": "turf:1", "author": "val", "answers": {"outcome": "not_home"}}
    leaf = {k: v for k, v in _signup("record:split").items() if k != "_attachments"}
    store.bulk_docs([{**public, "_rev": "1-" + "a" * 32, "_revisions": {"start": 1, "ids": ["a" * 32]}},
                     {**leaf, "_rev": "1-" + "b" * 32, "_revisions": {"start": 1, "ids": ["b" * 32]}}],
                    new_edits=False)
    # A leaf of another turf under a winner of the volunteer's own.
    store.bulk_docs([{"_id": "record:two-turfs", **RECORD, "turf": "turf:1", "author": "val",
                      "answers": {"outcome": "not_home"}, "_rev": "2-" + "c" * 32,
                      "_revisions": {"start": 2, "ids": ["c" * 32, "d" * 32]}},
                     {"_id": "record:two-turfs", **RECORD, "turf": "turf:2", "author": "val",
                      "answers": {"outcome": "refused"}, "_rev": "1-" + "e" * 32,
                      "_revisions": {"start": 1, "ids": ["e" * 32]}}], new_edits=False)


@pytest.fixture
def app(tmp_path, monkeypatch):
    app = world.build(tmp_path, monkeypatch)
    _plant(world.store_of(app))
    return app


def _revisions(store, doc_id: str) -> list[str]:
    """Every revision of a document whose body the store holds: each leaf and each leaf's ancestors."""
    found = []
    for row in store.open_revs(doc_id, "all"):
        if "ok" not in row:
            continue
        history = row["ok"]["_revisions"]
        for n, rev_hash in enumerate(history["ids"]):
            rev = f"{history['start'] - n}-{rev_hash}"
            try:
                store.get(doc_id, rev)
            except Exception:  # an ancestor whose body is not kept
                continue
            found.append(rev)
    return sorted(set(found))


def _policy_reads(app, name: str, doc_id: str, rev: str) -> bool:
    """What the policy says: may ``name`` read this revision?"""
    store = world.store_of(app)
    user = services(app).accounts.get_user(name)
    grants = channels.grants(user, world.CAMPAIGN)
    if grants is None:
        return True
    granted = store.granted(grants)
    if not store.channels_of([doc_id])[doc_id] & granted:
        return False
    return reads.body_readable(store.get(doc_id, rev), granted)


def _all_ids(app) -> list[str]:
    """Every document of the campaign, deleted ones included."""
    return sorted({row["id"] for row in world.store_of(app).changes(0).results})


READ_PATHS = {
    "GET ?rev": lambda c, doc_id, rev: c.get(f"{SYNC}/{doc_id}", query_string={"rev": rev}),
    "GET ?open_revs=[rev]": lambda c, doc_id, rev: c.get(f"{SYNC}/{doc_id}",
                                                          query_string={"open_revs": json.dumps([rev])}),
    "_bulk_get": lambda c, doc_id, rev: c.post(f"{SYNC}/_bulk_get?revs=true", json={"docs": [{"id": doc_id, "rev": rev}]}),
}


def _answered(path: str, response) -> bool:
    """Did the path give the revision's body?"""
    if path == "GET ?rev":
        assert response.status_code in (200, 404), response.get_data(as_text=True)
        return response.status_code == 200
    if path == "GET ?open_revs=[rev]":
        if response.status_code == 404:
            return False
        rows = response.get_json()
        return any("ok" in row for row in rows)
    (result,) = response.get_json()["results"]
    return any("ok" in item for item in result["docs"])


@pytest.mark.parametrize("path", list(READ_PATHS))
@pytest.mark.parametrize("name", USERS)
def test_every_revision_is_read_as_the_policy_says(app, name, path):
    store = world.store_of(app)
    me, admin = world.client(app, name), world.client(app, "ada")
    cells = wrong = 0
    problems = []
    for doc_id in _all_ids(app):
        for rev in _revisions(store, doc_id):
            expected = _policy_reads(app, name, doc_id, rev)
            got = _answered(path, READ_PATHS[path](me, doc_id, rev))
            cells += 1
            if got != expected:
                wrong += 1
                problems.append((doc_id, rev, expected, got))
            if not expected:  # the pair: someone allowed gets it
                assert _answered(path, READ_PATHS[path](admin, doc_id, rev)), (doc_id, rev)
    assert cells > 25
    assert not problems, problems
    if name in NOT_ROSTER_READERS:  # the matrix holds refusals for these readers, not only answers
        assert any(not _policy_reads(app, name, d, r) for d in _all_ids(app) for r in _revisions(store, d))


def test_old_revisions_and_leaves_are_judged_on_their_own_bodies(app):
    """The cases behind the matrix, said plainly."""
    store = world.store_of(app)
    vic, cora = world.client(app, "vic"), world.client(app, "cora")
    was = _revisions(store, "record:was-signup")
    assert len(was) == 2
    assert vic.get(f"{SYNC}/record:was-signup").status_code == 200  # the public winner
    assert vic.get(f"{SYNC}/record:was-signup", query_string={"rev": was[0]}).status_code == 404
    assert cora.get(f"{SYNC}/record:was-signup", query_string={"rev": was[0]}).status_code == 404
    leaves = vic.get(f"{SYNC}/record:two-turfs", query_string={"open_revs": "all"}).get_json()
    assert [row["ok"]["turf"] for row in leaves if "ok" in row] == ["turf:1"]
    assert {"missing": "1-" + "e" * 32} in leaves
    assert "_conflicts" not in vic.get(f"{SYNC}/record:two-turfs", query_string={"conflicts": "true"}).get_json()
    # The feed lists only the leaves the phone may fetch: PouchDB fails a batch on one it is refused.
    rows = vic.get(f"{SYNC}/_changes", query_string={"style": "all_docs"}).get_json()["results"]
    (row,) = [row for row in rows if row["id"] == "record:two-turfs"]
    assert row["changes"] == [{"rev": "2-" + "c" * 32}]
    admin_rows = world.client(app, "ada").get(f"{SYNC}/_changes", query_string={"style": "all_docs"}).get_json()
    assert len([r for r in admin_rows["results"] if r["id"] == "record:two-turfs"][0]["changes"]) == 2
    assert vic.get(f"{SYNC}/record:secret-signup/consent.txt").status_code == 404
    assert world.client(app, "val").get(f"{SYNC}/record:secret-signup/consent.txt").status_code == 200


def _edit(store, doc_id: str) -> dict | None:
    """A harmless edit of the document's winner (a record's outcome, another document's name), or None if deleted."""
    try:
        doc = store.get(doc_id)
    except Exception:
        return None
    if doc.get("type") == "record":
        return {**doc, "answers": {**doc.get("answers", {}), "outcome": "refused"}}
    return {**doc, "name": "Changed"}


WRITE_PATHS = ("_bulk_docs", "_bulk_docs new_edits=false", "PUT", "DELETE")


def _write(c, path: str, doc: dict):
    """Send ``doc`` (an edit of a stored revision) by ``path``; True if stored, False if refused as forbidden."""
    if path == "_bulk_docs":
        (result,) = c.post(f"{SYNC}/_bulk_docs", json={"docs": [doc]}).get_json()
        return "ok" in result, result
    if path == "_bulk_docs new_edits=false":
        generation, parent = doc["_rev"].split("-")
        child = "f" * 32
        body = {**doc, "_rev": f"{int(generation) + 1}-{child}",
                "_revisions": {"start": int(generation) + 1, "ids": [child, parent]}}
        result = c.post(f"{SYNC}/_bulk_docs", json={"docs": [body], "new_edits": False}).get_json()
        return result == [], (result or [{}])[0]
    if path == "PUT":
        response = c.put(f"{SYNC}/{doc['_id']}", json=doc)
        assert response.status_code in (201, 403), response.get_data(as_text=True)
        return response.status_code == 201, response.get_json()
    response = c.delete(f"{SYNC}/{doc['_id']}", query_string={"rev": doc["_rev"]})
    assert response.status_code in (200, 403), response.get_data(as_text=True)
    return response.status_code == 200, response.get_json()


@pytest.mark.parametrize("path", WRITE_PATHS)
@pytest.mark.parametrize("name", USERS)
def test_every_write_path_agrees_with_the_policy(tmp_path, monkeypatch, name, path):
    app = world.build(tmp_path / "mine", monkeypatch)
    paired = world.build(tmp_path / "admin", monkeypatch)
    store = world.store_of(app)
    user = services(app).accounts.get_user(name)
    role = role_in(user, world.CAMPAIGN)
    grants = channels.grants(user, world.CAMPAIGN)
    granted = store.granted(grants) if grants is not None else None
    writer = writes.Writer(name, role, granted if role == "volunteer" else None)
    me = world.client(app, name)
    problems, checked = [], 0
    for doc_id in _all_ids(app):
        doc = _edit(store, doc_id)
        if doc is None:
            continue
        if path == "DELETE":
            doc = {"_id": doc_id, "_rev": doc["_rev"], "_deleted": True}
        form = store.get(f"{doc['form']}@{doc['form_version']}") if doc.get("type") == "record" else None
        try:
            writes.check(doc, writes.stored_versions(store, [doc]).get(doc_id), writer, form)
            allowed = True
        except Forbidden:
            allowed = False
        # The pair: the same write by an admin.  It fails only where the document itself does not pass
        # the server's checks (a form it does not fit, a published form), and then it fails for everyone.
        admin_ok, admin_answer = _write(world.client(paired, "ada"), path, doc)
        stored, answer = _write(me, path, doc)
        if stored != (allowed and admin_ok):
            problems.append((doc_id, allowed, admin_answer, answer))
        if not allowed:
            checked += admin_ok
    assert not problems, problems
    # Refusals that an admin's same write shows were not the document's fault (a coordinator's only
    # ones are deletions of others' sign-ups: their other edits of sign-ups keep what is private).
    if name in ("olly", "vic", "val") or (name == "cora" and path == "DELETE"):
        assert checked > 0


def _bodies(c, requests: list[tuple[str, str, dict | None]]) -> list[tuple[str, str]]:
    out = []
    for method, url, body in requests:
        response = c.post(url, json=body) if method == "POST" else c.get(url)
        out.append((f"{method} {url}", response.get_data().decode(errors="replace")))
    return out


def _every_read(app) -> list[tuple[str, str, dict | None]]:
    """Every read request of /sync and REST that can carry a record's body, for every document and revision."""
    store = world.store_of(app)
    out: list[tuple[str, str, dict | None]] = [
        ("GET", f"{SYNC}/_all_docs?include_docs=true&conflicts=true", None),
        ("GET", f"{SYNC}/_changes?include_docs=true&style=all_docs&conflicts=true", None),
        ("POST", f"{SYNC}/_all_docs?include_docs=true", {"keys": _all_ids(app)}),
    ]
    wanted = []
    for doc_id in _all_ids(app):
        out += [("GET", f"{SYNC}/{doc_id}?conflicts=true&revs=true&attachments=true", None),
                ("GET", f"{SYNC}/{doc_id}?open_revs=all&revs=true&attachments=true", None),
                ("GET", f"{SYNC}/{doc_id}/consent.txt", None),
                ("GET", f"{API}/records/{doc_id}", None),
                ("GET", f"{API}/assets/records/{doc_id}", None),
                ("GET", f"{API}/assets/records/{doc_id}/attachments/consent.txt", None)]
        for rev in _revisions(store, doc_id):
            wanted.append({"id": doc_id, "rev": rev})
            out += [("GET", f"{SYNC}/{doc_id}?rev={rev}&attachments=true", None),
                    ("GET", f"{SYNC}/{doc_id}/consent.txt?rev={rev}", None)]
    out.append(("POST", f"{SYNC}/_bulk_get?revs=true&attachments=true", {"docs": wanted}))
    for kind in ("visit", "asset"):
        out += [("GET", f"{API}/assets?kind={kind}", None),
                ("GET", f"{API}/assets/export?format=csv&kind={kind}", None),
                ("GET", f"{API}/assets/export?format=geojson&kind={kind}", None)]
    out += [("GET", f"{API}/records", None), ("GET", f"{API}/conflicts", None),
            ("GET", f"{API}/reports/meetings", None), ("GET", f"{API}/reports/meetings/m1/rsvps", None),
            ("GET", f"{API}/reports/meetings/m1/rsvps/export", None), ("GET", f"{API}/reports/progress", None),
            ("GET", f"{API}/roster", None), ("GET", f"{API}/roster/export", None),
            ("GET", f"{API}/concerns", None), ("GET", f"{API}/issues", None), ("GET", f"{API}/concerns/status", None),
            ("GET", f"{API}/follow-up/contacts/export", None), ("GET", f"{API}/reports/survey", None)]
    return out


def _holds_secret(text: str) -> bool:
    return SECRET in text or SECRET_B64 in text or base64.b64encode(SECRET.encode()).decode()[:12] in text


@pytest.mark.parametrize("name", NOT_ROSTER_READERS)
def test_no_planted_secret_reaches_a_role_that_may_not_see_roster_data(app, name):
    requests = _every_read(app)
    leaks = [what for what, text in _bodies(world.client(app, name), requests) if _holds_secret(text)]
    assert not leaks, leaks
    # The pair: the same requests by an organizer carry the secret (it was there to find).
    found = [what for what, text in _bodies(world.client(app, "olly"), requests) if _holds_secret(text)]
    assert any("/sync/" in what for what in found) and any("/api/" in what for what in found), found
