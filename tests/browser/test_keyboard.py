"""Every coordinator page by keyboard alone: each control is reached by Tab, shows where focus is, and has a name.

A coordinator who cannot use a mouse, or who reads the page with a screen
reader, walks each page with Tab.  On the demo campaign (so the pages hold
real controls: conflict cards, RSVP lists, map markers), this presses Tab
until focus comes back round and checks that every visible control was
reached, that the focused control is visibly marked, and that each one has
an accessible name a screen reader can say.
"""

from __future__ import annotations

import pytest

from tests.peers import LiveServer, blockwalk

PAGES = ["index.html", "map.html", "conflicts.html", "meetings.html", "progress.html", "roster.html",
         "turfs.html", "households.html", "assignments.html", "people.html", "forms.html", "follow-up.html"]

# In the page: every visible control, and what a screen reader would call it (empty when nothing).
CONTROLS = """() => {
  const visible = (node) => !!(node.offsetWidth || node.offsetHeight || node.getClientRects().length)
    && getComputedStyle(node).visibility !== "hidden" && !node.closest("[hidden], [inert]");
  const selector = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]), "
    + "textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
  return [...document.querySelectorAll(selector)].filter(visible).map((node, index) => {
    node.dataset.kbd = String(index);
    return index;
  });
}"""

NAME = """(node) => {
  const byIds = (ids) => ids.split(/\\s+/).map((id) => document.getElementById(id)?.textContent || "").join(" ");
  const name = node.getAttribute("aria-label") || (node.getAttribute("aria-labelledby") && byIds(node.getAttribute("aria-labelledby")))
    || (node.labels && [...node.labels].map((l) => l.textContent).join(" ")) || node.getAttribute("title")
    || (node.tagName === "INPUT" && ["submit", "button"].includes(node.type) && node.value)
    || node.textContent || (node.querySelector("img[alt]") && node.querySelector("img[alt]").alt) || "";
  return name.trim();
}"""

FOCUSED = """() => {
  const node = document.activeElement;
  if (!node || node === document.body) return null;
  const style = getComputedStyle(node);
  const marked = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== "none";
  return { kbd: node.dataset.kbd ?? null, marked, name: (%s)(node), tag: node.tagName.toLowerCase(),
           text: (node.outerHTML || "").slice(0, 120) };
}""" % NAME


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("keyboard"))
    blockwalk("demo", store=live.store)
    yield live
    live.close()


@pytest.mark.parametrize("file", PAGES)
def test_every_control_is_reached_by_tab_marked_and_named(demo_site, laptop, file):
    page, errors = laptop
    page.set_viewport_size({"width": 1366, "height": 860})
    page.goto(f"{demo_site.url}/coordinator/")
    page.get_by_label("Name").fill(LiveServer.ADMIN[0])
    page.get_by_label("Password").fill(LiveServer.ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.locator('#home[aria-busy="false"]').wait_for()
    if file != "index.html":
        page.goto(f"{demo_site.url}/coordinator/{file}")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => !document.querySelector('[aria-busy=\"true\"]')")
    wanted = set(page.evaluate(CONTROLS))
    assert wanted, f"{file}: no controls at all"

    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    reached, unmarked, unnamed = set(), [], []
    first = None
    for _ in range(len(wanted) + 40):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None:
            continue
        key = focused["kbd"]
        if key is not None and int(key) == first:
            break  # round the page once
        if key is not None:
            first = int(key) if first is None else first
            reached.add(int(key))
        if not focused["marked"]:
            unmarked.append(focused["text"])
        if not focused["name"]:
            unnamed.append(focused["text"])
    # A radio group is one Tab stop (arrow keys move within it): reaching one of its radios reaches them all.
    missed = page.evaluate("""(args) => {
      const [keys, reached] = args;
      const at = (k) => document.querySelector(`[data-kbd='${k}']`);
      const group = (node) => node.type === "radio" && node.name
        ? [...document.querySelectorAll(`input[type=radio][name='${node.name}']`)] : [node];
      return keys.map(at).filter((node) => !group(node).some((n) => reached.includes(Number(n.dataset.kbd))))
        .map((node) => node.outerHTML.slice(0, 120));
    }""", [sorted(wanted - reached), sorted(reached)])
    assert not missed, f"{file}: not reached by Tab: {missed}"
    assert not unmarked, f"{file}: focus not visible on: {unmarked}"
    assert not unnamed, f"{file}: no accessible name: {unnamed}"
    assert errors == []
