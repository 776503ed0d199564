// Forms: every form with its draft and published versions, XLSForm import with each problem by sheet, row
// and column, publishing a draft, and a preview of a form as the phone shows it, in each of its languages
// (the app's own form rendering, /app/js/form.js, read-only).
import {
  WRITERS, api, base, campaign, campaignInfo, el, everyPage, frame, lang, languageName, pickCampaign, showError, t,
} from "./common.js";
import { noCampaign } from "./reports.js";

const status = document.getElementById("status");
const formsBox = document.getElementById("forms");
const previewSection = document.getElementById("preview-section");
const words = {
  title: ["Forms", "Formularios"],
  intro: ["What canvassers fill in at the door. A draft can be changed; publishing makes it the next version, which phones receive at their next sync. Records keep the version they were filled in.",
    "Lo que se rellena en cada puerta. Un borrador se puede cambiar; al publicarlo pasa a ser la versión siguiente, que los teléfonos reciben al sincronizar. Cada registro conserva la versión con la que se rellenó."],
  "forms-heading": ["Forms", "Formularios"],
  "import-heading": ["Import an XLSForm", "Importar un XLSForm"],
  "import-intro": ["An .xlsx file with a survey sheet (and choices and settings sheets). It becomes the form's draft; nothing reaches phones until you publish it.",
    "Un archivo .xlsx con una hoja survey (y choices y settings). Pasa a ser el borrador del formulario; nada llega a los teléfonos hasta que lo publique."],
  "file-label": ["XLSForm file (.xlsx)", "Archivo XLSForm (.xlsx)"],
  "import-button": ["Import as a draft", "Importar como borrador"],
  "preview-heading": ["Preview", "Vista previa"],
  "preview-langs-label": ["Language", "Idioma"],
};
for (const [id, [en, es]] of Object.entries(words)) document.getElementById(id).textContent = t(en, es);

let role = null;
const forms = () => `${base()}/forms`;
const canWrite = () => WRITERS.includes(role);

// A form's title in the page's language, else its default language's, else any.
const titleOf = (doc) => {
  const title = doc.title || {};
  return title[lang] || title[doc.default_language] || Object.values(title)[0] || doc.form_id;
};

// The API's problems in words: "Sheet “survey”, row 3, column “type”: ..." (an XLSForm), or the path in the form.
function problemList(error) {
  const problems = (error.body && error.body.errors && error.body.errors.problems) || [];
  const where = (p) => {
    if (p.path) return t(`In ${p.path}`, `En ${p.path}`);
    const parts = [];
    if (p.sheet) parts.push(t(`Sheet “${p.sheet}”`, `Hoja «${p.sheet}»`));
    if (p.row) parts.push(t(`row ${p.row}`, `fila ${p.row}`));
    if (p.column) parts.push(t(`column “${p.column}”`, `columna «${p.column}»`));
    return parts.length ? parts.join(", ") : t("The file", "El archivo");
  };
  return el("div", { role: "alert" },
    el("p", { class: "error" }, error.message),
    problems.length ? el("ul", { class: "problems" }, problems.map((p) => el("li", {},
      el("span", { class: "where" }, `${where(p)}: `), p.message))) : null);
}

// ---- the list -----------------------------------------------------------------------------------

// What a phone would see of a form: its title, languages, settings, fields and choices.
function sameContent(a, b) {
  const keys = ["title", "languages", "default_language", "settings", "fields", "choices", "drive"];
  const canonical = (value) => JSON.stringify(value, (key, v) => (v && typeof v === "object" && !Array.isArray(v)
    ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : 1))) : v));
  return keys.every((key) => canonical(a[key] ?? null) === canonical(b[key] ?? null));
}

async function loadForms() {
  const docs = await everyPage(forms());
  const byForm = new Map();
  for (const doc of docs) {
    const entry = byForm.get(doc.form_id) || { draft: null, versions: [] };
    if (doc.status === "draft") entry.draft = doc;
    else entry.versions.push(doc);
    byForm.set(doc.form_id, entry);
  }
  if (!byForm.size) {
    formsBox.replaceChildren(el("p", { class: "muted" }, t("No forms yet: import an XLSForm below.", "Aún no hay formularios: importe un XLSForm abajo.")));
    return;
  }
  // A draft the same as its latest version is not offered for publishing: it would make an identical version.
  await Promise.all([...byForm.values()].map(async (entry) => {
    const latest = entry.versions.reduce((a, b) => (a && a.version > b.version ? a : b), null);
    if (!entry.draft || !latest) return;
    const [draft, version] = await Promise.all([entry.draft.id, latest.id].map((id) => api(`${forms()}/${encodeURIComponent(id)}`)));
    entry.unchanged = sameContent(draft.body, version.body);
  }));
  formsBox.replaceChildren(el("table", {},
    el("thead", {}, el("tr", {},
      [t("Form", "Formulario"), t("Draft", "Borrador"), t("Published", "Publicado"), t("Actions", "Acciones")]
        .map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, [...byForm.values()].map(({ draft, versions, unchanged }) => {
      versions.sort((a, b) => a.version - b.version);
      const latest = versions[versions.length - 1];
      const title = titleOf(draft || latest);
      return el("tr", {},
        el("td", {}, el("strong", {}, title)),
        el("td", {}, !draft ? t("none", "ninguno") : unchanged ? t(`The same as version ${latest.version}`, `Igual que la versión ${latest.version}`)
          : t("A draft", "Un borrador")),
        el("td", {}, versions.length
          ? t(`Version ${latest.version}`, `Versión ${latest.version}`) + (versions.length > 1
            ? t(` (earlier: ${versions.slice(0, -1).map((v) => v.version).join(", ")})`, ` (anteriores: ${versions.slice(0, -1).map((v) => v.version).join(", ")})`) : "")
          : t("Not published yet", "Sin publicar")),
        el("td", {}, el("div", { class: "buttons" },
          // Short words on the buttons; their accessible names say which form.
          draft ? el("button", {
            type: "button", class: "secondary", onclick: () => preview(draft.id),
            "aria-label": t(`Preview the draft of ${title}`, `Vista previa del borrador de ${title}`),
          }, t("Preview the draft", "Ver el borrador")) : null,
          latest ? el("button", {
            type: "button", class: "secondary", onclick: () => preview(latest.id),
            "aria-label": t(`Preview version ${latest.version} of ${title}`, `Vista previa de la versión ${latest.version} de ${title}`),
          }, t(`Preview version ${latest.version}`, `Ver la versión ${latest.version}`)) : null,
          draft && !unchanged && canWrite() ? el("button", {
            type: "button", onclick: () => publish(draft, title),
            "aria-label": t(`Publish the draft of ${title}`, `Publicar el borrador de ${title}`),
          }, t("Publish the draft", "Publicar el borrador")) : null)));
    }))));
}

async function publish(draft, title) {
  try {
    const { body } = await api(`${forms()}/${encodeURIComponent(draft.form_id)}/publish`, { method: "POST" });
    await loadForms();  // the list first, then the words that say what changed in it
    status.replaceChildren(el("p", { role: "status", class: "ok" }, t(
      `${title} is published as version ${body.version}. Phones receive it at their next sync.`,
      `${title} está publicado como versión ${body.version}. Los teléfonos lo reciben al sincronizar.`)));
  } catch (error) {
    status.replaceChildren(problemList(error));
  }
}

// ---- import -------------------------------------------------------------------------------------

document.getElementById("import").addEventListener("submit", async (event) => {
  event.preventDefault();
  const target = document.getElementById("import-status");
  const file = document.getElementById("file").files[0];
  if (!file) return;
  const data = new FormData();
  data.append("file", file);
  target.replaceChildren(el("p", { role: "status" }, t(`Reading ${file.name}…`, `Leyendo ${file.name}…`)));
  target.setAttribute("aria-busy", "true");
  try {
    const { body } = await api(`${forms()}/import`, { method: "POST", body: data });
    await loadForms();
    target.replaceChildren(el("p", { role: "status", class: "ok" }, t(
      `${file.name} is now the draft of ${titleOf(body)}. Preview it, then publish it.`,
      `${file.name} es ahora el borrador de ${titleOf(body)}. Revíselo y publíquelo.`)));
  } catch (error) {
    target.replaceChildren(problemList(error));
  } finally {
    target.removeAttribute("aria-busy");
  }
});

// ---- preview ------------------------------------------------------------------------------------

let FormView = null;

const labelIn = (labels, language) => (typeof labels === "string" ? labels
  : labels && typeof labels === "object" ? labels[language] || labels.en || Object.values(labels)[0] || "" : "");

// Every field shown, as a form author wants to read it: one entry of each repeat, and the fields that
// skip logic hides until an answer calls for them (and those inside them), each marked with its own condition.
function showEverything(view, form, language) {
  const repeats = (fields) => fields.forEach((field) => {
    if (field.type === "group") repeats(field.fields || []);
    if (field.type === "repeat" && !(view.answers[field.name] || []).length) view.answers[field.name] = [view.newInstance(field)];
  });
  repeats(form.fields || []);
  view.render();
  const byName = new Map();
  const walk = (fields) => fields.forEach((f) => { byName.set(f.name, f); if (f.fields) walk(f.fields); });
  walk(form.fields || []);
  for (const box of view.root.querySelectorAll("[data-field]")) {
    const field = byName.get(box.dataset.field.split(".").pop());
    if (!box.hidden) continue;
    box.hidden = false;
    if (field && field.relevant) {
      // The condition as its author wrote it, each ${field} named by its label.
      const when = field.relevant.replace(/\$\{([^}]+)\}/g, (whole, name) =>
        byName.has(name) ? `“${labelIn(byName.get(name).label, language) || name}”` : whole);
      box.prepend(el("p", { class: "when" }, t(`Asked only when ${when}`, `Solo se pregunta si ${when}`)));
    }
  }
}

async function preview(docId) {
  previewSection.hidden = false;
  const box = document.getElementById("preview");
  box.setAttribute("aria-busy", "true");
  try {
    if (!FormView) ({ FormView } = await import("/app/js/form.js"));
    const { body: form } = await api(`${forms()}/${encodeURIComponent(docId)}`);
    const which = form.status === "draft" ? t("draft", "borrador") : t(`version ${form.version}`, `versión ${form.version}`);
    document.getElementById("preview-heading").textContent = t(`Preview: ${titleOf(form)} (${which})`, `Vista previa: ${titleOf(form)} (${which})`);
    document.getElementById("preview-intro").textContent = t(
      "As the phone shows it at a door, in the door's language. Nothing can be typed here.",
      "Tal como lo muestra el teléfono en una puerta, en el idioma de esa puerta. Aquí no se puede escribir.");
    const languages = form.languages && form.languages.length ? form.languages : [form.default_language || "en"];
    const show = (language) => {
      const view = new FormView(form, { language });
      showEverything(view, form, language);
      const title = el("h3", { lang: language }, (form.title || {})[language] || titleOf(form));
      // Read-only: a disabled fieldset keeps every input from taking an answer.
      box.replaceChildren(title, el("fieldset", { disabled: true, class: "plain", lang: language }, view.root));
      for (const button of document.querySelectorAll("#preview-langs button")) {
        button.setAttribute("aria-pressed", String(button.value === language));
      }
    };
    const group = document.getElementById("preview-langs");
    group.replaceChildren(group.firstElementChild, ...languages.map((code) => el("button", {
      type: "button", class: "secondary", value: code, "aria-pressed": "false", onclick: () => show(code),
    }, languageName(code))));
    show(languages.includes(lang) ? lang : languages[0]);
    document.getElementById("preview-heading").focus();
  } catch (error) {
    showError(box, error);
  } finally {
    box.removeAttribute("aria-busy");
  }
}

// ---- start --------------------------------------------------------------------------------------

async function start() {
  if (!frame("forms.html")) return;
  if (!(await pickCampaign())) {
    noCampaign(status);
    return;
  }
  const info = await campaignInfo();
  role = info.role;
  document.title = `${t("Forms", "Formularios")} · ${info.name || campaign()} · Blockwalk`;
  document.getElementById("import-section").hidden = !canWrite();
  document.querySelector("main").setAttribute("aria-busy", "true");
  try {
    await loadForms();
  } catch (error) {
    showError(status, error);
  } finally {
    document.querySelector("main").setAttribute("aria-busy", "false");
  }
}

start();
