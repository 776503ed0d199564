"""The web apps' files: which files make the canvasser app and the coordinator pages, and where they are.

Two layouts, one rule.  In a checkout (``pyproject.toml`` beside the
packages) the canvasser app is ``mobile-shell/`` beside the packages, with
its vendor files in ``mobile-shell/node_modules`` (``npm ci``, which
``scripts/bootstrap`` runs); the coordinator pages are ``server/web/static/`` with
``server/web/static/node_modules``.  A wheel carries the same files at the same
paths relative to each app's folder; only the canvasser app's folder moves,
into the package (``server/mobile-shell/``), because an installed package
has nothing beside it.  So a layout differs from the other in one place,
:data:`SHELL`, and every path below is relative to an app's folder.

What is packaged and what is checked are the same lists: the build
(``setup.py``) copies the files :func:`files` lists into the sdist and the
wheel, running ``npm ci`` first where vendor files are missing (the npm step
belongs to the build, never to an install), and the server checks at start
that every :attr:`WebApp.required` pattern matches a file
(:func:`report`), so a checkout before ``npm ci`` or a package built without
its vendor files is named in one message instead of answering 500s.

Standard library only: ``setup.py`` loads this file by its path, before
any of the server's dependencies is installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent  # server/
CHECKOUT = PACKAGE.parent
# A checkout (or an unpacked sdist): the project file and the app beside the packages; never site-packages.
IN_CHECKOUT = (CHECKOUT / "pyproject.toml").is_file() and (CHECKOUT / "mobile-shell" / "package.json").is_file()
SHELL = CHECKOUT / "mobile-shell" if IN_CHECKOUT else PACKAGE / "mobile-shell"
WEB = PACKAGE / "web" / "static"


@dataclass(frozen=True)
class WebApp:
    name: str  # what an operator calls it
    url: str  # where the server serves it
    folder: Path  # its folder in this layout
    source: str  # its folder in a checkout (and an sdist), relative to the checkout
    packaged: str  # its folder in a wheel, relative to site-packages
    own: tuple[str, ...]  # globs of its own files (in git)
    vendor: tuple[str, ...]  # globs of the files it needs from node_modules (npm), licences included
    entry: tuple[str, ...]  # own files it cannot start without

    @property
    def required(self) -> tuple[str, ...]:
        """Patterns that must each match a file, or the app is missing or partial."""
        return self.entry + self.vendor


SHELL_APP = WebApp(
    name="the canvasser app",
    url="/app/",
    folder=SHELL,
    source="mobile-shell",
    packaged="server/mobile-shell",
    own=("app/**/*",),
    vendor=(
        "node_modules/pouchdb/dist/pouchdb.min.js",
        "node_modules/leaflet/dist/leaflet.js",
        "node_modules/leaflet/dist/leaflet.css",
        "node_modules/leaflet/dist/images/*.png",
        "node_modules/pouchdb/LICENSE",
        "node_modules/leaflet/LICENSE",
    ),
    entry=("app/index.html", "app/sw.js", "app/manifest.webmanifest"),
)

PAGES_APP = WebApp(
    name="the coordinator pages",
    url="/coordinator/",
    folder=WEB,
    source="server/web/static",
    packaged="server/web/static",
    own=("*.html", "*.js", "*.css", "*.svg"),
    vendor=(
        "node_modules/leaflet/dist/leaflet.js",
        "node_modules/leaflet/dist/leaflet.css",
        "node_modules/leaflet/dist/images/*.png",
        "node_modules/leaflet.markercluster/dist/leaflet.markercluster.js",
        "node_modules/leaflet.markercluster/dist/MarkerCluster*.css",
        "node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.min.js",
        "node_modules/@geoman-io/leaflet-geoman-free/dist/leaflet-geoman.css",
        "node_modules/leaflet/LICENSE",
        "node_modules/leaflet.markercluster/MIT-LICENCE.txt",
        "node_modules/@geoman-io/leaflet-geoman-free/LICENSE",
    ),
    entry=("index.html",),
)

APPS = (SHELL_APP, PAGES_APP)
NPM_FILES = ("package.json", "package-lock.json")  # carried by the sdist, so a reader sees the versions


def _matches(folder: Path, pattern: str) -> list[Path]:
    return sorted(p for p in folder.glob(pattern) if p.is_file())


def files(app: WebApp, folder: Path | None = None) -> dict[str, Path]:
    """Every file the package carries for ``app``, by its path relative to the app's folder."""
    folder = app.folder if folder is None else folder
    found: dict[str, Path] = {}
    for pattern in app.own + app.vendor:
        for path in _matches(folder, pattern):
            found[path.relative_to(folder).as_posix()] = path
    return found


def missing(app: WebApp, folder: Path | None = None) -> list[str]:
    """The required patterns of ``app`` that match no file (empty: the app is complete)."""
    folder = app.folder if folder is None else folder
    return [pattern for pattern in app.required if not _matches(folder, pattern)]


def what_to_run() -> str:
    if IN_CHECKOUT:
        return ("Run scripts/bootstrap in the checkout (it runs npm ci in mobile-shell/ and server/web/static/; "
                "Node 20), then restart the server")
    return ("Reinstall Blockwalk from a wheel built with `python -m build` in a checkout with npm "
            "(the wheel carries the web apps' files; installing it needs no npm), then restart the server")


def report() -> str | None:
    """One message naming every missing or partial web app and what to run; None when both are complete."""
    parts = []
    for app in APPS:
        gaps = missing(app)
        if not gaps:
            continue
        where = app.folder.relative_to(CHECKOUT) if IN_CHECKOUT and app.folder.is_relative_to(CHECKOUT) else app.folder
        if not app.folder.is_dir():
            parts.append(f"{app.name} ({app.url}) cannot be served: there is no {where}/")
            continue
        shown = ", ".join(f"{where}/{g}" for g in gaps[:3]) + (f" and {len(gaps) - 3} more" if len(gaps) > 3 else "")
        parts.append(f"{app.name} ({app.url}) cannot be served: it lacks {shown}")
    if not parts:
        return None
    text = "; ".join(parts) + f". {what_to_run()}; until then those pages answer 503, sync and the API work."
    return text[0].upper() + text[1:]


def incomplete(app: WebApp) -> str | None:
    """The message to answer a request for ``app`` with when it is not complete, else None."""
    return report() if missing(app) else None


def guard(blueprint, app: WebApp) -> None:
    """Make ``blueprint`` (which serves ``app``) answer 503 with :func:`report`'s message while ``app`` is incomplete.

    Checked once, when the blueprint is registered on a Flask app (at start):
    ``npm ci`` run afterwards takes a restart, as the message says.
    """
    from flask import Response

    from server.services import services

    @blueprint.record_once
    def _check(state) -> None:
        services(state.app).incomplete_apps[blueprint.name] = incomplete(app)

    @blueprint.before_request
    def _refuse():
        message = services().incomplete_apps.get(blueprint.name)
        if not message:
            return None
        return Response(message + "\n", status=503, content_type="text/plain; charset=utf-8",
                        headers={"Retry-After": "3600", "Cache-Control": "no-store"})
