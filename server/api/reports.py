"""Meeting coverage, RSVP lists and progress for coordinators; sync reports from phones.

Admins, coordinators and organizers of the campaign read the reports;
volunteers get 403.  Anyone with a role in the campaign sends their own
phones' sync reports.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from flask import g
from flask.views import MethodView
from flask_smorest import abort

from schemas.reports import DeviceReport, DeviceReportIn, MeetingCoverage, MeetingExportArgs, Phone, Progress, Rsvp
from server.access.accounts import token_id
from server.access.auth import accounts, api_authenticate, bearer_token
from server.access.roles import READERS
from server.api.blueprint import Blueprint
from server.api.common import EXPORT_RESPONSES, allow, campaign_store, logged_file, require_campaign_role
from server.people import visits
from server.reports import meetings as meetings_report, progress
from server.reports.devices import phones
from server.services import services
from sync.store import DocumentStore

DEVICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")

blp = Blueprint("reports", __name__, url_prefix="/campaigns/<campaign>/reports",
                description="Meeting coverage, RSVP lists and progress (admins, coordinators, organizers)")
devices_blp = Blueprint("devices", __name__, url_prefix="/campaigns/<campaign>/devices",
                        description="Sync reports from phones: what is still pending on each")
BLUEPRINTS = (blp, devices_blp)

blp.before_request(api_authenticate)
blp.before_request(allow(READERS, "Only admins, coordinators and organizers see the campaign's reports"))
devices_blp.before_request(api_authenticate)
devices_blp.before_request(allow(("admin", "organizer", "coordinator", "volunteer"),
                                 "You have no role in this campaign"))


def meetings_and_visits(campaign: str, store: DocumentStore) -> tuple[list[meetings_report.Meeting], list[visits.Visit]]:
    return meetings_report.load(visits.index(campaign, store), store)


def one_meeting(meetings: list[meetings_report.Meeting], meeting_id: str) -> meetings_report.Meeting:
    found = meetings_report.find(meetings, meeting_id)
    if found is None:
        abort(404, message=f"No meeting {meeting_id!r}")
    return found


@blp.route("/meetings")
class Meetings(MethodView):
    @blp.response(200, MeetingCoverage(many=True))
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    def get(self, campaign: str):
        """Every meeting, by start: doors knocked and informed, RSVPs and languages needed, in total and per turf."""
        store = campaign_store(campaign)
        meetings, awareness = meetings_and_visits(campaign, store)
        return meetings_report.coverage(meetings, awareness, visits.turf_names(store))


@blp.route("/meetings/export")
class MeetingsExport(MethodView):
    @blp.arguments(MeetingExportArgs, location="query")
    @blp.doc(responses=EXPORT_RESPONSES)
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    @blp.alt_response(422, description="A bad format")
    def get(self, args: dict, campaign: str):
        """The meeting coverage as CSV or XLSX: one row per meeting and turf, and a total row (turf ``all``) per meeting."""
        store = campaign_store(campaign)
        meetings, awareness = meetings_and_visits(campaign, store)
        report = meetings_report.coverage(meetings, awareness, visits.turf_names(store))
        return logged_file(campaign, "meetings", args["format"], "coverage", meetings_report.COVERAGE_COLUMNS,
                           meetings_report.coverage_rows(report), {"mode": "all"})


@blp.route("/meetings/<meeting_id>/rsvps")
class Rsvps(MethodView):
    @blp.response(200, Rsvp(many=True))
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign or meeting")
    def get(self, campaign: str, meeting_id: str):
        """The doors that said yes or maybe to the meeting, each with a reminder in its language."""
        store = campaign_store(campaign)
        meetings, awareness = meetings_and_visits(campaign, store)
        return meetings_report.rsvps(store, one_meeting(meetings, meeting_id), meetings, awareness)


@blp.route("/meetings/<meeting_id>/rsvps/export")
class RsvpsExport(MethodView):
    @blp.arguments(MeetingExportArgs, location="query")
    @blp.doc(responses=EXPORT_RESPONSES)
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign or meeting")
    @blp.alt_response(422, description="A bad format")
    def get(self, args: dict, campaign: str, meeting_id: str):
        """The RSVP list as CSV or XLSX, for the reminders."""
        store = campaign_store(campaign)
        meetings, awareness = meetings_and_visits(campaign, store)
        meeting = one_meeting(meetings, meeting_id)
        found = meetings_report.rsvps(store, meeting, meetings, awareness)
        return logged_file(campaign, "rsvps", args["format"], meeting.id.removeprefix("meeting:"),
                           meetings_report.RSVP_COLUMNS, meetings_report.rsvp_rows(found), {"meeting": meeting.id})


@blp.route("/progress")
class ProgressReport(MethodView):
    @blp.response(200, Progress)
    @blp.alt_response(403, description="A volunteer, or no role in this campaign")
    @blp.alt_response(404, description="No such campaign")
    def get(self, campaign: str):
        """Doors knocked, contact rate, records per hour, assets mapped, sign-ups and what is still on phones:
        for the campaign, per turf, per canvasser, and per day."""
        store = campaign_store(campaign)
        found = visits.index(campaign, store)
        with visits.snapshot(found) as conn:
            return progress.progress(conn, visits.turf_names(store), services().device_reports.of_campaign(campaign))


@devices_blp.route("")
class Phones(MethodView):
    @devices_blp.response(200, Phone(many=True))
    @devices_blp.alt_response(403, description="Not an admin, a coordinator or an organizer of the campaign")
    @devices_blp.alt_response(404, description="No such campaign")
    @devices_blp.paginate()
    def get(self, campaign: str, pagination_parameters):
        """Each volunteer's phones: every sign-in not expired, with its phone's last sync and what it still holds.

        By volunteer, newest sync first.  A revoked sign-in stays listed while
        its phone last said it held pending or refused changes.
        """
        require_campaign_role(READERS, "Only admins, coordinators and organizers see the campaign's phones", campaign)
        campaign_store(campaign)
        users = {u.name: u for u in accounts().member_users(campaign) if u.roles[campaign] == "volunteer"}
        names = sorted(users)
        found = phones(names, accounts().tokens_by_user(set(names)), services().device_reports.of_campaign(campaign),
                       datetime.now(UTC))
        pagination_parameters.item_count = len(found)
        start = pagination_parameters.first_item
        return [{**p, "full_name": users[p["user"]].full_name}
                for p in found[start:start + pagination_parameters.page_size]]


@devices_blp.route("/<device_id>/report")
class DeviceReportResource(MethodView):
    @devices_blp.arguments(DeviceReportIn)
    @devices_blp.response(200, DeviceReport)
    @devices_blp.alt_response(403, description="No role in this campaign")
    @devices_blp.alt_response(404, description="No such campaign")
    @devices_blp.alt_response(422, description="A bad report or device id")
    def put(self, body: dict, campaign: str, device_id: str):
        """A phone's report after a sync: how many changes are still pending on it, and how many were refused.

        Kept per campaign, user (the token's) and device; an older report than
        the one kept is ignored (the kept one is returned).
        """
        if DEVICE_ID.fullmatch(device_id) is None:
            abort(422, message="A device id is 1-64 letters, digits, '.', '_', ':' or '-' (not first)")
        campaign_store(campaign)
        sent_with = bearer_token()
        return services().device_reports.put(campaign, g.user.name, device_id, body["pending"], body["refused"],
                                    body["last_sync_at"],
                                    token=token_id(sent_with).removeprefix("token:") if sent_with else None)

