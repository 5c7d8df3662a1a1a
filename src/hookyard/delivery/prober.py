"""The challenge prober: `GET <url>?challenge=<value>`, through the network guard, with a timeout
and no redirects. The callback passes when it answers 200 with exactly the value as its body
(surrounding whitespace ignored). The outcome says what happened in words an integrator can act on.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

import aiohttp

from hookyard import errors
from hookyard.delivery import http
from hookyard.delivery.netguard import Guard

CHALLENGE_BYTES = 32  # token_urlsafe(32): 43 URL-safe characters
MAX_BODY_BYTES = 4096


@dataclass(frozen=True)
class ChallengeOutcome:
    """How one challenge ended."""

    passed: bool
    detail: str
    status: int | None = None


def new_challenge() -> str:
    """A fresh challenge value: at least 32 URL-safe random characters."""
    return secrets.token_urlsafe(CHALLENGE_BYTES)


def challenge_url(url: str, value: str) -> str:
    """`url` with `challenge=<value>` merged into its query string (any fragment dropped)."""
    base = url.split("#", 1)[0]
    if "?" not in base:
        return f"{base}?challenge={value}"
    separator = "" if base.endswith(("?", "&")) else "&"
    return f"{base}{separator}challenge={value}"


def _judge(status: int, body: bytes, value: str, location: str | None) -> ChallengeOutcome:
    if 300 <= status < 400:
        target = f" to {location}" if location else ""
        return ChallengeOutcome(
            False,
            f"status {status}: the callback redirected{target}, and redirects are not "
            "followed; subscribe the final url instead",
            status,
        )
    if status != 200:
        return ChallengeOutcome(False, f"status {status}: the callback must answer 200", status)
    if body.decode("utf-8", "replace").strip() != value:
        return ChallengeOutcome(
            False,
            "body did not match: the callback answered 200 but its body was not the challenge "
            "value; answer with exactly the value of the challenge query parameter",
            status,
        )
    return ChallengeOutcome(True, "the callback echoed the challenge", status)


class Prober:
    """Challenges callback urls through `guard`, waiting at most `timeout` seconds each."""

    def __init__(self, guard: Guard, *, timeout: float) -> None:
        self._guard = guard
        self._timeout = timeout

    async def challenge(self, url: str) -> ChallengeOutcome:
        """Send one challenge to `url` and say how it went; never raises for the callback's
        faults."""
        value = new_challenge()
        try:
            return await self._send(challenge_url(url, value), value)
        except errors.AddressNotAllowed as exc:
            return ChallengeOutcome(False, _address_detail(exc.detail))
        except TimeoutError:
            return ChallengeOutcome(
                False, f"timed out: the callback did not answer within {self._timeout:g} s"
            )
        except aiohttp.ClientConnectorError as exc:
            return ChallengeOutcome(False, _connect_detail(exc))
        except aiohttp.ClientError as exc:
            return ChallengeOutcome(False, f"the request failed: {_describe(exc)}")

    async def _send(self, url: str, value: str) -> ChallengeOutcome:
        timeout = aiohttp.ClientTimeout(total=self._timeout)
        async with (
            http.client_session(self._guard, limit=1, timeout=timeout) as session,
            http.request(session, "GET", url) as response,
        ):
            body = await http.read_prefix(response, MAX_BODY_BYTES)
            location = response.headers.get("Location")
            return _judge(response.status, body, value, location)


def _address_detail(detail: str) -> str:
    text = detail.removeprefix("address not allowed: ")
    return f"address not allowed: {text}"


def _connect_detail(exc: aiohttp.ClientConnectorError) -> str:
    cause = exc.os_error
    where = f"{exc.host}:{exc.port}"
    if isinstance(cause, ConnectionRefusedError):
        return f"connection refused by {where} (is the callback server running there?)"
    if isinstance(cause, asyncio.TimeoutError):
        return f"timed out connecting to {where}"
    return f"could not connect to {where}: {_describe(cause)}"


def _describe(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
