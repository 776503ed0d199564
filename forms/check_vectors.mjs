// Runs expression test vectors through the JavaScript evaluator.
//
//   node forms/check_vectors.mjs [vectors.json]
//
// Default file: forms/expression_vectors.json.  Prints one JSON summary on
// stdout ({file, total, passed, failed, failures}) and exits 1 on any
// mismatch (or when there are no vectors), 2 when the file cannot be read.
// The vector format is described in the file itself and in docs/expressions.md.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { ExpressionError, evaluate, parse, references } from './expressions/index.mjs';

const DEFAULT = fileURLToPath(new URL('./expression_vectors.json', import.meta.url));
const file = process.argv[2] || DEFAULT;

let data;
try {
  data = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  process.stdout.write(JSON.stringify({ file, error: String(error) }) + '\n');
  process.exit(2);
}
const vectors = Array.isArray(data) ? data : data.vectors;
const defaultToday = (!Array.isArray(data) && data.today) || '2026-11-25';

// {"$number": "NaN" | "Infinity" | "-Infinity"} stands for what JSON cannot hold.
function decodeNumber(expected) {
  return { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity }[expected.$number];
}

function encode(v) {
  if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) };
  if (v === undefined) return '<undefined>';
  return v;
}

function closeEnough(a, b) {
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

function same(actual, expected) {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected) && '$number' in expected) {
    const want = decodeNumber(expected);
    if (typeof actual !== 'number') return false;
    return Number.isNaN(want) ? Number.isNaN(actual) : actual === want;
  }
  if (typeof expected === 'number') return typeof actual === 'number' && closeEnough(actual, expected);
  if (typeof expected === 'string' || typeof expected === 'boolean' || expected === null) return actual === expected;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((x, i) => same(actual[i], x));
  }
  if (typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return false;
    const keys = Object.keys(expected);
    return keys.length === Object.keys(actual).length && keys.every((k) => same(actual[k], expected[k]));
  }
  return false;
}

function check(v) {
  if (v.error) {
    let thrown;
    try {
      parse(v.expr);
    } catch (error) {
      thrown = error;
    }
    if (thrown === undefined) return 'parsed, but it must be refused';
    if (!(thrown instanceof ExpressionError)) return `threw ${thrown && thrown.name}: ${thrown && thrown.message}`;
    if (v.position !== undefined && thrown.position !== v.position) {
      return `error at position ${thrown.position}, expected ${v.position} (${thrown.message})`;
    }
    return null;
  }
  let actual;
  try {
    const current = Object.prototype.hasOwnProperty.call(v, 'current') ? v.current : null;
    actual = evaluate(v.expr, v.answers || {}, current, { today: v.today || defaultToday });
  } catch (error) {
    return `threw ${error && error.name}: ${error && error.message}`;
  }
  if (!same(actual, v.expected)) return { actual: encode(actual) };
  if (v.references) {
    const got = Array.from(references(v.expr)).sort();
    const want = v.references.slice().sort();
    if (JSON.stringify(got) !== JSON.stringify(want)) return { references: got };
  }
  return null;
}

const failures = [];
let passed = 0;
(vectors || []).forEach((v, index) => {
  let problem;
  try {
    problem = check(v);
  } catch (error) {
    problem = `checker crashed: ${error && error.stack}`;
  }
  if (problem === null) passed += 1;
  else {
    const failure = { index, expr: v.expr, expected: v.error ? { error: true, position: v.position } : v.expected };
    if (typeof problem === 'string') failure.problem = problem;
    else Object.assign(failure, problem);
    failures.push(failure);
  }
});

const total = (vectors || []).length;
const summary = { file, total, passed, failed: failures.length, failures: failures.slice(0, 50) };
process.stdout.write(JSON.stringify(summary) + '\n');
process.exit(failures.length === 0 && total > 0 ? 0 : 1);
