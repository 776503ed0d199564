// Runs the field-stamp test vectors through the JavaScript stamper.
//
//   node sync/check_stamp_vectors.mjs [vectors.json]
//
// Default file: sync/stamp_vectors.json.  Prints one JSON summary on stdout
// ({file, total, passed, failed, failures}) and exits 1 on any mismatch (or
// when there are no vectors), 2 when the file cannot be read.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { Clock, StampError, same, stampEdit } from './stamps.mjs';

const DEFAULT = fileURLToPath(new URL('./stamp_vectors.json', import.meta.url));
const file = process.argv[2] || DEFAULT;

let data;
try {
  data = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  process.stdout.write(JSON.stringify({ file, error: String(error) }) + '\n');
  process.exit(2);
}
const vectors = Array.isArray(data) ? data : data.vectors;
// Where the documents of the vectors keep their fields (sync.stamps.FieldLayout.to_json()).
const layout = (!Array.isArray(data) && data.layout) || { groups: [] };

// Key order matters too: a stamped document must come out byte for byte as Python writes it.
const exact = (a, b) => same(a, b) && JSON.stringify(a) === JSON.stringify(b);

function check(v) {
  const clock = new Clock(v.clock[0], v.clock[1]);
  let actual;
  try {
    if (v.op === 'clock') {
      actual = { hlc: clock.next(v.now, v.seen), clock: [clock.ms, clock.counter] };
    } else if (v.op === 'stamp_edit') {
      const doc = stampEdit(v.before, v.after, { device: v.device, user: v.user, clock, now: v.now, layout, touched: v.touched || [] });
      actual = { doc, clock: [clock.ms, clock.counter] };
    } else {
      return `unknown op ${v.op}`;
    }
  } catch (error) {
    if (v.error && error instanceof StampError) return null;
    return `threw ${error && error.name}: ${error && error.message}`;
  }
  if (v.error) return { problem: 'must be refused', actual };
  return exact(actual, v.expected) ? null : { actual };
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
  else failures.push({ index, name: v.name, ...(typeof problem === 'string' ? { problem } : problem) });
});

const total = (vectors || []).length;
process.stdout.write(JSON.stringify({ file, total, passed, failed: failures.length, failures: failures.slice(0, 50) }) + '\n');
process.exit(failures.length === 0 && total > 0 ? 0 : 1);
