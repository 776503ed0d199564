// The functions: their helpers and their compilation into closures.
// compileCall is handed the compiler's function for the arguments, so this
// module does not import the compiler.  The twin of forms/expressions/functions.py.

import { compileRegex, regexTest } from './regex.mjs';
import {
  atom,
  codePoints,
  DATE_PREFIX,
  DATE_TEXT,
  dateFromDays,
  dayNumber,
  ExpressionError,
  item,
  items,
  MAX_DAY,
  MIN_DAY,
  NUMBER_TEXT,
  pad,
  stringLength,
  toNumber,
  toString,
  TRIM,
  truthy,
} from './values.mjs';

// ---------------------------------------------------------------- functions' helpers

function roundHalfAway(x, places) {
  if (places !== places) return NaN;
  if (x !== x || x === Infinity || x === -Infinity) return x;
  places = Math.trunc(places);
  if (places > 400) return x;
  const negative = x < 0 || Object.is(x, -0);
  if (places < -400) return negative ? -0 : 0;
  let s = String(Math.abs(x));
  let digits;
  let point;
  const e = s.indexOf('e');
  let exponent = 0;
  if (e >= 0) {
    exponent = Number(s.slice(e + 1));
    s = s.slice(0, e);
  }
  const dot = s.indexOf('.');
  digits = s.replace('.', '');
  point = (dot < 0 ? s.length : dot) + exponent;
  const keep = point + places;
  let magnitude;
  if (keep < 0) magnitude = 0;
  else if (keep >= digits.length) return x;
  else {
    let kept = digits.slice(0, keep);
    if (digits.charCodeAt(keep) >= 53 /* '5' */) {
      // add one to the kept digits
      const chars = kept.split('');
      let k = chars.length - 1;
      while (k >= 0 && chars[k] === '9') chars[k--] = '0';
      if (k < 0) chars.unshift('1');
      else chars[k] = String.fromCharCode(chars[k].charCodeAt(0) + 1);
      kept = chars.join('');
    }
    magnitude = Number((kept === '' ? '0' : kept) + 'e' + (point - keep));
  }
  return negative ? -magnitude : magnitude;
}

function dateOf(v) {
  v = atom(v);
  if (typeof v === 'string') {
    const m = DATE_PREFIX.exec(v);
    if (m) return dayNumber(m[1], m[2], m[3]) !== null ? `${m[1]}-${m[2]}-${m[3]}` : '';
    if (!NUMBER_TEXT.test(v)) return '';
    v = Number(v);
  } else if (typeof v === 'boolean') {
    return '';
  }
  if (v !== v || v === Infinity || v === -Infinity) return '';
  const days = Math.floor(v);
  if (days < MIN_DAY || days > MAX_DAY) return '';
  return dateFromDays(days);
}

function substr(s, start, end) {
  if (start !== start || end !== end) return '';
  const cps = codePoints(s);
  const length = cps ? cps.length : s.length;
  start = Math.min(Math.max(Math.trunc(start), 0), length);
  end = end === undefined ? length : Math.min(Math.max(Math.trunc(end), 0), length);
  if (end <= start) return '';
  return cps ? cps.slice(start, end).join('') : s.slice(start, end);
}

function selected(v, choice) {
  choice = toString(choice).replace(TRIM, '');
  if (choice === '') return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      if (x === choice || (typeof x !== 'string' && item(x) === choice)) return true;
    }
    return false;
  }
  return items(v).indexOf(choice) >= 0;
}

function selectedAt(v, index) {
  if (!Number.isInteger(index)) return '';
  const list = items(v);
  return index >= 0 && index < list.length ? list[index] : '';
}

function minMax(values, smallest) {
  let best = values[0];
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x !== x) return NaN;
    if (smallest) {
      if (x < best || (x === 0 && best === 0 && Object.is(x, -0))) best = x;
    } else if (x > best || (x === 0 && best === 0 && Object.is(best, -0))) best = x;
  }
  return best;
}

function localToday() {
  const d = new Date();
  return `${pad(d.getFullYear(), 4)}-${pad(d.getMonth() + 1, 2)}-${pad(d.getDate(), 2)}`;
}

export function todayText(today) {
  if (today === undefined || today === null) return null;
  if (today instanceof Date) {
    return `${pad(today.getFullYear(), 4)}-${pad(today.getMonth() + 1, 2)}-${pad(today.getDate(), 2)}`;
  }
  const m = typeof today === 'string' ? DATE_TEXT.exec(today) : null;
  if (m && dayNumber(m[1], m[2], m[3]) !== null) return today;
  throw new ExpressionError(`today must be a Date or 'YYYY-MM-DD', not ${String(today)}`);
}

export function compileCall(node, compile) {
  const [, name, args] = node;
  const fs = args.map(compile);
  const [f0, f1, f2] = fs;
  switch (name) {
    case 'true':
      return () => true;
    case 'false':
      return () => false;
    case 'not':
      return (a, c, t) => !truthy(f0(a, c, t));
    case 'boolean':
      return (a, c, t) => truthy(f0(a, c, t));
    case 'string':
      return (a, c, t) => toString(f0(a, c, t));
    case 'number':
      return (a, c, t) => toNumber(f0(a, c, t));
    case 'int':
      return (a, c, t) => Math.trunc(toNumber(f0(a, c, t)));
    case 'round':
      if (f1 === undefined) return (a, c, t) => roundHalfAway(toNumber(f0(a, c, t)), 0);
      return (a, c, t) => roundHalfAway(toNumber(f0(a, c, t)), toNumber(f1(a, c, t)));
    case 'floor':
      return (a, c, t) => Math.floor(toNumber(f0(a, c, t)));
    case 'ceiling':
      return (a, c, t) => Math.ceil(toNumber(f0(a, c, t)));
    case 'abs':
      return (a, c, t) => Math.abs(toNumber(f0(a, c, t)));
    case 'min':
      return (a, c, t) => minMax(fs.map((f) => toNumber(f(a, c, t))), true);
    case 'max':
      return (a, c, t) => minMax(fs.map((f) => toNumber(f(a, c, t))), false);
    case 'selected':
      return (a, c, t) => selected(f0(a, c, t), f1(a, c, t));
    case 'count-selected':
      return (a, c, t) => items(f0(a, c, t)).length;
    case 'selected-at':
      return (a, c, t) => selectedAt(f0(a, c, t), toNumber(f1(a, c, t)));
    case 'string-length':
      return (a, c, t) => stringLength(toString(f0(a, c, t)));
    case 'substr':
      if (f2 === undefined) return (a, c, t) => substr(toString(f0(a, c, t)), toNumber(f1(a, c, t)), undefined);
      return (a, c, t) => substr(toString(f0(a, c, t)), toNumber(f1(a, c, t)), toNumber(f2(a, c, t)));
    case 'contains':
      return (a, c, t) => toString(f0(a, c, t)).indexOf(toString(f1(a, c, t))) >= 0;
    case 'starts-with':
      return (a, c, t) => toString(f0(a, c, t)).startsWith(toString(f1(a, c, t)));
    case 'ends-with':
      return (a, c, t) => toString(f0(a, c, t)).endsWith(toString(f1(a, c, t)));
    case 'concat':
      return (a, c, t) => fs.map((f) => toString(f(a, c, t))).join('');
    case 'regex':
      if (args[1][0] === 'str') {
        const compiled = compileRegex(args[1][1]); // checked by the parser
        return (a, c, t) => compiled.test(toString(f0(a, c, t)));
      }
      return (a, c, t) => regexTest(f0(a, c, t), f1(a, c, t));
    case 'if':
      return (a, c, t) => (truthy(f0(a, c, t)) ? f1(a, c, t) : f2(a, c, t));
    case 'coalesce':
      return (a, c, t) => {
        for (let i = 0; i < fs.length; i++) {
          const v = fs[i](a, c, t);
          if (toString(v) !== '') return v;
        }
        return '';
      };
    case 'today':
      return (a, c, t) => (t !== null ? t : localToday());
    case 'date':
      return (a, c, t) => dateOf(f0(a, c, t));
    default:
      throw new Error(`no implementation for ${name}()`);
  }
}
