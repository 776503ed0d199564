// The meetings editor: create and edit a meeting (title and notice in each language, place, time in the
// campaign's time zone, languages offered), through PUT /campaigns/{c}/meetings/{id} with If-Match.
import { api, base, el, languageName, showError, t } from "./common.js";

// The languages a meeting may offer: the campaign's two, then those Blockwalk has reminder texts in.
export const OFFERED = ["en", "es", "pl", "ar", "zh", "vi"];

// The UTC offset ("-06:00") of ``zone`` at a local date and time (DST included), by asking Intl.
export function offsetAt(dateText, timeText, zone) {
  const [y, mo, d] = dateText.split("-").map(Number);
  const [h, mi] = timeText.split(":").map(Number);
  const wall = Date.UTC(y, mo - 1, d, h, mi);
  const shift = (instant) => {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    }).formatToParts(new Date(instant)).map((p) => [p.type, p.value]));
    return Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute) - instant;
  };
  let offset = shift(wall);
  offset = shift(wall - offset);  // the offset at the instant itself (a DST change that day)
  const minutes = Math.round(offset / 60000);
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}

function slug(text) {
  return (text || "meeting").normalize("NFKD").replace(/[^\w\s-]/g, "").trim().toLowerCase().replace(/[\s_]+/g, "-").slice(0, 40) || "meeting";
}

// The editor, in ``target``; ``meeting``: the API's meeting to edit, or null for a new one.
// ``done(saved)`` runs after a save; ``zone``: the campaign's time zone.
export function openEditor(target, meeting, zone, done) {
  const id = (name) => `meeting-edit-${name}`;
  const [datePart = "", timePart = ""] = meeting ? meeting.starts_at.split("T") : [];
  const endTime = meeting && meeting.ends_at ? meeting.ends_at.split("T")[1].slice(0, 5) : "";
  const chosen = new Set(meeting ? meeting.languages : ["en", "es"]);
  const problems = el("div", { "aria-live": "polite" });
  const text = (name, label, value, attrs = {}) => el("div", {}, el("label", { for: id(name) }, label),
    el(attrs.rows ? "textarea" : "input", { id: id(name), name, maxlength: attrs.rows ? 2000 : 200, ...attrs, value: attrs.rows ? undefined : value },
      attrs.rows ? value : null));
  const form = el("form", { class: "editor meeting-editor", "aria-labelledby": id("legend") },
    el("fieldset", {},
      el("legend", { id: id("legend") }, meeting ? t("Edit the meeting", "Editar la reunión") : t("A new meeting", "Una reunión nueva")),
      el("div", { class: "titles" },
        ["en", "es"].map((code) => text(`title-${code}`, t(`Title in ${languageName(code)}`, `Título en ${languageName(code)}`),
          (meeting && meeting.title[code]) || "", { required: code === "en" })),
        ["en", "es"].map((code) => text(`notice-${code}`, t(`Notice in ${languageName(code)}`, `Aviso en ${languageName(code)}`),
          (meeting && meeting.notice && meeting.notice[code]) || "", { rows: 3 })),
        text("place", t("Place", "Lugar"), meeting ? meeting.place : "", { required: true, maxlength: 500 }),
        text("date", t("Date", "Fecha"), datePart, { type: "date", required: true }),
        text("start", t(`Starts at (${zone})`, `Empieza a las (${zone})`), timePart.slice(0, 5), { type: "time", required: true }),
        text("end", t(`Ends at (${zone}, optional)`, `Termina a las (${zone}, opcional)`), endTime, { type: "time" })),
      el("fieldset", { class: "languages" }, el("legend", {}, t("Languages offered", "Idiomas ofrecidos")),
        OFFERED.map((code) => el("label", { class: "inline" },
          el("input", { type: "checkbox", name: "language", value: code, checked: chosen.has(code) }), languageName(code)))),
      problems,
      el("p", { class: "actions" },
        el("button", { type: "submit" }, t("Save the meeting", "Guardar la reunión")),
        el("button", { type: "button", class: "secondary", onclick: () => target.replaceChildren() }, t("Cancel", "Cancelar")))));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = (name) => document.getElementById(id(name)).value.trim();
    const languages = [...form.querySelectorAll("input[name=language]:checked")].map((box) => box.value);
    if (!languages.length) {
      problems.replaceChildren(el("p", { class: "error", role: "alert" }, t("Offer at least one language.", "Ofrezca al menos un idioma.")));
      return;
    }
    const when = (time) => `${value("date")}T${time}:00${offsetAt(value("date"), time, zone)}`;
    // The languages this form edits replace theirs; a title or notice in any other language is kept
    // (the API replaces the whole meeting).
    const title = { ...((meeting && meeting.title) || {}) };
    const notice = { ...((meeting && meeting.notice) || {}) };
    for (const code of ["en", "es"]) {
      if (value(`title-${code}`)) title[code] = value(`title-${code}`); else delete title[code];
      if (value(`notice-${code}`)) notice[code] = value(`notice-${code}`); else delete notice[code];
    }
    const body = { title, notice, place: value("place"), starts_at: when(value("start")), languages,
      ends_at: value("end") ? when(value("end")) : null };
    const meetingId = meeting ? meeting.id.replace(/^meeting:/, "") : `${value("date")}-${slug(title.en || title.es)}-${Math.random().toString(36).slice(2, 6)}`;
    try {
      const { body: saved } = await api(`${base()}/meetings/${encodeURIComponent(meetingId)}`, {
        method: "PUT", body, headers: meeting ? { "If-Match": `"${meeting.rev}"` } : {} });
      target.replaceChildren();
      done(saved);
    } catch (error) {
      showError(problems, error);
    }
  });
  target.replaceChildren(form);
  document.getElementById(id("title-en")).focus();
}
