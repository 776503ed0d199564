// Shared by the meetings and progress pages: tables of numbers and downloads through the API.
import { api, el, t } from "./common.js";

// A table: columns are [header, value(row), numeric?]; rows as given; an optional last row in bold.
export function table(columns, rows, total) {
  const cell = (row, [, value, numeric]) => el("td", { class: numeric ? "num" : undefined }, value(row) ?? "");
  return el("table", {},
    el("thead", {}, el("tr", {}, columns.map(([header, , numeric]) => el("th", { class: numeric ? "num" : undefined, scope: "col" }, header)))),
    el("tbody", {},
      rows.map((row) => el("tr", {}, columns.map((column) => cell(row, column)))),
      total ? el("tr", { class: "total" }, columns.map((column) => cell(total, column))) : null));
}

export function percent(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 100)}%`;
}

// Downloads a file the API streams (the bearer token rules out a plain link): saved under the server's name.
// ``seen(response)``, if given, reads the response's headers first.
export async function download(path, seen) {
  return (await downloadCounted(path, seen)).name;
}

// The data rows of a CSV file (its header not counted; a line break inside quotes is part of its cell).
export function csvRows(text) {
  let rows = 0;
  let quoted = false;
  let content = false;
  for (const char of text) {
    if (char === '"') quoted = !quoted;
    if (char === "\n" && !quoted) {
      if (content) rows += 1;
      content = false;
    } else if (char !== "\r") content = true;
  }
  if (content) rows += 1;
  return Math.max(0, rows - 1);
}

// A download that also says how many rows it holds: {name, rows} (rows: null for a file it cannot count).
export async function downloadCounted(path, seen) {
  const { response } = await api(path, { raw: true });
  if (seen) seen(response);
  const blob = await response.blob();
  const type = response.headers.get("Content-Type") || "";
  let rows = null;
  if (type.includes("csv")) rows = csvRows(await blob.text());
  else if (type.includes("json")) rows = (JSON.parse(await blob.text()).features || []).length;
  const disposition = response.headers.get("Content-Disposition") || "";
  const name = (disposition.match(/filename="([^"]+)"/) || [])[1] || "export";
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name, rows };
}

// "Saved x.csv: 3 rows" in the page's language.
export function savedText({ name, rows }) {
  if (rows === null) return t(`Saved ${name}`, `Guardado ${name}`);
  if (rows === 0) return t(`Saved ${name}: it holds no rows, only its header.`, `Guardado ${name}: no tiene filas, solo los encabezados.`);
  return t(`Saved ${name}: ${rows} ${rows === 1 ? "row" : "rows"}.`, `Guardado ${name}: ${rows} ${rows === 1 ? "fila" : "filas"}.`);
}

export function noCampaign(target) {
  target.replaceChildren(el("p", { class: "error", role: "alert" },
    t("Choose a campaign on the home page first.", "Elija primero una campaña en la página de inicio.")));
}
