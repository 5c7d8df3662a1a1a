"""The world the access table runs in: one real `hookyard serve` per database, the nine actors
with their credentials, and the objects their cells aim at.

Made in this order, through the doors the table is about where they take it:
- company A (units A1, A2) and its integrator client, `owner`; company B (unit B1) and
  `other_tenant`; partners P1 and P2, each with a client; all with the three product scopes;
- `hookyard partners connect` of P1 and P2 to A;
- `operator` (`hookyard clients create --scopes hookyard:operator --name ops`) and `backend`
  (`--scopes "events:publish hookyard:admin"`): no company, no partner. Where the CLI refuses
  that, the client goes straight into the store, and `World.made_in_store` names it;
- `hookyard serve` on a free port, then every actor's token and console session;
- the owner's token and session, then `hookyard clients rotate-secret` of the owner: those three
  (token, session, old secret) are `rotated`'s, and the owner signs in again with the new secret;
- `expired`: the owner's token signed again, by the server's own key, with an `exp` an hour ago,
  and a console session of the owner whose end is moved into the past;
- each party's records, a failed delivery and an alert url (`Shared`); then `hookyard partners
  disconnect` of P2 from A, which Stops P2's records: `partner_disconnected` keeps the token and
  session it had while connected.

The server runs with HOOKYARD_AUTH_CACHE_SECONDS=0, so a change made here holds on its next
request, and with the token failure limits raised, since the `rotated` cells fail on purpose.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import jwt

from hookyard import clock, ids, models
from hookyard.cli import runtime as runtimes
from hookyard.config import Settings
from hookyard.console import web
from hookyard.services import identity
from hookyard.services.sessions import token_hash
from tests.security import access_targets as targets
from tests.security.access_targets import Party
from tests.support import server
from tests.support.cli import Cli
from tests.support.processes import free_port
from tests.support.receiver import Receiver

T = TypeVar("T")
INTEGRATOR = ("precon:read", "dis:read", "heavyjob:read")
OPERATOR_SCOPE = "hookyard:operator"
BACKEND_SCOPES = (identity.EVENTS_PUBLISH, identity.ADMIN)
METRICS_TOKEN = "access-table-metrics-token"
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
PARTY_OF = {"partner": "P1", "partner_disconnected": "P2"}
SERVER_SETTINGS = {
    "allow_private_callbacks": "true",
    "auth_cache_seconds": "0",
    "token_failures_per_client": "100000",
    "token_failures_per_address": "100000",
    "metrics_token": METRICS_TOKEN,
    "probe_interval_seconds": "86400",
    "log_level": "WARNING",
}


class Loop:
    """An event loop in a thread of its own: the store helpers and the receiver live on it, so
    the cells stay plain functions and the world outlives any one test."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def close(self) -> None:
        self.run(self._loop.shutdown_asyncgens())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


@dataclass
class Credential:
    """What an actor holds: a client id and secret (a partner adds the company it asks a token
    for), an access token, and a console session with its forms' CSRF token."""

    client_id: str = ""
    secret: str = ""
    company: str = ""
    token: str = ""
    session: str = ""
    csrf: str = ""

    def token_form(self) -> dict[str, str]:
        form = {"client_id": self.client_id, "client_secret": self.secret}
        if self.company:
            return {**form, "grant_type": "company", "CompanyId": self.company}
        return {**form, "grant_type": "client_credentials"}


@dataclass(frozen=True)
class Shared:
    """A party's objects that read-only cells look for: a record per product, a failed
    delivery (sequence 1, for catch-up) of its Pre-Con record, and an alert url."""

    records: dict[str, models.Subscription]
    delivery: str
    alert: str


@dataclass(frozen=True)
class SignInAnswer:
    status: int
    session: str


@dataclass(repr=False)
class World:
    dialect: str
    base_url: str
    settings: Settings
    loop: Loop
    runtime: runtimes.Runtime
    receiver: Receiver
    cli: Cli
    parties: dict[str, Party] = field(default_factory=dict)
    credentials: dict[str, Credential] = field(default_factory=dict)
    shared: dict[str, Shared] = field(default_factory=dict)
    partners: dict[str, str] = field(default_factory=dict)
    backend_sign_in: SignInAnswer = SignInAnswer(0, "")
    made_in_store: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"World({self.dialect}, {self.base_url})"

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run(coroutine)

    @property
    def store(self) -> Any:
        return self.runtime.store

    def party_of(self, actor: str) -> Party:
        return self.parties[PARTY_OF.get(actor, "A")]

    def http(self, session: str = "") -> httpx.Client:
        """A client for the server; with `session`, it carries that console session's cookie."""
        cookies = {web.SESSION_COOKIE: session} if session else None
        return httpx.Client(base_url=self.base_url, cookies=cookies, timeout=30.0)

    def url(self, party: Party) -> str:
        """A new callback url on the receiver (which answers every challenge)."""
        return self.receiver.url(f"/{party.name}/{ids.ulid().lower()}")

    # credentials through the real doors

    def token(self, credential: Credential) -> httpx.Response:
        with self.http() as http:
            return http.post("/identity/connect/token", data=credential.token_form())

    def sign_in(self, client_id: str, secret: str) -> SignInAnswer:
        """The console's sign-in form, filled in; the answer and the session it started."""
        with self.http() as http:
            form = http.get("/console/login")
            login = form.cookies.get(web.LOGIN_COOKIE, "")
            data = {"csrf": login, "client_id": client_id, "client_secret": secret}
            answer = http.post("/console/login", data=data)
            return SignInAnswer(answer.status_code, answer.cookies.get(web.SESSION_COOKIE) or "")

    def session(self, client_id: str, secret: str) -> tuple[str, str]:
        """A new console session (its cookie and CSRF token); fails when sign-in is refused."""
        answer = self.sign_in(client_id, secret)
        assert answer.status == 303, f"sign-in of {client_id}: {answer}"
        assert answer.session, f"sign-in of {client_id} started no session"
        row = self.run(self.store.sessions.get(token_hash(answer.session)))
        assert row is not None
        return answer.session, row.csrf_token

    def signed_in(self, credential: Credential) -> Credential:
        """`credential` with a fresh token and console session."""
        answer = self.token(credential)
        assert answer.status_code == 200, answer.text
        credential.token = answer.json()["access_token"]
        credential.session, credential.csrf = self.session(credential.client_id, credential.secret)
        return credential

    def rotate_owner(self) -> Credential:
        """`hookyard clients rotate-secret` of the owner: the owner gets the new secret (and a
        new token and session); what it held before is returned, now a rotated credential."""
        owner = self.credentials["owner"]
        before = Credential(owner.client_id, owner.secret, "", owner.token, owner.session)
        before.csrf = owner.csrf
        issued = self.cli.json("clients", "rotate-secret", owner.client_id)
        owner.secret = issued["client_secret"]
        self.signed_in(owner)
        return before

    def expired_session(self) -> tuple[str, str]:
        """A console session of the owner whose time has run out."""
        owner = self.credentials["owner"]
        session, csrf = self.session(owner.client_id, owner.secret)
        self.run(targets.end_session(self.store, token_hash(session)))
        return session, csrf

    def disconnected_session(self) -> tuple[str, str]:
        """A session P2's client started while connected to A, which has since disconnected."""
        p2, company = self.credentials["partner_disconnected"], self.parties["A"].company_id
        partner = self.partners["P2"]
        self.run(self.runtime.credentials.set_connection(partner, company, True))
        try:
            return self.session(p2.client_id, p2.secret)
        finally:
            self.run(self.runtime.credentials.set_connection(partner, company, False))

    def expired_token(self) -> str:
        """The owner's token signed again by the server's current key, with `exp` in the past."""
        claims = jwt.decode(self.credentials["owner"].token, options={"verify_signature": False})
        now = int(time.time())
        claims.update(iat=now - 7200, exp=now - 3600)
        key = self.runtime.keys.current
        return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})


def _client_by_cli(world: World, name: str, scopes: tuple[str, ...]) -> Credential:
    """A client with no company and no partner: `hookyard clients create`, else the store."""
    result = world.cli("clients", "create", "--scopes", " ".join(scopes), "--name", name, "--json")
    if result.exit_code == 0:
        issued = json.loads(result.stdout)
        return Credential(issued["client_id"], issued["client_secret"])
    world.made_in_store.append(f"{name}: {result.stderr.strip()}")
    secret = identity.new_secret()
    client = models.Client(
        id=ids.prefixed(ids.CLIENT).lower(),
        name=name,
        company_id=None,
        partner_id=None,
        scopes=scopes,
        business_units=(),
        secret_hash=identity.hash_secret(secret),
        date_created=clock.utcnow(),
        revoked_at=None,
    )
    world.run(world.store.tenants.add_client(client))
    return Credential(client.id, secret)


async def _tenants(world: World) -> dict[str, Credential]:
    credentials = world.runtime.credentials
    a = await credentials.create_company("Company A")
    a1 = await credentials.create_business_unit(a.id, "A1")
    await credentials.create_business_unit(a.id, "A2")
    b = await credentials.create_company("Company B")
    await credentials.create_business_unit(b.id, "B1")
    made = {}
    for name, company in (("owner", a.id), ("other_tenant", b.id)):
        issued = await credentials.create_client(scopes=INTEGRATOR, company_id=company, name=name)
        made[name] = Credential(issued.client.id, issued.secret)
    world.parties["A"] = Party("A", made["owner"].client_id, a.id, a1.id)
    for actor, party in PARTY_OF.items():
        partner = await credentials.create_partner(f"Partner {party}")
        issued = await credentials.create_client(scopes=INTEGRATOR, partner_id=partner.id)
        made[actor] = Credential(issued.client.id, issued.secret, company=a.id)
        world.parties[party] = Party(party, issued.client.id, a.id, a1.id)
        world.partners[party] = partner.id
    return made


def _shared(world: World, party: Party) -> Shared:
    async def make() -> Shared:
        store = world.store
        records = {
            product: await targets.record(store, party, product, world.url(party))
            for product in targets.EVENT_TYPES
        }
        delivery = await targets.failed_delivery(store, records["precon"], sequence=1)
        alert = await targets.alert(store, party, world.url(party), targets.ACTIVE)
        return Shared(records, delivery, alert)

    return world.run(make())


def _credentials(world: World, made: dict[str, Credential]) -> None:
    """Every actor's token and console session, as the module docstring orders them."""
    for actor in ("owner", "other_tenant", "partner", "partner_disconnected"):
        world.credentials[actor] = world.signed_in(made[actor])
    world.credentials["rotated"] = world.rotate_owner()
    expired = Credential(made["owner"].client_id, token=world.expired_token())
    expired.session, expired.csrf = world.expired_session()
    world.credentials["expired"] = expired
    world.credentials["operator"] = world.signed_in(made["operator"])
    backend = made["backend"]
    answer = world.token(backend)
    assert answer.status_code == 200, answer.text
    backend.token = answer.json()["access_token"]
    world.backend_sign_in = world.sign_in(backend.client_id, backend.secret)
    world.credentials["backend"] = backend
    world.credentials["nobody"] = Credential()


def _parties(world: World, made: dict[str, Credential]) -> None:
    for partner in world.partners.values():
        connected = world.cli("partners", "connect", "--partner", partner, "--company", a_of(world))
        assert connected.exit_code == 0, connected.output
    made["operator"] = _client_by_cli(world, "ops", (OPERATOR_SCOPE,))
    made["backend"] = _client_by_cli(world, "backend", BACKEND_SCOPES)


@contextmanager
def running(dialect: str, database_url: str, workdir: Path) -> Iterator[World]:
    """The world on `database_url` (migrated), its server stopped and its loop closed after."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    data_dir = workdir / "data"
    extra = {**SERVER_SETTINGS, "public_base_url": base_url, "database_url": database_url}
    # The strings the environment gives (the CLI below gets them so), which pydantic parses.
    settings = Settings(data_dir=data_dir, **extra)  # type: ignore[arg-type]
    loop = Loop()
    receiver = loop.run(Receiver.start())
    runtime = runtimes.build(settings)
    cli = Cli(database_url, data_dir, **{k: v for k, v in extra.items() if k != "database_url"})
    world = World(dialect, base_url, settings, loop, runtime, receiver, cli)
    try:
        made = world.run(_tenants(world))
        _parties(world, made)
        env = server.environment(data_dir, **extra)
        with server.hookyard(["serve"], env, workdir, port=port):
            _credentials(world, made)
            for name, party in world.parties.items():
                world.shared[name] = _shared(world, party)
            p2 = world.partners["P2"]
            gone = world.cli("partners", "disconnect", "--partner", p2, "--company", a_of(world))
            assert gone.exit_code == 0, gone.output
            yield world
    finally:
        loop.run(runtime.close())
        loop.run(receiver.stop())
        loop.close()


def a_of(world: World) -> str:
    return world.parties["A"].company_id
