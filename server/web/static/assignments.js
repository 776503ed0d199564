// Assignments and coverage: per turf, its households, how many of them have been visited (as far
// as phones have synced), who walks it; assign a member of the campaign to a turf, or end an assignment.
// Data: GET .../turfs, .../assignments?active=true, .../members, .../reports/progress (doors knocked per
// turf); writes: PUT and DELETE .../assignments/<user>/<turf>.
import { WRITERS, api, base, campaignInfo, el, everyPage, frame, lang, pickCampaign, showError, t } from "./common.js";
import { noCampaign } from "./reports.js";
import { number } from "./setup.js";

const $ = (id) => document.getElementById(id);
const status = $("status");
const errorBox = $("error");
const ROLE_NAMES = {
  volunteer: ["volunteer", "voluntario"], coordinator: ["coordinator", "coordinador"], organizer: ["organizer", "organizador"],
};

let canWrite = false;

const bare = (id) => id.replace(/^turf:/, "");
const roleName = (role) => t(...(ROLE_NAMES[role] || [role, role]));

function coverage(visited, total) {
  if (!total) return el("span", { class: "muted" }, t(`${number(visited)} visited; no households`, `${number(visited)} visitados; sin hogares`));
  const share = Math.min(1, visited / total);
  const percent = Math.round(share * 100);
  return el("span", {},
    el("span", { class: "meter", role: "img", "aria-label": `${percent}%` }, el("span", { style: null, "data-share": String(share) })),
    t(`${number(visited)} of ${number(total)} (${percent}%)`, `${number(visited)} de ${number(total)} (${percent}%)`));
}

async function assign(turf, select) {
  const user = select.value;
  if (!user) {
    showError(errorBox, new Error(t(`Choose who walks ${turf.name}.`, `Elija quién recorre ${turf.name}.`)));
    select.focus();
    return;
  }
  errorBox.replaceChildren();
  try {
    await api(`${base()}/assignments/${encodeURIComponent(user)}/${encodeURIComponent(bare(turf.id))}`, { method: "PUT" });
    await load();
    status.replaceChildren(el("p", { class: "ok" }, t(
      `${nameOf(user)} now walks ${turf.name}: their phone receives it at its next sync.`,
      `${nameOf(user)} recorre ahora ${turf.name}: su teléfono la recibe en la siguiente sincronización.`)));
  } catch (error) {
    showError(errorBox, error);
  }
}

async function end(turf, user) {
  errorBox.replaceChildren();
  try {
    await api(`${base()}/assignments/${encodeURIComponent(user)}/${encodeURIComponent(bare(turf.id))}`, { method: "DELETE" });
    await load();
    status.replaceChildren(el("p", { class: "ok" }, t(
      `Ended ${nameOf(user)}'s assignment to ${turf.name}: their phone stops receiving it once what they recorded there has reached the server.`,
      `Terminó la asignación de ${nameOf(user)} a ${turf.name}: su teléfono deja de recibirla una vez que lo registrado allí llegue al servidor.`)));
  } catch (error) {
    showError(errorBox, error);
  }
}

// A person as the page names them: their full name where one is known, else their user name.
let names = new Map();
const nameOf = (user) => names.get(user) || user;

function row(turf, walkers, members, visited) {
  const free = members.filter((m) => !walkers.includes(m.user));
  const selectId = `assign-${bare(turf.id)}`;
  const select = el("select", { id: selectId },
    el("option", { value: "" }, t("Choose a person", "Elija una persona")),
    ...free.map((m) => el("option", { value: m.user }, `${nameOf(m.user)} (${roleName(m.role)})`)));
  return el("tr", { "data-turf": turf.id },
    el("th", { scope: "row" }, turf.name || t("(no name)", "(sin nombre)")),
    el("td", { class: "num" }, number(turf.households)),
    el("td", {}, coverage(visited, turf.households)),
    el("td", { class: "names" }, walkers.length ? el("ul", { class: "walkers" }, walkers.map((user) => el("li", {}, nameOf(user), canWrite
      ? el("button", { type: "button", class: "secondary small", onclick: () => end(turf, user),
        "aria-label": t(`End ${nameOf(user)}'s assignment to ${turf.name}`, `Terminar la asignación de ${nameOf(user)} a ${turf.name}`) }, t("End", "Terminar"))
      : null))) : el("span", { class: "muted" }, t("no one", "nadie"))),
    canWrite ? el("td", {}, el("span", { class: "actions" },
      el("label", { for: selectId, class: "visually-hidden" }, t(`Who walks ${turf.name}`, `Quién recorre ${turf.name}`)),
      select,
      el("button", { type: "button", class: "small", onclick: () => assign(turf, select),
        "aria-label": t(`Assign to ${turf.name}`, `Asignar a ${turf.name}`) }, t("Assign", "Asignar")))) : null);
}

async function load() {
  $("turfs").setAttribute("aria-busy", "true");
  try {
    const [turfs, active, members, progress] = await Promise.all([
      everyPage(`${base()}/turfs`), everyPage(`${base()}/assignments?active=true`),
      everyPage(`${base()}/members`),  // their names for every reader; the choice to assign for writers
      api(`${base()}/reports/progress`).then(({ body }) => body),
    ]);
    turfs.sort((a, b) => (a.name || "").localeCompare(b.name || "", lang));
    names = new Map(members.filter((m) => m.full_name).map((m) => [m.user, m.full_name]));
    members.sort((a, b) => (a.role !== b.role ? (a.role === "volunteer" ? -1 : b.role === "volunteer" ? 1 : 0)
      : nameOf(a.user).localeCompare(nameOf(b.user), lang)));
    const walkers = new Map();
    for (const a of active) walkers.set(a.turf, [...(walkers.get(a.turf) || []), a.user]);
    const visited = new Map(progress.turfs.map((r) => [r.key, r.doors_knocked]));
    if (!turfs.length) {
      $("turfs").replaceChildren(el("p", { class: "muted" }, t("This campaign has no turfs yet: draw or import them on the Turfs page.",
        "Esta campaña aún no tiene zonas: dibújelas o impórtelas en la página de zonas.")), el("p", {}, el("a", { href: "turfs.html" }, t("Turfs", "Zonas"))));
      return;
    }
    const sum = (f) => turfs.reduce((n, turf) => n + f(turf), 0);
    const totalHouseholds = sum((turf) => turf.households);
    const totalVisited = sum((turf) => visited.get(turf.id) || 0);
    $("turfs").replaceChildren(el("div", { class: "scroll" }, el("table", { class: "assignments" },
      el("thead", {}, el("tr", {},
        el("th", { scope: "col" }, t("Turf", "Zona")),
        el("th", { scope: "col", class: "num" }, t("Households", "Hogares")),
        el("th", { scope: "col" }, t("Visited", "Visitados")),
        el("th", { scope: "col" }, t("Walked by", "Recorrida por")),
        canWrite ? el("th", { scope: "col" }, t("Assign", "Asignar")) : null)),
      el("tbody", {}, turfs.map((turf) => row(turf, walkers.get(turf.id) || [], members, visited.get(turf.id) || 0))),
      el("tfoot", {}, el("tr", { class: "total" },
        el("th", { scope: "row" }, t("All turfs", "Todas las zonas")),
        el("td", { class: "num" }, number(totalHouseholds)),
        el("td", {}, coverage(totalVisited, totalHouseholds)),
        el("td", {}, ""), canWrite ? el("td", {}, "") : null)))));
    for (const bar of document.querySelectorAll(".meter span[data-share]")) bar.style.width = `${Number(bar.dataset.share) * 100}%`;
  } catch (error) {
    showError(errorBox, error);
  } finally {
    $("turfs").setAttribute("aria-busy", "false");
  }
}

async function start() {
  if (!frame("assignments.html")) return;
  document.title = `${t("Assignments", "Asignaciones")} · Blockwalk`;
  $("title").textContent = t("Assignments and coverage", "Asignaciones y cobertura");
  $("intro").textContent = t(
    "Who walks which turf, and how many of its households have been visited: households with at least one visit that has reached the server (visits still on phones count once they sync).",
    "Quién recorre cada zona y cuántos de sus hogares se han visitado: hogares con al menos una visita que ya llegó al servidor (las que siguen en los teléfonos cuentan al sincronizarse).");
  if (!(await pickCampaign())) return noCampaign(status);
  const info = await campaignInfo();
  canWrite = WRITERS.includes(info.role);
  await load();
  document.body.dataset.ready = "true";
}

start();
