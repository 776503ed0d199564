// Maps with Leaflet: vector turfs and households over the base map: the server's
// own (BLOCKWALK_BASEMAP, kept on the phone by tiles.js) or a tile server's
// (BLOCKWALK_TILE_URL); none when neither is configured.
import { tileMeta } from "./tiles.js";
export const STATUS_COLOURS = { none: "#6b6b6b", contacted: "#0a7d32", other: "#b35c00", you: "#1d4ed8" };

let config = null;
// This server's settings (config.json, kept by the service worker); `again`: read it again (a new
// service worker took over with a changed config).
export async function mapConfig(again = false) {
  if (config && !again) return config;
  try {
    config = await (await fetch("config.json")).json();
  } catch (err) {
    config = { tile_url: null };
  }
  return config;
}

// The server's own base map (/tiles/) comes from the phone's cache when there is no signal (tiles.js, sw.js);
// its zooms and bounds come with config.json.
function baseMap(map, cfg) {
  if (!cfg.tile_url) return;
  const options = { maxZoom: 19, attribution: cfg.tile_attribution || "" };
  const meta = tileMeta(cfg);
  if (meta) {
    const [west, south, east, north] = meta.bounds;
    Object.assign(options, { maxNativeZoom: meta.max_zoom, bounds: window.L.latLngBounds([south, west], [north, east]) });
  }
  window.L.tileLayer(cfg.tile_url, options).addTo(map);
}

// turfs: [{turf, households: [{h, status, label}]}]; onTurf(turfId) when a turf is tapped,
// onDoor(householdId) when a door is (each door's tooltip names its address).
export async function turfMap(container, turfs, onTurf, onDoor) {
  const L = window.L;
  const cfg = await mapConfig();
  const map = L.map(container, { zoomControl: true, attributionControl: Boolean(cfg.tile_url) });
  baseMap(map, cfg);
  map.setView([0, 0], 2); // SVG layers need a view before they are added
  const bounds = L.latLngBounds([]);
  for (const { turf, households } of turfs) {
    if (turf.geometry) {
      const layer = L.geoJSON(turf.geometry, { style: { color: "#1d4ed8", weight: 3, fillOpacity: 0.08 } })
        .bindTooltip(turf.name || turf._id, { permanent: true, direction: "center", className: "turf-label" })
        .on("click", () => onTurf(turf._id)).addTo(map);
      bounds.extend(layer.getBounds());
    }
    for (const { h, status, label } of households) {
      if (!h.location) continue;
      const colour = STATUS_COLOURS[status === "contacted" ? "contacted" : status ? "other" : "none"];
      // A wide, invisible ring around each small dot: a finger finds the door.
      const door = L.circleMarker([h.location.lat, h.location.lon], { radius: 5, color: colour, weight: 1, fillOpacity: 0.9 })
        .bindTooltip(label || h.address || "", { direction: "top" }).addTo(map);
      door.on("click", (event) => { L.DomEvent.stopPropagation(event); if (onDoor) onDoor(h._id); });
      bounds.extend([h.location.lat, h.location.lon]);
    }
  }
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12] });
  return map;
}

// "You are here": the phone's position on a map, once (nothing is kept or sent).
export function showYou(map, point) {
  const L = window.L;
  return L.circleMarker([point.lat, point.lon], { radius: 8, color: "#fff", weight: 3, fillColor: STATUS_COLOURS.you, fillOpacity: 1 })
    .addTo(map);
}

// A map to drop a pin on; resolves with {lat, lon} or null.
export async function pickPoint(container, centre, labels) {
  const L = window.L;
  const cfg = await mapConfig();
  const map = L.map(container, { attributionControl: Boolean(cfg.tile_url) });
  baseMap(map, cfg);
  map.setView(centre ? [centre.lat, centre.lon] : [0, 0], centre ? 18 : 2);
  if (centre) L.circleMarker([centre.lat, centre.lon], { radius: 6, color: "#1d4ed8", interactive: false }).addTo(map); // the door
  let marker = null;
  return new Promise((resolve) => {
    map.on("click", (event) => {
      if (marker) marker.setLatLng(event.latlng);
      else marker = L.circleMarker(event.latlng, { radius: 10, color: "#b00020", weight: 3 }).addTo(map);
      labels.done.disabled = false;
    });
    labels.done.onclick = () => {
      const point = marker ? marker.getLatLng() : null;
      map.remove();
      resolve(point ? { lat: point.lat, lon: point.lng } : null);
    };
    labels.cancel.onclick = () => {
      map.remove();
      resolve(null);
    };
  });
}
