"""WireGuard keys: 32-byte Curve25519 keys in base64, hex or raw bytes.

Private and preshared keys never show their material in ``repr``/``str``
or in error messages; read it explicitly with :meth:`Key.to_base64`,
:meth:`Key.hex` or ``bytes(key)``.
"""

from __future__ import annotations

import binascii
import hmac
import os
from typing import ClassVar, TypeVar

from wgcore.errors import InvalidArgumentError

__all__ = ["Key", "PresharedKey", "PrivateKey", "PublicKey", "KEY_SIZE"]

KEY_SIZE = 32
_B64_LEN = 44

K = TypeVar("K", bound="Key")


class Key:
    """A 32-byte key; immutable, comparable and hashable.

    Build one from raw bytes (``Key(b"...")``), :meth:`from_base64` or
    :meth:`from_hex`; keys of different classes never compare equal.
    """

    __slots__ = ("_raw",)
    _secret: ClassVar[bool] = False
    _raw: bytes

    def __init__(self, raw: bytes | bytearray | memoryview) -> None:
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise TypeError(f"{type(self).__name__} takes 32 raw bytes, not {type(raw).__name__}; "
                            "for text use from_base64() or from_hex()")
        raw = bytes(raw)
        if len(raw) != KEY_SIZE:
            raise InvalidArgumentError(
                f"{type(self).__name__} must be {KEY_SIZE} bytes, got {len(raw)}")
        object.__setattr__(self, "_raw", raw)

    @classmethod
    def from_base64(cls: type[K], text: str) -> K:
        """Parse the 44-character base64 form that ``wg`` uses."""
        what = cls.__name__
        text = _text(what, text).strip()
        if len(text) != _B64_LEN or not text.endswith("="):
            raise InvalidArgumentError(
                f"{what} must be {_B64_LEN} characters of base64 ending in '=', "
                f"got {len(text)} characters")
        try:
            raw = binascii.a2b_base64(text, strict_mode=True)
        except (binascii.Error, ValueError):
            raise InvalidArgumentError(f"{what} is not valid base64") from None
        return cls(raw)

    @classmethod
    def from_hex(cls: type[K], text: str) -> K:
        """Parse the 64-character hex form that the UAPI protocol uses."""
        text = _text(cls.__name__, text).strip()
        if len(text) != 2 * KEY_SIZE:
            raise InvalidArgumentError(
                f"{cls.__name__} must be {2 * KEY_SIZE} hex digits, got {len(text)} characters")
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raise InvalidArgumentError(f"{cls.__name__} is not valid hex") from None
        return cls(raw)

    @classmethod
    def from_bytes(cls: type[K], raw: bytes | bytearray | memoryview) -> K:
        """The key with these 32 raw bytes."""
        return cls(raw)

    def to_base64(self) -> str:
        """The 44-character base64 form (``wg`` and ``.conf`` files)."""
        return binascii.b2a_base64(self._raw, newline=False).decode()

    def hex(self) -> str:
        """The 64-character lowercase hex form (UAPI)."""
        return self._raw.hex()

    def __bytes__(self) -> bytes:
        return self._raw

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Key)
        if self._secret:
            return hmac.compare_digest(self._raw, other._raw)
        return self._raw == other._raw

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._raw))

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[type[Key], tuple[bytes]]:
        return type(self), (self._raw,)


def _text(what: str, text: object) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{what} text must be str, not {type(text).__name__}")
    return text


class PublicKey(Key):
    """A peer's (or our own) public key; ``str()`` is its base64 form."""

    __slots__ = ()

    def __str__(self) -> str:
        return self.to_base64()

    def __repr__(self) -> str:
        return f"PublicKey({self.to_base64()!r})"


class PrivateKey(Key):
    """A device's private key; its text forms show only the public key."""

    __slots__ = ("_public",)
    _secret = True
    _public: PublicKey | None

    def __init__(self, raw: bytes | bytearray | memoryview) -> None:
        super().__init__(raw)
        object.__setattr__(self, "_public", None)

    @classmethod
    def generate(cls) -> PrivateKey:
        """A fresh random key, clamped like ``wg genkey``."""
        raw = bytearray(os.urandom(KEY_SIZE))
        raw[0] &= 248
        raw[31] = (raw[31] & 127) | 64
        return cls(raw)

    @property
    def public_key(self) -> PublicKey:
        """The matching public key (X25519 of the base point, computed once)."""
        if self._public is None:
            object.__setattr__(self, "_public", PublicKey(x25519(self._raw, _BASE_POINT)))
        assert self._public is not None
        return self._public

    def __str__(self) -> str:
        return repr(self)

    def __repr__(self) -> str:
        return f"<PrivateKey public_key={self.public_key.to_base64()}>"


class PresharedKey(Key):
    """An optional symmetric key shared by two peers; never shown."""

    __slots__ = ()
    _secret = True

    @classmethod
    def generate(cls) -> PresharedKey:
        """A fresh random key, like ``wg genpsk``."""
        return cls(os.urandom(KEY_SIZE))

    def __str__(self) -> str:
        return repr(self)

    def __repr__(self) -> str:
        return "<PresharedKey (hidden)>"


# X25519 (RFC 7748, section 5): the Montgomery ladder over Curve25519 in pure
# Python, so parsing a .conf never loads libwg (whose Go runtime a fork()ed
# worker cannot call). Python integers are not constant-time: this runs once
# per key, inside the process that holds it.
_P = 2**255 - 19
_A24 = 121665
_BASE_POINT = (9).to_bytes(KEY_SIZE, "little")


def x25519(scalar: bytes, u: bytes) -> bytes:
    """RFC 7748's X25519: ``scalar`` (clamped here) times the point whose
    u-coordinate is ``u``, both 32 bytes little-endian."""
    k = int.from_bytes(scalar, "little") & ~7 & ~(1 << 255) | (1 << 254)
    x1 = int.from_bytes(u, "little") & ~(1 << 255)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        bit = (k >> t) & 1
        if swap ^ bit:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b, c, d = x2 + z2, x2 - z2, x3 + z3, x3 - z3
        aa, bb, da, cb = a * a % _P, b * b % _P, d * a % _P, c * b % _P
        e = aa - bb
        x3, z3 = (da + cb) ** 2 % _P, x1 * (da - cb) ** 2 % _P
        x2, z2 = aa * bb % _P, e * (aa + _A24 * e) % _P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, _P - 2, _P) % _P).to_bytes(KEY_SIZE, "little")
