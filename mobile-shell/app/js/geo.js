// The record's geotag: the browser's position, waited for until the form's
// target accuracy or a bounded time, keeping the best reading; or a pin the
// canvasser drops by hand (source "manual").
export const WAIT_MS = 20000;

export class GeoWatch {
  constructor(targetM, onUpdate) {
    this.target = targetM || 50;
    this.onUpdate = onUpdate;
    this.reading = null;
    this.manual = null;
    this.done = false;
    this.failed = false;
    this.watch = null;
    if (!navigator.geolocation) {
      this.failed = true;
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

  stop() {
    if (this.watch !== null) navigator.geolocation.clearWatch(this.watch);
    this.watch = null;
    clearTimeout(this.timer);
    this.done = true;
    this.update();
  }

  setManual(lat, lon) {
    this.manual = {
      lat: Math.round(lat * 1e6) / 1e6, lon: Math.round(lon * 1e6) / 1e6,
      captured_at: new Date().toISOString(), source: "manual",
    };
    this.stop();
  }

  best() {
    return this.manual || this.reading;
  }

  update() {
    if (this.onUpdate) this.onUpdate(this);
  }
}
