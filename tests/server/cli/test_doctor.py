"""``blockwalk doctor``: each judgement on made-up machines, then the command on real stores and a real server."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from click.testing import CliRunner
from werkzeug.serving import make_server

from server import create_app
from server.cli import doctor, main
from server.config import SETTINGS
from server.services import services
from tests.conftest import couch_store_url, unique_prefix

GiB = doctor.GiB


def config(**changes) -> dict:
    values = {name: setting.default() for name, setting in SETTINGS.items()}
    values.update(changes)
    return values


def levels(findings) -> list[tuple[str, str]]:
    return [(f.level, f.check) for f in findings]


def test_default_settings_contradict_nothing():
    assert levels(doctor.judge_settings(config(), {})) == [("ok", "settings")]


@pytest.mark.parametrize("changes, level, words", [
    ({"MAX_DOCUMENT_BYTES": 200 * 1024 * 1024}, "fail", "can never arrive"),
    ({"MAX_ATTACHMENT_BYTES": 120 * 1024 * 1024}, "fail", "raise BLOCKWALK_MAX_REQUEST_BYTES"),
    ({"THREADS": 20_000}, "warn", "lower BLOCKWALK_THREADS"),
    ({"TRUSTED_PROXIES": 1, "HOST": "0.0.0.0"}, "warn", "listen on 127.0.0.1"),
])
def test_contradictory_settings_are_named_with_the_change(changes, level, words):
    (finding,) = doctor.judge_settings(config(**changes), {})
    assert finding.level == level and words in finding.message


def test_a_sqlite_setting_on_a_couchdb_store_does_nothing():
    findings = doctor.judge_settings(config(STORE="couchdb+http://h:5984/x"), {"BLOCKWALK_SQLITE_SYNCHRONOUS": "FULL"})
    assert levels(findings) == [("warn", "settings")] and "unset it" in findings[0].message


def test_http_tiles_on_https_pages_are_blocked():
    findings = doctor.judge_settings(config(TILE_URL="http://t/{z}/{x}/{y}.png"), {}, "https://canvass.example.org")
    assert "mixed content" in findings[0].message


def test_the_open_file_limit_is_judged_against_live_phones():
    (found,) = doctor.judge_open_files(config(THREADS=64), 50, soft=65536, hard=65536)
    assert found.level == "ok"
    findings = doctor.judge_open_files(config(THREADS=64), 900, soft=1024, hard=1024 * 1024)
    failed = [f for f in findings if f.level == "fail"]
    assert len(failed) == 1 and "LimitNOFILE=1156" in failed[0].message and "ulimit -n 1156" in failed[0].message
    findings = doctor.judge_open_files(config(THREADS=64), 900, soft=1024, hard=1024)
    assert "hard limit 1024" in [f for f in findings if f.level == "fail"][0].message


def test_more_phones_than_connections_fail_but_more_than_threads_is_fine():
    """A waiting longpoll holds a socket in the front's event loop, not a worker thread (docs/scale-out.md)."""
    findings = doctor.judge_open_files(config(CONNECTION_LIMIT=100, THREADS=16), 150, soft=65536, hard=65536)
    assert ("fail", "files") in levels(findings) and ("warn", "files") not in levels(findings)
    assert [f.level for f in doctor.judge_open_files(config(CONNECTION_LIMIT=10_000, THREADS=16), 5000,
                                                     soft=65536, hard=65536)] == ["ok"]
    assert "BLOCKWALK_CONNECTION_LIMIT=200" in " ".join(f.message for f in findings)


def test_disks():
    assert doctor.judge_disk("the store's disk", Path("/srv"), 100 * GiB, GiB).level == "ok"
    assert doctor.judge_disk("the store's disk", Path("/srv"), GiB, 256 * 2**20).level == "warn"
    assert doctor.judge_disk("the temporary folder", Path("/tmp"), 2**20, 200 * 2**20).level == "fail"


def test_clock():
    assert doctor.judge_clock({"the CouchDB server": 0.5}, None).level == "ok"
    assert doctor.judge_clock({"the CouchDB server": 30}, True).level == "warn"
    found = doctor.judge_clock({"https://x": -600}, True)
    assert found.level == "fail" and "-600 s" in found.message and "set-ntp" in found.message
    assert doctor.judge_clock({}, False).level == "warn"


def test_proxy_judgements():
    behind = config(PORT=8000)
    findings = doctor.judge_proxy(behind, "http://canvass.example.org", 200, {"Cache-Control": "no-cache"})
    text = " ".join(f.message for f in findings)
    assert "plain http" in text and "BLOCKWALK_TRUSTED_PROXIES=1" in text and "Service-Worker-Allowed" in text
    findings = doctor.judge_proxy(config(TRUSTED_PROXIES=1), "https://canvass.example.org", 200,
                                  {"Service-Worker-Allowed": "/app/", "Cache-Control": "no-cache"})
    assert [f.level for f in findings] == ["warn"] and "LONGPOLL" in findings[0].message  # only the unmeasured timeout
    (found,) = doctor.judge_proxy(behind, "https://canvass.example.org", None, {}, error="connection refused")
    assert found.level == "fail" and "http://127.0.0.1:8000" in found.message


def _run(*args: str):
    return CliRunner().invoke(main, ["doctor", *args], env={"BLOCKWALK_THREADS": "200"})


def test_doctor_on_a_store_of_each_kind(store_kind, tmp_path, request):
    if store_kind == "sqlite":
        store = f"sqlite://{tmp_path}/blockwalk.db"
        assert CliRunner().invoke(main, ["init", "--store", store]).exit_code == 0
    else:
        store = couch_store_url(request.getfixturevalue("couchdb_url"), unique_prefix("doc"))
    result = _run("--store", store, "--phones", "10")
    assert result.exit_code == 0, result.output
    assert "reachable and writable" in result.output
    if store_kind == "couchdb":
        assert "clock     agrees with the CouchDB server" in result.output


def test_doctor_fails_for_a_store_it_cannot_open(tmp_path):
    result = _run("--store", f"sqlite://{tmp_path}/missing/folder/blockwalk.db")
    assert result.exit_code == 1 and "fail  store" in result.output and "BLOCKWALK_STORE" in result.output
    result = _run("--store", "couchdb+http://127.0.0.1:9/x")
    assert result.exit_code == 1 and ("cannot open" in result.output or "read or a write failed" in result.output)


def test_doctor_through_a_url_checks_what_the_server_answers(tmp_path):
    store = f"sqlite://{tmp_path}/blockwalk.db"
    app = create_app({"STORE": store}, environ={})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        result = _run("--store", store, "--phones", "10", "--url", f"http://127.0.0.1:{httpd.server_port}")
    finally:
        httpd.shutdown()
        services(app).store.close()
    assert result.exit_code == 0, result.output
    assert "BLOCKWALK_TRUSTED_PROXIES=1" in result.output  # another port than BLOCKWALK_PORT: a proxy
    assert "Service-Worker-Allowed" not in result.output and "plain http" not in result.output  # loopback is fine


def test_an_unknown_setting_is_the_first_finding(tmp_path):
    result = CliRunner().invoke(main, ["doctor", "--store", f"sqlite://{tmp_path}/x.db"], env={"BLOCKWALK_THREDS": "8"})
    assert result.exit_code == 1 and result.output.startswith("fail  settings  Unknown setting BLOCKWALK_THREDS")
