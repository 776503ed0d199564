"""The REST API: OpenAPI and its docs served locally, authentication, forms, one error shape."""

from __future__ import annotations

import base64
import io

import pytest
from openpyxl import Workbook

from server import create_app
from server.access.accounts import Accounts
from server.campaigns.forms import install_template
from server.services import services


@pytest.fixture
def app(tmp_path):
    app = create_app({"STORE": f"sqlite://{tmp_path}/api.db"}, environ={})
    store = services(app).store
    accounts = Accounts(store)
    accounts.add_user("cora", "coordinator", "cora-password", "east")
    accounts.add_user("vic", "volunteer", "vic-password", "east")
    app.config["TEST_TOKENS"] = {"cora": accounts.create_token("cora"), "vic": accounts.create_token("vic")}
    campaign = store.create_db("east")
    install_template(campaign, "meeting_awareness")
    yield app
    store.close()


def _client(app, user: str | None = "cora"):
    client = app.test_client()
    if user:
        client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {app.config['TEST_TOKENS'][user]}"
    return client


def _xlsx(rows: list[list[str]], choices: list[list[str]] | None = None) -> bytes:
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    for row in rows:
        survey.append(row)
    if choices:
        sheet = book.create_sheet("choices")
        for row in choices:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_openapi_and_its_docs_are_served_from_local_files(app):
    client = app.test_client()
    spec = client.get("/api/openapi.json").get_json()
    assert spec["info"]["title"] == "Blockwalk" and "/api/v1/campaigns/{campaign}/forms" in spec["paths"]
    page = client.get("/api/docs").get_data(as_text=True)
    assert "/api/docs/static/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower() and "unpkg" not in page.lower()
    script = client.get("/api/docs/static/swagger-ui-bundle.js")
    assert script.status_code == 200 and len(script.data) > 100_000


def test_every_request_needs_a_credential(app):
    for headers in ({}, {"Authorization": "Bearer bw_wrong"}, {"Authorization": "Basic " + base64.b64encode(b"cora:nope").decode()}):
        response = app.test_client().get("/api/v1/campaigns/east/forms", headers=headers)
        assert response.status_code == 401
        body = response.get_json()
        assert body["code"] == 401 and body["status"] == "Unauthorized" and body["message"]
    basic = "Basic " + base64.b64encode(b"cora:cora-password").decode()
    assert app.test_client().get("/api/v1/campaigns/east/forms", headers={"Authorization": basic}).status_code == 200


def test_list_and_read_forms(app):
    client = _client(app, "vic")
    response = client.get("/api/v1/campaigns/east/forms?page_size=1")
    assert response.status_code == 200 and '"total": 2' in response.headers["X-Pagination"]
    assert len(response.get_json()) == 1
    ids = [f["id"] for f in client.get("/api/v1/campaigns/east/forms").get_json()]
    assert ids == ["form:meeting_awareness", "form:meeting_awareness@1"]
    version = client.get("/api/v1/campaigns/east/forms/form:meeting_awareness@1")
    assert version.get_json()["status"] == "published" and version.headers["ETag"].startswith('"1-')
    assert client.get("/api/v1/campaigns/east/forms/form:nothing").status_code == 404
    assert client.get("/api/v1/campaigns/nowhere/forms").status_code == 403  # no role there: not told if it exists


def test_editing_a_draft_follows_the_revision_rule(app):
    client = _client(app)
    url = "/api/v1/campaigns/east/forms/meeting_awareness/draft"
    draft = client.get("/api/v1/campaigns/east/forms/meeting_awareness")
    body = draft.get_json()
    body["title"] = {"en": "Meeting on the 3rd", "es": "Reunión el día 3"}
    assert client.put(url, json=body).status_code == 428
    assert client.put(url, json=body, headers={"If-Match": '"1-00000000000000000000000000000000"'}).status_code == 412
    saved = client.put(url, json=body, headers={"If-Match": "W/" + draft.headers["ETag"]})  # as a proxy may weaken it
    assert saved.status_code == 200 and saved.get_json()["rev"].startswith("2-")
    # If-Match names a revision of a draft that is not there: refused, and nothing made.
    other = "/api/v1/campaigns/east/forms/doorstep/draft"
    assert client.put(other, json=body, headers={"If-Match": draft.headers["ETag"]}).status_code == 412
    assert client.get("/api/v1/campaigns/east/forms/doorstep").status_code == 404
    assert client.put(url, json=body, headers={"If-Match": draft.headers["ETag"]}).status_code == 412  # now stale
    broken = dict(body, fields=[{"name": "x", "type": "barcode", "label": {"en": "X"}}])
    response = client.put(url, json=broken, headers={"If-Match": saved.headers["ETag"]})
    assert response.status_code == 422
    assert any("barcode" in p["message"] for p in response.get_json()["errors"]["problems"])
    assert _client(app, "vic").put(url, json=body, headers={"If-Match": saved.headers["ETag"]}).status_code == 403


def test_publishing_and_undeclared_changes(app):
    client = _client(app)
    base = "/api/v1/campaigns/east/forms/meeting_awareness"
    draft = client.get(base)
    body = draft.get_json()
    body["fields"] = body["fields"] + [{"name": "childcare", "type": "text", "label": {"en": "Childcare", "es": "Cuidado"}}]
    saved = client.put(f"{base}/draft", json=body, headers={"If-Match": draft.headers["ETag"]})
    refused = client.post(f"{base}/publish")
    assert refused.status_code == 422
    assert any("'childcare' is new" in p["message"] for p in refused.get_json()["errors"]["problems"])
    body["changes"] = [{"op": "add", "field": "childcare"}]
    client.put(f"{base}/draft", json=body, headers={"If-Match": saved.headers["ETag"]})
    published = client.post(f"{base}/publish")
    assert published.status_code == 201 and published.get_json()["id"] == "form:meeting_awareness@2"


def test_xlsform_upload(app):
    client = _client(app)
    good = _xlsx([["type", "name", "label"], ["select_one yn", "home", "Anyone home?"]],
                 [["list_name", "name", "label"], ["yn", "yes", "Yes"], ["yn", "no", "No"]])
    response = client.post("/api/v1/campaigns/east/forms/import?form_id=doorstep&publish=true",
                           data={"file": (io.BytesIO(good), "doorstep.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["id"] == "form:doorstep@1"
    bad = _xlsx([["type", "name", "label"], ["select_one nope", "home", "Anyone home?"], ["rank", "r", "Rank"]])
    response = client.post("/api/v1/campaigns/east/forms/import?form_id=broken",
                           data={"file": (io.BytesIO(bad), "broken.xlsx")}, content_type="multipart/form-data")
    assert response.status_code == 422
    problems = response.get_json()["errors"]["problems"]
    assert ("survey", 3, "type") in {(p["sheet"], p["row"], p["column"]) for p in problems}  # rank: an unknown type
    assert any(p["sheet"] == "choices" and "row" in p for p in problems)  # the selects need a choices sheet
    assert _client(app).get("/api/v1/campaigns/east/forms/form:broken").status_code == 404
