"""Checked values of a configuration: networks, endpoints, integers.

Shared by the ``.conf`` codec (:mod:`wgcore.config`) and the UAPI codec
(:mod:`wgcore.uapi.codec`); every parser raises InvalidArgumentError with
the offending text redacted and shortened.
"""

from __future__ import annotations

import contextlib
import gc
import ipaddress
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Union

from wgcore.errors import InvalidArgumentError, redact

__all__ = ["Endpoint", "IPInterface", "IPNetwork", "device_endpoint", "parse_network", "to_network"]

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]

MAX_U16 = 0xFFFF
MAX_U32 = 0xFFFFFFFF
_HOSTNAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._")
# ASCII digits only: str.isdigit() and int() also take '²' and '٣'.
_INTEGER = re.compile(r"-?[0-9]+")
_INTEGER_OR_HEX = re.compile(r"-?[0-9]+|0[xX][0-9a-fA-F]+")
# What a device reports for a peer it has no UDP address for: a tunnel with
# transport="host" (its caller carries the datagrams) reads back 0.0.0.0:0.
_NO_ENDPOINT = frozenset({"0.0.0.0:0", "[::]:0"})


def quote(text: str) -> str:
    """``text`` for an error message: redacted, at most 40 characters, quoted."""
    text = redact(text)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def parse_network(text: str) -> IPNetwork:
    """An allowed-IP range: ``addr/len`` (host bits are masked) or a bare address.

    Addresses are checked by the C library's ``inet_pton`` (strict: no
    leading zeros, no zones) and built from integers, which is several
    times faster than ipaddress's string parsing.
    """
    address, slash, length = text.partition("/")
    v6 = ":" in address
    bits = 128 if v6 else 32
    try:
        packed = socket.inet_pton(socket.AF_INET6 if v6 else socket.AF_INET, address)
    except (OSError, ValueError):  # ValueError: NUL or text UTF-8 cannot encode
        raise InvalidArgumentError(
            f"bad CIDR {quote(text)}: not an IPv{6 if v6 else 4} address") from None
    if not slash:
        prefix = bits
    elif length.isascii() and length.isdigit() and len(length) <= 3 and int(length) <= bits:
        prefix = int(length)
    else:
        raise InvalidArgumentError(f"bad CIDR {quote(text)}: prefix length must be 0-{bits}")
    network = ipaddress.IPv6Network if v6 else ipaddress.IPv4Network
    return network((int.from_bytes(packed, "big"), prefix), strict=False)


def to_network(value: IPNetwork | str, what: str = "network") -> IPNetwork:
    """A network from an ``ip_network`` or its text (:func:`parse_network`);
    TypeError for anything else."""
    if isinstance(value, str):
        return parse_network(value)
    check_type(what, value, (ipaddress.IPv4Network, ipaddress.IPv6Network, str))
    return value


def _canonical_ip(host: str) -> str | None:
    """``host`` in canonical form if it is an IP address (IPv6 may carry a
    ``%zone``), else None."""
    if not host.isascii() or "\0" in host:
        return None
    if ":" in host:
        address, percent, zone = host.partition("%")
        try:
            canonical = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, address))
        except OSError:
            return None
        if percent and not (zone and _HOSTNAME_CHARS.issuperset(zone)):
            return None
        return canonical + percent + zone
    try:
        socket.inet_pton(socket.AF_INET, host)
    except OSError:
        return None
    return host  # inet_pton accepts only canonical dotted quads


def parse_int(text: str, limit: int, *, low: int = 0, hex_ok: bool = False) -> int:
    """A decimal (or, with ``hex_ok``, ``0x`` hex) integer in low..limit."""
    if not (_INTEGER_OR_HEX if hex_ok else _INTEGER).fullmatch(text):
        raise InvalidArgumentError(f"not a number: {quote(text)}")
    # Longer than any limit's digits: out of range, and int() might refuse it.
    value = -1 if len(text) > 24 else int(text, 16) if text[1:2] in ("x", "X") else int(text)
    if not low <= value <= limit:
        raise InvalidArgumentError(f"{quote(text)} is out of range {low}-{limit}")
    return value


@dataclass(frozen=True)
class Endpoint:
    """A peer's UDP address: an IPv4/IPv6 address or a hostname, and a port.

    IP addresses are kept in canonical form; hostnames are kept as text
    and resolved only when UAPI text is written (as ``wg`` does).
    """

    host: str
    port: int

    def __post_init__(self) -> None:
        if not 1 <= self.port <= MAX_U16:
            raise InvalidArgumentError(f"endpoint port must be 1-{MAX_U16}, got {self.port}")
        canonical = _canonical_ip(self.host)
        if canonical is not None:
            object.__setattr__(self, "host", canonical)
        elif (not self.host or ":" in self.host or not _HOSTNAME_CHARS.issuperset(self.host)
                or len(self.host) > 253 or self.host.replace(".", "").isdigit()
                or any(len(label) > 63 for label in self.host.split("."))):  # DNS's limit
            raise InvalidArgumentError(
                f"endpoint host {quote(self.host)} is neither an IP address nor a hostname")

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        """Parse ``1.2.3.4:51820``, ``[fd00::1]:51820`` or ``host.example:51820``."""
        if text.startswith("["):
            host, sep, port = text[1:].partition("]:")
            if not sep:
                raise InvalidArgumentError(f"endpoint {quote(text)} must look like [IPv6]:port")
        else:
            host, sep, port = text.rpartition(":")
            if not sep:
                raise InvalidArgumentError(f"endpoint {quote(text)} has no :port")
            if ":" in host:
                raise InvalidArgumentError(
                    f"IPv6 endpoint {quote(text)} needs brackets: [address]:port")
        if not (port.isascii() and port.isdigit()) or len(port) > 5:
            raise InvalidArgumentError(f"endpoint {quote(text)} has a bad port")
        return cls(host, int(port))

    @property
    def is_hostname(self) -> bool:
        """True when ``host`` is a name, not an IP address."""
        return _canonical_ip(self.host) is None

    def resolve(self) -> Endpoint:
        """This endpoint with its hostname looked up (IPs return self)."""
        if not self.is_hostname:
            return self
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_DGRAM)
        except socket.gaierror as e:
            raise InvalidArgumentError(f"cannot resolve endpoint {self.host!r}: {e.strerror}") from None
        return Endpoint(str(infos[0][4][0]), self.port)

    def __str__(self) -> str:
        if ":" in self.host:
            return f"[{self.host}]:{self.port}"
        return f"{self.host}:{self.port}"


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while a parser builds many acyclic objects
    (it would otherwise rescan them over and over); restore it after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def device_endpoint(text: str) -> Endpoint | None:
    """A peer's endpoint as a device reports it; ``0.0.0.0:0`` or ``[::]:0``
    (no UDP address, as on a ``transport="host"`` tunnel) is None."""
    return None if text in _NO_ENDPOINT else Endpoint.parse(text)


def check_type(name: str, value: object, types: type | tuple[type, ...]) -> None:
    if not isinstance(value, types):
        expected = " or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise TypeError(f"{name} must be {expected}, not {type(value).__name__}")


def parse_bool(text: str) -> bool:
    lowered = text.lower()
    if lowered in ("true", "yes", "on", "1"):
        return True
    if lowered in ("false", "no", "off", "0"):
        return False
    raise InvalidArgumentError(f"expected true or false, got {quote(text)}")


def split_list(text: str) -> list[str]:
    items = [item.strip() for item in text.split(",")]
    if not all(items):
        raise InvalidArgumentError(f"empty item in list {quote(text)}")
    return items


def parse_address(text: str) -> IPInterface:
    try:
        return ipaddress.ip_interface(text)
    except ValueError as e:
        raise InvalidArgumentError(f"bad address {quote(text)}: {redact(str(e))}") from None
