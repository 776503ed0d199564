// The portable regex subset of regex(): a pattern is checked and written for
// RegExp.  The twin of forms/expressions/regex.py.

import { hasOwn, MAX_PATTERN_LENGTH, MAX_REPEAT, pad, stringLength, toString } from './values.mjs';

// ---------------------------------------------------------------- regex subset

const REGEX_ESCAPABLE = '\\^$.|?*+()[]{}/-';
const CLASS_SHORTHAND = { d: '0-9', w: 'A-Za-z0-9_', s: '\\t\\n\\x0b\\x0c\\r\\x20' };
const SHORTHAND = {
  d: '[0-9]',
  D: '[^0-9]',
  w: '[A-Za-z0-9_]',
  W: '[^A-Za-z0-9_]',
  s: '[\\t\\n\\x0b\\x0c\\r\\x20]',
  S: '[^\\t\\n\\x0b\\x0c\\r\\x20]',
};
const CONTROL = { n: '\n', r: '\r', t: '\t' };

export class RegexError {
  constructor(message, offset) {
    this.message = message;
    this.offset = offset;
  }
}

function isAsciiAlnum(c) {
  return /^[A-Za-z0-9]$/.test(c);
}

// One literal character, written so that neither engine can misread it.
function lit(c) {
  const code = c.codePointAt(0);
  if (code < 128 && !isAsciiAlnum(c)) return '\\x' + pad(code.toString(16), 2);
  return c;
}

// Checks a pattern against the portable subset and writes it for RegExp with
// the 'u' flag; the Python translator writes the same pattern for `re`.
class RegexTranslator {
  constructor(pattern) {
    this.p = Array.from(pattern); // code points, so offsets match Python's
    this.i = 0;
    this.out = [];
  }

  error(message, offset) {
    throw new RegexError(message, offset === undefined ? this.i : offset);
  }

  peek() {
    return this.i < this.p.length ? this.p[this.i] : '';
  }

  translate() {
    this.alternation(0);
    if (this.i < this.p.length) this.error("unmatched ')'");
    return this.out.join('');
  }

  alternation(depth) {
    if (depth > 20) this.error('groups nested too deeply');
    let unbounded = this.sequence(depth);
    while (this.peek() === '|') {
      this.i += 1;
      this.out.push('|');
      unbounded = this.sequence(depth) || unbounded;
    }
    return unbounded;
  }

  sequence(depth) {
    let unbounded = false;
    while (this.i < this.p.length && this.peek() !== '|' && this.peek() !== ')') {
      const start = this.i;
      const [kind, innerUnbounded] = this.atom(depth);
      const q = this.quantifier();
      if (q === null) {
        unbounded = unbounded || innerUnbounded;
        continue;
      }
      const [text, repeats, isUnbounded] = q;
      if (kind === 'anchor') this.error('nothing to repeat', start);
      if (kind === 'group' && innerUnbounded && repeats) {
        this.error('a repeated group may not contain *, + or {n,} (like (a+)+)', start);
      }
      this.out.push(text);
      unbounded = unbounded || isUnbounded || innerUnbounded;
      const c = this.peek();
      if (c !== '' && '*+?{'.indexOf(c) >= 0) this.error('nothing to repeat');
    }
    return unbounded;
  }

  number() {
    const start = this.i;
    while (this.peek() !== '' && '0123456789'.indexOf(this.peek()) >= 0) this.i += 1;
    if (start === this.i) this.error('expected a number in {n,m}');
    const value = Number(this.p.slice(start, this.i).join(''));
    if (value > MAX_REPEAT) this.error(`repeat count larger than ${MAX_REPEAT}`, start);
    return value;
  }

  quantifier() {
    const c = this.peek();
    const start = this.i;
    let text;
    let repeats;
    let unbounded;
    if (c === '*' || c === '+' || c === '?') {
      this.i += 1;
      text = c;
      repeats = c !== '?';
      unbounded = c !== '?';
    } else if (c === '{') {
      this.i += 1;
      const low = this.number();
      let high = low;
      if (this.peek() === ',') {
        this.i += 1;
        high = this.peek() === '}' ? null : this.number();
      }
      if (this.peek() !== '}') this.error("expected '}' to close {n,m}");
      this.i += 1;
      if (high !== null && high < low) this.error('{n,m} with m smaller than n', start);
      text = high === low ? `{${low}}` : high === null ? `{${low},}` : `{${low},${high}}`;
      repeats = high === null || high > 1;
      unbounded = high === null;
    } else {
      return null;
    }
    if (this.peek() === '?') {
      this.i += 1;
      text += '?';
    }
    return [text, repeats, unbounded];
  }

  atom(depth) {
    const c = this.p[this.i];
    const start = this.i;
    if (c === '(') {
      this.i += 1;
      if (this.peek() === '?' && this.p[this.i + 1] === ':') this.i += 2;
      else if (this.peek() === '?') this.error('only (...) and (?:...) groups are supported');
      this.out.push('(?:');
      const unbounded = this.alternation(depth + 1);
      if (this.peek() !== ')') this.error("missing ')'", start);
      this.i += 1;
      this.out.push(')');
      return ['group', unbounded];
    }
    if (c === '[') {
      this.charClass();
      return ['char', false];
    }
    if (c === '.') {
      this.i += 1;
      this.out.push('[^\\n]');
      return ['char', false];
    }
    if (c === '^') {
      this.i += 1;
      this.out.push('^');
      return ['anchor', false];
    }
    if (c === '$') {
      this.i += 1;
      this.out.push('$');
      return ['anchor', false];
    }
    if (c === '\\') {
      const e = this.i + 1 < this.p.length ? this.p[this.i + 1] : '';
      if (e === '') this.error("pattern ends with '\\'");
      this.i += 2;
      if (hasOwn.call(SHORTHAND, e)) {
        this.out.push(SHORTHAND[e]);
        return ['char', false];
      }
      if (e === 'b' || e === 'B') {
        this.out.push('\\' + e);
        return ['anchor', false];
      }
      if (hasOwn.call(CONTROL, e)) {
        this.out.push(lit(CONTROL[e]));
        return ['char', false];
      }
      if (REGEX_ESCAPABLE.indexOf(e) >= 0) {
        this.out.push(lit(e));
        return ['char', false];
      }
      this.error(`unsupported escape '\\${e}'`, start);
    }
    if ('*+?{'.indexOf(c) >= 0) this.error('nothing to repeat');
    if (c === ']' || c === '}') this.error(`write '\\${c}' for a literal '${c}'`);
    this.i += 1;
    this.out.push(lit(c));
    return ['char', false];
  }

  classAtom() {
    const c = this.peek();
    const start = this.i;
    if (c === '') this.error("missing ']'");
    if (c === '\\') {
      const e = this.i + 1 < this.p.length ? this.p[this.i + 1] : '';
      if (e === '') this.error("pattern ends with '\\'");
      this.i += 2;
      if (hasOwn.call(CLASS_SHORTHAND, e)) return [null, CLASS_SHORTHAND[e]];
      if (hasOwn.call(CONTROL, e)) return [CONTROL[e], null];
      if (REGEX_ESCAPABLE.indexOf(e) >= 0) return [e, null];
      this.error(`unsupported escape '\\${e}' in [...]`, start);
    }
    if (c === '[') this.error("write '\\[' for a literal '[' in [...]");
    this.i += 1;
    return [c, null];
  }

  charClass() {
    const start = this.i;
    this.i += 1;
    const parts = ['['];
    if (this.peek() === '^') {
      this.i += 1;
      parts.push('^');
    }
    if (this.peek() === ']') this.error("empty [] class (write '\\]' for a literal ']')");
    for (;;) {
      if (this.i >= this.p.length) this.error("missing ']'", start);
      if (this.peek() === ']') {
        this.i += 1;
        break;
      }
      const atomStart = this.i;
      const [char, shorthand] = this.classAtom();
      if (this.peek() === '-' && this.i + 1 < this.p.length && this.p[this.i + 1] !== ']') {
        this.i += 1;
        const highStart = this.i;
        const [high, highShorthand] = this.classAtom();
        if (shorthand !== null || highShorthand !== null) {
          this.error('a range cannot use \\d, \\w or \\s', atomStart);
        }
        if (high.codePointAt(0) < char.codePointAt(0)) this.error('range out of order', highStart);
        parts.push(lit(char) + '-' + lit(high));
      } else if (shorthand !== null) {
        parts.push(shorthand);
      } else {
        parts.push(lit(char));
      }
    }
    parts.push(']');
    this.out.push(parts.join(''));
  }
}

const regexCache = new Map();

export function compileRegex(pattern) {
  let compiled = regexCache.get(pattern);
  if (compiled !== undefined) return compiled;
  if (stringLength(pattern) > MAX_PATTERN_LENGTH) {
    compiled = new RegexError(`pattern longer than ${MAX_PATTERN_LENGTH} characters`, 0);
  } else {
    try {
      compiled = new RegExp(new RegexTranslator(pattern).translate(), 'u');
    } catch (error) {
      if (error instanceof RegexError) compiled = error;
      else compiled = new RegexError(`invalid pattern (${error.message})`, 0);
    }
  }
  if (regexCache.size >= 512) regexCache.clear();
  regexCache.set(pattern, compiled);
  return compiled;
}

export function regexTest(value, pattern) {
  const compiled = compileRegex(toString(pattern));
  if (compiled instanceof RegexError) return false;
  return compiled.test(toString(value));
}
