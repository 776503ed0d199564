"""Schemathesis over the OpenAPI spec: no request produces a 500, every response fits its schema.

Driven with Hypothesis directly (schemathesis' pytest plugin does not load
under this pytest), one property per API operation.
"""

from __future__ import annotations

import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server import create_app
from server.access.accounts import Accounts
from server.campaigns.forms import install_template
from server.services import services
from tests import world


# What the issue asks: never a 500, and every response fits its declared status,
# content type, headers and schema.  (Schemathesis' "positive data acceptance"
# is left out: a schema-valid draft is still refused when it is not a good form
# (422) or lacks If-Match (428), by design.)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


KNOWN = {"campaign": "east", "form_id": "recruitment", "doc_id": "form:recruitment@1", "record_id": "record:fuzz",
         "field": "answers.door_language"}


def _fuzz(operations, headers: dict, me: str, max_examples: int) -> dict[str, list[int]]:
    """Every operation fuzzed as the user of ``headers``; the statuses each answered."""
    statuses: dict[str, list[int]] = {}
    for operation in operations:
        seen = statuses.setdefault(operation.label, [])

        @given(case=operation.as_strategy(), real=st.booleans())
        @settings(max_examples=max_examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case, real):
            if real:  # half the time, aim at things that exist, so the handlers behind the 404 are fuzzed too
                known = {**KNOWN, "name": me}
                case.path_parameters = {k: known.get(k, v) for k, v in (case.path_parameters or {}).items()}
            response = case.call_and_validate(headers=headers, checks=CHECKS)
            seen.append(response.status_code)

        fuzz()
    return statuses


def test_no_request_makes_a_500_and_responses_fit_the_spec(tmp_path):
    """As a coordinator over every operation; then as an admin over those a coordinator never got through."""
    app = create_app({"STORE": f"sqlite://{tmp_path}/fuzz.db"}, environ={})
    store = services(app).store
    accounts = Accounts(store)
    accounts.add_user("fuzz", "coordinator", "fuzz-password", "east")
    accounts.set_role("fuzz", "west", "coordinator")
    accounts.add_user("root", "admin", "root-password")
    for name in ("east", "west"):
        install_template(store.create_db(name), "recruitment")
    world.open_conflict(store.open_db("east"))  # the records and conflicts handlers have one
    _sign_ups(store.open_db("east"))
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Signing out revokes the token the fuzzer sends: that operation comes last.
    operations.sort(key=lambda op: (op.method.upper(), op.path) == ("DELETE", "/api/v1/me/token"))
    assert len(operations) >= 5  # every operation of the spec is fuzzed below
    as_coordinator = _fuzz(operations, {"Authorization": f"Bearer {accounts.create_token('fuzz')}"}, "fuzz", 60)
    # Signed in until the end: no 401 but from signing in with fuzzed credentials.
    assert not [label for label, seen in list(as_coordinator.items())[:-1] if 401 in seen and "/auth/" not in label]
    # Roster, exports, users...: a coordinator is refused, so their handlers never saw data above.
    refused = [op for op in operations if not any(s < 400 for s in as_coordinator[op.label])]
    assert any("/roster" in op.path for op in refused) and any(op.path == "/api/v1/users" for op in refused)
    as_admin = _fuzz(refused, {"Authorization": f"Bearer {accounts.create_token('root')}"}, "root", 30)
    store.close()
    statuses = [s for seen in (*as_coordinator.values(), *as_admin.values()) for s in seen]
    assert len(statuses) >= 100 and max(statuses) < 500
    assert {200, 404, 422} <= set(statuses), sorted(set(statuses))  # the fuzzer reached real answers and refusals
    # As the admin, the roster and its export answered with data, not only refusals.
    reached = {name for name, seen in as_admin.items() if any(s < 300 for s in seen)}
    assert {"GET /api/v1/campaigns/{campaign}/roster", "GET /api/v1/campaigns/{campaign}/roster/export"} <= reached, \
        sorted(reached)


def _sign_ups(db) -> None:
    """Recruitment sign-ups with contact details and consent: the roster handlers have people to list and export."""
    consent = {"given": True, "language": "en", "text": "You may text me."}
    db.bulk_docs([{"_id": f"record:signup-{n}", "type": "record", "form": "form:recruitment", "form_version": 1,
                   "turf": "turf:a", "author": "vic", "created_at": f"2026-11-2{n}T18:00:00+00:00",
                   "answers": {"outcome": "contacted", "interested": "yes", "full_name": name, "phone": phone,
                               "email": email, "consent_sms": consent}}
                  for n, (name, phone, email) in enumerate((("Ana Reyes", "(773) 555-0101", "ana@example.org"),
                                                            ("=HYPERLINK(\"x\")", "+1 312 555 0199", "bad@"),
                                                            ("Kofi Mensah", "not a phone", "kofi@example.org")))])
