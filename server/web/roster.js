// The roster (organizers and admins): the people who signed up, deduplicated, with consent per channel; exports.
import { api, campaign, el, frame, showError, t } from "./common.js";
import { download, noCampaign, table } from "./reports.js";

const status = document.getElementById("status");
const form = document.getElementById("export");
const base = () => `/campaigns/${encodeURIComponent(campaign())}/roster`;

document.getElementById("title").textContent = t("Roster", "Lista de voluntarios");
document.getElementById("which-legend").textContent = t("Who", "Quiénes");
document.getElementById("which-new").textContent = t("New since my last export", "Nuevos desde mi última exportación");
document.getElementById("which-range").textContent = t("Signed up between", "Inscritos entre");
document.getElementById("preset-label").textContent = t("Columns", "Columnas");
document.getElementById("format-label").textContent = t("File", "Archivo");
document.getElementById("download").textContent = t("Download", "Descargar");
document.getElementById("consent-note").textContent = t(
  "Phones and e-mails are exported only with consent to a channel that uses them. Every export is logged.",
  "Teléfonos y correos se exportan solo con consentimiento para ese canal. Cada exportación queda registrada.");

const consent = (person, channel) => {
  const statement = person.consent[channel];
  if (!statement) return "–";
  return statement.given ? t("yes", "sí") : t("no", "no");
};

const COLUMNS = [
  [t("Name", "Nombre"), (p) => p.full_name],
  [t("Phone", "Teléfono"), (p) => p.phone || ""],
  [t("E-mail", "Correo"), (p) => p.email || ""],
  ["SMS", (p) => consent(p, "sms")],
  [t("E-mail ok", "Correo ok"), (p) => consent(p, "email")],
  [t("Calls", "Llamadas"), (p) => consent(p, "call")],
  [t("Languages", "Idiomas"), (p) => p.languages.join(", ")],
  [t("Sign-ups", "Inscripciones"), (p) => `${p.signups.length} (${[...new Set(p.signups.map((s) => s.canvasser))].join(", ")})`],
  [t("Shared phone", "Teléfono compartido"), (p) => (p.shared_phone ? t("yes", "sí") : "")],
];

// A day picked in the form, as the start of that day in this laptop's time zone (ISO 8601 with its offset).
function dayStart(value, plusDays = 0) {
  const [y, m, d] = value.split("-").map(Number);
  const local = new Date(y, m - 1, d + plusDays);
  const offset = -local.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, "0");
  return `${local.getFullYear()}-${pad(local.getMonth() + 1)}-${pad(local.getDate())}T00:00:00${sign}${pad(offset / 60)}:${pad(offset % 60)}`;
}

function query() {
  const data = new FormData(form);
  const params = new URLSearchParams({ format: data.get("format"), preset: data.get("preset") });
  if (data.get("which") === "new") params.set("new", "true");
  else {
    if (data.get("from")) params.set("from", dayStart(data.get("from")));
    if (data.get("to")) params.set("to", dayStart(data.get("to"), 1));
  }
  return params;
}

async function load() {
  if (!campaign()) return noCampaign(status);
  try {
    const { body, response } = await api(`${base()}?page_size=100`);
    const total = JSON.parse(response.headers.get("X-Pagination") || "{}").total ?? body.length;
    document.getElementById("people").replaceChildren(...[
      el("h2", {}, t(`People (${total})`, `Personas (${total})`)),
      body.length ? table(COLUMNS, body) : el("p", { class: "muted" }, t("Nobody has signed up yet.", "Nadie se ha inscrito todavía.")),
      total > body.length ? el("p", { class: "muted" }, t(`The first ${body.length} are shown; downloads hold everyone.`,
        `Se muestran los primeros ${body.length}; las descargas incluyen a todos.`)) : null].filter(Boolean));
  } catch (error) {
    showError(status, error);
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const name = await download(`${base()}/export?${query()}`);
    status.replaceChildren(el("p", { class: "muted" }, t(`Saved ${name}`, `Guardado ${name}`)));
  } catch (error) {
    showError(status, error);
  }
});

if (frame("roster.html")) load();
