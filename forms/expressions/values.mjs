// Values: the limits, ExpressionError, conversions between the value types,
// comparison and arithmetic.  The twin of forms/expressions/values.py.

export const MAX_LENGTH = 2000;
export const MAX_DEPTH = 50;
export const MAX_PATTERN_LENGTH = 200;
export const MAX_REPEAT = 1000;

export class ExpressionError extends Error {
  // reason: what is wrong; position: 0-based character offset or null.
  constructor(reason, position = null, text = null) {
    super(position === null ? reason : `${reason} (at character ${position + 1})`);
    this.name = 'ExpressionError';
    this.reason = reason;
    this.position = position;
    this.text = text;
  }
}

export const hasOwn = Object.prototype.hasOwnProperty;

// ---------------------------------------------------------------- conversions

export const NUMBER_TEXT = /^[ \t\n\r]*-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)[ \t\n\r]*$/;
export const DATE_TEXT = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;
export const DATE_PREFIX = /^([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]|$)/;
const SPLIT = /[ \t\n\r]+/;
export const TRIM = /^[ \t\n\r]+|[ \t\n\r]+$/g;
export const SURROGATE = /[\uD800-\uDFFF]/;
export const MIN_DAY = -719162; // 0001-01-01
export const MAX_DAY = 2932896; // 9999-12-31

function daysInMonth(y, m) {
  if (m === 2) return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].indexOf(m) >= 0 ? 30 : 31;
}

export function dayNumber(ys, ms, ds) {
  const y = Number(ys);
  const m = Number(ms);
  const d = Number(ds);
  if (y < 1 || m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return null;
  // days from civil (proleptic Gregorian), H. Hinnant
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function pad(n, width) {
  let s = String(n);
  while (s.length < width) s = '0' + s;
  return s;
}

export function dateFromDays(days) {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${pad(y, 4)}-${pad(m, 2)}-${pad(d, 2)}`;
}

function textNumber(s) {
  if (NUMBER_TEXT.test(s)) return Number(s);
  const m = DATE_TEXT.exec(s);
  if (m) {
    const days = dayNumber(m[1], m[2], m[3]);
    if (days !== null) return days;
  }
  return NaN;
}

function expandExponent(s) {
  let sign = '';
  if (s[0] === '-') {
    sign = '-';
    s = s.slice(1);
  }
  const e = s.indexOf('e');
  const mantissa = s.slice(0, e);
  const exponent = Number(s.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = mantissa.replace('.', '');
  const point = (dot < 0 ? mantissa.length : dot) + exponent;
  let out;
  if (point <= 0) out = '0.' + '0'.repeat(-point) + digits;
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length);
  else out = digits.slice(0, point) + '.' + digits.slice(point);
  return sign + out;
}

// A number as text: shortest round-trip digits, never an exponent.
function fmt(x) {
  if (x !== x) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return '0';
  const s = String(x);
  return s.indexOf('e') < 0 ? s : expandExponent(s);
}

function unsupported(v) {
  return new ExpressionError(`unsupported answer value of type ${typeof v}`);
}

function geo(d) {
  const lat = d.lat;
  const lon = d.lon;
  if (typeof lat !== 'number' || typeof lon !== 'number') return '';
  const alt = typeof d.altitude_m === 'number' ? d.altitude_m : 0;
  const acc = typeof d.accuracy_m === 'number' ? d.accuracy_m : 0;
  return `${fmt(lat)} ${fmt(lon)} ${fmt(alt)} ${fmt(acc)}`;
}

// One element of a multi-select list as text (nested lists and objects are '').
export function item(x) {
  switch (typeof x) {
    case 'string':
      return x;
    case 'number':
      return fmt(x);
    case 'boolean':
      return x ? 'true' : 'false';
    case 'bigint':
      return fmt(Number(x));
    case 'undefined':
      return '';
    case 'object':
      return '';
    default:
      throw unsupported(x);
  }
}

export function toString(v) {
  switch (typeof v) {
    case 'string':
      return v;
    case 'number':
      return fmt(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
      return '';
    case 'bigint':
      return fmt(Number(v));
    case 'object':
      if (v === null) return '';
      if (Array.isArray(v)) return v.map(item).join(' ');
      return geo(v);
    default:
      throw unsupported(v);
  }
}

export function toNumber(v) {
  switch (typeof v) {
    case 'number':
      return v;
    case 'string':
      return textNumber(v);
    case 'boolean':
      return v ? 1 : 0;
    case 'undefined':
      return NaN;
    case 'bigint':
      return Number(v);
    case 'object':
      return v === null ? NaN : textNumber(toString(v));
    default:
      throw unsupported(v);
  }
}

// string, number or boolean: lists and geopoints become their text, null ''.
export function atom(v) {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    case 'undefined':
      return '';
    case 'bigint':
      return Number(v);
    case 'object':
      return v === null ? '' : toString(v);
    default:
      throw unsupported(v);
  }
}

export function truthy(v) {
  if (v === true) return true;
  if (v === false) return false;
  switch (typeof v) {
    case 'string':
      return v !== '';
    case 'number':
      return v === v && v !== 0;
    case 'undefined':
      return false;
    default:
      return v === null ? false : truthy(atom(v));
  }
}

// The chosen values of a multi-select: a list's non-empty items, or a text's words.
export function items(v) {
  if (Array.isArray(v)) return v.map(item).filter((s) => s !== '');
  const s = toString(atom(v));
  return s.split(SPLIT).filter((w) => w !== '');
}

export function codePoints(s) {
  return SURROGATE.test(s) ? Array.from(s) : null;
}

export function stringLength(s) {
  return SURROGATE.test(s) ? Array.from(s).length : s.length;
}

// Order strings by Unicode code point (as Python does), not by UTF-16 unit.
function compareText(a, b) {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  let i = 0;
  while (i < n && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  if (i === n) return a.length < b.length ? -1 : 1;
  if (i > 0) {
    const p = a.charCodeAt(i - 1);
    if (p >= 0xd800 && p <= 0xdbff) {
      const ca = a.codePointAt(i - 1);
      const cb = b.codePointAt(i - 1);
      if (ca !== cb) return ca < cb ? -1 : 1;
    }
  }
  return a.codePointAt(i) < b.codePointAt(i) ? -1 : 1;
}

// ---------------------------------------------------------------- operators

export function eq(a, b) {
  a = atom(a);
  b = atom(b);
  const ta = typeof a;
  const tb = typeof b;
  if (ta === 'string' && tb === 'string') return a === b;
  if (ta === 'number' || tb === 'number') return toNumber(a) === toNumber(b);
  if (ta === 'boolean' && tb === 'boolean') return a === b;
  return toString(a) === toString(b);
}

const REL = {
  '<': (c) => c < 0,
  '<=': (c) => c <= 0,
  '>': (c) => c > 0,
  '>=': (c) => c >= 0,
};

export function relation(op, a, b) {
  a = atom(a);
  b = atom(b);
  if (typeof a === 'string' && typeof b === 'string') {
    if (a === '' || b === '') return false;
    if (NUMBER_TEXT.test(a) && NUMBER_TEXT.test(b)) return numberRelation(op, Number(a), Number(b));
    return REL[op](compareText(a, b));
  }
  return numberRelation(op, toNumber(a), toNumber(b));
}

function numberRelation(op, x, y) {
  switch (op) {
    case '<':
      return x < y;
    case '<=':
      return x <= y;
    case '>':
      return x > y;
    default:
      return x >= y;
  }
}

export function compare(op, a, b) {
  if (op === '=') return eq(a, b);
  if (op === '!=') return !eq(a, b);
  return relation(op, a, b);
}

export function arith(op, x, y) {
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case 'div':
      return x / y;
    default:
      return x % y;
  }
}
