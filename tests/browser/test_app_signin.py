"""Signing in with a coordinator's code link, and signing in again, in a real Chromium against a live server.

A phone's camera opens the code's link (``/app/?campaign=demo#/signin?code=...``):
the code leaves the address and the history once it is read, so Back never
uses a one-time code twice.  A phone signed in already that opens a new code
of the same volunteer swaps its sign-in: what was waiting goes to the server
with the new one and the old one is revoked on the server (whether it still
worked or a coordinator had revoked it already).  Screens are photographed at
360 px in English and Spanish into ``tests/browser/screenshots/app/``
(git-ignored).
"""

from __future__ import annotations

from server.access.accounts import token_id
from tests.browser.test_app import CAMPAIGN, _me, app_server, at_door  # noqa: F401 - app_server is a fixture used by name
from tests.browser.test_app_door import choose, door, new_visit, phone  # noqa: F401 - phone is a fixture used by name
from tests.conftest import eventually


def new_code(server) -> str:
    made = server.http.post("/api/v1/signin-codes", json={"user": "vic"})
    assert made.status_code == 201, made.text
    return made.json()["code"]


def code_link(server, code: str) -> str:
    return f"{server.url}/app/?campaign={CAMPAIGN}#/signin?code={code}"


def code_uses(p) -> int:
    """How many times the phone sent a sign-in code to the server."""
    return sum(1 for url in p.requests if url.endswith("/api/v1/auth/code"))


def pending_visit(p, server, n: int) -> str:
    """A visit saved at a door while the phone's sign-in cannot reach the server; its record id."""
    home = door(server, "turf:1", n)
    at_door(p, home)
    new_visit(p, home, "Neighbourhood meeting")
    p.page.wait_for_selector("#geotag[data-quality=good]")
    choose(p, "What happened at the door? *", "Not home")
    choose(p, "Flyer left at the door? *", "No")
    p.page.get_by_role("button", name="Save").click()
    p.page.wait_for_selector("#visits")
    record_id = p.page.evaluate("() => sessionStorage.getItem('bw.saved')")
    assert p.page.evaluate("() => blockwalk.pendingIds()") == [record_id]
    return record_id


def on_server(server, record_id: str) -> bool:
    return server.http.get(f"/sync/{CAMPAIGN}/{record_id}").status_code == 200


def test_a_code_link_leaves_the_address_and_back_never_uses_it_again(phone, app_server):
    p = phone("link-es", locale="es-MX")
    p.requests = []
    p.page.on("request", lambda r: p.requests.append(r.url))
    p.open()
    # A link with a code used already: the reason under the code's button, the code kept in its field to
    # read, and gone from the address (a reload does not try it again).
    used = new_code(app_server)
    assert app_server.http.post("/api/v1/auth/code", json={"code": used}).status_code == 201
    p.page.goto(code_link(app_server, used))
    problem = p.page.locator("#signin-code-error")
    problem.filter(has_text="Ese código no es válido").wait_for()
    assert p.page.get_by_label("Código de acceso").input_value() == used
    assert p.page.evaluate("() => location.hash") == "#/signin"
    p.shot("link-used-code-es")
    p.page.reload()
    p.page.wait_for_selector("body[data-ready=true]")
    assert code_uses(p) == 1 and problem.inner_text() == ""

    code = new_code(app_server)
    p.page.goto(code_link(app_server, code))
    p.page.wait_for_selector("#turf-list li")
    assert p.page.inner_text("h2") == "Mis zonas"
    assert code not in p.page.url and p.page.evaluate("() => location.hash") == "#/turfs"
    assert code_uses(p) == 2
    # Back goes to the app as it was before the link (signed in now: the turfs), never to the code.
    p.page.go_back()
    p.page.wait_for_function("() => !location.hash.startsWith('#/turfs') && document.getElementById('main').dataset.hash === location.hash")
    assert code not in p.page.url
    p.page.wait_for_selector("#turf-list li")
    assert code_uses(p) == 2, "Back used the one-time code again"
    assert not p.page_errors(), p.errors()


def test_signing_in_again_revokes_the_old_sign_in_and_sends_what_was_waiting_with_the_new_one(phone, app_server):
    p = phone("again").signed_in()
    p.requests = []
    sent: list[tuple[str, str]] = []  # (the token a request to /sync carried, its URL)
    p.page.on("request", lambda r: p.requests.append(r.url))
    p.page.on("request", lambda r: sent.append((r.headers.get("authorization", ""), r.url)) if "/sync/" in r.url else None)
    old = p.page.evaluate("() => blockwalk.session.token")
    # The old sign-in still works, but its pushes do not get through (a network that drops them): a visit waits.
    p.page.route("**/sync/**", lambda route: route.abort())
    record_id = pending_visit(p, app_server, 40)
    assert not on_server(app_server, record_id)

    code = new_code(app_server)
    p.page.goto(code_link(app_server, code))
    flash = p.page.get_by_role("status").filter(has_text="Signed in again")
    flash.wait_for()
    new = p.page.evaluate("() => blockwalk.session.token")
    assert new != old and code not in p.page.url and p.page.evaluate("() => location.hash") == "#/sync"
    # One phone, one live sign-in: the old one is revoked on the server, the new one works.
    assert _me(app_server, old) == 401
    assert _me(app_server, new) == 200
    p.shot("signed-in-again")

    # The waiting visit goes with the new sign-in; nothing is lost.
    at = len(sent)
    p.page.unroute("**/sync/**")
    p.page.evaluate("() => window.dispatchEvent(new Event('online'))")
    eventually(lambda: on_server(app_server, record_id), seconds=60, what="the waiting visit did not reach the server")
    p.wait_synced()
    assert sent[at:] and all(token == f"Bearer {new}" for token, _ in sent[at:]), {token for token, _ in sent[at:]}
    assert p.page.evaluate("() => JSON.parse(localStorage.getItem('bw.session')).token") == new

    # Back leaves the sync screen for the screen before the link: the code is not tried again.
    p.page.go_back()
    p.page.wait_for_function("() => location.hash !== '#/sync' && document.getElementById('main').dataset.hash === location.hash")
    assert code not in p.page.url and code_uses(p) == 1, "Back used the one-time code again"
    assert not p.page_errors(), p.errors()


def test_signing_in_again_after_a_coordinator_revoked_the_sign_in_keeps_everything(phone, app_server):
    p = phone("again-revoked").signed_in()
    old = p.page.evaluate("() => blockwalk.session.token")
    p.context.set_offline(True)
    record_id = pending_visit(p, app_server, 41)
    # The coordinator revokes the phone's sign-in while it is out of signal.
    revoked = app_server.http.delete(f"/api/v1/tokens/{token_id(old).removeprefix('token:')}")
    assert revoked.status_code == 204, revoked.text
    p.context.set_offline(False)
    p.page.evaluate("() => window.dispatchEvent(new Event('online'))")
    p.go("#/sync")
    p.page.get_by_text("The server no longer accepts this phone's sign-in.").wait_for(timeout=60_000)
    assert not on_server(app_server, record_id)

    p.page.goto(code_link(app_server, new_code(app_server)))
    p.page.get_by_role("status").filter(has_text="Signed in again").wait_for()
    eventually(lambda: on_server(app_server, record_id), seconds=60, what="the waiting visit did not reach the server")
    p.wait_synced()
    assert _me(app_server, p.page.evaluate("() => blockwalk.session.token")) == 200
    assert _me(app_server, old) == 401
    p.page.get_by_role("heading", name="Everything is on the server.").wait_for()
    p.shot("signed-in-again-revoked")
    p.page.get_by_role("group", name="App language").get_by_role("button", name="Español").click()
    p.page.get_by_role("heading", name="Todo está en el servidor.").wait_for()
    assert p.page.get_by_role("status").filter(has_text="Sesión iniciada de nuevo").is_visible()  # the notice follows the language
    p.shot("signed-in-again-revoked-es")
    assert not p.page_errors(), p.errors()
