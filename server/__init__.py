"""The Flask server: app factory, REST API, replication endpoint, CLI."""

from server.app import create_app

__all__ = ["create_app"]
