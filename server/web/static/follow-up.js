// Between meetings: concerns from the doors grouped into issues, the meeting's agenda, the follow-up chart.
import {
  WRITERS, api, base, campaignInfo, el, everyPage, frame, lang, languageName, localTime, meetingTime, pickCampaign, showError, t,
} from "./common.js";
import { downloadCounted, noCampaign, savedText } from "./reports.js";

const status = document.getElementById("status");
const meetingSelect = document.getElementById("meeting");
const agendaLanguage = document.getElementById("agenda-language");
const concernsBox = document.getElementById("concerns");
const groupForm = document.getElementById("group");
const agendaBox = document.getElementById("agenda");
const chartBox = document.getElementById("chart");

const STATUS = {
  raised: t("Raised", "Planteado"), open: t("Open", "Abierto"), in_progress: t("In progress", "En curso"),
  done: t("Done", "Hecho"), dropped: t("Dropped", "Descartado"),
};
const KIND = { person: t("A person", "Una persona"), organization: t("A partner organization", "Una organización aliada") };

const words = {
  title: t("Between meetings", "Entre reuniones"),
  intro: t("What residents asked to raise at the doors, grouped into issues for the meeting's agenda; each issue taken up becomes a task on the follow-up chart, and volunteers' phones show residents what came of it.",
    "Lo que los vecinos pidieron plantear en sus puertas, agrupado en temas para el orden del día; cada tema que se asume pasa a ser una tarea del seguimiento, y los teléfonos de los voluntarios muestran a los vecinos qué resultó."),
  "meeting-label": t("Meeting", "Reunión"),
  "concerns-title": t("Concerns from the doors", "Inquietudes de las puertas"),
  "group-legend": t("Group the chosen concerns into an issue", "Agrupar las inquietudes elegidas en un tema"),
  "group-button": t("Group into an issue", "Agrupar en un tema"),
  "agenda-title": t("Agenda", "Orden del día"),
  "agenda-language-label": t("Agenda language", "Idioma del orden del día"),
  "agenda-print": t("Print the agenda", "Imprimir el orden del día"),
  "agenda-download": t("Download the agenda (CSV)", "Descargar el orden del día (CSV)"),
  "chart-title": t("Follow-up chart", "Cuadro de seguimiento"),
  "chart-csv": t("Download the chart (CSV)", "Descargar el cuadro (CSV)"),
  "chart-xlsx": t("Download the chart (XLSX)", "Descargar el cuadro (XLSX)"),
  "chart-print": t("Print as minutes", "Imprimir como acta"),
  "survey-title": t("Community satisfaction survey", "Encuesta de satisfacción comunitaria"),
  "survey-intro": t("Average answer per turf and round (a quarter), from 1 (worst) to 5 (best), with the change from the turf's previous round. A figure from fewer than 10 answers is not shown, so no household can be singled out.",
    "Respuesta media por zona y ronda (un trimestre), de 1 (peor) a 5 (mejor), con el cambio desde la ronda anterior de la zona. No se muestra una cifra de menos de 10 respuestas, para que no se pueda identificar a ningún hogar."),
};
for (const [id, text] of Object.entries(words)) document.getElementById(id).textContent = text;
document.title = `${words.title} · Blockwalk`;
document.documentElement.lang = lang;

let meetings = [];
let languages = ["en", "es"];
let timeZone = "UTC";
let canEdit = false;  // organizers read; the API refuses their changes anyway

const pick = (texts, language = lang) => (texts && (texts[language] || texts.en || Object.values(texts)[0])) || "";
// A due day ("2026-12-10") or a moment, in the campaign's calendar and time zone.
const at = (iso) => (iso ? localTime(iso, timeZone) : "");
const CHANGED = {
  created: t("made", "creado"), title: t("title", "título"), meeting: t("meeting", "reunión"), sources: t("concerns", "inquietudes"),
  task: t("task", "tarea"), status: t("status", "estado"), problems: t("problems", "problemas"), outcome: t("outcome", "resultado"),
};
const historyLine = (h) => `${at(h.at)}, ${h.by}: ${h.changed.map((k) => CHANGED[k] || k).join(", ")}${h.note ? ` (${h.note})` : ""}`;
const meetingTitle = (id) => {
  const found = meetings.find((m) => m.id === id);
  return found ? pick(found.title) || found.place : t("no meeting", "sin reunión");
};
const chosenMeeting = () => meetingSelect.value || null;
const query = (extra = {}) => {
  const params = new URLSearchParams(extra);
  if (chosenMeeting()) params.set("meeting", chosenMeeting());
  const text = params.toString();
  return text ? `?${text}` : "";
};
const say = (text) => status.replaceChildren(el("p", { role: "status" }, text));
const save = (path) => downloadCounted(path).then((saved) => say(savedText(saved))).catch((error) => showError(status, error));

// ------------------------------------------------------------------------------------------- concerns

function showConcerns(concerns, issues) {
  const issueTitles = new Map(issues.map((issue) => [issue.id, pick(issue.title)]));
  if (!concerns.length) {
    concernsBox.replaceChildren(el("p", { class: "muted" }, t("No concern has been recorded at a door for this meeting yet.",
      "Aún no se ha registrado ninguna inquietud en una puerta para esta reunión.")));
    groupForm.hidden = true;
    return;
  }
  const byTurf = new Map();
  for (const concern of concerns) {
    const name = concern.turf_name || t("No turf", "Sin zona");
    if (!byTurf.has(name)) byTurf.set(name, []);
    byTurf.get(name).push(concern);
  }
  concernsBox.replaceChildren(...[...byTurf].map(([name, list]) => el("div", { class: "turf-group" },
    el("h3", {}, `${name} (${list.length})`),
    list.map((concern) => el("label", { class: "concern" },
      el("input", { type: "checkbox", name: "concern", value: concern.id }),
      el("span", {},
        el("span", { class: "words" }, `“${concern.text}”`), " ",
        el("span", { class: "where" }, [
          concern.address || t("a door not on the list", "una puerta fuera de la lista"),
          concern.language ? t(`spoken: ${languageName(concern.language)}`, `idioma: ${languageName(concern.language)}`) : null,
          at(concern.at),
          concern.issue ? t(`in the issue “${issueTitles.get(concern.issue) || ""}”`, `en el tema «${issueTitles.get(concern.issue) || ""}»`) : null,
        ].filter(Boolean).join(" · "))))))));
  groupForm.hidden = !canEdit;
  if (!canEdit) concernsBox.querySelectorAll("input[name=concern]").forEach((box) => box.remove());
}

function groupTitles() {
  document.getElementById("group-titles").replaceChildren(...languages.map((code) => el("div", {},
    el("label", { for: `group-title-${code}` }, t(`Issue title in ${languageName(code)}`, `Título del tema en ${languageName(code)}`)),
    el("input", { id: `group-title-${code}`, name: code, maxlength: 300 }))));
}

groupForm.addEventListener("submit", async (event) => {
  event.preventDefault();
  const chosen = [...concernsBox.querySelectorAll("input[name=concern]:checked")].map((box) => box.value);
  const title = {};
  for (const code of languages) {
    const value = document.getElementById(`group-title-${code}`).value.trim();
    if (value) title[code] = value;
  }
  if (!chosen.length) {
    status.replaceChildren(el("p", { class: "error", role: "alert" }, t("Choose at least one concern.", "Elija al menos una inquietud.")));
    return;
  }
  if (!Object.keys(title).length) {
    status.replaceChildren(el("p", { class: "error", role: "alert" }, t("Give the issue a title.", "Dé un título al tema.")));
    return;
  }
  try {
    const { body } = await api(`${base()}/issues`, { method: "POST", body: { title, meeting: chosenMeeting(), concerns: chosen } });
    groupTitles();
    await load();
    say(t(`The issue “${pick(body.title)}” now groups ${chosen.length} ${chosen.length === 1 ? "concern" : "concerns"}.`,
      `El tema «${pick(body.title)}» agrupa ahora ${chosen.length} ${chosen.length === 1 ? "inquietud" : "inquietudes"}.`));
  } catch (error) {
    showError(status, error);
  }
});

// ------------------------------------------------------------------------------------------- the agenda

function field(id, label, control) {
  return el("div", {}, el("label", { for: id }, label), control);
}

function taskForm(issue) {
  const id = (name) => `${issue.id}-${name}`.replace(/[^A-Za-z0-9_-]/g, "-");
  const task = issue.task || {};
  const statusSelect = el("select", { id: id("status") },
    Object.entries(STATUS).map(([value, label]) => el("option", { value, selected: issue.status === value }, label)));
  const kindSelect = el("select", { id: id("kind") },
    Object.entries(KIND).map(([value, label]) => el("option", { value, selected: (task.responsible_kind || "person") === value }, label)));
  // The timetable's milestones: a row each (what, by when, done), in order.
  let rows = 0;
  const milestoneRow = (m) => {
    rows += 1;
    const n = rows;
    return el("div", { class: "milestone" },
      el("label", { for: id(`m${n}-title`) }, t(`Milestone ${n}`, `Etapa ${n}`)),
      el("input", { id: id(`m${n}-title`), class: "m-title", value: m.title || "", maxlength: 200 }),
      el("label", { for: id(`m${n}-due`), class: "inline" }, t("by", "para el")),
      el("input", { id: id(`m${n}-due`), class: "m-due", type: "date", value: m.due || "" }),
      el("label", { class: "inline" }, el("input", { type: "checkbox", class: "m-done", checked: Boolean(m.done) }), t("done", "hecha")));
  };
  const milestones = el("div", { class: "milestones" }, (task.milestones || []).map(milestoneRow));
  const form = el("form", {},
    el("fieldset", {},
      el("legend", {}, issue.task ? t("The task", "La tarea") : t("Take it up as a task", "Asumirlo como tarea")),
      el("div", { class: "titles" },
        field(id("responsible"), t("Who is responsible", "Quién es responsable"),
          el("input", { id: id("responsible"), value: task.responsible || "", maxlength: 200, required: true })),
        field(id("kind"), t("Responsible is", "El responsable es"), kindSelect),
        field(id("due"), t("Due date", "Fecha límite"), el("input", { id: id("due"), type: "date", value: task.due || "", required: true })),
        field(id("status"), t("Status", "Estado"), statusSelect),
        field(id("problems"), t("Problems encountered", "Problemas encontrados"),
          el("textarea", { id: id("problems"), rows: 2, maxlength: 5000 }, issue.problems || "")),
        languages.map((code) => field(id(`outcome-${code}`),
          t(`What came of it, to tell residents (${languageName(code)})`, `Qué resultó, para decir a los vecinos (${languageName(code)})`),
          el("textarea", { id: id(`outcome-${code}`), rows: 2, maxlength: 2000 }, (issue.outcome || {})[code] || ""))),
        field(id("note"), t("A note for the history", "Una nota para el historial"), el("input", { id: id("note"), maxlength: 2000 }))),
      milestones,
      el("p", { class: "actions" }, el("button", { type: "button", class: "secondary", onclick: () => milestones.append(milestoneRow({})) },
        t("Add a milestone", "Añadir una etapa"))),
      el("button", { type: "submit" }, issue.task ? t("Save the task", "Guardar la tarea") : t("Take it up", "Asumir la tarea"))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const outcome = {};
    for (const code of languages) outcome[code] = document.getElementById(id(`outcome-${code}`)).value;
    const body = {
      task: { responsible: document.getElementById(id("responsible")).value.trim(), responsible_kind: kindSelect.value,
        due: document.getElementById(id("due")).value,
        milestones: [...milestones.querySelectorAll(".milestone")].map((row) => ({
          title: row.querySelector(".m-title").value.trim(), due: row.querySelector(".m-due").value || null,
          done: row.querySelector(".m-done").checked })).filter((m) => m.title) },
      problems: document.getElementById(id("problems")).value, outcome,
    };
    if (issue.task || statusSelect.value !== "raised") body.status = statusSelect.value;
    const note = document.getElementById(id("note")).value.trim();
    if (note) body.note = note;
    try {
      await api(`${base()}/issues/${encodeURIComponent(issue.id)}`, { method: "PATCH", body, headers: { "If-Match": `"${issue.rev}"` } });
      await load();
      say(t(`Saved the task of “${pick(issue.title)}”.`, `Se guardó la tarea de «${pick(issue.title)}».`));
    } catch (error) {
      showError(status, error);
    }
  });
  return form;
}

function showAgenda(issues) {
  const language = agendaLanguage.value || lang;
  if (!issues.length) {
    agendaBox.replaceChildren(el("p", { class: "muted" }, t("No issue yet: group concerns above to make the agenda.",
      "Aún no hay temas: agrupe inquietudes arriba para hacer el orden del día.")));
    return;
  }
  const heading = chosenMeeting() ? meetings.find((m) => m.id === chosenMeeting()) : null;
  agendaBox.replaceChildren(...[  // no "null" when every meeting is shown
    heading ? el("p", { class: "print-only" }, `${pick(heading.title, language)} · ${meetingTime(heading.starts_at)} · ${heading.place}`) : null,
    el("ol", { class: "agenda-list" }, issues.map((issue) => {
      const doors = new Set(issue.sources.map((s) => s.household || s.concern)).size;
      const spoken = [...new Set(issue.sources.map((s) => s.language).filter(Boolean))].map((c) => languageName(c)).join(", ");
      return el("li", { class: "issue", "data-issue": issue.id },
        el("h3", {}, pick(issue.title, language), " ", el("span", { class: `badge${issue.overdue ? " overdue" : ""}` },
          issue.overdue ? t("Overdue", "Vencida") : STATUS[issue.status] || issue.status)),
        el("p", { class: "muted" }, [t(`Raised at ${doors} ${doors === 1 ? "door" : "doors"}`, `Planteado en ${doors} ${doors === 1 ? "puerta" : "puertas"}`),
          spoken, chosenMeeting() ? null : meetingTitle(issue.meeting)].filter(Boolean).join(" · ")),
        el("ul", {}, issue.sources.map((s) => el("li", {}, `“${s.text || t("(no longer recorded)", "(ya no registrada)")}” — `,
          [s.address, languageName(s.language)].filter(Boolean).join(", ")))),
        !canEdit ? null : el("details", {}, el("summary", {}, issue.task ? t("Edit the task", "Editar la tarea") : t("Take it up as a task", "Asumirlo como tarea")),
          taskForm(issue)));
    }))].filter(Boolean));
}

// ------------------------------------------------------------------------------------------- the chart

const CHART = [
  [t("Issue", "Tema"), (i) => pick(i.title)],
  [t("Meeting", "Reunión"), (i) => meetingTitle(i.meeting)],
  [t("Responsible", "Responsable"), (i) => `${i.task.responsible}${i.task.responsible_kind === "organization" ? t(" (organization)", " (organización)") : ""}`],
  [t("Due", "Fecha límite"), (i) => at(i.task.due)],
  [t("Status", "Estado"), (i) => el("span", {}, el("span", { class: `badge${i.overdue ? " overdue" : i.status === "done" ? " done" : ""}` },
    i.overdue ? t("Overdue", "Vencida") : STATUS[i.status] || i.status), i.overdue ? ` ${STATUS[i.status] || ""}` : "")],
  [t("Milestones", "Etapas"), (i) => i.task.milestones.map((m) => `${m.done ? "✓ " : ""}${m.title}${m.due ? ` (${at(m.due)})` : ""}`).join("; ")],
  [t("Problems encountered", "Problemas encontrados"), (i) => i.problems],
  [t("What came of it", "Qué resultó"), (i) => pick(i.outcome)],
  [t("History", "Historial"), (i) => el("span", { class: "history" }, i.history.slice(-3).map(historyLine).join("; "))],
];

function showChart(rows) {
  if (!rows.length) {
    chartBox.replaceChildren(el("p", { class: "muted" }, t("No issue has been taken up as a task yet.", "Aún no se ha asumido ningún tema como tarea.")));
    return;
  }
  const heading = chosenMeeting() ? meetings.find((m) => m.id === chosenMeeting()) : null;
  chartBox.replaceChildren(
    el("p", { class: "print-only" }, [heading ? t(`Minutes of ${pick(heading.title)}, ${meetingTime(heading.starts_at)}, ${heading.place}`,
      `Acta de ${pick(heading.title)}, ${meetingTime(heading.starts_at)}, ${heading.place}`) : t("Every meeting", "Todas las reuniones"),
    t(`Printed ${at(new Date().toISOString())}`, `Impreso el ${at(new Date().toISOString())}`)].join(" · ")),
    el("table", { class: "chart-table" },
    el("thead", {}, el("tr", {}, CHART.map(([header]) => el("th", { scope: "col" }, header)))),
    el("tbody", {}, rows.map((issue) => el("tr", { class: issue.overdue ? "overdue" : undefined },
      CHART.map(([header, value]) => el("td", { "data-label": header }, value(issue))))))));
}

// ------------------------------------------------------------------------------------------- the survey

const QUESTIONS = {
  safe_day: t("Safe by day", "Seguro de día"), safe_night: t("Safe after dark", "Seguro de noche"),
  police_trust: t("Trust in the police", "Confianza en la policía"), police_respect: t("Respect from the police", "Respeto de la policía"),
  neighbours_help: t("Neighbours help", "Los vecinos ayudan"), meetings_listen: t("Meetings take up problems", "Las reuniones atienden problemas"),
};
const decimal = (value, signed = false) => value.toLocaleString(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: signed ? "exceptZero" : "auto" });

function showSurvey(report) {
  const box = document.getElementById("survey");
  if (!report.rows.length) {
    box.replaceChildren(el("p", { class: "muted" }, t("No survey answers yet.", "Aún no hay respuestas a la encuesta.")));
    return;
  }
  const fewer = t(`fewer than ${report.threshold}`, `menos de ${report.threshold}`);
  const columns = [
    [t("Turf", "Zona"), (r) => (r.turf ? r.turf_name || t("a turf not on the list", "una zona fuera de la lista") : t("All turfs shown", "Todas las zonas mostradas"))],
    [t("Round", "Ronda"), (r) => r.round.replace("-Q", t(" quarter ", " trimestre "))],
    [t("Households", "Hogares"), (r) => (r.respondents === null ? fewer : String(r.respondents))],
    ...report.questions.map((q) => [QUESTIONS[q] || q, (r) => {
      const cell = r.scores[q];
      if (!cell || cell.suppressed) return el("span", { class: "muted" }, fewer);
      return `${decimal(cell.mean)}${cell.change === null ? "" : ` (${decimal(cell.change, true)})`}`;
    }]),
  ];
  box.replaceChildren(el("table", { class: "chart-table survey" },
    el("thead", {}, el("tr", {}, columns.map(([header]) => el("th", { scope: "col" }, header)))),
    el("tbody", {}, report.rows.map((row) => el("tr", { class: row.turf ? undefined : "total" },
      columns.map(([header, value]) => el("td", { "data-label": header }, value(row))))))));
}

// ------------------------------------------------------------------------------------------- loading

async function load() {
  const [concerns, issues, chart, surveyed] = await Promise.all([
    everyPage(`${base()}/concerns${query()}`), everyPage(`${base()}/issues${query()}`),
    everyPage(`${base()}/follow-up${query()}`), api(`${base()}/reports/survey`)]);
  showConcerns(concerns, issues);
  showAgenda(issues);
  showChart(chart);
  showSurvey(surveyed.body);
}

async function start() {
  if (!(await pickCampaign())) return noCampaign(status);
  try {
    const [info, found] = await Promise.all([campaignInfo(), everyPage(`${base()}/meetings`)]);
    timeZone = info.time_zone || "UTC";
    canEdit = WRITERS.includes(info.role);
    meetings = found;
    languages = [...new Set(["en", "es", ...meetings.flatMap((m) => m.languages)])];
    const now = Date.now();
    const next = meetings.find((m) => new Date(m.starts_at).getTime() >= now) || meetings[meetings.length - 1];
    meetingSelect.replaceChildren(el("option", { value: "" }, t("All meetings", "Todas las reuniones")),
      ...meetings.map((m) => el("option", { value: m.id, selected: next && m.id === next.id },
        `${pick(m.title) || m.place} · ${meetingTime(m.starts_at)}`)));
    agendaLanguage.replaceChildren(...languages.map((code) => el("option", { value: code, selected: code === lang }, languageName(code))));
    groupTitles();
    await load();
  } catch (error) {
    showError(status, error);
  }
}

meetingSelect.addEventListener("change", () => load().catch((error) => showError(status, error)));
agendaLanguage.addEventListener("change", () => load().catch((error) => showError(status, error)));
document.getElementById("agenda-download").addEventListener("click", () =>
  save(`${base()}/agenda/export${query({ format: "csv", language: agendaLanguage.value || lang })}`));
document.getElementById("chart-csv").addEventListener("click", () => save(`${base()}/follow-up/export${query({ format: "csv", language: lang })}`));
document.getElementById("chart-xlsx").addEventListener("click", () => save(`${base()}/follow-up/export${query({ format: "xlsx", language: lang })}`));
function printAs(kind) {
  document.body.classList.remove("print-agenda", "print-minutes");
  document.body.classList.add(`print-${kind}`);
  window.print();
}
document.getElementById("agenda-print").addEventListener("click", () => printAs("agenda"));
document.getElementById("chart-print").addEventListener("click", () => printAs("minutes"));

if (frame("follow-up.html")) start();
