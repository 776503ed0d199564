// Shared by every coordinator page: sign-in, the API client, the campaign in view, the navigation.
//
// The device token lives in this tab's sessionStorage only; every call sends it as a bearer token.
// A 401 from the API (expired or revoked token) sends the person back to sign in.

const TOKEN = "blockwalk.token";
const USER = "blockwalk.user";

// Every coordinator page, in the navigation's order: [file, English title, Spanish title].
export const PAGES = [
  ["index.html", "Home", "Inicio"],
  ["map.html", "Asset map", "Mapa de recursos"],
  ["conflicts.html", "Conflicts", "Conflictos"],
  ["meetings.html", "Meetings", "Reuniones"],
  ["progress.html", "Progress", "Avance"],
  ["roster.html", "Roster", "Voluntarios"],
];

export const lang = (navigator.language || "en").toLowerCase().startsWith("es") ? "es" : "en";

export function t(en, es) {
  return lang === "es" && es ? es : en;
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
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new ApiError(response.status, body.message || response.statusText, body);
  sessionStorage.setItem(TOKEN, body.token);
  sessionStorage.setItem(USER, name);
}

// Calls the REST API under /api/v1; JSON in and out.  Returns {body, response}.
export async function api(path, { method = "GET", body, headers = {}, raw = false } = {}) {
  const init = { method, headers: { ...headers, Authorization: `Bearer ${token()}` } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(`/api/v1${path}`, init);
  if (response.status === 401) {
    signOut();
    throw new ApiError(401, t("Please sign in again", "Vuelva a iniciar sesión"));
  }
  if (raw) {
    if (!response.ok) throw new ApiError(response.status, response.statusText);
    return { body: null, response };
  }
  const parsed = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    throw new ApiError(response.status, (parsed && parsed.message) || response.statusText, parsed);
  }
  return { body: parsed, response };
}

// The campaign the pages show: ?campaign=... in the address, else the last one chosen.
export function campaign() {
  const fromUrl = new URLSearchParams(location.search).get("campaign");
  if (fromUrl) sessionStorage.setItem("blockwalk.campaign", fromUrl);
  return fromUrl || sessionStorage.getItem("blockwalk.campaign") || "";
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
  const nav = el("nav", { "aria-label": t("Pages", "Páginas") },
    PAGES.map(([file, en, es]) => el("a", {
      href: `${file}${campaign() ? `?campaign=${encodeURIComponent(campaign())}` : ""}`,
      "aria-current": file === current ? "page" : undefined,
    }, t(en, es))),
    token() ? el("span", { class: "who" }, userName() || "",
      el("button", { type: "button", onclick: signOutAndRevoke }, t("Sign out", "Cerrar sesión"))) : null);
  document.body.prepend(el("header", {}, nav));
  return true;
}

export function showError(target, error) {
  target.replaceChildren(el("p", { class: "error", role: "alert" }, error.message || String(error)));
}
