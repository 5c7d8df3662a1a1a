"""Sealed secrets: round trips, key rotation, tampering and record binding fail loudly."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hookyard import secretbox
from hookyard.secretbox import SecretBox, SecretBoxError

OLD = ("k1", secretbox.new_key())
NEW = ("k2", secretbox.new_key())


@given(st.text(max_size=200), st.text(min_size=1, max_size=40))
def test_what_is_sealed_opens(plaintext: str, context: str) -> None:
    box = SecretBox([OLD])
    sealed = box.seal(plaintext, context)
    assert sealed.startswith("hy1:k1:")
    assert box.open(sealed, context) == plaintext


def test_a_rotated_box_opens_old_values_and_seals_with_the_new_key() -> None:
    sealed = SecretBox([OLD]).seal("s3cret", "rec")
    rotated = SecretBox([NEW, OLD])
    assert rotated.open(sealed, "rec") == "s3cret"
    assert not rotated.is_current(sealed)
    assert rotated.is_current(rotated.seal("s3cret", "rec"))


def test_a_value_bound_to_one_record_does_not_open_for_another() -> None:
    box = SecretBox([OLD])
    with pytest.raises(SecretBoxError):
        box.open(box.seal("s3cret", "rec-1"), "rec-2")


@given(st.integers(min_value=8, max_value=60))
def test_any_tampering_is_detected(position: int) -> None:
    box = SecretBox([OLD])
    sealed = box.seal("s3cret-value", "rec")
    index = min(position, len(sealed) - 2)  # the last character also holds padding bits
    replacement = "A" if sealed[index] != "A" else "B"
    tampered = sealed[:index] + replacement + sealed[index + 1 :]
    with pytest.raises(SecretBoxError):
        box.open(tampered, "rec")


def test_a_missing_key_says_which() -> None:
    sealed = SecretBox([NEW]).seal("x", "rec")
    with pytest.raises(SecretBoxError, match="k2"):
        SecretBox([OLD]).open(sealed, "rec")


def test_values_written_before_encryption_read_back_as_they_are() -> None:
    assert SecretBox([OLD]).open("plain-legacy-value", "rec") == "plain-legacy-value"


@pytest.mark.parametrize("text", ["", "not base64!", "AAAA"])
def test_bad_key_text_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        secretbox.parse_key(text)
