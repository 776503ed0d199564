"""The roster of a campaign, its exports, and the log of every export.

Only organizers and admins see roster data (``server.access.auth.role_in``);
everyone else, coordinators and volunteers included, gets 403 before
anything is read.  The export log is for admins.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import abort

from schemas.reports import AuditEntry, AuditEntryOne, PersonOut, RosterArgs, RosterExportArgs
from server.access.auth import api_authenticate, role_in
from server.access.roles import ROSTER_READERS
from server.api.blueprint import Blueprint
from server.api.common import EXPORT_RESPONSES, allow, campaign_store, file_response
from server.documents.read import campaign_region
from server.people import roster_export, visits
from server.people.roster import ExportReport, PRESETS, Person
from server.services import services


blp = Blueprint("roster", __name__, url_prefix="/campaigns/<campaign>/roster",
                description="The roster: people who signed up, deduplicated, with consent per channel (organizers, admins)")
audit_blp = Blueprint("exports", __name__, url_prefix="/campaigns/<campaign>/exports",
                      description="The log of every export of a campaign (admins)")


def person_out(person: Person) -> dict:
    return {
        "id": person.id, "full_name": person.full_name, "phone": person.phone, "email": person.email,
        "languages": list(person.languages), "skills": list(person.skills), "availability": list(person.availability),
        "consent": {channel: {k: v for k, v in dataclasses.asdict(c).items() if k != "channel"}
                    for channel, c in person.consent.items()},
        "shared_phone": person.shared_phone, "problems": [p.text for p in person.problems],
        "problem_details": [dataclasses.asdict(p) for p in person.problems],
        "first_signed_up_at": person.first_signed_up_at, "last_signed_up_at": person.last_signed_up_at,
        "signups": [{k: getattr(s, k) for k in ("record", "form", "at", "canvasser", "device", "household", "turf", "full_name",
                                                 "phone", "email")} for s in person.signups],
    }


def roster_query(campaign: str, filter_: dict) -> roster_export.RosterQuery:
    """The campaign's people for ``filter_``, from its visits index caught up now."""
    store = campaign_store(campaign)
    default = str(current_app.config["PHONE_REGION"])
    return roster_export.RosterQuery(visits.index(campaign, store), store,
                                     campaign_region(store, default), default, filter_)


def range_filter(args: dict) -> dict:
    return {"mode": "range", "from": args.get("from_"), "to": args.get("to")}


blp.before_request(api_authenticate)
blp.before_request(allow(ROSTER_READERS, "Only organizers and admins see the roster"))
audit_blp.before_request(api_authenticate)
audit_blp.before_request(allow(("admin",), "Only admins read the export log"))


@blp.route("")
class Roster(MethodView):
    @blp.arguments(RosterArgs, location="query")
    @blp.response(200, PersonOut(many=True))
    @blp.alt_response(403, description="Not an organizer or admin of this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.paginate()
    def get(self, args: dict, campaign: str, pagination_parameters):
        """The people of the roster, by first sign-up, each with every sign-up and their consent per channel.

        With ``from``/``to``: the people with a sign-up in that time.  Phones
        and e-mails are shown whatever the consent (organizers keep the roster
        right); exports leave them out without consent.  With
        ``problems=true``: only the people with a phone or e-mail that cannot
        be used (an invalid number for the region, a malformed address), and
        the total (``X-Pagination``) is how many there are.
        """
        query = roster_query(campaign, range_filter(args))
        start, size = pagination_parameters.first_item, pagination_parameters.page_size
        if args["problems"]:  # every person is built to know: the page asks once
            found = [p for p in query.people() if p.problems]
            pagination_parameters.item_count = len(found)
            return [person_out(p) for p in found[start:start + size]]
        pagination_parameters.item_count = len(query)
        return [person_out(p) for p in query.people(start, start + size)]


@blp.route("/export")
class RosterExport(MethodView):
    @blp.arguments(RosterExportArgs, location="query")
    @blp.doc(responses=EXPORT_RESPONSES)
    @blp.alt_response(403, description="Not an organizer or admin of this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.alt_response(422, description="A bad format, preset or filter")
    def get(self, args: dict, campaign: str):
        """Export the roster as CSV or XLSX: new since your last 'new' export (``new=true``) or a date range.

        Consent-gated per channel: no phone without SMS or call consent (SMS
        alone for the Action Network and Mailchimp presets), no e-mail without
        e-mail consent.  Every cell is safe against formula injection.  Every
        export is logged; a 'new' export moves your cursor once the whole file
        was sent.
        """
        log, who = services().export_log, g.user.name
        if args["new"]:
            filter_ = {"mode": "new", "since": log.cursor(campaign, who)}
        else:
            filter_ = range_filter(args)
        query = roster_query(campaign, filter_)
        fmt, preset = args["format"], args["preset"]
        report, entry_id = ExportReport(), log.new_id(campaign)

        def done(rows: int, complete: bool) -> None:
            log.record(campaign=campaign, who=who, kind="roster", format=fmt, preset=preset,
                       filter=roster_export.filter_logged(filter_), rows=rows, complete=complete,
                       report=report.logged(), entry_id=entry_id)
            if complete and filter_["mode"] == "new":
                log.move_cursor(campaign, who, query.since)

        body = roster_export.roster_stream(query.people(), PRESETS[preset], fmt, done, report)
        response = file_response(body, fmt, roster_export.file_name("roster", campaign, preset, fmt, datetime.now(UTC)))
        # Where the log will say which rows were shortened or had problems (written once the file is sent).
        response.headers["X-Export-Log"] = entry_id
        return response


@blp.route("/exports/<path:entry_id>")
class RosterExportEntry(MethodView):
    @blp.response(200, AuditEntryOne)
    @blp.alt_response(403, description="Not an organizer or admin of this campaign")
    @blp.alt_response(404, description="No such export of yours (yet: it is logged once the file was sent)")
    def get(self, campaign: str, entry_id: str):
        """One of your roster exports, as the export log keeps it (admins: anyone's): which rows were
        shortened to the preset's limits and which people's phone or e-mail could not be exported."""
        campaign_store(campaign)
        entry = services().export_log.entry(campaign, entry_id)
        if entry is None or entry.get("kind") != "roster" or (
                entry.get("who") != g.user.name and role_in(g.user, campaign) != "admin"):
            abort(404, message="No such export of yours")
        return entry


@audit_blp.route("")
class ExportAudit(MethodView):
    @audit_blp.response(200, AuditEntry(many=True))
    @audit_blp.alt_response(403, description="Not an admin")
    @audit_blp.alt_response(404, description="No such campaign")
    @audit_blp.paginate()
    def get(self, campaign: str, pagination_parameters):
        """Every export of the campaign, newest first: who, when, what, which filter, how many rows."""
        campaign_store(campaign)
        start = pagination_parameters.first_item
        total, entries = services().export_log.entries(campaign, skip=start, limit=pagination_parameters.page_size)
        pagination_parameters.item_count = total
        return entries
