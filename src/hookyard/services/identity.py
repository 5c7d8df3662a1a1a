"""Identity: the token endpoint's grants and the verification of access tokens.

Tokens are EdDSA-signed JWTs (see `keys`). Verification also asks the store, so a revoked client
or a disconnected partner loses access at once, not when its tokens expire. A token also carries
`secret_fp`, a fingerprint of its client's secret hash when it was issued, so a secret rotation
refuses the tokens issued before it the same way (a token without the claim, issued by a Hookyard
from before it, is accepted until it expires).

Both halves are cached for `cache_seconds` (1 s by default, `HOOKYARD_AUTH_CACHE_SECONDS`), since a
publisher sends the same token hundreds of times a second: the claims of a token whose signature
verified (still refused at its `exp`), and the store's client and connection rows, which the store
drops when they change through it. So a revoke or disconnect made in this process holds on the
next request; one made by another process (the CLI beside `hookyard serve`, another API process)
holds within `cache_seconds`. The token endpoint itself always reads the client afresh.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hookyard import clock, errors, ids, models
from hookyard.services.keys import ALGORITHM, SigningKeys
from hookyard.services.throttle import FailureThrottle
from hookyard.store import Store
from hookyard.ttlcache import TtlCache

CLIENT_CREDENTIALS = "client_credentials"
COMPANY = "company"
GRANTS = (CLIENT_CREDENTIALS, COMPANY)
EVENTS_PUBLISH = "events:publish"
ADMIN = "hookyard:admin"
HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
VERIFIED_TOKENS = 10_000
FINGERPRINT_CLAIM = "secret_fp"
_BAD_CLIENT = "Client authentication failed: check the client id and secret."


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    expires_in: int
    scope: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


def hash_secret(secret: str) -> str:
    """An argon2id hash of a client secret."""
    return HASHER.hash(secret)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@functools.lru_cache(maxsize=4096)
def secret_fingerprint(secret_hash: str) -> str:
    """What tokens carry of their client's secret: 16 hex digits of the SHA-256 of its stored hash
    (never the secret, nor the hash), so a new secret tells its tokens from the older ones."""
    return hashlib.sha256(secret_hash.encode()).hexdigest()[:16]


def _same_secret(claims: Mapping[str, Any], client: models.Client) -> bool:
    stated = claims.get(FINGERPRINT_CLAIM)
    if stated is None:
        return True
    return hmac.compare_digest(str(stated), secret_fingerprint(client.secret_hash))


def _verify_hash(secret_hash: str, secret: str) -> bool:
    try:
        return HASHER.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        return False


class Identity:
    """Grants tokens to clients and turns tokens back into principals."""

    def __init__(
        self,
        store: Store,
        keys: SigningKeys,
        *,
        issuer: str,
        ttl_seconds: int,
        throttle: FailureThrottle | None = None,
        cache_seconds: float = 0.0,
        monotonic: clock.Monotonic = time.monotonic,
    ) -> None:
        self._store = store
        self._keys = keys
        self.issuer = issuer
        self._ttl = ttl_seconds
        self._decoy_hash = hash_secret(new_secret())
        self._throttle = throttle or FailureThrottle(store.auth_failures)
        self._verified: TtlCache[str, dict[str, Any]] = TtlCache(
            cache_seconds, max_entries=VERIFIED_TOKENS, monotonic=monotonic
        )

    # granting

    async def grant(
        self,
        form: Mapping[str, str],
        basic: tuple[str, str] | None = None,
        source: str | None = None,
    ) -> TokenResponse:
        """Answer a token request (RFC 6749 §4.4, plus the HCSS partner `company` grant).

        `source` is the caller's address: failed authentications are throttled per client id and
        per source address (RateLimited, 429 with Retry-After).
        """
        grant_type = form.get("grant_type", "")
        if not grant_type:
            raise errors.InvalidRequest("grant_type is required: use client_credentials.")
        if grant_type not in GRANTS:
            raise errors.UnsupportedGrantType(
                f"grant_type {grant_type!r} is not supported: use client_credentials or company."
            )
        client = await self._authenticate_client(form, basic, source)
        scopes = self._granted_scopes(client, form.get("scope", ""))
        company_id: str | None = client.company_id
        units = client.business_units
        if grant_type == COMPANY:
            company_id, units = await self._company_grant(client, form)
        return self._issue(client, company_id, units, scopes)

    async def verify_client(self, client_id: str, secret: str, source: str | None) -> models.Client:
        """The client whose id and secret these are, throttled like the token endpoint;
        InvalidRequest when one is empty, InvalidClient when they do not match."""
        form = {"client_id": client_id.strip(), "client_secret": secret}
        return await self._authenticate_client(form, None, source)

    async def _authenticate_client(
        self, form: Mapping[str, str], basic: tuple[str, str] | None, source: str | None
    ) -> models.Client:
        client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
        if not client_id or not secret:
            raise errors.InvalidRequest("client_id and client_secret are required.")
        await self._throttle.check(client_id, source)
        client = await self._store.tenants.client(client_id)
        stored = client.secret_hash if client else self._decoy_hash
        matches = await asyncio.to_thread(_verify_hash, stored, secret)
        if client is None or not matches or client.revoked_at is not None:
            await self._throttle.failed(client_id, source)
            raise errors.InvalidClient(_BAD_CLIENT)
        return client

    @staticmethod
    def _granted_scopes(client: models.Client, requested: str) -> tuple[str, ...]:
        wanted = tuple(dict.fromkeys(requested.split())) or client.scopes
        missing = [scope for scope in wanted if scope not in client.scopes]
        if missing:
            raise errors.InvalidScope(
                f"scope {' '.join(missing)} is not granted to this client;"
                f" it may ask for: {' '.join(client.scopes)}"
            )
        return wanted

    async def _company_grant(
        self, client: models.Client, form: Mapping[str, str]
    ) -> tuple[str, tuple[str, ...]]:
        company_id = form.get("CompanyId") or form.get("company_id") or ""
        if not company_id:
            raise errors.InvalidRequest("CompanyId is required with grant_type=company.")
        if client.partner_id is None:
            raise errors.InvalidGrant("grant_type=company is for partner clients only.")
        if not await self._store.tenants.is_connected(client.partner_id, company_id):
            raise errors.InvalidGrant("That company has not connected this partner's application.")
        return company_id, (models.ALL_BUSINESS_UNITS,)

    def _issue(
        self,
        client: models.Client,
        company_id: str | None,
        units: tuple[str, ...],
        scopes: tuple[str, ...],
    ) -> TokenResponse:
        now = clock.utcnow()
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": client.id,
            "client_id": client.id,
            "company_id": company_id,
            "business_units": "*" if models.ALL_BUSINESS_UNITS in units else list(units),
            "scope": " ".join(scopes),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self._ttl)).timestamp()),
            "jti": ids.guid(),
            FINGERPRINT_CLAIM: secret_fingerprint(client.secret_hash),
        }
        if client.partner_id:
            claims["partner_id"] = client.partner_id
        key = self._keys.current
        token = jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})
        return TokenResponse(token, self._ttl, " ".join(scopes))

    def jwks(self) -> dict[str, Any]:
        """The public keys that verify tokens, as a JWK set."""
        return self._keys.jwks()

    # verifying

    def decode(self, token: str) -> dict[str, Any]:
        """The claims of a token this service signed; Unauthenticated for anything else."""
        try:
            kid = jwt.get_unverified_header(token).get("kid", "")
            key = self._keys.find(str(kid))
            if key is None:
                raise errors.Unauthenticated("The access token was not issued here.")
            claims: dict[str, Any] = jwt.decode(
                token,
                key.public,
                algorithms=[ALGORITHM],
                issuer=self.issuer,
                options={"require": ["exp", "iat", "iss", "sub", "scope"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise errors.Unauthenticated(
                "The access token has expired; request a new one."
            ) from exc
        except jwt.PyJWTError as exc:
            raise errors.Unauthenticated(
                "The access token is not valid; request a new one."
            ) from exc
        return claims

    def _claims(self, token: str) -> dict[str, Any]:
        """`decode`, from the cache of verified tokens while the token has not expired."""
        found, claims = self._verified.get(token)
        if found and claims is not None and claims["exp"] > time.time():
            return claims
        stamp = self._verified.stamp()
        claims = self.decode(token)
        self._verified.put(token, claims, stamp)
        return claims

    async def authenticate(self, token: str) -> models.Principal:
        """The principal of a bearer token, checked against the store's recent state (see the
        module docstring)."""
        claims = self._claims(token)
        client = await self._store.tenants.recent_client(str(claims["sub"]))
        if client is None or client.revoked_at is not None:
            raise errors.Unauthenticated("This client's access has been revoked.")
        if not _same_secret(claims, client):
            raise errors.Unauthenticated(
                "This client's secret has been rotated since the token was issued; request a new"
                " token with the new secret."
            )
        company_id = claims.get("company_id")
        partner_id = claims.get("partner_id")
        if (
            partner_id
            and company_id
            and not await self._store.tenants.recent_connection(str(partner_id), str(company_id))
        ):
            raise errors.Forbidden("That company has disconnected this partner's application.")
        units = claims.get("business_units", [])
        return models.Principal(
            client_id=client.id,
            company_id=str(company_id) if company_id else None,
            partner_id=str(partner_id) if partner_id else None,
            scopes=frozenset(str(claims["scope"]).split()),
            business_units=(models.ALL_BUSINESS_UNITS,) if units == "*" else tuple(units),
            token_id=str(claims.get("jti", "")),
        )
