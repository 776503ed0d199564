// Shared by every coordinator page: sign-in, the API client, the campaign in view, the navigation.
//
// The device token lives in this tab's sessionStorage only; every call sends it as a bearer token.
// A 401 from the API (expired or revoked token) sends the person back to sign in.

const TOKEN = "blockwalk.token";
const USER = "blockwalk.user";

// Every coordinator page, in the navigation's order: [file, English title, Spanish title, roles].
// A page is listed for the roles given (the API refuses the others anyway); none given: for everyone.
const READERS = ["admin", "coordinator", "organizer"];  // as server/access/roles.py
export const WRITERS = ["admin", "coordinator"];  // as server/access/roles.py: who may change the campaign's set-up and records
export const ROSTER_READERS = ["admin", "organizer"];  // who may see residents' personal data (the roster)
export const PAGES = [
  ["index.html", "Home", "Inicio"],
  ["turfs.html", "Turfs", "Zonas", READERS],
  ["households.html", "Households", "Hogares", READERS],
  ["assignments.html", "Assignments", "Asignaciones", READERS],
  ["people.html", "People", "Personas", READERS],
  ["forms.html", "Forms", "Formularios", READERS],
  ["map.html", "Asset map", "Mapa de recursos", READERS],
  ["conflicts.html", "Conflicts", "Conflictos", READERS],
  ["meetings.html", "Meetings", "Reuniones", READERS],
  ["follow-up.html", "Between meetings", "Entre reuniones", READERS],
  ["progress.html", "Progress", "Avance", READERS],
  ["roster.html", "Roster", "Voluntarios", ROSTER_READERS],
];

// The pages a role may use ("" or unknown: every page, until the role is known).
export function pagesFor(role) {
  return PAGES.filter(([, , , roles]) => !role || !roles || roles.includes(role));
}

export const lang = (navigator.language || "en").toLowerCase().startsWith("es") ? "es" : "en";

export function t(en, es) {
  return lang === "es" && es ? es : en;
}

// A language code ("pl") by its name in the page's language ("Polish", "polaco").
export function languageName(code) {
  if (!code) return "";
  try {
    return new Intl.DisplayNames([lang], { type: "language" }).of(code) || code;
  } catch (error) {
    return code;
  }
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function userName() {
  return sessionStorage.getItem(USER);
}

// The Sign out button: the token is revoked on the server too, then forgotten here (offline: it expires by itself).
async function signOutAndRevoke() {
  try {
    await fetch("/api/v1/me/token", {
      method: "DELETE", headers: { Authorization: `Bearer ${token()}` }, signal: AbortSignal.timeout(5000),
    });
  } catch (error) { /* no network, or none within 5 s: the token is still forgotten here */ }
  signOut();
}

export function signOut() {
  sessionStorage.removeItem(TOKEN);
  sessionStorage.removeItem(USER);
  location.assign("index.html");
}

export async function signIn(name, password) {
  const response = await fetch("/api/v1/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ name, password, label: "coordinator pages" }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    throw refusal(response.status, body, response.status === 401
      ? t("The name or password was not accepted.", "No se aceptaron el nombre o la contraseña.") : undefined);
  }
  sessionStorage.setItem(TOKEN, body.token);
  sessionStorage.setItem(USER, name);
}

// Calls the REST API under /api/v1; JSON in and out (a FormData body goes as a multipart upload).
// Returns {body, response}.
export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const init = { method, headers: { ...headers, Authorization: `Bearer ${token()}` } };
  if (body instanceof FormData) {
    init.body = body;  // the browser writes the multipart Content-Type with its boundary
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, init);
  if (response.status === 401) {
    signOut();
    throw new ApiError(401, t("Please sign in again", "Vuelva a iniciar sesión"));
  }
  if (raw) {
    if (!response.ok) throw refusal(response.status, await response.json().catch(() => null));
    return { body: null, response };
  }
  const parsed = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw refusal(response.status, parsed);
  return { body: parsed, response };
}

// A refusal as the pages say it: a sentence in the page's language for what kind of refusal it is,
// then the server's own reason as the API words it (in English); `sentence` for a call's own kind.
function refusal(status, body, sentence = refusalSentence(status, body)) {
  const reason = body && typeof body.message === "string" ? body.message : "";
  return new ApiError(status, reason && !sentence.includes(reason) ? `${sentence} ${reason}` : sentence, body);
}

// The refusals the pages meet, in words (never "UNPROCESSABLE ENTITY").
function refusalSentence(status, body) {
  const errors = (body && body.errors) || {};
  if (status === 403) return t("You may not do this in this campaign.", "No puede hacer esto en esta campaña.");
  if (status === 404) return t("Not found: it may have been deleted.", "No se encontró: quizá se borró.");
  if (status === 412 || status === 428) {
    return t("Someone changed this meanwhile: reload the page and make your change again.",
      "Alguien lo cambió mientras tanto: recargue la página y haga su cambio de nuevo.");
  }
  if (Array.isArray(errors.problems)) return t("The server refused it; each problem is listed below.", "El servidor lo rechazó; cada problema se indica abajo.");
  if (errors.overlaps) return t("The shape overlaps another turf.", "La forma se superpone con otra zona.");
  if (errors.json && errors.json.geometry) return t("The shape is not an area the server can use.", "La forma no es un área que el servidor pueda usar.");
  if (status === 409) return t("This clashes with what the server already holds.", "Esto choca con lo que el servidor ya tiene.");
  if (status === 429) return t("Too many tries: wait a moment, then try again.", "Demasiados intentos: espere un momento y vuelva a intentarlo.");
  if (status >= 500) return t("The server failed; try again in a moment.", "El servidor falló; inténtelo de nuevo en un momento.");
  if (body && body.message) return t("The server refused this.", "El servidor lo rechazó.");
  return t(`The server refused this (${status}).`, `El servidor lo rechazó (${status}).`);
}

// Every item of a paged list (100 a request, the API's largest), in the API's order;
// onProgress(done, total) after each page, for a long list's progress.
export async function everyPage(path, onProgress) {
  const items = [];
  const joiner = path.includes("?") ? "&" : "?";
  for (let page = 1; ; page += 1) {
    const { body, response } = await api(`${path}${joiner}page=${page}&page_size=100`);
    items.push(...body);
    const meta = JSON.parse(response.headers.get("X-Pagination") || "{}");
    if (onProgress) onProgress(items.length, meta.total ?? items.length);
    if (!meta.next_page) return items;
  }
}

// The server's reasons under its message: {errors: {query: {to: ["..."]}}} as "to: ...".
export function errorText(error) {
  const lines = [error.message || String(error)];
  const walk = (value, key) => {
    // A reason the message already gives ("Bad geometry: X" and geometry: X) is not said twice.
    if (typeof value === "string") { if (!lines[0].includes(value)) lines.push(key ? `${key}: ${value}` : value); }
    else if (Array.isArray(value)) value.forEach((item) => walk(item, key));
    else if (value && typeof value === "object") {
      for (const [k, v] of Object.entries(value)) walk(v, ["json", "query", "form", "files", "_schema", "problems"].includes(k) ? key : k);
    }
  };
  if (error.body && error.body.errors) walk(error.body.errors, "");
  return [...new Set(lines)].join(" — ");
}

// The campaign the pages show: ?campaign=... in the address, else the last one chosen.
export function campaign() {
  const fromUrl = new URLSearchParams(location.search).get("campaign");
  if (fromUrl) sessionStorage.setItem("blockwalk.campaign", fromUrl);
  return fromUrl || sessionStorage.getItem("blockwalk.campaign") || "";
}

// The API path of the campaign in view: `${base()}/turfs`.
export const base = () => `/campaigns/${encodeURIComponent(campaign())}`;

// When the person has a role in exactly one campaign and none is chosen, that one is chosen for them.
// Returns the campaign in view ("" if still none).
export async function pickCampaign() {
  if (campaign() || !token()) return campaign();
  try {
    const { body } = await api("/campaigns?page_size=2");
    if (Array.isArray(body) && body.length === 1) sessionStorage.setItem("blockwalk.campaign", body[0].id);
  } catch (error) { /* no list: the person chooses on the home page */ }
  return campaign();
}

// The campaign in view, as the API describes it (its name and time zone), read once per page.
let info = null;
export function campaignInfo() {
  if (!info) {
    info = api(`/campaigns/${encodeURIComponent(campaign())}`).then(({ body }) => body)
      .catch(() => ({ id: campaign(), name: campaign(), time_zone: "UTC", drives: [] }));
  }
  return info;
}

// A moment (ISO 8601) as the campaign's local time, in the page's language, with the zone named.
// A day alone ("2026-12-10", a due date) is a day of the campaign's calendar, shown as it is.
export function localTime(iso, timeZone = "UTC", { dateOnly = false } = {}) {
  if (!iso) return t("unknown time", "hora desconocida");
  const dayAlone = /^\d{4}-\d{2}-\d{2}$/.test(iso);
  const date = new Date(dayAlone ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(date.getTime())) return iso;
  const options = dateOnly || dayAlone ? { day: "numeric", month: "short", year: "numeric" }
    : { day: "numeric", month: "short", year: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short" };
  try {
    return date.toLocaleString(lang, { ...options, timeZone: dayAlone ? "UTC" : timeZone });
  } catch (error) {  // a zone this browser does not know
    return date.toLocaleString(lang, { ...options, timeZone: "UTC" });
  }
}

// A meeting's time as the meeting gives it (its own offset, whatever this laptop's zone):
// "Dec 3, 2026, 18:30", or with `full` "Thursday, December 3, 2026, 18:30".
export function meetingTime(iso, { full = false } = {}) {
  if (!iso) return "";
  const [datePart, time = ""] = iso.split("T");
  const day = new Date(`${datePart}T00:00:00Z`);
  if (Number.isNaN(day.getTime())) return iso;
  return `${day.toLocaleDateString(lang, { dateStyle: full ? "full" : "medium", timeZone: "UTC" })}, ${time.slice(0, 5)}`;
}

// Element helper: el("p", {class: "x"}, "text", child...).  Text is always set as text, never as HTML.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// Puts the navigation at the top of the page; on a page other than the home page, a person
// who is not signed in is sent there first.
export function frame(current) {
  if (!token() && current !== "index.html") {
    location.assign(`index.html?next=${encodeURIComponent(location.pathname.split("/").pop() + location.search)}`);
    return false;
  }
  if (!campaign() && token()) {
    // Chosen for the person when they have only one campaign; the links follow once it is known.
    pickCampaign().then((picked) => {
      if (!picked) return;
      document.querySelectorAll("header nav a").forEach((a) => {
        a.href = `${a.getAttribute("href").split("?")[0]}?campaign=${encodeURIComponent(picked)}`;
      });
    });
  }
  const nav = el("nav", { "aria-label": t("Pages", "Páginas") },
    PAGES.map(([file, en, es, roles]) => el("a", {
      href: `${file}${campaign() ? `?campaign=${encodeURIComponent(campaign())}` : ""}`,
      "aria-current": file === current ? "page" : undefined, "data-page": file,
    }, t(en, es))),
    token() ? el("span", { class: "who" }, userName() || "",
      el("button", { type: "button", onclick: signOutAndRevoke }, t("Sign out", "Cerrar sesión"))) : null);
  document.body.prepend(el("header", {}, nav));
  if (campaign() && token()) {  // once the person's role in the campaign is known, only the pages it may use
    campaignInfo().then(({ role }) => {
      const usable = new Set(pagesFor(role).map(([file]) => file));
      nav.querySelectorAll("a[data-page]").forEach((a) => { a.hidden = !usable.has(a.dataset.page); });
    });
  }
  return true;
}

export function showError(target, error) {
  target.replaceChildren(el("p", { class: "error", role: "alert" }, errorText(error)));
}
