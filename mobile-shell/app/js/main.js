// The canvasser app: screens, navigation (#/...), sign-in and sign-out.
import {
  session, loadSession, startSession, loadState, getState, updateState, onChange, saveRecord, turfs, households,
  records, forms, byPrefix, newestForms, docsById, getDoc, pendingIds, refusedEntries, walkingOrder, wipe, deviceId,
} from "./store.js";
import { startSync, stopSync, status, pushNow } from "./sync.js";
import {
  t, pick, appLanguage, setAppLanguage, APP_LANGUAGES, loadMessages, dateTime, languageName, num, WORDS,
} from "./i18n.js";
import { FormView, el } from "./form.js";
import { GeoWatch, metresBetween, metresOutside } from "./geo.js";
import { turfMap, pickPoint, mapConfig, showYou, STATUS_COLOURS } from "./map.js";
import { keepTiles, offlineMapLine, dropTiles } from "./tiles.js";

const main = document.getElementById("main");
const bar = document.getElementById("bar");
let cleanup = [];

// ---- data, read once, then kept up to date by the ids that changed ---------------

// Every turf, household, record and form of the local database, by id.  A pull
// batch hands over the documents it wrote: one the cache has never seen, with
// no attachments, is that document's only revision and goes in as it is (no
// IndexedDB read competing with the pull's writes); any other (a new revision
// of a known one, a deletion, a save on this phone) is read again with its
// conflicts.  Anything else (a dropped turf, a new sign-in: another database)
// reads everything.
const KINDS = ["turf:", "household:", "record:", "form:", "meeting:", "campaign:", "concern_status:"];
let cache = null;
const changed = new Map(); // id -> the document as pulled, or null: read it again
let stale = true;
let loading = Promise.resolve();

function data() {
  loading = loading.catch(() => {}).then(refresh);
  return loading;
}

async function refresh() {
  const db = session.db;
  if (!cache || stale || cache.db !== db) {
    stale = false;
    changed.clear();
    const lists = await Promise.all([turfs(), households(), records(), byPrefix("form:"), byPrefix("meeting:"), byPrefix("campaign:"),
      byPrefix("concern_status:")]);
    cache = { db, docs: new Map(lists.flat().map((doc) => [doc._id, doc])) };
    return derive();
  }
  if (!changed.size) return cache;
  const again = [];
  for (const [id, doc] of changed) {
    if (!KINDS.some((kind) => id.startsWith(kind))) continue;
    if (doc && !cache.docs.has(id) && !doc._deleted && !doc._attachments) {
      const { _revisions, ...body } = doc;
      cache.docs.set(id, body);
    } else {
      again.push(id);
    }
  }
  changed.clear();
  for (const doc of again.length ? await docsById(again) : []) {
    if (doc._deleted) cache.docs.delete(doc._id);
    else cache.docs.set(doc._id, doc);
  }
  return derive();
}

function derive() {
  const all = [...cache.docs.values()].sort((a, b) => (a._id < b._id ? -1 : a._id > b._id ? 1 : 0));
  const of = (kind) => all.filter((doc) => doc._id.startsWith(kind));
  const recordList = of("record:");
  const byHousehold = {};
  for (const record of recordList) {
    if (!record.household) continue;
    (byHousehold[record.household] = byHousehold[record.household] || []).push(record);
  }
  for (const list of Object.values(byHousehold)) list.sort((a, b) => (b.created_at || "").localeCompare(a.created_at || ""));
  Object.assign(cache, {
    turfs: of("turf:"), households: of("household:"), records: recordList, forms: newestForms(of("form:")), byHousehold,
    meetings: of("meeting:").filter((m) => m.starts_at).sort((a, b) => Date.parse(a.starts_at) - Date.parse(b.starts_at)),
    campaign: of("campaign:")[0] || null,
    // What became of each concern raised at a door of my turfs: concern id (<record>#<field>) -> its issue's status.
    concernStatus: new Map(of("concern_status:").flatMap((doc) => (doc.concerns || []).map((id) => [id, doc]))),
  });
  rememberTurfNames(cache.turfs);
  return cache;
}

// Turfs by name, never by id, even after one has left the phone (notices, refusals).
function rememberTurfNames(list) {
  const known = getState().turf_names || {};
  const fresh = list.filter((turf) => turf.name && known[turf._id] !== turf.name);
  if (fresh.length) updateState((s) => { s.turf_names = { ...(s.turf_names || {}), ...Object.fromEntries(fresh.map((x) => [x._id, x.name])) }; });
}

function turfName(id) {
  return (getState().turf_names || {})[id] || id;
}

// A server's reason, with the turfs it names by id named as people know them.
function withTurfNames(text) {
  return String(text).replace(/turf:[\w.-]*\w/g, (id) => turfName(id));
}

// Screens follow the data: while a pull runs, at most one redraw every 0.3 s;
// when a pass ends, at once, so the last batch shows without waiting.
let unrendered = false;
onChange((what, ids, docs) => {
  if (what === "records") {
    if (docs) docs.forEach((doc) => changed.set(doc._id, changed.has(doc._id) ? null : doc));
    else if (ids) ids.forEach((id) => changed.set(id, null));
    else stale = true;
    unrendered = true;
  }
  scheduleRender(what);
});

let renderTimer = null;
let formCheck = null;
let renderedAt = 0;
function renderSoon(ms, restart) {
  if (renderTimer && !restart) return;
  clearTimeout(renderTimer);
  renderTimer = setTimeout(() => {
    renderTimer = null;
    route();
  }, ms);
}

function scheduleRender(what) {
  const typing = location.hash.startsWith("#/form"); // never disturb someone typing
  if (what === "sync" || what === "state") {
    drawBar();
    // What is pending changed (a push went through, a refusal): the screens that say so follow.
    const map = location.hash.includes("view=map"); // a map redrawn would lose where the volunteer zoomed
    if (location.hash.startsWith("#/sync") || (what === "state" && !typing && !map)) renderSoon(150, true);
    else if (what === "sync" && status.phase === "idle" && unrendered && !typing) renderSoon(0, true);
    return;
  }
  if (!typing) renderSoon(Math.max(50, renderedAt + 300 - performance.now()), false);
  else if (openForm) { // the form is not redrawn: only checked for its turf still being here
    clearTimeout(formCheck);
    formCheck = setTimeout(checkOpenForm, 300);
  }
}

function outcomeLabel(record, formList) {
  const value = record.answers && record.answers.outcome;
  if (!value) return t("outcome_none");
  for (const form of formList) {
    const choice = (form.choices.outcomes || []).find((c) => c.value === value);
    if (choice) return pick(choice.label, appLanguage(), form.default_language);
  }
  return value;
}

function formTitle(record, formList) {
  const form = formList.find((f) => `form:${f.form_id}` === record.form);
  return form ? pick(form.title, appLanguage(), form.default_language) : record.form;
}

const when = (iso) => (iso ? dateTime(iso) : t("never"));

// A meeting's local time as written (its own offset), whatever the phone's time zone.
function meetingTime(iso, lang) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d)/.exec(iso || "");
  if (!m) return iso || "";
  const wall = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5]));
  return dateTime(wall, lang, { dateStyle: "full", timeStyle: "short", timeZone: "UTC" });
}

// The next meeting (the first not yet started), for the awareness form.
function nextMeeting(d) {
  const now = Date.now();
  return d.meetings.find((m) => Date.parse(m.starts_at) >= now) || null;
}

// ---- the frame -------------------------------------------------------------------

const net = document.getElementById("net");

function drawBar() {
  const lang = langButton();
  if (!session.token) {
    bar.replaceChildren(el("h1", { textContent: t("app") }), lang);
  } else {
    const pending = pendingIds().length;
    const refused = refusedEntries().length;
    const state = !status.online ? "offline" : status.phase === "error" ? "error" : status.phase === "active" ? "active" : "online";
    bar.replaceChildren(
      el("a", { href: "#/turfs", className: "home", textContent: t("my_turfs") }),
      lang,
      el("a", {
        href: "#/sync", id: "sync-badge", className: `badge ${state}`,
        textContent: `${t("sync")} · ${num(pending)}${refused ? ` · ⚠ ${num(refused)}` : ""}`,
        title: status.online ? t("online") : t("offline"),
        "aria-label": `${t("sync")}: ${pending ? t("pending", { n: pending }) : t("pending_none")}${refused ? ` ${t("refused", { n: refused })}` : ""}`,
      }),
    );
  }
  // Offline shows on every screen, in words, not only as a grey badge.
  net.hidden = status.online;
  net.textContent = status.online ? "" : t("offline_short");
}

// The app language, on every screen: the button names the other language in that language.
function langButton() {
  const other = APP_LANGUAGES.find((lang) => lang !== appLanguage()) || appLanguage();
  return el("button", {
    type: "button", className: "bar-lang", lang: other, textContent: languageName(other),
    "aria-label": `${t("language")}: ${languageName(appLanguage())}. ${languageName(other)}`,
    onclick: () => { setAppLanguage(other); drawBar(); route(); },
  });
}

function screen(title, ...children) {
  for (const fn of cleanup) fn();
  cleanup = [];
  const heading = el("h2", { textContent: title });
  main.replaceChildren(heading, ...children.filter((child) => child != null));
  main.dataset.screen = location.hash.split("?")[0].split("/")[1] || "turfs";
  if (main.dataset.hash !== location.hash) window.scrollTo(0, 0); // a new screen opens at its top
  main.dataset.hash = location.hash;  // which address the screen shown was drawn for
  return heading;
}

function back(href) {
  return el("a", { href, className: "back", textContent: "‹ " + t("back") });
}

// A confirmation left by the screen before (a save) for the screen it went to: shown there,
// redrawn with it, gone once the volunteer goes elsewhere.
let flashed = null; // {hash, key, params}: its words in the app language of the moment
function flash() {
  if (!flashed || flashed.hash !== location.hash) return null;
  return el("p", { className: "notice ok", role: "status", id: "flash", textContent: t(flashed.key, flashed.params) });
}

// ---- sign-in -----------------------------------------------------------------------

async function api(path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { method: body ? "POST" : "GET", headers, body: body ? JSON.stringify(body) : undefined });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw Object.assign(new Error(json.message || response.statusText), { status: response.status });
  return json;
}

async function signedIn(campaign, token, how) {
  const me = await api("/api/v1/me", null, token);
  startSession({ name: me.name, role: (me.roles || {})[campaign] || (me.admin ? "admin" : null), campaign, token });
  heldCode = null;
  await loadState();
  startSync();
  // A code's sign-in takes the sign-in screen's place in the history: Back never comes to it again.
  if (how === "code") location.replace("#/turfs");
  else location.hash = "#/turfs";
}

// A sign-in code from a coordinator's QR code as a phone's camera opens it:
// /app/?campaign=<c>#/signin?code=XXXX-XXXX-XXXX (the code in the fragment, which no server sees).
function codeFromLink(text) {
  const query = String(text).startsWith("blockwalk:signin?") ? text.split("?")[1]
    : String(text).includes("#/signin?") ? text.split("#/signin?")[1] : null;
  return query === null ? null : new URLSearchParams(query).get("code");
}

// A code taken from the address, kept for the sign-in screen (redrawn in another language, or
// after a failed try with no signal) once it has left the address.
let heldCode = null;

// The code leaves the address (and so the history) as soon as it is read: Back or a reload never
// uses a one-time code twice (a second try, a "wrong code" screen).
function codeOutOfAddress(to) {
  history.replaceState(history.state, "", location.pathname + location.search + to);
}

// A code link opened on a phone that is signed in already: a new sign-in for the same volunteer
// (after a coordinator revoked the old one, or to renew it) takes the old one's place, keeping
// everything on the phone; what was waiting goes to the server with the new sign-in, and the old
// one is revoked on the server (if it still works), so one phone holds one live sign-in.  A code
// for someone else changes nothing.
async function signInAgain(code) {
  codeOutOfAddress("#/sync");
  route(); // the sync screen, while the code is checked
  try {
    const answer = await api("/api/v1/auth/code", { code });
    const me = await api("/api/v1/me", null, answer.token);
    if (me.name !== session.name) {
      revoke(answer.token);
      flashed = { hash: "#/sync", key: "signin_other", params: { name: me.name, current: session.name } };
    } else {
      const old = session.token;
      const saved = JSON.parse(localStorage.getItem("bw.session"));
      localStorage.setItem("bw.session", JSON.stringify({ ...saved, token: answer.token }));
      session.token = answer.token;
      startSync(); // stops the replication of the old sign-in; every request from here on carries the new one
      await revoke(old);
      flashed = { hash: "#/sync", key: "signed_in_again" };
    }
  } catch (err) {
    flashed = err.status === 401 ? { hash: "#/sync", key: "signin_wrong_code" }
      : { hash: "#/sync", key: "signin_failed", params: { reason: err.message } };
  }
  route();
}

// `linked`: a code from the address; `now`: use it at once (the phone's camera opened the link).
function signinScreen(linked, now = false) {
  const params = new URLSearchParams(location.search);
  const campaign = el("input", { name: "campaign", value: params.get("campaign") || localStorage.getItem("bw.campaign") || "demo", autocomplete: "off" });
  const name = el("input", { name: "name", autocomplete: "username", autocapitalize: "none" });
  const password = el("input", { name: "password", type: "password", autocomplete: "current-password" });
  const code = el("input", { name: "code", autocomplete: "one-time-code", autocapitalize: "characters", placeholder: "XXXX-XXXX-XXXX", value: linked || "" });
  // Each way in says what went wrong right under its own button.
  const problem = el("p", { className: "error", role: "alert", id: "signin-error" });
  const codeProblem = el("p", { className: "error", role: "alert", id: "signin-code-error" });
  const video = el("video", { className: "scanner", hidden: true, playsInline: true, muted: true });
  const go = async (how) => {
    const shown = how === "code" ? codeProblem : problem;
    problem.textContent = "";
    codeProblem.textContent = "";
    localStorage.setItem("bw.campaign", campaign.value.trim());
    try {
      const label = `Blockwalk app ${deviceId().slice(7, 15)}`;
      const answer = how === "code"
        ? await api("/api/v1/auth/code", { code: code.value.trim() })
        : await api("/api/v1/auth/login", { name: name.value.trim(), password: password.value, label });
      await signedIn(campaign.value.trim(), answer.token, how);
    } catch (err) {
      // The server's refusal in the volunteer's words; anything else as the server said it.
      shown.textContent = !navigator.onLine ? t("signin_offline")
        : err.status === 401 ? t(how === "code" ? "signin_wrong_code" : "signin_wrong")
          : t("signin_failed", { reason: err.message });
    }
  };
  const scan = el("button", { type: "button", className: "secondary", textContent: t("scan") });
  scan.onclick = async () => {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
      codeProblem.textContent = t("no_camera");
      return;
    }
    try {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      const detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      let stopped = false;
      const stop = () => {
        stopped = true;
        stream.getTracks().forEach((track) => track.stop());
        video.hidden = true;
      };
      cleanup.push(stop);
      const look = async () => {
        if (stopped) return;
        const found = await detector.detect(video).catch(() => []);
        const text = found.map((f) => f.rawValue).find((v) => codeFromLink(v));
        if (text) {
          stop();
          code.value = codeFromLink(text) || "";
          go("code");
        } else {
          setTimeout(look, 250);
        }
      };
      look();
    } catch (err) {
      codeProblem.textContent = t("no_camera");
    }
  };
  screen(t("signin_title"),
    el("form", { id: "signin", onsubmit: (e) => { e.preventDefault(); go("password"); } },
      el("label", { className: "label" }, t("campaign"), campaign),
      el("label", { className: "label" }, t("name"), name),
      el("label", { className: "label" }, t("password"), password),
      el("button", { type: "submit", textContent: t("signin") }),
      problem),
    el("form", { id: "signin-code", onsubmit: (e) => { e.preventDefault(); go("code"); } },
      el("p", { textContent: t("or_code") }),
      el("label", { className: "label" }, t("code"), code),
      el("button", { type: "submit", textContent: t("use_code") }),
      codeProblem,
      scan, video),
    languageSwitch());
  if (linked && now) go("code"); // opened from the QR code: the code is used at once
}

// The app language, with its label in words (the sign-in and sync screens; the bar has a button too).
function languageSwitch() {
  const label = el("span", { className: "label", id: "app-language-label", textContent: t("language") });
  return el("div", { className: "langs", role: "group", "aria-labelledby": "app-language-label", id: "app-language" },
    label, APP_LANGUAGES.map((lang) => el("button", {
      type: "button", className: lang === appLanguage() ? "lang on" : "lang", textContent: languageName(lang), lang,
      "aria-pressed": String(lang === appLanguage()),
      onclick: () => { setAppLanguage(lang); drawBar(); route(); },
    })));
}

// ---- my turfs ------------------------------------------------------------------------

function doorStatus(d, household) {
  const visits = d.byHousehold[household._id];
  return visits && visits.length ? visits[0].answers && visits[0].answers.outcome : null;
}

// Notices of ended assignments, by turf name; one whose turfs are all back is gone for good.
function assignmentNotices(d) {
  const here = new Set(d.turfs.map((x) => x._id));
  const notices = getState().notices || [];
  const kept = notices.filter((n) => !(n.params && n.params.ids && n.params.ids.every((id) => here.has(id))));
  if (kept.length !== notices.length) updateState((s) => { s.notices = kept; });
  return kept.map((n) => el("p", {
    className: "notice", role: "status",
    textContent: t(n.key, { ...n.params, turf: n.params.ids ? n.params.ids.map(turfName).join(", ") : withTurfNames(n.params.turf) }),
  }));
}

function address(h) {
  return h.address + (h.unit ? `, ${h.unit}` : "");
}

async function turfsScreen(params) {
  const d = await data();
  const mapView = params.get("view") === "map";
  const toggle = el("div", { className: "tabs" },
    el("a", { href: "#/turfs", className: mapView ? "" : "on", textContent: t("list") }),
    el("a", { href: "#/turfs?view=map", className: mapView ? "on" : "", textContent: t("map") }));
  const notices = assignmentNotices(d);
  keepTiles(config, d.turfs, d.campaign); // the base map of these turfs, for use with no signal
  if (!d.turfs.length) {
    screen(t("my_turfs"), toggle, ...notices, el("p", { className: "empty", textContent: t("no_turfs") }));
    return;
  }
  const perTurf = d.turfs.map((turf) => {
    const list = d.households.filter((h) => h.turf === turf._id);
    return { turf, households: list.map((h) => ({ h, status: doorStatus(d, h), label: address(h) })) };
  });
  if (mapView) {
    const box = el("div", { className: "map", id: "turf-map" });
    const key = (colour, text, you) => el("li", {}, el("span", { className: you ? "dot you" : "dot", style: `background:${colour}` }), text);
    const legend = el("ul", { className: "legend", id: "map-legend" },
      key(STATUS_COLOURS.contacted, t("legend_contacted")), key(STATUS_COLOURS.other, t("legend_tried")),
      key(STATUS_COLOURS.none, t("legend_todo")), key(STATUS_COLOURS.you, t("legend_you"), true));
    screen(t("my_turfs"), toggle, ...notices, box, offlineMapLine(), legend);
    const map = await turfMap(box, perTurf, (id) => { location.hash = `#/turf/${encodeURIComponent(id)}`; },
      (id) => { location.hash = `#/household/${encodeURIComponent(id)}`; });
    cleanup.push(() => map.remove());
    if (navigator.geolocation) {
      let gone = false;
      cleanup.push(() => { gone = true; });
      navigator.geolocation.getCurrentPosition((p) => {
        if (!gone) showYou(map, { lat: p.coords.latitude, lon: p.coords.longitude });
        box.dataset.you = "shown";
      }, () => {}, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
    }
    return;
  }
  screen(t("my_turfs"), toggle, ...notices, offlineMapLine(), el("ul", { className: "list", id: "turf-list" }, perTurf.map(({ turf, households: list }) =>
    el("li", {}, el("a", { href: `#/turf/${encodeURIComponent(turf._id)}`, className: "row" },
      el("strong", { textContent: turf.name || turf._id }),
      el("span", { className: "meta", textContent: `${t("doors", { n: list.length })} · ${t("visited", { n: list.filter((x) => x.status).length })}` }))))));
}

// A door or turf that left the phone while it was open (an ended assignment): say so, never a blank screen.
function goneScreen(title, text) {
  screen(title, el("p", { className: "notice", role: "status", id: "gone", textContent: text }),
    el("a", { className: "button", href: "#/turfs", textContent: t("back_to_turfs") }));
}

async function turfScreen(turfId) {
  const d = await data();
  const turf = d.turfs.find((x) => x._id === turfId);
  if (!turf) {
    goneScreen(turfName(turfId), t("turf_gone"));
    return;
  }
  const list = walkingOrder(d.households.filter((h) => h.turf === turfId));
  const rows = list.map((h) => {
    const visits = d.byHousehold[h._id] || [];
    const latest = visits[0];
    const outcome = latest && latest.answers && latest.answers.outcome;
    return el("li", {}, el("a", { href: `#/household/${encodeURIComponent(h._id)}`, className: "row door" },
      el("strong", { textContent: address(h) }),
      el("span", { className: `status ${outcome ? (outcome === "contacted" ? "done" : "tried") : "todo"}`, textContent: latest ? outcomeLabel(latest, d.forms) : t("not_visited") })));
  });
  const asset = d.forms.find((f) => f.form_id === "asset_mapping");
  screen(turf.name || turfId, back("#/turfs"), flash(),
    asset ? el("a", { className: "button secondary", href: `#/form/${asset.form_id}?turf=${encodeURIComponent(turfId)}`, textContent: t("asset_between") }) : null,
    el("p", { className: "meta", textContent: `${t("walk_list")} · ${t("doors", { n: list.length })}` }),
    el("ol", { className: "list walk", id: "walk-list" }, rows));
}

async function householdScreen(id) {
  const d = await data();
  const h = d.households.find((x) => x._id === id);
  if (!h) {
    goneScreen(t("household"), t("door_gone"));
    return;
  }
  const visits = d.byHousehold[id] || [];
  const turf = d.turfs.find((x) => x._id === h.turf);
  const forTurf = d.forms.filter((f) => !turf || !turf.drive || turf.drive === f.drive);
  screen(address(h), back(`#/turf/${encodeURIComponent(h.turf)}`), flash(),
    el("div", { className: "actions" }, visitButtons(forTurf, h)),
    concernsBox(visits, d),
    el("h3", { textContent: t("past_visits") }),
    visits.length ? el("ul", { className: "list visits", id: "visits" }, visits.map((r) => visitItem(r, d, h))) : el("p", { className: "empty", textContent: t("no_visits") }));
}

// The concerns raised at this door before, and what became of each, in the door's language (the language
// last spoken there), so the volunteer can tell the resident.  Offline: from the turf's records and its
// concern_status documents (docs/follow-up.md).
function concernsBox(visits, d) {
  const found = [];
  for (const r of visits) {
    const form = d.forms.find((f) => r.form === `form:${f.form_id}`);
    const marked = new Set((form && form.fields || []).filter((f) => f.concern === true).map((f) => f.name));
    for (const [name, value] of Object.entries(r.answers || {})) {
      if (typeof value === "string" && value.trim() && (name === "concerns" || marked.has(name))) found.push({ id: `${r._id}#${name}`, text: value.trim(), r });
    }
  }
  if (!found.length) return null;
  const spoken = visits.map((r) => r.answers && r.answers.door_language).find(Boolean);
  const lang = spoken && WORDS[spoken] ? spoken : appLanguage();
  return el("section", { className: "concerns", id: "concerns", lang },
    el("h3", { textContent: t("concerns_here", {}, lang) }),
    el("ul", { className: "list" }, found.map(({ id, text, r }) => {
      const status = d.concernStatus.get(id);
      const due = status && status.due && !["done", "dropped"].includes(status.status)
        ? t("concern_due", { date: new Date(`${status.due}T12:00:00Z`).toLocaleDateString(lang, { dateStyle: "medium", timeZone: "UTC" }) }, lang) : null;
      return el("li", { className: "concern", dataset: { id } },
        el("p", { className: "said", textContent: [`“${text}”`, (r.geotag && r.geotag.captured_at) || r.created_at].filter(Boolean)
          .map((part, n) => (n ? dateTime(part) : part)).join(" · ") }),
        status ? el("p", {}, el("strong", { textContent: pick(status.title, lang, "en") }), " · ",
          t(`concern_status_${status.status}`, {}, lang)) : el("p", { className: "meta", textContent: t("concern_waiting", {}, lang) }),
        status && pick(status.outcome, lang, "en") ? el("p", { className: "outcome", textContent: pick(status.outcome, lang, "en") }) : null,
        due ? el("p", { className: "meta", textContent: due }) : null);
    })));
}

function visitButtons(formList, h) {
  return formList.map((f) => el("a", {
    className: "button", href: `#/form/${f.form_id}?household=${encodeURIComponent(h._id)}&turf=${encodeURIComponent(h.turf)}`,
    textContent: t("new_visit", { form: pick(f.title, appLanguage(), f.default_language) }),
  }));
}

function visitItem(r, d, h) {
  const pending = pendingIds().includes(r._id);
  const refused = refusedEntries().some((entry) => entry.id === r._id);
  const mine = r.author === session.name;
  // The server's merge note (docs/conflicts.md): the fields that changed from each merged revision.
  const merged = r.merged && r.merged.changed
    ? [...new Set(Object.values(r.merged.changed).flat())].filter((f) => f.startsWith("answers.") || f === "geotag") : null;
  const review = Object.values(r.conflicts || {}).some((c) => c.open);
  const far = r.geotag && h && h.location ? metresBetween(r.geotag, h.location) : null;
  const bits = [when(r.created_at), t("by", { author: r.author })];
  if (r.geotag && r.geotag.accuracy_m != null) bits.push(t("accuracy", { m: r.geotag.accuracy_m }));
  if (mine) bits.push(pending || refused ? t("not_sent") : t("on_server"));
  return el("li", { className: "visit", dataset: { id: r._id } },
    el("div", {}, el("strong", { textContent: outcomeLabel(r, d.forms) }), " · ", formTitle(r, d.forms)),
    el("div", { className: "meta", textContent: bits.join(" · ") }),
    far !== null && far > geoLimits().household ? el("p", { className: "notice far", textContent: t("geotag_far_saved", { d: Math.round(far) }) }) : null,
    review || (r._conflicts && r._conflicts.length) ? el("p", { className: "notice", textContent: t("conflict") }) : null,
    merged ? el("p", { className: "notice merged", textContent: t("merged_fields", { fields: merged.map((f) => f.replace(/^answers\./, "")).join(", ") }) }) : null,
    mine ? el("a", { href: `#/form/${r.form.slice(5)}?record=${encodeURIComponent(r._id)}`, className: "button secondary small", textContent: t("edit") }) : null);
}

// ---- a form ----------------------------------------------------------------------------

let config = { phone_region: "US", household_max_m: 100, turf_tolerance_m: 25 };
let phoneTable = { regions: {} };

function geoLimits() {
  return { household: config.household_max_m ?? 100, turf: config.turf_tolerance_m ?? 25 };
}

async function loadConfig(again = false) {
  config = { ...config, ...(await mapConfig(again)) };
  try {
    const response = await fetch("lib/phone_regions.json");
    if (response.ok) phoneTable = await response.json();
  } catch (err) {
    // Offline and not cached yet: phones are checked by length only (the server checks them again).
  }
}

// The meeting the awareness form is about: its title, time and place in the door's language.
function meetingBox(meeting, lang, form) {
  if (!meeting) return el("p", { className: "meeting none", id: "meeting", textContent: t("meeting_none", {}, lang) });
  const place = typeof meeting.place === "object" ? pick(meeting.place, lang, form.default_language) : meeting.place;
  return el("div", { className: "meeting", id: "meeting", lang },
    el("strong", { textContent: pick(meeting.title, lang, form.default_language) }),
    el("p", { textContent: meetingTime(meeting.starts_at, lang) }),
    place ? el("p", { textContent: t("meeting_where", { place }, lang) }) : null,
    meeting.notice && pick(meeting.notice, lang, form.default_language)
      ? el("p", { className: "notice-text", textContent: pick(meeting.notice, lang, form.default_language) }) : null);
}

// The form on screen, while it is: a form is never redrawn under someone typing, but it says
// when its turf leaves the phone (an assignment ended), before the volunteer saves.
let openForm = null; // {hash, turfId, notice}

async function checkOpenForm() {
  const form = openForm;
  if (!form || form.hash !== location.hash) return;
  const d = await data();
  const gone = Boolean(form.turfId) && !d.turfs.some((x) => x._id === form.turfId);
  form.notice.hidden = !gone;
  form.notice.textContent = gone ? t("form_turf_gone", { turf: turfName(form.turfId) }) : "";
}

// The middle of a turf's shape, to open a map on when nothing better is known.
function turfCentre(turf) {
  const ring = turf && turf.geometry && (turf.geometry.type === "Polygon" ? turf.geometry.coordinates[0]
    : turf.geometry.type === "MultiPolygon" ? turf.geometry.coordinates[0][0] : null);
  if (!ring || !ring.length) return null;
  const lons = ring.map((p) => p[0]);
  const lats = ring.map((p) => p[1]);
  return { lat: (Math.min(...lats) + Math.max(...lats)) / 2, lon: (Math.min(...lons) + Math.max(...lons)) / 2 };
}

async function formScreen(formId, params) {
  openForm = null;
  const d = await data();
  const recordId = params.get("record");
  const previous = recordId ? await getDoc(recordId, { conflicts: true }) : null;
  const form = previous
    ? await getDoc(`${previous.form}@${previous.form_version}`)
    : d.forms.find((f) => f.form_id === formId);
  if (!form) {
    screen(formId, back("#/turfs"));
    return;
  }
  // The photos saved with the visit, to show them (the record itself keeps its stubs).
  const photos = previous && previous._attachments
    ? (await getDoc(recordId, { attachments: true, binary: true }))._attachments || {} : {};
  const householdId = previous ? previous.household : params.get("household");
  const turfId = previous ? previous.turf : params.get("turf");
  const household = householdId && d.households.find((h) => h._id === householdId);
  if (householdId && !household && !previous) {
    goneScreen(t("household"), t("door_gone"));
    return;
  }
  const turf = turfId && d.turfs.find((x) => x._id === turfId);
  const between = !householdId; // an asset found between doors: no door, no outcome to ask
  const target = (form.settings && form.settings.geotag_accuracy_m) || 50;
  const limits = geoLimits();
  const geoLine = el("p", { className: "geo", id: "geotag", role: "status" });
  const geoWarn = el("p", { className: "geo-warn", id: "geotag-warning", role: "alert", hidden: true });
  const waitAgain = el("button", { type: "button", className: "secondary small", id: "wait-again", textContent: t("wait_again"), hidden: true });
  const showGeo = (watch) => {
    const best = watch.best();
    let text;
    if (watch.manual) text = t("geotag_manual");
    else if (watch.kept && best) text = best.accuracy_m != null ? t("geotag_kept", { m: best.accuracy_m }) : t("geotag_manual");
    else if (best && (watch.done || best.accuracy_m <= target)) {
      text = best.accuracy_m <= target ? t("geotag_ok", { m: best.accuracy_m }) : t("geotag_best", { m: best.accuracy_m, target });
    } else if (watch.failed || (watch.done && !best)) text = t("geotag_unavailable");
    else text = t("geotag_waiting", { best: best ? t("accuracy", { m: best.accuracy_m }) : t("geotag_none") });
    // How far from the door, and a warning (not a refusal) where the server would flag it.
    const toDoor = best && household && household.location ? metresBetween(best, household.location) : null;
    const outside = best && turf && turf.geometry ? metresOutside(best, turf.geometry) : 0;
    if (toDoor !== null) text += " " + t("geotag_to_door", { d: Math.round(toDoor) });
    geoLine.textContent = text;
    const far = toDoor !== null && toDoor > limits.household;
    const out = outside > limits.turf;
    geoWarn.hidden = !(far || out);
    geoWarn.textContent = far ? t("geotag_far", { d: Math.round(toDoor) }) : out ? t("geotag_outside", { turf: turf.name || turf._id }) : "";
    waitAgain.hidden = !(far || out || (watch.done && best && best.accuracy_m > target)) || !navigator.geolocation;
    const quality = !best ? "none" : far || out ? "bad" : best.source === "manual" || best.accuracy_m <= target ? "good" : "fair";
    geoLine.className = `geo ${quality}`;
    geoLine.dataset.quality = quality;
  };
  const geo = new GeoWatch(target, showGeo, previous && previous.geotag ? previous.geotag : null);
  waitAgain.onclick = () => geo.restart();

  const hide = between ? ["outcome", "door_language"] : [];
  const problem = el("p", { className: "error", role: "alert", id: "form-error" });
  // Answers typed and not saved are kept for this address (the tab's session): a tap on Back,
  // a call coming in or a reload at the door loses nothing.  New photos are not kept (they are files).
  const draftKey = `bw.draft:${session.campaign}:${location.hash}`;
  const kept = JSON.parse(sessionStorage.getItem(draftKey) || "null");
  const draft = kept && (!previous || kept.rev === previous._rev) ? kept : null;
  const keepDraft = (v) => sessionStorage.setItem(draftKey, JSON.stringify({
    rev: previous ? previous._rev : null, language: v.language,
    answers: JSON.parse(JSON.stringify(v.answers, (key, value) => (typeof value === "string" && value in v.photos ? undefined : value))),
  }));
  const view = new FormView(form, {
    answers: draft ? draft.answers : previous ? previous.answers : {},
    language: draft ? draft.language : previous ? previous.language : appLanguage() in (form.title || {}) ? appLanguage() : undefined,
    onChange: keepDraft,
    attachments: photos, geo, region: (d.campaign && d.campaign.phone_region) || config.phone_region, phoneTable,
    hide, preset: between ? { outcome: "contacted" } : {},
    onErrors: (count) => { problem.textContent = count ? t("fix_errors", { n: count }, view.language) : ""; },
  });
  const isMeeting = form.drive === "meeting_awareness" || form.form_id === "meeting_awareness";
  const meeting = isMeeting ? (previous && previous.meeting ? d.meetings.find((m) => m._id === previous.meeting) : nextMeeting(d)) : null;
  const meetingSlot = el("div", {}, isMeeting ? meetingBox(meeting, view.language, form) : null);
  // The resident's words follow the door's language: the form's title (the screen's), the form, its Save button and messages.
  const save = el("button", { type: "submit", textContent: t("save", {}, view.language), id: "save", lang: view.language });
  const langs = el("div", { className: "langs", role: "group", id: "door-language", "aria-labelledby": "door-language-label" },
    el("span", { className: "label", id: "door-language-label", textContent: t("door_language") }),
    form.languages.map((lang) => el("button", {
      type: "button", className: lang === view.language ? "lang on" : "lang", textContent: languageName(lang), lang, dataset: { lang },
      "aria-pressed": String(lang === view.language),
      onclick: (event) => {
        view.setLanguage(lang);
        langs.querySelectorAll("button").forEach((b) => {
          b.classList.toggle("on", b === event.target);
          b.setAttribute("aria-pressed", String(b === event.target));
        });
        heading.textContent = pick(form.title, lang, form.default_language);
        heading.lang = lang;
        save.textContent = t("save", {}, lang);
        save.lang = lang;
        if (problem.textContent) problem.textContent = t("fix_errors", { n: Object.keys(view.errors).length }, lang);
        if (isMeeting) meetingSlot.replaceChildren(meetingBox(meeting, lang, form));
      },
    })));
  const pinBox = el("div", { className: "map pin", hidden: true });
  const pinDone = el("button", { type: "button", id: "pin-done", textContent: t("pin_done"), disabled: true });
  const pinCancel = el("button", { type: "button", className: "secondary", textContent: t("cancel") });
  const pinPanel = el("div", { className: "pin-panel", hidden: true }, el("p", { textContent: t("pin_hint") }), pinBox, pinDone, pinCancel);
  const pinButton = el("button", {
    type: "button", id: "drop-pin", className: "secondary small", textContent: t("drop_pin"),
    onclick: async () => {
      pinPanel.hidden = false;
      pinBox.hidden = false;
      const centre = (household && household.location) || geo.best() || turfCentre(turf);
      const point = await pickPoint(pinBox, centre, { done: pinDone, cancel: pinCancel });
      pinPanel.hidden = true;
      if (point) geo.setManual(point.lat, point.lon);
    },
  });
  const where = household ? address(household) : between ? t("between_doors") : null;
  const turfGone = el("p", { className: "notice far", role: "alert", id: "form-turf-gone", hidden: true });
  const heading = screen(pick(form.title, view.language, form.default_language),
    back(household ? `#/household/${encodeURIComponent(household._id)}` : turfId ? `#/turf/${encodeURIComponent(turfId)}` : "#/turfs"),
    where ? el("p", { className: "meta", textContent: where + (turf ? ` · ${turf.name || turf._id}` : "") }) : null,
    turfGone,
    draft ? el("div", { className: "notice", role: "status", id: "draft" }, el("span", { textContent: t("draft_kept") + " " }),
      el("button", {
        type: "button", className: "secondary small", textContent: t("draft_discard"),
        onclick: () => { sessionStorage.removeItem(draftKey); route(); },
      })) : null,
    langs, el("div", { className: "geo-box" }, geoLine, geoWarn, waitAgain, pinButton), pinPanel,
    el("form", {
      id: "record-form", noValidate: true, lang: view.language,
      onsubmit: async (event) => {
        event.preventDefault();
        const { answers, problems, photos: added } = view.collect();
        const geotag = geo.best();
        if (Object.keys(problems).length) {
          problem.textContent = t("fix_errors", { n: Object.keys(problems).length }, view.language);
          const first = main.querySelector(".field .error");
          if (first) first.scrollIntoView({ block: "center" });
          return;
        }
        if (!geotag) {
          problem.textContent = t("geotag_needed");
          geoLine.scrollIntoView({ block: "center" });
          return;
        }
        save.disabled = true;
        const next = {
          ...(previous || {}),
          form: `form:${form.form_id}`, form_version: form.version, answers, geotag, language: view.language,
          turf: turfId || null,
        };
        if (householdId) next.household = householdId;
        if (meeting) next.meeting = meeting._id; // which meeting the knock was about (server/reports/meetings.py)
        delete next._conflicts;
        const withPhotos = Object.keys(added).filter((name) => JSON.stringify(answers).includes(JSON.stringify(name)));
        const saved = await saveRecord(next, previous, Object.fromEntries(withPhotos.map((n) => [n, added[n]])));
        sessionStorage.removeItem(draftKey);
        sessionStorage.setItem("bw.saved", saved._id);
        const to = household ? `#/household/${encodeURIComponent(household._id)}` : `#/turf/${encodeURIComponent(turfId || "")}`;
        flashed = { hash: to, key: between ? "asset_saved" : "visit_saved" };
        location.hash = to;
      },
    }, meetingSlot, view.root, problem, save));
  heading.lang = view.language;
  cleanup.push(() => geo.stop(true)); // registered after screen(), which runs the previous screen's cleanup
  openForm = { hash: location.hash, turfId, notice: turfGone };
  cleanup.push(() => { openForm = null; });
  showGeo(geo);
}

// ---- sync ---------------------------------------------------------------------------------

async function syncScreen() {
  const d = await data();
  const state = getState();
  const pending = pendingIds();
  const refused = refusedEntries();
  const byId = Object.fromEntries(d.records.map((r) => [r._id, r]));
  const describe = (id) => {
    const r = byId[id];
    if (!r) return id;
    const h = r.household && d.households.find((x) => x._id === r.household);
    return `${formTitle(r, d.forms)} · ${h ? address(h) : r.turf ? turfName(r.turf) : ""} · ${outcomeLabel(r, d.forms)}`;
  };
  const line = !status.online ? t("offline") : status.unauthorized ? t("signin_again")
    : status.phase === "error" ? t("sync_error", { reason: status.error }) : status.phase === "active" ? t("syncing") : t("online");
  // "Everything is on the server" only when it is: refused records are not on it.
  const summary = pending.length ? t("pending", { n: pending.length }) : refused.length ? t("pending_none_refused") : t("pending_none");
  screen(t("sync_title"), flash(),
    el("p", { className: `sync-state ${status.online ? status.phase : "offline"}`, id: "sync-state", textContent: line }),
    el("p", { id: "last-sync", textContent: t("last_sync", { when: when(state.last_sync_at) }) }),
    el("h3", { id: "pending-count", textContent: summary }),
    el("ul", { className: "list", id: "pending" }, pending.map((id) => el("li", { dataset: { id }, textContent: describe(id) }))),
    refused.length ? el("h3", { className: "error", id: "refused-count", textContent: t("refused", { n: refused.length }) }) : null,
    el("ul", { className: "list refused", id: "refused" }, refused.map((entry) => {
      const r = byId[entry.id];
      return el("li", { dataset: { id: entry.id } },
        el("strong", { textContent: describe(entry.id) }),
        el("p", { className: "reason", textContent: t("refused_reason", { reason: withTurfNames(entry.reason) }) }),
        r ? el("a", { className: "button secondary small", href: `#/form/${r.form.slice(5)}?record=${encodeURIComponent(r._id)}`, textContent: t("edit") }) : null,
        r ? el("button", {
          type: "button", className: "small", textContent: t("resend"),
          onclick: async () => { await saveRecord({ ...r }, r); route(); },
        }) : null);
    })),
    el("hr"),
    el("p", { textContent: t("signed_in_as", { name: session.name, campaign: session.campaign }) }),
    languageSwitch(),
    el("button", { type: "button", className: "secondary", id: "signout", textContent: t("signout"), onclick: signOut }),
    el("p", { className: "error", id: "signout-error" }));
}

async function signOut() {
  const problem = document.getElementById("signout-error");
  let left = pendingIds().length + refusedEntries().length;
  if (left && navigator.onLine) {
    try {
      await pushNow();
    } catch (err) {
      // counted below
    }
    left = pendingIds().length + refusedEntries().length;
  }
  if (left) {
    problem.textContent = t("signout_pending", { n: left });
    return;
  }
  if (!confirm(t("signout_confirm"))) return;
  stopSync();
  const token = session.token;
  await wipe();
  await dropTiles();
  revoke(token);
  location.hash = "#/signin";
  route();
}

async function revoke(token) {
  try {
    await fetch("/api/v1/me/token", { method: "DELETE", headers: { Authorization: "Bearer " + token } });
  } catch (err) {
    // offline: the token expires by itself
  }
}

// ---- navigation -----------------------------------------------------------------------------

async function route() {
  clearTimeout(renderTimer);
  renderTimer = null;
  unrendered = false;
  renderedAt = performance.now();
  const [path, query] = location.hash.slice(1).split("?");
  const params = new URLSearchParams(query || "");
  const parts = (path || "/").split("/").slice(1).map(decodeURIComponent);
  if (flashed && flashed.hash !== location.hash) flashed = null;
  drawBar();
  if (parts[0] === "signin" && params.get("code")) {
    if (session.token) return signInAgain(params.get("code"));
    heldCode = params.get("code");
    codeOutOfAddress("#/signin");
    return signinScreen(heldCode, true);
  }
  if (!session.token) return signinScreen(heldCode);
  try {
    switch (parts[0]) {
      case "turf": return await turfScreen(parts[1]);
      case "household": return await householdScreen(parts[1]);
      case "form": return await formScreen(parts[1], params);
      case "sync": return await syncScreen();
      default: return await turfsScreen(params);
    }
  } catch (err) {
    console.error(err);
    screen(t("app"), el("p", { className: "error", textContent: String(err.message || err) }));
  }
}

addEventListener("hashchange", route);

async function boot() {
  setAppLanguage(appLanguage());
  await Promise.all([loadMessages(), loadConfig()]);
  if (loadSession()) {
    await loadState();
    startSync();
  }
  await route();
  document.body.dataset.ready = "true";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch((err) => console.warn("no service worker", err));
    // A new version took over (new files, or a setting of the server changed: sw.js, server/web/app_shell.py):
    // the config.json it brought is read at once, and a changed one (a base map set or changed) redraws the
    // screen, never a form being typed into.
    navigator.serviceWorker.addEventListener("controllerchange", async () => {
      const before = JSON.stringify(config);
      await loadConfig(true);
      if (JSON.stringify(config) !== before && !location.hash.startsWith("#/form")) route();
    });
  }
}

// For tests and bench/app_sync.py: the same functions the screens use.
window.blockwalk = { session, getState, pendingIds, refusedEntries, status, updateState, saveRecord, forms };
boot();
