"""Between meetings: concerns from the doors, issues and their tasks (the follow-up chart), the agenda.

Admins, coordinators and organizers read concerns, issues and the chart
(pages, like the other lists); admins and coordinators write issues (with the
issue's revision as ETag).  Only this API writes issues and their
``concern_status`` documents (``access.writes``: over ``/sync`` a coordinator
may not): a change of issues is read once and written in one batch through
the write path, the issues it touches and their statuses together, so a 412
leaves nothing half-done (``api.common.save_all``).  Anyone with a role in
the campaign reads ``/concerns/status``: the ``concern_status`` documents
they may read by the read policy phones sync under, so a volunteer gets what
their phone holds, with no door, text or name of who raised them.  See
``server.reports.follow_up`` and ``docs/follow-up.md``.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import g
from flask.views import MethodView
from flask_smorest import abort

from schemas.follow_up import (
    Concern,
    ConcernArgs,
    ContactsExportArgs,
    DoorStatus,
    FollowUpExportArgs,
    Issue,
    IssueArgs,
    IssueIn,
    IssuePatch,
    SurveyReport,
)
from server import projection
from server.access import channels
from server.access.auth import api_authenticate, role_in
from server.access.roles import READERS, ROSTER_READERS, WRITERS
from server.api.blueprint import Blueprint
from server.api.common import (
    EXPORT_RESPONSES,
    campaign_store,
    check_if_match,
    logged_file,
    page,
    require_campaign_role,
    require_member,
    save_all,
)
from server.api.roster import roster_query
from server.documents.read import docs_of_type, get_or_none, now, prefixed_id
from server.people import visits
from server.people.roster import crm_language
from server.reports import follow_up, meetings as meetings_report, survey
from sync.store import DocumentStore

blp = Blueprint("follow_up", __name__, url_prefix="/campaigns/<campaign>",
                description="Between meetings: concerns from the doors, issues, the follow-up chart and the agenda")
blp.before_request(api_authenticate)
blp.before_request(require_member)

READ_MESSAGE = "Only admins, coordinators and organizers see concerns and the follow-up chart"
WRITE_MESSAGE = "Only an admin or a coordinator may change issues and tasks"
HISTORY_KEYS = ("title", "meeting", "sources", "task", "status", "problems", "outcome")


def _read() -> None:
    require_campaign_role(READERS, READ_MESSAGE)


def _write() -> None:
    require_campaign_role(WRITERS, WRITE_MESSAGE)


def _zone(store: DocumentStore, campaign: str) -> ZoneInfo:
    doc = get_or_none(store, f"campaign:{campaign}") or {}
    try:
        return ZoneInfo(str(doc.get("time_zone") or "UTC"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _today(store: DocumentStore, campaign: str) -> date:
    return datetime.now(_zone(store, campaign)).date()


def _meetings(store: DocumentStore) -> list[meetings_report.Meeting]:
    return meetings_report.sorted_meetings(visits.meeting_docs(store))


def _concerns(campaign: str, store: DocumentStore) -> list[follow_up.Concern]:
    found = projection.index(campaign, follow_up.KIND, store)
    marked = follow_up.concern_fields(docs_of_type(store, "form:", "form"))
    with visits.snapshot(found) as conn:
        return follow_up.concerns(conn, marked, _meetings(store))


def _issues(store: DocumentStore) -> list[dict]:
    return docs_of_type(store, "issue:", "issue")


def _address(home: dict | None) -> str | None:
    if not isinstance(home, dict):
        return None
    return ", ".join(str(v) for v in (home.get("address"), home.get("unit")) if v) or None


def _view(doc: dict, texts: dict[str, str], homes: dict[str, dict], today: date) -> dict:
    task = doc.get("task") if isinstance(doc.get("task"), dict) else None
    return {
        "id": doc["_id"], "title": doc.get("title") or {}, "meeting": doc.get("meeting"),
        "sources": [{**source, "text": texts.get(source.get("concern")),
                     "address": _address(homes.get(source.get("household") or ""))}
                    for source in doc.get("sources") or []],
        "task": task, "status": doc.get("status") or "raised", "overdue": follow_up.overdue(doc, today),
        "problems": doc.get("problems") or "", "outcome": doc.get("outcome") or {},
        "history": doc.get("history") or [], "updated_at": doc.get("updated_at"), "rev": doc["_rev"],
    }


def _views(campaign: str, store: DocumentStore, docs: list[dict],
           known: list[follow_up.Concern] | None = None) -> list[dict]:
    """The issues as the API shows them; ``known``: the campaign's concerns, if this request has read them."""
    if not docs:
        return []
    texts = {c.id: c.text for c in (known if known is not None else _concerns(campaign, store))}
    homes = visits.households(store, (s.get("household") for d in docs for s in d.get("sources") or []
                                      if s.get("household")))
    today = _today(store, campaign)
    return [_view(doc, texts, homes, today) for doc in docs]


def _filter(kind: str, given: str | None) -> str | None:
    """A query's ``meeting`` or ``turf`` as a document id; one that cannot be an id matches nothing (422 is for bodies)."""
    if not given:
        return None
    return prefixed_id(kind, given) or f"{kind}:-"  # "-" never begins an id


def _meeting_id(store: DocumentStore, given: str | None) -> str | None:
    if given is None:
        return None
    doc_id = prefixed_id("meeting", given)
    doc = get_or_none(store, doc_id) if doc_id else None
    if doc is None or doc.get("type") != "meeting":
        abort(422, message=f"No meeting {given!r} in this campaign", errors={"json": {"meeting": ["No such meeting"]}})
    return doc_id


def _sources(concerns: list[follow_up.Concern], ids: list[str], keep: list[dict] | None = None) -> list[dict]:
    """The doors of these concerns (unknown ones: 422); a concern already grouped in another issue moves here."""
    known = {c.id: c for c in concerns}
    missing = [i for i in ids if i not in known]
    if missing:
        abort(422, message=f"No such concern: {', '.join(missing[:5])}",
              errors={"json": {"concerns": [f"No such concern: {m}" for m in missing[:20]]}})
    kept = {s.get("concern"): s for s in keep or []}
    out = []
    for concern_id in dict.fromkeys(ids):
        c = known[concern_id]
        out.append(kept.get(concern_id) or {"concern": c.id, "household": c.household, "turf": c.turf,
                                            "language": c.language})
    return out


def _released(issues: list[dict], concern_ids: set[str], but: str, stamp: str) -> list[dict]:
    """A concern is in one issue: the other issues that hold any of these, without them (merging duplicates
    moves doors, never copies)."""
    out = []
    for doc in issues:
        if doc["_id"] == but:
            continue
        sources = doc.get("sources") or []
        left = [s for s in sources if s.get("concern") not in concern_ids]
        if len(left) != len(sources):
            history = (doc.get("history") or []) + [{"at": stamp, "by": g.user.name, "changed": ["sources"],
                                                     "note": f"merged into {but}"}]
            out.append({**doc, "sources": left, "history": history, "updated_at": stamp})
    return out


def _statuses(store: DocumentStore, issue: dict) -> list[dict]:
    """The writes that bring an issue's ``concern_status`` documents (one per turf, on its volunteers' phones)
    in line with it (``issue``: its new body, or its tombstone); only that issue's are read."""
    issue_id = issue["_id"]
    wanted = follow_up.status_docs(issue, issue_id)
    mine = {doc["_id"]: doc for doc in docs_of_type(store, follow_up.status_id(issue_id, ""), "concern_status")}
    out = []
    for doc_id, body in wanted.items():
        current = mine.get(doc_id)
        if current is None:
            out.append(body)
        elif {k: v for k, v in current.items() if k != "_rev"} != body:
            out.append({**body, "_rev": current["_rev"]})
    out += [{"_id": doc_id, "_rev": current["_rev"], "_deleted": True}
            for doc_id, current in mine.items() if doc_id not in wanted]
    return out


def _commit(store: DocumentStore, issues: list[dict]) -> dict[str, str]:
    """Write these issues (new bodies or tombstones) and their statuses in one batch, all or none
    (``save_all``: a refusal or a 412 leaves every one as it was read); their new revisions by id."""
    docs = issues + [write for issue in issues for write in _statuses(store, issue)]
    results = save_all(store, docs, "issue")
    return {result["id"]: result["rev"] for result in results}


def _existing(store: DocumentStore, issue_id: str) -> dict:
    doc_id = prefixed_id("issue", issue_id)
    doc = get_or_none(store, doc_id) if doc_id else None
    if doc is None or doc.get("type") != "issue":
        abort(404, message=f"No issue {issue_id!r}")
    return doc


@blp.route("/concerns")
class Concerns(MethodView):
    @blp.arguments(ConcernArgs, location="query")
    @blp.response(200, Concern(many=True))
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.paginate()
    def get(self, args: dict, campaign: str, pagination_parameters):
        """The concerns residents raised at doors, by time, each with its door, turf, meeting and issue."""
        _read()
        store = campaign_store(campaign)
        found = _concerns(campaign, store)
        if args["meeting"]:
            found = [c for c in found if c.meeting == _filter("meeting", args["meeting"])]
        if args["turf"]:
            found = [c for c in found if c.turf == _filter("turf", args["turf"])]
        found = page(found, pagination_parameters)
        grouped = {s.get("concern"): doc["_id"] for doc in _issues(store) for s in doc.get("sources") or []}
        homes = visits.households(store, (c.household for c in found if c.household))
        names = visits.turf_names(store)
        return [{"id": c.id, "text": c.text, "household": c.household, "address": _address(homes.get(c.household or "")),
                 "turf": c.turf, "turf_name": names.get(c.turf or ""), "meeting": c.meeting, "language": c.language,
                 "at": c.at, "issue": grouped.get(c.id)} for c in found]


@blp.route("/concerns/status")
class ConcernStatus(MethodView):
    @blp.response(200, DoorStatus(many=True))
    @blp.alt_response(403, description="No role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    def get(self, campaign: str):
        """What became of the concerns raised in turfs (a volunteer: their assigned turfs): the issue's title,
        status, due date and outcome, never a door, a concern's words or who raised it.

        A volunteer gets the ``concern_status`` documents the policy lets them read
        (``access.channels``), exactly what their phone holds; those who read the issues themselves
        (admins, coordinators, organizers) get every issue, those raised in no turf included
        (``turfs`` empty)."""
        store = campaign_store(campaign)
        if role_in(g.user, campaign) in READERS:
            out = []
            for doc in _issues(store):
                task = doc.get("task") if isinstance(doc.get("task"), dict) else {}
                turfs = sorted({s.get("turf") for s in doc.get("sources") or []
                                if isinstance(s, dict) and isinstance(s.get("turf"), str)})
                out.append({"issue": doc["_id"], "title": doc.get("title") or {}, "status": doc.get("status") or "raised",
                            "due": task.get("due"), "outcome": doc.get("outcome") or {}, "turfs": turfs})
            return out
        docs = docs_of_type(store, "concern_status:", "concern_status")
        visible = store.visible([doc["_id"] for doc in docs], channels.grants(g.user, campaign))
        docs = [doc for doc in docs if doc["_id"] in visible]
        by_issue: dict[str, list[dict]] = {}
        for doc in docs:
            if isinstance(doc.get("issue"), str):
                by_issue.setdefault(doc["issue"], []).append(doc)
        out = []
        for issue, held in sorted(by_issue.items()):
            first = held[0]
            out.append({"issue": issue, "title": first.get("title") or {}, "status": first.get("status") or "raised",
                        "due": first.get("due"), "outcome": first.get("outcome") or {},
                        "turfs": sorted({doc["turf"] for doc in held if isinstance(doc.get("turf"), str)})})
        return out


@blp.route("/issues")
class Issues(MethodView):
    @blp.arguments(IssueArgs, location="query")
    @blp.response(200, Issue(many=True))
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.paginate()
    def get(self, args: dict, campaign: str, pagination_parameters):
        """The issues (of a meeting: its agenda, in order of the doors that raised them, most first)."""
        _read()
        store = campaign_store(campaign)
        docs = _issues(store)
        if args["meeting"]:
            docs = [d for d in docs if d.get("meeting") == _filter("meeting", args["meeting"])]
        docs.sort(key=lambda d: (-len(d.get("sources") or []), follow_up.title_in(d, "en")))
        return _views(campaign, store, page(docs, pagination_parameters))

    @blp.arguments(IssueIn)
    @blp.response(201, Issue)
    @blp.alt_response(403, description="Not an admin or coordinator of this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.alt_response(422, description="No title, or an unknown meeting or concern")
    def post(self, body: dict, campaign: str):
        """Group concerns into a new issue (a concern already in another issue moves to this one)."""
        _write()
        store = campaign_store(campaign)
        meeting = _meeting_id(store, body["meeting"])
        known = _concerns(campaign, store)
        sources = _sources(known, body["concerns"])
        doc_id = f"issue:{secrets.token_hex(6)}"
        stamp = now()
        doc = {"_id": doc_id, "type": "issue", "title": {k: v for k, v in body["title"].items() if v.strip()},
               "meeting": meeting, "sources": sources, "task": None, "status": "raised", "problems": "",
               "outcome": {}, "created_at": stamp, "updated_at": stamp,
               "history": [{"at": stamp, "by": g.user.name, "changed": ["created"], "note": None}]}
        revs = _commit(store, [doc, *_released(_issues(store), {s["concern"] for s in sources}, doc_id, stamp)])
        saved = {**doc, "_rev": revs[doc_id]}
        return _views(campaign, store, [saved], known)[0], 201, {"ETag": f'"{saved["_rev"]}"'}


@blp.route("/issues/<issue_id>")
class IssueResource(MethodView):
    @blp.response(200, Issue)
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such issue")
    def get(self, campaign: str, issue_id: str):
        """One issue with its doors and history; its revision is the ETag."""
        _read()
        store = campaign_store(campaign)
        doc = _existing(store, issue_id)
        return _views(campaign, store, [doc])[0], 200, {"ETag": f'"{doc["_rev"]}"'}

    @blp.arguments(IssuePatch)
    @blp.response(200, Issue)
    @blp.alt_response(403, description="Not an admin or coordinator of this campaign")
    @blp.alt_response(404, description="No such issue")
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(422, description="A bad title, meeting, concern, task or status")
    @blp.alt_response(428, description="If-Match is required")
    def patch(self, body: dict, campaign: str, issue_id: str):
        """Change an issue: its title, meeting, concerns, task (take it up), status, problems, outcome.

        Every change is added to its history, with who made it and an optional note.
        Giving a task to an issue that was only raised makes it open.
        """
        _write()
        store = campaign_store(campaign)
        current = _existing(store, issue_id)
        check_if_match(current, "issue")
        new = dict(current)
        if "title" in body:
            title = {k: v for k, v in body["title"].items() if v.strip()}
            if not title:
                abort(422, message="An issue has a title in at least one language",
                      errors={"json": {"title": ["Give a title"]}})
            new["title"] = title
        if "meeting" in body:
            new["meeting"] = _meeting_id(store, body["meeting"])
        known = _concerns(campaign, store) if "concerns" in body else None
        if "concerns" in body:
            new["sources"] = _sources(known, body["concerns"], current.get("sources"))
        if "task" in body:
            task = body["task"]
            new["task"] = None if task is None else {
                "responsible": task["responsible"], "responsible_kind": task["responsible_kind"],
                "due": task["due"].isoformat(),
                "milestones": [{"title": m["title"], "due": m["due"].isoformat() if m["due"] else None,
                                "done": m["done"]} for m in task["milestones"]]}
            if task is not None and new.get("status", "raised") == "raised" and "status" not in body:
                new["status"] = "open"
        for key in ("status", "problems"):
            if key in body:
                new[key] = body[key]
        if "outcome" in body:
            new["outcome"] = {k: v for k, v in body["outcome"].items() if v.strip()}
        changed = follow_up.changes(current, new, HISTORY_KEYS)
        saved = current
        if changed or body.get("note"):
            new["updated_at"] = now()
            new["history"] = (current.get("history") or []) + [
                {"at": new["updated_at"], "by": g.user.name, "changed": changed, "note": body.get("note") or None}]
            others = _released(_issues(store), {s["concern"] for s in new["sources"]}, current["_id"],
                               new["updated_at"]) if "sources" in changed else []
            revs = _commit(store, [new, *others])
            saved = {**new, "_rev": revs[current["_id"]]}
        return _views(campaign, store, [saved], known)[0], 200, {"ETag": f'"{saved["_rev"]}"'}

    @blp.response(204)
    @blp.alt_response(403, description="Not an admin or coordinator of this campaign")
    @blp.alt_response(404, description="No such issue")
    @blp.alt_response(412, description="If-Match names another revision")
    @blp.alt_response(428, description="If-Match is required")
    def delete(self, campaign: str, issue_id: str):
        """Delete an issue, with If-Match; its concerns are ungrouped again (the records keep them)."""
        _write()
        store = campaign_store(campaign)
        current = _existing(store, issue_id)
        check_if_match(current, "issue")
        _commit(store, [{"_id": current["_id"], "_rev": current["_rev"], "_deleted": True}])


@blp.route("/follow-up")
class FollowUp(MethodView):
    @blp.arguments(IssueArgs, location="query")
    @blp.response(200, Issue(many=True))
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.paginate()
    def get(self, args: dict, campaign: str, pagination_parameters):
        """The follow-up chart: the issues taken up as tasks (of a meeting, or all), overdue first, then by due date."""
        _read()
        store = campaign_store(campaign)
        meeting = _filter("meeting", args["meeting"])
        chart = follow_up.chart(_issues(store), _today(store, campaign), meeting)
        return _views(campaign, store, page(chart, pagination_parameters))


@blp.route("/follow-up/export")
class FollowUpExport(MethodView):
    @blp.arguments(FollowUpExportArgs, location="query")
    @blp.doc(responses=EXPORT_RESPONSES)
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.alt_response(422, description="A bad format or language")
    def get(self, args: dict, campaign: str):
        """The follow-up chart as CSV or XLSX (titles and outcomes in ``language``), overdue first; formula-safe."""
        _read()
        store = campaign_store(campaign)
        today = _today(store, campaign)
        meeting = _filter("meeting", args["meeting"])
        titles = {m.id: m.title_in(args["language"]) for m in _meetings(store)}
        rows = follow_up.chart_rows(follow_up.chart(_issues(store), today, meeting), today, args["language"], titles)
        label = (meeting or "all").removeprefix("meeting:")
        return logged_file(campaign, "follow-up", args["format"], label, follow_up.CHART_COLUMNS, rows,
                           {"meeting": meeting, "language": args["language"]})


@blp.route("/agenda/export")
class AgendaExport(MethodView):
    @blp.arguments(FollowUpExportArgs, location="query")
    @blp.doc(responses=EXPORT_RESPONSES)
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.alt_response(422, description="A bad format or language")
    def get(self, args: dict, campaign: str):
        """A meeting's agenda (its issues, most-raised first) as CSV or XLSX, titles in ``language``; formula-safe."""
        _read()
        store = campaign_store(campaign)
        meeting = _filter("meeting", args["meeting"])
        docs = [d for d in _issues(store) if meeting is None or d.get("meeting") == meeting]
        docs.sort(key=lambda d: (-len(d.get("sources") or []), follow_up.title_in(d, "en")))
        texts = {c.id: c.text for c in _concerns(campaign, store)}
        rows = follow_up.agenda_rows(docs, args["language"], texts, visits.turf_names(store))
        label = (meeting or "all").removeprefix("meeting:")
        return logged_file(campaign, "agenda", args["format"], label, follow_up.AGENDA_COLUMNS, rows,
                           {"meeting": meeting, "language": args["language"]})


@blp.route("/reports/survey")
class SurveyResource(MethodView):
    @blp.response(200, SurveyReport)
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    def get(self, campaign: str):
        """The community satisfaction survey per turf and round (a quarter): each question's mean and its change
        from the previous round; a cell with fewer than 10 answers is suppressed."""
        _read()
        store = campaign_store(campaign)
        found = projection.index(campaign, follow_up.KIND, store)
        with visits.snapshot(found) as conn:
            return survey.report(conn, _zone(store, campaign), visits.turf_names(store))


@blp.route("/follow-up/contacts/export")
class ContactsExport(MethodView):
    @blp.arguments(ContactsExportArgs, location="query")
    @blp.doc(responses=EXPORT_RESPONSES)
    @blp.alt_response(403, description="Not an organizer or admin of this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.alt_response(422, description="A bad format")
    def get(self, args: dict, campaign: str):
        """Residents who asked to be told what comes of their concerns and can be reached: one row per person and
        issue of their door, with the channels they consented to, in their language (organizers and admins).

        A door asked (the meeting-awareness answer ``tell_me``); its people are the sign-ups made there, and
        only the channels each gave consent for are filled in (a phone for SMS or a call, an e-mail for
        e-mail); a person with no such channel is left out.  Formula-safe; logged as ``follow-up-contacts``.
        """
        require_campaign_role(ROSTER_READERS, "Only organizers and admins see residents' contact details")
        store = campaign_store(campaign)
        with visits.snapshot(projection.index(campaign, follow_up.KIND, store)) as conn:
            doors = follow_up.asking_doors(conn)
        # The roster's people (sign-ups of one person merged) and its consent rule: the newest statement
        # per channel counts, so a consent withdrawn later, at this door or another, is honoured.
        query = roster_query(campaign, {"mode": "households", "in": doors})
        homes = visits.households(store, doors)
        people = []
        for person in query.people():
            channels = [c for c in ("sms", "call", "email") if person.consents_to(c)
                        and (person.email if c == "email" else person.phone)]
            if not channels:
                continue
            phone = person.phone if {"sms", "call"} & set(channels) else None
            email = person.email if "email" in channels else None
            door = next(s.household for s in reversed(person.signups) if s.household in doors)
            people.append({"household": door, "full_name": person.full_name, "phone": phone or "",
                           "email": email or "", "channels": sorted(channels), "language": crm_language(person),
                           "address": _address(homes.get(door)) or ""})
        rows = follow_up.contact_rows(people, _issues(store), _today(store, campaign))
        return logged_file(campaign, "follow-up-contacts", args["format"], "told", follow_up.CONTACT_COLUMNS, rows,
                           {"mode": "asked to be told"})
