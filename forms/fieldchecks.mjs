// Field checks shared by the phone and the server's validator: the same rules
// as forms/fieldchecks.py (read it for what each rule is), held together by
// forms/field_vectors.json (node forms/check_field_vectors.mjs).  Served to the
// app as /app/lib/fieldchecks.mjs; the phone rules (forms/phone_regions.json,
// /app/lib/phone_regions.json) are data handed in, read by both sides.

const PHONE_CHARS = /^\+?[0-9 ().-]{5,32}$/;
const EMAIL_LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const EMAIL_LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const SPECIAL_USE = ["arpa", "invalid", "local", "localhost", "onion", "test"]; // reserved names: no e-mail there
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const TIME = /^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$/;
const INTEGER = /^-?\d+$/;
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)$/;

const compiled = new Map();
function regex(pattern, anchored) {
  const key = (anchored ? "^" : "=") + pattern;
  let re = compiled.get(key);
  if (!re) {
    re = new RegExp(anchored ? `^(?:${pattern})$` : `^(?:${pattern})`);
    compiled.set(key, re);
  }
  return re;
}

const full = (pattern, text) => regex(pattern, true).test(text);
const nationalOk = (national, rules) => rules.some((rule) => rule.patterns.some((p) => full(p, national)));

function byCode(table, digits) {
  for (const k of [1, 2, 3]) {
    const rules = Object.values(table.regions).filter((r) => r.code === digits.slice(0, k));
    if (rules.length) return [rules, digits.slice(k)];
  }
  return null;
}

// Whether `text` is a phone number the roster keeps, read in `region` when it has no "+".
export function phoneOk(text, region, table) {
  if (typeof text !== "string" || !PHONE_CHARS.test(text) || text.slice(1).includes("+")) return false;
  const digits = text.replace(/\D/g, "");
  if (text.startsWith("+")) {
    const found = byCode(table, digits);
    return found !== null && nationalOk(found[1], found[0]);
  }
  const rule = table.regions[(region || "").toUpperCase()];
  if (!rule) return digits.length >= 7 && digits.length <= 15;
  const idd = rule.international_prefix ? regex(rule.international_prefix, false).exec(digits) : null;
  if (idd && idd[0].length < digits.length) {
    const found = byCode(table, digits.slice(idd[0].length));
    if (found !== null && nationalOk(found[1], found[0])) return true;
  }
  let national = digits;
  const prefix = rule.national_prefix ? regex(rule.national_prefix, false).exec(digits) : null;
  if (prefix && prefix[0].length > 0) {
    const rest = digits.slice(prefix[0].length);
    if (!(full(rule.general, digits) && !full(rule.general, rest))) national = rest;
  }
  return nationalOk(national, Object.values(table.regions).filter((r) => r.code === rule.code));
}

export function emailOk(text) {
  if (typeof text !== "string" || text.length > 254 || text.split("@").length !== 2) return false;
  const [local, domain] = text.split("@");
  if (!(local.length > 0 && local.length <= 64 && EMAIL_LOCAL.test(local))) return false;
  const labels = domain.split(".");
  const top = labels[labels.length - 1];
  return labels.length >= 2 && domain.length <= 253 && labels.every((label) => EMAIL_LABEL.test(label))
    && /[A-Za-z]$/.test(top) && !SPECIAL_USE.includes(top.toLowerCase());
}

export function dateOk(text) {
  if (typeof text !== "string" || !DATE.test(text)) return false;
  const [y, m, d] = text.split("-").map(Number);
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  const days = [31, (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0 ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  return d <= days[m - 1];
}

export const timeOk = (text) => typeof text === "string" && TIME.test(text);

// What a number typed at the door is stored as: a number, the text as typed (refused), or undefined (empty).
export function typedNumber(text, kind) {
  const stripped = text.trim();
  if (stripped === "") return undefined;
  if (kind === "integer") return INTEGER.test(stripped) ? Number(stripped) : text;
  return DECIMAL.test(stripped) ? Number(stripped) : text;
}

// Unicode code points, as Python's len() counts them.
export const length = (text) => [...text].length;
