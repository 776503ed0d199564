"""flask-smorest's Blueprint, with the pagination header documented as what it is
and request bodies read by the sync engine's JSON parser."""

from __future__ import annotations

import typing

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from sync import jsonutil


class JSONParser(FlaskParser):
    """Bodies parsed by orjson, as on /sync: JSON nested past its depth limit is a 400
    (the standard library's parser recurses and would fail with a 500)."""

    def _raw_load_json(self, req: flask.Request) -> typing.Any:
        if not is_json_request(req):
            return core.missing
        return jsonutil.loads(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JSONParser()

    def _document_pagination_metadata(self, spec, resp_doc):
        # flask-smorest documents X-Pagination as an object, but a header is a
        # string: here, the JSON text of {total, total_pages, first_page,
        # last_page, page, previous_page, next_page}.
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata, as JSON: total, total_pages, first_page, last_page, page, "
                           "previous_page, next_page",
            "schema": {"type": "string"},
        }
