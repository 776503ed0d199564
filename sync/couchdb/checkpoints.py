"""Checkpoints (``_local`` documents) on the CouchDB store: read back from memory, written behind.

PouchDB reads and writes its checkpoint once per batch of 100 documents, on
the server as well as on the phone (``GET`` then ``PUT _local/<id>``).  A
checkpoint only says how far a device got: losing the last one makes the
device start from the one before, ask ``_revs_diff`` or ``_changes`` again
and be told what it already has; nothing a canvasser typed depends on it
(the SQLite store commits checkpoints without waiting for the disk for the
same reason, docs/store.md).  So this process:

* answers a read of a checkpoint it wrote in the last ``MAX_AGE`` seconds
  from its memory;
* answers a write made on the revision it last answered from its memory
  too, with the next revision, and sends CouchDB only the last of the writes
  that arrive within ``WRITE_DELAY`` (one background thread per server).  A
  pull of 1,000 documents then writes its checkpoint to CouchDB once or
  twice, not eleven times.  The first write of a checkpoint goes to CouchDB
  at once, as before; so does a write on another revision while CouchDB
  holds what this process answered (CouchDB judges it).  While CouchDB is
  behind, such a write is refused here (409), as CouchDB would refuse it
  after the writes: PouchDB's checkpointer reads the checkpoint again and
  retries.

Several processes: a device that moves to another process reads the
checkpoint CouchDB holds, at most ``WRITE_DELAY`` older than the last one it
wrote, and starts from there.  A process whose memory is out of date (another
process moved the checkpoint on) has its delayed write refused by CouchDB
(409): it forgets the checkpoint, so the device reads CouchDB's again; its
next write goes to CouchDB, which judges it.  A process that stops
(``CouchDBServer.close``) writes what is waiting first; one that is killed
loses at most its last ``WRITE_DELAY`` of checkpoints, never a document.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from sync import errors, jsonutil

MAX_AGE = 60.0  # a checkpoint this process wrote answers from memory this long
REMEMBERED = 2_000  # at most this many checkpoints are kept (the oldest written go first)
WRITE_DELAY = 1.0  # a write answered from memory reaches CouchDB this long after, the last one only
_LOCAL_REV = re.compile(r"0-([0-9]{1,15})")

log = logging.getLogger(__name__)

# Writes a checkpoint document to CouchDB (its ``_rev`` the one CouchDB holds) and returns CouchDB's new revision.
WriteToCouch = Callable[[dict], str]


@dataclass
class Checkpoint:
    """A checkpoint as this process last wrote it."""

    at: float  # when (time.monotonic)
    body: bytes  # the document as answered, with ``rev``
    rev: str  # the revision the device was answered
    couch_rev: str  # the revision CouchDB holds: behind ``rev`` while a write waits
    write: WriteToCouch | None = None  # set while the last write waits for CouchDB


class Checkpoints:
    """The checkpoints of every database of one CouchDB server, as this process wrote them."""

    def __init__(self) -> None:
        self._table: OrderedDict[tuple[str, str], Checkpoint] = OrderedDict()
        self._lock = threading.Lock()
        self._waiting = threading.Condition(self._lock)
        self._writer: threading.Thread | None = None
        self._closed = False

    def get(self, key: tuple[str, str]) -> dict | None:
        """The checkpoint as this process wrote it, if it did so in the last ``MAX_AGE`` seconds."""
        with self._lock:
            kept = self._table.get(key)
            if kept is None or time.monotonic() - kept.at > MAX_AGE:
                return None
            body = kept.body
        return jsonutil.loads(body)

    def put_behind(self, key: tuple[str, str], doc: dict, write: WriteToCouch) -> dict | None:
        """Answer a write made on the revision last answered; CouchDB gets it within ``WRITE_DELAY``.

        A write on another revision is a conflict while CouchDB is behind what
        this process answered (as it would be in CouchDB after the write),
        and CouchDB's to judge otherwise.  None: the caller writes to CouchDB
        (also when nothing is remembered, or only too old, or the server is
        closing).
        """
        now = time.monotonic()
        with self._lock:
            kept = self._table.get(key)
            if self._closed or kept is None or now - kept.at > MAX_AGE:
                return None
            if doc.get("_rev") != kept.rev:
                if kept.couch_rev != kept.rev:
                    raise errors.Conflict("Document update conflict.", doc["_id"])
                return None
            match = _LOCAL_REV.fullmatch(kept.rev)
            if match is None:
                return None
            rev = f"0-{int(match.group(1)) + 1}"
            kept.at, kept.rev, kept.body, kept.write = now, rev, jsonutil.dumps({**doc, "_rev": rev}), write
            self._table.move_to_end(key)
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_behind, name="couchdb-checkpoints", daemon=True)
                self._writer.start()
            self._waiting.notify()
        return {"ok": True, "id": doc["_id"], "rev": rev}

    def written(self, key: tuple[str, str], doc: dict, rev: str) -> None:
        """CouchDB took ``doc`` at ``rev``: remember it."""
        with self._lock:
            self._table.pop(key, None)
            self._table[key] = Checkpoint(time.monotonic(), jsonutil.dumps({**doc, "_rev": rev}), rev, rev)
            while len(self._table) > REMEMBERED:
                self._table.popitem(last=False)

    def forget(self, key: tuple[str, str]) -> None:
        """Forget the checkpoint, and a write of it still waiting (it was refused, deleted or is unknown)."""
        with self._lock:
            self._table.pop(key, None)

    def close(self, timeout: float = 10.0) -> None:
        """Write what waits now, then stop the writer."""
        with self._lock:
            self._closed = True
            writer = self._writer
            self._waiting.notify()
        if writer is not None:
            writer.join(timeout)

    # -- the writer thread -------------------------------------------------------------------

    def _due(self) -> list[tuple[tuple[str, str], Checkpoint, bytes, WriteToCouch]]:
        """Wait for writes, gather them for ``WRITE_DELAY`` (less when closing), and take the last of each."""
        with self._lock:
            while not self._closed and not any(kept.write for kept in self._table.values()):
                self._waiting.wait()
            if not self._closed:
                self._waiting.wait_for(lambda: self._closed, WRITE_DELAY)
            return [(key, kept, kept.body, kept.write) for key, kept in self._table.items() if kept.write]

    def _write_behind(self) -> None:
        while True:
            due = self._due()
            if not due and self._closed:
                return
            failed = False
            for key, kept, body, write in due:
                doc = {**jsonutil.loads(body), "_rev": kept.couch_rev}
                try:
                    couch_rev = write(doc)
                except errors.StoreUnavailable as exc:  # CouchDB is away: try again next round
                    log.warning("checkpoint %s not written yet: %s", key[1], exc)
                    failed = True
                    continue
                except Exception as exc:  # noqa: BLE001 (refused, a 409 above all: another process moved it on)
                    if not isinstance(exc, errors.Conflict):
                        log.warning("checkpoint %s not written: %s", key[1], exc)
                    with self._lock:
                        if self._table.get(key) is kept:
                            del self._table[key]
                    continue
                with self._lock:
                    if self._table.get(key) is kept:
                        kept.couch_rev = couch_rev
                        if kept.body is body:
                            kept.write = None
            if failed and self._closed:
                return  # closing with CouchDB away: these checkpoints are lost, the documents are not
