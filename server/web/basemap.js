// The base map under every map of the coordinator pages: the server's tile layer, if it has one.
// /coordinator/site.json says whether the server is configured with BLOCKWALK_TILE_URL; without it
// the maps show their vector turfs and points on a blank ground.

const L = window.L;

export async function addBaseMap(map) {
  const site = await fetch("site.json").then((r) => r.json()).catch(() => ({}));
  if (site.tile_url) L.tileLayer(site.tile_url, { attribution: site.tile_attribution || "", maxZoom: 19 }).addTo(map);
}
