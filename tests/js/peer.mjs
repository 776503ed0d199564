// A real PouchDB 9 peer, driven by the Python tests over JSON lines.
//
// stdin:  {"id": 1, "op": "bulkDocs", "args": {...}}   one request a line
// stdout: {"id": 1, "result": ...} or {"id": 1, "error": {"name", "message", "status"}}
//
// Local databases use the memory adapter; a remote is {"url", "token"} or
// {"url", "username", "password"}.  Every request PouchDB sends to a remote is
// logged (method, path, number of docs) so tests can see what went over the wire,
// and a remote can be told to fail after N _bulk_docs requests (a cut-off sync).
import readline from 'node:readline';
import PouchDB from 'pouchdb';
import memory from 'pouchdb-adapter-memory';

PouchDB.plugin(memory);

// A browser logs an unhandled rejection and goes on; Node would exit.  PouchDB
// leaves one unhandled when the server goes away during its setup request
// (GET /db), which the crash tests do on purpose: count them, like a browser.
let unhandledRejections = 0;
process.on('unhandledRejection', () => { unhandledRejections += 1; });

const locals = new Map();
const lives = new Map();
const log = [];

function local(name) {
  if (!locals.has(name)) locals.set(name, new PouchDB(name, { adapter: 'memory' }));
  return locals.get(name);
}

function remote(spec) {
  if (typeof spec === 'string') return local(spec);
  let bulkDocsLeft = spec.failAfterBulkDocs ?? Infinity;
  const fetch = async (url, opts = {}) => {
    const headers = new Headers(opts.headers || {});
    if (spec.token) headers.set('Authorization', `Bearer ${spec.token}`);
    if (spec.username) {
      headers.set('Authorization', 'Basic ' + Buffer.from(`${spec.username}:${spec.password}`).toString('base64'));
    }
    const path = new URL(url).pathname;
    let docs = 0;
    if (path.endsWith('/_bulk_docs') && typeof opts.body === 'string') {
      docs = JSON.parse(opts.body).docs.length;
      if (bulkDocsLeft <= 0) throw new TypeError('network cut off (test)');
      bulkDocsLeft -= 1;
    }
    log.push({ method: opts.method || 'GET', path, docs });
    return PouchDB.fetch(url, { ...opts, headers });
  };
  return new PouchDB(spec.url, { fetch, skip_setup: spec.skip_setup ?? false });
}

function summary(result, denied) {
  if (!result) return null;
  return {
    ok: result.ok,
    status: result.status,
    docs_read: result.docs_read,
    docs_written: result.docs_written,
    doc_write_failures: result.doc_write_failures,
    errors: (result.errors || []).map(String),
    denied,
  };
}

async function replicate({ from, to, options = {} }) {
  const denied = [];
  const rep = PouchDB.replicate(remote(from), remote(to), options);
  rep.on('denied', (err) => denied.push({ id: err.id, name: err.name, reason: err.reason || err.message }));
  const result = await rep;
  return summary(result, denied);
}

const ops = {
  async bulkDocs({ db, docs, options = {} }) { return local(db).bulkDocs(docs, options); },
  async put({ db, doc }) { return local(db).put(doc); },
  async get({ db, id, options = {} }) { return local(db).get(id, options); },
  async allDocs({ db, options = {} }) { return local(db).allDocs(options); },
  // The same call on a remote database (what an app does for the visibility check of docs/channels.md).
  async remoteAllDocs({ remote: spec, options = {} }) { return remote({ skip_setup: true, ...spec }).allDocs(options); },
  async info({ db }) { return local(db).info(); },
  async remove({ db, id, rev }) { return local(db).remove(id, rev); },
  async getAttachment({ db, id, name }) {
    const blob = await local(db).getAttachment(id, name);
    return Buffer.from(blob).toString('base64');
  },
  async destroy({ db }) { await local(db).destroy(); locals.delete(db); return true; },
  async generate({ db, count, prefix = 'household', size = 900 }) {
    const filler = 'x'.repeat(size);
    for (let start = 0; start < count; start += 1000) {
      const docs = [];
      for (let i = start; i < Math.min(count, start + 1000); i++) {
        docs.push({ _id: `${prefix}:${String(i).padStart(6, '0')}`, type: 'household', n: i,
          address: `${2600 + i} W Fulton St`, unit: i % 4 ? null : '2F', notes: filler,
          location: { lat: 41.88 + i * 1e-6, lon: -87.63 } });
      }
      await local(db).bulkDocs(docs);
    }
    return (await local(db).info()).doc_count;
  },
  replicate,
  async sync({ a, b, options = {}, timeoutMs = 0 }) {
    const sync = PouchDB.sync(remote(a), remote(b), options);
    let timer;
    // A sync whose server died during its setup request can wait forever (the
    // setup's rejection goes unhandled): like an app, give up and sync again.
    const expiry = new Promise((resolve, reject) => {
      if (timeoutMs) timer = setTimeout(() => { sync.cancel(); reject(new Error('sync timed out (test)')); }, timeoutMs);
    });
    try {
      const result = await (timeoutMs ? Promise.race([sync, expiry]) : sync);
      return { push: summary(result.push, []), pull: summary(result.pull, []) };
    } finally {
      clearTimeout(timer);
    }
  },
  async live({ name, from, to, options = {} }) {
    const state = { changes: [], errors: [], paused: 0, denied: [] };
    const rep = PouchDB.replicate(remote(from), remote(to), { ...options, live: true, retry: true });
    rep.on('change', (info) => state.changes.push({ at: Date.now(), ids: info.docs.map((d) => d._id) }));
    rep.on('paused', () => { state.paused += 1; });
    rep.on('error', (err) => state.errors.push(String(err)));
    rep.on('denied', (err) => state.denied.push(err.id));
    lives.set(name, { rep, state });
    return true;
  },
  async liveState({ name }) { return lives.get(name).state; },
  async cancel({ name }) { lives.get(name).rep.cancel(); lives.delete(name); return true; },
  async unhandledRejections() { return unhandledRejections; },
  async requestLog({ clear = false }) { const copy = log.slice(); if (clear) log.length = 0; return copy; },
};

const rl = readline.createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  const { id, op, args } = JSON.parse(line);
  try {
    if (!ops[op]) throw new Error(`unknown op ${op}`);
    const result = await ops[op](args || {});
    process.stdout.write(JSON.stringify({ id, result: result ?? null }) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ id, error: { name: err.name, message: err.message, status: err.status } }) + '\n');
  }
});
rl.on('close', () => process.exit(0));
