"""Forms of a campaign: list, read, edit the draft, publish, import an XLSForm."""

from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort

from forms.definition import DefinitionError, NAME, form_doc_id
from forms.xlsform import XLSFormError, import_xlsform
from schemas.forms import FormDefinition, FormSummary, ImportArgs, XLSFormFile
from server.access.auth import api_authenticate
from server.api.blueprint import Blueprint
from server.api.common import campaign_store, check_if_match, require_member, require_writer, writer
from server.campaigns import forms as form_admin
from server.documents.checks import Invalid
from server.services import services
from sync.errors import Conflict, Forbidden, NotFound, SyncError

blp = Blueprint("forms", __name__, url_prefix="/campaigns/<campaign>/forms",
                description="Forms: drafts, published versions, XLSForm import")

blp.before_request(api_authenticate)
blp.before_request(require_member)


def _require_writer() -> None:
    require_writer("forms")


def _summary(doc: dict) -> dict:
    return {"id": doc["_id"], "form_id": doc.get("form_id"), "status": doc.get("status"), "version": doc.get("version"),
            "drive": doc.get("drive"), "title": doc.get("title") or {}, "rev": doc["_rev"]}


def _as_definition(loaded: dict) -> dict:
    """The loaded payload with the definition's own key names (``fields``, not ``fields_``)."""
    out = dict(loaded)
    if "fields_" in out:
        out["fields"] = out.pop("fields_")
    return out


def _path() -> dict:
    """The write path, as the signed-in user (``save_draft``/``publish_draft``'s ``through`` and ``writer``)."""
    return {"through": services().writes, "writer": writer()}


def _refused(exc: Forbidden) -> None:
    abort(422 if isinstance(exc, Invalid) else 403, message=exc.reason)


def _problems(exc: DefinitionError) -> dict:
    return {"problems": [{"path": p.path, "message": p.message} for p in exc.problems]}


@blp.route("")
class Forms(MethodView):
    @blp.response(200, FormSummary(many=True))
    @blp.paginate()
    def get(self, campaign: str, pagination_parameters):
        """Every draft and published version, by id."""
        store = campaign_store(campaign)
        rows = store.all_docs(startkey="form:", endkey="form:\uffff", include_docs=True)["rows"]
        docs = [row["doc"] for row in rows if row.get("doc") and row["doc"].get("type") == "form"]
        pagination_parameters.item_count = len(docs)
        start = pagination_parameters.first_item
        return [_summary(doc) for doc in docs[start:start + pagination_parameters.page_size]]


@blp.route("/<doc_id>")
class Form(MethodView):
    @blp.response(200, FormDefinition)
    @blp.alt_response(404, description="No such form")
    def get(self, campaign: str, doc_id: str):
        """One form document (a draft, form:<id>, or a version, form:<id>@<n>); its revision is the ETag."""
        store = campaign_store(campaign)
        try:
            doc = store.get(doc_id if doc_id.startswith("form:") else form_doc_id(doc_id))
        except NotFound:
            abort(404, message=f"No form {doc_id!r}")
        except SyncError as exc:
            abort(exc.status, message=exc.reason)
        return {**doc, "fields_": doc.get("fields")}, 200, {"ETag": f'"{doc["_rev"]}"'}


@blp.route("/<form_id>/draft")
class Draft(MethodView):
    @blp.arguments(FormDefinition)
    @blp.response(200, FormSummary)
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(422, description="The definition has problems")
    @blp.alt_response(428, description="If-Match is required to replace a draft")
    def put(self, definition: dict, campaign: str, form_id: str):
        """Create or replace the draft (replacing needs If-Match: the draft's revision)."""
        _require_writer()
        if not NAME.fullmatch(form_id):
            abort(404, message=f"No form {form_id!r}")
        store = campaign_store(campaign)
        doc_id = form_doc_id(form_id)
        try:
            current = store.get(doc_id)
        except NotFound:
            current = None
        check_if_match(current, "draft")
        draft = {**_as_definition(definition), "form_id": form_id}
        try:
            result = form_admin.save_draft(store, draft, rev=current["_rev"] if current else None, **_path())
        except DefinitionError as exc:
            abort(422, message="The definition has problems", errors=_problems(exc))
        except Conflict:
            abort(412, message="The draft has changed since you read it")
        except Forbidden as exc:
            _refused(exc)
        return _summary(store.get(result["id"])), 200, {"ETag": f'"{result["rev"]}"'}


@blp.route("/<form_id>/publish")
class Publish(MethodView):
    @blp.response(201, FormSummary)
    @blp.alt_response(422, description="The draft has problems or undeclared changes")
    def post(self, campaign: str, form_id: str):
        """Publish the draft as the next version (immutable from then on)."""
        _require_writer()
        store = campaign_store(campaign)
        try:
            version = form_admin.publish_draft(store, form_id, **_path())
        except DefinitionError as exc:
            abort(422, message="The form cannot be published", errors=_problems(exc))
        except Conflict:
            abort(409, message="Another version was published at the same moment; try again")
        except Forbidden as exc:
            _refused(exc)
        return _summary(store.get(version["_id"]))


@blp.route("/import")
class Import(MethodView):
    @blp.arguments(ImportArgs, location="query")
    @blp.arguments(XLSFormFile, location="files")
    @blp.response(201, FormSummary)
    @blp.alt_response(422, description="The XLSForm has problems (each with sheet, row and column)")
    def post(self, args: dict, files: dict, campaign: str):
        """Upload an XLSForm (.xlsx) as the draft of a form; optionally publish it."""
        _require_writer()
        store = campaign_store(campaign)
        upload = files["file"]
        data = upload.read(10 * 1024 * 1024 + 1)
        try:
            definition = import_xlsform(data, form_id=args["form_id"])
        except XLSFormError as exc:
            problems = [p.as_dict() if hasattr(p, "as_dict") else dict(p) for p in exc.problems]
            abort(422, message="The XLSForm has problems", errors={"problems": problems})
        try:
            current = store.get(form_doc_id(definition["form_id"]))
        except NotFound:
            current = None
        try:
            result = form_admin.save_draft(store, definition, rev=current["_rev"] if current else None, **_path())
            if args["publish"]:
                result = {"id": form_admin.publish_draft(store, definition["form_id"], **_path())["_id"]}
        except DefinitionError as exc:
            abort(422, message="The form has problems", errors=_problems(exc))
        except Forbidden as exc:
            _refused(exc)
        return _summary(store.get(result["id"]))
