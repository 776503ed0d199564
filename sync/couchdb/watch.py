"""One watcher a campaign database a process: CouchDB's changes feed wakes this process's live feeds.

With several Blockwalk processes in front of one CouchDB, a phone's longpoll
waits in one process while its teammate's push may land in another.  Each
process therefore follows the changes feed of each campaign its phones wait
on, with one longpoll request to CouchDB at a time (never one a phone), and
tells its listeners the channels of each changed document's winning
revision (``include_docs``; a deletion names no channels, so every waiter of
the campaign reads again).  A watcher nobody asked for in ``IDLE`` seconds
stops; the next waiting phone starts it again from the database's
``update_seq``, read before that phone's first read, so no change falls
between the two.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from typing import Callable

log = logging.getLogger(__name__)

WAIT_SECONDS = 50  # one CouchDB longpoll at most this long
IDLE = 600.0
BATCH = 500


class ChangeWatcher:
    def __init__(self, server, couch: str, name: str, notify: Callable[[str, set[str] | None], None], router,
                 since: object = "now"):
        self.server = server
        self.since = since
        self.couch = couch
        self.name = name
        self.notify = notify
        self.router = router
        self.asked_at = time.monotonic()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"couchdb-change-watcher:{name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        since = self.since
        failures = 0
        try:
            while not self.stopped.is_set() and time.monotonic() - self.asked_at < IDLE:
                params = {"feed": "longpoll", "since": str(since), "timeout": str(WAIT_SECONDS * 1000),
                          "include_docs": "true", "limit": str(BATCH), "style": "main_only"}
                try:
                    response = self.server.http.request("GET", f"/{self.couch}/_changes", params=params,
                                                        timeout=WAIT_SECONDS + 10)
                except TimeoutError:
                    continue  # pouchdb-server ignores the timeout parameter: ours ended the wait
                except (OSError, http.client.HTTPException):
                    failures += 1
                    self.stopped.wait(min(5.0, 0.2 * 2 ** failures))
                    continue
                if response.status_code == 404:
                    return
                if response.status_code != 200:
                    failures += 1
                    self.stopped.wait(min(5.0, 0.2 * 2 ** failures))
                    continue
                failures = 0
                body = response.json()
                rows = body.get("results") or []
                if rows:
                    self.notify(self.name, self._channels(rows))
                since = body.get("last_seq", since)
        finally:
            self.server.unwatch(self.couch, self)

    def _channels(self, rows: list[dict]) -> set[str] | None:
        if self.router is None:
            return None
        touched: set[str] = set()
        for row in rows:
            doc = row.get("doc")
            if row.get("deleted") or not isinstance(doc, dict) or doc.get("_deleted"):
                return None  # a deletion keeps the channels the document had, unknown here
            if str(row.get("id", "")).startswith("_design/"):
                continue
            touched.update(self.router(doc))
        return touched
