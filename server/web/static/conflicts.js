// The review queue: values two canvassers set differently at the same time, listed by turf, the competing
// values side by side with who, when, from which device and where; resolve by choosing one or typing a new one.
import { WRITERS, api, base, campaignInfo, el, errorText, everyPage, frame, localTime, pickCampaign, showError, t } from "./common.js";
import { addresses, addressOf, choiceLabel, choicesOf, fieldAt, fieldLabel, formOf, text, valueText } from "./labels.js";

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

const turfNames = new Map();  // turf id -> name, from the turfs API
let timeZone = "UTC";  // the campaign's
let canResolve = false;  // the person's role may resolve (the API decides; an organizer only reads)

// The turf filter lists every turf of the campaign and any other turf a conflict names.
function turfOptions(ids) {
  const known = new Set(Array.from(turfSelect.options, (option) => option.value));
  for (const id of ids) {
    if (!id || known.has(id)) continue;
    turfSelect.append(el("option", { value: id }, turfNames.get(id) || t("A turf not on the turf list", "Una zona fuera de la lista")));
    known.add(id);
  }
}

const NO_ANSWER = () => t("(no answer)", "(sin respuesta)");
const sameValue = (a, b) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

// A competing value as a person reads it; where the values differ, the difference is marked (<mark>).
// A repeat (several assets at one address) is a list of its items, each with the form's labels,
// and only the answers that differ between the values are marked.
function valueNode(ctx, value, others) {
  const { definition, field } = ctx;
  if (field && field.type === "repeat" && Array.isArray(value)) {
    if (!value.length) return el("p", { class: "value" }, NO_ANSWER());
    return el("ol", { class: "items" }, value.map((item, index) => {
      const keys = [...new Set([item, ...others.map((o) => (Array.isArray(o) ? o[index] : undefined))]
        .flatMap((entry) => (entry && typeof entry === "object" ? Object.keys(entry) : [])))];
      const rows = keys.filter((key) => key !== "photo").map((key) => {
        const child = fieldAt(definition, `${fieldPath(ctx.conflict.field)}.${key}`);
        const mine = item && typeof item === "object" ? item[key] : undefined;
        const differs = others.some((o) => !sameValue(mine, Array.isArray(o) && o[index] ? o[index][key] : undefined));
        const shown = valueText(definition, child, mine);
        return [el("dt", {}, fieldLabel(child, key)),
          el("dd", { class: differs ? "differs" : undefined }, differs ? el("mark", {}, shown) : shown)];
      });
      const whole = others.some((o) => !Array.isArray(o) || o.length <= index);
      return el("li", { class: whole ? "differs" : undefined },
        whole ? el("p", { class: "muted" }, el("mark", {}, t("Only in this value", "Solo en este valor"))) : null,
        el("dl", {}, rows.flat()));
    }));
  }
  if (field && field.type === "select_multiple" && Array.isArray(value)) {
    if (!value.length) return el("p", { class: "value" }, NO_ANSWER());
    return el("p", { class: "value" }, value.flatMap((choice, i) => {
      const label = choiceLabel(definition, field, choice);
      const inAll = others.every((o) => Array.isArray(o) && o.includes(choice));
      return [i ? ", " : "", inAll ? label : el("mark", {}, label)];
    }));
  }
  const shown = valueText(definition, field, value);
  return el("p", { class: "value" }, others.some((o) => !sameValue(value, o)) ? el("mark", {}, shown) : shown);
}

function when(iso) {
  return localTime(iso, timeZone);
}

function where(geotag) {
  if (!geotag || typeof geotag.lat !== "number" || typeof geotag.lon !== "number") return t("no geotag", "sin geoetiqueta");
  const accuracy = typeof geotag.accuracy_m === "number" ? ` ±${Math.round(geotag.accuracy_m)} m` : "";
  return `${geotag.lat.toFixed(5)}, ${geotag.lon.toFixed(5)}${accuracy}`;
}

const fieldPath = (field) => (field.startsWith("answers.") ? field.slice("answers.".length) : field);

// The input a new value is typed in, by the field's type: a choice from the form's labels, a number
// within the form's limits, a date, or text; never JSON.  null: the field cannot be typed (a repeat,
// a place, a photo): keep one of the values instead.
function typedInput(ctx, id) {
  const { definition, field } = ctx;
  const type = field ? field.type : "text";
  const label = t("A new value", "Un valor nuevo");
  if (type === "select_one") {
    return el("select", { id, class: "typed" },
      el("option", { value: "" }, t("Choose…", "Elija…")),
      choicesOf(definition, field).map((c) => el("option", { value: c.value ?? c.name }, text(c.label) || c.value)));
  }
  if (type === "select_multiple") {
    return el("fieldset", { id, class: "typed" }, el("legend", {}, label),
      choicesOf(definition, field).map((c) => el("label", { class: "inline" },
        el("input", { type: "checkbox", value: c.value ?? c.name }), " ", text(c.label) || c.value)));
  }
  if (type === "integer" || type === "decimal") {
    return el("input", { id, class: "typed", type: "number", inputmode: type === "integer" ? "numeric" : "decimal",
      step: type === "integer" ? "1" : "any", min: field.min ?? undefined, max: field.max ?? undefined });
  }
  if (type === "date" || type === "time") return el("input", { id, class: "typed", type });
  if (["repeat", "geopoint", "photo", "consent", "group"].includes(type)) return null;
  return el("input", { id, class: "typed", type: type === "email" ? "email" : type === "phone" ? "tel" : "text",
    maxlength: field && field.max_length ? field.max_length : undefined });
}

function typedValue(ctx, input) {
  const type = ctx.field ? ctx.field.type : "text";
  if (type === "select_multiple") return Array.from(input.querySelectorAll("input:checked"), (box) => box.value);
  const raw = input.value.trim();
  if (raw === "") return null;
  if (type === "integer") return Number.parseInt(raw, 10);
  if (type === "decimal") return Number(raw);
  return raw;
}

async function resolve(conflict, body, card, done) {
  const url = `${base()}/conflicts/${encodeURIComponent(conflict.record)}/${encodeURIComponent(conflict.field)}`;
  const controls = () => card.querySelectorAll("button, input, select");
  controls().forEach((node) => { node.disabled = true; });
  try {
    await api(url, { method: "POST", body, headers: { "If-Match": `"${conflict.rev}"` } });
    status.replaceChildren(el("p", { role: "status" }, done));
    await load();
  } catch (error) {
    controls().forEach((node) => { node.disabled = false; });
    const message = error.status === 412
      ? t("Someone changed this record meanwhile; the list is reloaded.", "Alguien cambió este registro; se recarga la lista.")
      : errorText(error);
    showError(card.querySelector(".card-error"), new Error(message));
    if (error.status === 412) await load();
  }
}

let cards = 0;

// Who set a value, in words. A phone's id means nothing to a reader; it matters only when one
// person set both values from two phones, and then the phones are told apart by number.
function byWhom(heads, head) {
  const who = head.by || t("unknown", "desconocido");
  const sameName = heads.filter((other) => other.by === head.by);
  const devices = [...new Set(sameName.map((other) => other.device))];
  if (devices.length < 2) return who;
  const n = devices.indexOf(head.device) + 1;
  return `${who} · ${t(`phone ${n} of ${devices.length}`, `teléfono ${n} de ${devices.length}`)}`;
}

function card(conflict, definition) {
  const field = fieldAt(definition, conflict.field);
  const ctx = { conflict, definition, field };
  const name = fieldLabel(field, fieldPath(conflict.field));
  const place = addressOf(conflict.household);
  const node = el("article", { class: "conflict", "data-record": conflict.record, "data-field": conflict.field,
    "aria-labelledby": `conflict-${++cards}` });
  const values = conflict.heads.map((head) => head.value);
  const heads = conflict.heads.map((head, index) => el("div", { class: "head", role: "group",
    "aria-label": t(`Value ${index + 1} of ${conflict.heads.length}`, `Valor ${index + 1} de ${conflict.heads.length}`) },
    conflict.hidden ? el("p", { class: "value" }, t("(personal data)", "(datos personales)"))
      : valueNode(ctx, head.value, values.filter((_, i) => i !== index)),
    el("p", { class: "muted" }, byWhom(conflict.heads, head)),
    el("p", { class: "muted" }, when(head.at)),
    el("p", { class: "muted" }, where(head.geotag)),
    conflict.hidden || !canResolve ? null : el("button", {
      type: "button", class: "choose",
      onclick: () => resolve(conflict, { choose: index }, node,
        t(`Kept ${head.by || "this"}’s value of “${name}” at ${place}.`, `Se conservó el valor de ${head.by || "esta persona"} en «${name}» en ${place}.`)),
    }, t("Keep this value", "Conservar este valor"))));
  const typed = conflict.hidden || !canResolve ? null : typedInput(ctx, `typed-${cards}`);
  const provisional = conflict.hidden ? t("(personal data)", "(datos personales)")
    : field && field.type === "repeat" ? t("one of the values below", "uno de los valores de abajo")
      : valueText(definition, field, conflict.provisional);
  node.append(
    el("h3", { id: `conflict-${cards}` }, name),
    el("p", { class: "muted" },
      `${t("Household", "Hogar")}: `, el("strong", {}, place),
      definition ? ` · ${t("Form", "Formulario")}: ${text(definition.title)}` : "",
      ` · ${t("Provisional value", "Valor provisional")}: `, el("strong", {}, provisional)),
    el("div", { class: "heads" }, heads),
    conflict.hidden ? el("p", { class: "muted" }, t("Personal data: only an admin may see and resolve this.",
      "Datos personales: solo un administrador puede verlo y resolverlo."))
      : !canResolve ? el("p", { class: "muted" }, t("Admins and coordinators resolve conflicts; you may read them.",
        "Los administradores y coordinadores resuelven los conflictos; usted puede leerlos."))
      : typed ? el("form", {
        class: "type-new",
        onsubmit: (event) => {
          event.preventDefault();
          const value = typedValue(ctx, typed);
          if (value === null || Number.isNaN(value)) {
            showError(node.querySelector(".card-error"), new Error(t("Type or choose a value first.", "Escriba o elija un valor primero.")));
            return;
          }
          resolve(conflict, { value }, node, t(`Saved a new value of “${name}” at ${place}.`, `Guardado un valor nuevo de «${name}» en ${place}.`));
        },
      }, typed.tagName === "FIELDSET" ? typed
        : [el("label", { for: typed.id }, t("Or give a new value", "O dé un valor nuevo")), typed],
      el("button", { type: "submit", class: "secondary" }, t("Save this value", "Guardar este valor")))
        : el("p", { class: "muted" }, t("Keep one of the values above; the record can then be edited.",
          "Conserve uno de los valores de arriba; luego se puede editar el registro.")),
    el("div", { class: "card-error", "aria-live": "polite" }));
  return node;
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
    const conflicts = await everyPage(`${base()}/conflicts${turf ? `?turf=${encodeURIComponent(turf)}` : ""}`);
    if (mine !== loads) return;
    turfOptions(conflicts.map((conflict) => conflict.turf));
    const [definitions] = await Promise.all([
      Promise.all(conflicts.map((c) => formOf(c.form, c.form_version))),
      addresses(conflicts.map((c) => c.household))]);
    if (mine !== loads) return;
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
      el("h2", {}, key ? (turfNames.get(key) || t("A turf not on the turf list", "Una zona fuera de la lista")) : t("No turf", "Sin zona"),
        el("span", { class: "muted" }, ` (${items.length})`)),
      items.map((conflict) => card(conflict, definitions[conflicts.indexOf(conflict)])))));
  } catch (error) {
    if (mine === loads) showError(queue, error);
  } finally {
    if (mine === loads) queue.setAttribute("aria-busy", "false");
  }
}

async function start() {
  if (!frame("conflicts.html")) return;
  if (!(await pickCampaign())) {
    showError(queue, new Error(t("Choose a campaign on the home page first.", "Elija primero una campaña en la página de inicio.")));
    return;
  }
  const info = await campaignInfo();
  timeZone = info.time_zone || "UTC";
  canResolve = WRITERS.includes(info.role);
  try {
    const turfs = await everyPage(`${base()}/turfs`);
    for (const turf of turfs) turfNames.set(turf.id, turf.name || turf.id);
    turfOptions(turfs.map((turf) => turf.id));
  } catch (error) { /* the queue still works without the turf names */ }
  turfSelect.addEventListener("change", load);
  await load();
  showWanted(new URLSearchParams(location.search).get("record"));
}

// Opened from the asset map for one record ("conflicts.html?record=…"): that record's cards are
// marked, scrolled to and focused; a record with nothing to review says so.
function showWanted(record) {
  if (!record) return;
  const wanted = [...queue.querySelectorAll("article.conflict")].filter((node) => node.dataset.record === record);
  if (!wanted.length) {
    status.replaceChildren(el("p", { role: "status" },
      t("The asset you came from has no conflict waiting.", "El recurso del que viene no tiene conflictos pendientes.")));
    return;
  }
  wanted.forEach((node) => node.classList.add("wanted"));
  wanted[0].tabIndex = -1;
  wanted[0].scrollIntoView({ block: "start" });
  wanted[0].focus();
}

start();
