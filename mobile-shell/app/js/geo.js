// The record's geotag: the browser's position, waited for until the form's
// target accuracy or a bounded time, keeping the best reading; or a point the
// canvasser marks on the map by hand (source "manual").  Editing a saved visit
// starts from its saved geotag and watches nothing until asked.
export const WAIT_MS = 20000;

export class GeoWatch {
  // kept: a saved geotag to start from (editing); then the position is not watched until restart().
  constructor(targetM, onUpdate, kept = null) {
    this.target = targetM || 50;
    this.onUpdate = onUpdate;
    this.reading = kept;
    this.kept = Boolean(kept);
    this.manual = null;
    this.done = Boolean(kept);
    this.failed = false;
    this.watch = null;
    if (!kept) this.start();
  }

  start() {
    this.done = false;
    this.failed = false;
    if (!navigator.geolocation) {
      this.failed = true;
      this.done = true;
      return;
    }
    this.watch = navigator.geolocation.watchPosition(
      (position) => this.seen(position),
      (err) => {
        console.warn("geolocation", err.code, err.message);
        if (!this.reading) this.failed = true;
        this.update();
      },
      { enableHighAccuracy: true, maximumAge: 0, timeout: WAIT_MS },
    );
    this.timer = setTimeout(() => this.stop(), WAIT_MS);
  }

  // "Wait for a better fix": forget this reading (and any point marked by hand) and watch again.
  restart() {
    this.stop(true);
    this.reading = null;
    this.manual = null;
    this.kept = false;
    this.start();
    this.update();
  }

  seen(position) {
    const c = position.coords;
    const reading = {
      lat: Math.round(c.latitude * 1e6) / 1e6,
      lon: Math.round(c.longitude * 1e6) / 1e6,
      accuracy_m: Math.round(c.accuracy * 10) / 10,
      captured_at: new Date(position.timestamp || Date.now()).toISOString(),
      source: "gps",
    };
    if (!this.reading || reading.accuracy_m <= this.reading.accuracy_m) this.reading = reading;
    this.failed = false;
    if (this.reading.accuracy_m <= this.target) this.stop();
    this.update();
  }

  stop(quiet = false) {
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    this.watch = null;
    clearTimeout(this.timer);
    this.done = true;
    if (!quiet) this.update();
  }

  setManual(lat, lon) {
    this.manual = {
      lat: Math.round(lat * 1e6) / 1e6, lon: Math.round(lon * 1e6) / 1e6,
      captured_at: new Date().toISOString(), source: "manual",
    };
    this.kept = false;
    this.stop();
  }

  best() {
    return this.manual || this.reading;
  }

  update() {
    if (this.onUpdate) this.onUpdate(this);
  }
}

// Metres between two points (haversine on the mean earth radius: enough to warn at a door;
// the server measures on the ellipsoid, server/geo/geotags.py).
export function metresBetween(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.min(1, Math.sqrt(h)));
}

// Whether a point is inside a GeoJSON Polygon or MultiPolygon (even-odd rule over every ring).
export function insideShape(point, geometry) {
  if (!geometry) return true;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.type === "MultiPolygon" ? geometry.coordinates : [];
  let inside = false;
  for (const rings of polygons) {
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if ((yi > point.lat) !== (yj > point.lat) && point.lon < ((xj - xi) * (point.lat - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
  }
  return inside;
}

// Metres outside a turf's shape, roughly (to its nearest vertex or edge, on a local flat plane); 0 inside.
export function metresOutside(point, geometry) {
  if (!geometry || insideShape(point, geometry)) return 0;
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  const k = Math.cos((point.lat * Math.PI) / 180);
  const m = 111195; // metres per degree of latitude
  let best = Infinity;
  for (const rings of polygons) {
    for (const ring of rings) {
      for (let i = 1; i < ring.length; i++) {
        const ax = (ring[i - 1][0] - point.lon) * k * m, ay = (ring[i - 1][1] - point.lat) * m;
        const bx = (ring[i][0] - point.lon) * k * m, by = (ring[i][1] - point.lat) * m;
        const dx = bx - ax, dy = by - ay;
        const f = Math.max(0, Math.min(1, -(ax * dx + ay * dy) / (dx * dx + dy * dy || 1)));
        best = Math.min(best, Math.hypot(ax + f * dx, ay + f * dy));
      }
    }
  }
  return best;
}
