"""Configuration from ``BLOCKWALK_*`` environment variables.

Every setting is declared once in ``SETTINGS`` with its type, default and
help; ``docs/configuration.md`` lists them and a test keeps the two in step.
A ``BLOCKWALK_`` variable that is not declared stops the server at start: a
misspelt setting that is silently ignored is a bug.  ``BLOCKWALK_TEST_*``
variables belong to the test suite and are left alone.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping
from urllib.parse import urlsplit

PREFIX = "BLOCKWALK_"
TEST_PREFIX = "BLOCKWALK_TEST_"


class ConfigError(ValueError):
    """A setting that is unknown or has a bad value."""


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError("must be 0 or more")
    return number


def _port(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError("must be a port number (0 picks a free one)")
    return number


def _origins(value: str) -> tuple[str, ...]:
    return tuple(_origin(o.strip()) for o in value.split(",") if o.strip())


def _origin(value: str) -> str:
    """An origin as browsers send it: lowercase scheme and host, no default port, no path."""
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port == -1 or parts.path not in ("", "/") \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"{value!r} is not an origin like https://app.example.org (credentials rule out *)")
    scheme = parts.scheme.lower()
    default = {"http": 80, "https": 443}[scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{scheme}://{host}" + ("" if port in (None, default) else f":{port}")


def _tile_url(value: str) -> str:
    if value and not (value.startswith(("https://", "http://")) and all(k in value for k in ("{z}", "{x}", "{y}"))):
        raise ValueError("must be an http(s) URL template with {z}, {x} and {y}")
    return value


def _metres(value: str) -> float:
    number = float(value)
    if not (number >= 0 and number < 1e7):
        raise ValueError("must be a number of metres, 0 or more")
    return number


def _speed(value: str) -> float:
    number = float(value)
    if not (number > 0 and number < 1e5):
        raise ValueError("must be a speed in km/h above 0")
    return number


def _region(value: str) -> str:
    import phonenumbers

    value = value.strip().upper()
    if value not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError("must be a two-letter region code phone numbers use, such as US, GB, MX or PL")
    return value


def _synchronous(value: str) -> str:
    value = value.upper()
    if value not in ("NORMAL", "FULL", "EXTRA"):
        raise ValueError("must be NORMAL, FULL or EXTRA")
    return value


def default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "blockwalk")


@dataclass(frozen=True)
class Setting:
    name: str  # without the prefix
    parse: Callable[[str], object]
    default: Callable[[], object]
    help: str


SETTINGS: dict[str, Setting] = {
    s.name: s
    for s in [
        Setting("DATA_DIR", str, default_data_dir, "Folder of the default SQLite store (default: $XDG_DATA_HOME/blockwalk or ~/.local/share/blockwalk)."),
        Setting("STORE", str, lambda: None, "The store: sqlite:///absolute/path.db or sqlite://relative/path.db (default: blockwalk.db in DATA_DIR)."),
        Setting("MAX_DOCUMENT_BYTES", _positive_int, lambda: 1_000_000, "Largest JSON body of one document, attachments' data not counted."),
        Setting("REVS_LIMIT", _positive_int, lambda: 1000, "Revisions kept on each path of a document's history (CouchDB's revs_limit)."),
        Setting("SQLITE_SYNCHRONOUS", _synchronous, lambda: "FULL", "SQLite synchronous mode: FULL (default) syncs every batch to disk before answering."),
        Setting("HOST", str, lambda: "127.0.0.1", "Address `blockwalk serve` listens on."),
        Setting("PORT", _port, lambda: 8000, "Port `blockwalk serve` listens on."),
        Setting("THREADS", _positive_int, lambda: 64, "Worker threads running Flask; a live (longpoll) replication holds none while it waits (docs/scale-out.md)."),
        Setting("MAX_REQUEST_BYTES", _positive_int, lambda: 128 * 1024 * 1024, "Largest request body (a _bulk_docs batch with its attachments inline)."),
        Setting("MAX_ATTACHMENT_BYTES", _positive_int, lambda: 20 * 1024 * 1024, "Largest attachment (decoded bytes), e.g. a photo of a door hanger."),
        Setting("CHANNEL_TIMEOUT", _positive_int, lambda: 60, "Seconds a connection may stay idle (a half-sent request included) before the server closes it."),
        Setting("CONNECTION_LIMIT", _positive_int, lambda: 10_000, "Most connections the server holds open at once (each live phone holds one), capped below the open-file limit; more wait in the listen backlog."),
        Setting("TRUSTED_PROXIES", _count, lambda: 0, "Reverse proxies (load balancers) in front of the server whose X-Forwarded-For and X-Forwarded-Proto headers are believed; 0 (default): none, the peer's address is the client's."),
        Setting("LONGPOLL_SECONDS", _positive_int, lambda: 60, "Longest a longpoll _changes request is held open."),
        Setting("BASEMAP", str, lambda: "", "Base-map archive the server serves at /tiles/ to every map, offline too: a raster PMTiles (v3) or MBTiles file of the campaign's area (docs/basemap.md); empty (default): none. Wins over TILE_URL."),
        Setting("TILE_URL", _tile_url, lambda: "", "Base-map tile URL template (https://host/{z}/{x}/{y}.png) for the maps of the app and the coordinator pages; empty (default): vector turfs and points only, no base map."),
        Setting("TILE_ATTRIBUTION", str, lambda: "", "Attribution shown under the base map, as the tile provider requires."),
        Setting("INDEX_DIR", str, lambda: "", "Folder of the server's rebuildable indexes (asset map, roster); default: beside the SQLite store (<store>.index), or DATA_DIR/index/<store> for CouchDB."),
        Setting("GEOTAG_TURF_TOLERANCE_M", _metres, lambda: 25.0, "A geotag this far outside its assigned turf (metres) is still inside it; further out it is flagged outside_turf."),
        Setting("GEOTAG_HOUSEHOLD_MAX_M", _metres, lambda: 100.0, "A geotag further than this from its household's location (metres) is flagged far_from_household."),
        Setting("GEOTAG_MAX_SPEED_KMH", _speed, lambda: 15.0, "Between a canvasser's consecutive records, a faster speed than this (km/h, beyond the fixes' accuracy) is flagged impossible_speed."),
        Setting("PHONE_REGION", _region, lambda: "US", "Region a phone number typed without a country code is read in, for the roster's E.164 numbers, unless the campaign document sets phone_region."),
        Setting("CORS_ORIGINS", _origins, lambda: (), "Comma-separated origins (scheme://host[:port]) whose pages may call the server with credentials, e.g. the canvasser app's."),
    ]
}


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, object] | None = None) -> dict:
    """Settings from the environment (and explicit overrides), every key known."""
    environ = os.environ if environ is None else environ
    unknown = sorted(
        key for key in environ if key.startswith(PREFIX) and not key.startswith(TEST_PREFIX) and key[len(PREFIX):] not in SETTINGS
    )
    if unknown:
        raise ConfigError(
            f"Unknown setting{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"known: {', '.join(PREFIX + k for k in SETTINGS)}"
        )
    config: dict = {}
    for name, setting in SETTINGS.items():
        raw = environ.get(PREFIX + name)
        if raw is None:
            config[name] = setting.default()
            continue
        try:
            config[name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{PREFIX}{name}={raw!r}: {exc}") from None
    for name, value in (overrides or {}).items():
        if name not in SETTINGS:
            raise ConfigError(f"Unknown setting {name}; known: {', '.join(SETTINGS)}")
        if value is not None:
            config[name] = value
    return config


def store_url(config: Mapping[str, object]) -> str:
    url = config.get("STORE")
    if url:
        return str(url)
    return "sqlite://" + str(Path(str(config["DATA_DIR"])) / "blockwalk.db")
