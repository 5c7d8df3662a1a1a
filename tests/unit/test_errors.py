"""The error tree carries each error's meaning for a caller, once: the status the API and the
console answer, a stable code, whether a retry can succeed. A new class must say all of it here
and in the module's drawing of the tree."""

from __future__ import annotations

import inspect

import pytest

from hookyard import errors

MEANING = {
    errors.HookyardError: (400, "request_failed", False),
    errors.InvalidInput: (400, "invalid_input", False),
    errors.ChallengeFailed: (400, "challenge_failed", False),
    errors.Unauthenticated: (401, "unauthenticated", False),
    errors.Forbidden: (403, "forbidden", False),
    errors.ApprovalRequired: (403, "approval_required", False),
    errors.NotFound: (404, "not_found", False),
    errors.Conflict: (409, "conflict", False),
    errors.PayloadTooLarge: (413, "payload_too_large", False),
    errors.IdempotencyKeyReused: (422, "idempotency_key_reused", False),
    errors.RateLimited: (429, "rate_limited", True),
    errors.Unavailable: (503, "unavailable", True),
    errors.StorageFull: (503, "storage_full", True),
    errors.AddressNotAllowed: (400, "address_not_allowed", False),
    errors.Misconfigured: (503, "misconfigured", False),
    errors.SecretsUnreadable: (503, "secrets_unreadable", False),
    errors.WebhookVerificationFailed: (401, "webhook_verification_failed", False),
    errors.MissingHeader: (401, "webhook_verification_failed", False),
    errors.InvalidTimestamp: (401, "webhook_verification_failed", False),
    errors.TimestampOutOfTolerance: (401, "webhook_verification_failed", False),
    errors.NoMatchingSignature: (401, "webhook_verification_failed", False),
    errors.OAuthError: (400, "oauth_error", False),
    errors.InvalidRequest: (400, "oauth_error", False),
    errors.InvalidClient: (401, "oauth_error", False),
    errors.InvalidGrant: (400, "oauth_error", False),
    errors.UnsupportedGrantType: (400, "oauth_error", False),
    errors.InvalidScope: (400, "oauth_error", False),
}


def test_every_error_class_is_in_the_table_and_the_drawing() -> None:
    classes = {
        kind
        for _, kind in inspect.getmembers(errors, inspect.isclass)
        if issubclass(kind, errors.HookyardError)
    }
    assert classes == set(MEANING)
    drawing = errors.__doc__ or ""
    for kind in classes:
        assert kind.__name__ in drawing, f"{kind.__name__} is missing from the tree's drawing"


@pytest.mark.parametrize("kind", list(MEANING), ids=lambda kind: kind.__name__)
def test_each_error_says_what_it_means_for_a_caller(kind: type[errors.HookyardError]) -> None:
    assert (kind.status, kind.code, kind.retryable) == MEANING[kind]
    assert kind.problem_type == "about:blank"
    assert kind.title


def test_a_full_disk_is_an_outage_to_callers_and_the_operators_to_fix() -> None:
    full = errors.StorageFull("no room; try again", 30, operator_detail="free space on /data")
    assert isinstance(full, errors.Unavailable)
    assert full.retry_after == 30
    assert full.detail == "no room; try again"
    assert str(full) == "free space on /data"


def test_unreadable_secrets_tell_the_caller_nothing_of_the_key() -> None:
    unreadable = errors.SecretsUnreadable("no encryption key 'k1'; check HOOKYARD_SECRET_KEY")
    assert isinstance(unreadable, errors.Misconfigured)
    assert unreadable.detail == errors.SecretsUnreadable.DETAIL
    assert "HOOKYARD_SECRET_KEY" not in unreadable.detail
    assert unreadable.operator_detail is not None
    assert "HOOKYARD_SECRET_KEY" in unreadable.operator_detail
    assert unreadable.retry_after is None
