"""Hookyard's one error tree. Every message tells the user what to do next.

Each class also says what it means for a caller, read by the doors that answer one (`api` as
problem+json, `console` as an error page): `status`, `problem_type` and a stable `code`, whether a
retry can succeed (`retryable`, with `retry_after` seconds where Hookyard knows how long), and
`operator_detail` for an error only the operator can fix: the door logs it once at ERROR, the CLI
prints it, and the caller sees only `detail`.

    HookyardError                   status  code
    ├── InvalidInput                   400  invalid_input          `errors` per field
    │   └── ChallengeFailed            400  challenge_failed       the callback did not echo it
    ├── Unauthenticated                401  unauthenticated        no, bad, expired, revoked token
    ├── Forbidden                      403  forbidden              scope or tenant out of reach
    │   └── ApprovalRequired           403  approval_required      the callback host awaits approval
    ├── NotFound                       404  not_found              no such record for this caller
    ├── Conflict                       409  conflict               clashes with stored state
    ├── PayloadTooLarge                413  payload_too_large      body over the configured limit
    ├── IdempotencyKeyReused           422  idempotency_key_reused the key, another request
    ├── RateLimited                    429  rate_limited           retryable, after N seconds
    ├── Unavailable                    503  unavailable            the database is away; retryable
    │   └── StorageFull                503  storage_full           its disk is full; retryable
    ├── AddressNotAllowed              400  address_not_allowed    the network guard refuses it
    ├── Misconfigured                  503  misconfigured          a setting or key file is wrong
    │   └── SecretsUnreadable          503  secrets_unreadable     sealed secrets do not open
    ├── WebhookVerificationFailed      401  webhook_verification_failed   (receiver side)
    │   ├── MissingHeader / InvalidTimestamp / TimestampOutOfTolerance
    │   └── NoMatchingSignature
    └── OAuthError                     400  oauth_error            RFC 6749 §5.2 JSON, its `error`
        ├── InvalidRequest / InvalidGrant / UnsupportedGrantType / InvalidScope      400
        └── InvalidClient                                                            401

Only `hookyard.api` and `hookyard.console` turn these into HTTP responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar

PROBLEM_TYPE = "about:blank"
"""RFC 9457's type for a problem the status and title describe: every one of Hookyard's."""


class HookyardError(Exception):
    """Base of every error Hookyard raises on purpose."""

    status: ClassVar[int] = 400
    problem_type: ClassVar[str] = PROBLEM_TYPE
    code: ClassVar[str] = "request_failed"
    title: ClassVar[str] = "Request failed"
    retryable: ClassVar[bool] = False
    summary: ClassVar[str | None] = None
    """One plain sentence for a person (the console's error page) where `detail` is written for
    programs and logs; None shows `detail`."""

    def __init__(self, detail: str, *, operator_detail: str | None = None) -> None:
        super().__init__(operator_detail or detail)
        self.detail = detail
        self.operator_detail = operator_detail
        self.retry_after: int | None = None


class InvalidInput(HookyardError):
    """The request's content is wrong; `errors` maps a field to what is wrong with it."""

    code = "invalid_input"
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

    code = "challenge_failed"
    title = "Challenge verification failed"


class Unauthenticated(HookyardError):
    status = 401
    code = "unauthenticated"
    title = "Unauthorized"


class Forbidden(HookyardError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class ApprovalRequired(Forbidden):
    """The callback url's host needs the operator's approval, which is pending or was refused."""

    code = "approval_required"
    title = "Callback host approval required"


class NotFound(HookyardError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(HookyardError):
    status = 409
    code = "conflict"
    title = "Conflict"


class IdempotencyKeyReused(HookyardError):
    """An Idempotency-Key sent again with a different request (IETF Idempotency-Key draft: 422)."""

    status = 422
    code = "idempotency_key_reused"
    title = "Idempotency-Key reused"


class Unavailable(HookyardError):
    """The database cannot be reached (down, restarting, unreachable); nothing was changed."""

    status = 503
    code = "unavailable"
    title = "Service unavailable"
    retryable = True
    summary = "The database is not answering; try again shortly."

    def __init__(
        self, detail: str, retry_after: int = 5, *, operator_detail: str | None = None
    ) -> None:
        super().__init__(detail, operator_detail=operator_detail)
        self.retry_after = retry_after


class StorageFull(Unavailable):
    """The disk that holds the database is full: nothing could be written, nothing was changed.
    `operator_detail` names the database and what to do; a retry succeeds once there is room."""

    code = "storage_full"
    title = "Storage full"
    summary = "Hookyard's storage is full, so this could not be saved; try again later."


class PayloadTooLarge(HookyardError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class RateLimited(HookyardError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"
    retryable = True

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class AddressNotAllowed(HookyardError):
    """The network guard refused an outbound destination (SSRF protection)."""

    code = "address_not_allowed"
    title = "Address not allowed"


class Misconfigured(HookyardError):
    """A setting, key file or key that is wrong; the message says the fix. At start-up it keeps
    a process from starting; met while answering, only the operator can put it right (503)."""

    status = 503
    code = "misconfigured"
    title = "Misconfigured"


class SecretsUnreadable(Misconfigured):
    """A sealed secret does not open with this process's keys (`HOOKYARD_SECRET_KEY`, its file or
    the data directory's key files). The caller is told only that; `operator_detail` says which
    key is missing and what to do."""

    code = "secrets_unreadable"
    title = "Service misconfigured"
    DETAIL: ClassVar[str] = "Hookyard cannot read its sealed secrets; the operator has been told."

    def __init__(self, operator_detail: str) -> None:
        super().__init__(self.DETAIL, operator_detail=operator_detail)


class WebhookVerificationFailed(HookyardError):
    """A received webhook failed Standard Webhooks verification; answer it with 401."""

    status = 401
    code = "webhook_verification_failed"
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
    """An RFC 6749 §5.2 error of the token endpoint, answered as that RFC's JSON: `error` is
    its code there."""

    error: ClassVar[str] = "invalid_request"
    code = "oauth_error"


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
