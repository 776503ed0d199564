// The compiler: a syntax tree to nested closures, and the entry points (Expr,
// parse, evaluate, references).  The twin of forms/expressions/compiler.py.

import { compileRegex, RegexError, regexTest } from './regex.mjs';
import {
  arith,
  atom,
  codePoints,
  compare,
  DATE_PREFIX,
  DATE_TEXT,
  dateFromDays,
  dayNumber,
  eq,
  ExpressionError,
  hasOwn,
  item,
  items,
  MAX_DAY,
  MAX_DEPTH,
  MAX_LENGTH,
  MAX_PATTERN_LENGTH,
  MIN_DAY,
  NUMBER_TEXT,
  pad,
  relation,
  stringLength,
  SURROGATE,
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

function todayText(today) {
  if (today === undefined || today === null) return null;
  if (today instanceof Date) {
    return `${pad(today.getFullYear(), 4)}-${pad(today.getMonth() + 1, 2)}-${pad(today.getDate(), 2)}`;
  }
  const m = typeof today === 'string' ? DATE_TEXT.exec(today) : null;
  if (m && dayNumber(m[1], m[2], m[3]) !== null) return today;
  throw new ExpressionError(`today must be a Date or 'YYYY-MM-DD', not ${String(today)}`);
}

// ---------------------------------------------------------------- lexer

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const FUNCTION_NAME = /[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z_][A-Za-z0-9_]*)*/y;
const NUMBER = /[0-9]+(?:\.[0-9]*)?|\.[0-9]+/y;
const DIGITS = '0123456789';
const NAME_START = '_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const NUMBER_ENDERS = NAME_START + DIGITS + '.';
const BLANKS = ' \t\n\r';
const OPERATOR_WORDS = { or: 1, and: 2, div: 6, mod: 6 };
const OPERATOR_SYMBOLS = { '=': 3, '!=': 3, '<': 4, '<=': 4, '>': 4, '>=': 4, '+': 5, '-': 5, '*': 6 };
const HINTS = {
  '&': "use 'and' instead of '&&'",
  '|': "use 'or' instead of '||'",
  '/': "use 'div' to divide",
  '%': "use 'mod' for the remainder",
  '!': "use not(...) instead of '!'",
  '[': "'[' is not part of the language",
  ']': "']' is not part of the language",
  '@': "'@' is not part of the language",
};

function sticky(re, text, i) {
  re.lastIndex = i;
  const m = re.exec(text);
  return m ? m[0] : null;
}

// Tokens are [kind, value, position] with position in code points.
function tokenize(text) {
  const tokens = [];
  const n = text.length;
  // UTF-16 index -> code point index; identity unless the text has surrogates
  const hasPairs = SURROGATE.test(text);
  const cp = hasPairs ? (i) => Array.from(text.slice(0, i)).length : (i) => i;
  const fail = (message, i) => {
    throw new ExpressionError(message, cp(i), text);
  };
  let i = 0;
  while (i < n) {
    const c = text[i];
    if (BLANKS.indexOf(c) >= 0) {
      i += 1;
    } else if (c === '$') {
      if (text[i + 1] !== '{') fail("expected '{' after '$' (write ${name})", i);
      const name = sticky(NAME, text, i + 2);
      if (name === null) fail("expected a field name after '${'", i + 2);
      const j = i + 2 + name.length;
      if (text[j] !== '}') fail(`expected '}' after '\${${name}' (field names use letters, digits and _)`, j);
      tokens.push(['ref', name, cp(i)]);
      i = j + 1;
    } else if (c === "'" || c === '"') {
      const j = text.indexOf(c, i + 1);
      if (j < 0) fail(`unterminated string (no closing ${c})`, i);
      tokens.push(['str', text.slice(i + 1, j), cp(i)]);
      i = j + 1;
    } else if (DIGITS.indexOf(c) >= 0 || (c === '.' && i + 1 < n && DIGITS.indexOf(text[i + 1]) >= 0)) {
      const number = sticky(NUMBER, text, i);
      const j = i + number.length;
      if (j < n && NUMBER_ENDERS.indexOf(text[j]) >= 0) fail('invalid number', i);
      tokens.push(['num', Number(number), cp(i)]);
      i = j;
    } else if (c === '.') {
      if (text[i + 1] === '.') fail("'..' is not supported (there are no groups or repeats)", i);
      tokens.push(['cur', null, cp(i)]);
      i += 1;
    } else if (NAME_START.indexOf(c) >= 0) {
      const name = sticky(FUNCTION_NAME, text, i);
      tokens.push(['name', name, cp(i)]);
      i += name.length;
    } else if ('<>!='.indexOf(c) >= 0) {
      const two = text.slice(i, i + 2);
      if (two === '==') fail("use '=' to compare, not '=='", i);
      if (two === '!=' || two === '<=' || two === '>=') {
        tokens.push(['op', two, cp(i)]);
        i += 2;
      } else if (c === '!') {
        fail(HINTS['!'], i);
      } else {
        tokens.push(['op', c, cp(i)]);
        i += 1;
      }
    } else if ('+-*'.indexOf(c) >= 0) {
      tokens.push(['op', c, cp(i)]);
      i += 1;
    } else if ('(),'.indexOf(c) >= 0) {
      tokens.push([c, c, cp(i)]);
      i += 1;
    } else if (hasOwn.call(HINTS, c)) {
      fail(HINTS[c], i);
    } else {
      fail(`unexpected character '${String.fromCodePoint(text.codePointAt(i))}'`, i);
    }
  }
  tokens.push(['end', null, cp(n)]);
  return tokens;
}

function describe(token) {
  const [kind, value] = token;
  if (kind === 'end') return 'the end of the expression';
  if (kind === 'num') return 'a number';
  if (kind === 'str') return 'a string';
  if (kind === 'ref') return `\${${value}}`;
  if (kind === 'cur') return "'.'";
  return `'${value}'`;
}

// ---------------------------------------------------------------- parser
// Syntax tree nodes (arrays), as in Python:
//   ['num', n] ['str', text, position] ['ref', name] ['cur'] ['neg', node]
//   ['or', nodes] ['and', nodes] ['cmp', first, [[op, node], ...]]
//   ['arith', first, [[op, node], ...]] ['call', name, args, position]

const CHAIN = { 1: 'or', 2: 'and', 3: 'cmp', 4: 'cmp', 5: 'arith', 6: 'arith' };
const LEVEL_OPS = { 3: ['=', '!='], 4: ['<', '<=', '>', '>='], 5: ['+', '-'], 6: ['*', 'div', 'mod'] };

// name -> [fewest arguments, most arguments or null]
export const FUNCTIONS = {
  not: [1, 1],
  true: [0, 0],
  false: [0, 0],
  boolean: [1, 1],
  string: [1, 1],
  number: [1, 1],
  int: [1, 1],
  round: [1, 2],
  floor: [1, 1],
  ceiling: [1, 1],
  abs: [1, 1],
  min: [1, null],
  max: [1, null],
  selected: [2, 2],
  'count-selected': [1, 1],
  'selected-at': [2, 2],
  'string-length': [1, 1],
  substr: [2, 3],
  contains: [2, 2],
  'starts-with': [2, 2],
  'ends-with': [2, 2],
  concat: [0, null],
  regex: [2, 2],
  if: [3, 3],
  coalesce: [2, null],
  today: [0, 0],
  date: [1, 1],
};

class Parser {
  constructor(text) {
    this.text = text;
    this.tokens = tokenize(text);
    this.k = 0;
    this.refs = new Set();
    this.usesCurrent = false;
    this.usesToday = false;
  }

  error(message, position) {
    throw new ExpressionError(message, position, this.text);
  }

  get token() {
    return this.tokens[this.k];
  }

  binaryLevel() {
    const [kind, value] = this.token;
    if (kind === 'op') return OPERATOR_SYMBOLS[value];
    if (kind === 'name' && hasOwn.call(OPERATOR_WORDS, value)) return OPERATOR_WORDS[value];
    return 0;
  }

  parse() {
    const node = this.expression(1, 0);
    if (this.token[0] !== 'end') this.error(`unexpected ${describe(this.token)}`, this.token[2]);
    return node;
  }

  expression(minLevel, depth) {
    let left = this.unary(depth);
    for (;;) {
      const level = this.binaryLevel();
      if (level === 0 || level < minLevel) return left;
      const op = this.token[1];
      this.k += 1;
      const right = this.expression(level + 1, depth + 1);
      const kind = CHAIN[level];
      if (kind === 'or' || kind === 'and') {
        left = left[0] === kind ? [kind, left[1].concat([right])] : [kind, [left, right]];
      } else if (left[0] === kind && LEVEL_OPS[level].indexOf(left[2][0][0]) >= 0) {
        left = [kind, left[1], left[2].concat([[op, right]])];
      } else {
        left = [kind, left, [[op, right]]];
      }
    }
  }

  unary(depth) {
    if (depth > MAX_DEPTH) this.error(`nested deeper than ${MAX_DEPTH} levels`, this.token[2]);
    const [kind, value] = this.token;
    if (kind === 'op' && value === '-') {
      this.k += 1;
      return ['neg', this.unary(depth + 1)];
    }
    return this.primary(depth);
  }

  primary(depth) {
    const [kind, value, pos] = this.token;
    switch (kind) {
      case 'num':
        this.k += 1;
        return ['num', value];
      case 'str':
        this.k += 1;
        return ['str', value, pos];
      case 'ref':
        this.k += 1;
        this.refs.add(value);
        return ['ref', value];
      case 'cur':
        this.k += 1;
        this.usesCurrent = true;
        return ['cur'];
      case '(': {
        this.k += 1;
        const node = this.expression(1, depth + 1);
        if (this.token[0] !== ')') this.error(`expected ')' to close the '(' at character ${pos + 1}`, this.token[2]);
        this.k += 1;
        return node;
      }
      case 'name':
        return this.call(depth);
      default:
        return this.error(`expected a value, found ${describe(this.token)}`, pos);
    }
  }

  call(depth) {
    const [, name, pos] = this.token;
    if (this.tokens[this.k + 1][0] !== '(') {
      if (name === 'true' || name === 'false') this.error(`write ${name}() with parentheses`, pos);
      if (hasOwn.call(OPERATOR_WORDS, name)) this.error(`expected a value, found '${name}'`, pos);
      if (hasOwn.call(FUNCTIONS, name)) this.error(`function ${name}() needs parentheses`, pos);
      this.error(`unknown name '${name}' (write \${${name}} to refer to a field)`, pos);
    }
    if (!hasOwn.call(FUNCTIONS, name)) this.error(`unknown function ${name}()`, pos);
    this.k += 2;
    const args = [];
    if (this.token[0] !== ')') {
      for (;;) {
        args.push(this.expression(1, depth + 1));
        if (this.token[0] === ',') {
          this.k += 1;
          continue;
        }
        if (this.token[0] === ')') break;
        this.error(`expected ',' or ')' in the arguments of ${name}()`, this.token[2]);
      }
    }
    this.k += 1;
    const [low, high] = FUNCTIONS[name];
    if (args.length < low || (high !== null && args.length > high)) {
      const s = (k) => (k !== 1 ? 's' : '');
      let wanted;
      if (high === null) wanted = `at least ${low} argument${s(low)}`;
      else if (low === high) wanted = `${low} argument${s(low)}`;
      else wanted = `${low} to ${high} arguments`;
      this.error(`${name}() takes ${wanted}, found ${args.length}`, pos);
    }
    if (name === 'today') this.usesToday = true;
    if (name === 'regex' && args[1][0] === 'str') {
      const pattern = args[1][1];
      const stringPos = args[1][2];
      if (stringLength(pattern) > MAX_PATTERN_LENGTH) {
        this.error(`regex pattern longer than ${MAX_PATTERN_LENGTH} characters`, stringPos);
      }
      const compiled = compileRegex(pattern);
      if (compiled instanceof RegexError) {
        this.error(`invalid regex pattern: ${compiled.message}`, stringPos + 1 + compiled.offset);
      }
    }
    return ['call', name, args, pos];
  }
}

// ---------------------------------------------------------------- compiler
// Every node becomes a closure f(answers, current, today) -> value.

function get(a, name) {
  return hasOwn.call(a, name) ? a[name] : undefined;
}

function compile(node) {
  switch (node[0]) {
    case 'num':
    case 'str': {
      const value = node[1];
      return () => value;
    }
    case 'ref': {
      const name = node[1];
      return (a) => get(a, name);
    }
    case 'cur':
      return (a, c) => c;
    case 'neg': {
      const f = compile(node[1]);
      return (a, c, t) => -toNumber(f(a, c, t));
    }
    case 'or':
    case 'and':
      return compileLogic(node[0], node[1].map(compile));
    case 'cmp':
      return compileCmp(node);
    case 'arith':
      return compileArith(node);
    default:
      return compileCall(node, compile);
  }
}

function compileLogic(kind, fs) {
  if (kind === 'and') {
    return (a, c, t) => {
      for (let i = 0; i < fs.length; i++) if (!truthy(fs[i](a, c, t))) return false;
      return true;
    };
  }
  return (a, c, t) => {
    for (let i = 0; i < fs.length; i++) if (truthy(fs[i](a, c, t))) return true;
    return false;
  };
}

function compileCmp(node) {
  const [, first, rest] = node;
  if (rest.length === 1) {
    const [op, right] = rest[0];
    const fa = compile(first);
    const fb = compile(right);
    if (op === '=') {
      return (a, c, t) => {
        const x = fa(a, c, t);
        const y = fb(a, c, t);
        return typeof x === 'string' && typeof y === 'string' ? x === y : eq(x, y);
      };
    }
    if (op === '!=') {
      return (a, c, t) => {
        const x = fa(a, c, t);
        const y = fb(a, c, t);
        return typeof x === 'string' && typeof y === 'string' ? x !== y : !eq(x, y);
      };
    }
    return (a, c, t) => relation(op, fa(a, c, t), fb(a, c, t));
  }
  const f0 = compile(first);
  const steps = rest.map(([op, x]) => [op, compile(x)]);
  return (a, c, t) => {
    let v = f0(a, c, t);
    for (let i = 0; i < steps.length; i++) v = compare(steps[i][0], v, steps[i][1](a, c, t));
    return v;
  };
}

function compileArith(node) {
  const [, first, rest] = node;
  const f0 = compile(first);
  const steps = rest.map(([op, x]) => [op, compile(x)]);
  return (a, c, t) => {
    let v = toNumber(f0(a, c, t));
    for (let i = 0; i < steps.length; i++) v = arith(steps[i][0], v, toNumber(steps[i][1](a, c, t)));
    return v;
  };
}

function compileCall(node, compile) {
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

// ---------------------------------------------------------------- public API

export class Expr {
  constructor(text, ast, refs, usesCurrent, usesToday, fn) {
    this.text = text;
    this.ast = ast;
    this.references = Object.freeze(Array.from(refs).sort());
    this.usesCurrent = usesCurrent;
    this.usesToday = usesToday;
    this._fn = fn;
    Object.freeze(this);
  }

  evaluate(answers, current, options) {
    return run(this, answers, current, options);
  }
}

function run(expr, answers, current, options) {
  let a = answers === undefined || answers === null ? {} : answers;
  if (a instanceof Map) a = Object.fromEntries(a);
  const today = options ? todayText(options.today) : null;
  const v = expr._fn(a, current === undefined ? null : current, today);
  return v === undefined || v === null ? '' : v;
}

const parseCache = new Map();

// Parse and compile `text`; throws ExpressionError (with `position`) if it is not valid.
export function parse(text) {
  if (typeof text !== 'string') throw new ExpressionError(`an expression is text, not ${typeof text}`);
  let expr = parseCache.get(text);
  if (expr !== undefined) return expr;
  if (text.length > MAX_LENGTH && Array.from(text).length > MAX_LENGTH) {
    throw new ExpressionError(`expression longer than ${MAX_LENGTH} characters`, MAX_LENGTH, text);
  }
  const parser = new Parser(text);
  const ast = parser.parse();
  expr = new Expr(text, ast, parser.refs, parser.usesCurrent, parser.usesToday, compile(ast));
  if (parseCache.size >= 4096) parseCache.clear();
  parseCache.set(text, expr);
  return expr;
}

function toExpr(exprOrText) {
  return exprOrText instanceof Expr ? exprOrText : parse(exprOrText);
}

// The field names the expression reads with ${name}, as a Set.
export function references(exprOrText) {
  return new Set(toExpr(exprOrText).references);
}

// The value of an expression for one record's answers.  `current` is the value
// of `.`; options.today (a Date or 'YYYY-MM-DD') fixes what today() returns,
// by default the device's local date.  A missing answer reads as ''.
export function evaluate(exprOrText, answers, current, options) {
  return run(toExpr(exprOrText), answers, current, options);
}
