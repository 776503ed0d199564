"""The app factory, configuration and the blockwalk command, as a user runs them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server import create_app
from server.config import ConfigError, load
from server.services import services

BLOCKWALK = [sys.executable, "-m", "server.cli"]


def run(*args: str, env: dict | None = None, input: str | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKWALK_")}
    full_env.update(env or {})
    return subprocess.run(
        [*BLOCKWALK, *args], capture_output=True, text=True, env=full_env, input=input, timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )


@pytest.fixture
def app(tmp_path):
    app = create_app({"STORE": f"sqlite://{tmp_path}/app.db"}, environ={})
    yield app
    services(app).store.close()


def test_healthz(app):
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_errors_have_one_json_shape(app):
    response = app.test_client().get("/no/such/page")
    assert response.status_code == 404
    body = response.get_json()
    assert body["code"] == 404 and body["status"] == "Not Found"  # flask-smorest's shape: message only when there is one
    wrong = app.test_client().post("/healthz")
    assert wrong.status_code == 405 and wrong.get_json()["status"] == "Method Not Allowed"


def test_unknown_settings_are_refused_at_start(tmp_path):
    with pytest.raises(ConfigError, match="BLOCKWALK_STROE"):
        create_app(environ={"BLOCKWALK_STROE": f"sqlite://{tmp_path}/x.db"})
    with pytest.raises(ConfigError, match="REVS_LIMIT"):
        load({"BLOCKWALK_REVS_LIMIT": "lots"})
    with pytest.raises(ConfigError, match="NOPE"):
        load({}, {"NOPE": 1})


def test_settings_from_the_environment(tmp_path):
    config = load({"BLOCKWALK_DATA_DIR": str(tmp_path), "BLOCKWALK_REVS_LIMIT": "50", "BLOCKWALK_TEST_COUCHDB_URL": "x"})
    assert config["DATA_DIR"] == str(tmp_path) and config["REVS_LIMIT"] == 50
    assert load({"XDG_DATA_HOME": "/x"}, {})["REVS_LIMIT"] == 1000


def test_limits_reach_the_store(tmp_path):
    app = create_app({"STORE": f"sqlite://{tmp_path}/x.db", "MAX_DOCUMENT_BYTES": 500}, environ={})
    db = services(app).store.create_db("c")
    (result,) = db.bulk_docs([{"_id": "big", "notes": "x" * 600}])
    assert result["error"] == "document_too_large"


def test_cli_init_creates_the_default_store_in_the_data_dir(tmp_path):
    result = run("init", env={"BLOCKWALK_DATA_DIR": str(tmp_path / "data")})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"sqlite://{tmp_path}/data/blockwalk.db"
    assert (tmp_path / "data" / "blockwalk.db").exists()


def test_cli_databases_and_demo_are_scriptable(tmp_path):
    store = f"sqlite://{tmp_path}/s.db"
    assert run("db", "create", "east", "--store", store).stdout == "east\n"
    again = run("db", "create", "east", "--store", store)
    assert again.returncode == 1 and again.stdout == "" and "exists" in again.stderr
    bad = run("db", "create", "East!", "--store", store)
    assert bad.returncode == 1 and "lowercase" in bad.stderr
    demo = run("demo", "--store", store)
    assert demo.returncode == 0 and demo.stdout == "demo\n" and "documents" in demo.stderr
    assert "Demo coordinator: cora / " in demo.stderr and "Demo volunteer: vic / " in demo.stderr
    assert run("demo", "--store", store).returncode == 0  # a second run changes nothing
    assert run("db", "list", "--store", store).stdout.split() == ["demo", "east"]


def test_cli_failures_exit_non_zero_with_a_message(tmp_path):
    result = run("init", "--store", "mysql://root:hunter2@db/x")
    assert result.returncode == 2 and result.stdout == ""
    assert "Unknown store scheme" in result.stderr and "hunter2" not in result.stderr
    result = run("init", env={"BLOCKWALK_PROT": "1"})
    assert result.returncode == 2 and "BLOCKWALK_PROT" in result.stderr


def test_demo_campaign_is_realistic(tmp_path):
    from forms.validator import compile_form
    from server.cli.demo import load_demo
    from sync.sqlite import SQLiteServer

    server = SQLiteServer(tmp_path / "d.db")
    assert load_demo(server) > 100
    db = server.open_db("demo")
    docs = [row["doc"] for row in db.changes(include_docs=True).results]
    kinds = {doc["type"] for doc in docs}
    assert kinds == {"campaign", "meeting", "form", "turf", "household", "record", "assignment"}
    assert sum(d["type"] == "household" for d in docs) >= 200
    records = [d for d in docs if d["type"] == "record"]
    forms = {d["_id"]: compile_form(d) for d in docs if d["type"] == "form"}
    assert set(forms) == {"form:asset_mapping@1", "form:recruitment@1", "form:meeting_awareness@1", "form:satisfaction@1"}
    for record in records:
        validator = forms[f"{record['form']}@{record['form_version']}"]
        assert validator.validate(record, record["language"]) == {}, record["_id"]
    assert any(r["answers"].get("consent_sms", {}).get("given") for r in records)
    assert any(r["answers"].get("assets") for r in records)
    server.close()


def test_serve_runs_a_production_server(tmp_path):
    store = f"sqlite://{tmp_path}/serve.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLOCKWALK_")}
    proc = subprocess.Popen(
        [*BLOCKWALK, "serve", "--port", "0", "--store", store],
        stderr=subprocess.PIPE, text=True, env=env, cwd=Path(__file__).resolve().parents[2],
    )
    try:
        line = proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line
        url = f"http://127.0.0.1:{match.group(1)}"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"{url}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not answer"
                time.sleep(0.1)
        assert response.status_code == 200 and response.json()["status"] == "ok"
        assert response.headers["server"] == "blockwalk"  # blockwalk serve's front, not Flask's development server
        # A stop (as systemd or docker sends it) ends the server promptly and cleanly, even
        # with a phone's keep-alive connection open and idle.
        idle = socket.create_connection(("127.0.0.1", int(match.group(1))))
        httpx.get(f"{url}/healthz", timeout=5)  # the idle connection is accepted by now
        stopped_at = time.monotonic()
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        assert time.monotonic() - stopped_at < 5
        assert "Traceback" not in proc.stderr.read()
        idle.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cors_origins_are_normalised_or_refused():
    config = load({"BLOCKWALK_CORS_ORIGINS": "HTTPS://App.Example.org, https://b.example.org:443, http://127.0.0.1:8080/"})
    assert config["CORS_ORIGINS"] == ("https://app.example.org", "https://b.example.org", "http://127.0.0.1:8080")
    for bad in ["*", "app.example.org", "https://x.org/app", "ftp://x.org", "https://x.org:99999", "https://u:p@x.org"]:
        with pytest.raises(ConfigError):
            load({"BLOCKWALK_CORS_ORIGINS": bad})


def test_cli_forms_templates_import_and_publish(tmp_path):
    from openpyxl import Workbook

    store = f"sqlite://{tmp_path}/f.db"
    assert run("db", "create", "east", "--store", store).returncode == 0
    installed = run("form", "templates", "--db", "east", "--store", store)
    assert installed.returncode == 0, installed.stderr
    assert installed.stdout.split() == ["form:asset_mapping@1", "form:recruitment@1", "form:meeting_awareness@1",
                                       "form:satisfaction@1"]

    book = Workbook()
    survey = book.active
    survey.title = "survey"
    survey.append(["type", "name", "label", "label::Español (es)", "required", "relevant"])
    survey.append(["select_one yn", "home", "Anyone home?", "¿Hay alguien?", "yes", ""])
    survey.append(["text", "note_text", "Notes", "Notas", "", "${home} = 'yes'"])
    choices = book.create_sheet("choices")
    choices.append(["list_name", "name", "label", "label::Español (es)"])
    choices.append(["yn", "yes", "Yes", "Sí"])
    choices.append(["yn", "no", "No", "No"])
    settings = book.create_sheet("settings")
    settings.append(["form_id", "form_title"])
    settings.append(["doorstep", "Doorstep"])
    book.save(tmp_path / "doorstep.xlsx")
    imported = run("form", "import", str(tmp_path / "doorstep.xlsx"), "--db", "east", "--store", store)
    assert imported.returncode == 0 and imported.stdout.strip() == "form:doorstep", imported.stderr
    published = run("form", "publish", "doorstep", "--db", "east", "--store", store)
    assert published.stdout.strip() == "form:doorstep@1", published.stderr
    assert run("form", "publish", "doorstep", "--db", "east", "--store", store).stdout.strip() == "form:doorstep@2"

    survey.append(["integer", "age", "Age", "Edad", "", "${ghost} > 1"])
    book.save(tmp_path / "broken.xlsx")
    broken = run("form", "import", str(tmp_path / "broken.xlsx"), "--db", "east", "--store", store)
    assert broken.returncode == 1 and broken.stdout == ""
    assert "survey" in broken.stderr and "ghost" in broken.stderr
    missing = run("form", "publish", "nothing", "--db", "east", "--store", store)
    assert missing.returncode == 1 and "no draft" in missing.stderr
