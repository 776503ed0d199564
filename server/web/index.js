import { api, campaign, el, frame, PAGES, showError, signIn, t, token } from "./common.js";

const form = document.getElementById("signin");
const home = document.getElementById("home");

document.getElementById("name-label").textContent = t("Name", "Nombre");
document.getElementById("password-label").textContent = t("Password", "Contraseña");
document.getElementById("signin-button").textContent = t("Sign in", "Iniciar sesión");
document.getElementById("campaign-label").textContent = t("Campaign", "Campaña");

function showHome() {
  frame("index.html");
  form.hidden = true;
  home.hidden = false;
  const input = document.getElementById("campaign");
  input.value = campaign();
  const links = () => document.getElementById("pages").replaceChildren(
    ...PAGES.filter(([file]) => file !== "index.html").map(([file, en, es]) => el("li", {},
      el("a", { href: `${file}?campaign=${encodeURIComponent(input.value)}` }, t(en, es)))));
  input.addEventListener("input", () => {
    sessionStorage.setItem("blockwalk.campaign", input.value);
    links();
  });
  links();
  // The campaigns this person has a role in, when the server lists them.
  api("/campaigns").then(({ body }) => {
    const items = Array.isArray(body) ? body : [];
    document.getElementById("campaigns").replaceChildren(...items.map((c) => el("option", { value: c.id || c.name })));
  }).catch(() => {});
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
