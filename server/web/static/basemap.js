// The base map under every coordinator map: the server's own archive (/tiles/, BLOCKWALK_BASEMAP,
// docs/basemap.md) when it has one, else the tile server BLOCKWALK_TILE_URL names, else none
// (vector turfs and points on grey).  Pages call addBaseMap(map) once, right after L.map().
let source = null;

async function baseMapSource() {
  if (!source) {
    source = (async () => {
      const site = await fetch("/coordinator/site.json").then((r) => r.json()).catch(() => ({}));
      if (!site.tile_url) return null;
      const found = { url: site.tile_url, attribution: site.tile_attribution || "", meta: null };
      if (site.tile_url.startsWith("/tiles/")) {
        found.meta = await fetch("/tiles/meta.json").then((r) => (r.ok ? r.json() : null)).catch(() => null);
      }
      return found;
    })();
  }
  return source;
}

// Adds the base map to a Leaflet map; resolves with the tile layer, or null when the server has none.
export async function addBaseMap(map) {
  const L = window.L;
  const found = await baseMapSource();
  if (!found) return null;
  const options = { attribution: found.attribution, maxZoom: 19 };
  if (found.meta) {
    // Past the archive's deepest zoom its tiles are scaled up; outside its area nothing is asked for.
    const [west, south, east, north] = found.meta.bounds;
    Object.assign(options, { maxNativeZoom: found.meta.max_zoom, bounds: L.latLngBounds([south, west], [north, east]) });
  }
  const layer = L.tileLayer(found.url, options);
  layer.addTo(map);
  return layer;
}
