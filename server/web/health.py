"""``GET /healthz``: is the server up and its store readable; ``GET /``: to the coordinator pages."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect

from server.services import store_of

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    store = store_of()
    try:
        databases = len(store.list_dbs())
    except Exception as exc:  # the store is down: say so, do not crash
        current_app.logger.error("health check: store unreadable: %s", type(exc).__name__)
        return jsonify(status="unavailable", store="unreadable"), 503
    return jsonify(status="ok", store=type(store).__name__, databases=databases)


@bp.get("/")
def root():
    """``/``: a person who types the server's address lands on the coordinator pages (which link to the app)."""
    return redirect("/coordinator/", code=302)
