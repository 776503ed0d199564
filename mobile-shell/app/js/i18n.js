// The app's own words, in English and Spanish.  A form's words come from the form.
const WORDS = {
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
    my_turfs: "My turfs",
    list: "List",
    map: "Map",
    no_turfs: "No turfs yet. They arrive when your coordinator assigns you one and the phone syncs.",
    doors: "{n} doors",
    visited: "{n} visited",
    walk_list: "Walk list",
    not_visited: "Not visited",
    household: "Household",
    past_visits: "Visits in this campaign",
    no_visits: "No visits yet.",
    new_visit: "New visit: {form}",
    asset_between: "Record an asset found between doors",
    by: "by {author}",
    edit: "Edit",
    save: "Save",
    saved: "Saved on this phone.",
    cancel: "Cancel",
    back: "Back",
    door_language: "Language at this door",
    add_entry: "Add another",
    remove_entry: "Remove",
    entry: "Entry {n}",
    take_photo: "Take or choose a photo",
    photo_saved: "Photo ready ({kb} KB)",
    use_location: "Use my location",
    location: "Location",
    accuracy: "accuracy {m} m",
    geotag: "Geotag",
    geotag_waiting: "Finding your position… best so far: {best}",
    geotag_none: "none yet",
    geotag_ok: "Position {lat}, {lon} (accuracy {m} m)",
    geotag_best: "Best position after waiting: accuracy {m} m (target {target} m)",
    geotag_manual: "Pin dropped by hand at {lat}, {lon}",
    geotag_unavailable: "No position from this phone. Drop a pin on the map.",
    drop_pin: "Drop a pin",
    pin_hint: "Tap the map where you are.",
    pin_done: "Use this pin",
    geotag_needed: "A position is needed: wait for it or drop a pin.",
    fix_errors: "Some answers need attention.",
    consent_given: "Yes, consent given",
    consent_refused: "No",
    yes: "Yes",
    no: "No",
    sync: "Sync",
    sync_title: "Sync",
    online: "Online",
    offline: "Offline: everything is saved on this phone",
    syncing: "Syncing…",
    sync_error: "Sync problem: {reason}. Retrying.",
    signin_again: "The server no longer accepts this phone's sign-in. Sign in again (nothing saved is lost).",
    last_sync: "Last synced: {when}",
    never: "never",
    pending: "Not yet on the server: {n}",
    pending_none: "Everything is on the server.",
    refused: "Refused by the server: {n}",
    refused_reason: "Reason: {reason}",
    resend: "Resend",
    merged: "Merged with another edit",
    merged_fields: "Merged with another phone's edit ({fields})",
    conflict: "Edited on two phones at once: the coordinator will review it",
    signout: "Sign out",
    signout_pending: "{n} records are not on the server yet. Signing out now would lose them. Connect to the network first.",
    signout_confirm: "Sign out and remove this campaign's data from this phone?",
    signed_in_as: "Signed in as {name} ({campaign})",
    turf_dropped: "Your assignment to {turf} ended: its data was removed from this phone.",
    outcome_none: "—",
    language: "App language",
    record: "Visit",
    draft_saved: "Saved",
    not_sent: "not on the server yet",
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
    my_turfs: "Mis zonas",
    list: "Lista",
    map: "Mapa",
    no_turfs: "Aún no hay zonas. Llegan cuando su coordinador/a le asigna una y el teléfono se sincroniza.",
    doors: "{n} puertas",
    visited: "{n} visitadas",
    walk_list: "Lista de puertas",
    not_visited: "Sin visitar",
    household: "Hogar",
    past_visits: "Visitas en esta campaña",
    no_visits: "Aún no hay visitas.",
    new_visit: "Nueva visita: {form}",
    asset_between: "Registrar un recurso encontrado entre puertas",
    by: "por {author}",
    edit: "Editar",
    save: "Guardar",
    saved: "Guardado en este teléfono.",
    cancel: "Cancelar",
    back: "Volver",
    door_language: "Idioma en esta puerta",
    add_entry: "Añadir otro",
    remove_entry: "Quitar",
    entry: "Entrada {n}",
    take_photo: "Tomar o elegir una foto",
    photo_saved: "Foto lista ({kb} KB)",
    use_location: "Usar mi ubicación",
    location: "Ubicación",
    accuracy: "precisión {m} m",
    geotag: "Geoetiqueta",
    geotag_waiting: "Buscando su posición… la mejor hasta ahora: {best}",
    geotag_none: "ninguna aún",
    geotag_ok: "Posición {lat}, {lon} (precisión {m} m)",
    geotag_best: "Mejor posición tras esperar: precisión {m} m (objetivo {target} m)",
    geotag_manual: "Alfiler puesto a mano en {lat}, {lon}",
    geotag_unavailable: "Este teléfono no da una posición. Ponga un alfiler en el mapa.",
    drop_pin: "Poner un alfiler",
    pin_hint: "Toque el mapa donde está.",
    pin_done: "Usar este alfiler",
    geotag_needed: "Se necesita una posición: espere o ponga un alfiler.",
    fix_errors: "Algunas respuestas necesitan atención.",
    consent_given: "Sí, da su consentimiento",
    consent_refused: "No",
    yes: "Sí",
    no: "No",
    sync: "Sincronizar",
    sync_title: "Sincronización",
    online: "En línea",
    offline: "Sin conexión: todo se guarda en este teléfono",
    syncing: "Sincronizando…",
    sync_error: "Problema al sincronizar: {reason}. Se reintenta.",
    signin_again: "El servidor ya no acepta el acceso de este teléfono. Vuelva a entrar (no se pierde nada guardado).",
    last_sync: "Última sincronización: {when}",
    never: "nunca",
    pending: "Aún no están en el servidor: {n}",
    pending_none: "Todo está en el servidor.",
    refused: "Rechazados por el servidor: {n}",
    refused_reason: "Motivo: {reason}",
    resend: "Reenviar",
    merged: "Combinado con otra edición",
    merged_fields: "Combinado con la edición de otro teléfono ({fields})",
    conflict: "Editado en dos teléfonos a la vez: la coordinación lo revisará",
    signout: "Cerrar sesión",
    signout_pending: "{n} registros aún no están en el servidor. Cerrar sesión ahora los perdería. Conéctese a la red primero.",
    signout_confirm: "¿Cerrar sesión y borrar los datos de esta campaña del teléfono?",
    signed_in_as: "Sesión de {name} ({campaign})",
    turf_dropped: "Su asignación a {turf} terminó: sus datos se borraron de este teléfono.",
    outcome_none: "—",
    language: "Idioma de la aplicación",
    record: "Visita",
    draft_saved: "Guardado",
    not_sent: "aún no está en el servidor",
  },
};

export const APP_LANGUAGES = Object.keys(WORDS);

let current = localStorage.getItem("bw.lang")
  || (APP_LANGUAGES.includes((navigator.language || "en").slice(0, 2)) ? navigator.language.slice(0, 2) : "en");

export function appLanguage() {
  return current;
}

export function setAppLanguage(lang) {
  if (!WORDS[lang]) return;
  current = lang;
  localStorage.setItem("bw.lang", lang);
  document.documentElement.lang = lang;
}

export function t(key, params = {}, lang = current) {
  const text = (WORDS[lang] && WORDS[lang][key]) || WORDS.en[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
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
  const text = catalogue[key] || (catalogues.en || {})[key] || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}
