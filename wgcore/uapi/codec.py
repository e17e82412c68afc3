"""The UAPI text codec: one ``get`` parser and the ``set`` writers.

``get`` text (``Tunnel.get_config()``, ``wg``'s socket) is parsed once into a
:class:`Device`: the configuration (:class:`~wgcore.config.Interface`) and
the per-peer statistics (:class:`~wgcore.stats.PeerStats`) together. Keys
the parser does not know are kept (redacted) in ``Device.extra`` and
``PeerStats.extra``, so a statistic added in Go breaks nothing. The ``set``
writers here cover what has no model of its own (device settings, removing a
peer, its allowed IPs); an Interface or Peer writes its own
(:meth:`~wgcore.config.Interface.to_uapi`). The model never imports this module.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field

from wgcore.config import ZERO_HEX, Interface, Peer
from wgcore.values import (MAX_U16, MAX_U32, IPNetwork, device_endpoint, gc_paused, parse_int, parse_network,
                           quote)
from wgcore.errors import ConfigError, InvalidArgumentError, redact
from wgcore.keys import PresharedKey, PrivateKey, PublicKey
from wgcore.stats import PeerStats

__all__ = ["Device", "parse_get", "device_set", "remove_peer_set", "allowed_ips_set", "has_peer"]

# The last second a datetime can hold (9999-12-31 23:59:59 UTC).
_MAX_SECONDS = 253402300799
_U64 = 2**64 - 1
_PEER_KEYS = frozenset({
    "allowed_ip", "endpoint", "preshared_key", "persistent_keepalive_interval", "rx_bytes", "tx_bytes",
    "last_handshake_time_sec", "last_handshake_time_nsec"})


@dataclass
class Device:
    """What one UAPI ``get`` says: configuration, statistics and the rest.

    ``extra`` holds device-level keys the parser does not know, as text,
    secrets redacted (per-peer ones are in ``PeerStats.extra``).
    """

    interface: Interface
    stats: dict[PublicKey, PeerStats]
    extra: dict[str, str] = field(default_factory=dict)


class _PeerState:
    """The peer being parsed: its config, its stats, its handshake parts."""

    __slots__ = ("peer", "stats", "seconds", "nanoseconds")

    def __init__(self, public_key: PublicKey) -> None:
        self.peer = _new_peer(public_key)
        self.stats = _new_stats(public_key)
        self.seconds = self.nanoseconds = 0

    def finish(self) -> None:
        self.stats.allowed_ips = list(self.peer.allowed_ips)
        self.stats.endpoint = self.peer.endpoint
        self.stats.persistent_keepalive = self.peer.persistent_keepalive
        if self.seconds or self.nanoseconds:
            self.stats.last_handshake = datetime.datetime.fromtimestamp(
                self.seconds, datetime.timezone.utc) + datetime.timedelta(microseconds=self.nanoseconds // 1000)


@gc_paused()
def parse_get(text: str) -> Device:
    """Parse UAPI ``get`` text; ConfigError (line and field) if it is malformed.

    A peer endpoint of ``0.0.0.0:0`` (no UDP address, as on a
    ``transport="host"`` tunnel) reads as None. Unknown keys are kept.
    """
    interface = Interface()
    device = Device(interface, {})
    peers: list[Peer] = []
    first_lines: dict[PublicKey, int] = {}
    state: _PeerState | None = None
    add_ip = None
    number, key = 0, ""
    try:
        for number, line in enumerate(text.split("\n"), 1):
            key, sep, value = line.partition("=")
            if key == "allowed_ip" and add_ip is not None:
                add_ip(parse_network(value))
            elif key == "public_key":
                if state is not None:
                    state.finish()
                state = _PeerState(PublicKey.from_hex(value))
                first = first_lines.setdefault(state.peer.public_key, number)
                if first != number:
                    raise InvalidArgumentError(f"duplicate peer (first at line {first})")
                peers.append(state.peer)
                device.stats[state.peer.public_key] = state.stats
                add_ip = state.peer.allowed_ips.append
            elif not sep:
                if line:
                    key = ""
                    raise InvalidArgumentError(f"expected key=value, got {quote(line)}")
            elif key == "errno":
                if value != "0":
                    raise InvalidArgumentError(f"the device reported errno={quote(value)}")
            elif state is not None:
                _peer_key(state, key, value)
            elif key == "private_key":
                interface.private_key = None if value == ZERO_HEX else PrivateKey.from_hex(value)
            elif key == "listen_port":
                interface.listen_port = parse_int(value, MAX_U16)
            elif key == "fwmark":
                interface.fwmark = parse_int(value, MAX_U32)
            elif key in _PEER_KEYS:
                raise InvalidArgumentError("a peer's key before any public_key line")
            elif key != "protocol_version":
                device.extra[redact(key)] = redact(value)
    except InvalidArgumentError as e:
        raise ConfigError(str(e), line=number, field=key or None) from None
    if state is not None:
        state.finish()
    interface.peers = peers
    return device


def _peer_key(state: _PeerState, key: str, value: str) -> None:
    """One ``key=value`` line of a peer's section, other than allowed_ip."""
    if key == "rx_bytes":
        state.stats.rx_bytes = _count(value)
    elif key == "tx_bytes":
        state.stats.tx_bytes = _count(value)
    elif key == "last_handshake_time_sec":
        state.seconds = _count(value, _MAX_SECONDS)
    elif key == "last_handshake_time_nsec":
        state.nanoseconds = _count(value, 999_999_999)
    elif key == "endpoint":
        state.peer.endpoint = device_endpoint(value)
    elif key == "persistent_keepalive_interval":
        state.peer.persistent_keepalive = parse_int(value, MAX_U16)
    elif key == "preshared_key":
        state.peer.preshared_key = None if value == ZERO_HEX else PresharedKey.from_hex(value)
    elif key == "protocol_version":
        state.stats.protocol_version = _count(value)
    elif key != "private_key":  # never per peer; a secret if a text holds one
        state.stats.extra[redact(key)] = redact(value)


def _new_peer(public_key: PublicKey) -> Peer:
    """A Peer with defaults, skipping __post_init__ (the parser checks values)."""
    peer = object.__new__(Peer)
    peer.__dict__.update(public_key=public_key, allowed_ips=[], endpoint=None,
                         persistent_keepalive=0, preshared_key=None, constant_packet_size=False, daita=())
    return peer


def _new_stats(public_key: PublicKey) -> PeerStats:
    """PeerStats with defaults, without the dataclass __init__ (hot path)."""
    stats = object.__new__(PeerStats)
    stats.__dict__.update(public_key=public_key, endpoint=None, allowed_ips=[], persistent_keepalive=0,
                          rx_bytes=0, tx_bytes=0, last_handshake=None, protocol_version=1, extra={})
    return stats


def _count(text: str, limit: int = _U64) -> int:
    """A counter: decimal digits (ASCII) up to ``limit`` (u64 by default)."""
    if not (text.isascii() and text.isdigit()):
        raise InvalidArgumentError("expected a non-negative integer")
    if len(text) > len(str(limit)) or int(text) > limit:
        raise InvalidArgumentError(f"out of range 0-{limit}")
    return int(text)


def has_peer(text: str, public_key: PublicKey) -> bool:
    """Whether ``get`` text lists a peer with this key (without parsing it all)."""
    return f"\npublic_key={public_key.hex()}\n" in "\n" + text


# -- set ------------------------------------------------------------------------


def device_set(*, private_key: PrivateKey | None = None, listen_port: int | None = None,
               fwmark: int | None = None, replace_peers: bool = False) -> str:
    """``set`` lines for device-level settings; None leaves a value alone."""
    lines = []
    if private_key is not None:
        lines.append(f"private_key={private_key.hex()}")
    if listen_port is not None:
        lines.append(f"listen_port={listen_port}")
    if fwmark is not None:
        lines.append(f"fwmark={fwmark}")
    if replace_peers:
        lines.append("replace_peers=true")
    return "".join(line + "\n" for line in lines)


def remove_peer_set(public_key: PublicKey) -> str:
    """``set`` lines that remove one peer."""
    return f"public_key={public_key.hex()}\nremove=true\n"


def allowed_ips_set(public_key: PublicKey, networks: Iterable[IPNetwork]) -> str:
    """``set`` lines giving an existing peer exactly these allowed IPs."""
    lines = [f"public_key={public_key.hex()}", "update_only=true", "replace_allowed_ips=true"]
    lines.extend(f"allowed_ip={net}" for net in networks)
    return "\n".join(lines) + "\n"
