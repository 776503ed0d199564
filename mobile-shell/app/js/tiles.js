// The base map kept on the phone (docs/basemap.md): the tiles of the server's own base map
// (/tiles/, BLOCKWALK_BASEMAP) covering the volunteer's turfs, zooms 14 to 18, downloaded in packs
// (POST /tiles/pack) into the Cache Storage when there is signal, within the campaign's size limit (offline_map_mb,
// 25 MB unless the coordinator sets another), and served from there by the service worker
// (sw.js) whether or not there is signal.  A turf that leaves the phone (its assignment
// ended) takes its tiles with it; signing out drops them all.
//
// localStorage "bw.tiles" remembers the size of every tile kept, so the line under the map says
// what is kept.  The base map's meta (zooms, bounds) comes with config.json.
import { t, num } from "./i18n.js";
import { session } from "./store.js";

export const CACHE = "blockwalk-tiles"; // never versioned: an app update keeps the map
const KEY = "bw.tiles";
const ZOOMS = [14, 18];
const DEFAULT_MB = 25;
const MARGIN = 0.0005; // degrees around a turf (~50 m): the streets along its edge
const PACK = 64; // tiles a request (the server takes up to 256)
const TYPES = { png: "image/png", jpg: "image/jpeg", webp: "image/webp" };

export const offlineMap = { phase: "idle", done: 0, total: 0, reason: "" };
let running = null;
let wanted = ""; // what the last run was asked for: turfs, limit, meta

function saved() {
  try {
    return JSON.parse(localStorage.getItem(KEY)) || { sizes: {} };
  } catch (err) {
    return { sizes: {} };
  }
}

function save(state) {
  localStorage.setItem(KEY, JSON.stringify(state));
}

// The base map's meta (format, zooms, bounds): in config.json (server/web/app_shell.py), which the
// service worker keeps, so a map starts with no fetch before it, signal or not.
export function tileMeta(cfg) {
  return (cfg && cfg.tile_url && cfg.tile_meta) || null;
}

function lonToX(lon, z) {
  return Math.floor(((lon + 180) / 360) * 2 ** z);
}

function latToY(lat, z) {
  const s = Math.sin((lat * Math.PI) / 180);
  return Math.floor((0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI)) * 2 ** z);
}

function boxOf(geometry) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(walk);
  };
  walk(geometry.coordinates || []);
  return box[0] <= box[2] ? box : null;
}

// The tile URLs over the turfs, closest zoom last (a full phone keeps the wide view).
export function tilesFor(turfs, meta) {
  const urls = [];
  const seen = new Set();
  const [w0, s0, e0, n0] = meta.bounds;
  for (let z = Math.max(ZOOMS[0], meta.min_zoom); z <= Math.min(ZOOMS[1], meta.max_zoom); z++) {
    for (const turf of turfs) {
      const box = turf.geometry && boxOf(turf.geometry);
      if (!box) continue;
      const west = Math.max(box[0] - MARGIN, w0), south = Math.max(box[1] - MARGIN, s0);
      const east = Math.min(box[2] + MARGIN, e0), north = Math.min(box[3] + MARGIN, n0);
      if (west > east || south > north) continue; // a turf outside the base map
      for (let x = lonToX(west, z); x <= lonToX(east, z); x++) {
        for (let y = latToY(north, z); y <= latToY(south, z); y++) {
          const url = `/tiles/${z}/${x}/${y}.${meta.format}`;
          if (!seen.has(url)) { seen.add(url); urls.push(url); }
        }
      }
    }
  }
  return urls;
}

function limitOf(campaign) {
  const mb = campaign && typeof campaign.offline_map_mb === "number" ? campaign.offline_map_mb : DEFAULT_MB;
  return Math.max(0, mb);
}

export function keptBytes() {
  return Object.values(saved().sizes).reduce((a, b) => a + b, 0);
}

// Keep the tiles of these turfs (and only those) on the phone; safe to call on every redraw.
let last = null;
export function keepTiles(cfg, turfs, campaign) {
  if (!("caches" in window)) return;
  last = [cfg, turfs, campaign];
  const key = JSON.stringify([turfs.map((x) => [x._id, x.geometry]), limitOf(campaign), cfg.tile_url, navigator.onLine]);
  if (key === wanted && offlineMap.phase !== "error") return;
  wanted = key;
  running = (running || Promise.resolve()).catch(() => {}).then(() => download(cfg, turfs, limitOf(campaign)));
}

async function download(cfg, turfs, limitMb) {
  const meta = tileMeta(cfg);
  if (!meta) return update({ phase: "none" });
  const budget = limitMb * 1e6;
  const urls = tilesFor(turfs, meta);
  const keep = new Set(urls);
  const cache = await caches.open(CACHE);
  const state = saved();
  // What left the phone's turfs (an ended assignment) leaves the cache.
  for (const request of await cache.keys()) {
    const path = new URL(request.url).pathname;
    if (!keep.has(path)) await cache.delete(request);
  }
  const sizes = Object.fromEntries(Object.entries(state.sizes).filter(([url]) => keep.has(url)));
  let bytes = Object.values(sizes).reduce((a, b) => a + b, 0);
  // A lowered limit: the closest zooms go first.
  let over = false;
  for (const url of [...urls].reverse()) {
    if (bytes <= budget) break;
    if (!sizes[url]) continue;
    await cache.delete(url);
    bytes -= sizes[url];
    delete sizes[url];
    over = true;
  }
  const missing = [];
  if (!over) for (const url of urls) if (!(url in sizes)) missing.push(url);
  save({ ...state, sizes, budget, full: over });
  if (!budget) {
    for (const url of Object.keys(sizes)) await cache.delete(url);
    save({ ...saved(), sizes: {} });
    return update({ phase: "off" });
  }
  if (!missing.length) return update({ phase: saved().full ? "full" : "done" });
  if (!navigator.onLine) return update({ phase: Object.keys(sizes).length ? "done" : "waiting" });
  let done = urls.length - missing.length;
  let full = false;
  update({ phase: "loading", done, total: urls.length });
  try {
    // In packs (POST /tiles/pack): on a slow network every request waits a round trip, so a pack of
    // 64 tiles costs one instead of 64; the progress moves a pack at a time.  A pack needs the
    // sign-in (the token of the moment: a new sign-in's once the volunteer signs in again).
    for (let i = 0; i < missing.length && !full; i += PACK) {
      const batch = missing.slice(i, i + PACK);
      const response = await fetch("/tiles/pack", {
        method: "POST", headers: { "Content-Type": "application/json", Authorization: "Bearer " + session.token },
        body: JSON.stringify({ tiles: batch.map((url) => url.split(/[/.]/).slice(2, 5).map(Number)) }),
      });
      if (!response.ok) {
        const json = await response.json().catch(() => ({}));
        throw new Error(json.message || `${response.status} ${response.statusText}`);
      }
      const buffer = await response.arrayBuffer();
      const headLength = new DataView(buffer).getUint32(0);
      const index = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, headLength)));
      let at = 4 + headLength;
      for (const url of batch) sizes[url] = sizes[url] ?? 0; // none in the archive there, unless the pack has it
      for (const [z, x, y, length] of index) {
        const url = `/tiles/${z}/${x}/${y}.${meta.format}`;
        const body = new Blob([new Uint8Array(buffer, at, length)], { type: TYPES[meta.format] });
        at += length;
        if (bytes + length > budget) { // closest zooms come last: they are what is left out
          full = true;
          for (const left of batch.slice(batch.indexOf(url))) delete sizes[left];
          break;
        }
        await cache.put(url, new Response(body, { headers: { "Content-Type": TYPES[meta.format] } }));
        sizes[url] = length;
        bytes += length;
      }
      done += batch.length;
      save({ ...saved(), sizes, full });
      update({ phase: "loading", done, total: urls.length });
    }
  } catch (err) {
    save({ ...saved(), sizes, full });
    wanted = ""; // try again on the next redraw with signal
    return update({ phase: "error", reason: err.message || String(err) });
  }
  update({ phase: full ? "full" : "done" });
}

// Signal back: what is missing comes down now, not at the next redraw.
addEventListener("online", () => { if (last) keepTiles(...last); });

// Signing out: nothing of the campaign's area stays on the phone.
export async function dropTiles() {
  wanted = "";
  last = null;
  localStorage.removeItem(KEY);
  if ("caches" in window) await caches.delete(CACHE);
  update({ phase: "idle", done: 0, total: 0 });
}

function update(changes) {
  Object.assign(offlineMap, changes);
  const line = document.getElementById("offline-map");
  if (line) fill(line);
}

function fill(line) {
  const state = saved();
  const size = num(keptBytes() / 1e6, undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
  const budget = num((state.budget ?? DEFAULT_MB * 1e6) / 1e6);
  const { phase, done, total } = offlineMap;
  const text = phase === "loading" ? t("offline_map_loading", { done, n: total })
    : phase === "full" ? t("offline_map_full", { size, budget })
    : phase === "waiting" ? t("offline_map_waiting")
    : phase === "off" ? t("offline_map_off")
    : phase === "error" ? t("offline_map_error", { reason: offlineMap.reason })
    : t("offline_map", { size, budget });
  line.firstChild.textContent = text;
  const bar = line.querySelector("progress");
  bar.hidden = phase !== "loading";
  bar.max = total || 1;
  bar.value = done;
  line.hidden = phase === "none" || phase === "idle" && !Object.keys(state.sizes || {}).length;
}

// The line under the turfs that says what is kept, with a progress bar while it downloads.
export function offlineMapLine() {
  const line = document.createElement("p");
  line.id = "offline-map";
  line.className = "offline-map";
  line.setAttribute("role", "status");
  const words = document.createElement("span");
  const bar = document.createElement("progress");
  bar.setAttribute("aria-label", t("offline_map_loading", { done: 0, n: 0 }).split(":")[0]);
  line.append(words, bar);
  fill(line);
  return line;
}
