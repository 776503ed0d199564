"""What /app/ serves: the app's files and its vendor files with their content types, a service
worker allowed to control /app/, the shared expression evaluator (the same bytes as
the modules of forms/expressions/, never a copy), and the app's own code size."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest

from forms.messages import CATALOGUES
from server.app import create_app
from server.web.app_shell import APP, EXPRESSIONS, FIELDCHECKS, PHONE_REGIONS, STAMPS

ROOT = Path(__file__).resolve().parents[2]
APP_CODE_BUDGET = 150 * 1024  # gzipped; PouchDB and Leaflet counted apart


@pytest.fixture
def client(tmp_path):
    return create_app({"STORE": f"sqlite://{tmp_path}/b.db", "TILE_URL": "https://tiles.example.org/{z}/{x}/{y}.png"}).test_client()


@pytest.mark.parametrize(("path", "kind"), [
    ("/app/", "text/html"),
    ("/app/index.html", "text/html"),
    ("/app/js/main.js", "text/javascript"),
    ("/app/lib/expressions/index.mjs", "text/javascript"),
    ("/app/lib/expressions/compiler.mjs", "text/javascript"),
    ("/app/lib/stamps.mjs", "text/javascript"),
    ("/app/lib/fieldchecks.mjs", "text/javascript"),
    ("/app/lib/phone_regions.json", "application/json"),
    ("/app/vendor/pouchdb.min.js", "text/javascript"),
    ("/app/vendor/leaflet.js", "text/javascript"),
    ("/app/vendor/leaflet.css", "text/css"),
    ("/app/app.css", "text/css"),
    ("/app/manifest.webmanifest", "application/manifest+json"),
    ("/app/icon.svg", "image/svg+xml"),
    ("/app/messages.json", "application/json"),
    ("/app/config.json", "application/json"),
])
def test_files_and_their_content_types(client, path, kind):
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == kind
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-cache"


def test_the_service_worker_controls_app_and_caches_every_file(client):
    response = client.get("/app/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/app/"
    text = response.get_data(as_text=True)
    assets = json.loads(re.search(r"const ASSETS = (\[.*?\]);", text).group(1))
    version = re.search(r'const VERSION = "([0-9a-f]{16})"', text).group(1)
    for asset in assets:
        assert client.get("/app/" + asset.removeprefix("./")).status_code == 200, asset
    assert {"js/main.js", "vendor/pouchdb.min.js", "vendor/leaflet.js", "lib/expressions/index.mjs", "messages.json"} <= set(assets)
    modules = sorted(EXPRESSIONS.glob("*.mjs"))
    assert len(modules) > 1 and {f"lib/expressions/{p.name}" for p in modules} <= set(assets), "every module works offline"
    assert "sw.js" not in assets
    assert version == re.search(r'const VERSION = "([0-9a-f]{16})"', client.get("/app/sw.js").get_data(as_text=True)).group(1)


def _version(client) -> str:
    return re.search(r'const VERSION = "([0-9a-f]{16})"', client.get("/app/sw.js").get_data(as_text=True)).group(1)


def test_a_changed_setting_makes_a_new_service_worker_version(client, tmp_path):
    """Installed phones re-cache config.json (with the other files) only when the version changes."""
    version = _version(client)
    other = create_app({"STORE": f"sqlite://{tmp_path}/c.db", "TILE_URL": "https://maps.example.net/{z}/{x}/{y}.png"}).test_client()
    assert _version(other) != version
    same = create_app({"STORE": f"sqlite://{tmp_path}/d.db", "TILE_URL": "https://tiles.example.org/{z}/{x}/{y}.png"}).test_client()
    assert _version(same) == version  # the same files and settings: the phones keep their cache
    limits = create_app({"STORE": f"sqlite://{tmp_path}/e.db", "TILE_URL": "https://tiles.example.org/{z}/{x}/{y}.png",
                         "GEOTAG_HOUSEHOLD_MAX_M": 150}).test_client()
    assert _version(limits) != version


def test_the_evaluator_is_the_shared_one_and_messages_are_the_servers(client):
    for module in EXPRESSIONS.glob("*.mjs"):
        assert client.get(f"/app/lib/expressions/{module.name}").data == module.read_bytes()
    assert client.get("/app/lib/stamps.mjs").data == STAMPS.read_bytes()
    assert client.get("/app/lib/fieldchecks.mjs").data == FIELDCHECKS.read_bytes()  # the server's field checks, never a copy
    assert client.get("/app/lib/phone_regions.json").data == PHONE_REGIONS.read_bytes()
    assert client.get("/app/messages.json").json == CATALOGUES
    assert client.get("/app/config.json").json == {"tile_url": "https://tiles.example.org/{z}/{x}/{y}.png", "tile_attribution": "",
                                                   "phone_region": "US", "household_max_m": 100.0, "turf_tolerance_m": 25.0,
                                                   "tile_meta": None}


def test_unknown_and_escaping_paths_are_404(client):
    for path in ("/app/nope.js", "/app/../server/app.py", "/app/vendor/images/../../package.json", "/app/vendor/x.js"):
        assert client.get(path).status_code == 404, path
    assert client.get("/app").status_code in (301, 308)


def test_the_apps_own_code_is_small():
    files = [p for p in APP.rglob("*") if p.is_file()]
    size = len(gzip.compress(b"".join(p.read_bytes() for p in sorted(files)), 9))
    print(f"the app's own code: {size / 1024:.1f} KB gzipped ({len(files)} files)")
    assert size < APP_CODE_BUDGET
