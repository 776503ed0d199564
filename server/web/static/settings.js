// The campaign's own settings on the home page: its name, its time zone (every page shows times
// in it), how much base map each phone keeps offline, and its description. An admin or a coordinator changes them (PATCH with If-Match); other
// roles do not see the form, as the API would refuse them anyway.
import { WRITERS, api, el, errorText, t } from "./common.js";

const form = document.getElementById("settings");
const zone = document.getElementById("settings-zone");
const now = document.getElementById("settings-zone-now");
const status = document.getElementById("settings-status");

document.getElementById("settings-title").textContent = t("Settings", "Ajustes");
document.getElementById("settings-name-label").textContent = t("Title", "Título");
document.getElementById("settings-zone-label").textContent = t("Time zone", "Zona horaria");
document.getElementById("settings-description-label").textContent = t("Description", "Descripción");
document.getElementById("settings-map-label").textContent = t("Offline map on each phone (MB)", "Mapa sin conexión en cada teléfono (MB)");
document.getElementById("settings-map-help").textContent = t(
  "The streets under a volunteer's turfs, kept on the phone for when there is no signal; 0 keeps none.",
  "Las calles de las zonas de cada voluntario, guardadas en el teléfono para cuando no hay señal; 0 no guarda nada.");
document.getElementById("settings-save").textContent = t("Save settings", "Guardar ajustes");

const ZONES = ["UTC", ...(Intl.supportedValuesOf ? Intl.supportedValuesOf("timeZone") : [])
  .filter((name) => name !== "UTC")];

let shown = "";   // the campaign whose settings the form holds
let etag = null;  // its revision, sent back as If-Match

function clock() {
  try {
    const time = new Intl.DateTimeFormat(undefined, { timeZone: zone.value, dateStyle: "medium", timeStyle: "short" })
      .format(new Date());
    now.textContent = t(`Now there: ${time}. Every page shows this campaign's times in this zone.`,
      `Ahora allí: ${time}. Todas las páginas muestran las horas de esta campaña en esta zona.`);
  } catch (error) { now.textContent = ""; }
}

zone.addEventListener("change", clock);

export async function showSettings(id, role) {
  shown = id;
  status.replaceChildren();
  form.hidden = !id || !WRITERS.includes(role);
  if (form.hidden) return;
  try {
    const { body, response } = await api(`/campaigns/${encodeURIComponent(id)}`);
    if (shown !== id) return;
    etag = response.headers.get("ETag");
    const zones = ZONES.includes(body.time_zone) ? ZONES : [body.time_zone, ...ZONES];
    zone.replaceChildren(...zones.map((name) => el("option", { value: name }, name.replaceAll("_", " "))));
    zone.value = body.time_zone;
    form.elements.name.value = body.name;
    form.elements.description.value = body.description || "";
    form.elements.offline_map_mb.value = body.offline_map_mb ?? 25;
    clock();
  } catch (error) {
    status.replaceChildren(el("p", { class: "error", role: "alert" }, errorText(error)));
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const id = shown;
  const save = document.getElementById("settings-save");
  save.disabled = true;
  status.replaceChildren(el("p", { class: "muted" }, t("Saving…", "Guardando…")));
  try {
    const { response } = await api(`/campaigns/${encodeURIComponent(id)}`, {
      method: "PATCH", headers: etag ? { "If-Match": etag } : {},
      body: { name: form.elements.name.value.trim(), time_zone: zone.value, description: form.elements.description.value,
        offline_map_mb: Number(form.elements.offline_map_mb.value) },
    });
    etag = response.headers.get("ETag");
    status.replaceChildren(el("p", { role: "status" }, t("Settings saved.", "Ajustes guardados.")));
    const option = document.querySelector(`#campaign option[value="${CSS.escape(id)}"]`);
    if (option) option.textContent = form.elements.name.value.trim() === id ? id : `${form.elements.name.value.trim()} (${id})`;
  } catch (error) {
    const message = error.status === 412
      ? t("Someone changed these settings meanwhile: the form now shows theirs; make your change again.",
        "Alguien cambió estos ajustes: el formulario muestra los suyos; haga su cambio de nuevo.")
      : errorText(error);
    if (error.status === 412) await showSettings(id, "coordinator");
    status.replaceChildren(el("p", { class: "error", role: "alert" }, message));
  } finally {
    save.disabled = false;
  }
});
