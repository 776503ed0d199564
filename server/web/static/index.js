import { campaign, el, everyPage, frame, pagesFor, showError, signIn, t, token } from "./common.js";
import { showSettings } from "./settings.js";

const form = document.getElementById("signin");
const home = document.getElementById("home");

document.getElementById("name-label").textContent = t("Name", "Nombre");
document.getElementById("password-label").textContent = t("Password", "Contraseña");
document.getElementById("signin-button").textContent = t("Sign in", "Iniciar sesión");
document.getElementById("campaign-label").textContent = t("Campaign", "Campaña");
document.getElementById("app-link").textContent = t("Canvassing? Open the canvasser app", "¿Va a tocar puertas? Abra la aplicación");

// The campaigns this person has a role in, by name; with only one, it is chosen for them.
async function showHome() {
  frame("index.html");
  form.hidden = true;
  home.hidden = false;
  const select = document.getElementById("campaign");
  const items = [];
  // The pages the person's role in the chosen campaign lets them use.
  const roleIn = (id) => (items.find((c) => c.id === id) || {}).role;
  const links = () => document.getElementById("pages").replaceChildren(
    ...(select.value ? pagesFor(roleIn(select.value)).filter(([file]) => file !== "index.html").map(([file, en, es]) => el("li", {},
      el("a", { href: `${file}?campaign=${encodeURIComponent(select.value)}` }, t(en, es)))) : []));
  select.addEventListener("change", () => {
    sessionStorage.setItem("blockwalk.campaign", select.value);
    links();
    showSettings(select.value, roleIn(select.value));
  });
  home.setAttribute("aria-busy", "true");
  try {
    items.push(...await everyPage("/campaigns"));
    const chosen = campaign() || (items.length === 1 ? items[0].id : "");
    select.replaceChildren(
      ...(items.length === 1 ? [] : [el("option", { value: "" }, t("Choose a campaign", "Elija una campaña"))]),
      ...items.map((c) => el("option", { value: c.id }, c.name === c.id ? c.name : `${c.name} (${c.id})`)));
    if (items.some((c) => c.id === chosen)) {
      select.value = chosen;
      sessionStorage.setItem("blockwalk.campaign", chosen);
    }
    document.getElementById("none").textContent = items.length ? "" : t(
      "You have no role in any campaign yet: ask an admin to add you.",
      "Aún no tiene un papel en ninguna campaña: pida a un administrador que le añada.");
  } catch (error) {
    showError(document.getElementById("none"), error);
  } finally {
    home.setAttribute("aria-busy", "false");
  }
  links();
  showSettings(select.value, roleIn(select.value));
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    await signIn(form.name.value.trim(), form.password.value);
    const next = new URLSearchParams(location.search).get("next");
    if (next && /^[a-z-]+\.html(\?.*)?$/.test(next)) location.assign(next);
    else showHome();
  } catch (error) {
    showError(document.getElementById("signin-error"), error);
  }
});

if (token()) showHome();
else form.hidden = false;
