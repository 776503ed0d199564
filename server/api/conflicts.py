"""The coordinators' review queue: open conflicts by campaign and turf, and their resolution.

A conflict is a field of a record that two devices set to different values
at the same time (``docs/conflicts.md``).  Resolving one, by choosing a
competing value or typing a new one, is a stamped edit of the record under
If-Match: a new revision that replicates to the phones.
"""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort

from schemas.records import Conflict, ConflictArgs, Record, Resolution
from server.access.auth import api_authenticate
from server.api.blueprint import Blueprint
from server.api.common import campaign_store, check_if_match, page, require_reader, require_writer
from server.api.records import get_record, hidden_fields, records, save_edit
from sync.merge import open_conflicts
from sync.store import DocumentStore

blp = Blueprint("conflicts", __name__, url_prefix="/campaigns/<campaign>/conflicts",
                description="The review queue: values two canvassers set differently at the same time")

blp.before_request(api_authenticate)
blp.before_request(require_reader)


def _entries(store: DocumentStore, doc: dict) -> list[dict]:
    hidden = hidden_fields(store, doc)
    out = []
    for field, entry in open_conflicts(doc).items():
        secret = field in hidden
        heads = [{key: head.get(key) for key in ("stamp", "by", "device", "at")}
                 | {"value": None if secret else head.get("value"), "geotag": None if secret else head.get("geotag")}
                 for head in entry.get("heads") or [] if isinstance(head, dict)]
        if field.startswith("answers."):
            provisional = (doc.get("answers") or {}).get(field[len("answers."):])
        else:
            provisional = doc.get(field)
        out.append({"record": doc["_id"], "rev": doc["_rev"], "field": field, "policy": str(entry.get("policy")),
                    "turf": doc.get("turf") if isinstance(doc.get("turf"), str) else None,
                    "household": doc.get("household") if isinstance(doc.get("household"), str) else None,
                    "form": doc.get("form") if isinstance(doc.get("form"), str) else None,
                    "form_version": doc.get("form_version") if type(doc.get("form_version")) is int else None,
                    "hidden": secret, "provisional": None if secret else provisional, "heads": heads})
    return out


@blp.route("")
class Conflicts(MethodView):
    @blp.arguments(ConflictArgs, location="query")
    @blp.response(200, Conflict(many=True))
    @blp.paginate()
    def get(self, args: dict, campaign: str, pagination_parameters):
        """Open conflicts, by turf, then record, then field; every competing value with who, when, where."""
        store = campaign_store(campaign)
        found = [entry for doc in records(store) if open_conflicts(doc) and args["turf"] in (None, doc.get("turf"))
                 for entry in _entries(store, doc)]
        found.sort(key=lambda e: (e["turf"] or "", e["record"], e["field"]))
        return page(found, pagination_parameters)


@blp.route("/<record_id>/<field>")
class ConflictResource(MethodView):
    @blp.arguments(Resolution)
    @blp.response(200, Record)
    @blp.alt_response(403, description="Not a writer, or personal data this role may not see")
    @blp.alt_response(404, description="No such record, or no open conflict on that field")
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(422, description="The value does not fit the record's form, or choose is out of range")
    @blp.alt_response(428, description="If-Match is required")
    def post(self, body: dict, campaign: str, record_id: str, field: str):
        """Resolve a conflict (If-Match): keep one competing value (choose) or type a new one (value)."""
        require_writer("records")
        store = campaign_store(campaign)
        current = get_record(store, record_id)
        entry = open_conflicts(current).get(field)
        if entry is None:
            abort(404, message=f"No open conflict on {field!r} in {record_id}")
        check_if_match(current, "record")
        if field in hidden_fields(store, current):
            abort(403, message="Only an admin or an organizer may see or change residents' personal data")
        if "choose" in body:
            heads = entry.get("heads") or []
            if body["choose"] >= len(heads) or not isinstance(heads[body["choose"]], dict):
                abort(422, message=f"choose must be the position of one of the {len(heads)} competing values")
            value = heads[body["choose"]].get("value")
        else:
            value = body["value"]
        after = dict(current)
        if field.startswith("answers."):
            answers = dict(current.get("answers") or {})
            name = field[len("answers."):]
            if value is None:
                answers.pop(name, None)
            else:
                answers[name] = value
            after["answers"] = answers
        elif value is None:
            after.pop(field, None)
        else:
            after[field] = value
        return save_edit(store, current, after, touched=(field,))
