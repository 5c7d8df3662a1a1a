"""Who may do what in Hookyard: every action, at every door that offers it (the HTTP API, the
console, the CLI), for every kind of actor, with the answer each must get.

`tests/security/test_access_table.py` runs every cell against a real `hookyard serve` on SQLite
and on PostgreSQL, and fails when the app serves a route, or the CLI has a command, that this
table does not list (or the table lists one that is gone).

The actors (company A is the owner's; "A's objects" are the owner's records, deliveries and
alert urls):
- `owner`: an integrator client of company A (precon:read dis:read heavyjob:read, every unit).
- `other_tenant`: the same kind of client of company B, aiming at A's objects.
- `partner`: partner P1's client, connected to A, with tokens from grant_type=company for A;
  it aims at its own records for A.
- `partner_disconnected`: partner P2's client, which subscribed for A while connected and was
  then disconnected by A; it aims at its own (now Stopped) records for A.
- `operator`: a client with `hookyard:operator` (the operator role) and no company; aims at A's.
- `backend`: a product back end, `events:publish hookyard:admin`, no company, not the operator.
- `expired`: the owner's access token after its `exp`, and the owner's console session after
  its end.
- `rotated`: the owner's token and console session from before `hookyard clients rotate-secret`
  of the owner (and, at a sign-in, the old secret).
- `nobody`: no credential at all.

The policy:
- Public routes (discovery, JWKS, docs, health, walk-through, static files, the sign-in form)
  answer everyone. `/metrics` answers the scraper's HOOKYARD_METRICS_TOKEN only.
- Every other route needs a live credential: an ended one (expired, rotated, a disconnected
  partner's) is no credential, 401 like none at all; in the console, 401 with the sign-in page.
- Company-scoped routes (business units, the twelve /webhooks operations) are for clients acting
  for a company: another company's Pre-Con unit or url is 404, a list shows only the caller's
  own, a write writes only the caller's own; a token of no company (operator, back end) is 403.
- Hookyard's own routes (subscriptions, deliveries, catch-up, alerts): each client its own, and
  the operator every tenant's; another's id (or url) is 404, a list leaves another's rows out;
  the back end is not the operator and so has nothing of its own there.
- Publishing needs events:publish (the back end, for any company); no integrator here has it.
- The console signs in integrators, partners and the operator; a publishing credential without
  hookyard:operator is refused at sign-in (403), so every other console cell of the back end is
  `Refused(403, at="sign-in")`. Operator pages answer the operator only (403 for the others).
- The CLI holds the database URL and the keys: only the operator, on the machine, has it.

A cell says one of:
- `Allowed(status)`: answered `status` and done: a list shows the target, an action changed it.
- `OwnOnly(status)`: answered `status`, about the caller's own things only: the target is not
  in the answer and did not change.
- `Refused(status)`: answered `status` (with the OAuth `error`, when given) and nothing changed.
  `at="sign-in"`: refused before this door, at the console's sign-in.
- `NA(reason)`: the action does not apply to this actor; nothing runs.
- `Covered(path)`: a long-running command, run as a process by the test at `path`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

ACTORS = (
    "owner",
    "other_tenant",
    "partner",
    "partner_disconnected",
    "operator",
    "backend",
    "expired",
    "rotated",
    "nobody",
)
ENDED = ("partner_disconnected", "expired", "rotated", "nobody")
SIGN_IN = "sign-in"


@dataclass(frozen=True)
class Allowed:
    status: int


@dataclass(frozen=True)
class OwnOnly:
    status: int


@dataclass(frozen=True)
class Refused:
    status: int
    error: str = ""
    at: str = ""


@dataclass(frozen=True)
class NA:
    reason: str


@dataclass(frozen=True)
class Covered:
    path: str


Answered = Allowed | OwnOnly | Refused
"""An expectation of an answer from a door."""
Expectation = Answered | NA | Covered
Cells = Mapping[str, Expectation]


@dataclass(frozen=True, repr=False)
class Entry:
    """One action at one door: `route` is "METHOD /path" (a mount: "MOUNT /path") or the
    command ("hookyard clients create"); `action` says it in words (the operationId for an API
    route in the OpenAPI document)."""

    door: str
    route: str
    action: str
    cells: Cells

    def __repr__(self) -> str:
        return f"Entry({self.door} {self.route})"


def everyone(expectation: Expectation) -> Cells:
    return dict.fromkeys(ACTORS, expectation)


def api(
    *,
    owner: Expectation,
    other_tenant: Expectation,
    partner: Expectation,
    operator: Expectation,
    backend: Expectation,
) -> Cells:
    """An API route behind a token: the actors without a live credential get 401; a partner's
    token for a company that disconnected it is 403 (the token is valid, the company refuses)."""
    cells = dict(
        owner=owner, other_tenant=other_tenant, partner=partner, operator=operator, backend=backend
    )
    return {**cells, **dict.fromkeys(ENDED, Refused(401)), "partner_disconnected": FORBIDDEN}


def console(
    *, owner: Expectation, other_tenant: Expectation, partner: Expectation, operator: Expectation
) -> Cells:
    """A console page behind a session: the back end never gets one (refused at sign-in), the
    actors without a live credential get 401 and the sign-in page."""
    cells = dict(owner=owner, other_tenant=other_tenant, partner=partner, operator=operator)
    return {**cells, "backend": Refused(403, at=SIGN_IN), **dict.fromkeys(ENDED, Refused(401))}


FORBIDDEN, NOT_FOUND = Refused(403), Refused(404)
CLI_ONLY_OPERATOR = NA("the CLI holds the database; only the operator has it")


def cli(operator: Allowed | Covered) -> Cells:
    """A CLI command: run by the operator on the machine; no other actor has the CLI."""
    return {**dict.fromkeys(ACTORS, CLI_ONLY_OPERATOR), "operator": operator}


def API(route: str, action: str, cells: Cells) -> Entry:
    return Entry("api", route, action, cells)


def CONSOLE(route: str, action: str, cells: Cells) -> Entry:
    return Entry("console", route, action, cells)


def CLI(command: str, operator: Allowed | Covered) -> Entry:
    return Entry("cli", f"hookyard {command}", command, cli(operator))


OK, DONE = Allowed(200), Allowed(0)
SEE_OTHER = Allowed(303)
COMPANY_ONLY = dict(operator=FORBIDDEN, backend=FORBIDDEN)
"""Company-scoped routes: a token acting for no company is 403."""

PUBLIC_API = [
    API("GET /", "the home page", everyone(OK)),
    API("GET /openapi.json", "the OpenAPI document", everyone(OK)),
    API("GET /docs", "Swagger UI", everyone(OK)),
    API("GET /redoc", "ReDoc", everyone(OK)),
    API("MOUNT /assets", "the docs' static files", everyone(OK)),
    API("GET /walkthrough", "the walk-through", everyone(OK)),
    API("GET /healthz", "liveness", everyone(OK)),
    API("GET /readyz", "readiness", everyone(OK)),
    API("GET /identity/.well-known/jwks.json", "Identity_Jwks", everyone(OK)),
    API("GET /identity/.well-known/openid-configuration", "Identity_Discovery", everyone(OK)),
    # The scraper's HOOKYARD_METRICS_TOKEN opens it; no client's token, the operator's included.
    API("GET /metrics", "Prometheus metrics", everyone(Refused(401))),
]

TOKENS = [
    API(
        "POST /identity/connect/token",
        "Identity_Token",
        {
            "owner": OK,
            "other_tenant": OK,
            "partner": OK,
            "partner_disconnected": Refused(400, error="invalid_grant"),
            "operator": OK,
            "backend": OK,
            "expired": NA("a token request carries the secret, not a token; the secret is live"),
            "rotated": Refused(401, error="invalid_client"),
            "nobody": Refused(400, error="invalid_request"),
        },
    ),
]

BUSINESS_UNITS = [
    API(route, action, api(owner=OK, other_tenant=OwnOnly(200), partner=OK, **COMPANY_ONLY))
    for route, action in (
        ("GET /precon/api/v1/businessUnits", "PreCon_GetBusinessUnits"),
        ("GET /heavyjob/api/v1/businessUnits", "HeavyJob_GetBusinessUnits"),
        ("GET /setups/api/v1/BusinessUnit", "Setups_GetBusinessUnits"),
    )
]

PRECON = "/webhooks/api/v1/precon/{businessUnitId}"
UNIT_IN_PATH = api(owner=OK, other_tenant=NOT_FOUND, partner=OK, **COMPANY_ONLY)
"""A's business unit in the path: another company's caller finds nothing there."""
SHARED_PATH = api(owner=OK, other_tenant=OwnOnly(200), partner=OK, **COMPANY_ONLY)
"""One path for every company: the other tenant lists and writes its own only."""
SHARED_DELETE = api(owner=OK, other_tenant=NOT_FOUND, partner=OK, **COMPANY_ONLY)
"""DELETE ?url= of A's url on a shared path: no url of the caller's, 404."""
WEBHOOKS = [
    API(f"GET {PRECON}", "PreCon_GetWebhooks", UNIT_IN_PATH),
    API(f"POST {PRECON}", "PreCon_CreateSubscription", UNIT_IN_PATH),
    API(f"PUT {PRECON}", "PreCon_UpdateSubscription", UNIT_IN_PATH),
    API(f"DELETE {PRECON}", "PreCon_DeleteSubscription", UNIT_IN_PATH),
    API("GET /webhooks/api/v1/setups", "Setups_GetWebhooks", SHARED_PATH),
    API("POST /webhooks/api/v1/setups", "Setups_CreateSubscription", SHARED_PATH),
    API("PUT /webhooks/api/v1/setups", "Setups_UpdateSubscription", SHARED_PATH),
    API("DELETE /webhooks/api/v1/setups", "Setups_DeleteSubscription", SHARED_DELETE),
    API("GET /webhooks/api/v1/heavyjob", "HeavyJob_GetWebhooks", SHARED_PATH),
    API("POST /webhooks/api/v1/heavyjob", "HeavyJob_CreateSubscription", SHARED_PATH),
    API("PUT /webhooks/api/v1/heavyjob", "HeavyJob_UpdateSubscription", SHARED_PATH),
    API("DELETE /webhooks/api/v1/heavyjob", "HeavyJob_DeleteSubscription", SHARED_DELETE),
]

HOOKYARD = "/hookyard/api/v1"
ACCEPTED = Allowed(202)
OWN_LIST = api(owner=OK, other_tenant=OwnOnly(200), partner=OK, operator=OK, backend=OwnOnly(200))
"""Hookyard's own lists: each client its own rows, the operator every tenant's; the back end,
not the operator, has none."""
BY_ID = api(owner=OK, other_tenant=NOT_FOUND, partner=OK, operator=OK, backend=NOT_FOUND)
"""Hookyard's own objects by id (or url): another's is 404; the operator reaches every one."""
ACT_BY_ID = api(
    owner=ACCEPTED, other_tenant=NOT_FOUND, partner=ACCEPTED, operator=ACCEPTED, backend=NOT_FOUND
)
ADD_ALERT = api(owner=OK, other_tenant=OwnOnly(200), partner=OK, operator=OK, backend=FORBIDDEN)
RECOVER = api(
    owner=ACCEPTED,
    other_tenant=OwnOnly(202),
    partner=ACCEPTED,
    operator=ACCEPTED,
    backend=OwnOnly(202),
)
"""Recover a url's deliveries: another's url recovers none of them (0, nothing changed)."""
CATCH_UP = api(owner=OK, other_tenant=NOT_FOUND, partner=OK, operator=NOT_FOUND, backend=NOT_FOUND)
"""Catch-up is the url owner's: it signs with the url's key; the operator is not its owner."""
ALERTS = api(
    owner=OK, other_tenant=OwnOnly(200), partner=OK, operator=OwnOnly(200), backend=FORBIDDEN
)
"""Alert urls: each client its own in its company; the operator's are the operator's, not A's;
the back end acts for no company."""
REMOVE_ALERT = api(
    owner=OK, other_tenant=NOT_FOUND, partner=OK, operator=NOT_FOUND, backend=FORBIDDEN
)
"""An alert url is added for the caller: the operator's receives every tenant's events; a back
end, of no company, has none to add."""
HOOKYARD_API = [
    API(f"GET {HOOKYARD}/subscriptions", "Subscriptions_List", OWN_LIST),
    API(f"GET {HOOKYARD}/subscriptions/{{subscription_id}}", "Subscriptions_Get", BY_ID),
    API(f"GET {HOOKYARD}/deliveries", "Deliveries_List", OWN_LIST),
    API(f"GET {HOOKYARD}/deliveries/{{delivery_id}}", "Deliveries_Get", BY_ID),
    API(f"POST {HOOKYARD}/deliveries/{{delivery_id}}/redeliver", "Deliveries_Redeliver", ACT_BY_ID),
    API(f"POST {HOOKYARD}/subscriptions/recover", "Subscriptions_Recover", RECOVER),
    API(f"GET {HOOKYARD}/subscriptions/events", "Subscriptions_Events", CATCH_UP),
    API(f"GET {HOOKYARD}/alerts", "Alerts_List", ALERTS),
    API(f"POST {HOOKYARD}/alerts", "Alerts_Add", ADD_ALERT),
    API(f"DELETE {HOOKYARD}/alerts", "Alerts_Delete", REMOVE_ALERT),
]

PUBLISHER_ONLY = api(
    owner=FORBIDDEN, other_tenant=FORBIDDEN, partner=FORBIDDEN, operator=FORBIDDEN, backend=ACCEPTED
)
"""events:publish, which only the back end holds."""
PUBLISHING = [
    API("POST /events/api/v1/{product}", "Events_Publish", PUBLISHER_ONLY),
    API("POST /events/api/v1/{product}/batch", "Events_PublishBatch", PUBLISHER_ONLY),
]

INTEGRATOR_LIST = console(owner=OK, other_tenant=OwnOnly(200), partner=OK, operator=OK)
INTEGRATOR_PAGE = console(owner=OK, other_tenant=NOT_FOUND, partner=OK, operator=OK)
INTEGRATOR_FORM = console(
    owner=SEE_OTHER, other_tenant=NOT_FOUND, partner=SEE_OTHER, operator=SEE_OTHER
)
SIGNED_IN = console(owner=SEE_OTHER, other_tenant=SEE_OTHER, partner=SEE_OTHER, operator=SEE_OTHER)
OPERATOR_PAGE = console(owner=FORBIDDEN, other_tenant=FORBIDDEN, partner=FORBIDDEN, operator=OK)
OPERATOR_FORM = console(
    owner=FORBIDDEN, other_tenant=FORBIDDEN, partner=FORBIDDEN, operator=SEE_OTHER
)
CONSOLE_RECOVER = console(owner=OK, other_tenant=OwnOnly(200), partner=OK, operator=OK)
"""Another's url recovers none of its deliveries (0, nothing changed)."""
CONSOLE_ALERTS = console(
    owner=OK, other_tenant=OwnOnly(200), partner=FORBIDDEN, operator=OwnOnly(200)
)
"""A partner's console session acts for no one company, so it has no alert urls there (its
token for a company has, through the API); the operator's page lists the operator's."""
CONSOLE_ADD_ALERT = console(owner=OK, other_tenant=OwnOnly(200), partner=FORBIDDEN, operator=OK)
CONSOLE_REMOVE_ALERT = console(
    owner=SEE_OTHER, other_tenant=NOT_FOUND, partner=FORBIDDEN, operator=NOT_FOUND
)
RECORD = "/console/subscriptions/{record_id}"
CONSOLE_PAGES = [
    CONSOLE("MOUNT /console/static", "the console's static files", everyone(OK)),
    CONSOLE("GET /console/login", "the sign-in form", everyone(OK)),
    CONSOLE(
        "POST /console/login",
        "sign in with a client id and secret",
        {
            "owner": SEE_OTHER,
            "other_tenant": SEE_OTHER,
            "partner": SEE_OTHER,
            "partner_disconnected": Refused(403),  # connected to no company now
            "operator": SEE_OTHER,
            "backend": Refused(403),  # a publishing credential is no console login
            "expired": NA("signing in takes the secret, not a session; the secret is live"),
            "rotated": Refused(401),  # the old secret
            "nobody": Refused(401),
        },
    ),
    CONSOLE("POST /console/logout", "sign out", SIGNED_IN),
    CONSOLE("GET /console/", "the console's home", SIGNED_IN),
    CONSOLE("GET /console/subscriptions", "subscriptions", INTEGRATOR_LIST),
    CONSOLE(f"POST {RECORD}/reactivate", "reactivate a Stopped url", INTEGRATOR_FORM),
    CONSOLE(f"POST {RECORD}/rotate", "rotate a url's secret key", INTEGRATOR_PAGE),
    CONSOLE(f"POST {RECORD}/test", "send a test event", INTEGRATOR_FORM),
    CONSOLE("GET /console/deliveries", "deliveries", INTEGRATOR_LIST),
    CONSOLE("GET /console/deliveries/{delivery_id}", "one delivery", INTEGRATOR_PAGE),
    CONSOLE("POST /console/deliveries/{delivery_id}/redeliver", "redeliver", INTEGRATOR_FORM),
    CONSOLE("POST /console/recover", "recover a url's held deliveries", CONSOLE_RECOVER),
    CONSOLE("GET /console/alerts", "alert urls", CONSOLE_ALERTS),
    CONSOLE("POST /console/alerts", "add an alert url", CONSOLE_ADD_ALERT),
    CONSOLE("POST /console/alerts/remove", "remove an alert url", CONSOLE_REMOVE_ALERT),
    CONSOLE("GET /console/tenants", "every tenant", OPERATOR_PAGE),
    CONSOLE("GET /console/queue", "the queue per host", OPERATOR_PAGE),
    CONSOLE("GET /console/approvals", "callback host approvals", OPERATOR_PAGE),
    CONSOLE("POST /console/approvals/{approval_id}/{decision}", "decide on a host", OPERATOR_FORM),
]

COMMANDS = [
    CLI("version", DONE),
    CLI("migrate", DONE),
    CLI("check", DONE),
    CLI("serve", Covered("tests/e2e/test_serve_delivers.py")),
    CLI("api", Covered("tests/e2e/test_split_processes.py")),
    CLI("worker", Covered("tests/e2e/test_worker_process.py")),
    CLI("demo", Covered("tests/e2e/test_demo.py")),
    CLI("listen", Covered("tests/e2e/test_listen.py")),
    CLI("prune", DONE),
    CLI("companies create", DONE),
    CLI("companies list", DONE),
    CLI("business-units create", DONE),
    CLI("business-units list", DONE),
    CLI("clients create", DONE),
    CLI("clients rotate-secret", DONE),
    CLI("clients revoke", DONE),
    CLI("clients list", DONE),
    CLI("partners create", DONE),
    CLI("partners list", DONE),
    CLI("partners connect", DONE),
    CLI("partners disconnect", DONE),
    CLI("approvals list", DONE),
    CLI("approvals approve", DONE),
    CLI("approvals reject", DONE),
    CLI("alerts list", DONE),
    CLI("alerts add", DONE),
    CLI("alerts remove", DONE),
    CLI("subscriptions list", DONE),
    CLI("subscriptions show", DONE),
    CLI("events publish", DONE),
    CLI("deliveries list", DONE),
    CLI("deliveries show", DONE),
    CLI("deliveries redeliver", DONE),
    CLI("deliveries recover", DONE),
    CLI("outbox relay", Covered("tests/e2e/test_outbox_e2e.py")),
    CLI("outbox ddl", DONE),
    CLI("keys generate", DONE),
    CLI("keys rotate-jwt", DONE),
    CLI("keys prune-jwt", DONE),
    # Before rotate-secret-key: pruning right after a rotation would race the server, which
    # may still seal with the old key for a second.
    CLI("keys prune-secret-keys", DONE),
    CLI("keys rotate-secret-key", DONE),
    CLI("keys reseal", DONE),
    CLI("keys forget", DONE),
]

TABLE: tuple[Entry, ...] = (
    *PUBLIC_API,
    *TOKENS,
    *BUSINESS_UNITS,
    *WEBHOOKS,
    *HOOKYARD_API,
    *PUBLISHING,
    *CONSOLE_PAGES,
    *COMMANDS,
)
