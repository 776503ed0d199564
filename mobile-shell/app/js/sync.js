// Live replication with the server: push and pull run whenever there is a
// network, retrying with backoff.  After each pass the phone reports what is
// pending to the server (PUT .../devices/<device>/report; a 404 is ignored).
import {
  session, getState, updateState, notify, pendingIds, refusedEntries, dropTurfs, assignments,
} from "./store.js";

const PouchDB = window.PouchDB;

export const status = { phase: "idle", error: null, unauthorized: false, online: navigator.onLine };
let replication = null;
let dropping = null;

export function remoteDb() {
  return new PouchDB(`${session.server}/sync/${encodeURIComponent(session.campaign)}`, {
    skip_setup: true,
    fetch: (url, opts) => {
      opts.headers.set("Authorization", "Bearer " + session.token);
      return PouchDB.fetch(url, opts);
    },
  });
}

function setStatus(change) {
  Object.assign(status, change);
  notify("sync");
}

// Backoff: 1 s, doubling to at most a minute, with some jitter.
function backOff(delay) {
  const next = delay ? Math.min(delay * 2, 60000) : 1000;
  return Math.round(next * (0.75 + Math.random() * 0.5));
}

// Records made offline go first, on their own push: a live pull alongside
// would bring each pushed batch straight back (a _changes answer, a
// checkpoint) while the push is still going.  Then live replication.
export function startSync() {
  stopSync();
  if (!session.db || !session.token) return;
  const run = { rep: null };
  replication = run;
  const live = () => {
    if (replication === run) run.rep = liveSync(run);
  };
  if (!pendingIds().length) {
    live();
    return;
  }
  setStatus({ phase: "active", error: null });
  run.rep = pushOnce();
  run.rep.then(live, live);
}

function liveSync(run) {
  const rep = session.db.sync(remoteDb(), {
    live: true, retry: true, back_off_function: backOff, batch_size: 200,
    // Push only what this phone wrote and has not seen reach the server.  Without
    // this the push side asks the server (_revs_diff, then a checkpoint) about every
    // document the pull has just brought, batch after batch of the first sync.
    push: { filter: unsent },
  });
  rep.on("change", (info) => {
    if (run !== replication) return;
    const docs = info.change.docs || [];
    if (info.direction === "push") {
      notePushed(docs);
    } else {
      const ended = docs.filter((d) => d._id.startsWith(`assignment:${session.name}:`) && (d._deleted || d.active === false));
      if (ended.length) {
        updateState((s) => {
          for (const doc of ended) {
            const turf = doc.turf || doc._id.slice(`assignment:${session.name}:`.length);
            if (!s.ended.includes(turf)) s.ended.push(turf);
          }
        });
      }
      notify("records", docs.map((d) => d._id), docs);
    }
    setStatus({ phase: "active", error: null });
  });
  rep.on("denied", (info) => run === replication && noteRefused(info.doc || {}));
  rep.on("active", () => run === replication && setStatus({ phase: "active", error: null }));
  rep.on("paused", (err) => {
    if (run !== replication) return;
    if (err) {
      const unauthorized = err.status === 401;
      setStatus({ phase: "error", error: err.reason || err.message || String(err), unauthorized });
      return;
    }
    setStatus({ phase: "idle", error: null, unauthorized: false });
    afterPass();
  });
  rep.on("error", (err) => {
    if (run !== replication) return;
    setStatus({ phase: "error", error: err.reason || err.message || String(err), unauthorized: err.status === 401 });
  });
  return rep;
}

export function stopSync() {
  if (replication) {
    const run = replication;
    replication = null;
    if (run.rep) run.rep.cancel();
  }
}

// One push of what has not reached the server, noting what the server took and
// what it refused.
function pushOnce() {
  const rep = session.db.replicate.to(remoteDb(), { batch_size: 200, filter: unsent });
  rep.on("change", (info) => notePushed(info.docs || []));
  rep.on("denied", noteRefused);
  return rep;
}

// Revisions the server took are no longer pending; a new revision of a refused
// record that reached the server clears the refusal.
function notePushed(docs) {
  updateState((s) => {
    for (const doc of docs) {
      if (s.dirty[doc._id] === doc._rev) delete s.dirty[doc._id];
      if (s.refused[doc._id] && s.refused[doc._id].rev !== doc._rev) delete s.refused[doc._id];
    }
  });
}

// The server refused a document (`forbidden`, reported by PouchDB as denied).
function noteRefused(err) {
  const id = err.id;
  if (!id) return;
  updateState((s) => {
    s.refused[id] = { rev: s.dirty[id] || null, reason: err.reason || err.message || String(err.name), at: new Date().toISOString() };
  });
}

// The push filter: records written on this phone (saveRecord marks them in
// `dirty` before they are written) whose revision has not been seen on the
// server; refused ones too, so a resend goes out.
function unsent(doc) {
  return doc._id in getState().dirty;
}

let passing = null;
async function afterPass() {
  if (passing || !navigator.onLine) return passing;
  passing = (async () => {
    await reconcile();
    await updateState((s) => {
      s.last_sync_at = new Date().toISOString();
    });
    await dropEnded();
    await report();
  })().catch((err) => console.error("after sync", err)).finally(() => {
    passing = null;
  });
  return passing;
}

// Revisions this phone still counts as pending that the server already has
// (say the app was closed before it noted a push): asked with _revs_diff.
async function reconcile() {
  const state = getState();
  const asked = {};
  for (const id of pendingIds()) {
    if (state.dirty[id]) asked[id] = [state.dirty[id]];
  }
  if (!Object.keys(asked).length) return;
  const missing = await remoteDb().revsDiff(asked);
  await updateState((s) => {
    for (const [id, revs] of Object.entries(asked)) {
      if (!missing[id] && s.dirty[id] === revs[0]) delete s.dirty[id];
    }
  });
}

// Ended assignments: push what is pending, then drop the turf's data.
export async function dropEnded() {
  if (dropping) return dropping;
  const state = getState();
  if (!state.ended.length) return;
  const active = new Set((await assignments())
    .filter((a) => a.user === session.name && a.active !== false).map((a) => a.turf));
  const ended = state.ended.filter((t) => !active.has(t));
  if (ended.length !== state.ended.length) {
    await updateState((s) => {
      s.ended = ended;
    });
  }
  if (!ended.length) return;
  dropping = (async () => {
    stopSync();
    try {
      await pushOnce();
      await reconcile();
      if (pendingIds().length) return; // not everything reached the server: try again after the next pass
      await dropTurfs(ended);
      // The notice names the turfs (the screen shows their names); it goes once they are all assigned again.
      await updateState((s) => {
        s.notices = [...(s.notices || []).slice(-4), { key: "turf_dropped", params: { ids: ended } }];
      });
    } catch (err) {
      console.error("drop failed", err);
    } finally {
      dropping = null;
      startSync();
    }
  })();
  return dropping;
}

// Tells the server what this phone still holds (the coordinators' dashboard).
export async function report() {
  const state = getState();
  const body = {
    pending: pendingIds().length,
    refused: refusedEntries().length,
    last_sync_at: state.last_sync_at,
  };
  const url = `${session.server}/api/v1/campaigns/${encodeURIComponent(session.campaign)}`
    + `/devices/${encodeURIComponent(session.device)}/report`;
  try {
    await fetch(url, {
      method: "PUT",
      headers: { Authorization: "Bearer " + session.token, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch (err) {
    // Offline, or the server has no such endpoint yet: the next pass reports again.
  }
}

// One push, waited for (signing out).
export async function pushNow() {
  await pushOnce();
  await reconcile();
  return pendingIds().length;
}

addEventListener("online", () => {
  setStatus({ online: true });
  if (session.db && session.token) startSync();
});
addEventListener("offline", () => setStatus({ online: false }));
