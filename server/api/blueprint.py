"""flask-smorest's Blueprint, with the pagination header documented as what it is."""

from __future__ import annotations

import flask_smorest


class Blueprint(flask_smorest.Blueprint):
    def _document_pagination_metadata(self, spec, resp_doc):
        # flask-smorest documents X-Pagination as an object, but a header is a
        # string: here, the JSON text of {total, total_pages, first_page,
        # last_page, page, previous_page, next_page}.
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata, as JSON: total, total_pages, first_page, last_page, page, "
                           "previous_page, next_page",
            "schema": {"type": "string"},
        }
