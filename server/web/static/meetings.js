// Meeting coverage: for each meeting, doors informed, RSVPs and languages needed per turf; the RSVP list.
import {
  WRITERS, api, base, campaignInfo, el, everyPage, frame, lang, languageName, meetingTime, pickCampaign, showError, t,
} from "./common.js";
import { openEditor } from "./meeting-editor.js";
import { downloadCounted, noCampaign, savedText, table } from "./reports.js";

// A download, then a line saying what it holds.
const save = (path) => downloadCounted(path)
  .then((saved) => status.replaceChildren(el("p", { role: "status" }, savedText(saved))))
  .catch((error) => showError(status, error));

const list = document.getElementById("meetings");
const status = document.getElementById("status");
document.getElementById("title").textContent = t("Meetings", "Reuniones");
document.getElementById("intro").textContent = t(
  "Doors told about each meeting, their RSVPs and the languages they need, per turf. A door visited twice counts once.",
  "Puertas informadas de cada reunión, sus respuestas y los idiomas que necesitan, por zona. Una puerta visitada dos veces cuenta una vez.");
const coverageButton = document.getElementById("download-coverage");
const newButton = document.getElementById("new-meeting");
const editor = document.getElementById("editor");
newButton.textContent = t("New meeting", "Nueva reunión");
let stored = new Map();  // meeting id -> the meeting as the meetings API gives it (notice, revision)
let zone = "UTC";
let canEdit = false;
const edit = (meeting) => openEditor(editor, meeting, zone, (saved) => {
  status.replaceChildren(el("p", { role: "status" }, t(`Saved the meeting “${saved.title[lang] || saved.title.en || saved.place}”.`,
    `Se guardó la reunión «${saved.title[lang] || saved.title.en || saved.place}».`)));
  load(false);
});
newButton.addEventListener("click", () => edit(null));
coverageButton.textContent = t("Download coverage (CSV)", "Descargar cobertura (CSV)");

const coverage = () => `${base()}/reports/meetings`;
const languages = (counts) => Object.entries(counts).map(([code, n]) => `${languageName(code)} ${n}`).join(", ");
const RSVP = { yes: t("Yes", "Sí"), maybe: t("Maybe", "Quizás"), no: t("No", "No") };
const turfNames = new Map();  // turf id -> name, from the coverage rows
const when = (iso) => meetingTime(iso, { full: true });
// Where the campaign no longer has a name or an address for an id, a word says so: the page shows no ids.
const GONE_TURF = t("a turf no longer in the campaign", "una zona que ya no está en la campaña");
const GONE_HOUSEHOLD = t("a household no longer in the campaign", "un hogar que ya no está en la campaña");

const COLUMNS = [
  [t("Turf", "Zona"), (r) => r.name || (r.turf ? GONE_TURF : t("no turf", "sin zona"))],
  [t("Doors knocked", "Puertas tocadas"), (r) => r.doors_knocked, true],
  [t("Informed", "Informadas"), (r) => r.doors_informed, true],
  [t("RSVP yes", "Sí"), (r) => r.rsvp_yes, true],
  [t("Maybe", "Quizás"), (r) => r.rsvp_maybe, true],
  [t("No", "No"), (r) => r.rsvp_no, true],
  [t("Languages needed", "Idiomas necesarios"), (r) => languages(r.languages_needed)],
];
const RSVP_COLUMNS = [
  [t("Address", "Dirección"), (r) => [r.address, r.unit].filter(Boolean).join(", ")
    || (r.household ? GONE_HOUSEHOLD : t("no household (found between doors)", "sin hogar (entre puertas)"))],
  [t("Turf", "Zona"), (r) => (r.turf ? turfNames.get(r.turf) || GONE_TURF : t("no turf", "sin zona"))],
  [t("RSVP", "Respuesta"), (r) => RSVP[r.rsvp] || r.rsvp],
  [t("Language", "Idioma"), (r) => (r.language ? languageName(r.language) : "")],
  [t("Reminder", "Recordatorio"), (r) => r.reminder],
];

// A meeting whose time has gone by: its RSVPs are history, and no reminder is offered for it.
const passed = (meeting) => Boolean(meeting.starts_at) && new Date(meeting.starts_at).getTime() < Date.now();

async function showRsvps(meeting, target) {
  try {
    const { body } = await api(`${coverage()}/${encodeURIComponent(meeting.meeting)}/rsvps`);
    const over = passed(meeting);
    target.replaceChildren(...[  // no "null" where the meeting has not passed
      el("h3", {}, t(`RSVP list (${body.length})`, `Lista de respuestas (${body.length})`)),
      over ? el("p", { class: "muted" }, t("The meeting has passed: no reminders are offered for it.",
        "La reunión ya pasó: no se ofrecen recordatorios.")) : null,
      body.length ? table(over ? RSVP_COLUMNS.slice(0, -1) : RSVP_COLUMNS, body)
        : el("p", { class: "muted" }, over ? t("Nobody said yes or maybe.", "Nadie dijo sí o quizás.")
          : t("Nobody has said yes or maybe yet.", "Nadie ha dicho sí o quizás todavía.")),
      el("p", { class: "actions" }, el("button", {
        type: "button", class: "secondary",
        onclick: () => save(`${coverage()}/${encodeURIComponent(meeting.meeting)}/rsvps/export?format=csv`),
      }, t("Download RSVP list (CSV)", "Descargar lista (CSV)")))].filter(Boolean));
  } catch (error) {
    showError(target, error);
  }
}

function showMeeting(meeting) {
  for (const row of meeting.turfs) if (row.turf && row.name) turfNames.set(row.turf, row.name);
  const rsvps = el("div", { class: "rsvps" });
  const over = passed(meeting);
  return el("article", { class: `meeting${over ? " passed" : ""}`, "data-meeting": meeting.meeting },
    el("h2", {}, (meeting.titles && (meeting.titles[lang] || meeting.titles.en)) || meeting.title),
    el("p", { class: "muted" }, [when(meeting.starts_at), meeting.place, meeting.languages.map(languageName).join(", ")].filter(Boolean).join(" · ")),
    over ? el("p", { class: "warn-note passed-note" }, t(
      `This meeting took place on ${when(meeting.starts_at)}. Doors knocked since then count toward the next meeting, not this one.`,
      `Esta reunión fue el ${when(meeting.starts_at)}. Las puertas tocadas desde entonces cuentan para la reunión siguiente, no para esta.`)) : null,
    meeting.turfs.length
      ? table(COLUMNS, meeting.turfs, { ...meeting.totals, name: t("All turfs", "Todas las zonas") })
      : el("p", { class: "muted" }, over ? t("No door was told about this meeting before it took place.", "No se informó a ninguna puerta antes de la reunión.")
        : t("No door has been told about this meeting yet.", "Aún no se ha informado a ninguna puerta.")),
    el("p", { class: "actions" }, el("button", { type: "button", onclick: () => showRsvps(meeting, rsvps) },
      t("Show the RSVP list", "Ver la lista de respuestas")),
    canEdit && stored.has(meeting.meeting) ? el("button", { type: "button", class: "secondary",
      "aria-label": t(`Edit ${(meeting.titles && (meeting.titles[lang] || meeting.titles.en)) || meeting.title}`,
        `Editar ${(meeting.titles && (meeting.titles[lang] || meeting.titles.en)) || meeting.title}`),
      onclick: () => edit(stored.get(meeting.meeting)) }, t("Edit", "Editar")) : null),
    rsvps);
}

async function load(clear = true) {
  if (!(await pickCampaign())) return noCampaign(status);
  try {
    const info = await campaignInfo();
    zone = info.time_zone || "UTC";
    canEdit = WRITERS.includes(info.role);
    newButton.hidden = !canEdit;
    const [{ body }, listed] = await Promise.all([api(coverage()), everyPage(`${base()}/meetings`)]);
    stored = new Map(listed.map((m) => [m.id, m]));
    list.replaceChildren(...(body.length ? body.map(showMeeting)
      : [el("p", { class: "muted" }, t("This campaign has no meetings yet.", "Esta campaña aún no tiene reuniones."))]));
    if (clear) status.replaceChildren();
  } catch (error) {
    showError(status, error);
  }
}

coverageButton.addEventListener("click", () => save(`${coverage()}/export?format=csv`));
if (frame("meetings.html")) load();
