// Households: import a CSV or GeoJSON file (a preview first, then the API's report with every
// refused line or feature by its number), and the households of each turf by address, the
// households in no turf among them.
// Data: POST .../households/import (multipart), GET .../households?turf= | ?unassigned=true, GET .../turfs.
import { WRITERS, api, ApiError, base, campaignInfo, el, everyPage, frame, lang, pickCampaign, showError, t } from "./common.js";
import { noCampaign } from "./reports.js";
import { address, households, number } from "./setup.js";

const $ = (id) => document.getElementById(id);
const status = $("status");
const PREVIEW_ROWS = 10;
const NO_TURF = "none";

let chosen = null;  // the file chosen for import
let turfs = [];

function text(id, en, es) {
  $(id).textContent = t(en, es);
}

// --------------------------------------------------------------------------------------------- preview

// The lines of a CSV text as arrays of cells (quotes as RFC 4180), each with its line number (the header is 1).
function csvLines(textIn, limit) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  const source = textIn.replace(/^\ufeff/, "");
  for (let i = 0; i < source.length && rows.length < limit; i += 1) {
    const c = source[i];
    if (quoted) {
      if (c === '"' && source[i + 1] === '"') { cell += '"'; i += 1; } else if (c === '"') quoted = false;
      else { if (c === "\n") line += 1; cell += c; }
    } else if (c === '"') quoted = true;
    else if (c === ",") { row.push(cell); cell = ""; } else if (c === "\n" || c === "\r") {
      if (c === "\r" && source[i + 1] === "\n") i += 1;
      row.push(cell);
      if (row.some((x) => x.trim())) rows.push({ line: start, cells: row });
      row = [];
      cell = "";
      line += 1;
      start = line;
    } else cell += c;
  }
  if ((cell || row.length) && rows.length < limit) {
    row.push(cell);
    if (row.some((x) => x.trim())) rows.push({ line: start, cells: row });
  }
  return rows;
}

function countLines(textIn) {
  return textIn.split(/\r\n|\n|\r/).filter((l) => l.trim()).length;
}

function previewTable(header, rows) {
  return el("div", { class: "scroll", tabindex: "0", "aria-label": t("The file's first lines", "Las primeras líneas del archivo") },
    el("table", { class: "compact" },
      el("thead", {}, el("tr", {}, header.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((cells) => el("tr", {}, cells.map((c, i) => el("td", { class: i === 0 ? "num" : undefined }, c)))))));
}

async function preview(file) {
  chosen = null;
  $("report").replaceChildren();
  const target = $("preview");
  const content = await file.text();
  const geojson = /\.(geo)?json$/i.test(file.name) || content.trimStart().startsWith("{");
  if (geojson) {
    let data;
    try {
      data = JSON.parse(content);
    } catch (error) {
      showError(target, new Error(t(`${file.name} is not JSON: ${error.message}`, `${file.name} no es JSON: ${error.message}`)));
      $("import-actions").hidden = true;
      return;
    }
    const features = Array.isArray(data && data.features) ? data.features : [];
    const rows = features.slice(0, PREVIEW_ROWS).map((f, i) => {
      const props = (f && f.properties) || {};
      const [lon, lat] = (f && f.geometry && Array.isArray(f.geometry.coordinates)) ? f.geometry.coordinates : ["", ""];
      return [t(`Feature ${i + 1}`, `Elemento ${i + 1}`), props.address ?? "", props.unit ?? "", lat ?? "", lon ?? ""];
    });
    target.replaceChildren(
      el("p", {}, t(`${file.name}: ${number(features.length)} features. The first ${Math.min(PREVIEW_ROWS, features.length)}:`,
        `${file.name}: ${number(features.length)} elementos. Los primeros ${Math.min(PREVIEW_ROWS, features.length)}:`)),
      previewTable(["", t("Address", "Dirección"), t("Unit", "Unidad"), "lat", "lon"], rows));
    chosen = { file, rows: features.length };
  } else {
    const lines = csvLines(content, PREVIEW_ROWS + 1);
    if (!lines.length) {
      showError(target, new Error(t(`${file.name} is empty.`, `${file.name} está vacío.`)));
      $("import-actions").hidden = true;
      return;
    }
    const [header, ...rows] = lines;
    const total = Math.max(0, countLines(content) - 1);
    target.replaceChildren(
      el("p", {}, t(`${file.name}: ${number(total)} lines after the header. The first ${rows.length}, by line number:`,
        `${file.name}: ${number(total)} líneas después del encabezado. Las primeras ${rows.length}, por número de línea:`)),
      previewTable([t("Line", "Línea"), ...header.cells], rows.map((r) => [String(r.line), ...r.cells])));
    chosen = { file, rows: total };
  }
  $("import-send").textContent = t(`Import ${file.name}`, `Importar ${file.name}`);
  $("import-actions").hidden = false;
}

function cancelImport() {
  chosen = null;
  $("file").value = "";
  $("preview").replaceChildren();
  $("import-actions").hidden = true;
}

// --------------------------------------------------------------------------------------------- import

// Where a problem is, in words: "Line 4" of a CSV, "Feature 3" of a GeoJSON file (the API counts features from 0).
function where(item) {
  if (item.where === "line") return t(`Line ${item.row}`, `Línea ${item.row}`);
  if (item.where === "feature") return t(`Feature ${item.row + 1}`, `Elemento ${item.row + 1}`);
  return t("The file", "El archivo");
}

function problemTable(problems) {
  return el("div", { class: "scroll" }, el("table", { class: "compact problems" },
    el("thead", {}, el("tr", {},
      el("th", { scope: "col" }, t("Where", "Dónde")),
      el("th", { scope: "col" }, t("Column", "Columna")),
      el("th", { scope: "col" }, t("Problem", "Problema")))),
    el("tbody", {}, problems.map((p) => el("tr", { "data-row": p.row ?? "" },
      el("td", {}, where(p)), el("td", {}, p.field || ""), el("td", { class: "problem" }, p.message))))));
}

function showReport(report) {
  const parts = [el("p", { class: "ok" }, report.unassigned
    ? t(`Imported ${households(report.created)}; ${number(report.unassigned)} of them are in no turf.`,
      `Se importaron ${households(report.created)}; ${number(report.unassigned)} no están en ninguna zona.`)
    : t(`Imported ${households(report.created)}, each in its turf.`, `Se importaron ${households(report.created)}, cada uno en su zona.`))];
  if (report.problems.length) {
    const lines = new Set(report.problems.map((p) => `${p.where}:${p.row}`)).size;
    parts.push(el("h3", {}, t(`${lines} ${lines === 1 ? "line was" : "lines were"} not imported`,
      `${lines} ${lines === 1 ? "línea no se importó" : "líneas no se importaron"}`)),
    el("p", { class: "muted" }, t("Fix them in the file and import it again: the households already imported are recognised and not added twice.",
      "Corríjalas en el archivo e impórtelo de nuevo: los hogares ya importados se reconocen y no se añaden dos veces.")),
    problemTable(report.problems));
  }
  if (report.duplicates.length) {
    parts.push(el("h3", {}, t(`${report.duplicates.length} already known, not added again`,
      `${report.duplicates.length} ya conocidos, no se añadieron otra vez`)),
    el("div", { class: "scroll" }, el("table", { class: "compact" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("Where", "Dónde")), el("th", { scope: "col" }, t("Address", "Dirección")),
        el("th", { scope: "col" }, t("Same as", "Igual que")))),
      el("tbody", {}, report.duplicates.map((d) => el("tr", {},
        el("td", {}, where(d)), el("td", {}, address(d)),
        el("td", {}, d.duplicate_of_row === null || d.duplicate_of_row === undefined
          ? t("a household already in the campaign", "un hogar que ya está en la campaña")
          : where({ where: d.where, row: d.duplicate_of_row }))))))));
  }
  $("report").replaceChildren(...parts);
}

async function send() {
  if (!chosen) return;
  const data = new FormData();
  data.append("file", chosen.file, chosen.file.name);
  const button = $("import-send");
  button.disabled = true;
  $("import").setAttribute("aria-busy", "true");
  $("report").replaceChildren(el("p", { class: "muted" }, t(`Importing ${chosen.file.name}: the server checks every line…`,
    `Importando ${chosen.file.name}: el servidor revisa cada línea…`)));
  try {
    const { body } = await api(`${base()}/households/import`, { method: "POST", body: data });
    showReport(body);
    cancelImport();
    await loadTurfs();
  } catch (error) {
    const problems = error instanceof ApiError && error.body && error.body.errors && error.body.errors.problems;
    if (problems) {
      $("report").replaceChildren(el("p", { class: "error", role: "alert" }, error.message), problemTable(problems));
    } else {
      showError($("report"), error);
    }
  } finally {
    button.disabled = false;
    $("import").setAttribute("aria-busy", "false");
  }
}

// --------------------------------------------------------------------------------------------- the list

async function total(path) {
  const joiner = path.includes("?") ? "&" : "?";
  const { response } = await api(`${path}${joiner}page_size=1`);
  return JSON.parse(response.headers.get("X-Pagination") || "{}").total ?? 0;
}

async function loadTurfs() {
  const [list, all, loose] = await Promise.all([
    everyPage(`${base()}/turfs`), total(`${base()}/households`), total(`${base()}/households?unassigned=true`)]);
  turfs = list.sort((a, b) => (a.name || "").localeCompare(b.name || "", lang));
  $("summary").textContent = t(
    `${households(all)} in the campaign: ${number(all - loose)} in ${turfs.length} ${turfs.length === 1 ? "turf" : "turfs"}, ${number(loose)} in no turf.`,
    `${households(all)} en la campaña: ${number(all - loose)} en ${turfs.length} ${turfs.length === 1 ? "zona" : "zonas"}, ${number(loose)} en ninguna zona.`);
  const select = $("turf");
  const before = select.value;
  select.replaceChildren(
    el("option", { value: NO_TURF }, t(`In no turf (${number(loose)})`, `En ninguna zona (${number(loose)})`)),
    ...turfs.map((turf) => el("option", { value: turf.id }, `${turf.name || turf.id} (${number(turf.households)})`)));
  const fromUrl = new URLSearchParams(location.search).get("turf");
  const pick = [before, fromUrl].find((v) => v && [...select.options].some((o) => o.value === v));
  select.value = pick || (loose || !turfs.length ? NO_TURF : turfs[0].id);
  await showList();
}

async function showList() {
  const value = $("turf").value;
  const target = $("list");
  target.setAttribute("aria-busy", "true");
  try {
    const path = value === NO_TURF ? `${base()}/households?unassigned=true`
      : `${base()}/households?turf=${encodeURIComponent(value)}`;
    const items = await everyPage(path, (done, all) => {
      $("list-count").textContent = t(`Loading… ${number(done)} of ${number(all)}`, `Cargando… ${number(done)} de ${number(all)}`);
    });
    items.sort((a, b) => address(a).localeCompare(address(b), lang, { numeric: true }));
    const turfName = value === NO_TURF ? t("in no turf", "en ninguna zona")
      : t(`in ${(turfs.find((x) => x.id === value) || {}).name}`, `en ${(turfs.find((x) => x.id === value) || {}).name}`);
    $("list-count").textContent = `${households(items.length)} ${turfName}`;
    target.replaceChildren(items.length ? el("div", { class: "scroll" }, el("table", { class: "compact" },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("Address", "Dirección")), el("th", { scope: "col" }, t("Unit", "Unidad")))),
      el("tbody", {}, items.map((h) => el("tr", {}, el("td", {}, h.address || ""), el("td", {}, h.unit || ""))))))
      : el("p", { class: "muted" }, value === NO_TURF
        ? t("Every household is in a turf.", "Todos los hogares están en una zona.")
        : t("This turf has no households.", "Esta zona no tiene hogares.")));
  } catch (error) {
    showError(target, error);
  } finally {
    target.setAttribute("aria-busy", "false");
  }
}

// --------------------------------------------------------------------------------------------- start

async function start() {
  if (!frame("households.html")) return;
  document.title = `${t("Households", "Hogares")} · Blockwalk`;
  text("title", "Households", "Hogares");
  text("import-title", "Import households", "Importar hogares");
  text("import-help",
    "A CSV file with the columns address, lat and lon (and unit, if any; other columns are kept), or a GeoJSON FeatureCollection of Points with an address property. Each household goes to the turf that covers it; one already in the campaign (same address and unit) is not added twice.",
    "Un archivo CSV con las columnas address, lat y lon (y unit, si hay; las demás columnas se guardan), o una FeatureCollection GeoJSON de puntos con la propiedad address. Cada hogar va a la zona que lo cubre; uno que ya está en la campaña (misma dirección y unidad) no se añade dos veces.");
  text("file-label", "Choose a file (CSV or GeoJSON)", "Elegir un archivo (CSV o GeoJSON)");
  text("import-cancel", "Cancel", "Cancelar");
  text("list-title", "Households by turf", "Hogares por zona");
  text("turf-label", "Turf", "Zona");
  if (!(await pickCampaign())) return noCampaign(status);
  const info = await campaignInfo();
  $("import").hidden = !WRITERS.includes(info.role);
  $("file").addEventListener("change", (event) => event.target.files[0] && preview(event.target.files[0]));
  $("import-send").addEventListener("click", send);
  $("import-cancel").addEventListener("click", cancelImport);
  $("turf").addEventListener("change", showList);
  try {
    await loadTurfs();
  } catch (error) {
    showError(status, error);
  }
  document.body.dataset.ready = "true";
}

start();
