// The review queue: values two canvassers set differently at the same time, listed by turf, the competing
// values side by side with who, when, from which device and where; resolve by choosing one or typing a new one.
import { api, campaign, el, frame, showError, t } from "./common.js";

const queue = document.getElementById("queue");
const status = document.getElementById("status");
const turfSelect = document.getElementById("turf");

document.title = `${t("Conflicts to review", "Conflictos por revisar")} · Blockwalk`;
document.getElementById("title").textContent = t("Conflicts to review", "Conflictos por revisar");
document.getElementById("intro").textContent = t(
  "Two canvassers set these answers differently at the same time. The record shows the provisional value until you choose.",
  "Dos personas anotaron estas respuestas de forma distinta a la vez. El registro muestra el valor provisional hasta que usted elija.");
document.getElementById("turf-label").textContent = t("Turf", "Zona");
document.getElementById("all-turfs").textContent = t("Every turf", "Todas las zonas");

const base = () => `/campaigns/${encodeURIComponent(campaign())}`;
const turfNames = new Map();  // turf id -> name, from the turfs API

// The turf filter lists every turf of the campaign and any other turf a conflict names.
function turfOptions(ids) {
  const known = new Set(Array.from(turfSelect.options, (option) => option.value));
  for (const id of ids) {
    if (!id || known.has(id)) continue;
    turfSelect.append(el("option", { value: id }, turfNames.get(id) || id));
    known.add(id);
  }
}

function shown(value) {
  if (value === null || value === undefined) return t("(no answer)", "(sin respuesta)");
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

function when(iso) {
  if (!iso) return t("unknown time", "hora desconocida");
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

function where(geotag) {
  if (!geotag || typeof geotag.lat !== "number" || typeof geotag.lon !== "number") return t("no geotag", "sin geoetiqueta");
  const accuracy = typeof geotag.accuracy_m === "number" ? ` ±${Math.round(geotag.accuracy_m)} m` : "";
  return `${geotag.lat.toFixed(5)}, ${geotag.lon.toFixed(5)}${accuracy}`;
}

function fieldName(field) {
  return field.startsWith("answers.") ? field.slice("answers.".length) : field;
}

async function resolve(conflict, body, card) {
  const url = `${base()}/conflicts/${encodeURIComponent(conflict.record)}/${encodeURIComponent(conflict.field)}`;
  card.querySelectorAll("button, input").forEach((node) => { node.disabled = true; });
  try {
    await api(url, { method: "POST", body, headers: { "If-Match": `"${conflict.rev}"` } });
    status.replaceChildren(el("p", { role: "status" },
      t(`Resolved ${fieldName(conflict.field)} of ${conflict.record}.`, `Resuelto ${fieldName(conflict.field)} de ${conflict.record}.`)));
    await load();
  } catch (error) {
    card.querySelectorAll("button, input").forEach((node) => { node.disabled = false; });
    const message = error.status === 412
      ? t("Someone changed this record meanwhile; the list is reloaded.", "Alguien cambió este registro; se recarga la lista.")
      : error.message;
    showError(card.querySelector(".card-error"), new Error(message));
    if (error.status === 412) await load();
  }
}

function card(conflict) {
  const node = el("article", { class: "conflict", "data-record": conflict.record, "data-field": conflict.field });
  const heads = conflict.heads.map((head, index) => el("td", { class: "head" },
    el("p", { class: "value" }, conflict.hidden ? t("(personal data)", "(datos personales)") : shown(head.value)),
    el("p", { class: "muted" }, `${head.by || t("unknown", "desconocido")} · ${head.device || "?"}`),
    el("p", { class: "muted" }, when(head.at)),
    el("p", { class: "muted" }, where(head.geotag)),
    conflict.hidden ? null : el("button", {
      type: "button", class: "choose",
      onclick: () => resolve(conflict, { choose: index }, node),
    }, t("Keep this value", "Conservar este valor"))));
  const typed = el("input", { type: "text", class: "typed", "aria-label": t("A new value", "Un valor nuevo") });
  node.append(
    el("h3", {}, `${fieldName(conflict.field)} — ${conflict.record}`),
    el("p", { class: "muted" },
      `${t("Household", "Hogar")}: ${conflict.household || "—"} · ${t("Provisional value", "Valor provisional")}: `,
      el("strong", {}, conflict.hidden ? t("(personal data)", "(datos personales)") : shown(conflict.provisional))),
    el("table", {}, el("tbody", {}, el("tr", {}, heads))),
    conflict.hidden ? el("p", { class: "muted" }, t("Only an admin or an organizer may see and resolve this.",
      "Solo un administrador o un organizador puede verlo y resolverlo.")) : el("form", {
      class: "type-new",
      onsubmit: (event) => {
        event.preventDefault();
        let value = typed.value;
        try { if (/^[[{]/.test(value.trim())) value = JSON.parse(value); } catch (error) { /* keep the text */ }
        resolve(conflict, { value }, node);
      },
    }, el("label", {}, t("Or type a new value", "O escriba un valor nuevo"), typed),
      el("button", { type: "submit", class: "secondary" }, t("Save this value", "Guardar este valor"))),
    el("div", { class: "card-error", "aria-live": "polite" }));
  return node;
}

async function all(path) {
  const items = [];
  for (let page = 1; ; page += 1) {
    const { body, response } = await api(`${path}${path.includes("?") ? "&" : "?"}page=${page}&page_size=100`);
    items.push(...body);
    const meta = JSON.parse(response.headers.get("X-Pagination") || "{}");
    if (!meta.next_page) return items;
  }
}

// Only the newest load draws the queue: an older one still under way (after a resolve, say) must not
// replace the cards of the turf just chosen, nor a value being typed into them. The queue is
// aria-busy while a load is under way.
let loads = 0;

async function load() {
  const turf = turfSelect.value;
  const mine = ++loads;
  queue.setAttribute("aria-busy", "true");
  try {
    const conflicts = await all(`${base()}/conflicts${turf ? `?turf=${encodeURIComponent(turf)}` : ""}`);
    if (mine !== loads) return;
    turfOptions(conflicts.map((conflict) => conflict.turf));
    if (conflicts.length === 0) {
      queue.replaceChildren(el("p", { class: "muted", id: "empty" }, t("Nothing to review.", "Nada que revisar.")));
      return;
    }
    const byTurf = new Map();
    for (const conflict of conflicts) {
      const key = conflict.turf || "";
      if (!byTurf.has(key)) byTurf.set(key, []);
      byTurf.get(key).push(conflict);
    }
    queue.replaceChildren(...Array.from(byTurf, ([key, items]) => el("section", { class: "turf", "data-turf": key },
      el("h2", {}, key ? (turfNames.get(key) || key) : t("No turf", "Sin zona"),
        el("span", { class: "muted" }, ` ${key && turfNames.has(key) ? key : ""} (${items.length})`)),
      items.map(card))));
  } catch (error) {
    if (mine === loads) showError(queue, error);
  } finally {
    if (mine === loads) queue.setAttribute("aria-busy", "false");
  }
}

async function start() {
  if (!frame("conflicts.html")) return;
  if (!campaign()) {
    showError(queue, new Error(t("Choose a campaign on the home page first.", "Elija primero una campaña en la página de inicio.")));
    return;
  }
  try {
    const turfs = await all(`${base()}/turfs`);
    for (const turf of turfs) turfNames.set(turf.id, turf.name || turf.id);
    turfOptions(turfs.map((turf) => turf.id));
  } catch (error) { /* the queue still works without the turf names */ }
  turfSelect.addEventListener("change", load);
  await load();
}

start();
