// Runs the field-check vectors through the JavaScript checks (forms/fieldchecks.mjs).
//
//   node forms/check_field_vectors.mjs [vectors.json]
//
// Default file: forms/field_vectors.json.  Prints one JSON summary on stdout
// ({file, total, passed, failed, failures}) and exits 1 on any mismatch (or
// when there are no vectors), 2 when a file cannot be read.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { dateOk, emailOk, length, phoneOk, timeOk, typedNumber } from "./fieldchecks.mjs";

const file = process.argv[2] || fileURLToPath(new URL("./field_vectors.json", import.meta.url));
let data;
let table;
try {
  data = JSON.parse(readFileSync(file, "utf8"));
  table = JSON.parse(readFileSync(fileURLToPath(new URL("./phone_regions.json", import.meta.url)), "utf8"));
} catch (error) {
  process.stdout.write(JSON.stringify({ file, error: String(error) }) + "\n");
  process.exit(2);
}

const CHECKS = {
  phone: (v) => phoneOk(v.value, v.region, table),
  email: (v) => emailOk(v.value),
  date: (v) => dateOk(v.value),
  time: (v) => timeOk(v.value),
  integer: (v) => typedNumber(v.value, "integer") ?? null,
  decimal: (v) => typedNumber(v.value, "decimal") ?? null,
  length: (v) => length(v.value),
};

const failures = [];
let passed = 0;
(data.vectors || []).forEach((v, index) => {
  let actual;
  try {
    actual = CHECKS[v.check](v);
  } catch (error) {
    actual = `threw ${error}`;
  }
  if (actual === v.expected) passed += 1;
  else failures.push({ index, check: v.check, value: v.value, region: v.region, expected: v.expected, actual });
});
const total = (data.vectors || []).length;
process.stdout.write(JSON.stringify({ file, total, passed, failed: failures.length, failures: failures.slice(0, 50) }) + "\n");
process.exit(failures.length === 0 && total > 0 ? 0 : 1);
