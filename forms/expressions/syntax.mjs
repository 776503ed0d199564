// Syntax: the tokens, the parser (text to a tree of arrays) and the functions'
// arity table.  The twin of forms/expressions/syntax.py.

import { compileRegex, RegexError } from './regex.mjs';
import { ExpressionError, hasOwn, MAX_DEPTH, MAX_PATTERN_LENGTH, stringLength, SURROGATE } from './values.mjs';

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

export class Parser {
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
