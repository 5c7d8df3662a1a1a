"""The token endpoint and token verification, against the real app and both databases."""

from __future__ import annotations

import base64

import httpx
import jwt
import pytest

from hookyard.cli.runtime import Runtime
from hookyard.services.keys import KeyRing
from tests.support.tenants import bearer, make_tenant, token

TOKEN = "/identity/connect/token"
UNITS = "/precon/api/v1/businessUnits"


async def test_client_credentials_token_carries_the_spec_claims(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    form = {
        "grant_type": "client_credentials",
        "client_id": tenant.client_id,
        "client_secret": tenant.secret,
        "scope": "precon:read",
    }
    response = await api.post(TOKEN, data=form)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "precon:read"
    assert response.headers["cache-control"] == "no-store"
    jwks = (await api.get("/identity/.well-known/jwks.json")).json()
    key = jwt.PyJWKSet.from_dict(jwks).keys[0]
    claims = jwt.decode(
        body["access_token"], key, algorithms=["EdDSA"], issuer="http://testserver/identity"
    )
    assert claims["sub"] == claims["client_id"] == tenant.client_id
    assert claims["company_id"] == tenant.company.id
    assert claims["business_units"] == "*"
    assert claims["scope"] == "precon:read"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["jti"]


async def test_basic_authentication_is_accepted(api: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant = await make_tenant(runtime)
    basic = base64.b64encode(f"{tenant.client_id}:{tenant.secret}".encode()).decode()
    response = await api.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert set(response.json()["scope"].split()) == {
        "precon:read",
        "dis:read",
        "heavyjob:read",
        "events:publish",
    }


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client"),
        ({"client_id": "hyc_unknown"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": ""}, 400, "invalid_request"),
        ({"client_secret": ""}, 400, "invalid_request"),
        ({"scope": "hookyard:admin"}, 400, "invalid_scope"),
        ({"grant_type": "company", "CompanyId": "x"}, 400, "invalid_grant"),
    ],
)
async def test_token_errors_follow_rfc_6749(
    api: httpx.AsyncClient, runtime: Runtime, change: dict[str, str], status: int, error: str
) -> None:
    tenant = await make_tenant(runtime)
    form = {
        "grant_type": "client_credentials",
        "client_id": tenant.client_id,
        "client_secret": tenant.secret,
    }
    form.update(change)
    response = await api.post(TOKEN, data=form)
    assert response.status_code == status
    assert response.json()["error"] == error


async def test_unknown_id_and_wrong_secret_get_the_same_answer(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    base = {"grant_type": "client_credentials"}
    wrong_secret = await api.post(
        TOKEN, data={**base, "client_id": tenant.client_id, "client_secret": "nope"}
    )
    unknown_id = await api.post(
        TOKEN, data={**base, "client_id": "hyc_nobody", "client_secret": tenant.secret}
    )
    assert wrong_secret.status_code == unknown_id.status_code == 401
    assert wrong_secret.json() == unknown_id.json()


async def test_a_json_body_is_refused(api: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant = await make_tenant(runtime)
    response = await api.post(
        TOKEN,
        json={"grant_type": "client_credentials", "client_id": tenant.client_id},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_revocation_stops_unexpired_tokens_at_once(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    access = await token(api, tenant.client_id, tenant.secret)
    assert (await api.get(UNITS, headers=bearer(access))).status_code == 200
    await runtime.credentials.revoke(tenant.client_id)
    response = await api.get(UNITS, headers=bearer(access))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.headers["content-type"] == "application/problem+json"
    again = await api.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.client_id,
            "client_secret": tenant.secret,
        },
    )
    assert again.status_code == 401


async def test_rotated_secret_replaces_the_old_one(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    rotated = await runtime.credentials.rotate_secret(tenant.client_id)
    form = {"grant_type": "client_credentials", "client_id": tenant.client_id}
    old = await api.post(TOKEN, data={**form, "client_secret": tenant.secret})
    new = await api.post(TOKEN, data={**form, "client_secret": rotated.secret})
    assert (old.status_code, new.status_code) == (401, 200)


async def test_a_secret_rotation_refuses_the_tokens_issued_before_it(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    before = await token(api, tenant.client_id, tenant.secret)
    assert (await api.get(UNITS, headers=bearer(before))).status_code == 200
    rotated = await runtime.credentials.rotate_secret(tenant.client_id)
    refused = await api.get(UNITS, headers=bearer(before))
    assert refused.status_code == 401
    assert "secret has been rotated" in refused.json()["detail"]
    after = await token(api, tenant.client_id, rotated.secret)
    assert (await api.get(UNITS, headers=bearer(after))).status_code == 200
    for access in (before, after):
        payload = base64.urlsafe_b64decode(access.split(".")[1] + "==").decode()
        for stored in (tenant.secret, rotated.secret, rotated.client.secret_hash):
            assert stored not in payload


async def test_a_token_without_the_secret_fingerprint_is_accepted_until_it_expires(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    """A token issued by a Hookyard from before the fingerprint claim survives a rotation until
    its `exp` (see CHANGELOG), so upgrading refuses no token; a current one does not survive."""
    tenant = await make_tenant(runtime)
    current = await token(api, tenant.client_id, tenant.secret)
    claims = jwt.decode(current, options={"verify_signature": False})
    older = _resigned({k: v for k, v in claims.items() if k != "secret_fp"}, runtime)
    await runtime.credentials.rotate_secret(tenant.client_id)
    assert (await api.get(UNITS, headers=bearer(current))).status_code == 401
    assert (await api.get(UNITS, headers=bearer(older))).status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Bearer ",
        "Bearer not-a-jwt",
        "Basic Zm9vOmJhcg==",
    ],
)
async def test_missing_or_malformed_tokens_are_401(
    api: httpx.AsyncClient, runtime: Runtime, header: str
) -> None:
    headers = {"Authorization": header} if header else {}
    response = await api.get(UNITS, headers=headers)
    assert response.status_code == 401
    assert response.json()["status"] == 401


async def test_a_token_signed_by_another_key_is_401(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    tenant = await make_tenant(runtime)
    real = jwt.decode(
        await token(api, tenant.client_id, tenant.secret), options={"verify_signature": False}
    )
    kid = runtime.keys.current.kid
    forged = jwt.encode(real, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": kid})
    assert (await api.get(UNITS, headers=bearer(forged))).status_code == 401


async def test_missing_scope_is_403(api: httpx.AsyncClient, runtime: Runtime) -> None:
    tenant = await make_tenant(runtime, scopes=["dis:read"])
    access = await token(api, tenant.client_id, tenant.secret)
    response = await api.get(UNITS, headers=bearer(access))
    assert response.status_code == 403
    assert "precon:read" in response.json()["detail"]


def _hs256_with_public_key(claims: dict[str, object], runtime: Runtime) -> str:
    from cryptography.hazmat.primitives import serialization

    public = runtime.keys.current.public.public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    header = {"kid": runtime.keys.current.kid}
    return jwt.encode(claims, public * 2, algorithm="HS256", headers=header)


def _unsigned(claims: dict[str, object], runtime: Runtime) -> str:
    header = {"alg": "none", "typ": "JWT", "kid": runtime.keys.current.kid}

    def part(data: object) -> str:
        import json

        raw = json.dumps(data).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


def _resigned(claims: dict[str, object], runtime: Runtime) -> str:
    key = runtime.keys.current
    return jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": key.kid})


@pytest.mark.parametrize(
    "defect",
    ["alg_none", "hs256_public_key", "wrong_issuer", "expired", "no_scope_claim", "unknown_kid"],
)
async def test_token_defects_are_401(api: httpx.AsyncClient, runtime: Runtime, defect: str) -> None:
    tenant = await make_tenant(runtime)
    claims = jwt.decode(
        await token(api, tenant.client_id, tenant.secret), options={"verify_signature": False}
    )
    if defect == "alg_none":
        forged = _unsigned(claims, runtime)
    elif defect == "hs256_public_key":
        forged = _hs256_with_public_key(claims, runtime)
    elif defect == "wrong_issuer":
        forged = _resigned({**claims, "iss": "https://evil.example/identity"}, runtime)
    elif defect == "expired":
        forged = _resigned({**claims, "exp": claims["iat"] - 10}, runtime)
    elif defect == "no_scope_claim":
        forged = _resigned({k: v for k, v in claims.items() if k != "scope"}, runtime)
    else:
        key = runtime.keys.current
        forged = jwt.encode(claims, key.private, algorithm="EdDSA", headers={"kid": "nokey"})
    response = await api.get(UNITS, headers=bearer(forged))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


async def test_tokens_signed_before_a_key_rotation_still_verify(
    api: httpx.AsyncClient, runtime: Runtime
) -> None:
    tenant = await make_tenant(runtime)
    before = await token(api, tenant.client_id, tenant.secret)
    ring = runtime.keys
    # Only the data directory's ring rotates; configured keys (HOOKYARD_JWT_KEYS) change by a
    # restart, and the `settings` fixture leaves them out whatever the shell exports.
    assert isinstance(ring, KeyRing), type(ring)
    old_kid = ring.current.kid
    ring.rotate()
    after = await token(api, tenant.client_id, tenant.secret)
    assert jwt.get_unverified_header(after)["kid"] != old_kid
    kids = {key["kid"] for key in (await api.get("/identity/.well-known/jwks.json")).json()["keys"]}
    assert old_kid in kids
    assert len(kids) == 2
    for access in (before, after):
        assert (await api.get(UNITS, headers=bearer(access))).status_code == 200
