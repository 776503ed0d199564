// The roster (organizers and admins): the people who signed up, deduplicated, with consent per channel; exports.
import { ROSTER_READERS, api, base, campaignInfo, el, frame, languageName, lang, pickCampaign, showError, t } from "./common.js";
import { download, noCampaign, table } from "./reports.js";

const status = document.getElementById("status");
const form = document.getElementById("export");
const roster = () => `${base()}/roster`;

document.getElementById("title").textContent = t("Roster", "Lista de voluntarios");
document.getElementById("which-legend").textContent = t("Who", "Quiénes");
document.getElementById("which-new").textContent = t("New since my last export", "Nuevos desde mi última exportación");
document.getElementById("which-range").textContent = t("Signed up between", "Inscritos entre");
document.getElementById("from").setAttribute("aria-label", t("From", "Desde"));
document.getElementById("to").setAttribute("aria-label", t("To (inclusive)", "Hasta (incluido)"));
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

// A region code ("PL") as its name in the page's language ("Poland", "Polonia").
function regionName(code) {
  try {
    return new Intl.DisplayNames([lang], { type: "region" }).of(code) || code;
  } catch (error) {
    return code;
  }
}

// One problem (a phone or e-mail that cannot be used), as a sentence in the page's language.
function problemText(problem) {
  if (problem.kind === "phone") {
    return problem.region
      ? t(`Phone “${problem.typed}” is not a valid number in ${regionName(problem.region)}`,
        `El teléfono «${problem.typed}» no es un número válido en ${regionName(problem.region)}`)
      : t(`Phone “${problem.typed}” is not a valid number`, `El teléfono «${problem.typed}» no es un número válido`);
  }
  return t(`E-mail “${problem.typed}” is not a valid address`, `El correo «${problem.typed}» no es una dirección válida`);
}

const problemsOf = (person) => (person.problem_details || []).map(problemText).join("; ");

const COLUMNS = [
  [t("Name", "Nombre"), (p) => p.full_name],
  [t("Phone", "Teléfono"), (p) => p.phone || ""],
  [t("E-mail", "Correo"), (p) => p.email || ""],
  ["SMS", (p) => consent(p, "sms")],
  [t("E-mail ok", "Correo ok"), (p) => consent(p, "email")],
  [t("Calls", "Llamadas"), (p) => consent(p, "call")],
  [t("Languages", "Idiomas"), (p) => p.languages.map(languageName).join(", ")],
  [t("Sign-ups", "Inscripciones"), (p) => `${p.signups.length} (${[...new Set(p.signups.map((s) => s.canvasser))].join(", ")})`],
  [t("Shared phone", "Teléfono compartido"), (p) => (p.shared_phone ? t("yes", "sí") : "")],
  [t("Problems", "Problemas"), problemsOf],
];

// A wide table scrolls sideways on its own (a phone's screen), not the whole page.
const scrolling = (label, child) => el("div", { class: "scroll", role: "region", "aria-label": label, tabindex: "0" }, child);

// Names of the people on the page, by id: what the export report names rows by (it keeps ids, never names).
const names = new Map();

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

const totalOf = (response, body) => JSON.parse(response.headers.get("X-Pagination") || "{}").total ?? body.length;

// The people whose phone or e-mail cannot be used (an invalid number for the region, a malformed
// address): counted, and each listed with what is wrong, so nobody vanishes from the roster.
function problemsSection(people, total) {
  const heading = el("h2", { id: "problems-heading" },
    t(`People with problems (${total})`, `Personas con problemas (${total})`));
  if (!total) {
    return [heading, el("p", { class: "muted" },
      t("Every phone and e-mail given can be used.", "Todos los teléfonos y correos dados se pueden usar."))];
  }
  return [heading,
    el("p", { class: "muted" }, t(
      "Their phone or e-mail cannot be used, so no export includes it: ask them again, or correct the record.",
      "Su teléfono o correo no se puede usar, así que ninguna exportación lo incluye: pregúnteles de nuevo o corrija el registro.")),
    el("ul", { class: "problems", "aria-labelledby": "problems-heading" },
      people.map((p) => el("li", {}, el("strong", {}, el("bdi", {}, p.full_name)), " — ", problemsOf(p)))),
    total > people.length ? el("p", { class: "muted" }, t(`The first ${people.length} are shown.`,
      `Se muestran las primeras ${people.length}.`)) : null];
}

// Mailchimp imports CSV only: with its columns, XLSX is not offered.
const CSV_ONLY = new Set(["mailchimp"]);
const xlsx = form.format.querySelector("option[value='xlsx']");
function formats() {
  const csvOnly = CSV_ONLY.has(form.preset.value);
  xlsx.disabled = csvOnly;
  if (csvOnly && form.format.value === "xlsx") form.format.value = "csv";
  document.getElementById("format-note").textContent = csvOnly
    ? t(`${PRESET_NAMES[form.preset.value]} imports CSV files only.`, `${PRESET_NAMES[form.preset.value]} solo importa archivos CSV.`) : "";
}
form.preset.addEventListener("change", formats);

async function load() {
  if (!(await pickCampaign())) return noCampaign(status);
  // Only organizers and admins may download: anyone else sees the line saying so, not the form.
  const { role } = await campaignInfo();
  form.hidden = !ROSTER_READERS.includes(role);
  formats();
  try {
    const [all, troubled] = await Promise.all([api(`${roster()}?page_size=100`), api(`${roster()}?problems=true&page_size=100`)]);
    const body = all.body;
    const total = totalOf(all.response, body);
    for (const person of [...body, ...troubled.body]) names.set(person.id, person.full_name);
    document.getElementById("problems").replaceChildren(
      ...problemsSection(troubled.body, totalOf(troubled.response, troubled.body)).filter(Boolean));
    document.getElementById("people").replaceChildren(...[
      el("h2", { id: "people-heading" }, t(`People (${total})`, `Personas (${total})`)),
      body.length ? scrolling(t("People", "Personas"), table(COLUMNS, body))
        : el("p", { class: "muted" }, t("Nobody has signed up yet.", "Nadie se ha inscrito todavía.")),
      total > body.length ? el("p", { class: "muted" }, t(`The first ${body.length} are shown; downloads hold everyone.`,
        `Se muestran los primeros ${body.length}; las descargas incluyen a todos.`)) : null].filter(Boolean));
  } catch (error) {
    showError(status, error);
  }
}

const PRESET_NAMES = { full: "Blockwalk", action_network: "Action Network", mailchimp: "Mailchimp" };

// A name in a sentence: isolated (an Arabic name keeps its own direction without reordering the
// sentence around it), and a long one shortened for reading.
const nameNode = (name) => {
  const letters = Array.from(name);
  return el("bdi", {}, letters.length > 60 ? `${letters.slice(0, 60).join("")}…` : name);
};

// A row of the file as a person reads it: its line, and the name when it is on the page.
const rowText = (entry) => {
  const name = names.get(entry.person);
  const line = t(`line ${entry.row}`, `línea ${entry.row}`);
  return name ? [line, " (", nameNode(name), ")"] : [line];
};

// The export log's entry of a download: written once the file was sent, so asked for a few times.
async function exportEntry(id) {
  for (let attempt = 0; attempt < 10; attempt += 1) {
    try {
      return (await api(`${roster()}/exports/${encodeURIComponent(id)}`)).body;
    } catch (error) {
      if (error.status !== 404) throw error;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  }
  return null;
}

// What the download holds: its rows, and for a CRM preset who was left out for want of consent.
function rowsOf(entry, preset, which) {
  const service = PRESET_NAMES[preset] || preset;
  const out = [el("p", { class: "rows" }, entry.rows
    ? t(`The file holds ${entry.rows} ${entry.rows === 1 ? "person" : "people"}.`,
      `El archivo contiene ${entry.rows} ${entry.rows === 1 ? "persona" : "personas"}.`)
    : which === "new"
      ? t("Nobody is new since your last export: the file holds only its header row.",
        "No hay nadie nuevo desde su última exportación: el archivo solo tiene la fila de encabezados.")
      : t("Nobody signed up in those days: the file holds only its header row.",
        "Nadie se inscribió en esos días: el archivo solo tiene la fila de encabezados."))];
  if (entry.no_consent) {
    out.push(el("p", { class: "warn-note" }, t(
      `${entry.no_consent} ${entry.no_consent === 1 ? "person was" : "people were"} left out: no consent to a channel ${service} uses (e-mail or SMS).`,
      `${entry.no_consent} ${entry.no_consent === 1 ? "persona quedó fuera" : "personas quedaron fuera"}: sin consentimiento para un canal que usa ${service} (correo o SMS).`)));
  }
  return out;
}

// What the download had to shorten or leave out, said under "Saved ...".
function reportOf(entry, preset) {
  const out = [];
  const service = PRESET_NAMES[preset] || preset;
  if (entry.cut_rows) {
    out.push(el("p", { class: "warn-note" }, t(
      `${entry.cut_rows} ${entry.cut_rows === 1 ? "row was" : "rows were"} shortened to fit ${service}'s limits (255 bytes for a text field):`,
      `${entry.cut_rows} ${entry.cut_rows === 1 ? "fila se acortó" : "filas se acortaron"} para caber en los límites de ${service} (255 bytes por campo de texto):`)),
    el("ul", {}, entry.cut.map((c) => el("li", {}, ...rowText(c), `: ${c.columns.join(", ")}`))));
  }
  if (entry.problem_people) {
    const left = entry.problems.filter((p) => p.row === null).length;
    out.push(el("p", { class: "warn-note" }, t(
      `${entry.problem_people} ${entry.problem_people === 1 ? "person has" : "people have"} a phone or e-mail that could not be exported` +
        (left ? ` (${left} not in the file: no other contact)` : "") + ". See People with problems.",
      `${entry.problem_people} ${entry.problem_people === 1 ? "persona tiene" : "personas tienen"} un teléfono o correo que no se pudo exportar` +
        (left ? ` (${left} fuera del archivo: sin otro contacto)` : "") + ". Vea Personas con problemas.")));
  }
  return out;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const params = query();
    let logId = null;
    const name = await download(`${roster()}/export?${params}`, (response) => { logId = response.headers.get("X-Export-Log"); });
    status.replaceChildren(el("p", { class: "muted" }, t(`Saved ${name}`, `Guardado ${name}`)));
    const entry = logId ? await exportEntry(logId) : null;
    if (entry) status.append(...rowsOf(entry, params.get("preset"), params.get("new") ? "new" : "range"), ...reportOf(entry, params.get("preset")));
  } catch (error) {
    showError(status, error);
  }
});

if (frame("roster.html")) load();
