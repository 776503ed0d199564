"""The package as an operator installs it: a wheel built from this checkout, in a fresh virtual environment.

``python -m build`` (the npm step, if any, happens here), ``pip install`` of
the wheel into a new venv under the test's tmp folder, then ``blockwalk demo``
and ``blockwalk serve`` from that venv, run from a folder that is not the
checkout and with no ``PYTHONPATH``, so nothing can come from the checkout.
Headless Chromium checks that ``/app/`` installs its service worker and
reloads with the network off, and that a coordinator page loads its
vendor scripts and signs in.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
import time
import venv
import zipfile
from pathlib import Path

import httpx
import pytest

from server.web import files as webfiles

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _env(**extra: str) -> dict:
    """The environment without anything that points into the checkout or sets Blockwalk's settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BLOCKWALK_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist, and the wheel built from it (as ``python -m build`` does: no stale build/ folder can leak in)."""
    out = tmp_path_factory.mktemp("dist")
    built = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                           capture_output=True, text=True, env=_env())
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def wheel(dist) -> Path:
    (built,) = dist.glob("blockwalk-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; its bin folder."""
    folder = tmp_path_factory.mktemp("venv")
    venv.create(folder, with_pip=True)
    bin_ = folder / "bin"
    subprocess.run([str(bin_ / "python"), "-m", "pip", "install", "--quiet", "--no-compile", str(wheel)],
                   check=True, capture_output=True, text=True, env=_env())
    return bin_


def test_the_wheel_carries_every_web_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for app in webfiles.APPS:
        for name in webfiles.files(app):
            assert f"{app.packaged}/{name}" in names, f"{app.name}: {name} is not in the wheel"
    assert {"forms/expressions/index.mjs", "forms/expressions/compiler.mjs", "sync/stamps.mjs"} <= names
    assert not [n for n in names if n.endswith(".map") or "/src/" in n], "source maps and sources stay out"


def test_the_sdist_carries_every_web_file_at_its_checkout_path(dist):
    (sdist,) = dist.glob("blockwalk-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {name.split("/", 1)[1] for name in tar.getnames() if "/" in name}
    for app in webfiles.APPS:
        for name in [*webfiles.files(app), "package-lock.json"]:
            assert f"{app.source}/{name}" in names, f"{app.name}: {name} is not in the sdist"


@pytest.fixture(scope="module")
def served(installed, tmp_path_factory):
    """``blockwalk demo`` then ``blockwalk serve`` from the installed venv; (url, {name: password})."""
    work = tmp_path_factory.mktemp("operator")
    env = _env(BLOCKWALK_DATA_DIR=str(work / "data"), HOME=str(work))
    where = subprocess.run([str(installed / "python"), "-c", "import server.web.files as w; print(w.IN_CHECKOUT, w.SHELL)"],
                           check=True, capture_output=True, text=True, env=env, cwd=work).stdout
    assert where.startswith("False ") and str(installed.parent) in where, where
    demo = subprocess.run([str(installed / "blockwalk"), "demo"], check=True, capture_output=True, text=True,
                          env=env, cwd=work)
    passwords = dict(re.findall(r"Demo \w+: (\w+) / (\S+)", demo.stderr))
    proc = subprocess.Popen([str(installed / "blockwalk"), "serve", "--port", "0"], stderr=subprocess.PIPE,
                            text=True, env=env, cwd=work)
    try:
        line = proc.stderr.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert match, line + (proc.stderr.read() if proc.poll() is not None else "")
        url = f"http://127.0.0.1:{match.group(1)}"
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/healthz")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the installed server did not answer"
                time.sleep(0.05)
        yield url, passwords
    finally:
        proc.terminate()
        _, errors = proc.communicate(timeout=20)
        assert "cannot be served" not in errors, errors


def test_the_installed_app_installs_its_service_worker_and_reloads_offline(served, chromium):
    url, _ = served
    context = chromium.new_context(service_workers="allow")
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/app/?campaign=demo")
        page.wait_for_selector("body[data-ready=true]")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        assert page.evaluate("() => typeof PouchDB") == "function"
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        assert page.locator("input[name=name]").is_visible()  # the sign-in screen, from the service worker's cache
        assert errors == []
    finally:
        context.close()


def test_an_installed_coordinator_page_loads_and_signs_in(served, chromium):
    url, passwords = served
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{url}/coordinator/")
        page.fill("#name", "cora")
        page.fill("#password", passwords["cora"])
        page.click("#signin-button")
        page.locator("#home").wait_for()
        page.goto(f"{url}/coordinator/map.html")
        page.wait_for_function("() => typeof L === 'object' && typeof L.markerClusterGroup === 'function'")
        page.goto(f"{url}/coordinator/turfs.html")  # the drawing tools (Geoman), from the wheel too
        page.wait_for_function("() => typeof L === 'object' && typeof L.PM === 'object'")
        page.locator("body[data-ready='true']").wait_for()
        assert errors == []
    finally:
        context.close()
