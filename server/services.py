"""The app's services, built in one place and found by type.

``create_app`` builds one :class:`Services` for each app (:func:`build`) and
keeps it in ``app.extensions``; everything else asks :func:`services` for it,
inside a request or with the app in hand.  Nothing else is kept in
``app.extensions`` by Blockwalk (flask-smorest keeps its own).

* ``store``: the store server of every campaign (``server.stores``);
* ``accounts``: users, passwords, device tokens (``access.accounts``);
* ``writes``: the one write path every write takes (``documents.write``);
* ``export_log`` and ``device_reports``: kept in the store's system databases,
  opened when first used (a store that is not reachable at start does not
  stop the server);
* ``projections``: the read models opened by this process (``server.projection``);
* ``basemap``: the base map archive, if ``BLOCKWALK_BASEMAP`` names one.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from sync.store import StoreServer

if TYPE_CHECKING:  # built in build(), imported there: every layer may ask for its services
    from server.access.accounts import Accounts
    from server.basemap.archive import MBTilesArchive, PMTilesArchive
    from server.documents.write import Writes
    from server.people.export_log import ExportLog
    from server.reports.devices import DeviceReports

KEY = "blockwalk"


@dataclass
class Services:
    store: StoreServer
    accounts: Accounts
    writes: Writes
    basemap: PMTilesArchive | MBTilesArchive | None = None
    projections: dict[tuple[str, str], Any] = field(default_factory=dict)
    projections_lock: threading.Lock = field(default_factory=threading.Lock)
    incomplete_apps: dict[str, str | None] = field(default_factory=dict)  # blueprint -> what is missing (web.files)
    _export_log: ExportLog | None = None
    _device_reports: DeviceReports | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def export_log(self) -> ExportLog:
        from server.people.export_log import ExportLog

        with self._lock:
            if self._export_log is None:
                self._export_log = ExportLog(self.store)
            return self._export_log

    @property
    def device_reports(self) -> DeviceReports:
        from server.reports.devices import DeviceReports

        with self._lock:
            if self._device_reports is None:
                self._device_reports = DeviceReports(self.store)
            return self._device_reports


def build(app: Flask) -> Services:
    """The services of ``app`` from its settings (``app.config``); kept on the app."""
    from server import config as settings
    from server.access.accounts import Accounts
    from server.documents.write import Writes
    from server.stores import open_store

    basemap = None
    if app.config["BASEMAP"]:
        from server.basemap.archive import ArchiveError, open_archive

        try:
            basemap = open_archive(str(app.config["BASEMAP"]))
        except ArchiveError as exc:
            raise settings.ConfigError(f"{settings.PREFIX}BASEMAP: {exc}") from None
    store = open_store(settings.store_url(app.config), app.config)
    found = Services(
        store=store,
        accounts=Accounts(store),
        writes=Writes(app.config["MAX_ATTACHMENT_BYTES"], str(app.config["PHONE_REGION"])),
        basemap=basemap,
    )
    app.extensions[KEY] = found
    return found


def services(app: Flask | None = None) -> Services:
    """The services of ``app`` (default: the app handling this request)."""
    return (app if app is not None else current_app).extensions[KEY]


def store_of() -> StoreServer:
    """The store server of the app handling this request."""
    return services().store
