// The compiler: a syntax tree to nested closures, and the entry points (Expr,
// parse, evaluate, references).  The twin of forms/expressions/compiler.py.

import { compileCall, todayText } from './functions.mjs';
import { Parser } from './syntax.mjs';
import { arith, compare, eq, ExpressionError, hasOwn, MAX_LENGTH, relation, toNumber, truthy } from './values.mjs';

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
