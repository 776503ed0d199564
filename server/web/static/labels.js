// Values as people read them: a form's labels in the page's language, choices by their labels,
// households by address.  Shared by the review queue and the asset map.
import { api, base, everyPage, lang, t } from "./common.js";

// A translated text ({en, es}) in the page's language, else English, else any.
export function text(labels) {
  if (typeof labels === "string") return labels;
  if (!labels || typeof labels !== "object") return "";
  return labels[lang] || labels.en || Object.values(labels)[0] || "";
}

// A field name as words when the form does not say ("door_language" -> "Door language").
export const words = (name) => {
  const spaced = String(name).replaceAll("_", " ");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
};

const forms = new Map();

// A form version's definition (form:<id>@<n>), read once per page; null if it cannot be read.
export function formOf(form, version) {
  if (!form) return Promise.resolve(null);
  const key = Number.isInteger(version) ? `${form}@${version}` : form;
  if (!forms.has(key)) {
    forms.set(key, api(`${base()}/forms/${encodeURIComponent(key)}`).then(({ body }) => body)
      .catch(() => (key === form ? null : formOf(form, null))));
  }
  return forms.get(key);
}

// Every form of the campaign, newest version of each (the asset map labels its filters with them).
export async function currentForms() {
  const newest = new Map();
  for (const summary of await everyPage(`${base()}/forms`)) {
    const seen = newest.get(summary.form_id);
    if (!seen || (summary.version || 0) > (seen.version || 0)) newest.set(summary.form_id, summary);
  }
  return (await Promise.all([...newest.values()].map((s) => formOf(s.id)))).filter(Boolean);
}

// The field of a form at a path ("answers.assets", "assets.capacity", "capacity"), looked for
// through groups and repeats; null if the form has none.
export function fieldAt(definition, path) {
  if (!definition) return null;
  const names = path.replace(/^answers\./, "").split(".");
  let list = definition.fields || [];
  let found = null;
  for (const name of names) {
    found = find(list, name);
    if (!found) return null;
    list = found.fields || [];
  }
  return found;
}

function find(list, name) {
  for (const field of list) {
    if (field.name === name) return field;
    if (field.type === "group") {
      const inner = find(field.fields || [], name);
      if (inner) return inner;
    }
  }
  return null;
}

export function fieldLabel(field, name) {
  return (field && text(field.label)) || words(name);
}

export function choicesOf(definition, field) {
  if (!field) return [];
  const list = typeof field.choices === "string" ? (definition.choices || {})[field.choices] : field.choices;
  return Array.isArray(list) ? list : [];
}

export function choiceLabel(definition, field, value) {
  const choice = choicesOf(definition, field).find((c) => c.value === value || c.name === value);
  return choice ? text(choice.label) || String(value) : String(value);
}

const NO_ANSWER = () => t("(no answer)", "(sin respuesta)");

// One answer as a line of text, by the field's type.  A repeat is shown by repeatItems().
export function valueText(definition, field, value) {
  if (value === null || value === undefined || value === "") return NO_ANSWER();
  const type = field && field.type;
  if (type === "select_one") return choiceLabel(definition, field, value);
  if (type === "select_multiple" || (Array.isArray(value) && value.every((v) => typeof v !== "object"))) {
    const items = Array.isArray(value) ? value : String(value).split(" ");
    return items.length ? items.map((v) => (field ? choiceLabel(definition, field, v) : String(v))).join(", ") : NO_ANSWER();
  }
  if (type === "geopoint" || (value && typeof value === "object" && "lat" in value && "lon" in value)) {
    const accuracy = typeof value.accuracy_m === "number" ? ` ±${Math.round(value.accuracy_m)} m` : "";
    return typeof value.lat === "number" ? `${value.lat.toFixed(5)}, ${value.lon.toFixed(5)}${accuracy}` : NO_ANSWER();
  }
  if (type === "consent" && value && typeof value === "object") {
    return value.given ? t("consent given", "consentimiento dado") : t("no consent", "sin consentimiento");
  }
  if (typeof value === "boolean") return value ? t("yes", "sí") : t("no", "no");
  if (typeof value === "number") return value.toLocaleString(lang);
  if (value && typeof value === "object") {
    return Object.entries(value).map(([k, v]) => `${fieldLabel(fieldAt(definition, k), k)}: ${valueText(definition, null, v)}`).join("; ");
  }
  return String(value);
}

const households = new Map();

// Households' addresses by id ("12 Elm St, apt 3"), read in pages of at most 100.
export async function addresses(ids) {
  const wanted = [...new Set(ids.filter((id) => id && !households.has(id)))];
  for (let i = 0; i < wanted.length; i += 100) {
    const chunk = wanted.slice(i, i + 100);
    const q = new URLSearchParams(chunk.map((id) => ["id", id]));
    q.set("page_size", "100");
    try {
      const { body } = await api(`${base()}/households?${q}`);
      for (const h of body) households.set(h.id, [h.address, h.unit].filter(Boolean).join(", ") || null);
    } catch (error) { /* shown as unknown addresses */ }
    for (const id of chunk) if (!households.has(id)) households.set(id, null);
  }
  return households;
}

export function addressOf(id) {
  if (!id) return t("no household (found between doors)", "sin hogar (entre puertas)");
  return households.get(id) || t("a household not on the list", "un hogar fuera de la lista");
}
