// The asset map: turfs and clustered assets (or visits), filters, and the asset opened with its
// answers, photo and geotag flags.  Data: /api/v1/campaigns/<c>/assets (GeoJSON, filtered by the
// server), .../assets/turfs, .../assets/records/<id>; downloads: .../assets/export.
import { api, ApiError, base, campaign, campaignInfo, el, frame, localTime, pickCampaign, showError, t } from "./common.js";
import { addBaseMap } from "./basemap.js";
import { downloadCounted, savedText } from "./reports.js";
import { addresses, addressOf, choiceLabel, currentForms, fieldAt, fieldLabel, formOf, text, valueText, words } from "./labels.js";

const L = window.L;
const FLAGS = {
  low_accuracy: ["Low accuracy", "Baja precisión"],
  outside_turf: ["Outside its turf", "Fuera de su zona"],
  far_from_household: ["Far from the household", "Lejos del hogar"],
  impossible_speed: ["Impossible speed", "Velocidad imposible"],
  manual: ["Pin placed by hand", "Ubicado a mano"],
};
const CHECKS = {
  household_m: ["Distance to household (m)", "Distancia al hogar (m)"],
  outside_turf_m: ["Outside the turf by (m)", "Fuera de la zona por (m)"],
  accuracy_threshold_m: ["Accuracy asked (m)", "Precisión pedida (m)"],
  speed_kmh: ["Speed from the previous record (km/h)", "Velocidad desde el registro anterior (km/h)"],
};

const form = document.getElementById("filters");
const detail = document.getElementById("detail");
const errorBox = document.getElementById("error");
const count = document.getElementById("count");
const assets = () => `${base()}/assets`;

let map;
let cluster;
let timeZone = "UTC";
const driveNames = new Map();  // drive id -> its name (the campaign's drives)
const categoryNames = new Map();  // a category's value -> its label (the forms' choices)
const categoryName = (value) => categoryNames.get(value) || (value ? words(value) : "");
const driveName = (value) => driveNames.get(value) || (value ? words(value) : "");
let selected = null;
let loading = 0;

function label(id, en, es) {
  document.getElementById(id).textContent = t(en, es);
}

function options(select, items, anyText) {
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, anyText),
    ...items.map(([value, text]) => el("option", { value }, text)));
  if (items.some(([value]) => value === current)) select.value = current;
}

function nextDay(day) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

// The filters as the API's query: every filter of the form that is set.
function query() {
  const q = new URLSearchParams();
  q.set("kind", form.kind.value || "asset");
  for (const name of ["category", "drive", "canvasser"]) if (form[name].value) q.set(name, form[name].value);
  if (form.since.value) q.set("since", form.since.value);
  if (form.until.value) q.set("until", nextDay(form.until.value)); // "To" includes its day
  const flag = form.flag.value;
  if (flag === "flagged") q.set("flagged", "true");
  else if (flag === "unflagged") q.set("flagged", "false");
  else if (flag) q.set("flag", flag);
  return q;
}

function dot(feature) {
  const flagged = feature.properties.flags.length > 0;
  const [lon, lat] = feature.geometry.coordinates;
  const marker = L.marker([lat, lon], {
    icon: L.divIcon({ className: `asset-dot${flagged ? " flagged" : ""}`, iconSize: [14, 14] }),
    title: `${feature.properties.name || categoryName(feature.properties.category) || t("Visit", "Visita")}` +
      (flagged ? ` (${feature.properties.flags.map((f) => t(...FLAGS[f])).join(", ")})` : ""),
    keyboard: true,
  });
  marker.feature = feature;
  marker.on("click", () => open(feature.properties.record, feature.properties.item, marker));
  return marker;
}

let turfBounds = null;

// A change of the filters: the asset opened before is closed, and the map fits to what is selected.
function closeDetail() {
  if (selected && selected._icon) selected._icon.classList.remove("selected");
  selected = null;
  detail.replaceChildren();
  if (!detail.hidden) {
    detail.hidden = true;
    map.invalidateSize();
  }
}

async function load({ fit = false } = {}) {
  const mine = ++loading;
  errorBox.replaceChildren();
  count.textContent = t("Loading…", "Cargando…");
  try {
    const { response } = await api(`${assets()}?${query()}`, { raw: true });
    const data = await response.json();
    if (mine !== loading) return; // a newer filter is already on its way
    cluster.clearLayers();
    cluster.addLayers(data.features.filter((f) => f.geometry).map(dot));
    if (fit) {
      // A zoom still animating would end where it was going, over the fit: let it end first.
      if (map._animatingZoom) await new Promise((done) => map.once("zoomend", done));
      // The map shows what the filters select: fitted to it (the turfs' view when nothing is selected).
      const placed = data.features.filter((f) => f.geometry);
      const bounds = placed.length ? L.latLngBounds(placed.map((f) => [...f.geometry.coordinates].reverse())) : turfBounds;
      if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [30, 30], maxZoom: 17, animate: false });
    }
    const flagged = data.features.filter((f) => f.properties.flags.length).length;
    const one = data.features.length === 1;
    const what = form.kind.value === "visit" ? (one ? t("visit", "visita") : t("visits", "visitas"))
      : (one ? t("asset", "recurso") : t("assets", "recursos"));
    count.textContent = `${data.features.length} ${what}, ${flagged} ${flagged === 1 ? t("flagged", "marcado") : t("flagged", "marcados")}`;
    return data.features;
  } catch (error) {
    count.textContent = "";
    showError(errorBox, error);
    return [];
  }
}

function fillOptions(features) {
  const distinct = (key) => [...new Set(features.map((f) => f.properties[key]).filter(Boolean))].sort();
  options(form.category, distinct("category").map((v) => [v, categoryName(v)]), t("Any category", "Cualquier categoría"));
  options(form.drive, distinct("drive").map((v) => [v, driveName(v)]), t("Any drive", "Cualquier campaña"));
  options(form.canvasser, distinct("canvasser").map((v) => [v, v]), t("Anyone", "Cualquiera"));
}

async function photo(record, name) {
  const path = `${assets()}/records/${encodeURIComponent(record)}/attachments/${encodeURIComponent(name)}`;
  const { response } = await api(path, { raw: true }); // the token goes in a header: an <img src> cannot send it
  const img = el("img", { alt: t("Photo of the asset", "Foto del recurso") });
  img.src = URL.createObjectURL(await response.blob());
  return img;
}

async function open(record, item, marker) {
  if (selected && selected._icon) selected._icon.classList.remove("selected");
  selected = marker;
  if (marker && marker._icon) marker._icon.classList.add("selected");
  detail.hidden = false;
  map.invalidateSize(); // the panel took some of the map's width
  detail.replaceChildren(el("p", { class: "muted" }, t("Loading…", "Cargando…")));
  try {
    const { body } = await api(`${assets()}/records/${encodeURIComponent(record)}`);
    const definition = await formOf(body.form, body.form_version);
    await addresses([body.household]);
    if (selected !== marker) return; // another asset was opened, or the filters changed, meanwhile
    const point = body.points.find((p) => p.item === item) || body.points[0];
    const flags = point.flags.length
      ? el("p", {}, point.flags.map((f) => el("span", { class: "flag" }, t(...FLAGS[f]))))
      : el("p", { class: "muted" }, t("No geotag flags", "Sin alertas de ubicación"));
    const checks = Object.entries(point.checks).map(([key, value]) =>
      [el("dt", {}, CHECKS[key] ? t(...CHECKS[key]) : words(key)), el("dd", {}, value === null ? "∞" : Number(value).toLocaleString())]);
    const inRepeat = point.item === -1 ? "" : "assets.";
    const answers = Object.entries(point.answers).filter(([key]) => key !== "location" && key !== "photo")
      .map(([key, value]) => {
        const field = fieldAt(definition, `${inRepeat}${key}`) || fieldAt(definition, key);
        return [el("dt", {}, fieldLabel(field, key)), el("dd", {}, valueText(definition, field, value))];
      });
    const conflicts = el("a", { href: `conflicts.html?campaign=${encodeURIComponent(campaign())}&record=${encodeURIComponent(record)}` },
      body.conflicts ? t(`Conflict queue (${body.conflicts} waiting)`, `Cola de conflictos (${body.conflicts})`)
        : t("Conflict queue", "Cola de conflictos"));
    detail.replaceChildren(
      el("button", { type: "button", class: "secondary", onclick: () => { detail.hidden = true; map.invalidateSize(); } },
        t("Close", "Cerrar")),
      el("h2", {}, point.name || categoryName(point.category) || (point.item === -1 ? t("Visit", "Visita") : t("Asset", "Recurso"))),
      el("p", { class: "muted" }, [categoryName(point.category), driveName(body.drive), body.canvasser,
        body.captured_at ? localTime(body.captured_at, timeZone) : null].filter(Boolean).join(" · ")),
      flags,
      checks.length ? el("dl", { class: "checks" }, checks.flat()) : null,
      el("dl", { class: "answers" }, answers.flat()),
      el("div", { id: "photo" }),
      el("p", {}, conflicts),
      el("p", { class: "muted where" }, point.lat == null ? t("No geotag", "Sin ubicación")
        : `${point.lat.toFixed(6)}, ${point.lon.toFixed(6)}` + (point.accuracy_m != null ? ` ± ${point.accuracy_m} m` : "")),
      el("p", { class: "muted household" }, `${t("Household", "Hogar")}: ${addressOf(body.household)}`),
    );
    if (point.photo) {
      photo(record, point.photo).then((img) => document.getElementById("photo").replaceChildren(img))
        .catch((error) => showError(document.getElementById("photo"), error));
    }
  } catch (error) {
    showError(detail, error);
  }
}

async function download(format) {
  const q = query();
  q.set("format", format);
  try {
    const saved = await downloadCounted(`${assets()}/export?${q}`);
    errorBox.replaceChildren(el("p", { class: "muted", role: "status" }, savedText(saved)));
  } catch (error) {
    showError(errorBox, error);
  }
}

async function start() {
  if (!frame("map.html")) return;
  label("filters-title", "Asset map", "Mapa de recursos");
  label("kind-label", "Show", "Mostrar");
  label("category-label", "Category", "Categoría");
  label("drive-label", "Drive", "Campaña de visitas");
  label("canvasser-label", "Canvasser", "Voluntario/a");
  label("since-label", "From", "Desde");
  label("until-label", "To", "Hasta");
  label("flag-label", "Geotag flags", "Alertas de ubicación");
  label("download-csv", "Download CSV", "Descargar CSV");
  label("download-geojson", "Download GeoJSON", "Descargar GeoJSON");
  label("conflicts-link", "Conflict queue", "Cola de conflictos");
  document.getElementById("conflicts-link").href = `conflicts.html?campaign=${encodeURIComponent(campaign())}`;
  form.kind.replaceChildren(el("option", { value: "asset" }, t("Assets", "Recursos")),
    el("option", { value: "visit" }, t("Visits (the records' own geotags)", "Visitas (ubicación de cada registro)")));
  options(form.flag, [["flagged", t("Any flag", "Con alguna alerta")], ["unflagged", t("No flag", "Sin alertas")],
    ...Object.entries(FLAGS).map(([key, names]) => [key, t(...names)])], t("All", "Todos"));
  if (!(await pickCampaign())) {
    showError(errorBox, new Error(t("Choose a campaign on the home page", "Elija una campaña en la página de inicio")));
    return;
  }

  const info = await campaignInfo();
  timeZone = info.time_zone || "UTC";
  for (const drive of info.drives || []) driveNames.set(drive.id, drive.name);
  try {
    for (const definition of await currentForms()) {
      if (definition.drive && !driveNames.has(definition.drive)) driveNames.set(definition.drive, text(definition.title));
      const field = fieldAt(definition, "assets.category") || fieldAt(definition, "category");
      for (const choice of field ? (definition.choices || {})[field.choices] || [] : []) {
        if (!categoryNames.has(choice.value)) categoryNames.set(choice.value, choiceLabel(definition, field, choice.value));
      }
    }
  } catch (error) { /* the filters show the values as words */ }

  map = L.map("map", { zoomControl: true, maxZoom: 19 }).setView([0, 0], 2);
  await addBaseMap(map);
  // No cluster animations: with 100,000 assets they are what makes zooming stutter.
  cluster = L.markerClusterGroup({ chunkedLoading: true, animate: false, disableClusteringAtZoom: 19, spiderfyOnMaxZoom: true });
  map.addLayer(cluster);

  let bounds = null;
  try {
    const { response } = await api(`${assets()}/turfs`, { raw: true });
    const turfs = await response.json();
    const layer = L.geoJSON(turfs, { style: { color: "#0b5cad", weight: 2, fillOpacity: 0.05 } })
      .eachLayer((l) => l.bindTooltip(l.feature.properties.name || l.feature.id, { sticky: true }))
      .addTo(map);
    // The tooltip makes each turf a Tab stop: a screen reader says its name.
    layer.eachLayer((l) => l.getElement()?.setAttribute("aria-label",
      `${t("Turf", "Zona")} ${l.feature.properties.name || ""}`.trim()));
    if (turfs.features.some((f) => f.geometry)) bounds = turfBounds = layer.getBounds();
  } catch (error) {
    if (error instanceof ApiError && (error.status === 403 || error.status === 404)) {
      showError(errorBox, new Error(error.status === 403
        ? t("Only admins, coordinators and organizers may see the asset map", "Solo administradores, coordinadores y organizadores ven el mapa")
        : t("No such campaign", "No existe esa campaña")));
      return;
    }
    showError(errorBox, error);
  }
  const features = await load();
  fillOptions(features);
  if (!bounds && features.length) bounds = L.latLngBounds(features.filter((f) => f.geometry).map((f) => [...f.geometry.coordinates].reverse()));
  if (bounds && bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20] });
  form.addEventListener("change", async () => {
    closeDetail();
    map.getContainer().setAttribute("aria-busy", "true");
    await load({ fit: true });
    map.getContainer().setAttribute("aria-busy", "false");
  });
  form.addEventListener("submit", (event) => event.preventDefault());
  document.getElementById("download-csv").addEventListener("click", () => download("csv"));
  document.getElementById("download-geojson").addEventListener("click", () => download("geojson"));
  document.body.dataset.ready = "true";
}

start();
