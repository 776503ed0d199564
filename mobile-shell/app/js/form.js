// A form rendered from its definition (docs/forms.md): every field type, skip
// logic and constraints through the shared evaluator (forms/expressions/*.mjs),
// messages in the language chosen at the door.  Field checks are the
// server's own (forms/fieldchecks.mjs, the rules forms/fieldchecks.py runs):
// what the phone accepts, the server and the roster keep.
import { evaluate, truthy } from "../lib/expressions/index.mjs";
import { dateOk, emailOk, length, phoneOk, timeOk, typedNumber } from "../lib/fieldchecks.mjs";
import { message, num, pick, t } from "./i18n.js";
import { resizePhoto } from "./photo.js";
import { randomId } from "./store.js";

const el = (tag, props = {}, ...children) => {
  const { dataset, ...rest } = props;
  const attributes = Object.keys(rest).filter((key) => key.includes("-")); // aria-label and the like are attributes only
  const node = document.createElement(tag);
  for (const key of attributes) {
    node.setAttribute(key, rest[key]);
    delete rest[key];
  }
  Object.assign(node, rest);
  if (dataset) Object.assign(node.dataset, dataset);
  for (const child of children.flat()) if (child != null) node.append(child);
  return node;
};

const DEFAULT_MAX_TEXT = 2000;
const COORDINATE = { minimumFractionDigits: 5, maximumFractionDigits: 6, useGrouping: false };
const domId = (path) => path.replace(/[^\w-]/g, "_");

const empty = (v) => v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

export class FormView {
  // answers: a record's answers (edited in place on a copy); photos: {name: Blob} added here.
  // region, phoneTable: the campaign's phone region and the shared phone rules;
  // hide: names of fields not asked here (with `preset`, their answers);
  // onErrors(count): told whenever the number of fields with a problem shown changes.
  constructor(form, { answers = {}, language, attachments = {}, geo, region = "US", phoneTable = { regions: {} },
    hide = [], preset = {}, onErrors = null, onChange = null } = {}) {
    this.form = form;
    this.language = language || form.default_language || form.languages[0];
    this.answers = structuredClone(answers);
    this.photos = {};
    this.existing = attachments;
    this.geo = geo;
    this.region = region;
    this.phoneTable = phoneTable;
    this.hide = new Set(hide);
    this.onErrors = onErrors;
    this.onChange = onChange;
    this.errors = {};
    this.checked = false; // a save was tried: problems are shown, and follow the language
    this.root = el("div", { className: "form" });
    this.isNew = Object.keys(answers).length === 0;
    if (this.isNew) this.applyDefaults(form.fields, this.answers);
    Object.assign(this.answers, preset);
    this.render();
  }

  applyDefaults(fields, target) {
    for (const field of fields) {
      if (field.type === "group") this.applyDefaults(field.fields, target);
      else if (field.type === "repeat") {
        const count = field.min_count || 0;
        target[field.name] = Array.from({ length: count }, () => this.newInstance(field));
      } else if (field.default !== undefined && target[field.name] === undefined) {
        target[field.name] = structuredClone(field.default);
      }
    }
  }

  newInstance(field) {
    const instance = {};
    this.applyDefaults(field.fields, instance);
    return instance;
  }

  text(texts) {
    return pick(texts, this.language, this.form.default_language);
  }

  setLanguage(lang) {
    this.language = lang;
    if (this.checked) this.collect(); // the problems shown, again in the door's new language
    else this.render();
    this.touched();
  }

  touched() {
    if (this.onChange) this.onChange(this);
  }

  today() {
    return new Date();
  }

  isRelevant(field, scope) {
    if (!field.relevant) return true;
    try {
      return truthy(evaluate(field.relevant, scope, undefined, { today: this.today() }));
    } catch (err) {
      return true;
    }
  }

  // ---- rendering --------------------------------------------------------------

  render() {
    const focused = document.activeElement && this.root.contains(document.activeElement) ? document.activeElement.name : null;
    this.root.replaceChildren(...this.renderFields(this.form.fields, this.answers, this.answers, ""));
    if (focused) {
      const again = this.root.querySelector(`[name="${CSS.escape(focused)}"]`);
      if (again && again.type !== "radio" && again.type !== "checkbox") again.focus();
    }
  }

  refresh() {
    // Relevance may change with every answer: show and hide without rebuilding inputs.
    this.walk(this.form.fields, this.answers, this.answers, "", true);
  }

  walk(fields, target, scope, prefix, shown) {
    for (const field of fields) {
      const path = prefix + field.name;
      const box = this.root.querySelector(`[data-field="${CSS.escape(path)}"]`);
      const here = shown && this.isRelevant(field, scope);
      if (box) box.hidden = !here || this.hide.has(path);
      if (field.type === "group") this.walk(field.fields, target, scope, prefix, here);
      if (field.type === "repeat") {
        (target[field.name] || []).forEach((instance, i) => {
          this.walk(field.fields, instance, { ...scope, ...instance }, `${path}.${i}.`, here);
        });
      }
    }
  }

  renderFields(fields, target, scope, prefix, shown = true) {
    return fields.map((field) => this.renderField(field, target, scope, prefix, shown));
  }

  renderField(field, target, scope, prefix, shown) {
    const path = prefix + field.name;
    const relevant = shown && this.isRelevant(field, scope);
    const box = el("div", { className: `field field-${field.type}` });
    box.dataset.field = path;
    box.hidden = !relevant || this.hide.has(path);
    const label = this.text(field.label);
    if (field.type === "group") {
      const set = el("fieldset", {}, el("legend", { textContent: label }));
      set.append(...this.renderFields(field.fields, target, scope, prefix, relevant));
      box.append(set);
      return box;
    }
    if (field.type === "repeat") {
      return this.renderRepeat(field, target, scope, path, box, label, relevant);
    }
    const title = el("label", { className: "label", textContent: label + (field.required ? " *" : ""), id: `label-${domId(path)}` });
    box.append(title);
    if (field.hint) box.append(el("p", { className: "hint", textContent: this.text(field.hint) }));
    const input = this.renderInput(field, target, path);
    if (input) {
      // Every answer is found by its question: a typed one is the label's control, a list of choices its group.
      if (input.matches("input, textarea")) {
        input.id = `field-${domId(path)}`;
        title.htmlFor = input.id;
      } else {
        input.setAttribute("role", field.type === "select_multiple" ? "group" : field.type === "photo" || field.type === "geopoint" ? "group" : "radiogroup");
        input.setAttribute("aria-labelledby", title.id);
      }
      box.append(input);
    }
    const error = this.errors[path];
    if (error) box.append(el("p", { className: "error", role: "alert", textContent: error.join(" ") }));
    return box;
  }

  renderRepeat(field, target, scope, path, box, label, relevant) {
    const list = target[field.name] || (target[field.name] = []);
    const set = el("fieldset", { className: "repeat" }, el("legend", { textContent: label }));
    list.forEach((instance, i) => {
      const inner = el("div", { className: "instance" }, el("h4", { textContent: t("entry", { index: i + 1 }, this.language) }));
      inner.append(...this.renderFields(field.fields, instance, { ...scope, ...instance }, `${path}.${i}.`, relevant));
      if (list.length > (field.min_count || 0)) {
        inner.append(el("button", {
          type: "button", className: "secondary", textContent: t("remove_entry", {}, this.language),
          onclick: () => { list.splice(i, 1); this.render(); this.touched(); },
        }));
      }
      set.append(inner);
    });
    if (!field.max_count || list.length < field.max_count) {
      set.append(el("button", {
        type: "button", className: "secondary add", textContent: t("add_entry", {}, this.language),
        onclick: () => { list.push(this.newInstance(field)); this.render(); this.touched(); },
      }));
    }
    const error = this.errors[path];
    if (error) set.append(el("p", { className: "error", role: "alert", textContent: error.join(" ") }));
    box.append(set);
    return box;
  }

  changed(target, name, value) {
    if (empty(value)) delete target[name];
    else target[name] = value;
    const active = document.activeElement;
    const box = active && active.closest && active.closest("[data-field]");
    if (box && box.dataset.field in this.errors) {
      delete this.errors[box.dataset.field]; // answered again: its old message goes
      const shown = box.querySelector(":scope > .error");
      if (shown) shown.remove();
      if (this.onErrors) this.onErrors(Object.keys(this.errors).length);
    }
    this.refresh();
    this.touched();
  }

  renderInput(field, target, path) {
    const value = target[field.name];
    const name = path;
    const choices = field.choices ? this.form.choices[field.choices] || [] : [];
    switch (field.type) {
      case "note":
        return null;
      case "select_one":
        return el("div", { className: "choices" }, choices.map((choice) => el("label", { className: "choice" },
          el("input", {
            type: "radio", name, value: choice.value, checked: value === choice.value,
            onchange: () => this.changed(target, field.name, choice.value),
          }),
          el("span", { textContent: this.text(choice.label) }))));
      case "select_multiple": {
        const chosen = new Set(value || []);
        return el("div", { className: "choices" }, choices.map((choice) => el("label", { className: "choice" },
          el("input", {
            type: "checkbox", name, value: choice.value, checked: chosen.has(choice.value),
            onchange: (event) => {
              if (event.target.checked) chosen.add(choice.value);
              else chosen.delete(choice.value);
              this.changed(target, field.name, choices.map((c) => c.value).filter((v) => chosen.has(v)));
            },
          }),
          el("span", { textContent: this.text(choice.label) }))));
      }
      case "consent": {
        const shown = this.text(field.consent_text);
        const given = value && typeof value.given === "boolean" ? value.given : null;
        const set = (yes) => this.changed(target, field.name, { given: yes, language: this.consentLanguage(field), text: shown });
        return el("div", {},
          el("p", { className: "consent-text", textContent: shown }),
          el("div", { className: "choices" },
            el("label", { className: "choice" }, el("input", { type: "radio", name, value: "yes", checked: given === true, onchange: () => set(true) }),
              el("span", { textContent: t("consent_given", {}, this.language) })),
            el("label", { className: "choice" }, el("input", { type: "radio", name, value: "no", checked: given === false, onchange: () => set(false) }),
              el("span", { textContent: t("consent_refused", {}, this.language) }))));
      }
      case "geopoint": {
        const where = (point) => `${num(point.lat, this.language, COORDINATE)}, ${num(point.lon, this.language, COORDINATE)}`
          + (point.accuracy_m != null ? ` (${t("accuracy", { m: point.accuracy_m }, this.language)})` : "");
        const show = el("p", { className: "geo", textContent: value ? where(value) : "" });
        return el("div", {}, el("button", {
          type: "button", className: "secondary", name, textContent: t("use_location", {}, this.language),
          onclick: () => {
            const best = this.geo && this.geo.best();
            if (best) {
              this.changed(target, field.name, { lat: best.lat, lon: best.lon, accuracy_m: best.accuracy_m });
              show.textContent = where(best);
            } else {
              show.textContent = t("geotag_unavailable", {}, this.language);
            }
          },
        }), show);
      }
      case "photo": {
        const preview = el("div", { className: "photo-preview" });
        const saved = value && this.existing[value] && this.existing[value].data;
        const blob = value && (this.photos[value] || (saved instanceof Blob ? saved : null));
        if (blob) preview.append(el("img", { src: URL.createObjectURL(blob), alt: this.text(field.label) }));
        if (value && !this.photos[value]) preview.append(el("p", { textContent: t("photo_kept", {}, this.language) }));
        const input = el("input", {
          type: "file", accept: "image/*", capture: "environment", name,
          onchange: async (event) => {
            const file = event.target.files[0];
            if (!file) return;
            const small = await resizePhoto(file);
            const attachment = `${field.name}-${randomId().slice(0, 8)}.jpg`;
            if (value && this.photos[value]) delete this.photos[value];
            this.photos[attachment] = small;
            this.changed(target, field.name, attachment);
            preview.replaceChildren(el("img", { src: URL.createObjectURL(small), alt: this.text(field.label) }),
              el("p", { textContent: t("photo_saved", { kb: Math.ceil(small.size / 1024) }, this.language) }));
          },
        });
        return el("div", {}, el("label", { className: "button secondary file" }, t("take_photo", {}, this.language), input), preview);
      }
      default: {
        const kinds = { integer: "number", decimal: "number", date: "date", time: "time", phone: "tel", email: "email" };
        const long = field.type === "text" && (field.max_length || DEFAULT_MAX_TEXT) > 200;
        const input = el(long ? "textarea" : "input", { name, value: value == null ? "" : String(value) });
        if (!long) input.type = kinds[field.type] || "text";
        if (field.type === "integer") { input.inputMode = "numeric"; input.step = "1"; }
        if (field.type === "decimal") { input.inputMode = "decimal"; input.step = "any"; }
        if (field.max_length) input.maxLength = field.max_length;
        input.oninput = () => this.changed(target, field.name, this.parse(field, input.value));
        return input;
      }
    }
  }

  consentLanguage(field) {
    return field.consent_text && field.consent_text[this.language] ? this.language : this.form.default_language;
  }

  parse(field, raw) {
    const text = raw.trim();
    if (text === "") return undefined;
    if (field.type === "integer" || field.type === "decimal") return typedNumber(raw, field.type);
    if (field.type === "time" && /^\d\d:\d\d:00$/.test(text)) return text.slice(0, 5);
    return field.type === "text" ? raw : text;
  }

  // ---- checking ---------------------------------------------------------------

  // The answers to store (those of fields not asked are left out) and every problem by path.
  collect() {
    const problems = {};
    const answers = this.level(this.form.fields, this.answers, this.answers, "", problems);
    this.errors = problems;
    this.checked = true;
    this.render();
    if (this.onErrors) this.onErrors(Object.keys(problems).length);
    return { answers, problems, photos: this.photos };
  }

  level(fields, target, scope, prefix, problems) {
    const out = {};
    const say = (key, params) => message(this.language, key, params);
    for (const field of fields) {
      if (!this.isRelevant(field, scope)) continue;
      const path = prefix + field.name;
      if (field.type === "group") {
        Object.assign(out, this.level(field.fields, target, scope, prefix, problems));
        continue;
      }
      if (field.type === "note") continue;
      const value = target[field.name];
      const add = (text) => (problems[path] = problems[path] || []).push(text);
      if (empty(value)) {
        if (field.required) add(this.text(field.required_message) || say("required"));
        continue;
      }
      if (field.type === "repeat") {
        const list = value.map((instance, i) => this.level(field.fields, instance, { ...scope, ...instance }, `${path}.${i}.`, problems));
        if (field.min_count && list.length < field.min_count) add(say("too_few", { min: field.min_count }));
        if (field.max_count && list.length > field.max_count) add(say("too_many", { max: field.max_count }));
        out[field.name] = list;
        continue;
      }
      const problem = this.check(field, value, say);
      if (problem) add(problem);
      else if (field.constraint) {
        let ok = true;
        try {
          ok = truthy(evaluate(field.constraint, scope, value, { today: this.today() }));
        } catch (err) {
          ok = true;
        }
        if (!ok) add(this.text(field.constraint_message) || say("constraint"));
      }
      out[field.name] = value;
    }
    return out;
  }

  check(field, value, say) {
    const kind = field.type;
    if ((kind === "integer" && !Number.isInteger(value)) ) return say("not_integer");
    if (kind === "decimal" && !(typeof value === "number" && Number.isFinite(value))) return say("not_number");
    if (kind === "date" && !dateOk(value)) return say("not_date");
    if (kind === "time" && !timeOk(value)) return say("not_time");
    if (kind === "phone" && !phoneOk(value, this.region, this.phoneTable)) return say("not_phone");
    if (kind === "email" && !emailOk(value)) return say("not_email");
    if (field.min !== undefined && value < field.min) return say("too_small", { min: field.min });
    if (field.max !== undefined && value > field.max) return say("too_large", { max: field.max });
    if (["text", "phone", "email"].includes(kind)) {
      const count = length(value);
      const longest = field.max_length ?? (kind === "text" ? DEFAULT_MAX_TEXT : undefined);
      if (field.min_length !== undefined && count < field.min_length) return say("too_short", { min: field.min_length });
      if (longest !== undefined && count > longest) return say("too_long", { max: longest });
    }
    if (field.pattern) {
      try {
        if (!new RegExp(`^(?:${field.pattern})$`, "u").test(value)) return this.text(field.pattern_message) || say("pattern");
      } catch (err) {
        // a pattern the browser cannot read: the server checks it
      }
    }
    return null;
  }
}

export { el };
