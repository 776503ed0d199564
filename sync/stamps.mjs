// Field stamps for the canvasser app: the same format and the same answers
// as sync/stamps.py (docs/conflicts.md).  Every vector in
// sync/stamp_vectors.json must pass here (node sync/check_stamp_vectors.mjs)
// and in Python (tests/sync/test_stamps.py).
//
//   import { Clock, stampEdit } from './stamps.mjs';
//   const clock = new Clock(saved.ms, saved.counter);      // persist clock.ms and clock.counter
//   const doc = stampEdit(before, after, { device, user, clock, now: Date.now(), layout });
//
// `layout` says where the document type keeps its fields, as
// sync.stamps.FieldLayout.to_json() gives it: { groups: ['answers'] } makes
// each member of `answers` a field of its own ("answers.<name>"); every other
// top-level key is one field.  The app's records: mobile-shell/app/js/store.js.
//
// A stamp is "<hlc>/<device>": 12 hex digits of wall-clock milliseconds, "-",
// 4 hex digits of a counter, so stamps sort as strings in clock order.

export const HLC_LENGTH = 17;
export const MAX_MS = 16 ** 12 - 1;
export const MAX_COUNTER = 16 ** 4 - 1;
export const MAX_REPLACED = 16;
export const META = new Set(['stamps', 'conflicts', 'merged']);

export class StampError extends Error {
  constructor(message) {
    super(message);
    this.name = 'StampError';
  }
}

const HLC = /^[0-9a-f]{12}-[0-9a-f]{4}$/;

export function formatHlc(ms, counter) {
  return ms.toString(16).padStart(12, '0') + '-' + counter.toString(16).padStart(4, '0');
}

export function parseHlc(text) {
  if (typeof text !== 'string' || !HLC.test(text)) {
    throw new StampError(`Not a clock value: ${JSON.stringify(text)}`);
  }
  return [parseInt(text.slice(0, 12), 16), parseInt(text.slice(13), 16)];
}

// A hybrid logical clock: next(now, seen) is greater than every value this
// clock gave before and than `seen` (a clock value read from a document).
export class Clock {
  constructor(ms = 0, counter = 0) {
    this.ms = ms;
    this.counter = counter;
  }

  next(nowMs, seen = null) {
    const [seenMs, seenCounter] = seen === null || seen === undefined ? [0, 0] : parseHlc(seen);
    let ms = Math.max(this.ms, seenMs, nowMs);
    let counter;
    if (ms === this.ms && ms === seenMs) counter = Math.max(this.counter, seenCounter) + 1;
    else if (ms === this.ms) counter = this.counter + 1;
    else if (ms === seenMs) counter = seenCounter + 1;
    else counter = 0;
    if (counter > MAX_COUNTER) {
      ms += 1;
      counter = 0;
    }
    if (ms > MAX_MS) throw new StampError('The clock is past the year 10889');
    this.ms = ms;
    this.counter = counter;
    return formatHlc(ms, counter);
  }
}

export function stampId(hlc, device) {
  return `${hlc}/${device}`;
}

export function parseStamp(stamp) {
  if (typeof stamp !== 'string' || stamp.length < HLC_LENGTH + 1 || stamp[HLC_LENGTH] !== '/') {
    throw new StampError(`Not a stamp: ${JSON.stringify(stamp)}`);
  }
  parseHlc(stamp.slice(0, HLC_LENGTH));
  return [stamp.slice(0, HLC_LENGTH), stamp.slice(HLC_LENGTH + 1)];
}

export function isStamp(value) {
  try {
    parseStamp(value);
    return true;
  } catch (error) {
    return false;
  }
}

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

export function fieldStamp(doc, field) {
  const stamps = doc.stamps;
  const entry = isObject(stamps) ? stamps[field] : undefined;
  if (!isObject(entry) || !isStamp(entry.s)) return null;
  if (!Array.isArray(entry.r) || !entry.r.every((r) => typeof r === 'string')) return null;
  return entry;
}

// ---------------------------------------------------------------- value digests

// 16 hex digits naming a value up to JSON equality: the first 64 bits of the
// SHA-256 of a tagged encoding, byte for byte as value_digest in
// sync/stamps.py writes it (numbers as IEEE 754 doubles, texts in UTF-8 with
// their byte length, object keys in code point order).  A stamp entry keeps
// the digest of its value (`h`), so the server's merge can tell a value that a
// client which does not stamp changed under an old stamp.
export function valueDigest(value) {
  const parts = [];
  encode(value, parts);
  let length = 0;
  for (const part of parts) length += part.length;
  const bytes = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    bytes.set(part, at);
    at += part.length;
  }
  return sha256Hex(bytes).slice(0, 16);
}

const UTF8 = new TextEncoder();
const ascii = (text) => UTF8.encode(text);

function encode(value, parts) {
  if (value === null || value === undefined) parts.push(ascii('n'));
  else if (value === true) parts.push(ascii('t'));
  else if (value === false) parts.push(ascii('f'));
  else if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      parts.push(ascii('n'));
      return;
    }
    const bytes = new Uint8Array(9);
    bytes[0] = 0x64; // "d"
    new DataView(bytes.buffer).setFloat64(1, value + 0, false); // -0 + 0 is 0
    parts.push(bytes);
  } else if (typeof value === 'string') encodeText(value, parts);
  else if (Array.isArray(value)) {
    parts.push(ascii('['));
    for (const item of value) encode(item, parts);
    parts.push(ascii(']'));
  } else if (isObject(value)) {
    parts.push(ascii('{'));
    for (const key of Object.keys(value).sort(compareText)) {
      encodeText(key, parts);
      encode(value[key], parts);
    }
    parts.push(ascii('}'));
  } else {
    throw new TypeError(`Not a JSON value: ${typeof value}`);
  }
}

function encodeText(text, parts) {
  const data = UTF8.encode(text);
  parts.push(ascii(`s${data.length}:`), data);
}

// SHA-256 (FIPS 180-4), synchronous: crypto.subtle is async and missing off
// localhost on plain HTTP, where the app also runs.
const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

function sha256Hex(message) {
  const padded = new Uint8Array(((message.length + 9 + 63) >> 6) << 6);
  padded.set(message);
  padded[message.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bits = message.length * 8;
  view.setUint32(padded.length - 8, Math.floor(bits / 0x100000000), false);
  view.setUint32(padded.length - 4, bits >>> 0, false);
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const w = new Uint32Array(64);
  const rotr = (x, n) => (x >>> n) | (x << (32 - n));
  for (let block = 0; block < padded.length; block += 64) {
    for (let i = 0; i < 16; i += 1) w[i] = view.getUint32(block + i * 4, false);
    for (let i = 16; i < 64; i += 1) {
      const s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >>> 3);
      const s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >>> 10);
      w[i] = (w[i - 16] + s0 + w[i - 7] + s1) >>> 0;
    }
    let [a, b, c, d, e, f, g, k] = h;
    for (let i = 0; i < 64; i += 1) {
      const t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      k = g; g = f; f = e; e = (d + t1) >>> 0; d = c; c = b; b = a; a = (t1 + t2) >>> 0;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += k;
  }
  return Array.from(h, (x) => x.toString(16).padStart(8, '0')).join('');
}

// Field key -> value: "<group>.<name>" for each member of a group of `layout`,
// the other top-level keys by name.
export function fieldValues(doc, layout) {
  const groups = layout.groups;
  const out = new Map();
  for (const [key, value] of Object.entries(doc)) {
    if (key.startsWith('_') || META.has(key)) continue;
    if (groups.includes(key) && isObject(value)) {
      for (const [name, member] of Object.entries(value)) out.set(`${key}.${name}`, member);
    } else {
      out.set(key, value);
    }
  }
  return out;
}

// JSON equality: key order does not matter.
export function same(a, b) {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => same(x, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && same(a[k], b[k]));
  }
  return false;
}

// Strings compare as Python compares them (by code point), not by UTF-16 unit.
function compareText(a, b) {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

export function newest(stamps) {
  return Array.from(new Set(stamps)).sort((a, b) => compareText(b, a)).slice(0, MAX_REPLACED);
}

export function replacedByEdit(doc, field) {
  const found = new Set();
  const entry = isObject(doc.conflicts) ? doc.conflicts[field] : undefined;
  if (isObject(entry) && Array.isArray(entry.heads)) {
    for (const head of entry.heads) {
      if (!isObject(head)) continue;
      if (isStamp(head.stamp)) found.add(head.stamp);
      for (const r of head.replaced || []) if (typeof r === 'string') found.add(r);
    }
  }
  const own = fieldStamp(doc, field);
  if (own) {
    found.add(own.s);
    for (const r of own.r) found.add(r);
  }
  return newest(found);
}

export function maxHlc(doc) {
  let best = null;
  const consider = (stamp) => {
    if (!isStamp(stamp)) return;
    const hlc = stamp.slice(0, HLC_LENGTH);
    if (best === null || hlc > best) best = hlc;
  };
  if (isObject(doc.stamps)) for (const entry of Object.values(doc.stamps)) if (isObject(entry)) consider(entry.s);
  if (isObject(doc.conflicts)) {
    for (const entry of Object.values(doc.conflicts)) {
      if (isObject(entry) && Array.isArray(entry.heads)) for (const head of entry.heads) if (isObject(head)) consider(head.stamp);
    }
  }
  return best;
}

// `after` with stamps for every field (of `layout`) that differs from `before`
// (null: a new document) and for every field in `touched`.  Changed fields get one new stamp
// that replaces what they overwrote and the digest of their new value (`h`),
// and their conflict entries are closed;
// the note of the last merge (`merged`) is dropped.
export function stampEdit(before, after, { device, user, clock, now, layout, touched = [] }) {
  const prev = before || {};
  const oldValues = fieldValues(prev, layout);
  const newValues = fieldValues(after, layout);
  const changed = new Set(touched);
  for (const field of new Set([...oldValues.keys(), ...newValues.keys()])) {
    if (!oldValues.has(field) || !newValues.has(field) || !same(oldValues.get(field), newValues.get(field))) changed.add(field);
  }
  const stamps = isObject(prev.stamps) ? { ...prev.stamps } : {};
  const conflicts = isObject(prev.conflicts) ? { ...prev.conflicts } : {};
  const out = {};
  for (const [key, value] of Object.entries(after)) if (!META.has(key)) out[key] = value;
  if (changed.size > 0) {
    const stamp = stampId(clock.next(now, maxHlc(prev)), device);
    for (const field of Array.from(changed).sort(compareText)) {
      stamps[field] = { s: stamp, r: replacedByEdit(prev, field), by: user, h: valueDigest(newValues.get(field) ?? null) };
      delete conflicts[field];
    }
  }
  const keys = Object.keys(stamps).sort(compareText);
  if (keys.length > 0) {
    out.stamps = {};
    for (const key of keys) out.stamps[key] = stamps[key];
  }
  if (Object.keys(conflicts).length > 0) out.conflicts = conflicts;
  return out;
}
