"""The app's words (mobile-shell/app/js/i18n.js) and the validator's (forms/messages.py): every count has its plural forms.

Run in Node on the module the app loads (not a copy).  A message that takes
``{n}`` counts something: it must be ``{one, other, ...}`` with a form for
every plural category ``Intl.PluralRules`` has in that language, so "1 records"
cannot come back.  Numbers and dates go through ``Intl`` (``num``,
``dateTime``): checked here on a few values in each language.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from forms.messages import CATALOGUES, message

ROOT = Path(__file__).resolve().parents[2]
I18N = ROOT / "mobile-shell" / "app" / "js" / "i18n.js"

SCRIPT = r"""
const { WORDS, t, num, dateTime, loadMessages, message } = await import(process.argv[1]);
const { readFileSync } = await import("node:fs");
const catalogues = JSON.parse(readFileSync(process.argv[2], "utf8"));
const problems = [];
// The validator's messages (forms/messages.py, /app/messages.json): a number before a word counts things.
for (const [lang, words] of Object.entries(catalogues)) {
  const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
  for (const [key, entry] of Object.entries(words)) {
    if (typeof entry === "string" && /\{(n|min|max|count)\} \p{L}/u.test(entry)) problems.push(`messages ${lang}.${key}: counts without plural forms`);
    if (typeof entry === "object") for (const category of categories) if (!(category in entry)) problems.push(`messages ${lang}.${key}: no "${category}" form`);
  }
}
globalThis.fetch = async () => ({ ok: true, json: async () => catalogues });
await loadMessages();
const params = (text) => [...String(text).matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(",");
const forms = (entry) => (typeof entry === "object" ? Object.values(entry) : [entry]);
for (const [lang, words] of Object.entries(WORDS)) {
  const categories = new Intl.PluralRules(lang).resolvedOptions().pluralCategories;
  for (const [key, entry] of Object.entries(words)) {
    const counts = forms(entry).some((text) => text.includes("{n}"));
    if (counts && typeof entry !== "object") problems.push(`${lang}.${key}: counts {n} without plural forms`);
    if (typeof entry === "object") {
      for (const category of categories) if (!(category in entry)) problems.push(`${lang}.${key}: no "${category}" form`);
      for (const category of Object.keys(entry)) if (!categories.includes(category)) problems.push(`${lang}.${key}: "${category}" is no plural category of ${lang}`);
    }
  }
  for (const key of Object.keys(WORDS.en)) {
    if (!(key in words)) { problems.push(`${lang}.${key}: missing`); continue; }
    const want = new Set(forms(WORDS.en[key]).map(params));
    const have = new Set(forms(words[key]).map(params));
    if ([...have].some((p) => !want.has(p) && p !== "")) problems.push(`${lang}.${key}: parameters ${[...have]} differ from English ${[...want]}`);
  }
  for (const key of Object.keys(words)) if (!(key in WORDS.en)) problems.push(`${lang}.${key}: not in English`);
}
const samples = {};
for (const lang of Object.keys(WORDS)) {
  samples[lang] = {
    pending: [0, 1, 2, 1000000].map((n) => t("pending", { n }, lang)),
    distance: t("geotag_to_door", { d: 7012 }, lang),
    accuracy: t("accuracy", { m: 8.5 }, lang),
    date: dateTime("2026-12-17T18:30:00Z", lang, { dateStyle: "full", timeZone: "UTC" }),
    number: num(12345.67, lang),
    too_short: [1, 3].map((min) => message(lang, "too_short", { min })),
  };
}
console.log(JSON.stringify({ problems, samples }));
"""


def run_words() -> dict:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the app's words cannot be checked")
    done = subprocess.run([node, "--input-type=module", "-e", SCRIPT, I18N.as_uri(), str(messages_file())],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def messages_file(catalogues: dict | None = None) -> Path:
    """The validator's catalogue as the app gets it (/app/messages.json)."""
    path = Path(tempfile.mkdtemp()) / "messages.json"
    path.write_text(json.dumps(catalogues or CATALOGUES, ensure_ascii=False), encoding="utf-8")
    return path


def test_every_count_has_its_plural_forms_and_both_languages_have_every_message():
    assert run_words()["problems"] == []


def test_plurals_numbers_and_dates_are_written_for_each_language():
    samples = run_words()["samples"]
    assert samples["en"]["pending"] == ["0 records not yet on the server", "1 record not yet on the server",
                                        "2 records not yet on the server", "1,000,000 records not yet on the server"]
    assert samples["es"]["pending"] == ["0 registros aún no están en el servidor", "1 registro aún no está en el servidor",
                                        "2 registros aún no están en el servidor",
                                        "1.000.000 de registros aún no están en el servidor"]
    assert samples["en"]["distance"] == "7,012 m from the door." and samples["es"]["distance"] == "A 7012 m de la puerta."
    assert samples["en"]["accuracy"] == "accuracy 8.5 m" and samples["es"]["accuracy"] == "precisión 8,5 m"
    assert samples["en"]["date"] == "Thursday, December 17, 2026" and samples["es"]["date"] == "jueves, 17 de diciembre de 2026"
    assert samples["en"]["number"] == "12,345.7" and samples["es"]["number"] == "12.345,7"
    assert samples["en"]["too_short"] == ["Must be at least 1 character.", "Must be at least 3 characters."]
    assert samples["es"]["too_short"] == ["Debe tener al menos 1 carácter.", "Debe tener al menos 3 caracteres."]
    # The server says the same (forms/messages.py, the validator's).
    assert [message("es", "too_short", min=n) for n in (1, 3)] == samples["es"]["too_short"]


def test_the_checker_fails_on_a_count_without_plural_forms(tmp_path):
    """The check itself: an i18n module with a bare "{n} records" is refused."""
    bad = tmp_path / "i18n.js"
    bad.write_text(I18N.read_text(encoding="utf-8").replace(
        'pending: { one: "{n} record not yet on the server", other: "{n} records not yet on the server" }',
        'pending: "{n} records not yet on the server"'), encoding="utf-8")
    bad_messages = json.loads(json.dumps(CATALOGUES))
    bad_messages["es"]["too_few"] = "Necesita al menos {min} entradas."
    node = shutil.which("node")
    done = subprocess.run([node, "--input-type=module", "-e", SCRIPT, bad.as_uri(), str(messages_file(bad_messages))],
                          capture_output=True, text=True, timeout=60, check=False)
    problems = json.loads(done.stdout)["problems"]
    assert "en.pending: counts {n} without plural forms" in problems
    assert "messages es.too_few: counts without plural forms" in problems
