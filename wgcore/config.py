"""Typed WireGuard configuration: the value types and the ``.conf`` codec.

:class:`Interface` and :class:`Peer` hold a device's configuration and
read and write ``.conf`` files (:meth:`Interface.from_conf`,
:meth:`Interface.to_conf`) and write their UAPI "set" text
(:meth:`Interface.to_uapi`, :meth:`Peer.to_uapi`); UAPI "get" text is
parsed by :func:`wgcore.uapi.codec.parse_get`. Input is parsed completely before
anything uses it; a mistake raises :class:`ConfigError` naming the line and
field, whatever the text holds, and never shows a private or preshared key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from wgcore._constants import MAX_MTU, MIN_MTU  # the MTU libwg accepts (libwg.h)
from wgcore.daita import Machine, machine_names, machines_named
from wgcore.errors import ConfigError, InvalidArgumentError, WireGuardError
from wgcore.keys import PresharedKey, PrivateKey, PublicKey
from wgcore.values import (MAX_U16, MAX_U32, Endpoint, IPInterface, IPNetwork, check_type, device_endpoint,
                           parse_address, parse_bool, parse_int, parse_network, quote, split_list, to_network)

__all__ = ["Interface", "MAX_MTU", "MIN_MTU", "Peer"]


@dataclass(eq=False)
class Peer:
    """One peer. Equality ignores the order of ``allowed_ips``.

    ``persistent_keepalive`` is in seconds, 0 meaning off. An all-zero
    preshared key means none, as in WireGuard, and becomes None.

    Two fields are Mullvad's fork's, wgcore-only in ``.conf`` files
    (``ConstantPacketSize``, ``DAITA``; ``to_conf(wg_quick=False)`` drops
    them). ``constant_packet_size`` pads every data packet sent to this peer
    to the MTU; the fork cannot turn it off again on a running peer, and
    UAPI "get" text does not report it. ``daita`` are the DAITA machines
    ``Tunnel.add_peer`` and ``wgcore up`` activate for the peer (empty: off).
    """

    public_key: PublicKey
    allowed_ips: list[IPNetwork] = field(default_factory=list)  # str items are parsed
    endpoint: Endpoint | None = None  # a str is parsed (Endpoint.parse)
    persistent_keepalive: int = 0
    preshared_key: PresharedKey | None = None
    constant_packet_size: bool = False
    daita: tuple[Machine, ...] = ()

    if TYPE_CHECKING:  # the dataclass's __init__, with the str it also takes
        def __init__(self, public_key: PublicKey, allowed_ips: Iterable[IPNetwork | str] = ...,
                     endpoint: Endpoint | str | None = None, persistent_keepalive: int = 0,
                     preshared_key: PresharedKey | None = None, constant_packet_size: bool = False,
                     daita: Iterable[Machine] = ()) -> None: ...

    def __post_init__(self) -> None:
        check_type("public_key", self.public_key, PublicKey)
        if self.preshared_key is not None:
            check_type("preshared_key", self.preshared_key, PresharedKey)
            self.preshared_key = _nonzero(self.preshared_key)
        if isinstance(self.endpoint, str):
            self.endpoint = Endpoint.parse(self.endpoint)
        elif self.endpoint is not None:
            check_type("endpoint", self.endpoint, (Endpoint, str))
        if isinstance(self.allowed_ips, (str, bytes)):
            raise TypeError("allowed_ips must be a list of networks, not one "
                            f"{type(self.allowed_ips).__name__}: write [{self.allowed_ips!r}]")
        self.allowed_ips = [to_network(net, "allowed_ips item") for net in self.allowed_ips]
        if not 0 <= self.persistent_keepalive <= MAX_U16:
            raise InvalidArgumentError(
                f"persistent_keepalive must be 0-{MAX_U16}, got {self.persistent_keepalive}")
        check_type("constant_packet_size", self.constant_packet_size, bool)
        self.daita = tuple(self.daita)
        for machine in self.daita:
            check_type("daita item", machine, Machine)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Peer):
            return NotImplemented
        return (self.public_key == other.public_key
                and set(self.allowed_ips) == set(other.allowed_ips)
                and self.endpoint == other.endpoint
                and self.persistent_keepalive == other.persistent_keepalive
                and self.preshared_key == other.preshared_key
                and self.constant_packet_size == other.constant_packet_size
                and self.daita == other.daita)

    __hash__ = None  # type: ignore[assignment]

    def to_uapi(self, *, update: bool = False) -> str:
        """UAPI "set" lines for this peer.

        The peer's allowed IPs replace any it had. With ``update=True``
        the peer must already exist (``update_only``) and an unset
        preshared key or keepalive is written out as zero, so the peer
        ends up exactly as described.
        """
        lines = [f"public_key={self.public_key.hex()}"]
        if update:
            lines.append("update_only=true")
        if self.preshared_key is not None:
            lines.append(f"preshared_key={self.preshared_key.hex()}")
        elif update:
            lines.append(f"preshared_key={ZERO_HEX}")
        if self.endpoint is not None:
            lines.append(f"endpoint={self.endpoint.resolve()}")
        if self.persistent_keepalive or update:
            lines.append(f"persistent_keepalive_interval={self.persistent_keepalive}")
        if self.constant_packet_size:
            lines.append("constant_packet_size=true")
        lines.append("replace_allowed_ips=true")
        lines.extend(f"allowed_ip={net}" for net in self.allowed_ips)
        return "\n".join(lines) + "\n"

    def _conf_lines(self, wg_quick: bool) -> list[str]:
        lines = ["[Peer]", f"PublicKey = {self.public_key.to_base64()}"]
        if self.preshared_key is not None:
            lines.append(f"PresharedKey = {self.preshared_key.to_base64()}")
        if self.allowed_ips:
            lines.append("AllowedIPs = " + ", ".join(map(str, self.allowed_ips)))
        if self.endpoint is not None:
            lines.append(f"Endpoint = {self.endpoint}")
        if self.persistent_keepalive:
            lines.append(f"PersistentKeepalive = {self.persistent_keepalive}")
        if wg_quick and self.constant_packet_size:
            lines.append("ConstantPacketSize = true")
        if wg_quick and self.daita:
            lines.append("DAITA = " + ", ".join(machine_names(self.daita)))
        return lines


@dataclass(eq=False)
class Interface:
    """A device's configuration: its own settings and its peers.

    ``addresses`` through ``save_config`` are wg-quick's fields: kept
    and written back to ``.conf`` files, never sent to the tunnel.
    Equality ignores the order of peers, as WireGuard does. A
    ``listen_port`` or ``fwmark`` of None leaves the device's value alone.
    """

    private_key: PrivateKey | None = None
    listen_port: int | None = None
    fwmark: int | None = None
    peers: list[Peer] = field(default_factory=list)
    addresses: list[IPInterface] = field(default_factory=list)
    dns: list[str] = field(default_factory=list)
    mtu: int | None = None
    table: str | None = None
    pre_up: list[str] = field(default_factory=list)
    post_up: list[str] = field(default_factory=list)
    pre_down: list[str] = field(default_factory=list)
    post_down: list[str] = field(default_factory=list)
    save_config: bool = False

    def __post_init__(self) -> None:
        if self.private_key is not None:
            check_type("private_key", self.private_key, PrivateKey)
        if self.listen_port is not None and not 0 <= self.listen_port <= MAX_U16:
            raise InvalidArgumentError(f"listen_port must be 0-{MAX_U16}, got {self.listen_port}")
        if self.fwmark is not None and not 0 <= self.fwmark <= MAX_U32:
            raise InvalidArgumentError(f"fwmark must be 0-{MAX_U32}, got {self.fwmark}")
        if self.mtu is not None and not MIN_MTU <= self.mtu <= MAX_MTU:
            raise InvalidArgumentError(f"mtu must be {MIN_MTU}-{MAX_MTU}, got {self.mtu}")
        self.peers = list(self.peers)
        seen: set[PublicKey] = set()
        for peer in self.peers:
            check_type("peers item", peer, Peer)
            if peer.public_key in seen:
                raise InvalidArgumentError(f"duplicate peer {peer.public_key}")
            seen.add(peer.public_key)
        for hook in (*self.pre_up, *self.post_up, *self.pre_down, *self.post_down, *self.dns):
            if "\n" in hook or "#" in hook:
                raise InvalidArgumentError(f"{hook!r}: wg-quick fields cannot hold a newline or '#'")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Interface):
            return NotImplemented
        mine = {p.public_key: p for p in self.peers}
        theirs = {p.public_key: p for p in other.peers}
        return mine == theirs and all(
            getattr(self, f.name) == getattr(other, f.name)
            for f in dataclasses.fields(self) if f.name != "peers")

    __hash__ = None  # type: ignore[assignment]

    @property
    def public_key(self) -> PublicKey | None:
        """The device's public key, None without a private key."""
        return None if self.private_key is None else self.private_key.public_key

    def peer(self, public_key: PublicKey) -> Peer:
        """The peer with this public key; KeyError if there is none."""
        for p in self.peers:
            if p.public_key == public_key:
                return p
        raise KeyError(public_key)

    # -- UAPI ---------------------------------------------------------------

    def to_uapi(self) -> str:
        """UAPI "set" text that makes a device equal to this config.

        Like ``wg setconf``: existing peers are replaced; wg-quick fields
        are left out. Hostname endpoints are resolved here.
        """
        lines = [] if self.private_key is None else [f"private_key={self.private_key.hex()}"]
        if self.listen_port is not None:
            lines.append(f"listen_port={self.listen_port}")
        if self.fwmark is not None:
            lines.append(f"fwmark={self.fwmark}")
        lines.append("replace_peers=true")
        return "".join(line + "\n" for line in lines) + "".join(peer.to_uapi() for peer in self.peers)

    # -- .conf files --------------------------------------------------------

    @classmethod
    def from_conf(cls, text: str) -> Interface:
        """Parse a wg / wg-quick ``.conf`` file (keys are case-insensitive)."""
        return _parse_conf(text)

    def to_conf(self, *, wg_quick: bool = True) -> str:
        """The ``.conf`` text; ``wg_quick=False`` leaves out wg-quick's fields
        (what ``wg-quick strip`` prints, fit for ``wg setconf``)."""
        lines = ["[Interface]"]
        if self.private_key is not None:
            lines.append(f"PrivateKey = {self.private_key.to_base64()}")
        if self.listen_port is not None:
            lines.append(f"ListenPort = {self.listen_port}")
        if self.fwmark is not None:
            lines.append(f"FwMark = {self.fwmark:#x}" if self.fwmark else "FwMark = off")
        if wg_quick:
            if self.addresses:
                lines.append("Address = " + ", ".join(map(str, self.addresses)))
            if self.dns:
                lines.append("DNS = " + ", ".join(self.dns))
            if self.mtu is not None:
                lines.append(f"MTU = {self.mtu}")
            if self.table is not None:
                lines.append(f"Table = {self.table}")
            for name, hooks in (("PreUp", self.pre_up), ("PostUp", self.post_up),
                                ("PreDown", self.pre_down), ("PostDown", self.post_down)):
                lines.extend(f"{name} = {hook}" for hook in hooks)
            if self.save_config:
                lines.append("SaveConfig = true")
        for peer in self.peers:
            lines.append("")
            lines.extend(peer._conf_lines(wg_quick))
        return "\n".join(lines) + "\n"


ZERO_HEX = "0" * 64  # UAPI's "none" for a private or preshared key


def _nonzero(key: PresharedKey) -> PresharedKey | None:
    return None if bytes(key) == bytes(len(bytes(key))) else key


# Canonical spellings of every .conf key, by lowercase name.
_INTERFACE_KEYS = {k.lower(): k for k in (
    "PrivateKey", "ListenPort", "FwMark", "Address", "DNS", "MTU", "Table",
    "PreUp", "PostUp", "PreDown", "PostDown", "SaveConfig")}
_PEER_KEYS = {k.lower(): k for k in (
    "PublicKey", "PresharedKey", "AllowedIPs", "Endpoint", "PersistentKeepalive",
    "ConstantPacketSize", "DAITA")}
_REPEATABLE = frozenset({"Address", "DNS", "AllowedIPs", "PreUp", "PostUp", "PreDown", "PostDown"})
_NO_KEY = PublicKey(bytes(32))


def _parse_conf(text: str) -> Interface:
    """One pass over a ``.conf`` file; nothing is returned until all of it parsed."""
    interface = Interface()
    peers: list[Peer] = []
    peer_lines: dict[PublicKey, int] = {}
    target: Interface | Peer | None = None
    given: set[str] = set()
    names = _INTERFACE_KEYS
    seen_interface = False
    header = 0

    def finish_peer() -> None:
        if isinstance(target, Peer):
            if "PublicKey" not in given:
                raise ConfigError("[Peer] without PublicKey", line=header, field="PublicKey")
            first = peer_lines.setdefault(target.public_key, header)
            if first != header:
                raise ConfigError(f"duplicate peer (first at line {first})",
                                  line=header, field="PublicKey")
            peers.append(target)

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("["):
            finish_peer()
            lowered = line.lower()
            if lowered == "[interface]":
                if seen_interface:
                    raise ConfigError("second [Interface] section", line=number)
                seen_interface, target, names = True, interface, _INTERFACE_KEYS
            elif lowered == "[peer]":
                target, names = Peer(_NO_KEY), _PEER_KEYS
            else:
                raise ConfigError(f"unknown section {quote(line)}", line=number)
            given, header = set(), number
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            raise ConfigError(f"expected 'Key = value', got {quote(line)}", line=number)
        if target is None:
            raise ConfigError("key outside [Interface] or [Peer]", line=number, field=key)
        name = names.get(key.lower())
        if name is None:
            raise ConfigError("unknown key", line=number, field=key)
        if not value:
            raise ConfigError("empty value", line=number, field=name)
        if name in given and name not in _REPEATABLE:
            raise ConfigError("given twice in one section", line=number, field=name)
        given.add(name)
        try:
            if isinstance(target, Peer):
                _set_peer_field(target, name, value)
            else:
                _set_interface_field(target, name, value)
        except InvalidArgumentError as e:
            raise ConfigError(str(e), line=number, field=name) from None
    finish_peer()
    interface.peers = peers
    try:
        interface.__post_init__()
    except InvalidArgumentError as e:
        raise ConfigError(str(e)) from None
    return interface


def _set_peer_field(peer: Peer, name: str, value: str) -> None:
    if name == "PublicKey":
        peer.public_key = PublicKey.from_base64(value)
    elif name == "PresharedKey":
        peer.preshared_key = _nonzero(PresharedKey.from_base64(value))
    elif name == "AllowedIPs":
        peer.allowed_ips.extend(parse_network(item) for item in split_list(value))
    elif name == "Endpoint":
        peer.endpoint = device_endpoint(value)
    elif name == "ConstantPacketSize":
        peer.constant_packet_size = parse_bool(value)
    elif name == "DAITA":
        try:
            peer.daita = machines_named(split_list(value))
        except WireGuardError as e:  # a machine string libwg refuses, or no DAITA here
            raise InvalidArgumentError(str(e)) from None
    else:  # PersistentKeepalive
        peer.persistent_keepalive = 0 if value.lower() == "off" else parse_int(value, MAX_U16)


def _set_interface_field(interface: Interface, name: str, value: str) -> None:
    if name == "PrivateKey":
        interface.private_key = PrivateKey.from_base64(value)
    elif name == "ListenPort":
        interface.listen_port = parse_int(value, MAX_U16)
    elif name == "FwMark":
        interface.fwmark = 0 if value.lower() == "off" else parse_int(value, MAX_U32, hex_ok=True)
    elif name == "Address":
        interface.addresses.extend(parse_address(item) for item in split_list(value))
    elif name == "DNS":
        interface.dns.extend(split_list(value))
    elif name == "MTU":
        interface.mtu = parse_int(value, MAX_MTU, low=MIN_MTU)
    elif name == "Table":
        interface.table = value
    elif name == "SaveConfig":
        interface.save_config = parse_bool(value)
    else:  # PreUp, PostUp, PreDown, PostDown: shell text, one command per line
        getattr(interface, _HOOKS[name]).append(value)


_HOOKS = {"PreUp": "pre_up", "PostUp": "post_up", "PreDown": "pre_down", "PostDown": "post_down"}
