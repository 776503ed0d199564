// The service worker: the app's files are cached on the first visit, so the
// app starts with no network afterwards.  The server fills in VERSION (a hash
// of every file) and ASSETS (the files): a new version replaces the cache.
// Data never goes through this cache: /sync and /api are the network's.
const VERSION = "__VERSION__";
const ASSETS = __ASSETS__;
const CACHE = `blockwalk-app-${VERSION}`;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (key.startsWith("blockwalk-app-") && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

// The base map's tiles (/tiles/): the ones kept for the volunteer's turfs (js/tiles.js fills
// the cache, never versioned, so an app update keeps them) are served from the phone, signal
// or not; others come from the network when there is some.
const TILES = "blockwalk-tiles";

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method === "GET" && url.origin === location.origin && url.pathname.startsWith("/tiles/")
      && url.pathname !== "/tiles/meta.json") {
    event.respondWith((async () => {
      const hit = await (await caches.open(TILES)).match(url.pathname);
      return hit || fetch(event.request);
    })());
    return;
  }
  if (event.request.method !== "GET" || url.origin !== location.origin || !url.pathname.startsWith("/app/")) return;
  // Cache first (the app must start at once, signal or not); the page itself
  // with ignoreSearch so /app/?campaign=x works offline too.
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    // ignoreVary: module scripts are fetched with an Origin header, and the server varies on it (CORS).
    const hit = await cache.match(event.request, { ignoreSearch: true, ignoreVary: true });
    if (hit) return hit;
    try {
      return await fetch(event.request);
    } catch (err) {
      if (event.request.mode === "navigate") {
        const page = await cache.match("./");
        if (page) return page;
      }
      throw err;
    }
  })());
});
