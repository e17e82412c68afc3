"""Keys: base64/hex/bytes forms, derivation against wg(8), secrets never shown."""

from __future__ import annotations

import base64
import os
import pickle
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wgcore import PresharedKey, PrivateKey, PublicKey
from wgcore._native import derive_public_key
from wgcore.errors import InvalidArgumentError
from wgcore.keys import x25519

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


@given(raw_keys)
def test_public_key_matches_libwg(raw: bytes) -> None:
    assert bytes(PrivateKey(raw).public_key) == derive_public_key(raw)


# RFC 7748: section 6.1's key pairs and shared secret, and section 5.2's
# X25519 of an arbitrary point, once and iterated (k, u = X25519(k, u), k).
_HEX = bytes.fromhex


def test_x25519_rfc7748_vectors() -> None:
    alice = _HEX("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    bob = _HEX("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
    alice_public = _HEX("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    bob_public = _HEX("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    assert bytes(PrivateKey(alice).public_key) == alice_public
    assert bytes(PrivateKey(bob).public_key) == bob_public
    shared = _HEX("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    assert x25519(alice, bob_public) == x25519(bob, alice_public) == shared
    assert x25519(_HEX("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                  _HEX("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")) == _HEX(
        "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
    k = u = (9).to_bytes(32, "little")
    found = []
    for _ in range(1000):
        k, u = x25519(k, u), k
        found.append(k)
    assert found[0] == _HEX("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
    assert found[-1] == _HEX("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")


def test_public_key_in_a_forked_child() -> None:
    """libwg's Go runtime does not survive fork(); the derivation needs none."""
    key = PrivateKey.generate()
    expected = derive_public_key(bytes(key))  # the parent has libwg loaded and running
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report the derived key, then leave without cleanup
        try:
            os.write(write, bytes(PrivateKey(bytes(key)).public_key))
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        got = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert got == expected


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
