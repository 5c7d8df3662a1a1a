"""How the access table's CLI cells run: for each command, a representative invocation by the
operator (the one who holds the database URL and the keys), in-process with typer's runner
against the table's database and data directory. Commands that change something get a fresh
object to change, so each cell stands alone.

Keys are the table's commands; the test fails for an allowed command without one here.
"""

from __future__ import annotations

from collections.abc import Callable

from hookyard import ids
from tests.security import access_targets as targets
from tests.security.access_world import World
from tests.support.actors import OPERATOR

Invocation = Callable[[World], list[str]]


def _a(world: World) -> str:
    return world.parties["A"].company_id


def _fresh_client(world: World) -> str:
    issued = world.run(
        world.runtime.credentials.create_client(scopes=["precon:read"], company_id=_a(world))
    )
    return issued.client.id


def _fresh_partner(world: World, *, connected: bool) -> str:
    async def make() -> str:
        credentials = world.runtime.credentials
        partner = await credentials.create_partner(f"Partner {ids.ulid()}")
        if connected:
            await credentials.set_connection(partner.id, _a(world), True)
        return partner.id

    return world.run(make())


def _fresh_approval(world: World) -> str:
    return world.run(targets.approval(world.store, world.parties["A"]))


def _operator_alert(world: World) -> str:
    url = world.url(world.parties["A"])
    world.run(world.runtime.alerts.add(OPERATOR, url))
    return url


def _fresh_failed(world: World) -> tuple[str, str]:
    async def make() -> tuple[str, str]:
        party = world.parties["A"]
        made = await targets.record(world.store, party, "precon", world.url(party))
        return made.callback_url, await targets.failed_delivery(world.store, made)

    return world.run(make())


INVOCATIONS: dict[str, Invocation] = {
    "hookyard version": lambda w: ["version"],
    "hookyard migrate": lambda w: ["migrate"],
    "hookyard check": lambda w: ["check"],
    "hookyard prune": lambda w: ["prune", "--dry-run"],
    "hookyard companies create": lambda w: ["companies", "create", f"Company {ids.ulid()}"],
    "hookyard companies list": lambda w: ["companies", "list", "--json"],
    "hookyard business-units create": lambda w: [
        *("business-units", "create", "--company", _a(w), "--code", f"C{ids.ulid()}")
    ],
    "hookyard business-units list": lambda w: ["business-units", "list", "--company", _a(w)],
    "hookyard clients create": lambda w: [
        *("clients", "create", "--scopes", "precon:read", "--company", _a(w))
    ],
    "hookyard clients rotate-secret": lambda w: ["clients", "rotate-secret", _fresh_client(w)],
    "hookyard clients revoke": lambda w: ["clients", "revoke", _fresh_client(w)],
    "hookyard clients list": lambda w: ["clients", "list", "--company", _a(w)],
    "hookyard partners create": lambda w: ["partners", "create", f"Partner {ids.ulid()}"],
    "hookyard partners list": lambda w: ["partners", "list"],
    "hookyard partners connect": lambda w: [
        *("partners", "connect", "--partner", _fresh_partner(w, connected=False)),
        *("--company", _a(w)),
    ],
    "hookyard partners disconnect": lambda w: [
        *("partners", "disconnect", "--partner", _fresh_partner(w, connected=True)),
        *("--company", _a(w)),
    ],
    "hookyard approvals list": lambda w: ["approvals", "list", "--status", "all"],
    "hookyard approvals approve": lambda w: [
        *("approvals", "approve", _fresh_approval(w), "--by", "ops")
    ],
    "hookyard approvals reject": lambda w: [
        *("approvals", "reject", _fresh_approval(w), "--reason", "not this host", "--by", "ops")
    ],
    "hookyard alerts list": lambda w: ["alerts", "list"],
    "hookyard alerts add": lambda w: ["alerts", "add", w.url(w.parties["A"])],
    "hookyard alerts remove": lambda w: ["alerts", "remove", _operator_alert(w)],
    "hookyard subscriptions list": lambda w: ["subscriptions", "list", "--company", _a(w)],
    "hookyard subscriptions show": lambda w: [
        *("subscriptions", "show", w.shared["A"].records["precon"].id)
    ],
    "hookyard keys generate": lambda w: ["keys", "generate", "jwt"],
    "hookyard keys rotate-jwt": lambda w: ["keys", "rotate-jwt"],
    "hookyard keys prune-jwt": lambda w: ["keys", "prune-jwt"],
    "hookyard keys prune-secret-keys": lambda w: ["keys", "prune-secret-keys"],
    "hookyard keys rotate-secret-key": lambda w: ["keys", "rotate-secret-key"],
    "hookyard keys reseal": lambda w: ["keys", "reseal"],
    "hookyard keys forget": lambda w: ["keys", "forget", "jwt", f"k{ids.ulid().lower()}"],
    "hookyard events publish": lambda w: [
        *("events", "publish", "precon", "ProjectDeleted", "--company", _a(w)),
        *("--business-unit", w.parties["A"].unit, "--field", f"projectId={ids.guid()}"),
    ],
    "hookyard deliveries list": lambda w: ["deliveries", "list", "--limit", "10"],
    "hookyard deliveries show": lambda w: ["deliveries", "show", w.shared["A"].delivery],
    "hookyard deliveries redeliver": lambda w: [*("deliveries", "redeliver", _fresh_failed(w)[1])],
    "hookyard deliveries recover": lambda w: [
        *("deliveries", "recover", "--url", _fresh_failed(w)[0], "--since", "2000-01-01T00:00:00Z")
    ],
    "hookyard outbox ddl": lambda w: ["outbox", "ddl", "--dialect", "sqlite"],
}
