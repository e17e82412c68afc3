"""Per-peer statistics read from UAPI "get" text."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from wgcore.config import (ConfigError, Endpoint, IPNetwork, device_endpoint, gc_paused, parse_network,
                           uapi_lines)
from wgcore.errors import InvalidArgumentError, redact
from wgcore.keys import PublicKey

__all__ = ["PeerStats", "parse_stats"]

# Per-peer keys that PeerStats has a field for (or deliberately drops:
# secrets, which wireguard-go never writes per peer but a text might hold).
_KNOWN = frozenset({
    "public_key", "preshared_key", "private_key", "endpoint", "allowed_ip", "persistent_keepalive_interval",
    "rx_bytes", "tx_bytes", "last_handshake_time_sec", "last_handshake_time_nsec",
    "protocol_version",
})
# The last second a datetime can hold (9999-12-31 23:59:59 UTC).
_MAX_SECONDS = 253402300799


@dataclass
class PeerStats:
    """What a tunnel reports about one peer.

    ``last_handshake`` is a UTC datetime, None before the first handshake.
    ``endpoint`` is None when the device has no UDP address for the peer
    (``0.0.0.0:0``, as on a ``transport="host"`` tunnel). Keys this class
    does not know are kept, as text, in ``extra``, secrets redacted.
    """

    public_key: PublicKey
    endpoint: Endpoint | None = None
    allowed_ips: list[IPNetwork] = field(default_factory=list)
    persistent_keepalive: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    last_handshake: datetime.datetime | None = None
    protocol_version: int = 1
    extra: dict[str, str] = field(default_factory=dict)


@gc_paused()
def parse_stats(text: str) -> dict[PublicKey, PeerStats]:
    """Per-peer statistics of UAPI "get" text, by public key, in text order.

    Preshared (and stray private) keys are not kept: they are secret.
    """
    result: dict[PublicKey, PeerStats] = {}
    first_lines: dict[PublicKey, int] = {}
    peer: PeerStats | None = None
    seconds = nanoseconds = 0
    for number, key, value in uapi_lines(text):
        try:
            if key == "public_key":
                _finish(peer, seconds, nanoseconds)
                peer = PeerStats(PublicKey.from_hex(value))
                first = first_lines.setdefault(peer.public_key, number)
                if first != number:
                    raise InvalidArgumentError(f"duplicate peer (first at line {first})")
                result[peer.public_key] = peer
                seconds = nanoseconds = 0
            elif peer is None:
                continue  # device-level keys: configuration, see Tunnel.config()
            elif key not in _KNOWN:
                peer.extra[redact(key)] = redact(value)
            elif key == "rx_bytes":
                peer.rx_bytes = _count(value)
            elif key == "tx_bytes":
                peer.tx_bytes = _count(value)
            elif key == "last_handshake_time_sec":
                seconds = _count(value, _MAX_SECONDS)
            elif key == "last_handshake_time_nsec":
                nanoseconds = _count(value, 999_999_999)
            elif key == "allowed_ip":
                peer.allowed_ips.append(parse_network(value))
            elif key == "endpoint":
                peer.endpoint = device_endpoint(value)
            elif key == "persistent_keepalive_interval":
                peer.persistent_keepalive = _count(value)
            elif key == "protocol_version":
                peer.protocol_version = _count(value)
        except InvalidArgumentError as e:
            raise ConfigError(str(e), line=number, field=key) from None
    _finish(peer, seconds, nanoseconds)
    return result


def _count(text: str, limit: int = 2**64 - 1) -> int:
    """A counter: decimal digits (ASCII) up to ``limit`` (u64 by default)."""
    if not (text.isascii() and text.isdigit()):
        raise InvalidArgumentError("expected a non-negative integer")
    if len(text) > len(str(limit)) or int(text) > limit:
        raise InvalidArgumentError(f"out of range 0-{limit}")
    return int(text)


def _finish(peer: PeerStats | None, seconds: int, nanoseconds: int) -> None:
    if peer is not None and (seconds or nanoseconds):
        peer.last_handshake = datetime.datetime.fromtimestamp(
            seconds, datetime.timezone.utc) + datetime.timedelta(microseconds=nanoseconds // 1000)
