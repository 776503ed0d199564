// People: the campaign's members and their roles, adding volunteers, one-time sign-in codes (one as a QR
// code, or a printable sheet of cards for a whole training), and each volunteer's phones with revoke.
import {
  WRITERS, api, base, campaign, campaignInfo, el, errorText, everyPage, frame, localTime, pickCampaign, showError, t,
} from "./common.js";
import { noCampaign } from "./reports.js";
import { confirmDialog } from "./setup-people.js";

const status = document.getElementById("status");
const membersBox = document.getElementById("members");
const phonesBox = document.getElementById("phones");
const codeSection = document.getElementById("code-section");
const sheet = document.getElementById("sheet");
const ROLE_NAMES = {
  admin: t("Admin", "Administrador/a"), organizer: t("Organizer", "Organizador/a"),
  coordinator: t("Coordinator", "Coordinador/a"), volunteer: t("Volunteer", "Voluntario/a"),
};

const words = {
  title: ["People", "Personas"],
  intro: ["Who is in this campaign and what they may do; sign-in codes for volunteers' phones; the phones themselves.",
    "Quién está en esta campaña y qué puede hacer; códigos de acceso para los teléfonos de los voluntarios; los teléfonos."],
  "members-heading": ["Members", "Miembros"],
  "add-heading": ["Add a volunteer", "Añadir un voluntario"],
  "full-name-label": ["Name", "Nombre"],
  "user-name-label": ["User name", "Nombre de usuario"],
  "user-name-hint": ["Lowercase letters, digits and . _ @ - ; the volunteer never types it: their phone signs in with a code.",
    "Minúsculas, cifras y . _ @ - ; el voluntario nunca lo escribe: su teléfono entra con un código."],
  "add-button": ["Add volunteer", "Añadir voluntario"],
  "many-label": ["Several at once: one name a line", "Varios a la vez: un nombre por línea"],
  "many-hint": ["Each gets a user name made from their name, and is ticked for the sheet of codes below.",
    "Cada uno recibe un nombre de usuario hecho con su nombre y queda marcado para la hoja de códigos."],
  "add-many-button": ["Add them", "Añadirlos"],
  "code-heading": ["Sign-in code", "Código de acceso"],
  "sheet-heading": ["Codes for a training", "Códigos para una formación"],
  "sheet-intro": ["Tick the volunteers in the list above, then make a printable sheet: one card each, with a QR code their phone's camera opens.",
    "Marque a los voluntarios en la lista de arriba y prepare una hoja para imprimir: una tarjeta por persona, con un código QR que abre la cámara del teléfono."],
  "minutes-label": ["Codes work for", "Los códigos sirven durante"],
  "sheet-button": ["Make codes for the ticked volunteers", "Crear códigos para los marcados"],
  "phones-heading": ["Phones", "Teléfonos"],
  "phones-intro": ["Each volunteer's signed-in phones, what each still holds that is not on the server, and its last sync.",
    "Los teléfonos con sesión de cada voluntario, lo que aún guarda cada uno sin llegar al servidor y su última sincronización."],
  "confirm-no": ["Cancel", "Cancelar"],
};
for (const [id, [en, es]] of Object.entries(words)) document.getElementById(id).textContent = t(en, es);
document.getElementById("minutes").replaceChildren(...[10, 30, 60].map((n) => el("option", { value: n }, t(`${n} minutes`, `${n} minutos`))));
document.getElementById("minutes").value = "60";

let info = { time_zone: "UTC", name: "" };
let role = null;
let members = [];
const canWrite = () => WRITERS.includes(role);
const nameOf = (member) => member.full_name || member.user;
const when = (iso) => localTime(iso, info.time_zone);
// The app as phones reach it, for this campaign; a code follows it in the QR code.
const appAddress = () => `${location.origin}/app/?campaign=${encodeURIComponent(campaign())}`;

// Codes point at the address this page is open at: a phone cannot reach "localhost" or 127.0.0.1.
function unreachable() {
  if (!/^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(location.hostname)) return null;
  return el("p", { class: "warn-note no-print" }, t(
    `This page is open at ${location.host}, which phones cannot reach: open the coordinator pages at the server's address on your network, and the codes will point there.`,
    `Esta página está abierta en ${location.host}, que los teléfonos no alcanzan: abra las páginas de coordinación con la dirección del servidor en su red y los códigos apuntarán allí.`));
}

function say(target, text, kind = "status") {
  target.replaceChildren(el("p", { role: kind, class: kind === "alert" ? "error" : "ok" }, text));
}

// ---- members ----------------------------------------------------------------------------------

async function loadMembers() {
  members = await everyPage(`${base()}/members`);
  const ticked = new Set([...membersBox.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value));
  const rows = members.map((member) => memberRow(member, ticked.has(member.user)));
  membersBox.replaceChildren(el("table", {},
    el("caption", { class: "muted" }, t(`${members.length} people`, `${members.length} personas`)),
    el("thead", {}, el("tr", {},
      canWrite() ? el("th", { scope: "col", class: "narrow" }, t("On the sheet", "En la hoja")) : null,
      el("th", { scope: "col" }, t("Name", "Nombre")),
      el("th", { scope: "col" }, t("Role", "Papel")),
      canWrite() ? el("th", { scope: "col" }, t("Actions", "Acciones")) : null)),
    el("tbody", {}, rows)));
}

function memberRow(member, ticked) {
  const name = nameOf(member);
  const volunteer = member.role === "volunteer";
  // A coordinator gives and takes away the volunteer role only; an admin any role (the API says the same).
  const mayChange = role === "admin" || (role === "coordinator" && volunteer);
  const roleCell = role === "admin"
    ? el("select", { "aria-label": t(`Role of ${name}`, `Papel de ${name}`), onchange: (event) => changeRole(member, event.target) },
      ["volunteer", "coordinator", "organizer"].map((r) => el("option", { value: r, selected: r === member.role }, ROLE_NAMES[r])))
    : ROLE_NAMES[member.role] || member.role;
  return el("tr", {},
    canWrite() ? el("td", { class: "narrow" }, volunteer ? el("input", {
      type: "checkbox", value: member.user, checked: ticked, "aria-label": t(`Put ${name} on the sheet`, `Poner a ${name} en la hoja`),
    }) : null) : null,
    el("td", {}, el("strong", {}, name), member.full_name ? el("span", { class: "muted block" }, member.user) : null),
    el("td", {}, roleCell),
    canWrite() ? el("td", {}, el("div", { class: "buttons" },
      // Short words on the buttons; their accessible names say whom they are for.
      volunteer ? el("button", {
        type: "button", class: "secondary", onclick: () => makeOneCode(member),
        "aria-label": t(`Sign-in code for ${name}`, `Código de acceso para ${name}`),
      }, t("Sign-in code", "Código de acceso")) : null,
      mayChange ? el("button", {
        type: "button", class: "secondary danger", onclick: () => removeMember(member),
        "aria-label": t(`Remove ${name}`, `Quitar a ${name}`),
      }, t("Remove", "Quitar")) : null)) : null);
}

async function changeRole(member, select) {
  try {
    await api(`${base()}/members/${encodeURIComponent(member.user)}`, { method: "PUT", body: { role: select.value } });
    member.role = select.value;
    await loadMembers();
    say(status, t(`${nameOf(member)} is now ${ROLE_NAMES[select.value]}.`, `${nameOf(member)} ahora es ${ROLE_NAMES[select.value]}.`));
  } catch (error) {
    select.value = member.role;
    showError(status, error);
  }
}

async function removeMember(member) {
  const name = nameOf(member);
  const yes = await confirmDialog(t(`Remove ${name} from ${info.name}?`, `¿Quitar a ${name} de ${info.name}?`), [
    t(`Their phones stop syncing with this campaign within 30 seconds. What ${name} has not yet synced stays on their phones, not lost: it reaches the server if they are given the role again. Their turf assignments stay.`,
      `Sus teléfonos dejan de sincronizar con esta campaña en 30 segundos. Lo que ${name} aún no ha sincronizado se queda en sus teléfonos, sin perderse: llega al servidor si se le devuelve el papel. Sus asignaciones de zonas se mantienen.`),
  ], t("Remove", "Quitar"));
  if (!yes) return;
  try {
    await api(`${base()}/members/${encodeURIComponent(member.user)}`, { method: "DELETE" });
    await Promise.all([loadMembers(), loadPhones()]);
    say(status, t(`${name} is no longer in this campaign.`, `${name} ya no está en esta campaña.`));
  } catch (error) {
    showError(status, error);
  }
}

// ---- adding a volunteer -------------------------------------------------------------------------

const fullName = document.getElementById("full-name");
const userName = document.getElementById("user-name");
let typedUserName = false;
// "María José Gómez" -> "maria.jose.gomez", until the user name is typed by hand.
const slug = (name) => name.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
  .replace(/[^a-z0-9]+/g, ".").replace(/^\.+|\.+$/g, "").slice(0, 64);
fullName.addEventListener("input", () => {
  if (!typedUserName) userName.value = slug(fullName.value);
});
userName.addEventListener("input", () => { typedUserName = userName.value !== ""; });

document.getElementById("add").addEventListener("submit", async (event) => {
  event.preventDefault();
  const target = document.getElementById("add-status");
  try {
    const { body } = await api(`${base()}/volunteers`, {
      method: "POST", body: { name: userName.value.trim(), full_name: fullName.value.trim() },
    });
    await loadMembers();
    say(target, t(`${nameOf(body)} was added as a volunteer. Make a sign-in code for their phone in the list.`,
      `Se añadió a ${nameOf(body)} como voluntario/a. Cree un código de acceso para su teléfono en la lista.`));
    fullName.value = "";
    userName.value = "";
    typedUserName = false;
    fullName.focus();
  } catch (error) {
    showError(target, error);
  }
});

// A training's list of names, pasted: each added in turn (with progress), then ticked for the sheet.
document.getElementById("add-many").addEventListener("submit", async (event) => {
  event.preventDefault();
  const target = document.getElementById("add-many-status");
  const names = document.getElementById("many").value.split("\n").map((line) => line.trim()).filter(Boolean);
  const added = [];
  const failed = [];
  target.setAttribute("aria-busy", "true");
  for (const [i, name] of names.entries()) {
    target.replaceChildren(el("p", { role: "status" }, el("progress", { max: names.length, value: i }),
      " ", t(`Adding: ${i} of ${names.length}`, `Añadiendo: ${i} de ${names.length}`)));
    try {
      const { body } = await api(`${base()}/volunteers`, { method: "POST", body: { name: slug(name), full_name: name } });
      added.push(body.user);
    } catch (error) {
      failed.push(`${name}: ${errorText(error)}`);
    }
  }
  target.removeAttribute("aria-busy");
  await loadMembers();
  for (const box of membersBox.querySelectorAll("input[type=checkbox]")) if (added.includes(box.value)) box.checked = true;
  document.getElementById("many").value = failed.map((line) => line.split(":")[0]).join("\n");
  target.replaceChildren(...[
    el("p", { role: "status", class: "ok" }, t(`${added.length} volunteers added and ticked for the sheet of codes.`,
      `${added.length} voluntarios añadidos y marcados para la hoja de códigos.`)),
    failed.length ? el("ul", { class: "error", role: "alert" }, failed.map((line) => el("li", {}, line))) : null,
  ].filter(Boolean));
});

// ---- sign-in codes ------------------------------------------------------------------------------

async function newCode(member, minutes) {
  const { body } = await api("/signin-codes", {
    method: "POST", body: { user: member.user, minutes, app_url: appAddress() },
  });
  return body;
}

// One volunteer's card: name, QR code, the code in text, the app's address and until when it works.
function codeCard(member, made) {
  const name = nameOf(member);
  return el("article", { class: "code-card", "aria-label": t(`Sign-in code for ${name}`, `Código de acceso para ${name}`) },
    el("h3", {}, name),
    el("img", {
      class: "qr", src: `data:image/svg+xml;charset=utf-8,${encodeURIComponent(made.qr_svg)}`,
      alt: t(`QR code that signs ${name} in on their phone`, `Código QR que abre la sesión de ${name} en su teléfono`),
    }),
    el("div", { class: "card-text" },
      el("p", { class: "code-text" }, made.code),
      el("p", {}, t("Point the phone's camera at the QR code. Or open", "Apunte la cámara del teléfono al código QR. O abra"),
        " ", el("span", { class: "address" }, appAddress()), " ",
        t("and type the code.", "y escriba el código.")),
      el("p", { class: "muted" }, t(`Works once, until ${when(made.expires_at)}.`, `Sirve una vez, hasta el ${when(made.expires_at)}.`))));
}

async function makeOneCode(member) {
  const box = document.getElementById("code");
  codeSection.hidden = false;
  box.replaceChildren(el("p", { role: "status" }, t("Making the code…", "Creando el código…")));
  try {
    const made = await newCode(member, 10);
    box.replaceChildren(...[unreachable(), codeCard(member, made)].filter(Boolean));
    const heading = document.getElementById("code-heading");
    heading.tabIndex = -1;
    heading.focus();
  } catch (error) {
    showError(box, error);
  }
}

document.getElementById("sheet-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const target = document.getElementById("sheet-status");
  const chosen = [...membersBox.querySelectorAll("input[type=checkbox]:checked")]
    .map((box) => members.find((m) => m.user === box.value)).filter(Boolean);
  if (!chosen.length) {
    say(target, t("Tick at least one volunteer in the list above.", "Marque al menos un voluntario en la lista de arriba."), "alert");
    return;
  }
  const minutes = Number(document.getElementById("minutes").value);
  const cards = [];
  const failed = [];
  target.setAttribute("aria-busy", "true");
  for (const [i, member] of chosen.entries()) {
    target.replaceChildren(el("p", { role: "status" }, el("progress", { max: chosen.length, value: i }),
      " ", t(`Making codes: ${i} of ${chosen.length}`, `Creando códigos: ${i} de ${chosen.length}`)));
    try {
      cards.push(codeCard(member, await newCode(member, minutes)));
    } catch (error) {
      failed.push(`${nameOf(member)}: ${errorText(error)}`);
    }
  }
  target.removeAttribute("aria-busy");
  sheet.replaceChildren(
    el("div", { class: "sheet-head" },
      el("h2", { id: "sheet-title" }, t(`Sign-in codes · ${info.name}`, `Códigos de acceso · ${info.name}`)),
      el("p", { class: "no-print" }, t("The sheet as it prints: cards fit A4 and Letter, eight a page.",
        "La hoja tal como se imprime: las tarjetas caben en A4 y Carta, ocho por página.")), unreachable()),
    el("div", { class: "cards-grid" }, cards));
  sheet.hidden = cards.length === 0;
  const print = el("button", { type: "button", onclick: () => window.print() }, t("Print the sheet", "Imprimir la hoja"));
  target.replaceChildren(...[
    el("p", { role: "status" }, t(`${cards.length} codes made; each works once.`, `${cards.length} códigos creados; cada uno sirve una vez.`)),
    failed.length ? el("ul", { class: "error", role: "alert" }, failed.map((line) => el("li", {}, line))) : null,
    cards.length ? print : null].filter(Boolean));
  if (cards.length) print.focus();
});

// ---- phones -------------------------------------------------------------------------------------

// The sign-in's label as people read it (the app and the server name phones in English).
function phoneName(phone) {
  const code = /^sign-in code from (.+)$/.exec(phone.label || "");
  if (code) return t(`Signed in with a code from ${code[1]}`, `Entró con un código de ${code[1]}`);
  const app = /^Blockwalk app (\S+)$/.exec(phone.label || "");
  if (app) return t(`Signed in with a password (phone ${app[1]})`, `Entró con contraseña (teléfono ${app[1]})`);
  if (!phone.token) return t("A phone with no sign-in on record", "Un teléfono sin sesión registrada");
  return phone.label || t("Signed in (the sign-in has no name)", "Con sesión (sin nombre)");
}

const count = (n) => (n === null || n === undefined ? t("no report yet", "sin informe aún") : String(n));

async function loadPhones() {
  const phones = await everyPage(`${base()}/devices`);
  if (!phones.length) {
    phonesBox.replaceChildren(el("p", { class: "muted" }, t("No volunteer has signed in on a phone yet.", "Ningún voluntario ha entrado aún en un teléfono.")));
    return;
  }
  phonesBox.replaceChildren(el("table", {},
    el("thead", {}, el("tr", {},
      [t("Volunteer", "Voluntario/a"), t("Phone", "Teléfono"), t("Signed in", "Entró"), t("Last sync", "Última sincronización")]
        .map((h) => el("th", { scope: "col" }, h)),
      el("th", { scope: "col", class: "num" }, t("Not yet on the server", "Aún no en el servidor")),
      el("th", { scope: "col", class: "num" }, t("Refused", "Rechazados")),
      canWrite() ? el("th", { scope: "col" }, t("Sign-in", "Sesión")) : null)),
    el("tbody", {}, phones.map((phone) => el("tr", { class: phone.revoked ? "revoked" : undefined },
      el("td", {}, phone.full_name || phone.user),
      el("td", {}, phoneName(phone)),
      el("td", {}, phone.signed_in_at ? when(phone.signed_in_at) : "–"),
      el("td", {}, phone.last_sync_at ? when(phone.last_sync_at) : t("never", "nunca")),
      el("td", { class: "num" }, count(phone.pending)),
      el("td", { class: phone.refused ? "num warn-note" : "num" }, count(phone.refused)),
      canWrite() ? el("td", {}, phone.revoked ? t("Revoked", "Revocada")
        : phone.token ? el("button", {
          type: "button", class: "secondary danger", onclick: () => revoke(phone),
          "aria-label": t(`Revoke ${phone.full_name || phone.user}'s phone`, `Revocar el teléfono de ${phone.full_name || phone.user}`),
        }, t("Revoke", "Revocar")) : "–") : null)))));
}

async function revoke(phone) {
  const name = phone.full_name || phone.user;
  const held = phone.pending === null || phone.pending === undefined
    ? t("This phone has sent no report yet, so what it holds is not known.", "Este teléfono no ha enviado ningún informe: no se sabe qué guarda.")
    : t(`Its last report (${when(phone.last_sync_at)}): ${phone.pending} changes not yet on the server, ${phone.refused} refused.`,
      `Su último informe (${when(phone.last_sync_at)}): ${phone.pending} cambios aún no en el servidor, ${phone.refused} rechazados.`);
  const yes = await confirmDialog(t(`Revoke the sign-in of ${name}'s phone?`, `¿Revocar la sesión del teléfono de ${name}?`), [
    t("The phone stops syncing at once: it can no longer send or receive anything.", "El teléfono deja de sincronizar en el acto: ya no puede enviar ni recibir nada."),
    held,
    t(`Nothing is deleted from the phone: what was typed there stays on it and reaches the server when ${name} signs in again on that phone with a new sign-in code from this page. If the phone is lost, what it holds cannot be recovered.`,
      `No se borra nada del teléfono: lo escrito allí se queda y llega al servidor cuando ${name} vuelva a entrar en ese teléfono con un código nuevo de esta página. Si el teléfono se perdió, lo que guarda no se puede recuperar.`),
  ], t("Revoke", "Revocar"));
  if (!yes) return;
  try {
    await api(`/tokens/${encodeURIComponent(phone.token)}`, { method: "DELETE" });
    await loadPhones();
    say(status, t(`${name}'s phone can no longer sync.`, `El teléfono de ${name} ya no puede sincronizar.`));
  } catch (error) {
    showError(status, error);
  }
}

// ---- start --------------------------------------------------------------------------------------

async function start() {
  if (!frame("people.html")) return;
  if (!(await pickCampaign())) {
    noCampaign(status);
    return;
  }
  info = await campaignInfo();
  role = info.role;
  document.title = `${t("People", "Personas")} · ${info.name || campaign()} · Blockwalk`;
  for (const id of ["add-section", "sheet-section"]) document.getElementById(id).hidden = !canWrite();
  document.querySelector("main").setAttribute("aria-busy", "true");
  try {
    await loadMembers();
    await loadPhones();
  } catch (error) {
    showError(status, error);
  } finally {
    document.querySelector("main").setAttribute("aria-busy", "false");
  }
}

start();
