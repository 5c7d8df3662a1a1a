"""Hookyard's one error tree. Every message tells the user what to do next.

    HookyardError
    ├── InvalidInput              bad body, query or argument (400); `errors` per field
    │   └── ChallengeFailed       the callback did not echo the challenge (400)
    ├── Unauthenticated           no, bad, expired or revoked token (401)
    ├── Forbidden                 scope or tenant outside the token's access (403)
    │   └── ApprovalRequired      the callback host awaits (or was refused) the operator's approval
    ├── NotFound                  no such record for this caller (404)
    ├── Conflict                  the request clashes with stored state (409)
    ├── PayloadTooLarge           body over the configured limit (413)
    ├── RateLimited               too many failed attempts; retry after N seconds (429)
    ├── Unavailable               the database cannot be reached; retry after N seconds (503)
    ├── AddressNotAllowed         an outbound destination the network guard refuses
    ├── Misconfigured             a setting or key file that keeps a process from starting
    ├── WebhookVerificationFailed a received webhook is not provably ours (receiver side, 401)
    │   ├── MissingHeader / InvalidTimestamp / TimestampOutOfTolerance
    │   └── NoMatchingSignature
    └── OAuthError                RFC 6749 §5.2 token endpoint errors
        ├── InvalidRequest / InvalidClient / InvalidGrant
        └── UnsupportedGrantType / InvalidScope

Only `hookyard.api` turns these into HTTP responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class HookyardError(Exception):
    """Base of every error Hookyard raises on purpose."""

    title = "Request failed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(HookyardError):
    """The request's content is wrong; `errors` maps a field to what is wrong with it."""

    title = "Invalid request"

    def __init__(self, detail: str, errors: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__(detail)
        self.errors = {key: list(value) for key, value in (errors or {}).items()}

    @classmethod
    def field(cls, name: str, message: str) -> InvalidInput:
        """One field is wrong."""
        return cls(f"{name}: {message}", {name: [message]})


class ChallengeFailed(InvalidInput):
    """The callback URL did not prove ownership by echoing the challenge."""

    title = "Challenge verification failed"


class Unauthenticated(HookyardError):
    title = "Unauthorized"


class Forbidden(HookyardError):
    title = "Forbidden"


class ApprovalRequired(Forbidden):
    """The callback url's host needs the operator's approval, which is pending or was refused."""

    title = "Callback host approval required"


class NotFound(HookyardError):
    title = "Not found"


class Conflict(HookyardError):
    title = "Conflict"


class IdempotencyKeyReused(HookyardError):
    """An Idempotency-Key sent again with a different request (IETF Idempotency-Key draft: 422)."""

    title = "Idempotency-Key reused"


class Unavailable(HookyardError):
    """The database cannot be reached (down, restarting, unreachable); nothing was changed."""

    title = "Service unavailable"

    def __init__(self, detail: str, retry_after: int = 5) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PayloadTooLarge(HookyardError):
    title = "Payload too large"


class RateLimited(HookyardError):
    title = "Too many requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AddressNotAllowed(HookyardError):
    """The network guard refused an outbound destination (SSRF protection)."""

    title = "Address not allowed"


class Misconfigured(HookyardError):
    """A setting, key file or key that keeps a process from starting; the message says the fix."""

    title = "Misconfigured"


class WebhookVerificationFailed(HookyardError):
    """A received webhook failed Standard Webhooks verification; answer it with 401."""

    title = "Webhook verification failed"


class MissingHeader(WebhookVerificationFailed):
    """A `webhook-id`, `webhook-timestamp` or `webhook-signature` header is absent."""


class InvalidTimestamp(WebhookVerificationFailed):
    """`webhook-timestamp` is not a whole number of unix seconds."""


class TimestampOutOfTolerance(WebhookVerificationFailed):
    """`webhook-timestamp` is too old (a replay?) or too far in the future (a clock off?)."""


class NoMatchingSignature(WebhookVerificationFailed):
    """No signature in `webhook-signature` matches the body under the secret key."""


class OAuthError(HookyardError):
    """An RFC 6749 §5.2 error of the token endpoint."""

    error = "invalid_request"
    status = 400


class InvalidRequest(OAuthError):
    error = "invalid_request"


class InvalidClient(OAuthError):
    error = "invalid_client"
    status = 401


class InvalidGrant(OAuthError):
    error = "invalid_grant"


class UnsupportedGrantType(OAuthError):
    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    error = "invalid_scope"
