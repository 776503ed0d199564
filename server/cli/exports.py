"""``blockwalk export roster`` and ``blockwalk export meetings``: the REST exports from the command line.

The same filters, columns, consent gating and formula safety as the REST
API, the same export log (``who`` is ``cli:<name>``), and the same cursor
for ``--new`` (the organizer named by ``--as``).  A progress bar on stderr
(catching the index up, then the rows), the file on stdout or in ``--output``.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Iterable, Iterator

import click

from server import config as settings, projection
from server.access.accounts import Accounts
from server.access.auth import role_in
from server.documents.read import campaign_region
from server.people import roster_export, visits
from server.people.export_log import ExportLog
from server.people.roster import ExportReport, PRESETS
from server.reports import meetings as meetings_report
from server.stores import open_store

FORMAT = click.option("--format", "fmt", type=click.Choice(sorted(roster_export.FORMATS)), default="csv",
                      show_default=True, help="The file's format.")
OUTPUT = click.option("--output", "-o", default="-", show_default=True, metavar="FILE",
                      help="Where to write the file ('-': stdout).")
DB = click.option("--db", "db_name", required=True, help="The campaign database.")


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 date or time") from None
    if when.tzinfo is None:
        raise click.BadParameter(f"{value!r} needs an offset (Z or +HH:MM)")
    return when


class _Opened:
    """The settings, the campaign's store and its visits index, caught up (the server's own index file)."""

    def __init__(self, store_url: str | None, db_name: str):
        self.config = settings.load(overrides={"STORE": store_url})
        self.server = open_store(settings.store_url(self.config), self.config)
        try:
            self.store = self.server.open_db(db_name)
            self.index = projection.open_index(self.config, self.store, db_name, visits.KIND)
        except BaseException:
            self.server.close()
            raise
        with click.progressbar(length=max(1, self.store.info().doc_count), label="Indexing", file=sys.stderr) as bar:
            self.index.catch_up(bar.update)

    def close(self) -> None:
        self.index.close()
        self.server.close()


def _write(chunks: Iterable[bytes], output: str, fmt: str) -> None:
    if output == "-":
        if fmt == "xlsx" and sys.stdout.isatty():
            raise click.UsageError("An XLSX file is binary: write it with --output FILE, or redirect stdout")
        target = sys.stdout.buffer
        for chunk in chunks:
            target.write(chunk)
        target.flush()
        return
    with open(output, "wb") as file:
        for chunk in chunks:
            file.write(chunk)


def _ticking(items, label: str) -> Iterator:
    """``items`` (a list, or a RosterQuery: its people) with a progress bar on stderr."""
    people = items.people() if isinstance(items, roster_export.RosterQuery) else iter(items)
    with click.progressbar(people, length=len(items), label=label, file=sys.stderr) as bar:
        yield from bar


@click.command("roster")
@DB
@FORMAT
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default="full", show_default=True,
              help="Columns: Blockwalk's own, or what Action Network or Mailchimp imports accept.")
@click.option("--new", "new", is_flag=True, help="Only the people new or changed since the last --new export of --as.")
@click.option("--as", "as_user", metavar="NAME", help="The organizer or admin exporting (whose cursor --new moves).")
@click.option("--from", "from_", metavar="TIME", help="People with a sign-up from this time (ISO 8601, with offset).")
@click.option("--to", metavar="TIME", help="... until this time (exclusive).")
@OUTPUT
@click.option("--store", metavar="URL", default=None, help="The store (default: as the server).")
def roster_command(db_name: str, fmt: str, preset: str, new: bool, as_user: str | None, from_: str | None,
                   to: str | None, output: str, store: str | None) -> None:
    """Export the roster of a campaign (consent-gated; every export is logged)."""
    start, end = _time(from_), _time(to)
    if new and (start or end):
        raise click.UsageError("Ask for --new or for --from/--to, not both")
    if new and not as_user:
        raise click.UsageError("--new needs --as NAME: whose last export it is new since")
    if start and end and start >= end:
        raise click.UsageError("--from must be before --to")
    opened = _Opened(store, db_name)
    try:
        if as_user:
            user = Accounts(opened.server).get_user(as_user)
            if user is None or role_in(user, db_name) not in ("admin", "organizer"):
                raise click.UsageError(f"{as_user!r} is not an organizer or admin of {db_name!r}")
        who = f"cli:{as_user}" if as_user else "cli"
        log = ExportLog(opened.server)
        filter_ = {"mode": "new", "since": log.cursor(db_name, as_user)} if new else \
            {"mode": "range", "from": start, "to": end}
        default = str(opened.config["PHONE_REGION"])
        query = roster_export.RosterQuery(opened.index, opened.store, campaign_region(opened.store, default),
                                          default, filter_)

        report = ExportReport()

        def done(rows: int, complete: bool) -> None:
            log.record(campaign=db_name, who=who, kind="roster", format=fmt, preset=preset,
                       filter=roster_export.filter_logged(filter_), rows=rows, complete=complete,
                       report=report.logged())
            if complete and new:
                log.move_cursor(db_name, as_user, query.since)

        _write(roster_export.roster_stream(_ticking(query, "Exporting"), PRESETS[preset], fmt, done, report), output, fmt)
        for line in report.summary(PRESETS[preset]):
            click.echo(line, err=True)
    finally:
        opened.close()


@click.command("meetings")
@DB
@FORMAT
@click.option("--meeting", metavar="ID", help="The RSVP list of this meeting (meeting:<id> or <id>) instead of the coverage.")
@OUTPUT
@click.option("--store", metavar="URL", default=None, help="The store (default: as the server).")
def meetings_command(db_name: str, fmt: str, meeting: str | None, output: str, store: str | None) -> None:
    """Export meeting coverage per turf, or one meeting's RSVP list with reminders in each door's language."""
    opened = _Opened(store, db_name)
    try:
        meetings, awareness = meetings_report.load(opened.index, opened.store)
        if meeting is None:
            report = meetings_report.coverage(meetings, awareness, visits.turf_names(opened.store))
            kind, header, rows, filter_ = "meetings", meetings_report.COVERAGE_COLUMNS, \
                list(meetings_report.coverage_rows(report)), {"mode": "all"}
        else:
            chosen = meetings_report.find(meetings, meeting)
            if chosen is None:
                raise click.UsageError(f"No meeting {meeting!r} in {db_name!r}")
            kind, header, filter_ = "rsvps", meetings_report.RSVP_COLUMNS, {"meeting": chosen.id}
            rows = list(meetings_report.rsvp_rows(meetings_report.rsvps(opened.store, chosen, meetings, awareness)))
        log = ExportLog(opened.server)

        def done(count: int, complete: bool) -> None:
            log.record(campaign=db_name, who="cli", kind=kind, format=fmt, preset=None, filter=filter_, rows=count,
                       complete=complete)

        _write(roster_export.stream(header, _ticking(rows, "Exporting"), fmt, done, sheet=kind.capitalize()), output, fmt)
    finally:
        opened.close()

