// Shared by the people and forms pages: every page of a list, and a confirmation in words.
import { api, el } from "./common.js";

// Every item of a paginated list (100 a request), in the API's order.
export async function everyPage(path) {
  const items = [];
  const join = path.includes("?") ? "&" : "?";
  for (let page = 1; ; page += 1) {
    const { body, response } = await api(`${path}${join}page=${page}&page_size=100`);
    items.push(...body);
    if (!JSON.parse(response.headers.get("X-Pagination") || "{}").next_page) return items;
  }
}

// Asks in the page's <dialog id="confirm"> (a modal: focus stays in it, Escape cancels).
// Resolves true when the person chose `yes`.
export function confirmDialog(title, paragraphs, yes) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-title").textContent = title;
  document.getElementById("confirm-text").replaceChildren(...paragraphs.map((text) => el("p", {}, text)));
  document.getElementById("confirm-yes").textContent = yes;
  dialog.returnValue = "";
  dialog.showModal();
  document.getElementById("confirm-no").focus();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "yes"), { once: true });
  });
}
