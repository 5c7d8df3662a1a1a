"""Web console sessions: sign in with a client id and secret, a server-side session, sign out.

The browser holds only a random session token (in an `HttpOnly`, `SameSite=Strict` cookie that
`hookyard.console` sets); the database holds the token's SHA-256, the client it signs in, a CSRF
token for the session's forms and its end. So every API process sharing the database knows every
session and a copy of the database signs no one in.

A session ends at once, its row deleted, when the browser signs out or signs in again, when its
client's secret is rotated or the client revoked, and when its client's partner is disconnected
from a company (`services.credentials`); otherwise at its end.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hookyard import clock, errors, models
from hookyard.services.access import Access, Actor, Door
from hookyard.services.identity import Identity
from hookyard.store import Store
from hookyard.store.sessions import SessionRow

TOKEN_BYTES = 32


@dataclass(frozen=True)
class ConsoleSession:
    """A signed-in client: who, whether it is the operator, its forms' CSRF token, its end."""

    client: models.Client
    csrf_token: str
    expires_at: datetime

    @property
    def actor(self) -> Actor:
        """The session's client as the services' actor (through the console)."""
        return Actor.of_client(self.client, Door.CONSOLE)

    @property
    def is_operator(self) -> bool:
        return self.actor.is_operator

    def csrf_matches(self, supplied: str | None) -> bool:
        return bool(supplied) and hmac.compare_digest(self.csrf_token, supplied or "")


@dataclass(frozen=True)
class SignedIn:
    """A new session and the token its cookie carries (shown to the browser only)."""

    token: str
    session: ConsoleSession


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ConsoleSessions:
    """Sign in, look up and sign out console sessions."""

    def __init__(
        self,
        store: Store,
        identity_service: Identity,
        *,
        lifetime: timedelta,
        now: clock.Clock = clock.utcnow,
    ) -> None:
        self._store = store
        self._access = Access(store)
        self._identity = identity_service
        self._lifetime = lifetime
        self._now = now

    async def sign_in(
        self, client_id: str, secret: str, source: str | None, *, replacing: str | None = None
    ) -> SignedIn:
        """A session for the client with this id and secret; Unauthenticated otherwise (failed
        attempts are throttled like the token endpoint's, RateLimited past the limit).

        `replacing` is the token of the session the browser still carries: a successful sign-in
        ends it."""
        try:
            client = await self._identity.verify_client(client_id, secret, source)
        except (errors.InvalidClient, errors.InvalidRequest) as exc:
            raise errors.Unauthenticated(
                "Wrong client id or secret: check both and sign in again."
            ) from exc
        await self._access.console_sign_in(client)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        now = self._now()
        csrf = secrets.token_urlsafe(TOKEN_BYTES)
        row = SessionRow(token_hash(token), client.id, csrf, now, now + self._lifetime)
        await self._store.sessions.remove_expired(now)
        if replacing:
            await self._store.sessions.remove(token_hash(replacing))
        await self._store.sessions.add(row)
        await self._refuse_if_changed(client, row)
        return SignedIn(token, ConsoleSession(client, row.csrf_token, row.expires_at))

    async def _refuse_if_changed(self, client: models.Client, row: SessionRow) -> None:
        """End the new session when its client was revoked or given a new secret after the secret
        was checked: that change deleted the sessions there were, and this one was added since."""
        now = await self._store.tenants.client(client.id)
        if now is None or now.revoked_at is not None or now.secret_hash != client.secret_hash:
            await self._store.sessions.remove(row.token_hash)
            raise errors.Unauthenticated(
                "This client's secret changed or it was revoked while you signed in; sign in"
                " again with its current secret."
            )

    async def current(self, token: str | None) -> ConsoleSession:
        """The session of a cookie's token; Unauthenticated when there is none, it has ended or
        its client has been revoked."""
        if not token:
            raise errors.Unauthenticated("Sign in to use the console.")
        row = await self._store.sessions.get(token_hash(token))
        if row is None:
            raise errors.Unauthenticated("Your session has ended; sign in again.")
        if row.expires_at <= self._now():
            await self._store.sessions.remove(row.token_hash)
            raise errors.Unauthenticated("Your session has expired; sign in again.")
        client = await self._store.tenants.client(row.client_id)
        if client is None or client.revoked_at is not None:
            await self._store.sessions.remove(row.token_hash)
            raise errors.Unauthenticated("This client's access has been revoked.")
        try:
            await self._access.console_sign_in(client)
        except errors.Forbidden as exc:
            await self._store.sessions.remove(row.token_hash)
            raise errors.Unauthenticated(exc.detail) from exc
        return ConsoleSession(client, row.csrf_token, row.expires_at)

    async def sign_out(self, token: str | None) -> None:
        if token:
            await self._store.sessions.remove(token_hash(token))
