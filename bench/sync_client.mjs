// The PouchDB side of bench/sync.py: one run against one server (or memory to memory).
//
//   node bench/sync_client.mjs '<json spec>'
//
// spec: {"mode": "remote" | "memory", "docsFile": path to a JSON array of docs
//        (with _rev and _revisions, as a phone holds them), "url": database URL
//        (remote mode; the database must not exist yet), "token": bearer token or
//        null, "rounds": no-op rounds, "batchSize": null for PouchDB's default}
// Prints one JSON line of results on stdout; progress goes to stderr.
//
// PouchDB 9 and its memory adapter are loaded from tests/js/node_modules.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(new URL('../tests/js/package.json', import.meta.url));
const PouchDB = require('pouchdb');
PouchDB.plugin(require('pouchdb-adapter-memory'));

const spec = JSON.parse(process.argv[2]);
const docs = JSON.parse(readFileSync(spec.docsFile, 'utf8'));
const N = docs.length;
const options = spec.batchSize ? { batch_size: spec.batchSize } : {};

let names = 0;
function memory(prefix) {
  names += 1;
  return new PouchDB(`${prefix}-${names}`, { adapter: 'memory' });
}

// Every request a remote sends is counted by endpoint, with its wall time, so a
// phase can be broken down (see --trace in bench/sync.py).
let trace = null;
function endpoint(method, url) {
  const dbPath = new URL(spec.url).pathname.replace(/\/+$/, '');
  const path = new URL(url).pathname;
  let name;
  if (!path.startsWith(dbPath)) name = '<server root>';
  else {
    const rest = path.slice(dbPath.length).split('/').filter(Boolean);
    if (rest.length === 0) name = '<db>';
    else if (rest[0] === '_local') name = '_local/<id>';
    else if (rest[0].startsWith('_')) name = rest[0];
    else name = '<doc>';
  }
  return `${method} ${name}`;
}

function remote() {
  const fetch = async (url, opts = {}) => {
    const headers = new Headers(opts.headers || {});
    if (spec.token) headers.set('Authorization', `Bearer ${spec.token}`);
    if (!trace) return PouchDB.fetch(url, { ...opts, headers });
    const t0 = performance.now();
    const response = await PouchDB.fetch(url, { ...opts, headers });
    // Time until the whole body has arrived, then hand PouchDB a copy.
    const body = await response.arrayBuffer();
    const key = endpoint(opts.method || 'GET', url);
    const row = trace[key] || (trace[key] = { n: 0, ms: 0 });
    row.n += 1;
    row.ms += performance.now() - t0;
    return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
  return new PouchDB(spec.url, { fetch });
}

async function load(db) {
  for (let i = 0; i < N; i += 1000) {
    const result = await db.bulkDocs(docs.slice(i, i + 1000), { new_edits: false });
    const failed = result.filter((r) => r.error);
    if (failed.length) throw new Error(`loading the source failed: ${JSON.stringify(failed[0])}`);
  }
  const info = await db.info();
  if (info.doc_count !== N) throw new Error(`source holds ${info.doc_count} of ${N} docs`);
}

async function timed(label, source, target, expectWritten) {
  const t0 = performance.now();
  const result = await PouchDB.replicate(source, target, options);
  const ms = performance.now() - t0;
  if (!result.ok || result.doc_write_failures || result.docs_written !== expectWritten) {
    throw new Error(`${label}: ok=${result.ok} written=${result.docs_written} of ${expectWritten} ` +
      `failures=${result.doc_write_failures} errors=${JSON.stringify((result.errors || []).map(String))}`);
  }
  return ms;
}

function median(values) {
  const s = values.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

async function withTrace(fn) {
  if (!spec.trace) return { ms: await fn(), trace: null };
  trace = {};
  const ms = await fn();
  const out = trace;
  trace = null;
  return { ms, trace: out };
}

async function runMemory() {
  const source = memory('source');
  await load(source);
  const target = memory('target');
  const ms = await timed('memory to memory', source, target, N);
  return { docs: N, memory_ms: ms };
}

async function runRemote() {
  // Create the database first (an admin token may), so both servers start the
  // replication from the same state: an empty database that exists.
  const headers = spec.token ? { Authorization: `Bearer ${spec.token}` } : {};
  const created = await PouchDB.fetch(spec.url, { method: 'PUT', headers });
  if (created.status !== 201) throw new Error(`PUT ${spec.url}: ${created.status} ${await created.text()}`);
  // The campaign's forms, on every server alike (Blockwalk refuses records of unknown forms).
  const preload = spec.preload || [];
  if (preload.length) {
    const posted = await PouchDB.fetch(`${spec.url}/_bulk_docs`, {
      method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: JSON.stringify({ docs: preload }),
    });
    if (posted.status !== 201) throw new Error(`preloading forms: ${posted.status} ${await posted.text()}`);
  }

  const source = memory('source');
  await load(source);
  process.stderr.write(`  push ${N} docs\n`);
  const push = await withTrace(() => timed('push', source, remote(), N));
  const info = await (await PouchDB.fetch(spec.url, { headers })).json();
  if (info.doc_count !== N + preload.length) throw new Error(`the server holds ${info.doc_count - preload.length} of ${N} docs after the push`);

  process.stderr.write(`  pull ${N} docs\n`);
  const pulled = memory('pulled');
  const server = remote();
  const pull = await withTrace(() => timed('pull', server, pulled, N + preload.length));
  const count = (await pulled.info()).doc_count;
  if (count !== N + preload.length) throw new Error(`the pulled db holds ${count - preload.length} of ${N} docs`);

  process.stderr.write(`  ${spec.rounds} no-op rounds, reusing the remote, then fresh\n`);
  await timed('no-op warm-up', server, pulled, 0);
  const reuse = [];
  for (let i = 0; i < spec.rounds; i++) reuse.push(await timed('no-op', server, pulled, 0));
  const fresh = [];
  for (let i = 0; i < spec.rounds; i++) fresh.push(await timed('no-op (fresh remote)', remote(), pulled, 0));
  const noop = await withTrace(() => timed('no-op (traced)', server, pulled, 0));
  return {
    docs: N, push_ms: push.ms, pull_ms: pull.ms,
    noop_reuse_ms: reuse, noop_fresh_ms: fresh,
    noop_reuse_median_ms: median(reuse), noop_fresh_median_ms: median(fresh),
    trace: spec.trace ? { push: push.trace, pull: pull.trace, noop: noop.trace } : null,
  };
}

try {
  const result = spec.mode === 'memory' ? await runMemory() : await runRemote();
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(0);
} catch (err) {
  process.stderr.write(`sync_client: ${err && err.stack || err}\n`);
  process.exit(1);
}
