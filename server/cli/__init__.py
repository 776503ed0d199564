"""The ``blockwalk`` command.

Results go to stdout, messages to stderr, and a failure exits non-zero, so
every command can be scripted.  Every command that touches the store takes
``--store`` with the same default as the server (``BLOCKWALK_STORE``, else
``blockwalk.db`` in ``BLOCKWALK_DATA_DIR``).
"""

from __future__ import annotations

import functools
import gc
import sys
from datetime import timedelta

import click

from forms.definition import DefinitionError
from forms.xlsform import XLSFormError
from server import config as settings
from server.access.accounts import AccountError, Accounts, CAMPAIGN_ROLES, ROLES
from server.services import services
from server.stores import StoreURLError, open_store, safe_url
from sync.errors import SyncError

store_option = click.option(
    "--store",
    metavar="URL",
    default=None,
    help="sqlite:///path/to/file.db (default: BLOCKWALK_STORE, else blockwalk.db in BLOCKWALK_DATA_DIR)",
)


BODY_MARGIN = 64 * 1024 * 1024  # past MAX_REQUEST_BYTES + this, the front refuses a body unread


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"blockwalk: {message}", err=True)
    sys.exit(code)


def _guarded(fn):
    """Turn the errors a user can cause into one line on stderr and an exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (settings.ConfigError, StoreURLError) as exc:
            _fail(str(exc), 2)
        except AccountError as exc:
            _fail(str(exc), 1)
        except DefinitionError as exc:
            _fail("the form has problems:\n" + "\n".join(f"  {p}" for p in exc.problems), 1)
        except XLSFormError as exc:
            _fail(str(exc), 1)
        except SyncError as exc:
            _fail(f"{exc.error}: {exc.reason}", 1)
        except OSError as exc:
            _fail(f"{exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": "), 1)

    return wrapper


def _config(**overrides) -> dict:
    return settings.load(overrides=overrides)


def _open(config: dict):
    return open_store(settings.store_url(config), config)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="blockwalk")
def main() -> None:
    """Blockwalk: offline-first sync server for door-to-door canvassing."""


@main.command()
@click.option("--host", default=None, help="Address to listen on (default: BLOCKWALK_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: BLOCKWALK_PORT, 8000; 0 picks a free one).")
@click.option("--threads", type=int, default=None, help="Worker threads for Flask (default: BLOCKWALK_THREADS, 64).")
@store_option
@_guarded
def serve(host: str | None, port: int | None, threads: int | None, store: str | None) -> None:
    """Run the server: an event-driven HTTP front (epoll) with Flask in worker threads."""
    from server.web import front
    from server.app import create_app

    fd_limit = front.raise_fd_limit()
    app = create_app({"STORE": store, "HOST": host, "PORT": port, "THREADS": threads})
    # What start-up built (modules, the app, its schemas) lives as long as the
    # process: move it out of the collector's sight, so that the collections a
    # large push triggers do not walk it again and again (docs/replication.md).
    gc.freeze()
    store_server = services(app).store
    limit = front.connection_limit(app.config["CONNECTION_LIMIT"], fd_limit)

    def started(server: front.Front) -> None:
        # Commits (of any process) wake the longpolls waiting in this one (server.replication.live).
        assert server.waiters is not None
        store_server.add_listener(server.waiters.notify)
        server.waiters.watch = store_server.watch

    server = front.Front(
        app,
        host=app.config["HOST"],
        port=app.config["PORT"],
        threads=app.config["THREADS"],
        # Hostile clients: a body far over the limit is refused before it is read
        # (one a little over gets the app's 413 in the endpoint's error shape, from
        # a body spooled to disk), an idle or slow-drip connection is closed, and
        # connections are bounded (more wait in the listen backlog).
        connection_limit=limit,
        idle_timeout=app.config["CHANNEL_TIMEOUT"],
        max_body=app.config["MAX_REQUEST_BYTES"] + BODY_MARGIN,
        on_start=started,
    )
    if limit < app.config["CONNECTION_LIMIT"]:
        click.echo(f"blockwalk: holding at most {limit} connections (the open-file limit is {fd_limit})", err=True)
    click.echo(
        f"Blockwalk listening on http://{app.config['HOST']}:{server.effective_port} "
        f"(store: {safe_url(settings.store_url(app.config))})",
        err=True,
    )
    _say_what_web_apps_lack()
    _catch_up_in_background(app)
    # A stop (SIGTERM, as from systemd or docker, or Ctrl-C) ends server.run (the front handles
    # both signals in its loop), then the store closes: the CouchDB store writes the checkpoints
    # still waiting for CouchDB (sync.couchdb.checkpoints).
    try:
        server.run()
    except KeyboardInterrupt:  # a Ctrl-C before the loop was running
        pass
    finally:
        server.close()
        store_server.close()


def _say_what_web_apps_lack() -> None:
    """A web app missing files (npm ci not run) is named once at start, with what to run (server/web/files.py)."""
    from server.web import files as webfiles

    message = webfiles.report()
    if message:
        click.echo(f"blockwalk: {message}", err=True)


def _catch_up_in_background(app) -> None:
    """Bring the server's indexes up to date while it already answers (a request catches up the rest itself)."""
    import logging
    import threading

    from server import projection

    def run() -> None:
        try:
            projection.catch_up_all(app)
        except Exception:  # the store went away (shutting down) or is unreachable: requests will catch up
            logging.getLogger(__name__).warning("catching the indexes up at start failed", exc_info=True)

    threading.Thread(target=run, name="index catch-up", daemon=True).start()


@main.command()
@store_option
@_guarded
def init(store: str | None) -> None:
    """Create the store if it does not exist; print its URL."""
    config = _config(STORE=store)
    _open(config).close()
    click.echo(safe_url(settings.store_url(config)))


@main.group()
def db() -> None:
    """Databases (one per campaign)."""


@db.command("create")
@click.argument("name")
@store_option
@_guarded
def db_create(name: str, store: str | None) -> None:
    """Create database NAME."""
    server = _open(_config(STORE=store))
    try:
        server.create_db(name)
    finally:
        server.close()
    click.echo(name)


@db.command("list")
@store_option
@_guarded
def db_list(store: str | None) -> None:
    """List the databases, one a line."""
    server = _open(_config(STORE=store))
    try:
        for name in server.list_dbs():
            click.echo(name)
    finally:
        server.close()


@db.command("index")
@click.argument("name")
@store_option
@_guarded
def db_index(name: str, store: str | None) -> None:
    """Build the channel index of campaign NAME ahead of its first filtered pull."""
    server = _open(_config(STORE=store))
    try:
        campaign = server.open_db(name)
        build = getattr(campaign, "build_channel_index", None)
        if build is None:
            click.echo("this store keeps its channel index on every write: nothing to build", err=True)
        else:
            with click.progressbar(length=campaign.info().doc_count, label="indexing", file=sys.stderr) as bar:
                build(bar.update)
    finally:
        server.close()
    click.echo(name)


@main.group()
def user() -> None:
    """Users (stored server-side, never synced)."""


def _require_campaign(server, campaign: str) -> None:
    """A typo in a campaign's name is an error, not a role in nothing."""
    try:
        server.open_db(campaign)
    except SyncError:
        raise AccountError(f"No campaign {campaign!r} (blockwalk db create {campaign} makes one)") from None


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default=None,
              help="admin (server-wide), or a role in the campaign given with --campaign; none: no role yet.")
@click.option("--campaign", default=None, help="The campaign (database) of an organizer, coordinator or volunteer.")
@store_option
@_guarded
def user_add(name: str, role: str | None, campaign: str | None, store: str | None) -> None:
    """Add user NAME; the password is read from stdin, or prompted for on a terminal."""
    if campaign is not None and role is None:
        _fail("--campaign needs --role (organizer, coordinator or volunteer)", 2)
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    server = _open(_config(STORE=store))
    try:
        if campaign is not None:
            _require_campaign(server, campaign)
        Accounts(server).add_user(name, role, password, campaign)
    finally:
        server.close()
    click.echo(name)


@user.command("grant")
@click.argument("name")
@click.option("--campaign", required=True, help="The campaign (database).")
@click.option("--role", required=True, type=click.Choice([*CAMPAIGN_ROLES, "none"]),
              help="The user's role in the campaign; none takes it away.")
@store_option
@_guarded
def user_grant(name: str, campaign: str, role: str, store: str | None) -> None:
    """Give user NAME a role in a campaign, or take it away (--role none); print NAME and the role."""
    server = _open(_config(STORE=store))
    try:
        if role != "none":
            _require_campaign(server, campaign)
        Accounts(server).set_role(name, campaign, None if role == "none" else role)
    finally:
        server.close()
    click.echo(f"{name} {role} {campaign}")


@main.group()
def token() -> None:
    """Device tokens (shown once, stored hashed)."""


@token.command("create")
@click.argument("name")
@click.option("--label", default="", help="What the token is for, e.g. the phone's name.")
@click.option("--days", type=click.IntRange(min=1), default=30, show_default=True, help="Days until it expires.")
@store_option
@_guarded
def token_create(name: str, label: str, days: int, store: str | None) -> None:
    """Create a device token for NAME and print it, alone, on stdout."""
    server = _open(_config(STORE=store))
    try:
        secret = Accounts(server).create_token(name, label=label, expires_in=timedelta(days=days))
    finally:
        server.close()
    click.echo(secret)


@main.group()
def form() -> None:
    """Forms of a campaign: import XLSForms, publish drafts, install the built-in templates."""


def _campaign(store: str | None, db_name: str):
    """The store server, the campaign's database and the write path (as the server) from the settings."""
    from server.documents.write import server_writes

    config = _config(STORE=store)
    server = _open(config)
    return server, server.open_db(db_name), server_writes(config)


@form.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--db", "db_name", required=True, help="The campaign database.")
@click.option("--form-id", default=None, help="The form's id (default: the XLSForm's settings, else the file name).")
@click.option("--publish", "publish_it", is_flag=True, help="Publish it as the next version at once.")
@store_option
@_guarded
def form_import(path: str, db_name: str, form_id: str | None, publish_it: bool, store: str | None) -> None:
    """Import an XLSForm (.xlsx) as the draft of a form; print its id."""
    from forms.xlsform import import_xlsform
    from server.campaigns import forms as form_admin

    defn = import_xlsform(path, form_id=form_id)
    server, campaign, through = _campaign(store, db_name)
    try:
        form_admin.save_draft(campaign, defn, replace=True, through=through)
        if publish_it:
            click.echo(form_admin.publish_draft(campaign, defn["form_id"], through=through)["_id"])
        else:
            click.echo(f"form:{defn['form_id']}")
    finally:
        server.close()


@form.command("publish")
@click.argument("form_id")
@click.option("--db", "db_name", required=True, help="The campaign database.")
@store_option
@_guarded
def form_publish(form_id: str, db_name: str, store: str | None) -> None:
    """Publish the draft of FORM_ID as its next version; print the version's id."""
    from server.campaigns import forms as form_admin

    server, campaign, through = _campaign(store, db_name)
    try:
        click.echo(form_admin.publish_draft(campaign, form_id, through=through)["_id"])
    finally:
        server.close()


@form.command("templates")
@click.option("--db", "db_name", required=True, help="The campaign database.")
@store_option
@_guarded
def form_templates(db_name: str, store: str | None) -> None:
    """Install and publish the built-in forms of the four drives; print their ids."""
    from forms.templates import DRIVES
    from server.campaigns import forms as form_admin

    server, campaign, through = _campaign(store, db_name)
    try:
        for drive in DRIVES:
            click.echo(form_admin.install_template(campaign, drive, through=through)["_id"])
    finally:
        server.close()


REPLICATION_BACKUP = "the CouchDB store is backed up by replicating its databases (see docs/reliability.md)"


def _sqlite_path(config: dict) -> str:
    url = settings.store_url(config)
    if not url.startswith("sqlite://"):
        _fail(f"backup and restore copy a SQLite store; {REPLICATION_BACKUP}", 1)
    return url[len("sqlite://"):]


@main.command()
@click.argument("dest", type=click.Path(dir_okay=False, writable=True))
@store_option
@_guarded
def backup(dest: str, store: str | None) -> None:
    """Copy the SQLite store, every database of it, to DEST while the server runs."""
    from sync.sqlite import SQLiteServer

    config = _config(STORE=store)
    _sqlite_path(config)
    server = _open(config)
    try:
        assert isinstance(server, SQLiteServer)
        server.backup(dest)
        count = len(server.list_dbs())
    finally:
        server.close()
    click.echo(f"Backed up {count} campaign database{'s' if count != 1 else ''} to {dest}", err=True)
    click.echo(dest)


@main.command()
@click.argument("backup_file", metavar="BACKUP", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Replace an existing store without asking.")
@store_option
@_guarded
def restore(backup_file: str, yes: bool, store: str | None) -> None:
    """Replace the SQLite store by BACKUP (stop the server first)."""
    from pathlib import Path

    from sync.sqlite import SQLiteServer

    config = _config(STORE=store)
    path = _sqlite_path(config)
    if Path(path).exists() and not yes:
        if not sys.stdin.isatty():
            _fail(f"{path} exists: pass --yes to replace it by the backup", 1)
        click.confirm(f"Replace {path} by {backup_file}?", abort=True, err=True)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    SQLiteServer.restore(backup_file, path)
    click.echo(f"Restored {backup_file} into {path}; devices compare everything on their next sync", err=True)
    click.echo(safe_url(settings.store_url(config)))


@main.command()
@click.option("--name", default="demo", show_default=True, help="Database of the demo campaign.")
@click.option("--basemap", "basemap_path", type=click.Path(dir_okay=False),
              help="Also draw the demo area's base map into this PMTiles file (unless it is there already); "
                   "serve it with BLOCKWALK_BASEMAP.")
@store_option
@_guarded
def demo(name: str, basemap_path: str | None, store: str | None) -> None:
    """Load a realistic demo campaign (asset mapping, recruitment, a meeting); --basemap: its base map too."""
    import secrets
    from pathlib import Path

    from server.cli.demo import demo_documents, load_demo, people
    from server.documents.write import server_writes

    config = _config(STORE=store)
    server = _open(config)
    try:
        count = load_demo(server, name, server_writes(config))
        accounts = Accounts(server)
        for person, role in people():
            if accounts.get_user(person) is not None:
                accounts.set_role(person, name, role)
                click.echo(f"Demo {role} {person!r} exists already (password as printed when it was made); "
                           f"now {role} in {name!r} too.", err=True)
                continue
            password = secrets.token_urlsafe(9)
            accounts.add_user(person, role, password, name)
            click.echo(f"Demo {role}: {person} / {password}", err=True)
    finally:
        server.close()
    if count:
        click.echo(f"Loaded the demo campaign into {name!r}: {count} documents.", err=True)
    else:
        click.echo(f"The demo campaign is already in {name!r}.", err=True)
    # The demo's streets with no internet: a base map drawn from its own streets and households.
    if basemap_path:
        path = Path(basemap_path)
        if not path.exists():
            from server.basemap.demo import write_demo_basemap

            path.parent.mkdir(parents=True, exist_ok=True)
            size = write_demo_basemap(str(path), demo_documents(name))
            click.echo(f"Drew the demo area's base map: {path} ({size / 1e6:.1f} MB).", err=True)
        if str(config["BASEMAP"]) != str(path):
            click.echo(f"Serve it with BLOCKWALK_BASEMAP={path}", err=True)
    elif not config["BASEMAP"]:
        click.echo("No base map: `blockwalk demo --basemap demo.pmtiles` draws the demo area's, "
                   "served with BLOCKWALK_BASEMAP=demo.pmtiles (scripts/demo does both).", err=True)
    click.echo(name)


@main.group()
def export() -> None:
    """Exports of a campaign, streamed to a file or stdout, with a progress bar on stderr."""


def _messages(messages, key: str = ""):
    """(option, message) pairs of marshmallow's nested messages."""
    if isinstance(messages, dict):
        for inner_key, inner in messages.items():
            yield from _messages(inner, key if isinstance(inner_key, int) else str(inner_key))
    elif isinstance(messages, list):
        for inner in messages:
            yield from _messages(inner, key)
    else:
        yield key, str(messages)


def _counted(rows, bar):
    for row in rows:
        bar.update(1)
        yield row


@export.command("assets")
@click.option("--db", "db_name", required=True, help="The campaign database.")
@click.option("--format", "fmt", type=click.Choice(["csv", "geojson"]), default="csv", show_default=True,
              help="CSV (latitude and longitude columns) or GeoJSON.")
@click.option("--output", "-o", default="-", show_default=True, metavar="FILE", help="Where to write it; - is stdout.")
@click.option("--kind", type=click.Choice(["asset", "visit"]), default="asset", show_default=True,
              help="The assets mapped, or the records' own geotags.")
@click.option("--bbox", default=None, metavar="MIN_LON,MIN_LAT,MAX_LON,MAX_LAT", help="Only inside this box (degrees).")
@click.option("--category", multiple=True, help="Asset category (repeat for any of several).")
@click.option("--drive", multiple=True, help="Drive (repeat for any of several).")
@click.option("--form", "form_id", multiple=True, help="Form, ID or form:ID (repeat for any of several).")
@click.option("--canvasser", multiple=True, help="Canvasser, the records' author (repeat for any of several).")
@click.option("--since", default=None, metavar="DATE", help="Captured at or after (ISO date or date-time; UTC if no zone).")
@click.option("--until", default=None, metavar="DATE", help="Captured before (ISO date or date-time).")
@click.option("--flag", multiple=True, help="Only with this geotag flag (repeat for any of several): "
                                            "low_accuracy, outside_turf, far_from_household, impossible_speed, manual.")
@click.option("--flagged/--unflagged", default=None, help="Only flagged, or only unflagged, points.")
@click.option("--limit", type=int, default=None, help="At most this many.")
@store_option
@_guarded
def export_assets(db_name: str, fmt: str, output: str, store: str | None, **filters) -> None:
    """Export a campaign's assets (or visits) with their geotag flags; the same filters as the map."""
    from contextlib import closing

    from marshmallow import ValidationError

    from schemas.assets import AssetExportArgs
    from server import exports, projection
    from server.geo import asset_index

    raw = {"format": fmt, "kind": filters["kind"], "bbox": filters["bbox"], "since": filters["since"],
           "until": filters["until"], "flagged": filters["flagged"], "limit": filters["limit"],
           "category": list(filters["category"]) or None, "drive": list(filters["drive"]) or None,
           "form": list(filters["form_id"]) or None, "canvasser": list(filters["canvasser"]) or None,
           "flag": list(filters["flag"]) or None}
    try:
        args = AssetExportArgs().load({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        _fail("bad filter: " + "; ".join(f"--{key}: {message}" for key, message in _messages(exc.messages)), 2)
    config = _config(STORE=store)
    server, campaign, _ = _campaign(store, db_name)
    index = projection.open_index(config, campaign, db_name, asset_index.KIND)
    try:
        with click.progressbar(length=max(1, campaign.info().doc_count), label="Indexing", file=sys.stderr) as bar:
            index.catch_up(bar.update)
        with closing(index.read()) as conn:
            total = asset_index.count(conn, args)
            rows = asset_index.select(conn, args, asset_index.CSV_SELECTED if fmt == "csv" else asset_index.SELECTED)
            out = click.get_binary_stream("stdout") if output == "-" else open(output, "wb")  # noqa: SIM115
            try:
                with click.progressbar(length=total, label=f"Exporting {total} {args['kind']}s", file=sys.stderr) as bar:
                    counted = _counted(rows, bar)
                    if fmt == "geojson":
                        chunks = exports.geojson_stream(asset_index.features(counted, full=True))
                    else:
                        chunks = exports.csv_text_stream(asset_index.CSV_HEADER, asset_index.csv_lines(counted))
                    for chunk in chunks:
                        out.write(chunk)
            finally:
                if out is not click.get_binary_stream("stdout"):
                    out.close()
                else:
                    out.flush()
    finally:
        index.close()
        server.close()
    click.echo(f"Exported {total} {args['kind']}s of {db_name!r}"
               + ("" if output == "-" else f" to {output}") + ".", err=True)


def _export_commands() -> None:
    """``export roster`` and ``export meetings`` (``server/cli/exports.py``), with the same error handling."""
    from server.cli.exports import meetings_command, roster_command

    for command in (roster_command, meetings_command):
        command.callback = _guarded(command.callback)
        export.add_command(command)


_export_commands()


def _doctor_command() -> None:
    """``blockwalk doctor`` (``server/cli/doctor.py``), with the same ``--store`` and error handling."""
    from server.cli.doctor import command

    command.callback = _guarded(command.callback)
    main.add_command(store_option(command))


_doctor_command()
