"""``blockwalk doctor``: what an operator gets wrong, found before the phones do.

Each check returns :class:`Finding` values: ``ok``, ``warn`` (works, but not
as the operator likely meant) or ``fail`` (something will break), each with
what was found and what to change.  The judging functions are pure (they
take numbers and settings, not the machine), so tests give them any
machine; :func:`examine` gathers the facts of this one and calls them.

Checks: the settings load and do not contradict each other; the web apps'
files are all there; the store is reachable and writable; the disks of the
store, the indexes and the temporary folder (where request bodies are
spooled) have room; the open-file limit fits the expected live phones; the
clock agrees with the CouchDB store's and the public URL's, or is kept by
NTP; behind a reverse proxy (``--url``), the public URL reaches this server
over HTTPS, passes the headers the app needs, and the server is told how
many proxies to trust.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urlsplit

import click

from server import config as settings
from server.web import files as webfiles

MiB = 1024 * 1024
GiB = 1024 * MiB
DISK_WARN = 2 * GiB  # below this the store has weeks, not months, of a busy campaign's photos
FD_MARGIN = 64  # the process's own files: logs, libraries, the index files of a few campaigns
FD_PER_THREAD = 3  # a worker thread's SQLite connection: the file, its WAL, its shared memory
CLOCK_WARN = 5.0  # seconds
CLOCK_FAIL = 120.0


@dataclass(frozen=True)
class Finding:
    level: str  # "ok" | "warn" | "fail"
    check: str  # what was checked: settings, web apps, store, disk, files, clock, proxy
    message: str  # what was found, and what to change

    def line(self) -> str:
        return f"{self.level:<5} {self.check:<9} {self.message}"


def ok(check: str, message: str) -> Finding:
    return Finding("ok", check, message)


def warn(check: str, message: str) -> Finding:
    return Finding("warn", check, message)


def fail(check: str, message: str) -> Finding:
    return Finding("fail", check, message)


# -- pure judgements ---------------------------------------------------------------------------------------------


def judge_settings(config: Mapping[str, object], environ: Mapping[str, str], public_url: str | None = None) -> list[Finding]:
    """Settings that contradict each other, or the deployment ``public_url`` describes."""
    found: list[Finding] = []
    request, document = int(config["MAX_REQUEST_BYTES"]), int(config["MAX_DOCUMENT_BYTES"])
    attachment = int(config["MAX_ATTACHMENT_BYTES"])
    if document > request:
        found.append(fail("settings", f"BLOCKWALK_MAX_DOCUMENT_BYTES ({document}) is larger than BLOCKWALK_MAX_REQUEST_BYTES "
                                      f"({request}): a document that large can never arrive; lower the first or raise the second"))
    if attachment * 4 // 3 > request:  # base64 inside a JSON body
        found.append(fail("settings", f"an attachment of BLOCKWALK_MAX_ATTACHMENT_BYTES ({attachment}) is {attachment * 4 // 3} "
                                      f"bytes of base64, more than BLOCKWALK_MAX_REQUEST_BYTES ({request}) lets in: "
                                      f"raise BLOCKWALK_MAX_REQUEST_BYTES to at least {attachment * 4 // 3 + MiB}"))
    threads, connections = int(config["THREADS"]), int(config["CONNECTION_LIMIT"])
    if threads > connections:
        found.append(warn("settings", f"BLOCKWALK_THREADS ({threads}) is more than BLOCKWALK_CONNECTION_LIMIT ({connections}): "
                                      "the threads past the connection limit never work; lower BLOCKWALK_THREADS"))
    url = settings.store_url(config)
    if not url.startswith("sqlite://") and "BLOCKWALK_SQLITE_SYNCHRONOUS" in environ:
        found.append(warn("settings", "BLOCKWALK_SQLITE_SYNCHRONOUS is set but the store is CouchDB, where it does nothing: "
                                      "unset it (CouchDB's own durability settings apply)"))
    trusted, host = int(config["TRUSTED_PROXIES"]), str(config["HOST"])
    if trusted and not _loopback(host):
        found.append(warn("settings", f"BLOCKWALK_TRUSTED_PROXIES={trusted} while the server listens on {host}: a client that "
                                      "reaches it past the proxy can choose its own address in X-Forwarded-For (and so its "
                                      "sign-in limit); listen on 127.0.0.1 (BLOCKWALK_HOST) or firewall the port"))
    if public_url and urlsplit(public_url).scheme == "https" and str(config["TILE_URL"]).startswith("http://"):
        found.append(warn("settings", "BLOCKWALK_TILE_URL is http:// but the pages are served over https: browsers block "
                                      "the tiles (mixed content); use the provider's https:// URL"))
    return found or [ok("settings", "no settings contradict each other")]


def judge_open_files(config: Mapping[str, object], phones: int, soft: int, hard: int) -> list[Finding]:
    """The open-file limit against ``phones`` live phones, each holding a connection."""
    connections = int(config["CONNECTION_LIMIT"])
    threads = int(config["THREADS"])
    live = min(phones, connections)
    need = live + threads * FD_PER_THREAD + FD_MARGIN
    found: list[Finding] = []
    if phones > connections:
        found.append(fail("files", f"{phones} live phones, but BLOCKWALK_CONNECTION_LIMIT is {connections}: the phones past it "
                                   f"wait and time out; set BLOCKWALK_CONNECTION_LIMIT={phones + 50} (room for coordinators)"))
    if soft < need:
        raise_to = need if hard >= need or hard < 0 else hard
        where = ("LimitNOFILE=" + str(raise_to) + " in the systemd unit, or ulimit -n " + str(raise_to)
                 + " before starting the server")
        beyond = "" if hard < 0 or hard >= need else f" (the hard limit {hard} is lower too: raise it as root)"
        found.append(fail("files", f"the open-file limit is {soft}, but {live} live phones with {threads} threads need about "
                                   f"{need}: connections past it are refused; set {where}{beyond}"))
    else:
        found.append(ok("files", f"open-file limit {soft}, enough for {live} live phones ({need} needed)"))
    return found


def judge_disk(label: str, path: Path, free: int, need: int) -> Finding:
    if free < need:
        return fail("disk", f"{label} ({path}) has {free // MiB} MiB free, less than the {need // MiB} MiB needed: "
                            "free space or move it to a larger disk")
    if free < DISK_WARN:
        return warn("disk", f"{label} ({path}) has {free // MiB} MiB free: a campaign's photos fill that in days; "
                            "give it more room")
    return ok("disk", f"{label} ({path}): {free // GiB} GiB free")


def judge_clock(offsets: Mapping[str, float], synchronized: bool | None) -> Finding:
    """``offsets``: this machine's clock minus each reference's, in seconds; ``synchronized``: NTP's word, if known."""
    for source, offset in offsets.items():
        if abs(offset) > CLOCK_FAIL:
            return fail("clock", f"this machine's clock is {offset:+.0f} s off {source}: device tokens, one-time codes and "
                                 "the sync log's times are wrong; turn on NTP (timedatectl set-ntp true)")
    for source, offset in offsets.items():
        if abs(offset) > CLOCK_WARN:
            return warn("clock", f"this machine's clock is {offset:+.1f} s off {source}; turn on NTP (timedatectl set-ntp true)")
    if synchronized is False:
        return warn("clock", "the clock is not synchronised by NTP: it drifts, and token expiry and record times with it; "
                             "run timedatectl set-ntp true")
    compared = ", ".join(offsets) or ("NTP" if synchronized else "")
    return ok("clock", f"agrees with {compared}" if compared else "no reference to compare with (NTP status unknown)")


def judge_proxy(config: Mapping[str, object], public_url: str, health: int | None, headers: Mapping[str, str],
                error: str | None = None) -> list[Finding]:
    """What ``public_url`` answered for ``/healthz`` (status) and ``/app/sw.js`` (headers)."""
    parts = urlsplit(public_url)
    direct = _loopback(parts.hostname or "") and parts.port == int(config["PORT"])
    found: list[Finding] = []
    if error is not None or health is None:
        return [fail("proxy", f"{public_url} does not answer ({error}): check the proxy is running and forwards to "
                              f"http://{config['HOST']}:{config['PORT']}")]
    if health != 200:
        found.append(fail("proxy", f"{public_url}/healthz answers {health}, not Blockwalk's 200: the proxy forwards "
                                   f"somewhere else; point it at http://{config['HOST']}:{config['PORT']}"))
    if parts.scheme != "https" and not _loopback(parts.hostname or ""):
        found.append(fail("proxy", f"{public_url} is plain http: phones run the canvasser app offline (service worker) and "
                                   "read their position only over https; serve it through a TLS proxy (docs/deployment.md)"))
    if not direct and int(config["TRUSTED_PROXIES"]) == 0:
        found.append(warn("proxy", "the server is reached through a proxy but BLOCKWALK_TRUSTED_PROXIES is 0: every phone "
                                   "shares the proxy's address and its sign-in limit; set BLOCKWALK_TRUSTED_PROXIES=1 "
                                   "(one per proxy in the chain)"))
    lowered = {k.lower(): v for k, v in headers.items()}
    if headers and "service-worker-allowed" not in lowered:
        found.append(fail("proxy", "the proxy drops the Service-Worker-Allowed header of /app/sw.js, so the app cannot "
                                   "work offline; pass the upstream's headers through"))
    if "cache-control" in lowered and "no-cache" not in lowered["cache-control"]:
        found.append(warn("proxy", f"the proxy changes Cache-Control of /app/sw.js to {lowered['cache-control']!r}: phones "
                                   "may keep an old app; let the upstream's Cache-Control through"))
    found.append(warn("proxy", f"not measured: the proxy must hold a request at least BLOCKWALK_LONGPOLL_SECONDS "
                               f"({config['LONGPOLL_SECONDS']} s) plus a margin (proxy_read_timeout 90s for the default) "
                               "or live sync breaks off; see docs/deployment.md"))
    return found


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# -- gathering this machine's facts ---------------------------------------------------------------------------


def check_web_apps() -> Finding:
    message = webfiles.report()
    if message:
        return fail("web apps", message)
    return ok("web apps", "the canvasser app and the coordinator pages have all their files")


def check_store(config: Mapping[str, object]) -> tuple[list[Finding], Callable[[], float] | None]:
    """Reachable, readable, writable; and the CouchDB server's clock (a function giving the offset), if any."""
    from server.stores import open_store, safe_url

    url = settings.store_url(config)
    shown = safe_url(url)
    if url.startswith("sqlite://"):
        path = Path(url[len("sqlite://"):])
        folder = path.parent if str(path.parent) else Path(".")
        if not path.exists():
            if folder.is_dir() and os.access(folder, os.W_OK):
                return [warn("store", f"no store at {path} yet; blockwalk init creates it (its folder is writable)")], None
            return [fail("store", f"no store at {path}, and its folder {folder} is missing or not writable: create the "
                                  "folder for the server's user, or set BLOCKWALK_STORE / BLOCKWALK_DATA_DIR")], None
        if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
            return [fail("store", f"{path} or its folder is not writable by this user (SQLite writes its journal beside "
                                  "the file): run the server as the store's owner, or chown both")], None
    try:
        server = open_store(url, config)
    except Exception as exc:  # noqa: BLE001 - anything that stops it opening is the finding
        return [fail("store", f"cannot open {shown}: {_reason(exc)}; check BLOCKWALK_STORE (host, port, credentials)")], None
    try:
        count = len(server.list_dbs())
        probe = server.system_db("accounts")
        written = probe.put_local({"_id": "_local/blockwalk-doctor", "at": time.time()})
        probe.delete_local("_local/blockwalk-doctor", written.get("rev"))
        clock = _couch_clock(url)
        return [ok("store", f"{shown}: reachable and writable, {count} campaign database{'s' if count != 1 else ''}")], clock
    except Exception as exc:  # noqa: BLE001
        return [fail("store", f"{shown} opened but a read or a write failed: {_reason(exc)}; check the user's rights "
                              "on it (CouchDB: an admin of the server; SQLite: the file's owner)")], None
    finally:
        server.close()


def _couch_clock(url: str) -> Callable[[], float] | None:
    """This machine's clock minus the CouchDB server's (its Date header), for a CouchDB store's URL."""
    if not url.startswith("couchdb+"):
        return None
    import httpx

    parts = urlsplit(url[len("couchdb+"):])
    auth = (parts.username or "", parts.password or "") if parts.username else None
    try:
        date = httpx.get(f"{parts.scheme}://{parts.hostname}:{parts.port or 5984}/", auth=auth, timeout=10).headers.get("date")
    except httpx.HTTPError:
        return None
    offset = _offset_from_date(date)
    return None if offset is None else (lambda: offset)


def _offset_from_date(date: str | None) -> float | None:
    if not date:
        return None
    try:
        return time.time() - parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError):
        return None


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "reason", "") or exc) or type(exc).__name__


def check_disks(config: Mapping[str, object]) -> list[Finding]:
    from server.projection import index_dir

    url = settings.store_url(config)
    request = int(config["MAX_REQUEST_BYTES"])
    places: list[tuple[str, Path, int]] = []
    if url.startswith("sqlite://"):
        places.append(("the store's disk", Path(url[len("sqlite://"):]).resolve().parent, 256 * MiB))
    places.append(("the index folder's disk", index_dir(config), 64 * MiB))
    places.append(("the temporary folder", Path(tempfile.gettempdir()), request + 64 * MiB))  # a spooled body
    found = []
    for label, path, need in places:
        existing = next((p for p in [path, *path.parents] if p.exists()), Path("/"))
        found.append(judge_disk(label, path, shutil.disk_usage(existing).free, need))
    return found


def ntp_synchronized() -> bool | None:
    try:
        out = subprocess.run(["timedatectl", "show", "-p", "NTPSynchronized", "--value"], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return {"yes": True, "no": False}.get(out.stdout.strip())


def check_proxy(config: Mapping[str, object], public_url: str) -> tuple[list[Finding], float | None]:
    import httpx

    base = public_url.rstrip("/")
    try:
        with httpx.Client(timeout=10, verify=True) as client:
            health = client.get(base + "/healthz")
            sw = client.get(base + "/app/sw.js")
    except httpx.HTTPError as exc:
        return judge_proxy(config, base, None, {}, error=_reason(exc)), None
    headers = dict(sw.headers) if sw.status_code == 200 else {}
    return judge_proxy(config, base, health.status_code, headers), _offset_from_date(health.headers.get("date"))


def examine(phones: int, public_url: str | None = None, environ: Mapping[str, str] | None = None,
            overrides: Mapping[str, object] | None = None) -> list[Finding]:
    """Every check on this machine, in the order an operator fixes them."""
    import resource

    environ = os.environ if environ is None else environ
    try:
        config = settings.load(environ, overrides)
    except settings.ConfigError as exc:
        return [fail("settings", f"{exc}; fix it, then run blockwalk doctor again")]
    found = judge_settings(config, environ, public_url)
    found.append(check_web_apps())
    store_findings, couch_clock = check_store(config)
    found += store_findings
    found += check_disks(config)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    found += judge_open_files(config, phones, soft, hard)
    offsets: dict[str, float] = {}
    if couch_clock is not None:
        offsets["the CouchDB server"] = couch_clock()
    if public_url:
        proxy_findings, offset = check_proxy(config, public_url)
        found += proxy_findings
        if offset is not None:
            offsets[public_url] = offset
    found.append(judge_clock(offsets, ntp_synchronized()))
    return found


# -- the command ---------------------------------------------------------------------------------------------------


@click.command("doctor")
@click.option("--phones", type=click.IntRange(min=1), default=100, show_default=True,
              help="Phones you expect to sync live at once (each holds a connection).")
@click.option("--url", "public_url", default=None, metavar="URL",
              help="The address phones use, e.g. the reverse proxy's https://canvass.example.org: checks the proxy too.")
def command(phones: int, public_url: str | None, store: str | None) -> None:
    """Check the settings, web apps, store, disks, open-file limit, clock and proxy; say what to change."""
    findings = examine(phones, public_url, overrides={"STORE": store})
    for finding in findings:
        click.echo(finding.line())
    failed = sum(f.level == "fail" for f in findings)
    warned = sum(f.level == "warn" for f in findings)
    click.echo(f"{failed} to fix, {warned} to look at" if failed or warned else "all good", err=True)
    if failed:
        sys.exit(1)
