"""The deployment guide's nginx configuration, as written in docs/deployment.md, in front of a live server.

The config block is read from the guide (so the guide cannot drift from what
is tested), given a self-signed certificate on loopback and this run's
ports, and run by Debian's nginx.  Real PouchDB 9 (trusting that certificate)
pushes and pulls through it on each store, a longpoll ``_changes`` is held
and answered through it, and ``blockwalk doctor --url`` finds nothing to fix.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import textwrap
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from server.cli import main
from tests.peers import PouchPeer, RECORD, stop

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deployment.md"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

pytestmark = pytest.mark.slow


def guide_config() -> str:
    """The nginx block of docs/deployment.md: the indented lines after 'nginx (', up to the Caddy section."""
    text = GUIDE.read_text()
    start = text.index("\n", text.index("\nnginx (") + 1) + 1
    end = text.index("\nCaddy (")
    return textwrap.dedent(text[start:end]).strip()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


@pytest.fixture(scope="module")
def proxy(server, certificate, tmp_path_factory):
    """nginx with the guide's config on a free loopback port, forwarding to ``server``; its https URL."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is missing: the deployment test needs Debian's nginx (scripts/test installs it)", pytrace=False)
    folder = tmp_path_factory.mktemp("nginx")
    cert, key = certificate
    port, plain = _free_port(), _free_port()
    upstream = server.url.removeprefix("http://")
    site = (guide_config()
            .replace("canvass.example.org", "localhost")
            .replace("listen 443 ssl", f"listen 127.0.0.1:{port} ssl")
            .replace("listen 80;", f"listen 127.0.0.1:{plain};")
            .replace("/etc/letsencrypt/live/localhost/fullchain.pem", str(cert))
            .replace("/etc/letsencrypt/live/localhost/privkey.pem", str(key))
            .replace("http://127.0.0.1:8000", f"http://{upstream}"))
    assert f"http://{upstream}" in site and str(cert) in site, site
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    conf = folder / "nginx.conf"
    conf.write_text(f"""{'user root;' if os.geteuid() == 0 else ''}
daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
{temp}
{textwrap.indent(site, '    ')}
}}
""")
    check = subprocess.run([NGINX, "-t", "-c", str(conf), "-p", str(folder)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(folder)], stderr=subprocess.PIPE)
    url = f"https://localhost:{port}"
    deadline = time.monotonic() + 10
    while True:
        try:
            httpx.get(url + "/healthz", verify=ssl.create_default_context(cafile=str(cert)))
            break
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, (folder / "error.log").read_text()
            time.sleep(0.05)
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def phone_peer(certificate):
    """A PouchDB 9 process that trusts the self-signed certificate, as a phone trusts a real one."""
    saved = os.environ.get("NODE_EXTRA_CA_CERTS")
    os.environ["NODE_EXTRA_CA_CERTS"] = str(certificate[0])
    try:
        peer = PouchPeer()
    finally:
        if saved is None:
            del os.environ["NODE_EXTRA_CA_CERTS"]
        else:
            os.environ["NODE_EXTRA_CA_CERTS"] = saved
    yield peer
    peer.close()


def test_pouchdb_syncs_through_the_guides_tls_proxy(server, proxy, phone_peer):
    campaign = server.new_db(forms=True)
    remote = {"url": f"{proxy}/sync/{campaign}", "token": server.token}
    phone = f"phone-{random.getrandbits(40):x}"
    phone_peer.call("bulkDocs", db=phone, docs=[
        {"_id": f"record:{i}", **RECORD, "answers": {"outcome": "contacted"}} for i in range(5)
    ])
    pushed = phone_peer.call("sync", a=phone, b=remote)
    assert pushed["push"]["ok"] and pushed["push"]["docs_written"] == 5, pushed
    other = f"phone-{random.getrandbits(40):x}"
    pulled = phone_peer.call("replicate", **{"from": remote, "to": other})
    assert pulled["ok"] and {f"record:{i}" for i in range(5)} <= {r["id"] for r in phone_peer.call("allDocs", db=other)["rows"]}
    assert server.http.get(f"/sync/{campaign}/record:4").status_code == 200


def test_a_longpoll_is_held_and_answered_through_the_proxy(server, proxy, certificate):
    campaign = server.new_db()
    headers = {"Authorization": f"Bearer {server.token}"}
    with httpx.Client(base_url=proxy, headers=headers, verify=ssl.create_default_context(cafile=str(certificate[0])), timeout=30) as client:
        since = client.get(f"/sync/{campaign}/_changes", params={"since": "now"}).json()["last_seq"]
        started = time.monotonic()
        quiet = client.get(f"/sync/{campaign}/_changes", params={"feed": "longpoll", "since": since, "timeout": 2000})
        assert quiet.status_code == 200 and quiet.json()["results"] == []
        assert time.monotonic() - started >= 1.5  # held by the server, not cut by the proxy
        response = client.get("/app/sw.js")
        assert response.headers["service-worker-allowed"] == "/app/" and response.headers["cache-control"] == "no-cache"
        assert response.headers["strict-transport-security"].startswith("max-age=")


def test_doctor_through_the_proxy_finds_nothing_to_fix(server, proxy, certificate):
    port = re.search(r":(\d+)$", server.url).group(1)
    env = {"SSL_CERT_FILE": str(certificate[0]), "BLOCKWALK_TRUSTED_PROXIES": "1", "BLOCKWALK_PORT": port,
           "BLOCKWALK_DATA_DIR": str(server.data_dir), "BLOCKWALK_THREADS": "200"}
    result = CliRunner().invoke(main, ["doctor", "--store", server.store, "--phones", "10", "--url", proxy], env=env)
    assert result.exit_code == 0, result.output
    proxy_lines = [line for line in result.output.splitlines() if " proxy " in line]
    assert [line.split()[0] for line in proxy_lines] == ["warn"] and "LONGPOLL" in proxy_lines[0], result.output
