// Progress of a campaign: totals, a chart over time (plain SVG), per turf, per canvasser with what is still on phones.
import { api, base, campaignInfo, el, frame, lang, localTime, pickCampaign, showError, t } from "./common.js";
import { noCampaign, percent, table } from "./reports.js";

const status = document.getElementById("status");
let timeZone = "UTC";  // the campaign's
document.getElementById("title").textContent = t("Progress", "Avance");

const SVG = "http://www.w3.org/2000/svg";
const SERIES = [
  ["visits", t("Doors knocked (visits)", "Visitas")],
  ["contacts", t("Contacts", "Contactos")],
  ["signups", t("Sign-ups", "Inscripciones")],
  ["assets_mapped", t("Assets mapped", "Recursos mapeados")],
];
const COLORS = { visits: "#0b5cad", contacts: "#1a7f37", signups: "#a3000b", assets_mapped: "#7a4f00" };

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// The top of the y axis: four equal steps of 1, 2, 3 or 5 times a power of ten, so every grid line is a whole number.
function niceMax(value) {
  const raw = Math.max(1, value / 4);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 3, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return step * 4;
}

// Cumulative totals per day, one line per series.
export function chart(days) {
  const width = 900, height = 320, left = 48, right = 16, top = 16, bottom = 40;
  const totals = {};
  const points = days.map((day) => {
    for (const [key] of SERIES) totals[key] = (totals[key] || 0) + day[key];
    return { day: day.day, ...totals };
  });
  const max = niceMax(Math.max(1, ...points.map((p) => Math.max(...SERIES.map(([key]) => p[key])))));
  // Days are spaced by their dates: 23 November to 7 December spans two weeks, not one step.
  const dayNumber = (day) => Date.parse(`${day}T00:00:00Z`) / 86_400_000;
  const first = dayNumber(points[0].day);
  const span = dayNumber(points[points.length - 1].day) - first;
  const x = (i) => left + (span === 0 ? (width - left - right) / 2 : ((dayNumber(points[i].day) - first) * (width - left - right)) / span);
  const y = (v) => top + (height - top - bottom) * (1 - v / max);
  const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img",
    "aria-label": t("Cumulative progress per day", "Avance acumulado por día") });
  for (let i = 0; i <= 4; i += 1) {
    const value = (max * i) / 4;
    root.append(svg("line", { x1: left, x2: width - right, y1: y(value), y2: y(value), class: i ? "grid" : "axis" }),
      svg("text", { x: left - 6, y: y(value) + 4, "text-anchor": "end" }, Math.round(value)));
  }
  // A date under each day drawn, in the page's language, where it does not run into the one before.
  const dateText = (day) => new Date(`${day}T00:00:00Z`).toLocaleDateString(lang, { day: "numeric", month: "short", timeZone: "UTC" });
  let lastLabel = -Infinity;
  points.forEach((p, i) => {
    const at = x(i);
    root.append(svg("line", { x1: at, x2: at, y1: height - bottom, y2: height - bottom + 5, class: "axis" }));
    if (at - lastLabel >= 64 || (i === points.length - 1 && at - lastLabel >= 40)) {
      const anchor = i === points.length - 1 && points.length > 1 ? "end" : i === 0 && points.length > 1 ? "start" : "middle";
      root.append(svg("text", { x: at, y: height - bottom + 20, "text-anchor": anchor, "data-day": p.day }, dateText(p.day)));
      lastLabel = at;
    }
  });
  for (const [key, label] of SERIES) {
    const color = COLORS[key];
    root.append(svg("polyline", { points: points.map((p, i) => `${x(i)},${y(p[key])}`).join(" "), fill: "none",
      stroke: color, "stroke-width": 2.5, "data-series": key }));
    points.forEach((p, i) => root.append(svg("circle", { cx: x(i), cy: y(p[key]), r: 3.5, fill: color },
      svg("title", {}, `${label}, ${p.day}: ${p[key]}`))));
  }
  return root;
}

function card(label, value, warn = false) {
  return el("div", { class: `card${warn ? " warn" : ""}` }, el("span", { class: "value" }, value), el("span", { class: "label" }, label));
}

const number = (v) => (v === null || v === undefined ? "–" : v.toLocaleString());
const COMMON = [
  [t("Doors knocked", "Puertas tocadas"), (r) => number(r.doors_knocked), true],
  [t("Visits", "Visitas"), (r) => number(r.visits), true],
  [t("Contact rate", "Tasa de contacto"), (r) => percent(r.contact_rate), true],
  [t("Hours", "Horas"), (r) => number(r.hours), true],
  [t("Records / hour", "Registros / hora"), (r) => number(r.records_per_hour), true],
  [t("Assets mapped", "Recursos mapeados"), (r) => number(r.assets_mapped), true],
  [t("Sign-ups", "Inscripciones"), (r) => number(r.signups), true],
];

async function load() {
  if (!(await pickCampaign())) return noCampaign(status);
  try {
    const { body } = await api(`${base()}/reports/progress`);
    timeZone = (await campaignInfo()).time_zone || "UTC";
    const c = body.campaign;
    document.getElementById("cards").replaceChildren(
      card(t("Doors knocked", "Puertas tocadas"), number(c.doors_knocked)),
      card(t("Contact rate", "Tasa de contacto"), percent(c.contact_rate)),
      card(t("Records per hour", "Registros por hora"), number(c.records_per_hour)),
      card(t("Assets mapped", "Recursos mapeados"), number(c.assets_mapped)),
      card(t("Sign-ups", "Inscripciones"), number(c.signups)),
      card(t("Still on phones", "Aún en los teléfonos"), number(c.pending ?? 0), (c.pending || 0) > 0),
      card(t("Refused, to fix on phones", "Rechazados, por corregir"), number(c.refused ?? 0), (c.refused || 0) > 0));
    document.getElementById("over-time").replaceChildren(
      el("h2", {}, t("Over time (cumulative)", "En el tiempo (acumulado)")),
      el("div", { class: "legend" }, SERIES.map(([key, label]) => el("span", { class: `series-${key === "assets_mapped" ? "assets" : key}` }, label))),
      body.days.length ? chart(body.days) : el("p", { class: "muted" }, t("No records yet.", "Aún no hay registros.")));
    document.getElementById("turfs").replaceChildren(el("h2", {}, t("Per turf", "Por zona")),
      table([[t("Turf", "Zona"), (r) => r.name || r.key || t("no turf", "sin zona")], ...COMMON], body.turfs));
    document.getElementById("canvassers").replaceChildren(el("h2", {}, t("Per canvasser", "Por voluntario")),
      table([[t("Canvasser", "Voluntario"), (r) => r.key], ...COMMON,
        [t("Pending on phones", "Pendiente en teléfonos"), (r) => number(r.pending), true],
        [t("Refused", "Rechazados"), (r) => number(r.refused), true],
        [t("Last sync", "Última sincronización"), (r) => (r.last_sync_at ? localTime(r.last_sync_at, timeZone) : "–")]],
      body.canvassers));
    status.replaceChildren();
  } catch (error) {
    showError(status, error);
  }
}

if (frame("progress.html")) load();
