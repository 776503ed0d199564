// Shared by the pages that set a campaign up (turfs, households, assignments): numbers and addresses in words,
// turf ids, and the geometry the turfs page counts households with.  (Who may change what, and the campaign's
// API path, are in common.js: WRITERS and base.)
import { t } from "./common.js";

// A number in the page's language ("1,234" / "1.234").
export const number = (n) => Number(n).toLocaleString(t("en", "es"));

// "3 households" / "1 household", in the page's language.
export function households(n) {
  return n === 1 ? t("1 household", "1 hogar") : t(`${number(n)} households`, `${number(n)} hogares`);
}

// A household as a person reads it: "2601 W Fulton St, 2F".
export const address = (h) => [h.address, h.unit].filter(Boolean).join(", ") || t("(no address)", "(sin dirección)");

// A new turf id from its name ("North side" -> "north-side"), not one of `taken`.
export function turfId(name, taken) {
  const stem = (name.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
    .replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 56)) || "turf";
  let id = stem;
  for (let n = 2; taken.has(`turf:${id}`) || taken.has(id); n += 1) id = `${stem}-${n}`;
  return id;
}

// Is the point [lon, lat] inside the ring (a closed or open list of [lon, lat])?  Ray casting.
function inRing([x, y], ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i, i += 1) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

// Is the point inside a GeoJSON Polygon or MultiPolygon (holes are outside)?
export function inGeometry(point, geometry) {
  if (!geometry) return false;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates]
    : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  return polygons.some(([outer, ...holes]) => outer && outer.length >= 3 && inRing(point, outer)
    && !holes.some((hole) => inRing(point, hole)));
}

// How many of the located households ([lon, lat] points) a geometry holds: the page's estimate
// while drawing; the server counts again when the turf is saved, and its count is the one shown after.
export function countInside(points, geometry) {
  let n = 0;
  for (const point of points) if (inGeometry(point, geometry)) n += 1;
  return n;
}
