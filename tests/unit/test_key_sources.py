"""Keys given in configuration (many hosts): the variables and key files, their errors, and ids
that are the same on every host with the same key."""

from __future__ import annotations

import base64
from pathlib import Path

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from hookyard import errors, secretbox
from hookyard.config import Settings
from hookyard.services import keys
from hookyard.store import sealing

SEEDS = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=4, unique=True)
SEPARATORS = st.sampled_from([",", "\n", ", ", "\r\n", " \n"])


@given(seeds=SEEDS, separator=SEPARATORS)
def test_a_key_file_gives_the_same_ring_whatever_separates_its_keys(
    seeds: list[bytes], separator: str
) -> None:
    text = separator.join(base64.b64encode(seed).decode() for seed in seeds) + "\n"
    ring = keys.parse_keys(text)
    assert [key.kid for key in ring] == [keys.configured_key(seed).kid for seed in seeds]
    assert len({key.kid for key in ring}) == len(seeds)


@given(seeds=SEEDS, separator=SEPARATORS)
def test_sealing_keys_parse_in_order_whatever_separates_them(
    seeds: list[bytes], separator: str
) -> None:
    assert (
        secretbox.parse_keys(separator.join(base64.b64encode(s).decode() for s in seeds)) == seeds
    )


@given(text=st.text(max_size=60))
def test_a_malformed_jwt_key_text_is_a_value_error_or_keys(text: str) -> None:
    try:
        parsed = keys.parse_keys(text)
    except ValueError as exc:
        message = str(exc)
        parsed = []
    else:
        message = "JWT key must be"
    assert "JWT key must be" in message
    assert all(len(key.kid) == 20 for key in parsed)


def test_a_token_signed_on_one_host_verifies_on_another_with_the_same_key_text() -> None:
    text = keys.new_key_text()
    one, other = keys.FixedKeyRing(keys.parse_keys(text)), keys.FixedKeyRing(keys.parse_keys(text))
    signer = one.current
    token = jwt.encode({"sub": "x"}, signer.private, algorithm="EdDSA", headers={"kid": signer.kid})
    found = other.find(jwt.get_unverified_header(token)["kid"])
    assert found is not None
    assert jwt.decode(token, found.public, algorithms=["EdDSA"])["sub"] == "x"
    assert one.jwks() == other.jwks()


def test_the_first_key_signs_and_the_rest_stay_published(tmp_path: Path) -> None:
    new, old = keys.new_key_text(), keys.new_key_text()
    path = tmp_path / "jwt.keys"
    path.write_text(f"{new}\n{old}\n")
    ring = keys.configured_ring(Settings(data_dir=tmp_path, jwt_keys_file=path))
    assert ring is not None
    assert ring.current.kid == keys.parse_keys(new)[0].kid
    assert [jwk["kid"] for jwk in ring.jwks()["keys"]] == [key.kid for key in ring.keys]
    assert len(ring.keys) == 2
    assert not (tmp_path / "jwt").exists()


def test_both_a_variable_and_a_file_for_one_kind_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="HOOKYARD_JWT_KEYS or HOOKYARD_JWT_KEYS_FILE"):
        Settings(jwt_keys=keys.new_key_text(), jwt_keys_file=tmp_path / "jwt.keys")
    secret = base64.b64encode(secretbox.new_key()).decode()
    with pytest.raises(ValidationError, match="HOOKYARD_SECRET_KEY or HOOKYARD_SECRET_KEY_FILE"):
        Settings(secret_key=secret, secret_key_file=tmp_path / "secret.keys")


def test_a_missing_key_file_names_the_setting_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "jwt.keys"
    with pytest.raises(errors.Misconfigured) as caught:
        keys.configured_ring(Settings(data_dir=tmp_path, jwt_keys_file=missing))
    assert caught.value.detail.startswith(f"HOOKYARD_JWT_KEYS_FILE: cannot read {missing}")
    with pytest.raises(errors.Misconfigured, match="HOOKYARD_SECRET_KEY_FILE: cannot read"):
        sealing.sealer_for(Settings(data_dir=tmp_path, secret_key_file=missing))


@pytest.mark.parametrize("text", ["", "\n\n", "not-base64!", base64.b64encode(b"short").decode()])
def test_an_empty_or_bad_key_file_is_refused_with_the_fix(tmp_path: Path, text: str) -> None:
    path = tmp_path / "keys"
    path.write_text(text)
    with pytest.raises(errors.Misconfigured) as jwt_error:
        keys.configured_ring(Settings(data_dir=tmp_path, jwt_keys_file=path))
    assert "hookyard keys generate jwt" in jwt_error.value.detail
    with pytest.raises(errors.Misconfigured) as secret_error:
        sealing.sealer_for(Settings(data_dir=tmp_path, secret_key_file=path))
    assert "hookyard keys generate secret" in secret_error.value.detail
    assert not (tmp_path / "secretbox").exists()


def test_a_sealing_key_file_seals_and_opens_on_any_host_with_it(tmp_path: Path) -> None:
    path = tmp_path / "secret.keys"
    path.write_text(base64.b64encode(secretbox.new_key()).decode() + "\n")
    one = sealing.sealer_for(Settings(data_dir=tmp_path / "a", secret_key_file=path))
    other = sealing.sealer_for(Settings(data_dir=tmp_path / "b", secret_key_file=path))
    assert other.unseal(one.seal("whsec_x", "rec-1"), "rec-1") == "whsec_x"
    assert one.fingerprints == other.fingerprints
    (fingerprint,) = one.fingerprints.values()
    assert path.read_text().strip() not in fingerprint
