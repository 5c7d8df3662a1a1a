"""The framework-free core of every adapter: one request in, the reply to send out."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hookyard import errors, signing
from hookyard.receiver import challenge, events, verification


@dataclass(frozen=True)
class Reply:
    """What to answer: `event` is set when a POST verified, `error` when it did not."""

    status: int
    body: str = ""
    event: events.Event | None = None
    error: errors.HookyardError | None = None
    content_type: str = challenge.CONTENT_TYPE


class Webhook:
    """A callback URL's receiving logic: answers challenges and verifies deliveries.

    `secret_key` is checked at once (InvalidSecret when it is not base64 of 16 to 64 bytes).
    """

    def __init__(
        self,
        secret_key: str | Sequence[str],
        *,
        tolerance: int = verification.DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = [secret_key] if isinstance(secret_key, str) else list(secret_key)
        if not self._secrets:
            raise signing.InvalidSecret("give at least one secret key")
        for secret in self._secrets:
            signing.decode_secret(secret)
        self._tolerance = tolerance
        self._clock = clock

    def verify(self, headers: Mapping[str, str], body: bytes) -> events.Event:
        """The typed event, or WebhookVerificationFailed / InvalidInput (see `receiver.verify`)."""
        return verification.verify(
            self._secrets, headers, body, self._tolerance, now=int(self._clock())
        )

    def reply(
        self, method: str, query: Mapping[str, str] | str, headers: Mapping[str, str], body: bytes
    ) -> Reply:
        """The answer to one request: a challenge GET, a delivery POST, or anything else."""
        if method.upper() == "GET":
            return self._challenge(query)
        if method.upper() != "POST":
            return Reply(405, "only GET (challenge) and POST (events) are answered here")
        try:
            return Reply(200, event=self.verify(headers, body))
        except errors.WebhookVerificationFailed as exc:
            return Reply(401, exc.detail, error=exc)
        except errors.InvalidInput as exc:
            return Reply(400, exc.detail, error=exc)

    @staticmethod
    def _challenge(query: Mapping[str, str] | str) -> Reply:
        value = challenge.challenge_response(query)
        if value is None:
            return Reply(400, "a GET here must carry a challenge query parameter")
        return Reply(200, value)
