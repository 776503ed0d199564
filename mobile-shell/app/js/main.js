// The canvasser app: screens, navigation (#/...), sign-in and sign-out.
import {
  session, loadSession, startSession, loadState, getState, updateState, onChange, saveRecord, turfs, households,
  records, forms, byPrefix, newestForms, docsById, getDoc, pendingIds, refusedEntries, walkingOrder, wipe, deviceId,
} from "./store.js";
import { startSync, stopSync, status, pushNow } from "./sync.js";
import { t, pick, appLanguage, setAppLanguage, APP_LANGUAGES, loadMessages } from "./i18n.js";
import { FormView, el } from "./form.js";
import { GeoWatch } from "./geo.js";
import { turfMap, pickPoint } from "./map.js";

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
const KINDS = ["turf:", "household:", "record:", "form:"];
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
    const lists = await Promise.all([turfs(), households(), records(), byPrefix("form:")]);
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
  Object.assign(cache, { turfs: of("turf:"), households: of("household:"), records: recordList, forms: newestForms(of("form:")), byHousehold });
  return cache;
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
    if (location.hash.startsWith("#/sync")) renderSoon(150, true);
    else if (what === "sync" && status.phase === "idle" && unrendered && !typing) renderSoon(0, true);
    return;
  }
  if (!typing) renderSoon(Math.max(50, renderedAt + 300 - performance.now()), false);
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

const when = (iso) => (iso ? new Date(iso).toLocaleString(appLanguage(), { dateStyle: "medium", timeStyle: "short" }) : t("never"));

// ---- the frame -------------------------------------------------------------------

function drawBar() {
  if (!session.token) {
    bar.replaceChildren(el("h1", { textContent: t("app") }));
    return;
  }
  const pending = pendingIds().length;
  const refused = refusedEntries().length;
  const state = !status.online ? "offline" : status.phase === "error" ? "error" : status.phase === "active" ? "active" : "online";
  bar.replaceChildren(
    el("a", { href: "#/turfs", className: "home", textContent: t("my_turfs") }),
    el("a", {
      href: "#/sync", id: "sync-badge", className: `badge ${state}`,
      textContent: `${t("sync")} · ${pending}${refused ? ` · ⚠ ${refused}` : ""}`,
      title: status.online ? t("online") : t("offline"),
    }),
  );
}

function screen(title, ...children) {
  for (const fn of cleanup) fn();
  cleanup = [];
  const heading = el("h2", { textContent: title });
  main.replaceChildren(heading, ...children.filter((child) => child != null));
  main.dataset.screen = location.hash.split("?")[0].split("/")[1] || "turfs";
  main.dataset.hash = location.hash;  // which address the screen shown was drawn for
}

function back(href) {
  return el("a", { href, className: "back", textContent: "‹ " + t("back") });
}

// ---- sign-in -----------------------------------------------------------------------

async function api(path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = "Bearer " + token;
  const response = await fetch(path, { method: body ? "POST" : "GET", headers, body: body ? JSON.stringify(body) : undefined });
  const json = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(json.message || response.statusText);
  return json;
}

async function signedIn(campaign, token) {
  const me = await api("/api/v1/me", null, token);
  startSession({ name: me.name, role: (me.roles || {})[campaign] || (me.admin ? "admin" : null), campaign, token });
  await loadState();
  startSync();
  location.hash = "#/turfs";
}

function signinScreen() {
  const params = new URLSearchParams(location.search);
  const campaign = el("input", { name: "campaign", value: params.get("campaign") || localStorage.getItem("bw.campaign") || "demo", autocomplete: "off" });
  const name = el("input", { name: "name", autocomplete: "username", autocapitalize: "none" });
  const password = el("input", { name: "password", type: "password", autocomplete: "current-password" });
  const code = el("input", { name: "code", autocomplete: "one-time-code", autocapitalize: "characters", placeholder: "XXXX-XXXX-XXXX" });
  const problem = el("p", { className: "error", role: "alert", id: "signin-error" });
  const video = el("video", { className: "scanner", hidden: true, playsInline: true, muted: true });
  const go = async (how) => {
    problem.textContent = "";
    localStorage.setItem("bw.campaign", campaign.value.trim());
    try {
      const label = `Blockwalk app ${deviceId().slice(7, 15)}`;
      const answer = how === "code"
        ? await api("/api/v1/auth/code", { code: code.value.trim() })
        : await api("/api/v1/auth/login", { name: name.value.trim(), password: password.value, label });
      await signedIn(campaign.value.trim(), answer.token);
    } catch (err) {
      problem.textContent = navigator.onLine ? t("signin_failed", { reason: err.message }) : t("signin_offline");
    }
  };
  const scan = el("button", { type: "button", className: "secondary", textContent: t("scan") });
  scan.onclick = async () => {
    if (!("BarcodeDetector" in window) || !navigator.mediaDevices) {
      problem.textContent = t("no_camera");
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
        const text = found.map((f) => f.rawValue).find((v) => v.startsWith("blockwalk:signin?"));
        if (text) {
          stop();
          code.value = new URLSearchParams(text.split("?")[1]).get("code") || "";
          go("code");
        } else {
          setTimeout(look, 250);
        }
      };
      look();
    } catch (err) {
      problem.textContent = t("no_camera");
    }
  };
  screen(t("signin_title"),
    languageSwitch(),
    el("form", { id: "signin", onsubmit: (e) => { e.preventDefault(); go("password"); } },
      el("label", { className: "label" }, t("campaign"), campaign),
      el("label", { className: "label" }, t("name"), name),
      el("label", { className: "label" }, t("password"), password),
      el("button", { type: "submit", textContent: t("signin") })),
    el("form", { id: "signin-code", onsubmit: (e) => { e.preventDefault(); go("code"); } },
      el("p", { textContent: t("or_code") }),
      el("label", { className: "label" }, t("code"), code),
      el("button", { type: "submit", textContent: t("use_code") }),
      scan, video),
    problem);
}

function languageSwitch() {
  return el("div", { className: "langs", role: "group", "aria-label": t("language") }, APP_LANGUAGES.map((lang) => el("button", {
    type: "button", className: lang === appLanguage() ? "lang on" : "lang", textContent: lang.toUpperCase(),
    onclick: () => { setAppLanguage(lang); drawBar(); route(); },
  })));
}

// ---- my turfs ------------------------------------------------------------------------

function doorStatus(d, household) {
  const visits = d.byHousehold[household._id];
  return visits && visits.length ? visits[0].answers && visits[0].answers.outcome : null;
}

async function turfsScreen(params) {
  const d = await data();
  const mapView = params.get("view") === "map";
  const toggle = el("div", { className: "tabs" },
    el("a", { href: "#/turfs", className: mapView ? "" : "on", textContent: t("list") }),
    el("a", { href: "#/turfs?view=map", className: mapView ? "on" : "", textContent: t("map") }));
  const notices = (getState().notices || []).map((n) => el("p", { className: "notice", textContent: t(n.key, n.params) }));
  if (!d.turfs.length) {
    screen(t("my_turfs"), toggle, ...notices, el("p", { className: "empty", textContent: t("no_turfs") }));
    return;
  }
  const perTurf = d.turfs.map((turf) => {
    const list = d.households.filter((h) => h.turf === turf._id);
    return { turf, households: list.map((h) => ({ h, status: doorStatus(d, h) })) };
  });
  if (mapView) {
    const box = el("div", { className: "map", id: "turf-map" });
    screen(t("my_turfs"), toggle, ...notices, box);
    const map = await turfMap(box, perTurf, (id) => { location.hash = `#/turf/${encodeURIComponent(id)}`; });
    cleanup.push(() => map.remove());
    return;
  }
  screen(t("my_turfs"), toggle, ...notices, el("ul", { className: "list", id: "turf-list" }, perTurf.map(({ turf, households: list }) =>
    el("li", {}, el("a", { href: `#/turf/${encodeURIComponent(turf._id)}`, className: "row" },
      el("strong", { textContent: turf.name || turf._id }),
      el("span", { className: "meta", textContent: `${t("doors", { n: list.length })} · ${t("visited", { n: list.filter((x) => x.status).length })}` }))))));
}

async function turfScreen(turfId) {
  const d = await data();
  const turf = d.turfs.find((x) => x._id === turfId);
  const list = walkingOrder(d.households.filter((h) => h.turf === turfId));
  const rows = list.map((h) => {
    const visits = d.byHousehold[h._id] || [];
    const latest = visits[0];
    const outcome = latest && latest.answers && latest.answers.outcome;
    return el("li", {}, el("a", { href: `#/household/${encodeURIComponent(h._id)}`, className: "row door" },
      el("strong", { textContent: h.address + (h.unit ? `, ${h.unit}` : "") }),
      el("span", { className: `status ${outcome ? (outcome === "contacted" ? "done" : "tried") : "todo"}`, textContent: latest ? outcomeLabel(latest, d.forms) : t("not_visited") })));
  });
  const asset = d.forms.find((f) => f.form_id === "asset_mapping");
  screen(turf ? turf.name || turfId : turfId, back("#/turfs"),
    el("p", { className: "meta", textContent: `${t("walk_list")} · ${t("doors", { n: list.length })}` }),
    el("ol", { className: "list walk", id: "walk-list" }, rows),
    asset ? el("a", { className: "button secondary", href: `#/form/${asset.form_id}?turf=${encodeURIComponent(turfId)}`, textContent: t("asset_between") }) : null);
}

async function householdScreen(id) {
  const d = await data();
  const h = d.households.find((x) => x._id === id);
  if (!h) {
    screen(t("household"), back("#/turfs"));
    return;
  }
  const visits = d.byHousehold[id] || [];
  const turf = d.turfs.find((x) => x._id === h.turf);
  const forTurf = d.forms.filter((f) => !turf || !turf.drive || turf.drive === f.drive);
  screen(h.address + (h.unit ? `, ${h.unit}` : ""), back(`#/turf/${encodeURIComponent(h.turf)}`),
    el("div", { className: "actions" }, visitButtons(forTurf, h)),
    el("h3", { textContent: t("past_visits") }),
    visits.length ? el("ul", { className: "list visits", id: "visits" }, visits.map((r) => visitItem(r, d))) : el("p", { className: "empty", textContent: t("no_visits") }));
}

function visitButtons(formList, h) {
  return formList.map((f) => el("a", {
    className: "button", href: `#/form/${f.form_id}?household=${encodeURIComponent(h._id)}&turf=${encodeURIComponent(h.turf)}`,
    textContent: t("new_visit", { form: pick(f.title, appLanguage(), f.default_language) }),
  }));
}

function visitItem(r, d) {
  const state = getState();
  const pending = r._id in state.dirty;
  const mine = r.author === session.name;
  // The server's merge note (docs/conflicts.md): the fields that changed from each merged revision.
  const merged = r.merged && r.merged.changed
    ? [...new Set(Object.values(r.merged.changed).flat())].filter((f) => f.startsWith("answers.") || f === "geotag") : null;
  const review = Object.values(r.conflicts || {}).some((c) => c.open);
  return el("li", { className: "visit", dataset: { id: r._id } },
    el("div", {}, el("strong", { textContent: outcomeLabel(r, d.forms) }), " · ", formTitle(r, d.forms)),
    el("div", { className: "meta", textContent: `${when(r.created_at)} · ${t("by", { author: r.author })}${r.geotag ? ` · ${t("accuracy", { m: r.geotag.accuracy_m ?? "?" })}` : ""}${pending ? ` · ${t("not_sent")}` : ""}` }),
    review || (r._conflicts && r._conflicts.length) ? el("p", { className: "notice", textContent: t("conflict") }) : null,
    merged ? el("p", { className: "notice merged", textContent: t("merged_fields", { fields: merged.map((f) => f.replace(/^answers\./, "")).join(", ") }) }) : null,
    mine ? el("a", { href: `#/form/${r.form.slice(5)}?record=${encodeURIComponent(r._id)}`, className: "button secondary small", textContent: t("edit") }) : null);
}

// ---- a form ----------------------------------------------------------------------------

async function formScreen(formId, params) {
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
  const householdId = previous ? previous.household : params.get("household");
  const turfId = previous ? previous.turf : params.get("turf");
  const household = householdId && d.households.find((h) => h._id === householdId);
  const target = (form.settings && form.settings.geotag_accuracy_m) || 50;
  const geoLine = el("p", { className: "geo", id: "geotag" });
  const showGeo = (watch) => {
    const best = watch.best();
    if (watch.manual) geoLine.textContent = t("geotag_manual", { lat: best.lat, lon: best.lon });
    else if (best && (watch.done || best.accuracy_m <= target)) {
      geoLine.textContent = best.accuracy_m <= target
        ? t("geotag_ok", { lat: best.lat, lon: best.lon, m: best.accuracy_m })
        : t("geotag_best", { m: best.accuracy_m, target });
    } else if (watch.failed || (watch.done && !best)) geoLine.textContent = t("geotag_unavailable");
    else geoLine.textContent = t("geotag_waiting", { best: best ? t("accuracy", { m: best.accuracy_m }) : t("geotag_none") });
    geoLine.className = `geo ${best ? (best.source === "manual" || best.accuracy_m <= target ? "good" : "fair") : "none"}`;
  };
  const geo = previous && previous.geotag ? null : new GeoWatch(target, showGeo);
  if (!geo) geoLine.textContent = previous.geotag.source === "manual"
    ? t("geotag_manual", { lat: previous.geotag.lat, lon: previous.geotag.lon })
    : t("geotag_ok", { lat: previous.geotag.lat, lon: previous.geotag.lon, m: previous.geotag.accuracy_m });

  const view = new FormView(form, {
    answers: previous ? previous.answers : {}, language: previous ? previous.language : appLanguage() in (form.title || {}) ? appLanguage() : undefined,
    attachments: previous ? previous._attachments || {} : {}, geo: geo || { best: () => previous.geotag },
  });
  const langs = el("div", { className: "langs", role: "group", id: "door-language" },
    el("span", { className: "label", textContent: t("door_language") }),
    form.languages.map((lang) => el("button", {
      type: "button", className: lang === view.language ? "lang on" : "lang", textContent: lang.toUpperCase(), dataset: { lang },
      onclick: (event) => {
        view.setLanguage(lang);
        langs.querySelectorAll("button").forEach((b) => b.classList.toggle("on", b === event.target));
        title.textContent = pick(form.title, lang, form.default_language);
      },
    })));
  const pinBox = el("div", { className: "map pin", hidden: true });
  const pinDone = el("button", { type: "button", id: "pin-done", textContent: t("pin_done"), disabled: true });
  const pinCancel = el("button", { type: "button", className: "secondary", textContent: t("cancel") });
  const pinPanel = el("div", { className: "pin-panel", hidden: true }, el("p", { textContent: t("pin_hint") }), pinBox, pinDone, pinCancel);
  const pinButton = el("button", {
    type: "button", id: "drop-pin", className: "secondary small", textContent: t("drop_pin"), hidden: !geo,
    onclick: async () => {
      pinPanel.hidden = false;
      pinBox.hidden = false;
      const point = await pickPoint(pinBox, household && household.location, { done: pinDone, cancel: pinCancel });
      pinPanel.hidden = true;
      if (point) geo.setManual(point.lat, point.lon);
    },
  });
  const problem = el("p", { className: "error", role: "alert", id: "form-error" });
  const save = el("button", { type: "submit", textContent: t("save"), id: "save" });
  const title = el("span", { textContent: pick(form.title, view.language, form.default_language) });
  screen(pick(form.title, appLanguage(), form.default_language),
    back(household ? `#/household/${encodeURIComponent(household._id)}` : turfId ? `#/turf/${encodeURIComponent(turfId)}` : "#/turfs"),
    household ? el("p", { className: "meta", textContent: household.address + (household.unit ? `, ${household.unit}` : "") }) : null,
    langs, el("div", { className: "geo-box" }, geoLine, pinButton), pinPanel,
    el("form", {
      id: "record-form", noValidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        const { answers, problems, photos } = view.collect();
        const geotag = geo ? geo.best() : previous.geotag;
        if (Object.keys(problems).length) {
          problem.textContent = t("fix_errors");
          const first = main.querySelector(".field .error");
          if (first) first.scrollIntoView({ block: "center" });
          return;
        }
        if (!geotag) {
          problem.textContent = t("geotag_needed");
          return;
        }
        save.disabled = true;
        const next = {
          ...(previous || {}),
          form: `form:${form.form_id}`, form_version: form.version, answers, geotag, language: view.language,
          turf: turfId || null,
        };
        if (householdId) next.household = householdId;
        delete next._conflicts;
        const kept = Object.keys(photos).filter((name) => JSON.stringify(answers).includes(JSON.stringify(name)));
        const saved = await saveRecord(next, previous, Object.fromEntries(kept.map((n) => [n, photos[n]])));
        sessionStorage.setItem("bw.saved", saved._id);
        location.hash = household ? `#/household/${encodeURIComponent(household._id)}` : `#/turf/${encodeURIComponent(turfId || "")}`;
      },
    }, el("h3", {}, title), view.root, problem, save));
  if (geo) {
    cleanup.push(() => geo.stop()); // registered after screen(), which runs the previous screen's cleanup
    showGeo(geo);
  }
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
    return `${formTitle(r, d.forms)} · ${h ? h.address : r.turf || ""} · ${outcomeLabel(r, d.forms)}`;
  };
  const line = !status.online ? t("offline") : status.unauthorized ? t("signin_again")
    : status.phase === "error" ? t("sync_error", { reason: status.error }) : status.phase === "active" ? t("syncing") : t("online");
  screen(t("sync_title"),
    el("p", { className: `sync-state ${status.online ? status.phase : "offline"}`, id: "sync-state", textContent: line }),
    el("p", { id: "last-sync", textContent: t("last_sync", { when: when(state.last_sync_at) }) }),
    el("h3", { id: "pending-count", textContent: pending.length ? t("pending", { n: pending.length }) : t("pending_none") }),
    el("ul", { className: "list", id: "pending" }, pending.map((id) => el("li", { dataset: { id }, textContent: describe(id) }))),
    refused.length ? el("h3", { className: "error", id: "refused-count", textContent: t("refused", { n: refused.length }) }) : null,
    el("ul", { className: "list refused", id: "refused" }, refused.map((entry) => {
      const r = byId[entry.id];
      return el("li", { dataset: { id: entry.id } },
        el("strong", { textContent: describe(entry.id) }),
        el("p", { className: "reason", textContent: t("refused_reason", { reason: entry.reason }) }),
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
  drawBar();
  if (!session.token) return signinScreen();
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
  await loadMessages();
  if (loadSession()) {
    await loadState();
    startSync();
  }
  await route();
  document.body.dataset.ready = "true";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch((err) => console.warn("no service worker", err));
  }
}

// For tests and bench/app_sync.py: the same functions the screens use.
window.blockwalk = { session, getState, pendingIds, refusedEntries, status, updateState, saveRecord, forms };
boot();
