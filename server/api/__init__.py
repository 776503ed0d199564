"""The REST API under ``/api/v1`` (flask-smorest), for coordinators' and organizers' tools.

OpenAPI is served at ``/api/openapi.json`` and its docs UI at ``/api/docs``
from local files (the swagger-ui-bundle package): the server may run with
no internet.  Every error has flask-smorest's one shape, ``{code, status,
message, errors?}``.  Every request needs a credential (a device token or a
name and password), as on ``/sync``: each blueprint runs
``server.access.auth.api_authenticate`` before its requests.
"""

from __future__ import annotations

from http import HTTPStatus
from pathlib import Path

from flask import Flask, send_from_directory
from flask_smorest import Api

from sync.errors import SyncError

PREFIX = "/api/v1"


def _swagger_ui_folder() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def init_app(app: Flask) -> Api:
    app.config.update(
        API_TITLE="Blockwalk",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/static/",
        API_SPEC_OPTIONS={
            "info": {"description": "Campaigns, forms and the people who run them. Sync is at /sync (CouchDB's protocol)."},
            "components": {"securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A device token (blockwalk token create)"},
                "basic": {"type": "http", "scheme": "basic"},
            }},
            "security": [{"bearer": []}, {"basic": []}],
        },
    )
    api = Api(app)
    folder = _swagger_ui_folder()

    @app.get("/api/docs/static/<path:name>")
    def swagger_ui_static(name: str):
        return send_from_directory(folder, name)

    @app.errorhandler(SyncError)
    def store_error(exc: SyncError):
        """A store failure outside /sync (a full disk, CouchDB down): the REST shape, never a bare 500."""
        return {"code": exc.status, "status": HTTPStatus(exc.status).phrase, "message": exc.reason}, exc.status

    from server.api import (accounts, assets, assignments, campaigns, conflicts, drives, follow_up, forms, households,
                            meetings, records, reports, roster, turfs)

    for blueprint in (forms.blp, accounts.blp, accounts.sign_in_blp, turfs.blp, households.blp, assignments.blp,
                      campaigns.blp, drives.blp, meetings.blp, records.blp, conflicts.blp, assets.blp,
                      roster.blp, roster.audit_blp, *reports.BLUEPRINTS, follow_up.blp):
        api.register_blueprint(blueprint, url_prefix=PREFIX + blueprint.url_prefix)
    return api
