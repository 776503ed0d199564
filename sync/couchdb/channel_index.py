"""The CouchDB store's channel index: a database per channel, kept from the main changes feed.

CouchDB's own filtered ``_changes`` reads the whole log, so a volunteer's
pull would cost the size of the campaign.  Blockwalk keeps, next to campaign
``c`` (CouchDB database ``<prefix>-c``):

* ``<prefix>-c$routes``: for every document, a body-less copy of its
  revision tree whose revisions carry ``channels``: a live revision the
  channels the router gives its body, a deleted one the channels the
  document had before (so its deletion reaches the phones that hold it).
  The winner's ``channels`` are the document's channels now.
* ``<prefix>-c$c-<hash of the channel>``: one database per channel holding
  a copy of the revision tree of each document in the channel, each live
  revision with its ``channels`` and no other body; a document that leaves
  the channel gets its new revisions there too, so the copy's winner says
  whether the document is still in the channel (``_still_in``).  Its
  ``_changes?style=all_docs`` lists exactly the rows the main feed would
  (id, every leaf, deleted), in the channel's own order, with its own seqs.
* ``_local/channel-index`` in the routes database: the main sequence up to
  which both are complete.

Copies are written with ``new_edits=false`` and each revision's full
``_revisions`` path, so writing one twice changes nothing and two writers
merge to the same tree: several Blockwalk processes may bring the index up
to date at once, with no lock and nothing they could disagree on.  Bringing
it up to date (``update``, a catch-up) is: the main ``_changes`` since the
marker, the leaves of what changed (``_bulk_get?revs=true``), the channels
each was in (the routes), the copies (channels first, routes last), then
the marker.  Nothing of it is on the write path: a ``Follower`` thread per
process and campaign does it in the background after each write, and
every filtered read does it too, as the correctness path.  A crash
anywhere leaves the marker behind what was copied, so the next catch-up,
on any process, copies it again: no acknowledged write is missing from the
index for good.  Each process remembers the last marker it saw (a hint
only: the index stays complete up to it whatever happens later), and, at
that marker, answers it gave (valid while the marker has not moved).

A filtered read takes one ``_changes`` per granted channel that may hold
something new, and the catch-up's ``_changes``, at once: its cost follows
what the device may see and what changed, never the size of the campaign.
``docs/channels.md`` has the measurements behind the choice.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

from sync import channels, errors, jsonutil
from sync.couchdb.http import Requester, raise_for, winner_key
from sync.store import ChangesPage, DocumentStore, Grants

log = logging.getLogger(__name__)
MARKER = "/_local/channel-index"
BATCH = 1000  # main changes copied per round
RECALLED = 20_000  # documents' channels remembered per campaign, at the current marker (lookup)
REMEMBERED_GRANTS = 5_000  # readers' grants remembered per campaign, at the current marker (granted)
REMEMBERED_ROWS = 20_000  # rows of channel answers remembered per campaign, at the current marker (_read)
READ_AHEAD = 4  # a channel paged through is read this many pages at a time (_read)
WINDOW_ROWS = 1000  # at most this many rows per read
T = TypeVar("T")
R = TypeVar("R")
WORKER_PREFIX = "couchdb-channels"  # the worker threads of the channel indexes (IndexState.workers)
FOLLOW_WAIT = 25.0  # seconds a follower's longpoll waits before it asks again
FOLLOW_PAUSE = 0.2  # seconds (on average) a follower waits after a change, to copy a push's batches together
FOLLOW_IDLE = 600.0  # seconds without a filtered read of its campaign after which a follower stops


def channel_db(couch_name: str, channel: str) -> str:
    return f"{couch_name}$c-{hashlib.sha256(channel.encode()).hexdigest()[:20]}"


class IndexState:
    """This process's state of the channel indexes of one CouchDB, by CouchDB database name.

    The last marker seen (a hint, never wrong: see above); answers
    remembered at that marker (documents' channels, channel answers,
    readers' grants); the catch-ups and the follower of each campaign; and
    the worker threads that read several channels at once.  One per
    ``CouchDBServer``, passed to each ``ChannelIndex``.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.markers: dict[str, tuple[object, str | None]] = {}
        # The channels of documents a pull just listed, at the marker they were read at (ChannelIndex.lookup).
        self.routes: dict[str, tuple[tuple, dict[str, frozenset[str]]]] = {}
        # Answers of channels read, at the marker they were read at (ChannelIndex._read).
        self.windows: dict[str, tuple[tuple, dict[tuple, list]]] = {}
        # The channels readers were granted (sync.store.Grants), at the marker they were read at.
        self.grants: dict[str, tuple[tuple, dict[str, frozenset[str]]]] = {}
        # Per campaign: its catch-ups in this process (one at a time, shared), and its background follower.
        self._catch_ups: dict[str, CatchUps] = {}
        self.followers: dict[str, Follower] = {}
        self._closed = False
        # Reads of several channels at once; each worker keeps its own connection.
        self.workers = ThreadPoolExecutor(max_workers=8, thread_name_prefix=WORKER_PREFIX)

    def catch_ups(self, couch: str) -> CatchUps:
        """The catch-ups of the channel index of ``couch`` in this process."""
        with self.lock:
            return self._catch_ups.setdefault(couch, CatchUps())

    def follow(self, couch: str, make: Callable[[], "Follower"]) -> None:
        """Start a follower of the channel index of ``couch`` unless this process has one."""
        follower = self.followers.get(couch)
        if follower is not None:
            follower.read_at = time.monotonic()
            return
        with self.lock:
            if couch in self.followers or self._closed:
                return
            follower = self.followers[couch] = make()
        follower.start()

    def unfollow(self, couch: str, follower: "Follower") -> None:
        with self.lock:
            if self.followers.get(couch) is follower:
                del self.followers[couch]

    def close(self) -> None:
        """Stop the followers and the workers; no follower starts after."""
        with self.lock:
            self._closed = True
            followers = list(self.followers.values())
        for follower in followers:
            follower.stop()
        self.workers.shutdown(wait=False)


class ChannelIndex:
    """The channel index of one campaign database.

    ``store`` is the campaign database (read by readers' ``Grants``, waited
    on by the follower); the index itself talks to CouchDB through ``http``
    and keeps this process's state in ``state``.
    """

    def __init__(self, store: DocumentStore, couch: str, http: Requester, state: IndexState, router):
        self.store = store
        self.couch = couch
        self.base = f"/{couch}"
        self.http = http
        self.state = state
        self.router = router
        self.routes = f"/{couch}$routes"
        # The last marker this process saw, per database: a hint, never wrong (see above).
        self._seen = state.markers
        self._seen_lock = state.lock

    # -- HTTP ----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, retry: bool = True, **kwargs):
        response = self.http.request(method, path, retry=retry, **kwargs)
        raise_for(response)
        return response.json()

    def _write(self, db_path: str, docs: list[dict]) -> None:
        """Copies into a channel or routes database, creating it on first use."""
        payload = jsonutil.dumps({"docs": docs, "new_edits": False})
        response = self.http.request("POST", db_path + "/_bulk_docs", retry=True, content=payload)
        if response.status_code == 404:
            # One shard: an index database is small, and a campaign has one per channel.
            created = self.http.request("PUT", db_path, retry=True, params={"q": "1"})
            if created.status_code not in (201, 202, 412):
                self._call("PUT", db_path)
            response = self.http.request("POST", db_path + "/_bulk_docs", retry=True, content=payload)
        raise_for(response)
        failed = [row for row in response.json() if "error" in row]
        if failed:  # new_edits=false copies are refused only if CouchDB is failing: the index waits
            raise errors.from_result(failed[0])

    # -- bringing the index up to date ------------------------------------------------------

    def _marker(self) -> tuple[object, str | None]:
        with self._seen_lock:
            seen = self._seen.get(self.couch)
        if seen is not None:
            return seen
        return self._saved_marker()

    def _saved_marker(self) -> tuple[object, str | None]:
        response = self.http.request("GET", self.routes + MARKER, retry=True)
        if response.status_code == 404:
            return 0, None
        raise_for(response)
        body = response.json()
        self._remember(body["seq"], body["_rev"])
        return body["seq"], body["_rev"]

    def _remember(self, seq: object, rev: str | None) -> None:
        with self._seen_lock:
            self._seen[self.couch] = (seq, rev)

    def update(self, progress: Callable[[int], None] | None = None) -> object:
        """Copy what changed since the marker; return the main seq the index is complete up to.

        ``progress`` is told how many changes each round copied (``blockwalk db index``).
        """
        return self.state.catch_ups(self.couch).run(lambda: self._update(progress))

    def _update(self, progress: Callable[[int], None] | None) -> object:
        seq, rev = self._marker()
        checked = False
        while True:
            page = self._call("GET", self.base + "/_changes",
                              params={"since": str(seq), "style": "all_docs", "limit": str(BATCH)})
            if not page["results"]:
                self._remember(seq, rev)
                return seq
            if not checked:
                # Another process (its follower, or a read) may have copied these already and moved
                # the marker: start from the saved marker, which is always complete up to its seq.
                checked = True
                saved = self._saved_marker()
                if saved[0] != seq:
                    seq, rev = saved
                    continue
            self._copy(page["results"])
            seq = page["results"][-1]["seq"]
            rev = self._save_marker(seq, rev)
            if progress is not None:
                progress(len(page["results"]))
            if len(page["results"]) < BATCH:
                return seq

    def _save_marker(self, seq: object, rev: str | None) -> str | None:
        body = {"seq": seq} if rev is None else {"seq": seq, "_rev": rev}
        response = self.http.request("PUT", self.routes + MARKER, retry=False, content=jsonutil.dumps(body))
        if response.status_code == 404:  # the routes database is made by the first copy; no change yet had one
            return None
        if response.status_code == 409:
            # Another process moved it; its copies are written, and ours.  Take its revision, so
            # the next round can write (the marker may step back a little: that only repeats copies).
            with self._seen_lock:
                self._seen.pop(self.couch, None)
            current = self.http.request("GET", self.routes + MARKER, retry=True)
            return current.json()["_rev"] if current.status_code == 200 else None
        raise_for(response)
        new_rev = response.json()["rev"]
        self._remember(seq, new_rev)
        return new_rev

    def _copy(self, rows: list[dict]) -> None:
        wanted = [{"id": row["id"], "rev": change["rev"]} for row in rows for change in row["changes"]]
        leaves: dict[str, list[dict]] = {}
        answer = self._call("POST", self.base + "/_bulk_get", params={"revs": "true"},
                            content=jsonutil.dumps({"docs": wanted}))
        for result in answer["results"]:
            for item in result["docs"]:
                if "ok" in item and "_revisions" in item["ok"]:
                    leaves.setdefault(result["id"], []).append(item["ok"])
        # The channels each document was in: a deleted one stays in them, and one that left a
        # channel gets its new revisions there too, saying where it is now (see _still_in).
        before = self.channels_of(list(leaves)) if leaves else {}
        route_copies: list[dict] = []
        by_channel: dict[str, list[dict]] = {}
        for doc_id, found in leaves.items():
            winner = _winner(found)
            now = before[doc_id] if winner.get("_deleted") else self._route(winner)
            for leaf in found:
                copy = {"_id": doc_id, "_rev": leaf["_rev"], "_revisions": leaf["_revisions"]}
                if leaf.get("_deleted"):
                    copy["_deleted"] = True
                    route_copies.append({**copy, "channels": sorted(now)})
                else:  # a live revision's channels follow from its body alone: the same on every copy
                    copy["channels"] = sorted(self._route(leaf))
                    route_copies.append(copy)
                for channel in now | before[doc_id]:
                    by_channel.setdefault(channel, []).append(copy)
        # Channels first (several at once), routes last: a document is listed as in a channel only
        # once the channel holds it.
        writes = [("/" + channel_db(self.couch, channel), copies) for channel, copies in sorted(by_channel.items())]
        self._each(lambda item: self._write(*item), writes)
        if route_copies:
            self._write(self.routes, route_copies)

    def _each(self, fn, items: list) -> list:
        """``fn`` on every item, several at once on the workers of ``state`` (never from a worker)."""
        if len(items) < 2 or threading.current_thread().name.startswith(WORKER_PREFIX):
            return [fn(item) for item in items]
        return list(self.state.workers.map(fn, items))

    def _route(self, body: dict) -> set[str]:
        return set(self.router({k: v for k, v in body.items() if k != "_revisions"}))

    # -- the follower ------------------------------------------------------------------------

    def follow(self) -> None:
        """Start this process's follower of the campaign, if it has none yet."""
        self.state.follow(self.couch, lambda: Follower(self))

    # -- reading -----------------------------------------------------------------------------

    def lookup(self, doc_ids: list[str]) -> dict[str, set[str]]:
        """The channels each document is in, with the index brought up to date first.

        A pull asks twice about the same documents (its ``_changes`` page,
        then the ``_bulk_get`` of them): the second answer is the first one,
        remembered (``_confirmed``).
        """
        return self._confirmed(lambda at: self._recalled(at, doc_ids),
                               lambda _: self.channels_of(doc_ids), self._recall)[0]

    def granted(self, grants: Grants) -> set[str]:
        """The channels ``grants`` gives now (its ``read``, or its answer remembered: ``_granted_at``)."""
        return self._confirmed(lambda at: self._granted_at(at, grants, read=False),
                               lambda at: self._granted_at(at, grants), lambda marker, found: None)[0]

    def visible(self, doc_ids: list[str], grants: set[str] | Grants,
                meanwhile: Callable[[], T] = lambda: None) -> tuple[set[str], T]:
        """Those of ``doc_ids`` in a channel ``grants`` gives (``lookup`` and ``granted`` with one catch-up),
        and what ``meanwhile`` returned, run while the catch-up waits for CouchDB."""
        def remembered(at: object):
            routes = self._recalled(at, doc_ids)
            granted = None if routes is None else self._granted_at(at, grants, read=False)
            return None if granted is None else (routes, granted)

        (routes, granted), other = self._confirmed(
            remembered, lambda at: (self.channels_of(doc_ids), self._granted_at(at, grants)),
            lambda marker, found: self._recall(marker, found[0]), meanwhile)
        return {doc_id for doc_id in doc_ids if routes[doc_id] & granted}, other

    def _confirmed(self, remembered: Callable[[object], R | None], read: Callable[[object], R],
                   remember: Callable[[object, R], None], meanwhile: Callable[[], T] = lambda: None) -> tuple[R, T]:
        """``remembered(marker)``, once a catch-up shows the marker has not moved; else ``read`` (``current``).

        What is remembered at a marker was read when the index was already
        complete up to it; a catch-up that finds nothing past the marker
        shows that nothing in the campaign has changed since it was read.
        ``meanwhile`` runs on this thread while the catch-up waits for
        CouchDB; its answer is returned too.
        """
        self.follow()
        hint = self._marker()[0]
        cached = remembered(hint)
        if cached is not None:
            pending = self.state.workers.submit(self.update)
            try:
                other = meanwhile()
            finally:
                marker = pending.result()
            if marker == hint:
                return cached, other
        else:
            other = meanwhile()
        marker, found = self.current(read)
        remember(marker, found)
        return found, other

    def _granted_at(self, marker: object, grants: set[str] | Grants, read: bool = True) -> set[str] | None:
        """The channels ``grants`` gives, remembered at ``marker`` (the index complete up to it), or read now.

        Read now, they are remembered at ``marker``: the index was complete
        up to it before the read, so they are those of that marker or of a
        later moment, and they are given again only once a catch-up shows
        nothing has changed since the marker (``_confirmed``, ``current``):
        a reader never gets grants older than its request.  ``read=False``:
        None when nothing is remembered.
        """
        if not isinstance(grants, Grants):
            return set(grants)
        known = self._remembered(self.state.grants, marker, [grants.key])
        if known is not None:
            return set(known[grants.key])
        if not read:
            return None
        found = set(grants.read(self.store))
        self._remember_at(self.state.grants, marker, {grants.key: frozenset(found)}, REMEMBERED_GRANTS)
        return found

    def _recalled(self, marker: object, doc_ids: list[str]) -> dict[str, set[str]] | None:
        known = self._remembered(self.state.routes, marker, doc_ids)
        return None if known is None else {doc_id: set(channels) for doc_id, channels in known.items()}

    def _recall(self, marker: object, found: dict[str, set[str]]) -> None:
        self._remember_at(self.state.routes, marker,
                          {doc_id: frozenset(channels) for doc_id, channels in found.items()}, RECALLED)

    def _remembered(self, table: dict, marker: object, keys: list) -> dict | None:
        """What ``table`` remembers of every key at ``marker``, or None."""
        with self._seen_lock:
            at, known = table.get(self.couch, (None, {}))
            if at != (marker,) or not all(key in known for key in keys):
                return None
            return {key: known[key] for key in keys}

    def _remember_at(self, table: dict, marker: object, found: dict, most: int) -> None:
        with self._seen_lock:
            at, known = table.get(self.couch, (None, {}))
            if at != (marker,) or len(known) > most:
                known = {}
                table[self.couch] = ((marker,), known)
            known.update(found)

    def channels_of(self, doc_ids: Iterable[str]) -> dict[str, set[str]]:
        """The channels each document is in, as far as the index is up to date."""
        ids = list(doc_ids)
        found: dict[str, set[str]] = {doc_id: set() for doc_id in ids}
        if not ids:
            return found
        # _bulk_get, not _all_docs with keys: pouchdb-server answers it in half the time.
        response = self.http.request("POST", self.routes + "/_bulk_get", retry=True,
                                             content=jsonutil.dumps({"docs": [{"id": doc_id} for doc_id in ids]}))
        if response.status_code == 404:
            return found
        raise_for(response)
        unread = []
        for result in response.json()["results"]:
            doc = next((item["ok"] for item in result["docs"] if "ok" in item), None)
            if doc is not None and not doc.get("_deleted"):
                found[result["id"]] = set(doc.get("channels", []))
            else:
                unread.append(result["id"])
        if unread:
            # A deleted winner (or a backend that answers it as not found): read it by its revision.
            rows = self._call("POST", self.routes + "/_all_docs", content=jsonutil.dumps({"keys": unread}))["rows"]
            deleted = [{"id": row["id"], "rev": row["value"]["rev"]} for row in rows
                       if isinstance(row.get("value"), dict) and row["value"].get("deleted")]
            if deleted:
                answer = self._call("POST", self.routes + "/_bulk_get", content=jsonutil.dumps({"docs": deleted}))
                for result in answer["results"]:
                    for item in result["docs"]:
                        if "ok" in item:
                            found[result["id"]] = set(item["ok"].get("channels", []))
        return found

    def changes(self, since: object, grants: set[str] | Grants, *, limit: int | None, style: str, include_docs: bool,
                doc_ids: Iterable[str] | None, is_seq) -> ChangesPage:
        """The rows of the channels ``grants`` gives (at the marker the rows are read at: ``_granted_at``)."""
        self.follow()
        ids = None if doc_ids is None else set(doc_ids)

        def read(at: object):
            wanted = self._granted_at(at, grants)
            order = sorted(wanted)
            return order, self._read(order, self._start(since, wanted, is_seq), limit, style, at)

        marker, (order, (picked, vector, complete)) = self.current(read)
        while True:
            kept = self._still_in(picked, ids, marker)
            if kept or complete:
                break
            picked, vector, complete = self._read(order, vector, limit, style, marker)
        vector[channels.MAIN] = marker
        results = []
        for _, row, position in kept:
            row["seq"] = channels.encode_opaque({**position, channels.MAIN: marker})
            results.append(row)
        if include_docs and results:
            self._with_docs(results)
        return ChangesPage(results, channels.encode_opaque(vector))

    def current(self, read: Callable[[object], T]) -> tuple[object, T]:
        """``read(marker)`` of the index brought up to date, and the main seq it is complete up to.

        The update runs on a worker while ``read`` runs here: when there was
        nothing to copy (the follower had done it), the two cost one round
        trip; when the update copied something, ``read`` runs again after it.
        """
        before = self._marker()[0]
        pending = self.state.workers.submit(self.update)
        try:
            result = read(before)
        finally:
            marker = pending.result()
        if marker != before:
            result = read(marker)
        return marker, result

    def _start(self, since: object, wanted: set[str], is_seq) -> dict[str, object]:
        vector = channels.decode_opaque(since, is_seq)
        if vector is not None:
            return {k: v for k, v in vector.items() if k != channels.MAIN}
        if since == "now":
            out: dict[str, object] = {}
            for channel in wanted:
                response = self.http.request("GET", "/" + channel_db(self.couch, channel), retry=True)
                out[channel] = response.json()["update_seq"] if response.status_code == 200 else 0
            return out
        # 0 or a plain main sequence (a device that read unfiltered before): every channel from its start.
        return {}

    def _read(self, order: list[str], vector: dict[str, object], limit: int | None, style: str, marker: object):
        """Rows of the channels in order, up to ``limit``; each row with the position just past it.

        The channels are asked at once (a no-op pull waits for one round
        trip, not one per channel); their answers are then taken in order,
        and a channel cut off by ``limit`` leaves the later ones where they
        were.  Each answer is remembered at the marker the index was
        complete up to (``marker``) as a ``Window``, and answers the same
        channel asked from any of its rows while the marker has not moved:
        past that marker a channel can only gain rows of later changes,
        which a page complete up to the marker need not list (a no-op pull,
        the campaign's forms read by every new phone, the next pages of a
        turf).  A channel asked again from one of the rows of a remembered
        answer that did not reach its end is being paged through: it is read
        ``READ_AHEAD`` pages at once, and the pages after come from memory,
        so a phone's changes feed keeps ahead of its ``_bulk_get`` as it
        does on CouchDB itself.
        """
        params = {"style": style, "include_docs": "true"}  # a copy's body is its channels (_still_in)

        def ask(channel: str):
            since = str(vector.get(channel, 0))
            answer, paging = self._from_window(marker, channel, style, since, limit)
            if answer is not None:
                return answer or None  # {}: nothing was ever routed to the channel
            asked = limit
            if limit and paging:
                asked = max(limit, min(limit * READ_AHEAD, WINDOW_ROWS))
            path = "/" + channel_db(self.couch, channel) + "/_changes"
            response = self.http.request("GET", path, retry=True, params={
                **params, "since": since, **({"limit": str(asked)} if asked is not None else {})})
            if response.status_code == 404:
                window = Window(since, [], None, True)  # nothing was ever routed to this channel
            else:
                raise_for(response)
                body = response.json()
                window = Window(since, body["results"], body["last_seq"], asked is None or len(body["results"]) < asked)
            self._remember_window(marker, (channel, style), window)
            return window.answer(since, limit) or None

        answers = self._each(ask, order)
        picked: list[tuple[str, dict, dict]] = []
        out = dict(vector)
        for channel, body in zip(order, answers, strict=True):
            if body is None:
                continue
            room = None if limit is None else limit - len(picked)
            if room == 0:
                return picked, out, False
            rows = body["results"] if room is None else body["results"][:room]
            for row in rows:
                out[channel] = row["seq"]
                picked.append((channel, row, dict(out)))
            if room is not None and len(rows) == room and (len(body["results"]) > room or len(rows) == limit):
                return picked, out, False  # this channel may hold more
            out[channel] = body["last_seq"]
        return picked, out, True

    def _from_window(self, marker: object, channel: str, style: str, since: str,
                     limit: int | None) -> tuple[dict | None, bool]:
        """A remembered answer to the question, and whether it continues a remembered one (paging)."""
        with self._seen_lock:
            at, known = self.state.windows.get(self.couch, (None, {}))
            windows = list(known.get((channel, style), ())) if at == (marker,) else []
        paging = False
        for window in windows:
            answer = window.answer(since, limit)
            if answer is not None:
                return answer, False
            paging = paging or window.continues(since)
        return None, paging

    def _remember_window(self, marker: object, key: tuple[str, str], window: "Window") -> None:
        table = self.state.windows
        with self._seen_lock:
            at, known = table.get(self.couch, (None, {}))
            rows = sum(len(w.rows) for windows in known.values() for w in windows)
            if at != (marker,) or rows + len(window.rows) > REMEMBERED_ROWS:
                known = {}
                table[self.couch] = ((marker,), known)
            known.setdefault(key, []).append(window)

    def _still_in(self, picked: list[tuple[str, dict, dict]], ids: set[str] | None,
                  marker: object) -> list[tuple[str, dict, dict]]:
        """Rows of documents still in the channel they were read from (each document once).

        A channel's copy of a document holds every revision written while
        the document was in the channel and the first ones after it left,
        so its winner is the document's winner, or a revision that no longer
        routes to the channel.  A live winner carries its channels (they
        follow from its body alone), read with the row (``include_docs``):
        no lookup.  A deleted winner (whose channels are the ones it had
        before), or a copy written before copies carried channels, is looked
        up in the routes database.
        """
        if ids is not None:
            picked = [item for item in picked if item[1]["id"] in ids]
        if not picked:
            return []
        now: dict[str, set[str]] = {}
        unsure = set()
        for channel, row, _ in picked:
            doc = row.get("doc") or {}
            if doc.get("_deleted") or not isinstance(doc.get("channels"), list):
                unsure.add(row["id"])
            elif channel in doc["channels"]:
                now[row["id"]] = set(doc["channels"])  # the winner's: what the routes database says
        if unsure:
            now.update(self.channels_of(unsure))
        self._recall(marker, now)
        kept, seen = [], set()
        for channel, row, position in picked:
            if channel in now.get(row["id"], ()) and row["id"] not in seen:
                seen.add(row["id"])
                kept.append((channel, {k: v for k, v in row.items() if k in ("id", "changes", "deleted")}, position))
        return kept

    def _with_docs(self, results: list[dict]) -> None:
        answer = self._call("POST", self.base + "/_all_docs", params={"include_docs": "true"},
                            content=jsonutil.dumps({"keys": [row["id"] for row in results]}))
        for row, found in zip(results, answer["rows"], strict=True):
            if found.get("doc"):
                row["doc"] = found["doc"]
            elif "value" in found:
                row["doc"] = {"_id": row["id"], "_rev": found["value"]["rev"], "_deleted": True}
            else:
                row["doc"] = None


class Window:
    """A channel's ``_changes`` answer from ``since``, remembered at a marker (``ChannelIndex._read``)."""

    __slots__ = ("since", "rows", "last_seq", "complete", "after")

    def __init__(self, since: str, rows: list[dict], last_seq: object, complete: bool):
        self.since = since
        self.rows = rows
        self.last_seq = last_seq
        self.complete = complete  # the answer reached the channel's end (as of the marker)
        self.after = {str(row["seq"]): i + 1 for i, row in enumerate(rows)}  # a row's seq -> where the rest starts

    def answer(self, since: str, limit: int | None) -> dict | None:
        """The answer to ``_changes`` from ``since`` (this one's start or any of its rows), if this holds it all.

        ``{}`` when the channel's database does not exist (``last_seq`` None).
        """
        start = 0 if since == self.since else self.after.get(since)
        if start is None:
            return None
        if self.last_seq is None:
            return {}  # the channel's database does not exist
        if limit == 0:
            return {"results": [], "last_seq": since}
        rows = self.rows[start:]
        if limit is not None and len(rows) >= limit:
            rows = rows[:limit]
            return {"results": rows, "last_seq": rows[-1]["seq"]}
        return {"results": rows, "last_seq": self.last_seq} if self.complete else None

    def continues(self, since: str) -> bool:
        """``since`` is one of this answer's rows and the channel holds more than it: a phone paging through."""
        return not self.complete and since in self.after


class CatchUps:
    """A campaign's catch-ups in one process: one at a time, each shared by all who wait for it.

    A read needs a catch-up that started after the read arrived (nothing it
    is answered from may be older than the read), not one of its own.
    Those who arrive while one runs wait for the next, and share it: the
    first of them runs it once the running one has ended, and the others
    take its result.  Many phones pulling at once, or a pull's own
    ``_changes`` and ``_bulk_get``, would otherwise queue one each.
    """

    def __init__(self):
        self._lock = threading.Lock()  # guards _next
        self._running = threading.Lock()  # held by the catch-up that runs
        self._next: Future | None = None  # the catch-up not started yet: newcomers join it

    def run(self, catch_up: Callable[[], T]) -> T:
        with self._lock:
            joined = self._next
            if joined is None:
                mine = self._next = Future()
        if joined is not None:
            return joined.result()
        with self._running:
            with self._lock:
                self._next = None  # started: whoever arrives from now on needs the one after it
            try:
                result = catch_up()
            except BaseException as exc:
                mine.set_exception(exc)
                raise
            mine.set_result(result)
            return result


def _winner(leaves: list[dict]) -> dict:
    return max(leaves, key=winner_key)


class Follower:
    """Copies a campaign's new changes into its channel index in the background, after the ack.

    One thread per process and campaign, started by the first filtered read:
    a longpoll on the main ``_changes`` past the marker, a short pause to
    gather what a push sends in several batches, then ``update``, the same
    catch-up a read does.  A push pays nothing for the index: its batch is
    acknowledged before the follower even hears of it.  A read still brings
    the index up to date itself (``current``): a follower that is late,
    failing or killed costs that read time, never a missing row.  The pause
    is drawn at random per round, so that of several processes' followers
    one usually copies and the others find the saved marker already moved.
    A campaign nobody has read through this process for ``FOLLOW_IDLE``
    loses its follower (its next read starts one again).
    """

    def __init__(self, index: ChannelIndex):
        self.index = index
        self.store = index.store
        self.read_at = time.monotonic()  # the last filtered read of the campaign in this process
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"couchdb-index-follower:{index.store.name}", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        failures = 0
        while not self.stopped.is_set() and time.monotonic() - self.read_at < FOLLOW_IDLE:
            try:
                seq = self.index.update()
                changed = self.store.wait_for_change(seq, FOLLOW_WAIT)
                failures = 0
                if changed:
                    self.stopped.wait(FOLLOW_PAUSE * (0.5 + random.random()))
            except errors.NotFound:
                break  # the campaign database is gone
            except Exception as exc:  # noqa: BLE001 (a background thread: say why, wait, go on)
                if self.stopped.is_set():
                    break  # the process is closing its connections
                reason = exc.reason if isinstance(exc, errors.SyncError) else repr(exc)
                log.warning("channel index follower of %s: %s; reads catch up meanwhile", self.store.name, reason)
                self.stopped.wait(min(FOLLOW_WAIT, 0.5 * 2 ** failures))
                failures += 1
        self.index.state.unfollow(self.index.couch, self)
