"""Who may do what, decided once: every action a person can take is a `services` operation that
receives an `Actor`, and asks this module before it reads or changes anything.

    actor                        door          reaches
    integrator (a company's)     API, console  its own records in its company (and its units)
    partner (acting for a co.)   API, console  its own records in the companies connected NOW
    operator (hookyard:operator) API, console  every tenant's records, the operator's pages
    operator at the shell        CLI           everything (it holds the database and the key)
    publishing back end          API           publishes (events:publish, hookyard:admin for
                                               every company); no console, no operator view

`hookyard:admin` lets a product back end publish for every company; it is not the operator
role. A back end acts as operator only when the operator gave it `hookyard:operator` too.

A record out of an actor's reach is answered NotFound, the same answer as for an id that does
not exist, so that nothing tells one tenant about another's records.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hookyard import errors, models

if TYPE_CHECKING:
    from hookyard.store import Store

OPERATOR = "hookyard:operator"
"""The operator role: every tenant's records, the operator's console pages and actions."""
PUBLISH_ANYWHERE = "hookyard:admin"
"""A product back end's scope to publish for every company (not the operator role)."""
PUBLISHING = frozenset({"events:publish", PUBLISH_ANYWHERE})
"""A publishing credential's scopes: with no other, a client is a product back end."""


class Door(enum.StrEnum):
    """Where an actor came in."""

    API = "api"
    CONSOLE = "console"
    CLI = "cli"


@dataclass(frozen=True)
class Actor:
    """Who acts, through which door. `client_id` None: the operator at the shell (CLI)."""

    door: Door
    client_id: str | None
    company_id: str | None
    partner_id: str | None
    scopes: frozenset[str]
    business_units: tuple[str, ...]
    name: str = ""

    @classmethod
    def of_principal(cls, caller: models.Principal, door: Door = Door.API) -> Actor:
        """The caller of an access token."""
        return cls(
            door,
            caller.client_id,
            caller.company_id,
            caller.partner_id,
            caller.scopes,
            caller.business_units,
            caller.client_id,
        )

    @classmethod
    def of_client(cls, client: models.Client, door: Door = Door.CONSOLE) -> Actor:
        """A client signed in with its id and secret (a console session)."""
        return cls(
            door,
            client.id,
            client.company_id,
            client.partner_id,
            frozenset(client.scopes),
            client.business_units,
            f"{client.name} ({client.id}, {door.value})",
        )

    @classmethod
    def shell(cls, name: str = "hookyard CLI") -> Actor:
        """The operator at the machine's shell: the CLI holds the database and the key."""
        return cls(Door.CLI, None, None, None, frozenset({OPERATOR}), (), name)

    @property
    def is_operator(self) -> bool:
        return self.door is Door.CLI or OPERATOR in self.scopes

    @property
    def principal(self) -> models.Principal:
        """The actor as a caller of the token-shaped services (with every scope it holds)."""
        return models.Principal(
            client_id=self.client_id or "",
            company_id=self.company_id,
            partner_id=self.partner_id,
            scopes=self.scopes,
            business_units=self.business_units,
        )

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class Reach:
    """What an actor may see and act on: one client's records (`client_id`) in some companies
    (`companies`; None: every company of the client), or every record (`client_id` None)."""

    client_id: str | None
    companies: frozenset[str] | None = None

    @property
    def everything(self) -> bool:
        return self.client_id is None

    def covers(self, client_id: str, company_id: str) -> bool:
        if self.client_id is None:
            return True
        if client_id != self.client_id:
            return False
        return self.companies is None or company_id in self.companies

    @property
    def company_list(self) -> tuple[str, ...] | None:
        return None if self.companies is None else tuple(sorted(self.companies))

    def narrowed(self, client_id: str | None) -> Reach:
        """This reach, of `client_id`'s records only (when given): the operator's filter."""
        if client_id is None or client_id == self.client_id:
            return self
        if self.everything:
            return Reach(client_id)
        return Reach(self.client_id, frozenset())


def publishes_for(caller: models.Principal) -> str | None:
    """Whose events a publisher may publish: any company's (None) with `hookyard:admin`, else
    its own company's only ("" when it acts for none, which matches no event)."""
    if caller.has_scope(PUBLISH_ANYWHERE):
        return None
    return caller.company_id or ""


class Access:
    """Decides, for an actor, what it reaches and whether it may act."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def reach(self, actor: Actor) -> Reach:
        """The records `actor` may see now. A partner reaches the companies connected to it at
        this moment (and, acting through a token, only the company the token names)."""
        if actor.is_operator:
            return Reach(None)
        if actor.client_id is None:
            raise errors.Forbidden("This caller acts for no client.")
        if actor.partner_id is None:
            return Reach(actor.client_id)
        connected = await self._store.tenants.connected_companies(actor.partner_id)
        if actor.company_id is not None:
            connected = [c for c in connected if c == actor.company_id]
        return Reach(actor.client_id, frozenset(connected))

    async def record(self, actor: Actor, record_id: str) -> models.Subscription:
        """A live subscription record the actor may act on; NotFound otherwise."""
        record = await self._store.subscriptions.get(record_id)
        if (
            record is None
            or record.status is models.SubscriptionStatus.DELETED
            or not await self.covers(actor, record.client_id, record.company_id)
        ):
            raise errors.NotFound(
                f"There is no subscription record {record_id!r} for you; pick one from the list."
            )
        return record

    async def covers(self, actor: Actor, client_id: str, company_id: str) -> bool:
        """Whether a record of `client_id` in `company_id` is within the actor's reach now."""
        return (await self.reach(actor)).covers(client_id, company_id)

    @staticmethod
    def operator(actor: Actor, what: str = "This") -> None:
        """Refuse (403) an actor without the operator role."""
        if not actor.is_operator:
            raise errors.Forbidden(
                f"{what} is for the operator (a client with the {OPERATOR} role, or the "
                "hookyard CLI on the server)."
            )

    async def console_sign_in(self, client: models.Client) -> None:
        """Whether a client whose secret checked out may open a console session: a company's
        integrator, a partner connected to a company now, or the operator. A publishing
        credential (only `events:publish` and `hookyard:admin`) without the operator role has
        no console."""
        if OPERATOR in client.scopes:
            return
        if client.partner_id is not None:
            if not await self._store.tenants.connected_companies(client.partner_id):
                raise errors.Forbidden(
                    "No company has your application connected now, so there is nothing to "
                    "show; ask the company to connect it (hookyard partners connect)."
                )
            return
        if set(client.scopes) <= PUBLISHING:
            raise errors.Forbidden(
                "This client publishes events for the products; it has no console. Sign in "
                f"with an integrator's client, or ask the operator for the {OPERATOR} role."
            )
