// Turfs: the campaign's turfs by name with their households and who walks them; draw a turf on the
// map (Geoman), edit its shape or name, import turfs from a GeoJSON file, delete one after a dialog
// that says what becomes of its households and assignments.
//
// While a shape is drawn or edited the page counts the households inside it itself (setup.js); the
// API re-assigns households when the turf is saved, and the count it answers is the one shown after.
// Data: GET .../turfs (names, counts, revisions), .../assets/turfs (geometries), .../households,
// .../assignments?active=true; writes: PUT and DELETE .../turfs/<id> with If-Match.
import { WRITERS, api, ApiError, base, campaignInfo, el, errorText, everyPage, frame, lang, pickCampaign, showError, t } from "./common.js";
import { addBaseMap } from "./basemap.js";
import { noCampaign } from "./reports.js";
import { countInside, households, number, turfId } from "./setup.js";

const L = window.L;
const $ = (id) => document.getElementById(id);
const status = $("status");
const errorBox = $("error");
const form = $("shape-form");
const dialog = $("delete-dialog");

const TURF_STYLE = { color: "#0b5cad", weight: 2, fillOpacity: 0.08 };
const EDIT_STYLE = { color: "#a3000b", weight: 3, fillOpacity: 0.12 };
const PREVIEW_STYLE = { color: "#7a4f00", weight: 2, dashArray: "6 4", fillOpacity: 0.1 };

let map;
let canWrite = false;
let drives = [];
let turfs = [];  // [{id, name, drive, households, rev, geometry}]
let points = [];  // the located households, [lon, lat]
let assigned = new Map();  // turf id -> [user]
let fullNames = new Map();  // user -> full name, from the campaign's members
// Who walks a turf, as the page names them: full names where they are known, else user names.
const walkers = (turf) => (assigned.get(turf.id) || []).map((user) => fullNames.get(user) || user);
const turfLayer = L.featureGroup();
const householdLayer = L.featureGroup();
const previewLayer = L.featureGroup();
const labelLayer = L.layerGroup();
const previewLabels = L.layerGroup();
let shape = null;  // what the form is about: {kind: "new" | "edit", layer, turf?}
let pending = [];  // the import's preview rows

function text(id, en, es) {
  $(id).textContent = t(en, es);
}

const quoted = (name) => t(`“${name}”`, `«${name}»`);
const nameOf = (id) => (turfs.find((turf) => turf.id === id) || {}).name || t("another turf", "otra zona");
const geometryOf = (layer) => layer.toGeoJSON().geometry;

// ---------------------------------------------------------------------------------------------- loading

async function load() {
  status.replaceChildren(el("p", { class: "muted" }, t("Loading the turfs…", "Cargando las zonas…")));
  map.getContainer().setAttribute("aria-busy", "true");
  try {
    const [list, shapes, active, members] = await Promise.all([
      everyPage(`${base()}/turfs`),
      api(`${base()}/assets/turfs`, { raw: true }).then(({ response }) => response.json()),
      everyPage(`${base()}/assignments?active=true`),
      everyPage(`${base()}/members`),
    ]);
    fullNames = new Map(members.filter((m) => m.full_name).map((m) => [m.user, m.full_name]));
    const geometries = new Map(shapes.features.map((f) => [f.id, f.geometry]));
    turfs = list.map((turf) => ({ ...turf, geometry: geometries.get(turf.id) }))
      .sort((a, b) => (a.name || "").localeCompare(b.name || "", lang));
    assigned = new Map();
    for (const a of active) assigned.set(a.turf, [...(assigned.get(a.turf) || []), a.user]);
    const all = await everyPage(`${base()}/households`, (done, total) => status.replaceChildren(
      el("p", { class: "muted" }, t(`Loading households… ${number(done)} of ${number(total)}`,
        `Cargando hogares… ${number(done)} de ${number(total)}`))));
    points = all.filter((h) => h.location).map((h) => [h.location.lon, h.location.lat]);
    status.replaceChildren();
    drawTurfs();
    drawHouseholds();
    showList();
  } catch (error) {
    status.replaceChildren();
    showError(errorBox, error);
  } finally {
    map.getContainer().setAttribute("aria-busy", "false");
  }
}

function drawTurfs() {
  turfLayer.clearLayers();
  labelLayer.clearLayers();
  for (const turf of turfs) {
    if (!turf.geometry) continue;
    const layer = L.geoJSON(turf.geometry, { style: TURF_STYLE, pmIgnore: false });
    layer.turfId = turf.id;
    turfLayer.addLayer(layer);
    labelLayer.addLayer(label(layer, turf.name || ""));
  }
}

// A turf's name at the middle of its bounds.  (A tooltip bound to the polygon is placed at its centroid
// in rounded pixels, which is off, or nowhere, for a shape added while the map shows the whole world.)
function label(layer, name) {
  return L.tooltip({ permanent: true, direction: "center", className: "turf-label", interactive: false })
    .setLatLng(layer.getBounds().getCenter()).setContent(name);
}

function drawHouseholds() {
  householdLayer.clearLayers();
  const renderer = L.canvas();
  for (const [lon, lat] of points) {
    householdLayer.addLayer(L.circleMarker([lat, lon], {
      renderer, radius: 3, weight: 1, color: "#333", fillColor: "#666", fillOpacity: 0.9, interactive: false, pmIgnore: true,
    }));
  }
}

function fit() {
  const bounds = turfLayer.getBounds();
  if (householdLayer.getLayers().length) bounds.extend(householdLayer.getBounds());
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], animate: false });
}

function showList() {
  const target = $("turf-list");
  if (!turfs.length) {
    target.replaceChildren(el("p", { class: "muted" }, canWrite
      ? t("No turfs yet: draw one on the map or import a GeoJSON file.", "Aún no hay zonas: dibuje una en el mapa o importe un archivo GeoJSON.")
      : t("No turfs yet.", "Aún no hay zonas.")));
    return;
  }
  const rows = turfs.map((turf) => el("tr", { "data-turf": turf.id },
    el("td", {}, el("button", { type: "button", class: "link", onclick: () => zoomTo(turf),
      "aria-label": t(`Show ${turf.name} on the map`, `Ver ${turf.name} en el mapa`) }, turf.name || t("(no name)", "(sin nombre)"))),
    el("td", { class: "num" }, number(turf.households)),
    el("td", { class: "names" }, walkers(turf).join(", ") || el("span", { class: "muted" }, t("no one", "nadie"))),
    canWrite ? el("td", {}, el("span", { class: "actions" },
      el("button", { type: "button", class: "secondary small", onclick: () => startEdit(turf),
        "aria-label": t(`Edit ${turf.name}`, `Editar ${turf.name}`) }, t("Edit", "Editar")),
      el("button", { type: "button", class: "secondary small", onclick: () => askDelete(turf),
        "aria-label": t(`Delete ${turf.name}`, `Borrar ${turf.name}`) }, t("Delete", "Borrar")))) : null));
  target.replaceChildren(el("div", { class: "scroll" }, el("table", { class: "compact" },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("Turf", "Zona")),
      el("th", { scope: "col", class: "num" }, t("Households", "Hogares")),
      el("th", { scope: "col" }, t("Assigned", "Asignada a")),
      canWrite ? el("th", { scope: "col" }, el("span", { class: "muted" }, t("Change", "Cambiar"))) : null)),
    el("tbody", {}, rows))));
}

function zoomTo(turf) {
  const layer = turfLayer.getLayers().find((l) => l.turfId === turf.id);
  if (layer) map.fitBounds(layer.getBounds(), { padding: [30, 30], animate: false });
}

// ---------------------------------------------------------------------------------------------- draw and edit

function countText(geometry) {
  const n = countInside(points, geometry);
  return t(`${households(n)} inside`, `${households(n)} dentro`);
}

function ringOf(latlngs) {
  const flat = latlngs.flat(Infinity).map((p) => [p.lng, p.lat]);
  return flat.length >= 3 ? { type: "Polygon", coordinates: [[...flat, flat[0]]] } : null;
}

function showCount(geometry) {
  $("shape-count").textContent = geometry ? countText(geometry)
    : t("Click the map to place the corners.", "Haga clic en el mapa para poner las esquinas.");
}

function openForm(kind, turf) {
  closeImport();
  $("shape-error").replaceChildren();
  $("shape-overlap").hidden = true;
  $("shape-title").textContent = kind === "new" ? t("New turf", "Zona nueva") : t(`Edit ${quoted(turf.name)}`, `Editar ${quoted(turf.name)}`);
  $("shape-hint").textContent = kind === "new"
    ? t("Click the map at each corner of the turf; click the first corner again to close it. Then drag the corners to adjust, name it and save.",
      "Haga clic en el mapa en cada esquina de la zona; vuelva a hacer clic en la primera para cerrarla. Luego arrastre las esquinas para ajustarla, póngale nombre y guárdela.")
    : t("Drag the corners on the map to change the shape (drag a middle point to add a corner), or change the name.",
      "Arrastre las esquinas en el mapa para cambiar la forma (arrastre un punto intermedio para añadir una esquina), o cambie el nombre.");
  $("turf-name").value = turf ? turf.name || "" : "";
  const select = $("turf-drive");
  select.replaceChildren(el("option", { value: "" }, t("No drive", "Sin campaña de visitas")),
    ...drives.map((d) => el("option", { value: d.id }, d.name || d.id)));
  select.value = turf && turf.drive ? turf.drive : "";
  select.disabled = kind === "edit";  // a turf keeps its drive; its overlaps are judged within it
  select.hidden = $("turf-drive-label").hidden = !drives.length;  // no drives: nothing to choose
  form.hidden = false;
  $("draw").disabled = true;
  $("import-file").disabled = true;
}

function startDraw() {
  cancelShape();
  shape = { kind: "new", layer: null };
  openForm("new");
  showCount(null);
  map.pm.enableDraw("Polygon", { snappable: true, allowSelfIntersection: false, templineStyle: EDIT_STYLE, pathOptions: EDIT_STYLE });
  $("map").scrollIntoView({ block: "nearest" });
  $("turf-name").focus();
}

function startEdit(turf) {
  cancelShape();
  const group = turfLayer.getLayers().find((l) => l.turfId === turf.id);
  const layer = group && group.getLayers()[0];
  if (!layer) return;
  shape = { kind: "edit", layer, turf };
  openForm("edit", turf);
  layer.setStyle(EDIT_STYLE);
  layer.pm.enable({ allowSelfIntersection: false });
  layer.on("pm:edit", () => showCount(geometryOf(layer)));
  showCount(geometryOf(layer));
  zoomTo(turf);
  document.querySelector(`tr[data-turf="${CSS.escape(turf.id)}"]`)?.classList.add("selected");
  $("turf-name").focus();
}

function cancelShape() {
  if (!shape) return;
  map.pm.disableDraw();
  if (shape.layer) {
    shape.layer.pm.disable();
    if (shape.kind === "new") map.removeLayer(shape.layer);
  }
  const edited = shape.kind === "edit";
  shape = null;
  form.hidden = true;
  $("draw").disabled = false;
  $("import-file").disabled = false;
  if (edited) {  // the shape as it was
    drawTurfs();
    showList();
  }
}

// The API's 409 for overlapping turfs, in words with the other turfs' names.
function overlapText(error) {
  const overlaps = (error.body && error.body.errors && error.body.errors.overlaps) || [];
  if (!overlaps.length) return errorText(error);
  const list = overlaps.map((o) => t(`${quoted(nameOf(o.turf))} by ${number(Math.round(o.area_m2))} m²`,
    `${quoted(nameOf(o.turf))} en ${number(Math.round(o.area_m2))} m²`)).join(", ");
  return t(`This shape overlaps ${list}. Turfs of one drive should not overlap: a household there would belong to one of them only. Adjust the corners, or save it anyway.`,
    `Esta forma se superpone con ${list}. Las zonas de una misma campaña no deberían superponerse: un hogar allí pertenecería solo a una. Ajuste las esquinas o guárdela de todos modos.`);
}

async function saveShape(allowOverlap = false) {
  const errors = $("shape-error");
  errors.replaceChildren();
  const name = $("turf-name").value.trim();
  if (!name) {
    showError(errors, new Error(t("Give the turf a name.", "Póngale un nombre a la zona.")));
    $("turf-name").focus();
    return;
  }
  if (!shape || !shape.layer) {
    showError(errors, new Error(t("Draw the turf on the map first: click its corners, then the first corner again.",
      "Primero dibuje la zona en el mapa: haga clic en sus esquinas y luego otra vez en la primera.")));
    return;
  }
  const editing = shape.kind === "edit";
  const id = editing ? shape.turf.id.replace(/^turf:/, "") : turfId(name, new Set(turfs.map((turf) => turf.id)));
  const body = { name, drive: editing ? shape.turf.drive : ($("turf-drive").value || null),
    geometry: geometryOf(shape.layer), allow_overlap: allowOverlap };
  $("shape-save").disabled = true;
  try {
    const { body: saved } = await api(`${base()}/turfs/${encodeURIComponent(id)}`, {
      method: "PUT", body, headers: editing ? { "If-Match": `"${shape.turf.rev}"` } : {},
    });
    cancelShape();
    await load();
    status.replaceChildren(el("p", { class: "ok" }, t(
      `Saved ${quoted(saved.name)}: ${households(saved.households)} in it, as the server counted them.`,
      `Guardada ${quoted(saved.name)}: ${households(saved.households)}, según el servidor.`)));
  } catch (error) {
    if (error instanceof ApiError && error.status === 409) {
      showError(errors, new Error(overlapText(error)));
      $("shape-overlap").hidden = false;
    } else if (error instanceof ApiError && error.status === 412) {
      showError(errors, new Error(t("Someone changed this turf meanwhile; the page now shows it as it is. Make your change again.",
        "Alguien cambió esta zona mientras tanto; la página la muestra ahora como está. Vuelva a hacer su cambio.")));
      cancelShape();
      await load();
    } else {
      showError(errors, error);
    }
  } finally {
    $("shape-save").disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------- delete

function askDelete(turf) {
  cancelShape();
  const users = walkers(turf);
  $("delete-title").textContent = t(`Delete the turf ${quoted(turf.name)}?`, `¿Borrar la zona ${quoted(turf.name)}?`);
  $("delete-text").replaceChildren(el("ul", {},
    el("li", {}, turf.households
      ? t(`Its ${households(turf.households)} stay in the campaign: each goes to another turf that covers it, or to no turf (listed on the Households page).`,
        `Sus ${households(turf.households)} siguen en la campaña: cada uno pasa a otra zona que lo cubra, o a ninguna (en la página de hogares).`)
      : t("It has no households.", "No tiene hogares.")),
    el("li", {}, users.length
      ? t(`The assignment of ${users.join(", ")} ends: their phones stop receiving this turf at their next sync, once what they recorded has reached the server.`,
        `Termina la asignación de ${users.join(", ")}: sus teléfonos dejan de recibir esta zona en la siguiente sincronización, una vez que lo registrado llegue al servidor.`)
      : t("No one is assigned to it.", "Nadie está asignado a ella.")),
    el("li", {}, t("Visits already recorded are kept.", "Las visitas ya registradas se conservan."))));
  $("delete-confirm").textContent = t("Delete turf", "Borrar zona");
  $("delete-cancel").textContent = t("Keep it", "Conservarla");
  dialog.returnValue = "";
  dialog.onclose = () => {
    if (dialog.returnValue === "delete") remove(turf, users);
  };
  dialog.showModal();
}

async function remove(turf, users) {
  try {
    const { body } = await api(`${base()}/turfs/${encodeURIComponent(turf.id.replace(/^turf:/, ""))}`, {
      method: "DELETE", headers: { "If-Match": `"${turf.rev}"` },
    });
    await load();
    const ended = users.length ? t(` The assignment of ${users.join(", ")} ended.`, ` Terminó la asignación de ${users.join(", ")}.`) : "";
    status.replaceChildren(el("p", { class: "ok" }, t(
      `Deleted ${quoted(turf.name)}: ${households(body.reassigned)} moved to another turf or to none.${ended}`,
      `Borrada ${quoted(turf.name)}: ${households(body.reassigned)} pasaron a otra zona o a ninguna.${ended}`)));
  } catch (error) {
    showError(errorBox, error);
    if (error instanceof ApiError && error.status === 412) await load();
  }
}

// ---------------------------------------------------------------------------------------------- import

function closeImport() {
  pending = [];
  previewLayer.clearLayers();
  previewLabels.clearLayers();
  $("import-preview").hidden = true;
  $("import-file").value = "";
}

function featuresOf(data) {
  if (data && data.type === "FeatureCollection" && Array.isArray(data.features)) return data.features;
  if (data && data.type === "Feature") return [data];
  if (data && typeof data.type === "string" && data.coordinates) return [{ type: "Feature", properties: {}, geometry: data }];
  throw new Error(t("The file is not GeoJSON: a FeatureCollection of Polygons or MultiPolygons is expected.",
    "El archivo no es GeoJSON: se espera una FeatureCollection de Polygon o MultiPolygon."));
}

async function preview(file) {
  cancelShape();
  closeImport();
  errorBox.replaceChildren();
  let features;
  try {
    features = featuresOf(JSON.parse(await file.text()));
  } catch (error) {
    showError(errorBox, error instanceof SyntaxError
      ? new Error(t(`${file.name} is not JSON: ${error.message}`, `${file.name} no es JSON: ${error.message}`)) : error);
    return;
  }
  const stem = file.name.replace(/\.[^.]+$/, "");
  pending = features.map((feature, i) => {
    const props = (feature && feature.properties) || {};
    const name = String(props.name ?? props.Name ?? props.NAME ?? props.title ?? `${stem} ${i + 1}`).trim().slice(0, 200);
    const geometry = feature && feature.geometry;
    const polygon = geometry && ["Polygon", "MultiPolygon"].includes(geometry.type);
    return { n: i + 1, name, geometry, count: polygon ? countInside(points, geometry) : null, cells: {} };
  });
  for (const row of pending) {
    if (row.count === null) continue;
    try {
      const layer = L.geoJSON(row.geometry, { style: PREVIEW_STYLE, pmIgnore: true });
      previewLayer.addLayer(layer);
      previewLabels.addLayer(label(layer, row.name));
    } catch (error) { /* coordinates Leaflet cannot draw: the server will say what is wrong */ }
  }
  if (previewLayer.getLayers().length) map.fitBounds(previewLayer.getBounds(), { padding: [20, 20], animate: false });
  $("import-summary").textContent = t(
    `${file.name}: ${pending.length} ${pending.length === 1 ? "turf" : "turfs"}, drawn dashed on the map. Nothing is saved until you press “Save these turfs”.`,
    `${file.name}: ${pending.length} ${pending.length === 1 ? "zona" : "zonas"}, con línea discontinua en el mapa. No se guarda nada hasta que pulse «Guardar estas zonas».`);
  $("import-progress").textContent = "";
  $("import-save").hidden = !pending.length;
  $("import-save").disabled = false;
  $("import-cancel").textContent = t("Cancel", "Cancelar");
  showPreview();
  $("import-preview").hidden = false;
  $("import-save").focus();
}

function showPreview() {
  $("import-table").replaceChildren(el("table", { class: "compact" },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col", class: "num" }, "#"),
      el("th", { scope: "col" }, t("Name", "Nombre")),
      el("th", { scope: "col", class: "num" }, t("Households", "Hogares")),
      el("th", { scope: "col" }, t("Result", "Resultado")))),
    el("tbody", {}, pending.map((row) => el("tr", { "data-feature": row.n },
      el("td", { class: "num" }, row.n),
      el("td", { class: "names" }, row.name),
      el("td", { class: "num" }, row.count === null ? "–" : number(row.count)),
      el("td", { class: row.result ? row.result.ok ? "ok" : "problem" : "muted" }, row.result ? row.result.text
        : row.count === null ? t(`Not a polygon (${(row.geometry && row.geometry.type) || t("no shape", "sin forma")})`,
          `No es un polígono (${(row.geometry && row.geometry.type) || "sin forma"})`)
          : t("Not saved yet", "Aún sin guardar")))))));
}

// Each turf of the file is saved on its own: one the API refuses is shown with its reason, the others are kept.
async function saveImport() {
  $("import-save").disabled = true;
  $("import-cancel").disabled = true;
  const taken = new Set(turfs.map((turf) => turf.id));
  let saved = 0;
  const todo = pending.filter((row) => !(row.result && row.result.ok));
  for (const [i, row] of todo.entries()) {
    $("import-progress").textContent = t(`Saving ${i + 1} of ${todo.length}…`, `Guardando ${i + 1} de ${todo.length}…`);
    const id = turfId(row.name, taken);
    try {
      const { body } = await api(`${base()}/turfs/${encodeURIComponent(id)}`, {
        method: "PUT", body: { name: row.name || id, drive: null, geometry: row.geometry || {} },
      });
      taken.add(body.id);
      saved += 1;
      row.result = { ok: true, text: t(`Saved: ${households(body.households)}`, `Guardada: ${households(body.households)}`) };
    } catch (error) {
      const reason = error instanceof ApiError && error.status === 409 ? overlapText(error).split(". ")[0] : errorText(error);
      row.result = { ok: false, text: t(`Refused: ${reason}`, `Rechazada: ${reason}`) };
    }
    showPreview();
  }
  const refused = pending.filter((row) => row.result && !row.result.ok).length;
  $("import-progress").textContent = refused
    ? t(`${saved} saved; ${refused} refused, each with the server's reason. Fix them in the file and import it again.`,
      `${saved} guardadas; ${refused} rechazadas, cada una con el motivo del servidor. Corríjalas en el archivo e impórtelo de nuevo.`)
    : t(`All ${saved} saved.`, `Las ${saved} se guardaron.`);
  $("import-save").hidden = true;
  $("import-cancel").disabled = false;
  $("import-cancel").textContent = t("Close", "Cerrar");
  previewLayer.clearLayers();
  previewLabels.clearLayers();
  const keep = pending;
  await load();
  fit();  // the campaign's turfs, the new ones among them
  pending = keep;
  $("import-cancel").focus();
}

// ---------------------------------------------------------------------------------------------- start

async function start() {
  if (!frame("turfs.html")) return;
  document.title = `${t("Turfs", "Zonas")} · Blockwalk`;
  text("title", "Turfs", "Zonas");
  text("draw", "Draw a turf", "Dibujar una zona");
  text("import-label", "Import turfs (GeoJSON)", "Importar zonas (GeoJSON)");
  text("turf-name-label", "Name", "Nombre");
  text("turf-drive-label", "Drive", "Campaña de visitas");
  text("shape-save", "Save turf", "Guardar zona");
  text("shape-overlap", "Save it anyway", "Guardarla de todos modos");
  text("shape-cancel", "Cancel", "Cancelar");
  text("import-title", "Turfs in the file", "Zonas del archivo");
  text("import-save", "Save these turfs", "Guardar estas zonas");
  text("list-title", "The campaign's turfs", "Las zonas de la campaña");
  $("map").setAttribute("aria-label", t("Map of the turfs and households", "Mapa de las zonas y los hogares"));
  if (!(await pickCampaign())) return noCampaign(status);
  const info = await campaignInfo();
  canWrite = WRITERS.includes(info.role);
  drives = info.drives || [];

  map = L.map("map", { maxZoom: 19, preferCanvas: false }).setView([0, 0], 2);
  map.pm.setLang(lang === "es" ? "es" : "en");
  map.pm.setGlobalOptions({ snappable: true, allowSelfIntersection: false });
  await addBaseMap(map);
  householdLayer.addTo(map);
  turfLayer.addTo(map);
  previewLayer.addTo(map);
  labelLayer.addTo(map);
  previewLabels.addTo(map);
  map.on("pm:drawstart", ({ workingLayer }) => {
    workingLayer.on("pm:vertexadded", () => showCount(ringOf(workingLayer.getLatLngs())));
  });
  map.on("pm:create", ({ layer }) => {
    if (!shape || shape.kind !== "new") {
      map.removeLayer(layer);
      return;
    }
    shape.layer = layer;
    layer.pm.enable({ allowSelfIntersection: false });
    layer.on("pm:edit", () => showCount(geometryOf(layer)));
    showCount(geometryOf(layer));
    $("turf-name").focus();
  });

  $("tools").hidden = !canWrite;
  if (!canWrite) {
    $("title").after(el("p", { class: "muted" }, t("Only an admin or a coordinator may change turfs.",
      "Solo un administrador o un coordinador puede cambiar las zonas.")));
  }
  $("draw").addEventListener("click", startDraw);
  $("import-file").addEventListener("change", (event) => event.target.files[0] && preview(event.target.files[0]));
  $("import-save").addEventListener("click", saveImport);
  $("import-cancel").addEventListener("click", closeImport);
  $("shape-cancel").addEventListener("click", cancelShape);
  $("shape-overlap").addEventListener("click", () => saveShape(true));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveShape(false);
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancelShape();
  });
  await load();
  fit();
  document.body.dataset.ready = "true";
}

start();
