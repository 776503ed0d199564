// Shared by the people and forms pages: a confirmation in words.
import { el } from "./common.js";

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
