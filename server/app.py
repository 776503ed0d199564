"""The application factory."""

from __future__ import annotations

from importlib import metadata
from typing import Mapping

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from server import config as settings
from server.accounts import Accounts
from server.stores import open_store
from server.validation import Checker


def create_app(config: Mapping[str, object] | None = None, environ: Mapping[str, str] | None = None) -> Flask:
    """Build the app.  ``config`` overrides settings by name (``{"STORE": ...}``)."""
    app = Flask(__name__)
    app.config.update(settings.load(environ, config))
    app.config["VERSION"] = _version()
    app.config["MAX_CONTENT_LENGTH"] = app.config["MAX_REQUEST_BYTES"]
    store = open_store(settings.store_url(app.config), app.config)
    app.extensions["blockwalk.store"] = store
    app.extensions["blockwalk.accounts"] = Accounts(store)
    app.extensions["blockwalk.checker"] = Checker()

    from server import cors
    from server.health import bp as health_bp
    from server.replication import bp as replication_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(replication_bp)
    cors.init_app(app)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # One JSON shape for every error: {code, status, message}.
        response = jsonify(code=exc.code, status=exc.name, message=exc.description)
        return response, exc.code

    return app


def _version() -> str:
    try:
        return metadata.version("blockwalk")
    except metadata.PackageNotFoundError:
        return "0+unknown"
