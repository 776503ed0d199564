"""The /sync endpoint over HTTP: CouchDB's shapes, authentication, and bad input."""

from __future__ import annotations

import base64
import hashlib
import http.client
import time

import httpx
import pytest

from tests.factories import rev_hash


def _put_docs(server, campaign, docs, new_edits=True):
    response = server.http.post(f"/sync/{campaign}/_bulk_docs", json={"docs": docs, "new_edits": new_edits})
    assert response.status_code == 201, response.text
    return response.json()


def _state(server, campaign):
    info = server.http.get(f"/sync/{campaign}").json()
    feed = server.http.get(f"/sync/{campaign}/_changes", params={"style": "all_docs"}).json()
    return info, feed


# -- authentication and roles -----------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer bw_nope"},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic " + base64.b64encode(b"guessed:wrong-password").decode()},
        {"Authorization": "Basic " + base64.b64encode(b"nobody:whatever1").decode()},
        {"Authorization": "Basic !!!notbase64"},
        {"Authorization": "Digest username=ana"},
    ],
)
@pytest.mark.parametrize("path", ["/sync/", "/sync/{db}", "/sync/{db}/_changes", "/sync/{db}/record:1", "/sync/{db}/_local/x"])
def test_no_data_without_valid_credentials(server, campaign, headers, path):
    server.http.put(f"/sync/{campaign}/record:1", json={"name": "Ana Reyes", "phone": "+17735550100"})
    server.http.put(f"/sync/{campaign}/_local/x", json={"last_seq": 1})
    response = httpx.get(server.url + path.format(db=campaign), headers=headers)
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert "Ana" not in response.text and "uuid" not in response.text


def test_writes_without_credentials_store_nothing(server, campaign):
    before = _state(server, campaign)
    response = httpx.post(f"{server.url}/sync/{campaign}/_bulk_docs", json={"docs": [{"_id": "x"}]})
    assert response.status_code == 401
    assert _state(server, campaign) == before


def test_only_an_admin_creates_a_campaign_database(server):
    volunteer = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {server.volunteer_token}"})
    response = volunteer.put("/sync/volunteer-made")
    assert response.status_code == 403 and response.json()["error"] == "forbidden"
    assert server.http.get("/sync/volunteer-made").status_code == 404
    assert server.http.put("/sync/admin-made").status_code == 201
    again = server.http.put("/sync/admin-made")
    assert again.status_code == 412 and again.json()["error"] == "file_exists"
    bad = server.http.put("/sync/Bad Name")
    assert bad.status_code == 400 and bad.json()["error"] == "illegal_database_name"


def test_server_uuid_is_stable(server):
    first = server.http.get("/sync/").json()
    assert first["couchdb"] == "Welcome" and first["uuid"] == server.http.get("/sync").json()["uuid"]


# -- documents and ids ---------------------------------------------------------------


def test_encoded_slashes_stay_in_the_id(server, campaign):
    assert server.http.put(f"/sync/{campaign}/a%2Fb", json={"v": 1}).status_code == 201
    assert server.http.get(f"/sync/{campaign}/a%2Fb").json()["_id"] == "a/b"
    assert server.http.get(f"/sync/{campaign}/a").status_code == 404


def test_local_ids_arrive_url_encoded(server, campaign):
    local_id = "ESDgU32JgoTnXRIOazGYmw=="
    response = server.http.put(f"/sync/{campaign}/_local/ESDgU32JgoTnXRIOazGYmw%3D%3D", json={"last_seq": 3})
    assert response.status_code == 201 and response.json()["id"] == f"_local/{local_id}"
    got = server.http.get(f"/sync/{campaign}/_local/ESDgU32JgoTnXRIOazGYmw%3D%3D").json()
    assert got["_id"] == f"_local/{local_id}" and got["last_seq"] == 3
    stale = server.http.put(f"/sync/{campaign}/_local/ESDgU32JgoTnXRIOazGYmw%3D%3D", json={"last_seq": 4})
    assert stale.status_code == 409 and stale.json()["error"] == "conflict"
    assert server.http.get(f"/sync/{campaign}/_changes").json()["results"] == []


def test_head_and_etag(server, campaign):
    rev = server.http.put(f"/sync/{campaign}/r1", json={"v": 1}).json()["rev"]
    head = server.http.head(f"/sync/{campaign}/r1")
    assert head.status_code == 200 and head.headers["etag"] == f'"{rev}"' and head.content == b""
    assert server.http.head(f"/sync/{campaign}").status_code == 200
    assert server.http.head(f"/sync/{campaign}/missing").status_code == 404


def test_get_document_options(server, campaign):
    docs = [
        {"_id": "r1", "v": 1, "_rev": f"1-{rev_hash('a')}", "_revisions": {"start": 1, "ids": [rev_hash("a")]}},
        {"_id": "r1", "v": 2, "_rev": f"2-{rev_hash('b')}", "_revisions": {"start": 2, "ids": [rev_hash("b"), rev_hash("a")]}},
        {"_id": "r1", "v": 3, "_rev": f"2-{rev_hash('c')}", "_revisions": {"start": 2, "ids": [rev_hash("c"), rev_hash("a")]}},
    ]
    assert _put_docs(server, campaign, docs, new_edits=False) == []
    winner = max(rev_hash("b"), rev_hash("c"))
    doc = server.http.get(f"/sync/{campaign}/r1", params={"revs": "true", "conflicts": "true"}).json()
    assert doc["_rev"] == f"2-{winner}" and doc["_revisions"]["ids"][1] == rev_hash("a") and len(doc["_conflicts"]) == 1
    rows = server.http.get(f"/sync/{campaign}/r1", params={"open_revs": f'["1-{rev_hash("a")}"]', "latest": "true"}).json()
    assert sorted(r["ok"]["v"] for r in rows) == [2, 3]
    old = server.http.get(f"/sync/{campaign}/r1", params={"rev": f"1-{rev_hash('a')}"}).json()
    assert old["v"] == 1


def test_bulk_get_shapes(server, campaign):
    _put_docs(server, campaign, [{"_id": "r1", "v": 1}])
    rev = server.http.get(f"/sync/{campaign}/r1").json()["_rev"]
    response = server.http.post(
        f"/sync/{campaign}/_bulk_get", params={"revs": "true", "latest": "true"},
        json={"docs": [{"id": "r1", "rev": rev}, {"id": "r1", "rev": "9-" + "f" * 32}, {"id": "nobody", "rev": "1-" + "a" * 32}, {"id": "r1"}]},
    )
    results = response.json()["results"]
    assert results[0]["docs"][0]["ok"]["_revisions"]["start"] == 1
    assert results[1]["docs"][0]["error"]["error"] == "not_found"
    assert results[2]["docs"][0]["error"] == {"id": "nobody", "rev": "1-" + "a" * 32, "error": "not_found", "reason": "missing"}
    assert results[3]["docs"][0]["ok"]["_id"] == "r1"


def test_revs_diff_over_http(server, campaign):
    _put_docs(server, campaign, [{"_id": "r1", "_rev": f"1-{rev_hash('a')}"}], new_edits=False)
    diff = server.http.post(f"/sync/{campaign}/_revs_diff", json={"r1": [f"1-{rev_hash('a')}", f"2-{rev_hash('b')}"]}).json()
    assert diff["r1"]["missing"] == [f"2-{rev_hash('b')}"]
    assert diff["r1"].get("possible_ancestors", [f"1-{rev_hash('a')}"]) == [f"1-{rev_hash('a')}"]  # optional in CouchDB's protocol


def test_attachment_raw_and_stub(server, campaign):
    data = b"\x89PNG fake photo bytes"
    doc = {"_id": "r1", "_attachments": {"door.png": {"content_type": "image/png", "data": base64.b64encode(data).decode()}}}
    _put_docs(server, campaign, [doc])
    stub = server.http.get(f"/sync/{campaign}/r1").json()["_attachments"]["door.png"]
    assert stub["stub"] is True and stub["digest"] == "md5-" + base64.b64encode(hashlib.md5(data).digest()).decode()
    raw = server.http.get(f"/sync/{campaign}/r1/door.png")
    assert raw.content == data and raw.headers["content-type"] == "image/png"
    inline = server.http.get(f"/sync/{campaign}/r1", params={"attachments": "true"}).json()
    assert base64.b64decode(inline["_attachments"]["door.png"]["data"]) == data
    assert server.http.get(f"/sync/{campaign}/r1/other.png").status_code == 404


def test_all_docs(server, campaign):
    _put_docs(server, campaign, [{"_id": k} for k in ["b", "a", "c"]])
    listing = server.http.get(f"/sync/{campaign}/_all_docs", params={"startkey": '"b"', "include_docs": "true"}).json()
    assert [r["id"] for r in listing["rows"]] == ["b", "c"] and listing["rows"][0]["doc"]["_id"] == "b"
    keyed = server.http.post(f"/sync/{campaign}/_all_docs", json={"keys": ["c", "zz"]}).json()
    assert keyed["rows"][1] == {"key": "zz", "error": "not_found"}


# -- _changes ------------------------------------------------------------------------


def test_changes_rows_carry_seqs_and_filter_by_doc_ids(server, campaign):
    _put_docs(server, campaign, [{"_id": f"r{i}"} for i in range(5)])
    # One batch's documents may take their seqs in any order (CouchDB promises none): the
    # pages must follow the feed's own order, each document once.
    order = [r["id"] for r in server.http.get(f"/sync/{campaign}/_changes").json()["results"]]
    assert sorted(order) == ["r0", "r1", "r2", "r3", "r4"]
    feed = server.http.get(f"/sync/{campaign}/_changes", params={"limit": "2"}).json()
    assert [r["id"] for r in feed["results"]] == order[:2] and feed["last_seq"] == feed["results"][-1]["seq"]
    rest = server.http.get(f"/sync/{campaign}/_changes", params={"since": str(feed["last_seq"])}).json()
    assert [r["id"] for r in rest["results"]] == order[2:]
    posted = server.http.post(f"/sync/{campaign}/_changes", params={"filter": "_doc_ids"}, json={"doc_ids": ["r4", "r0"]}).json()
    assert [r["id"] for r in posted["results"]] == [i for i in order if i in ("r0", "r4")]
    got = server.http.get(f"/sync/{campaign}/_changes", params={"filter": "_doc_ids", "doc_ids": '["r3"]'}).json()
    assert [r["id"] for r in got["results"]] == ["r3"]


def test_longpoll_holds_sends_heartbeats_and_wakes_on_a_change(server, campaign):
    _put_docs(server, campaign, [{"_id": "r0"}])
    since = server.http.get(f"/sync/{campaign}").json()["update_seq"]
    started = time.monotonic()
    chunks = []
    with server.http.stream("GET", f"/sync/{campaign}/_changes",
                            params={"feed": "longpoll", "since": str(since), "heartbeat": "200", "timeout": "5000"}) as response:
        for chunk in response.iter_raw():
            chunks.append((time.monotonic() - started, chunk))
            if chunk.strip() == b"" and len(chunks) == 3:
                # Three heartbeats arrived one by one; now write, which must end the wait.
                httpx.put(f"{server.url}/sync/{campaign}/r-late", json={}, headers=server.http.headers)
    body = b"".join(c for _, c in chunks)
    assert body.startswith(b"\n\n\n")
    assert 0.15 < chunks[0][0] < 1.0, "the first heartbeat should come after about 200 ms, on its own"
    feed = httpx.Response(200, content=body).json()
    assert [r["id"] for r in feed["results"]] == ["r-late"]
    assert time.monotonic() - started < 3


def test_longpoll_timeout_answers_empty(server, campaign):
    started = time.monotonic()
    response = server.http.get(f"/sync/{campaign}/_changes", params={"feed": "longpoll", "since": "now", "timeout": "300"})
    assert 0.25 < time.monotonic() - started < 2
    assert response.json()["results"] == []


# -- bad input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path, kwargs, status, error",
    [
        ("POST", "_bulk_docs", {"content": b"{not json"}, 400, "bad_request"),
        ("POST", "_bulk_docs", {"content": b"\xff\xfe\x00garbage"}, 400, "bad_request"),
        ("POST", "_bulk_docs", {"json": {"docs": "nope"}}, 400, "bad_request"),
        ("POST", "_bulk_docs", {"json": [1, 2]}, 400, "bad_request"),
        ("POST", "_bulk_docs", {"json": {"docs": [], "new_edits": "no"}}, 400, "bad_request"),
        ("POST", "_revs_diff", {"json": {"r1": "1-abc"}}, 400, "bad_request"),
        ("POST", "_bulk_get", {"json": {}}, 400, "bad_request"),
        ("GET", "_changes", {"params": {"since": "banana"}}, 400, "bad_request"),
        ("GET", "_changes", {"params": {"since": "-5"}}, 400, "bad_request"),
        ("GET", "_changes", {"params": {"limit": "99999999999999999999"}}, 400, "bad_request"),
        ("GET", "_changes", {"params": {"limit": "-1"}}, 400, "bad_request"),
        ("GET", "_changes", {"params": {"feed": "continuous"}}, 400, "bad_request"),
        ("GET", "_changes", {"params": {"filter": "app/by_turf"}}, 400, "bad_request"),
        ("GET", "_changes", {"params": {"wat": "1"}}, 400, "bad_request"),
        ("GET", "_changes", {"params": {"include_docs": "yes"}}, 400, "bad_request"),
        ("GET", "_all_docs", {"params": {"keys": "[1,2"}}, 400, "bad_request"),
        ("GET", "r1", {"params": {"open_revs": "[not json"}}, 400, "bad_request"),
        ("GET", "r1", {"params": {"rev": "banana"}}, 400, "bad_request"),
        ("PUT", "r2", {"json": ["an", "array"]}, 400, "bad_request"),
        ("PUT", "_bad", {"json": {}}, 404, "not_found"),
        ("GET", "_design", {}, 404, "not_found"),
        ("DELETE", "_bulk_docs", {}, 405, "method_not_allowed"),
        ("GET", "_purge", {}, 404, "not_found"),
    ],
)
def test_bad_requests_get_couchdb_errors_and_change_nothing(server, campaign, method, path, kwargs, status, error):
    server.http.put(f"/sync/{campaign}/r1", json={"v": 1})
    before = _state(server, campaign)
    response = server.http.request(method, f"/sync/{campaign}/{path}", **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error and body["reason"]
    assert _state(server, campaign) == before
    assert server.http.get("/healthz").status_code == 200


def test_bad_replicated_documents_are_forbidden_one_by_one(server, campaign):
    good = {"_id": "good", "_rev": f"1-{rev_hash('g')}", "_revisions": {"start": 1, "ids": [rev_hash("g")]}}
    bad = [
        {"_id": "contradicts", "_rev": f"2-{rev_hash('x')}", "_revisions": {"start": 2, "ids": [rev_hash("y"), rev_hash("z")]}},
        {"_id": "no-history", "_rev": f"2-{rev_hash('x')}"},
        {"_id": "no-rev"},
        {"_id": "huge", "_rev": f"1-{rev_hash('h')}", "notes": "x" * 1_100_000},
        "not an object",
    ]
    errors = _put_docs(server, campaign, [good, *bad], new_edits=False)
    assert [e["id"] for e in errors] == ["contradicts", "no-history", "no-rev", "huge", None]
    assert all(e["error"] == "forbidden" for e in errors)
    assert "does not match" in errors[0]["reason"] and "document_too_large" in errors[3]["reason"]
    assert server.http.get(f"/sync/{campaign}/good").status_code == 200
    for doc in bad[:4]:
        assert server.http.get(f"/sync/{campaign}/{doc['_id']}").status_code == 404


def test_a_body_over_the_request_limit_is_refused(tmp_path):
    from tests.peers import LiveServer

    small = LiveServer(tmp_path, env={"BLOCKWALK_MAX_REQUEST_BYTES": "100000"})
    try:
        campaign = small.new_db()
        response = small.http.post(f"/sync/{campaign}/_bulk_docs", json={"docs": [{"_id": "x", "notes": "y" * 200_000}]})
        assert response.status_code == 413 and response.json()["error"] == "too_large"
        assert small.http.get(f"/sync/{campaign}").json()["doc_count"] == 0
        assert small.http.get("/healthz").status_code == 200
    finally:
        small.close()


@pytest.mark.parametrize("path", ["/sync/../healthz", "/sync/%2e%2e/healthz", "/sync/{db}/..%2F..%2Fx", "/sync/{db}%2F..%2Fother",
                                  "/sync/_accounts/_all_docs", "/sync/_accounts", "/sync/_all_dbs", "/sync/{db}/_local"])
def test_paths_cannot_escape_the_database(server, campaign, path):
    assert server.http.post(f"/sync/{campaign}/_bulk_docs", json={"docs": [{"_id": "r1"}]}).status_code == 201
    # http.client sends the path as written (httpx would resolve the dot segments itself).
    host, port = server.url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", path.format(db=campaign), headers={"Authorization": server.http.headers["Authorization"]})
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    assert response.status in (400, 404), text
    assert "password" not in text and "scrypt" not in text and '"status":"ok"' not in text


def test_cors_preflight_and_headers(server, campaign):
    # This server allows no origin: a page elsewhere gets no CORS headers.
    response = httpx.options(f"{server.url}/sync/{campaign}", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert response.status_code == 204 and "access-control-allow-origin" not in response.headers
