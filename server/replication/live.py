"""Live phones: longpoll ``_changes`` requests parked on events, not on threads.

Every phone online holds a longpoll ``_changes`` (``feed=longpoll``) until a
change it may see arrives or the request's timeout passes.  Under
``blockwalk serve`` (``server.web.front``) a waiting request costs its socket
and one ``Waiter`` in the event loop: the handler reads once in a worker
thread, finds nothing, and hands back a ``Parked`` body instead of waiting;
the front sends heartbeats from the loop and runs ``Feed.poll`` in a worker
again only when ``Waiters.notify`` says the campaign changed in a channel
the phone reads (or that it cannot tell which channels).

The stores call ``notify`` after every commit that adds changes (the
SQLite store for its own commits and, through one watcher thread a
process, for other processes' writes on the same file; the CouchDB store
from one watcher a database a process, following CouchDB's changes feed),
so a phone's longpoll wakes whichever process wrote.

A race between a phone's first read and its parking is closed by a
version counter a campaign: ``mark`` is taken before the first read, and a
``park`` that finds the counter moved reads again at once.

Under any other WSGI server (Flask's test client) the same ``Feed`` is
iterated as a blocking generator (``Feed.blocking``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable, Iterable, Iterator

from sync import jsonutil
from sync.errors import SyncError

log = logging.getLogger("blockwalk.sync")

ENVIRON_KEY = "blockwalk.live"  # the front's Waiters, in the WSGI environ of every request it serves
PAGE = 1000


class Feed:
    """One longpoll's state: where it is in the campaign's changes, and until when it waits."""

    __slots__ = ("store", "read", "position", "limit", "deadline", "heartbeat", "render")

    def __init__(self, store, read: Callable, position: object, limit: int | None, timeout: float,
                 heartbeat: float | None, render: Callable[[Callable, object, int | None], Iterator[bytes]]):
        self.store = store
        self.read = read
        self.position = position
        self.limit = limit
        self.deadline = time.monotonic() + timeout
        self.heartbeat = heartbeat
        self.render = render

    def poll(self) -> bytes | None:
        """Read once (in a worker thread): the whole answer if there are changes to send, else None.

        Changes this phone may not see (other channels, other doc_ids) move
        its position on, so the next read starts past them.  A store that
        fails ends the feed with "nothing yet"; the client polls again.
        """
        try:
            upto = self.store.info().update_seq
            page = self.read(self.position, min(self.limit or PAGE, PAGE))
            if page.results:
                return b"".join(self.render(self.read, page, self.limit))
            self.position = upto if page.last_seq == self.position else page.last_seq
            return None
        except SyncError:
            log.warning("longpoll ended early: the store failed")
            self.deadline = 0.0
            return self.final()

    def final(self) -> bytes:
        return b'{"results":[],\n"last_seq":' + jsonutil.dumps(self.position) + b',"pending":0}\n'

    def blocking(self) -> Iterator[bytes]:
        """The whole wait in the calling thread, for WSGI servers without ``server.web.front``."""
        try:
            while (remaining := self.deadline - time.monotonic()) > 0:
                if not self.store.wait_for_change(self.position, min(remaining, self.heartbeat or remaining)):
                    if self.heartbeat:
                        yield b"\n"
                    continue
                body = self.poll()
                if body is not None:
                    yield body
                    return
        except SyncError:
            log.warning("longpoll ended early: the store failed")
        yield self.final()


class Parked:
    """The body of a longpoll response parked in the front's event loop (iterable anywhere else)."""

    __slots__ = ("feed", "campaign", "channels", "mark")

    def __init__(self, feed: Feed, campaign: str, channels: frozenset[str] | None, mark: int):
        self.feed = feed
        self.campaign = campaign
        self.channels = channels
        self.mark = mark

    def __iter__(self) -> Iterator[bytes]:
        return self.feed.blocking()

    def close(self) -> None:
        pass


class Waiter:
    """A parked longpoll in the loop: the channels it reads and the future a change resolves."""

    __slots__ = ("channels", "future")

    def __init__(self, channels: frozenset[str] | None, future: asyncio.Future):
        self.channels = channels
        self.future = future

    def wake(self) -> None:
        if not self.future.done():
            self.future.set_result(True)


class Waiters:
    """Every parked longpoll of this process, by campaign; ``notify`` may be called from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self._versions: dict[str, int] = {}
        self._by_campaign: dict[str, set[Waiter]] = {}
        self.watch: Callable[[str], None] = lambda campaign: None  # set by the front: start a store's watcher

    # -- from worker threads (the changes handler) and the stores' threads --------------------

    def mark(self, campaign: str) -> int:
        self.watch(campaign)
        return self._versions.get(campaign, 0)

    def park(self, feed: Feed, campaign: str, channels: Iterable[str] | None, mark: int) -> Parked:
        return Parked(feed, campaign, None if channels is None else frozenset(channels), mark)

    def notify(self, campaign: str, channels: Iterable[str] | None) -> None:
        """Something was committed in ``campaign``, in ``channels`` (None: any channel may have changed)."""
        self._versions[campaign] = self._versions.get(campaign, 0) + 1
        touched = None if channels is None else frozenset(channels)
        try:
            self.loop.call_soon_threadsafe(self._wake, campaign, touched)
        except RuntimeError:  # the loop is closed: the server is stopping
            pass

    # -- in the loop --------------------------------------------------------------------

    def moved(self, parked: Parked) -> bool:
        return self._versions.get(parked.campaign, 0) != parked.mark

    def add(self, parked: Parked) -> Waiter:
        waiter = Waiter(parked.channels, self.loop.create_future())
        self._by_campaign.setdefault(parked.campaign, set()).add(waiter)
        return waiter

    def remove(self, campaign: str, waiter: Waiter) -> None:
        waiting = self._by_campaign.get(campaign)
        if waiting is not None:
            waiting.discard(waiter)
            if not waiting:
                del self._by_campaign[campaign]

    def count(self) -> int:
        return sum(len(w) for w in self._by_campaign.values())

    def _wake(self, campaign: str, touched: frozenset[str] | None) -> None:
        for waiter in self._by_campaign.get(campaign, ()):
            if touched is None or waiter.channels is None or not waiter.channels.isdisjoint(touched):
                waiter.wake()
