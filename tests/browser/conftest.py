"""A real headless Chromium (Debian's), pages served from their own origins, and a Blockwalk server.

The page and PouchDB's browser bundle are served by a small static server on
127.0.0.1, on another port than Blockwalk's, so every request the page makes
to ``/sync`` is cross-origin and carries credentials.  The module's Blockwalk
server allows exactly that origin (``BLOCKWALK_CORS_ORIGINS``); a second
static server is an origin it does not know.
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import sync_playwright

from tests.peers import JS, LiveServer

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PAGE = Path(__file__).resolve().parent / "page"
POUCHDB_JS = JS / "node_modules" / "pouchdb" / "dist" / "pouchdb.min.js"


class _PageHandler(SimpleHTTPRequestHandler):
    """The page folder, plus PouchDB's browser bundle at /pouchdb.min.js."""

    def translate_path(self, path: str) -> str:
        if urlsplit(path).path == "/pouchdb.min.js":
            return str(POUCHDB_JS)
        return super().translate_path(path)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class's name
        pass


@dataclass
class StaticSite:
    httpd: ThreadingHTTPServer

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def page(self) -> str:
        return f"{self.origin}/index.html"


def _serve_page():
    assert POUCHDB_JS.exists(), f"{POUCHDB_JS} is missing: run scripts/test (it installs tests/js)"
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_PageHandler, directory=str(PAGE)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread


def _site():
    httpd, thread = _serve_page()
    yield StaticSite(httpd)
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(scope="module")
def static_site():
    """The canvasser app's origin: the one Blockwalk allows."""
    yield from _site()


@pytest.fixture(scope="module")
def foreign_site():
    """Another origin on the same machine, not in BLOCKWALK_CORS_ORIGINS."""
    yield from _site()


@pytest.fixture(scope="module")
def server(tmp_path_factory, static_site):
    """A Blockwalk server of this module's own, allowing only the static site's origin."""
    live = LiveServer(tmp_path_factory.mktemp("browser-server"), env={"BLOCKWALK_CORS_ORIGINS": static_site.origin})
    yield live
    live.close()


@pytest.fixture(scope="module")
def chromium():
    """Debian's headless Chromium under Playwright (never `playwright install`: no internet here)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium (scripts/test installs it)",
                    pytrace=False)
    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    except Exception:
        playwright.stop()
        raise
    yield browser
    browser.close()
    playwright.stop()


class Phone:
    """One page in its own browser context (its own IndexedDB), with its console and responses kept."""

    def __init__(self, browser, url: str):
        self.context = browser.new_context(viewport={"width": 1000, "height": 640})
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.console: list[str] = []
        self.responses: list[tuple[str, int, str]] = []  # (method, status, url); CORS preflights are not listed
        self.page.on("response", lambda r: self.responses.append((r.request.method, r.status, r.url)))
        self.page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        self.page.goto(url)
        self.page.wait_for_function("typeof window.PouchDB === 'function' && typeof window.probe === 'function'")

    def call(self, function: str, **args):
        return self.page.evaluate(f"args => window.{function}(args)", args)

    def close(self):
        self.context.close()


@pytest.fixture
def open_phone(chromium):
    """Open a page at a URL as a fresh phone; closed after the test."""
    phones: list[Phone] = []

    def open_(url: str) -> Phone:
        phone = Phone(chromium, url)
        phones.append(phone)
        return phone

    yield open_
    for phone in phones:
        phone.close()


@pytest.fixture
def laptop(chromium):
    """A coordinator's page at a laptop (English), downloads allowed; script errors collected."""
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Script errors only: a refused API call (403, 404) that the page shows is logged by the browser as a failed resource.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    yield page, errors
    context.close()
