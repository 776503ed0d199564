"""The app's services, found by type.

``create_app`` builds one :class:`Services` for each app (``server.app``,
the one place that builds them) and keeps it in ``app.extensions``;
everything else asks :func:`services` for it, inside a request or with the
app in hand.  This module imports no other part of the server (the types it
names are for type checkers): every layer may ask for its services.  Nothing else is kept in
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
from typing import TYPE_CHECKING, Any, Callable

from flask import Flask, current_app

if TYPE_CHECKING:
    from server.access.accounts import Accounts
    from server.basemap.archive import MBTilesArchive, PMTilesArchive
    from server.documents.write import Writes
    from server.people.export_log import ExportLog
    from server.reports.devices import DeviceReports
    from sync.store import StoreServer

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
    open_export_log: Callable[[], ExportLog] | None = None
    open_device_reports: Callable[[], DeviceReports] | None = None
    _opened: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def export_log(self) -> ExportLog:
        return self._once("export_log", self.open_export_log)

    @property
    def device_reports(self) -> DeviceReports:
        return self._once("device_reports", self.open_device_reports)

    def _once(self, name: str, open_: Callable[[], Any] | None) -> Any:
        with self._lock:
            if name not in self._opened:
                assert open_ is not None, f"no {name} in these services"
                self._opened[name] = open_()
            return self._opened[name]


def services(app: Flask | None = None) -> Services:
    """The services of ``app`` (default: the app handling this request)."""
    return (app if app is not None else current_app).extensions[KEY]


def store_of() -> StoreServer:
    """The store server of the app handling this request."""
    return services().store
