"""Standard Webhooks signing and verification, with interop both ways with the reference libs."""

from __future__ import annotations

import base64
import string
import time
from datetime import UTC, datetime

import pytest
import standardwebhooks
import svix
from hypothesis import given
from hypothesis import strategies as st

from hookyard import errors, signing

NOW = 1_790_000_000
TOLERANCE = signing.DEFAULT_TOLERANCE

keys = st.binary(min_size=signing.MIN_KEY_BYTES, max_size=signing.MAX_KEY_BYTES)
secrets_ = keys.map(lambda key: base64.b64encode(key).decode())
prefixed = st.tuples(secrets_, st.booleans()).map(lambda s: signing.PREFIX + s[0] if s[1] else s[0])
msg_ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=1, max_size=40)
bodies = st.binary(max_size=512)
offsets = st.integers(min_value=-TOLERANCE, max_value=TOLERANCE)


def signed(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return signing.headers([secret], msg_id, timestamp, body)


def verify(secret: str, headers: dict[str, str], body: bytes, now: int = NOW) -> None:
    signing.verify([secret], headers, body, now=now, tolerance=TOLERANCE)


# Errors first.


@pytest.mark.parametrize("header", [signing.ID_HEADER, "webhook-timestamp", "webhook-signature"])
def test_a_missing_or_empty_header_is_named(header: str) -> None:
    secret = signing.generate_secret()
    headers = signed(secret, "msg_1", NOW, b"{}")
    for value in (None, "", "  "):
        broken = {k: v for k, v in headers.items() if k != header}
        if value is not None:
            broken[header] = value
        with pytest.raises(errors.MissingHeader, match=header):
            verify(secret, broken, b"{}")


@pytest.mark.parametrize("value", ["abc", "-5", "1.5", "1e9", "١٢٣", "9" * 21, "0x10"])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(value: str) -> None:
    secret = signing.generate_secret()
    headers = signed(secret, "msg_1", NOW, b"{}") | {"webhook-timestamp": value}
    with pytest.raises(errors.InvalidTimestamp, match="not unix seconds"):
        verify(secret, headers, b"{}")


@pytest.mark.parametrize(
    "secret",
    ["", "not base64!", base64.b64encode(b"x" * 15).decode(), base64.b64encode(b"x" * 65).decode()],
)
def test_a_bad_secret_is_refused_with_a_reason(secret: str) -> None:
    with pytest.raises(signing.InvalidSecret, match="secret key must"):
        signing.decode_secret(secret)
    with pytest.raises(signing.InvalidSecret):
        signing.verify([secret], {}, b"", now=NOW)


def test_no_secret_matches_nothing() -> None:
    headers = signed(signing.generate_secret(), "msg_1", NOW, b"{}")
    with pytest.raises(errors.NoMatchingSignature, match="secret key"):
        signing.verify([], headers, b"{}", now=NOW)


def test_every_verification_error_is_a_webhook_verification_failure() -> None:
    for kind in (
        errors.MissingHeader,
        errors.InvalidTimestamp,
        errors.TimestampOutOfTolerance,
        errors.NoMatchingSignature,
    ):
        assert issubclass(kind, errors.WebhookVerificationFailed)


# Secrets.


def test_generated_secrets_are_44_base64_characters_of_32_fresh_bytes() -> None:
    first, second = signing.generate_secret(), signing.generate_secret()
    assert len(first) == 44
    assert len(signing.decode_secret(first)) == signing.GENERATED_KEY_BYTES
    assert first != second


@given(secret=secrets_)
def test_the_prefix_is_optional_and_normalised_away(secret: str) -> None:
    assert signing.decode_secret(signing.PREFIX + secret) == signing.decode_secret(secret)
    assert signing.normalise_secret(signing.PREFIX + secret) == secret
    assert signing.sign(signing.PREFIX + secret, "m", 1, b"x") == signing.sign(secret, "m", 1, b"x")


# Properties of our own signer and verifier.


@given(secret=prefixed, msg_id=msg_ids, body=bodies, offset=offsets)
def test_any_valid_message_within_the_tolerance_verifies(
    secret: str, msg_id: str, body: bytes, offset: int
) -> None:
    verify(secret, signed(secret, msg_id, NOW + offset, body), body)


@given(secret=secrets_, msg_id=msg_ids, body=bodies, other=bodies)
def test_any_change_to_the_body_fails(secret: str, msg_id: str, body: bytes, other: bytes) -> None:
    if other == body:
        other = body + b" "
    with pytest.raises(errors.NoMatchingSignature):
        verify(secret, signed(secret, msg_id, NOW, body), other)


@given(secret=secrets_, msg_id=msg_ids, other=msg_ids, body=bodies)
def test_any_change_to_the_id_fails(secret: str, msg_id: str, other: str, body: bytes) -> None:
    if other == msg_id:
        other = msg_id + "x"
    headers = signed(secret, msg_id, NOW, body) | {"webhook-id": other}
    with pytest.raises(errors.NoMatchingSignature):
        verify(secret, headers, body)


@given(secret=secrets_, body=bodies, offset=offsets, shift=offsets.filter(bool), pad=st.booleans())
def test_any_change_to_the_timestamp_fails(
    secret: str, body: bytes, offset: int, shift: int, pad: bool
) -> None:
    timestamp = NOW + offset
    changed = f"0{timestamp}" if pad else str(timestamp + shift)
    headers = signed(secret, "msg_1", timestamp, body) | {"webhook-timestamp": changed}
    with pytest.raises((errors.NoMatchingSignature, errors.TimestampOutOfTolerance)):
        verify(secret, headers, body)


@given(secret=secrets_, body=bodies, index=st.integers(min_value=3), flip=st.integers(1, 255))
def test_any_change_to_the_signature_fails(secret: str, body: bytes, index: int, flip: int) -> None:
    headers = signed(secret, "msg_1", NOW, body)
    raw = bytearray(base64.b64decode(headers["webhook-signature"][3:]))
    raw[index % len(raw)] ^= flip
    headers["webhook-signature"] = "v1," + base64.b64encode(bytes(raw)).decode()
    with pytest.raises(errors.NoMatchingSignature):
        verify(secret, headers, body)


@given(secret=secrets_, other=secrets_, body=bodies)
def test_a_signature_made_with_another_key_fails(secret: str, other: str, body: bytes) -> None:
    if signing.decode_secret(other) == signing.decode_secret(secret):
        other = signing.generate_secret()
    with pytest.raises(errors.NoMatchingSignature):
        verify(secret, signed(other, "msg_1", NOW, body), body)


@given(secret=secrets_, body=bodies, late=st.integers(min_value=TOLERANCE + 1, max_value=10**9))
def test_timestamps_outside_the_tolerance_fail_both_ways(
    secret: str, body: bytes, late: int
) -> None:
    with pytest.raises(errors.TimestampOutOfTolerance, match="old"):
        verify(secret, signed(secret, "msg_1", NOW - late, body), body)
    with pytest.raises(errors.TimestampOutOfTolerance, match="future"):
        verify(secret, signed(secret, "msg_1", NOW + late, body), body)


@given(
    secret=secrets_,
    others=st.lists(secrets_, min_size=1, max_size=4),
    position=st.integers(min_value=0),
    body=bodies,
)
def test_one_matching_signature_among_several_is_enough(
    secret: str, others: list[str], position: int, body: bytes
) -> None:
    keys = [*others]
    keys.insert(position % (len(keys) + 1), secret)
    headers = signing.headers(keys, "msg_1", NOW, body)
    assert len(headers["webhook-signature"].split(" ")) == len(keys)
    verify(secret, headers, body)
    decoy = [s for s in others if signing.decode_secret(s) != signing.decode_secret(secret)]
    if decoy:
        with pytest.raises(errors.NoMatchingSignature):
            verify(secret, signing.headers(decoy, "msg_1", NOW, body), body)


@given(secret=secrets_, other=secrets_, body=bodies)
def test_a_receiver_holding_two_keys_accepts_either(secret: str, other: str, body: bytes) -> None:
    for used in (secret, other):
        headers = signed(used, "msg_1", NOW, body)
        signing.verify([other, secret], headers, body, now=NOW)


def test_header_names_are_matched_in_any_letter_case() -> None:
    secret = signing.generate_secret()
    headers = {k.title(): v for k, v in signed(secret, "msg_1", NOW, b"{}").items()}
    verify(secret, headers, b"{}")


def test_unknown_signature_versions_are_ignored() -> None:
    secret = signing.generate_secret()
    headers = signed(secret, "msg_1", NOW, b"{}")
    headers["webhook-signature"] = "v1a,abc " + headers["webhook-signature"] + " garbage"
    verify(secret, headers, b"{}")


# Interop both ways with the Standard Webhooks and Svix reference libraries. They check the
# timestamp against the real clock, so these messages are stamped now.

texts = st.text(max_size=256)


@given(secret=prefixed, msg_id=msg_ids, text=texts)
def test_hookyard_signatures_verify_with_standardwebhooks_and_svix(
    secret: str, msg_id: str, text: str
) -> None:
    body = text.encode()
    headers = signed(secret, msg_id, int(time.time()), body)
    standardwebhooks.Webhook(secret).verify(body, headers, json_parse=False)
    svix.Webhook(secret).verify(body, headers)


@given(secret=prefixed, msg_id=msg_ids, text=texts)
def test_standardwebhooks_and_svix_signatures_verify_with_hookyard(
    secret: str, msg_id: str, text: str
) -> None:
    now = int(time.time())
    moment = datetime.fromtimestamp(now, UTC)
    for library in (standardwebhooks.Webhook(secret), svix.Webhook(secret)):
        signature = library.sign(msg_id, moment, text)
        headers = {
            "webhook-id": msg_id,
            "webhook-timestamp": str(now),
            "webhook-signature": signature,
        }
        signing.verify([secret], headers, text.encode(), now=now)


@given(secret=secrets_, text=texts.filter(bool))
def test_the_libraries_reject_what_hookyard_rejects(secret: str, text: str) -> None:
    headers = signed(secret, "msg_1", int(time.time()), text.encode())
    tampered = (text + "!").encode()
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        standardwebhooks.Webhook(secret).verify(tampered, headers, json_parse=False)
    with pytest.raises(errors.NoMatchingSignature):
        signing.verify([secret], headers, tampered, now=int(time.time()))
