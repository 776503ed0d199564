// The phone's data: one PouchDB database per signed-in campaign, and the one
// function every record write goes through (saveRecord).
//
// What has not reached the server is tracked in a _local document (never
// replicated): `dirty` maps a record id to the revision written on this phone
// and not yet seen on the server; `refused` maps a record id to the revision
// the server refused and its reason.  Refused documents stay on the phone
// until a new revision of them reaches the server.

import { Clock, stampEdit } from "../lib/stamps.mjs";

const PouchDB = window.PouchDB;
const STATE_ID = "_local/blockwalk-state";

export const session = {
  db: null,          // the local PouchDB
  name: null,        // the signed-in user
  role: null,
  campaign: null,
  token: null,
  device: null,
  server: location.origin,
};

let state = { dirty: {}, refused: {}, ended: [], last_sync_at: null, notices: [] };
let stateWrite = Promise.resolve();
const listeners = new Set();

export function onChange(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// With "records": `ids`, the documents that changed, and `docs`, the documents
// a pull batch wrote (neither: anything may have changed).
export function notify(what, ids, docs) {
  for (const listener of listeners) {
    try {
      listener(what, ids, docs);
    } catch (err) {
      console.error(err);
    }
  }
}

export function loadSession() {
  const saved = JSON.parse(localStorage.getItem("bw.session") || "null");
  if (!saved || !saved.token) return false;
  Object.assign(session, saved);
  session.device = localStorage.getItem("bw.device") || newDeviceId();
  session.db = new PouchDB(saved.dbName, { auto_compaction: true });
  return true;
}

function newDeviceId() {
  const id = "device:" + randomId();
  localStorage.setItem("bw.device", id);
  return id;
}

export function deviceId() {
  return localStorage.getItem("bw.device") || newDeviceId();
}

export function randomId() {
  if (crypto.randomUUID) return crypto.randomUUID().replace(/-/g, "");
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

export function startSession({ name, role, campaign, token }) {
  const dbName = `bw-${campaign}-${name}-${Date.now()}`;
  localStorage.setItem("bw.session", JSON.stringify({ name, role, campaign, token, dbName }));
  return loadSession();
}

export function saveSessionDb(dbName) {
  const saved = JSON.parse(localStorage.getItem("bw.session"));
  saved.dbName = dbName;
  localStorage.setItem("bw.session", JSON.stringify(saved));
}

export async function loadState() {
  try {
    const doc = await session.db.get(STATE_ID);
    state = { ...state, ...doc };
  } catch (err) {
    if (err.status !== 404) throw err;
  }
  return state;
}

export function getState() {
  return state;
}

// Changes the state in memory and writes it, one write after another.
export function updateState(change) {
  change(state);
  stateWrite = stateWrite.then(async () => {
    const db = session.db;
    let rev;
    try {
      rev = (await db.get(STATE_ID))._rev;
    } catch (err) {
      rev = undefined;
    }
    const { _id, _rev, ...body } = state;
    await db.put({ ...body, _id: STATE_ID, _rev: rev });
  }).catch((err) => console.error("state not saved", err));
  notify("state");
  return stateWrite;
}

// ---- the one record write -------------------------------------------------

// A record's fields, as the stamper reads them: each answer is a field of its own
// ("answers.<name>"), as the server's RECORD_FIELDS (server/records/conflicts.py) has them.
const RECORD_FIELDS = { groups: ["answers"] };

// The field stamps' clock (docs/conflicts.md), kept across restarts.
function stamp(next, previous) {
  const saved = JSON.parse(localStorage.getItem("bw.clock") || "{}");
  const clock = new Clock(saved.ms || 0, saved.counter || 0);
  const out = stampEdit(previous, next, { device: session.device, user: session.name, clock, now: Date.now(),
    layout: RECORD_FIELDS });
  localStorage.setItem("bw.clock", JSON.stringify({ ms: clock.ms, counter: clock.counter }));
  return out;
}

// Every change to a record goes through here: a new record (previous null),
// an edit, a resend.  Each changed field gets its stamp (sync/stamps.mjs).  The write goes to PouchDB at once; replication takes it
// from there.  `attachments`: {name: Blob} to add.
export async function saveRecord(next, previous = null, attachments = {}) {
  const now = new Date().toISOString();
  const doc = { ...next, type: "record" };
  if (!doc._id) doc._id = `record:${randomId()}`;
  if (previous) doc._rev = previous._rev;
  doc.author = doc.author || session.name;
  doc.device = session.device;
  doc.created_at = doc.created_at || now;
  doc.updated_at = now;
  delete doc._conflicts;
  const files = { ...(previous && previous._attachments) };
  for (const [name, blob] of Object.entries(attachments)) {
    files[name] = { content_type: blob.type || "image/jpeg", data: blob };
  }
  if (Object.keys(files).length) doc._attachments = files;
  else delete doc._attachments;
  const stamped = stamp(doc, previous);
  await updateState((s) => {
    s.dirty[doc._id] = s.dirty[doc._id] || null; // pending before it is even written
  });
  const result = await session.db.put(stamped);
  await updateState((s) => {
    s.dirty[doc._id] = result.rev;
  });
  notify("records", [doc._id]);
  return { ...stamped, _rev: result.rev };
}

// ---- reads ------------------------------------------------------------------

export async function byPrefix(prefix, extra = {}) {
  const result = await session.db.allDocs({
    include_docs: true, startkey: prefix, endkey: prefix + "\ufff0", ...extra,
  });
  return result.rows.map((row) => row.doc);
}

export const turfs = () => byPrefix("turf:");
export const households = () => byPrefix("household:");
export const assignments = () => byPrefix("assignment:");

export async function records() {
  return byPrefix("record:", { conflicts: true });
}

// The current winning revision of each of `ids` (with its conflicts); `{_id, _deleted: true}` for one deleted or missing.
export async function docsById(ids) {
  const result = await session.db.allDocs({ keys: ids, include_docs: true, conflicts: true });
  return result.rows.map((row) => (row.doc && !(row.value && row.value.deleted) ? row.doc : { _id: row.key, _deleted: true }));
}

export async function getDoc(id, options = {}) {
  return session.db.get(id, options);
}

// The newest published version of each form.
export async function forms() {
  return newestForms(await byPrefix("form:"));
}

export function newestForms(docs) {
  const latest = {};
  for (const doc of docs) {
    if (doc.status !== "published") continue;
    const have = latest[doc.form_id];
    if (!have || doc.version > have.version) latest[doc.form_id] = doc;
  }
  return Object.values(latest).sort((a, b) => a.form_id.localeCompare(b.form_id));
}

// What has not reached the server: records whose revision on this phone is
// not yet there, refused ones excepted (they are listed apart).
export function pendingIds() {
  return Object.entries(state.dirty)
    .filter(([id, rev]) => !(state.refused[id] && state.refused[id].rev === rev))
    .map(([id]) => id);
}

export function refusedEntries() {
  return Object.entries(state.refused)
    .filter(([id, entry]) => state.dirty[id] === entry.rev)
    .map(([id, entry]) => ({ id, ...entry }));
}

// Walking order: by street, then up the odd side and back down the even side.
export function walkingOrder(list) {
  const key = (h) => {
    const match = /^\s*(\d+)\s*(.*)$/.exec(h.address || "");
    const number = match ? Number(match[1]) : 0;
    const street = (match ? match[2] : h.address || "").toLowerCase();
    const side = number % 2;
    return { street, side, number, unit: h.unit || "" };
  };
  return list
    .map((h) => ({ h, k: key(h) }))
    .sort((a, b) => (typeof a.h.order === "number" && typeof b.h.order === "number" ? a.h.order - b.h.order : 0)
      || a.k.street.localeCompare(b.k.street)
      || b.k.side - a.k.side
      || (a.k.side ? a.k.number - b.k.number : b.k.number - a.k.number)
      || a.k.unit.localeCompare(b.k.unit))
    .map((x) => x.h);
}

// ---- dropping a turf ----------------------------------------------------------

// Copies every document but the turf's into a new local database, which
// replaces the old one: nothing is deleted in a way replication could carry to
// the server.  This phone's records that have not reached the server, and
// refused ones, are kept whatever their turf.
export async function dropTurfs(turfIds) {
  const dropped = new Set(turfIds);
  const keep = new Set(Object.keys(state.dirty));
  const old = session.db;
  const dbName = `bw-${session.campaign}-${session.name}-${Date.now()}`;
  const fresh = new PouchDB(dbName, { auto_compaction: true });
  const belongs = (doc) => (doc.type === "turf" && dropped.has(doc._id))
    || (["household", "record", "concern_status"].includes(doc.type) && dropped.has(doc.turf));
  await old.replicate.to(fresh, { filter: (doc) => keep.has(doc._id) || !belongs(doc) });
  session.db = fresh;
  state.ended = state.ended.filter((t) => !dropped.has(t));
  await updateState(() => {});
  await stateWrite;
  saveSessionDb(dbName);
  await old.destroy();
  notify("records");
}

export async function wipe() {
  const db = session.db;
  localStorage.removeItem("bw.session");
  session.db = null;
  session.token = null;
  state = { dirty: {}, refused: {}, ended: [], last_sync_at: null, notices: [] };
  if (db) await db.destroy();
}
