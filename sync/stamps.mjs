// Field stamps for the canvasser app: the same format and the same answers
// as sync/stamps.py (docs/conflicts.md).  Every vector in
// sync/stamp_vectors.json must pass here (node sync/check_stamp_vectors.mjs)
// and in Python (tests/unit/test_stamps.py).
//
//   import { Clock, stampEdit } from './stamps.mjs';
//   const clock = new Clock(saved.ms, saved.counter);      // persist clock.ms and clock.counter
//   const doc = stampEdit(before, after, { device, user, clock, now: Date.now() });
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

// Field key -> value: "answers.<name>" for each answer, top-level keys by name.
export function fieldValues(doc) {
  const out = new Map();
  for (const [key, value] of Object.entries(doc)) {
    if (key.startsWith('_') || META.has(key)) continue;
    if (key === 'answers' && isObject(value)) {
      for (const [name, answer] of Object.entries(value)) out.set(`answers.${name}`, answer);
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

// `after` with stamps for every field that differs from `before` (null: a new
// record) and for every field in `touched`.  Changed fields get one new stamp
// that replaces what they overwrote, and their conflict entries are closed;
// the note of the last merge (`merged`) is dropped.
export function stampEdit(before, after, { device, user, clock, now, touched = [] }) {
  const prev = before || {};
  const oldValues = fieldValues(prev);
  const newValues = fieldValues(after);
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
      stamps[field] = { s: stamp, r: replacedByEdit(prev, field), by: user };
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
