// The PouchDB side of bench/filtered_sync.py: a new phone's first pull, then no-op pulls.
//
//   node bench/pull_client.mjs '{"url": ..., "token": ... or null, "rounds": 20, "expect": 1000}'
//
// Prints one JSON line: {docs, first_ms, noop_median_ms}.  PouchDB 9 comes from tests/js.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(new URL('../tests/js/package.json', import.meta.url));
const PouchDB = require('pouchdb');
PouchDB.plugin(require('pouchdb-adapter-memory'));

const spec = JSON.parse(process.argv[2]);
const fetch = (url, opts = {}) => {
  const headers = new Headers(opts.headers || {});
  if (spec.token) headers.set('Authorization', `Bearer ${spec.token}`);
  return PouchDB.fetch(url, { ...opts, headers });
};
const remote = new PouchDB(spec.url, { fetch, skip_setup: true });
const phone = new PouchDB('phone', { adapter: 'memory' });

async function pull() {
  const t0 = performance.now();
  const result = await PouchDB.replicate(remote, phone, { batch_size: spec.batchSize || 100 });
  if (!result.ok) throw new Error(`pull failed: ${JSON.stringify(result.errors)}`);
  return { ms: performance.now() - t0, written: result.docs_written };
}

try {
  const first = await pull();
  const docs = (await phone.info()).doc_count;
  if (spec.expect && docs !== spec.expect) throw new Error(`the phone holds ${docs} docs, expected ${spec.expect}`);
  const noops = [];
  for (let i = 0; i < (spec.rounds || 20); i++) noops.push((await pull()).ms);
  noops.sort((a, b) => a - b);
  process.stdout.write(JSON.stringify({ docs, first_ms: first.ms, noop_median_ms: noops[noops.length >> 1] }) + '\n');
} catch (err) {
  process.stderr.write(`pull_client: ${err && err.stack || err}\n`);
  process.exit(1);
}
