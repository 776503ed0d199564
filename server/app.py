"""The application factory."""

from __future__ import annotations

import logging
from importlib import metadata
from typing import Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from server import config as settings
from server.access import privacy
from server.access.accounts import Accounts
from server.documents.write import Writes
from server.people.export_log import ExportLog
from server.reports.devices import DeviceReports
from server.services import KEY, Services
from server.stores import open_store

log = logging.getLogger(__name__)


def create_app(config: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None) -> Flask:
    """Build the app.  ``config`` overrides settings by name (``{"STORE": ...}``)."""
    app = Flask(__name__)
    app.config.update(settings.load(environ, config))
    app.config["VERSION"] = _version()
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_REQUEST_BYTES"]
    learn_roster_forms(build_services(app).store)

    from server import api
    from server.web import cors
    from server.web.app_shell import bp as app_shell_bp
    from server.basemap.views import bp as basemap_bp
    from server.web.health import bp as health_bp
    from server.web.pages import bp as pages_bp
    from server.replication import bp as replication_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(replication_bp)
    app.register_blueprint(app_shell_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(basemap_bp)
    api.init_app(app)
    cors.init_app(app)

    trust_proxies(app)

    # Every other error (an unknown path, a wrong method) has the REST API's one
    # shape, {code, status, message, errors?}: flask-smorest's handler, set up by api.init_app.
    return app


def build_services(app: Flask) -> Services:
    """The services of ``app`` from its settings (``app.config``); kept on the app."""
    basemap = None
    if app.config["BASEMAP"]:
        from server.basemap.archive import ArchiveError, open_archive

        try:
            basemap = open_archive(str(app.config["BASEMAP"]))
        except ArchiveError as exc:
            raise settings.ConfigError(f"{settings.PREFIX}BASEMAP: {exc}") from None
    store = open_store(settings.store_url(app.config), app.config)
    found = Services(
        store=store,
        accounts=Accounts(store),
        writes=Writes(app.config["MAX_ATTACHMENT_BYTES"], str(app.config["PHONE_REGION"])),
        basemap=basemap,
        open_export_log=lambda: ExportLog(store),
        open_device_reports=lambda: DeviceReports(store),
    )
    app.extensions[KEY] = found
    return found


def learn_roster_forms(store) -> None:
    """Read every campaign's forms once, so the router knows which are roster forms (``access.privacy``)."""
    try:
        for name in store.list_dbs():
            rows = store.open_db(name).all_docs(startkey="form:", endkey="form:\uffff", include_docs=True)["rows"]
            privacy.note_forms(row["doc"] for row in rows if isinstance(row.get("doc"), dict))
    except Exception:  # a store not reachable yet: forms are learnt as they are read and routed
        log.warning("could not read the campaigns' forms at start", exc_info=True)


def trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-For/-Proto from the ``TRUSTED_PROXIES`` hops in front of the server, and no further.

    Behind a load balancer every request comes from its address, and the
    rate limits of failed sign-ins count per client address.
    """
    hops = app.config["TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _version() -> str:
    try:
        return metadata.version("blockwalk")
    except metadata.PackageNotFoundError:
        return "0+unknown"
