"""The web apps' files: one list for what the package carries, what the server serves and what is checked at start."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from server import create_app
from server.cli import main
from server.web import app_shell, files as webfiles, pages

PARTIAL = ["node_modules/pouchdb/dist/pouchdb.min.js"]


def test_this_checkout_is_complete():
    assert webfiles.IN_CHECKOUT and webfiles.SHELL == webfiles.CHECKOUT / "mobile-shell"
    assert webfiles.report() is None
    for app in webfiles.APPS:
        assert webfiles.missing(app) == [], app.name


def test_every_vendor_file_the_server_serves_is_packaged():
    shell = webfiles.files(webfiles.SHELL_APP)
    for path in app_shell.VENDOR.values():
        if webfiles.SHELL in path.parents:
            assert path.relative_to(webfiles.SHELL).as_posix() in shell, path
    packaged = webfiles.files(webfiles.PAGES_APP)
    for page in webfiles.WEB.glob("*.html"):
        for package, name in re.findall(r'(?:src|href)="vendor/([^/"]+)/([^"]+)"', page.read_text()):
            folder = pages.VENDOR[package].relative_to(webfiles.WEB).as_posix()
            assert f"{folder}/{name}" in packaged, f"{page.name} loads vendor/{package}/{name}, which is not packaged"


def test_an_app_without_its_vendor_files_is_named_with_what_to_run(monkeypatch):
    monkeypatch.setattr(webfiles, "missing", lambda app, folder=None: PARTIAL if app is webfiles.SHELL_APP else [])
    message = webfiles.report()
    assert "The canvasser app (/app/) cannot be served: it lacks" in message
    assert "mobile-shell/node_modules/pouchdb/dist/pouchdb.min.js" in message
    assert "Run scripts/bootstrap" in message and "coordinator" not in message


def test_an_incomplete_app_answers_503_with_the_message_never_500(tmp_path, monkeypatch):
    monkeypatch.setattr(webfiles, "missing", lambda app, folder=None: PARTIAL if app is webfiles.SHELL_APP else [])
    client = create_app({"STORE": f"sqlite://{tmp_path}/app.db"}, environ={}).test_client()
    for path in ("/app/", "/app/sw.js", "/app/vendor/pouchdb.min.js"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert "scripts/bootstrap" in response.text and "pouchdb.min.js" in response.text
    assert client.get("/coordinator/").status_code == 200
    assert client.get("/healthz").status_code == 200


def test_an_installed_package_says_to_reinstall_from_a_built_wheel(monkeypatch):
    monkeypatch.setattr(webfiles, "IN_CHECKOUT", False)
    assert "python -m build" in webfiles.what_to_run() and "no npm" in webfiles.what_to_run()


def test_serve_names_the_incomplete_app_at_start(tmp_path, monkeypatch):
    from server import cli

    monkeypatch.setattr(webfiles, "missing", lambda app, folder=None: PARTIAL if app is webfiles.SHELL_APP else [])
    said = []
    monkeypatch.setattr(cli.click, "echo", lambda message="", err=False: said.append(message))
    cli._say_what_web_apps_lack()
    assert len(said) == 1 and said[0].startswith("blockwalk: The canvasser app (/app/) cannot be served")


@pytest.mark.parametrize("app", webfiles.APPS, ids=lambda a: a.source)
def test_the_build_copies_into_the_package_what_the_server_reads(app):
    """The wheel's folder of each app, under site-packages, is where an installed server looks for it."""
    installed = {"mobile-shell": webfiles.PACKAGE / "mobile-shell", "server/web/static": webfiles.WEB}[app.source]
    assert installed == webfiles.CHECKOUT / app.packaged


def test_doctor_is_a_command():
    result = CliRunner().invoke(main, ["doctor", "--help"])
    assert result.exit_code == 0 and "--phones" in result.output and "--store" in result.output
