"""Keys: base64/hex/bytes forms, derivation against wg(8), secrets never shown."""

from __future__ import annotations

import base64
import pickle
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wgcore import PresharedKey, PrivateKey, PublicKey
from wgcore.errors import InvalidArgumentError

raw_keys = st.binary(min_size=32, max_size=32)


@given(raw_keys, st.sampled_from([PrivateKey, PublicKey, PresharedKey]))
def test_base64_hex_and_bytes_round_trip(raw: bytes, cls: type[PublicKey]) -> None:
    key = cls(raw)
    assert bytes(key) == raw
    assert key.to_base64() == base64.b64encode(raw).decode()
    assert key.hex() == raw.hex()
    assert cls.from_base64(key.to_base64()) == key
    assert cls.from_hex(key.hex().upper()) == key
    assert cls.from_bytes(bytearray(raw)) == key
    assert hash(cls.from_hex(key.hex())) == hash(key)
    assert pickle.loads(pickle.dumps(key)) == key


@pytest.mark.tools("wg")
def test_public_key_matches_wg_pubkey() -> None:
    for _ in range(5):
        private = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout
        public = subprocess.run(["wg", "pubkey"], input=private, capture_output=True, text=True,
                                check=True).stdout.strip()
        assert PrivateKey.from_base64(private).public_key == PublicKey.from_base64(public)


@pytest.mark.tools("wg")
def test_generated_private_key_is_clamped_and_accepted_by_wg() -> None:
    key = PrivateKey.generate()
    raw = bytes(key)
    assert raw[0] & 7 == 0 and raw[31] & 128 == 0 and raw[31] & 64 == 64
    public = subprocess.run(["wg", "pubkey"], input=key.to_base64() + "\n", capture_output=True,
                            text=True, check=True).stdout.strip()
    assert str(key.public_key) == public
    assert PrivateKey.generate() != key
    assert PresharedKey.generate() != PresharedKey.generate()


def test_secret_keys_never_show_their_material() -> None:
    private, psk = PrivateKey.generate(), PresharedKey.generate()
    for key in (private, psk):
        for text in (repr(key), str(key), f"{key}", repr([key]), repr({"k": key})):
            assert key.to_base64() not in text and key.hex() not in text
            assert key.to_base64()[:10] not in text
    assert str(private.public_key) in repr(private)
    assert repr(psk) == "<PresharedKey (hidden)>"


def test_public_key_shows_base64() -> None:
    key = PrivateKey.generate().public_key
    assert str(key) == key.to_base64()
    assert repr(key) == f"PublicKey({key.to_base64()!r})"


def test_keys_of_different_kinds_are_never_equal() -> None:
    raw = bytes(range(32))
    assert PublicKey(raw) != PresharedKey(raw)
    assert PrivateKey(raw) != PublicKey(raw)
    assert len({PublicKey(raw), PublicKey(bytes(raw)), PresharedKey(raw)}) == 2


def test_keys_are_immutable() -> None:
    key = PublicKey(bytes(32))
    with pytest.raises(AttributeError):
        key._raw = b"x" * 32


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: PublicKey(b"short"), "must be 32 bytes, got 5"),
        (lambda: PublicKey.from_base64("AAAA"), "44 characters of base64"),
        (lambda: PublicKey.from_base64(base64.b64encode(bytes(33)).decode()), "44 characters"),
        (lambda: PrivateKey.from_base64("!" * 43 + "="), "not valid base64"),
        (lambda: PrivateKey.from_base64(base64.b64encode(bytes(31)).decode() + "AAAA"), "44 characters"),
        (lambda: PresharedKey.from_hex("00" * 31), "64 hex digits"),
        (lambda: PresharedKey.from_hex("zz" * 32), "not valid hex"),
    ],
)
def test_bad_keys_raise_invalid_argument(call: object, message: str) -> None:
    assert callable(call)
    with pytest.raises(InvalidArgumentError, match=message):
        call()
    with pytest.raises(ValueError):  # InvalidArgumentError is a ValueError
        call()


def test_errors_do_not_echo_a_mistyped_private_key() -> None:
    text = PrivateKey.generate().to_base64()
    typo = text[:20] + "!" + text[21:]
    with pytest.raises(InvalidArgumentError) as info:
        PrivateKey.from_base64(typo)
    assert text[:20] not in str(info.value)
