// Words, numbers and dates, in English and Spanish.
//
// Two audiences (docs/app.md, "Whose words"): the volunteer's words (the app's
// own chrome) follow the app language the volunteer chose; the resident's words
// (the form, its choices and consent texts, the meeting notice, the form's
// buttons and messages) follow the language chosen for the door.  `t(key,
// params, lang)` takes the language to use; screens pass the door's for the
// resident's words.
//
// A message that counts something takes `{n}` and has a form per plural
// category ({one, other}, chosen by Intl.PluralRules); numbers are written by
// Intl.NumberFormat and dates by Intl.DateTimeFormat in the message's language.
// tests/browser/test_app_words.py fails on a count without its plural forms.
export const WORDS = {
  en: {
    app: "Blockwalk",
    signin_title: "Sign in",
    campaign: "Campaign",
    name: "Name",
    password: "Password",
    signin: "Sign in",
    or_code: "Or use the code your coordinator shows",
    code: "Sign-in code",
    use_code: "Sign in with code",
    scan: "Scan QR code",
    scan_stop: "Stop scanning",
    no_camera: "This phone cannot scan codes here: type the code.",
    signin_failed: "Sign-in failed: {reason}",
    signin_offline: "No network: signing in needs the server once.",
    signin_wrong: "That name and password do not match. Check both and try again.",
    signin_wrong_code: "That code is not valid (used, expired or mistyped). Ask your coordinator for a new one.",
    signed_in_again: "Signed in again: what this phone holds goes to the server now.",
    signin_other: "That code is for {name}; this phone is signed in as {current}. Sign out first to change who uses it.",
    my_turfs: "My turfs",
    list: "List",
    map: "Map",
    no_turfs: "No turfs yet. They arrive when your coordinator assigns you one and the phone syncs.",
    doors: { one: "{n} door", other: "{n} doors" },
    visited: { one: "{n} visited", other: "{n} visited" },
    walk_list: "Walk list",
    not_visited: "Not visited",
    household: "Household",
    door_gone: "This door is no longer on this phone: your assignment to its turf ended.",
    turf_gone: "This turf is no longer on this phone: your assignment to it ended.",
    form_turf_gone: "Your assignment to {turf} ended while this form was open: you can still save, but the server will refuse the visit until the turf is assigned to you again.",
    back_to_turfs: "Back to my turfs",
    past_visits: "Visits in this campaign",
    no_visits: "No visits yet.",
    concerns_here: "Concerns raised at this door",
    concern_waiting: "Not taken up yet: it goes to the next meeting.",
    concern_status_raised: "On the meeting's agenda",
    concern_status_open: "Taken up at the meeting",
    concern_status_in_progress: "In progress",
    concern_status_done: "Done",
    concern_status_dropped: "Not pursued",
    concern_due: "Expected by {date}",
    new_visit: "New visit: {form}",
    asset_between: "Record an asset found between doors",
    between_doors: "Found between doors (no household)",
    asset_saved: "Asset saved.",
    visit_saved: "Visit saved.",
    draft_kept: "Your answers not yet saved were kept.",
    draft_discard: "Start again",
    by: "by {author}",
    edit: "Edit",
    save: "Save",
    cancel: "Cancel",
    back: "Back",
    door_language: "Show the form in",
    add_entry: "Add another",
    remove_entry: "Remove",
    entry: "Entry {index}",
    take_photo: "Take or choose a photo",
    photo_saved: "Photo ready ({kb} KB)",
    photo_kept: "Photo saved with this visit",
    use_location: "Use my location",
    accuracy: "accuracy {m} m",
    geotag_waiting: "Finding your position… best so far: {best}",
    geotag_none: "none yet",
    geotag_ok: "Position found: accuracy {m} m.",
    geotag_best: "Best position after waiting: accuracy {m} m (target {target} m).",
    geotag_manual: "Position marked by hand on the map.",
    geotag_kept: "Position as saved: accuracy {m} m.",
    geotag_unavailable: "No position from this phone. Mark it on the map.",
    geotag_to_door: "{d} m from the door.",
    geotag_far: "Check the position: it is {d} m from this door. Wait for a better fix or mark it on the map.",
    geotag_outside: "Check the position: it is outside {turf}. Wait for a better fix or mark it on the map.",
    geotag_far_saved: "Saved {d} m from the door: the coordinator will see it flagged.",
    wait_again: "Wait for a better fix",
    drop_pin: "Mark on the map",
    pin_hint: "Tap the map where you are. The blue dot is the door.",
    pin_done: "Use this point",
    geotag_needed: "A position is needed: wait for it or mark it on the map.",
    fix_errors: { one: "{n} answer needs attention.", other: "{n} answers need attention." },
    consent_given: "Yes, I agree",
    consent_refused: "No",
    sync: "Sync",
    sync_title: "Sync",
    online: "Online",
    offline: "Offline: everything is saved on this phone",
    offline_short: "Offline: saving on this phone",
    syncing: "Syncing…",
    sync_error: "Sync problem: {reason}. Retrying.",
    signin_again: "The server no longer accepts this phone's sign-in. Sign in again (nothing saved is lost).",
    last_sync: "Last synced: {when}",
    never: "never",
    pending: { one: "{n} record not yet on the server", other: "{n} records not yet on the server" },
    pending_none: "Everything is on the server.",
    pending_none_refused: "Nothing is waiting to be sent, but the server refused what is listed below.",
    refused: { one: "{n} record refused by the server", other: "{n} records refused by the server" },
    refused_reason: "Reason: {reason}",
    resend: "Resend",
    merged_fields: "Merged with another phone's edit ({fields})",
    conflict: "Edited on two phones at once: the coordinator will review it",
    signout: "Sign out",
    signout_pending: { one: "{n} record is not on the server yet. Signing out now would lose it. Connect to the network first.",
      other: "{n} records are not on the server yet. Signing out now would lose them. Connect to the network first." },
    signout_confirm: "Sign out and remove this campaign's data from this phone?",
    signed_in_as: "Signed in as {name} ({campaign})",
    turf_dropped: "Your assignment to {turf} ended: its data was removed from this phone.",
    outcome_none: "—",
    language: "App language",
    not_sent: "not on the server yet",
    on_server: "on the server",
    meeting_where: "Where: {place}",
    meeting_none: "No meeting is coming up in this campaign.",
    legend_contacted: "Contacted",
    legend_tried: "Tried",
    legend_todo: "Not visited",
    legend_you: "You",
    offline_map: "Map for offline: {size} MB of {budget} MB",
    offline_map_full: "Map for offline: {size} MB of {budget} MB, full: the closest zoom is left out",
    offline_map_loading: { one: "Map for offline: downloading, {done} of {n} tile", other: "Map for offline: downloading, {done} of {n} tiles" },
    offline_map_waiting: "Map for offline: downloads when there is signal",
    offline_map_off: "Map for offline: not kept on this phone (the campaign's size limit is 0 MB)",
    offline_map_error: "Map for offline: the download stopped ({reason}); it goes on when the app is next open with signal",
    open_door: "Open this door",
  },
  es: {
    app: "Blockwalk",
    signin_title: "Iniciar sesión",
    campaign: "Campaña",
    name: "Nombre",
    password: "Contraseña",
    signin: "Entrar",
    or_code: "O use el código que muestra su coordinador/a",
    code: "Código de acceso",
    use_code: "Entrar con el código",
    scan: "Escanear código QR",
    scan_stop: "Dejar de escanear",
    no_camera: "Este teléfono no puede escanear aquí: escriba el código.",
    signin_failed: "No se pudo entrar: {reason}",
    signin_offline: "Sin red: para entrar se necesita el servidor una vez.",
    signin_wrong: "El nombre y la contraseña no coinciden. Revise ambos e inténtelo de nuevo.",
    signin_wrong_code: "Ese código no es válido (usado, vencido o mal escrito). Pida uno nuevo a su coordinador/a.",
    signed_in_again: "Sesión iniciada de nuevo: lo que guarda este teléfono va ahora al servidor.",
    signin_other: "Ese código es de {name}; este teléfono tiene abierta la sesión de {current}. Cierre la sesión antes de cambiar de persona.",
    my_turfs: "Mis zonas",
    list: "Lista",
    map: "Mapa",
    no_turfs: "Aún no hay zonas. Llegan cuando su coordinador/a le asigna una y el teléfono se sincroniza.",
    doors: { one: "{n} puerta", many: "{n} de puertas", other: "{n} puertas" },
    visited: { one: "{n} visitada", many: "{n} visitadas", other: "{n} visitadas" },
    walk_list: "Lista de puertas",
    not_visited: "Sin visitar",
    household: "Hogar",
    door_gone: "Esta puerta ya no está en el teléfono: terminó su asignación a esa zona.",
    turf_gone: "Esta zona ya no está en el teléfono: terminó su asignación.",
    form_turf_gone: "Su asignación a {turf} terminó con este formulario abierto: puede guardar, pero el servidor rechazará la visita hasta que se le vuelva a asignar la zona.",
    back_to_turfs: "Volver a mis zonas",
    past_visits: "Visitas en esta campaña",
    no_visits: "Aún no hay visitas.",
    concerns_here: "Inquietudes planteadas en esta puerta",
    concern_waiting: "Aún no se ha tratado: irá a la próxima reunión.",
    concern_status_raised: "En el orden del día de la reunión",
    concern_status_open: "Se asumió en la reunión",
    concern_status_in_progress: "En curso",
    concern_status_done: "Resuelto",
    concern_status_dropped: "No se siguió adelante",
    concern_due: "Previsto para el {date}",
    new_visit: "Nueva visita: {form}",
    asset_between: "Registrar un recurso encontrado entre puertas",
    between_doors: "Encontrado entre puertas (sin hogar)",
    asset_saved: "Recurso guardado.",
    visit_saved: "Visita guardada.",
    draft_kept: "Se conservaron sus respuestas aún no guardadas.",
    draft_discard: "Empezar de nuevo",
    by: "por {author}",
    edit: "Editar",
    save: "Guardar",
    cancel: "Cancelar",
    back: "Volver",
    door_language: "Mostrar el formulario en",
    add_entry: "Añadir otro",
    remove_entry: "Quitar",
    entry: "Entrada {index}",
    take_photo: "Tomar o elegir una foto",
    photo_saved: "Foto lista ({kb} KB)",
    photo_kept: "Foto guardada con esta visita",
    use_location: "Usar mi ubicación",
    accuracy: "precisión {m} m",
    geotag_waiting: "Buscando su posición… la mejor hasta ahora: {best}",
    geotag_none: "ninguna aún",
    geotag_ok: "Posición encontrada: precisión {m} m.",
    geotag_best: "Mejor posición tras esperar: precisión {m} m (objetivo {target} m).",
    geotag_manual: "Posición marcada a mano en el mapa.",
    geotag_kept: "Posición guardada: precisión {m} m.",
    geotag_unavailable: "Este teléfono no da una posición. Márquela en el mapa.",
    geotag_to_door: "A {d} m de la puerta.",
    geotag_far: "Revise la posición: está a {d} m de esta puerta. Espere una mejor señal o márquela en el mapa.",
    geotag_outside: "Revise la posición: está fuera de {turf}. Espere una mejor señal o márquela en el mapa.",
    geotag_far_saved: "Guardada a {d} m de la puerta: la coordinación la verá señalada.",
    wait_again: "Esperar una mejor señal",
    drop_pin: "Marcar en el mapa",
    pin_hint: "Toque el mapa donde está. El punto azul es la puerta.",
    pin_done: "Usar este punto",
    geotag_needed: "Se necesita una posición: espere o márquela en el mapa.",
    fix_errors: { one: "{n} respuesta necesita atención.", many: "{n} de respuestas necesitan atención.", other: "{n} respuestas necesitan atención." },
    consent_given: "Sí, estoy de acuerdo",
    consent_refused: "No",
    sync: "Sincronizar",
    sync_title: "Sincronización",
    online: "En línea",
    offline: "Sin conexión: todo se guarda en este teléfono",
    offline_short: "Sin conexión: se guarda en el teléfono",
    syncing: "Sincronizando…",
    sync_error: "Problema al sincronizar: {reason}. Se reintenta.",
    signin_again: "El servidor ya no acepta el acceso de este teléfono. Vuelva a entrar (no se pierde nada guardado).",
    last_sync: "Última sincronización: {when}",
    never: "nunca",
    pending: { one: "{n} registro aún no está en el servidor", many: "{n} de registros aún no están en el servidor", other: "{n} registros aún no están en el servidor" },
    pending_none: "Todo está en el servidor.",
    pending_none_refused: "No queda nada por enviar, pero el servidor rechazó lo que aparece abajo.",
    refused: { one: "{n} registro rechazado por el servidor", many: "{n} de registros rechazados por el servidor", other: "{n} registros rechazados por el servidor" },
    refused_reason: "Motivo: {reason}",
    resend: "Reenviar",
    merged_fields: "Combinado con la edición de otro teléfono ({fields})",
    conflict: "Editado en dos teléfonos a la vez: la coordinación lo revisará",
    signout: "Cerrar sesión",
    signout_pending: { one: "{n} registro aún no está en el servidor. Cerrar sesión ahora lo perdería. Conéctese a la red primero.",
      many: "{n} de registros aún no están en el servidor. Cerrar sesión ahora los perdería. Conéctese a la red primero.",
      other: "{n} registros aún no están en el servidor. Cerrar sesión ahora los perdería. Conéctese a la red primero." },
    signout_confirm: "¿Cerrar sesión y borrar los datos de esta campaña del teléfono?",
    signed_in_as: "Sesión de {name} ({campaign})",
    turf_dropped: "Su asignación a {turf} terminó: sus datos se borraron de este teléfono.",
    outcome_none: "—",
    language: "Idioma de la aplicación",
    not_sent: "aún no está en el servidor",
    on_server: "en el servidor",
    meeting_where: "Dónde: {place}",
    meeting_none: "No hay ninguna reunión próxima en esta campaña.",
    legend_contacted: "Contactado",
    legend_tried: "Intentado",
    legend_todo: "Sin visitar",
    legend_you: "Usted",
    offline_map: "Mapa sin conexión: {size} MB de {budget} MB",
    offline_map_full: "Mapa sin conexión: {size} MB de {budget} MB, lleno: falta el zoom más cercano",
    offline_map_loading: { one: "Mapa sin conexión: descargando, {done} de {n} mosaico", many: "Mapa sin conexión: descargando, {done} de {n} de mosaicos", other: "Mapa sin conexión: descargando, {done} de {n} mosaicos" },
    offline_map_waiting: "Mapa sin conexión: se descarga cuando haya señal",
    offline_map_off: "Mapa sin conexión: no se guarda en este teléfono (el límite de la campaña es 0 MB)",
    offline_map_error: "Mapa sin conexión: la descarga se detuvo ({reason}); sigue la próxima vez que la aplicación se abra con señal",
    open_door: "Abrir esta puerta",
  },
};

export const APP_LANGUAGES = Object.keys(WORDS);

const stored = globalThis.localStorage ? localStorage.getItem("bw.lang") : null;
const browser = ((globalThis.navigator && navigator.language) || "en").slice(0, 2);
let current = stored || (APP_LANGUAGES.includes(browser) ? browser : "en");

export function appLanguage() {
  return current;
}

export function setAppLanguage(lang) {
  if (!WORDS[lang]) return;
  current = lang;
  localStorage.setItem("bw.lang", lang);
  document.documentElement.lang = lang;
}

const formats = new Map();
function cached(kind, lang, options, make) {
  const key = `${kind}|${lang}|${JSON.stringify(options)}`;
  if (!formats.has(key)) formats.set(key, make());
  return formats.get(key);
}

// A number in a language (Intl.NumberFormat): at most one decimal unless asked.
export function num(value, lang = current, options = { maximumFractionDigits: 1 }) {
  return cached("n", lang, options, () => new Intl.NumberFormat(lang, options)).format(value);
}

// A date and time in a language (Intl.DateTimeFormat).
export function dateTime(value, lang = current, options = { dateStyle: "medium", timeStyle: "short" }) {
  return cached("d", lang, options, () => new Intl.DateTimeFormat(lang, options)).format(value instanceof Date ? value : new Date(value));
}

// The plural category of n in a language (Intl.PluralRules).
export function plural(n, lang = current) {
  return cached("p", lang, {}, () => new Intl.PluralRules(lang)).select(n);
}

// A language's own name for itself ("English", "español"), for switches a resident may see.
export function languageName(code) {
  try {
    const name = new Intl.DisplayNames([code], { type: "language" }).of(code);
    return name.charAt(0).toLocaleUpperCase(code) + name.slice(1);
  } catch (err) {
    return code.toUpperCase();
  }
}

function fill(text, params, lang) {
  return text.replace(/\{(\w+)\}/g, (_, name) => {
    if (!(name in params)) return `{${name}}`;
    const value = params[name];
    return typeof value === "number" ? num(value, lang) : String(value);
  });
}

// One of the app's messages in `lang` (the app language unless told): its plural form for params.n.
export function t(key, params = {}, lang = current) {
  const words = WORDS[lang] || WORDS.en;
  let text = key in words ? words[key] : WORDS.en[key];
  if (text === undefined) return key;
  if (typeof text === "object") text = text[plural(params.n ?? 0, lang)] || text.other;
  return fill(text, params, lang);
}

// A form's text in a language: {"en": "...", "es": "..."}, falling back to the form's default.
export function pick(texts, lang, fallback) {
  if (!texts) return "";
  if (typeof texts === "string") return texts;
  return texts[lang] || texts[fallback] || Object.values(texts)[0] || "";
}

// The validator's messages (forms/messages.py, served as /app/messages.json), loaded once.
let catalogues = { en: {} };
export async function loadMessages() {
  try {
    const response = await fetch("messages.json");
    if (response.ok) catalogues = await response.json();
  } catch (err) {
    // Offline and not cached yet: the built-in keys are shown as they are.
  }
}

export function message(lang, key, params = {}) {
  const catalogue = catalogues[lang] || catalogues[(lang || "").split("-")[0]] || catalogues.en || {};
  let text = catalogue[key] || (catalogues.en || {})[key] || key;
  if (typeof text === "object") { // counted (forms/messages.py): the form for the message's number
    const count = Object.values(params).find((v) => typeof v === "number");
    text = text[plural(count ?? 0, key in catalogue ? lang : "en")] || text.other;
  }
  return fill(text, params, lang);
}
