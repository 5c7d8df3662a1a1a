"""How the access table's routes and commands are exercised: for each, what a cell aims at (a
shared object, or a fresh one for an action that changes something), the request it sends with
the actor's credential, and what it reads back to tell whether anything changed.

Keys are the table's routes; `tests/security/test_access_table.py` fails for a route of the
table without a probe here, so this is no second list of routes: it only says how to knock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import httpx

from hookyard import clock, ids, models
from hookyard.store.subscriptions import DISCONNECTED
from tests.security import access_targets as targets
from tests.security.access_targets import Party
from tests.security.access_world import World


@dataclass(frozen=True)
class Target:
    """What one cell aims at. `marker` is what an answer holds when it shows the target;
    `secret` is what no refused answer may hold."""

    party: Party
    record: models.Subscription | None = None
    delivery: str = ""
    url: str = ""
    approval: str = ""
    key: str = ""
    session: str = ""
    csrf: str = ""
    marker: str = ""
    secret: str = ""

    @property
    def made(self) -> models.Subscription:
        assert self.record is not None
        return self.record


@dataclass(frozen=True)
class Call:
    """One cell's request: the actor's credential against the target."""

    world: World
    actor: str
    target: Target

    def api(self, method: str, path: str, **options: Any) -> httpx.Response:
        token = self.world.credentials[self.actor].token
        headers = {**options.pop("headers", {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        with self.world.http() as http:
            return http.request(method, self.path(path), headers=headers, **options)

    def page(self, method: str, path: str, **options: Any) -> httpx.Response:
        """A console request with the actor's session (or the target's); a POST carries its
        CSRF token with `form`."""
        credential = self.world.credentials[self.actor]
        session = self.target.session or credential.session
        with self.world.http(session) as http:
            if method == "GET":
                return http.get(self.path(path), **options)
            csrf = self.target.csrf or credential.csrf or "no-session"
            return http.post(self.path(path), data={"csrf": csrf, **options.get("form", {})})

    def path(self, pattern: str) -> str:
        target = self.target
        return pattern.format(
            businessUnitId=target.party.unit,
            product="precon",
            delivery_id=target.delivery,
            subscription_id=target.record.id if target.record else "",
            record_id=target.record.id if target.record else "",
            approval_id=target.approval,
            decision="approve",
        )


Aim = Callable[[World, str], Target]
State = Callable[[World, Target], Any]
Done = Callable[[World, Target], bool]


@dataclass(frozen=True)
class Knocked:
    """One cell's request: its target, the answer, and the target's state before and after."""

    target: Target
    response: httpx.Response
    before: Any = None
    after: Any = None

    def shows(self, text: str) -> bool:
        return bool(text) and text in self.response.text


@dataclass(frozen=True)
class Probe:
    """`aim` picks or makes the target; `send` knocks; `state`, when the action changes
    something, is read before and after (a refused cell must leave it as it was, an allowed one
    must change it, or satisfy `done`); `listing`: an allowed answer shows the target's
    `marker`, an own-only one does not."""

    send: Callable[[Call], httpx.Response]
    aim: Aim
    state: State | None = None
    done: Done | None = None
    listing: bool = False

    def knock(self, world: World, actor: str) -> Knocked:
        target = self.aim(world, actor)
        if self.state is None:
            return Knocked(target, self.send(Call(world, actor, target)))
        before = self.state(world, target)
        response = self.send(Call(world, actor, target))
        return Knocked(target, response, before, self.state(world, target))

    def effect(self, world: World, knocked: Knocked) -> bool:
        """Whether an allowed action did what it says."""
        if self.done is not None:
            return self.done(world, knocked.target)
        return self.state is None or knocked.before != knocked.after


# aims


def nothing(world: World, actor: str) -> Target:
    return Target(world.party_of(actor))


def shared_record(product: str, *, by_url: bool = False) -> Aim:
    def aim(world: World, actor: str) -> Target:
        party = world.party_of(actor)
        made = world.shared[party.name].records[product]
        marker = made.callback_url if by_url else made.id
        return Target(party, made, marker=marker, secret=made.secret_key)

    return aim


def shared_delivery(world: World, actor: str) -> Target:
    party = world.party_of(actor)
    shared = world.shared[party.name]
    made = shared.records["precon"]
    return Target(party, made, shared.delivery, marker=shared.delivery, secret=made.secret_key)


def shared_alert(world: World, actor: str) -> Target:
    party = world.party_of(actor)
    return Target(party, marker=world.shared[party.name].alert)


def shared_unit(world: World, actor: str) -> Target:
    party = world.party_of(actor)
    return Target(party, marker=party.unit)


def _status(party: Party, stopped: bool) -> dict[str, Any]:
    """A fresh record of P2 is Stopped as disconnecting Stopped the others."""
    if party.name == "P2":
        return {"status": targets.STOPPED, "stop_reason": DISCONNECTED}
    if stopped:
        return {"status": targets.STOPPED, "stop_reason": "5 tries failed; the last: HTTP 500"}
    return {}


def fresh_record(product: str, *, stopped: bool = False) -> Aim:
    def aim(world: World, actor: str) -> Target:
        party = world.party_of(actor)
        made = world.run(
            targets.record(world.store, party, product, world.url(party), **_status(party, stopped))
        )
        return Target(party, made, url=made.callback_url, secret=made.secret_key)

    return aim


def fresh_url(world: World, actor: str) -> Target:
    party = world.party_of(actor)
    return Target(party, url=world.url(party))


def fresh_failed(world: World, actor: str) -> Target:
    target = fresh_record("precon")(world, actor)
    delivery = world.run(targets.failed_delivery(world.store, target.made))
    return replace(target, delivery=delivery)


def fresh_alert(world: World, actor: str) -> Target:
    party = world.party_of(actor)
    status = targets.STOPPED if party.name == "P2" else targets.ACTIVE
    url = world.run(targets.alert(world.store, party, world.url(party), status))
    return Target(party, url=url)


def fresh_approval(world: World, actor: str) -> Target:
    party = world.parties["A"]
    return Target(party, approval=world.run(targets.approval(world.store, party)))


def fresh_key(world: World, actor: str) -> Target:
    return Target(world.party_of(actor), key=f"access-{ids.ulid()}")


def own_client(world: World, actor: str) -> Target:
    """For sign-in: the actor's own client (its live sessions are the state)."""
    return Target(world.party_of(actor), key=world.credentials[actor].client_id)


def fresh_session(world: World, actor: str) -> Target:
    """A session of the actor's kind that only this cell uses (signing out ends it)."""
    credential = world.credentials[actor]
    if actor == "expired":
        session, csrf = world.expired_session()
    elif actor == "rotated":
        before = world.rotate_owner()
        session, csrf = before.session, before.csrf
    elif actor == "partner_disconnected":
        session, csrf = world.disconnected_session()
    elif actor == "nobody":
        session, csrf = "", ""
    else:
        session, csrf = world.session(credential.client_id, credential.secret)
    return Target(world.party_of(actor), session=session, csrf=csrf)


# states


def records_at_url(world: World, target: Target) -> Any:
    return world.run(targets.records_at(world.store, target.party, target.url))


def record_state(world: World, target: Target) -> Any:
    return world.run(targets.record_state(world.store, target.made.id))


def delivery_state(world: World, target: Target) -> Any:
    return world.run(targets.delivery_state(world.store, target.delivery))


def deliveries_of(world: World, target: Target) -> Any:
    return world.run(targets.deliveries_of(world.store, target.made.id))


def approval_status(world: World, target: Target) -> Any:
    return world.run(targets.approval_status(world.store, target.approval))


def published(world: World, target: Target) -> Any:
    return world.run(targets.published(world.store, target.key))


def live_sessions(world: World, target: Target) -> Any:
    return world.run(targets.live_sessions(world.store, target.key))


def stored_anywhere(world: World, target: Target) -> bool:
    """An alert url added by the operator is the operator's, not the party's: done when anyone
    has it now."""
    return world.run(targets.anyone_at(world.store, target.url)) > 0


def signed_out(world: World, target: Target) -> bool:
    with world.http(target.session) as http:
        return http.get("/console/subscriptions").status_code == 401


# senders


def api_get(path: str, **options: Any) -> Callable[[Call], httpx.Response]:
    return lambda call: call.api("GET", path, **options)


def page_get(path: str) -> Callable[[Call], httpx.Response]:
    return lambda call: call.page("GET", path)


def page_post(path: str, **form: str) -> Callable[[Call], httpx.Response]:
    return lambda call: call.page("POST", path, form=form)


def token(call: Call) -> httpx.Response:
    credential = call.world.credentials[call.actor]
    form = credential.token_form() if credential.client_id else {"grant_type": "client_credentials"}
    with call.world.http() as http:
        return http.post("/identity/connect/token", data=form)


def sign_in(call: Call) -> httpx.Response:
    credential = call.world.credentials[call.actor]
    with call.world.http() as http:
        form = http.get("/console/login")
        data = {
            "csrf": form.cookies.get("hookyard_console_login", ""),
            "client_id": credential.client_id,
            "client_secret": credential.secret,
        }
        return http.post("/console/login", data=data)


def since() -> str:
    return clock.isoformat(clock.utcnow() - timedelta(hours=1))


def event(call: Call) -> dict[str, str]:
    party = call.target.party
    return {
        "eventType": "ProjectDeleted",
        "companyId": party.company_id,
        "businessUnitId": party.unit,
        "projectId": ids.guid(),
    }


def publish(batch: bool) -> Callable[[Call], httpx.Response]:
    def send(call: Call) -> httpx.Response:
        path, body = "/events/api/v1/{product}", event(call)
        headers = {"Idempotency-Key": call.target.key}
        if batch:
            return call.api("POST", path + "/batch", json=[body], headers=headers)
        return call.api("POST", path, json=body, headers=headers)

    return send


def subscribe(method: str, path: str, product: str) -> Callable[[Call], httpx.Response]:
    """POST a new url (the first event type), or PUT the target's url with the second."""
    index = 1 if method == "PUT" else 0

    def send(call: Call) -> httpx.Response:
        body = {"url": call.target.url, "eventTypes": [targets.EVENT_TYPES[product][index]]}
        return call.api(method, path, json=body)

    return send


def unsubscribe(path: str) -> Callable[[Call], httpx.Response]:
    return lambda call: call.api("DELETE", path, params={"url": call.target.url})


def _webhooks() -> dict[str, Probe]:
    probes = {}
    for product in targets.EVENT_TYPES:
        path = f"/webhooks/api/v1/{product}" + ("/{businessUnitId}" if product == "precon" else "")
        probes[f"GET {path}"] = Probe(api_get(path), shared_record(product), listing=True)
        probes[f"POST {path}"] = Probe(
            subscribe("POST", path, product), fresh_url, state=records_at_url
        )
        probes[f"PUT {path}"] = Probe(
            subscribe("PUT", path, product), fresh_record(product), state=records_at_url
        )
        probes[f"DELETE {path}"] = Probe(
            unsubscribe(path), fresh_record(product), state=records_at_url
        )
    return probes


def _public(door: str, paths: dict[str, str]) -> dict[str, Probe]:
    """GETs that need no target (`route: path`); the console's carry the actor's session."""
    send = page_get if door == "console" else api_get
    return {route: Probe(send(path), nothing) for route, path in paths.items()}


API_PUBLIC = {
    "GET /openapi.json": "/openapi.json",
    "GET /identity/.well-known/jwks.json": "/identity/.well-known/jwks.json",
    "GET /identity/.well-known/openid-configuration": "/identity/.well-known/openid-configuration",
    "GET /healthz": "/healthz",
    "GET /readyz": "/readyz",
    "GET /metrics": "/metrics",
    "GET /": "/",
    "GET /walkthrough": "/walkthrough",
    "GET /docs": "/docs",
    "GET /redoc": "/redoc",
    "MOUNT /assets": "/assets/swagger-ui/swagger-ui.css",
}
CONSOLE_PUBLIC = {
    "GET /console/login": "/console/login",
    "GET /console/": "/console/",
    "GET /console/tenants": "/console/tenants",
    "GET /console/queue": "/console/queue",
    "GET /console/approvals": "/console/approvals",
    "MOUNT /console/static": "/console/static/console.css",
}
HOOKYARD = "/hookyard/api/v1"
UNITS = (
    "/precon/api/v1/businessUnits",
    "/heavyjob/api/v1/businessUnits",
    "/setups/api/v1/BusinessUnit",
)


def _recover(call: Call) -> httpx.Response:
    return call.api("POST", f"{HOOKYARD}/subscriptions/recover", json=_recovery(call))


def _recovery(call: Call) -> dict[str, str]:
    return {"url": call.target.made.callback_url, "since": since()}


def _catch_up(call: Call) -> httpx.Response:
    params = {"url": call.target.made.callback_url, "after": 0}
    return call.api("GET", f"{HOOKYARD}/subscriptions/events", params=params)


def _deliveries(call: Call) -> httpx.Response:
    return call.api("GET", f"{HOOKYARD}/deliveries", params={"url": call.target.made.callback_url})


def _hookyard_api() -> dict[str, Probe]:
    deliveries = f"{HOOKYARD}/deliveries"
    return {
        f"GET {deliveries}": Probe(_deliveries, shared_delivery, listing=True),
        f"GET {deliveries}/{{delivery_id}}": Probe(
            api_get(deliveries + "/{delivery_id}"), shared_delivery
        ),
        f"POST {deliveries}/{{delivery_id}}/redeliver": Probe(
            lambda call: call.api("POST", deliveries + "/{delivery_id}/redeliver"),
            fresh_failed,
            state=delivery_state,
        ),
        f"POST {HOOKYARD}/subscriptions/recover": Probe(
            _recover, fresh_failed, state=delivery_state
        ),
        f"GET {HOOKYARD}/subscriptions/events": Probe(_catch_up, shared_delivery, listing=True),
        f"GET {HOOKYARD}/subscriptions": Probe(
            api_get(f"{HOOKYARD}/subscriptions", params={"limit": 1000}),
            shared_record("precon"),
            listing=True,
        ),
        f"GET {HOOKYARD}/subscriptions/{{subscription_id}}": Probe(
            api_get(f"{HOOKYARD}/subscriptions/{{subscription_id}}"), shared_record("precon")
        ),
        f"GET {HOOKYARD}/alerts": Probe(api_get(f"{HOOKYARD}/alerts"), shared_alert, listing=True),
        f"POST {HOOKYARD}/alerts": Probe(
            lambda call: call.api("POST", f"{HOOKYARD}/alerts", json={"url": call.target.url}),
            fresh_url,
            state=records_at_url,
            done=stored_anywhere,
        ),
        f"DELETE {HOOKYARD}/alerts": Probe(
            lambda call: call.api("DELETE", f"{HOOKYARD}/alerts", params={"url": call.target.url}),
            fresh_alert,
            state=records_at_url,
        ),
        "POST /events/api/v1/{product}": Probe(publish(False), fresh_key, state=published),
        "POST /events/api/v1/{product}/batch": Probe(publish(True), fresh_key, state=published),
        "POST /identity/connect/token": Probe(token, nothing),
        **{f"GET {path}": Probe(api_get(path), shared_unit, listing=True) for path in UNITS},
    }


def _console_forms() -> dict[str, Probe]:
    record = "/console/subscriptions/{record_id}"
    return {
        f"POST {record}/reactivate": Probe(
            page_post(record + "/reactivate"),
            fresh_record("precon", stopped=True),
            state=record_state,
        ),
        f"POST {record}/rotate": Probe(
            page_post(record + "/rotate"), fresh_record("precon"), state=record_state
        ),
        f"POST {record}/test": Probe(
            page_post(record + "/test", event_type="ProjectCreated"),
            fresh_record("precon"),
            state=deliveries_of,
        ),
        "POST /console/deliveries/{delivery_id}/redeliver": Probe(
            page_post("/console/deliveries/{delivery_id}/redeliver"),
            fresh_failed,
            state=delivery_state,
        ),
        "POST /console/recover": Probe(
            lambda call: call.page("POST", "/console/recover", form=_recovery(call)),
            fresh_failed,
            state=delivery_state,
        ),
        "POST /console/approvals/{approval_id}/{decision}": Probe(
            page_post("/console/approvals/{approval_id}/{decision}"),
            fresh_approval,
            state=approval_status,
        ),
        "POST /console/alerts": Probe(
            lambda call: call.page(
                "POST",
                "/console/alerts",
                form={"url": call.target.url, "event_type": targets.ALERT_TYPE},
            ),
            fresh_url,
            state=records_at_url,
            done=stored_anywhere,
        ),
        "POST /console/alerts/remove": Probe(
            lambda call: call.page("POST", "/console/alerts/remove", form={"url": call.target.url}),
            fresh_alert,
            state=records_at_url,
        ),
        "POST /console/login": Probe(sign_in, own_client, state=live_sessions),
        "POST /console/logout": Probe(page_post("/console/logout"), fresh_session, done=signed_out),
    }


def _console_pages() -> dict[str, Probe]:
    return {
        "GET /console/subscriptions": Probe(
            page_get("/console/subscriptions"), shared_record("precon", by_url=True), listing=True
        ),
        "GET /console/deliveries": Probe(
            lambda call: call.page(
                "GET", "/console/deliveries", params={"url": call.target.made.callback_url}
            ),
            shared_delivery,
            listing=True,
        ),
        "GET /console/deliveries/{delivery_id}": Probe(
            page_get("/console/deliveries/{delivery_id}"), shared_delivery
        ),
        "GET /console/alerts": Probe(page_get("/console/alerts"), shared_alert, listing=True),
    }


PROBES: dict[str, Probe] = {
    **_public("api", API_PUBLIC),
    **_public("console", CONSOLE_PUBLIC),
    **_webhooks(),
    **_hookyard_api(),
    **_console_forms(),
    **_console_pages(),
}
