"""The public :class:`Tunnel`: the compiled tunnel plus typed configuration."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol, Self

from wgcore import _native
from wgcore._constants import DEFAULT_MTU, MULTIHOP_OVERHEAD
from wgcore.config import Interface, Peer
from wgcore.daita import DEFAULT, Machine
from wgcore.errors import InvalidArgumentError, UnknownPeerError
from wgcore.keys import PrivateKey, PublicKey
from wgcore.net.netstack import Netstack
from wgcore.stats import PeerStats
from wgcore.tun import open_tun
from wgcore.uapi import UapiServer, codec, default_socket_path
from wgcore.values import IPNetwork, to_network

if TYPE_CHECKING:
    from wgcore._native import _Key

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

__all__ = ["Hop", "Tunnel", "tunnel_count"]

tunnel_count = _native.tunnel_count

class HasUapi(Protocol):
    """Anything that renders itself as UAPI "set" text (Interface, Peer)."""

    def to_uapi(self) -> str: ...


Config = str | bytes | HasUapi


def render(config: Config) -> str | bytes:
    """UAPI "set" text of ``config``: text as is, typed objects rendered."""
    if isinstance(config, (str, bytes)):
        return config
    to_uapi = getattr(config, "to_uapi", None)
    if to_uapi is None:
        raise TypeError("config must be an Interface, a Peer or UAPI text (str), "
                        f"not {type(config).__name__}")
    text: str = to_uapi()
    return text


class _TypedDevice(_native.DeviceHandle):
    """What a tunnel and each hop of a multihop tunnel offer: typed
    configuration, peer updates, statistics and DAITA. Each update is one
    UAPI "set" built from typed, already validated objects. The existence
    checks of the peer methods read the config first: concurrent writers
    to the same device can race them."""

    __slots__ = ()

    def set_config(self, config: Config) -> None:
        """Apply an :class:`Interface`, a :class:`Peer` or UAPI "set" text."""
        super().set_config(render(config))

    def config(self) -> Interface:
        """The running configuration (wg-quick fields are not known here)."""
        return codec.parse_get(self.get_config()).interface

    def stats(self) -> dict[PublicKey, PeerStats]:
        """Per-peer counters, handshake times, endpoints and allowed IPs."""
        return codec.parse_get(self.get_config()).stats

    def has_peer(self, public_key: PublicKey) -> bool:
        """True if the tunnel has a peer with this public key."""
        return codec.has_peer(self.get_config(), _public(public_key))

    def add_peer(self, peer: Peer) -> None:
        """Add a new peer, with DAITA on if ``peer.daita`` names machines;
        InvalidArgumentError if it is already there."""
        if self.has_peer(peer.public_key):
            raise InvalidArgumentError(f"peer {peer.public_key} already exists; use update_peer()")
        self.set_config(peer.to_uapi())
        if peer.daita:
            self.activate_daita(peer.public_key, peer.daita)

    def update_peer(self, peer: Peer) -> None:
        """Make an existing peer exactly ``peer`` (its endpoint is kept if
        ``peer.endpoint`` is None); UnknownPeerError if it is absent."""
        self._require_peer(peer.public_key)
        self.set_config(peer.to_uapi(update=True))

    def remove_peer(self, public_key: PublicKey) -> None:
        """Remove a peer; UnknownPeerError if it is absent."""
        key = self._require_peer(public_key)
        self.set_config(codec.remove_peer_set(key))

    def replace_allowed_ips(self, public_key: PublicKey, ips: Iterable[IPNetwork | str]) -> None:
        """Give a peer exactly these allowed IPs; UnknownPeerError if it is absent."""
        key = _public(public_key)
        networks = [to_network(ip) for ip in ips]
        self._require_peer(key)
        self.set_config(codec.allowed_ips_set(key, networks))

    def rotate_private_key(self, key: PrivateKey) -> None:
        """Switch to a new private key (sessions restart with a new handshake)."""
        if not isinstance(key, PrivateKey):
            raise TypeError(f"key must be a PrivateKey, not {type(key).__name__}")
        self.set_config(codec.device_set(private_key=key))

    def activate_daita(self, peer: PublicKey | _Key, machines: Machine | str | Iterable[Machine | str] = DEFAULT, *,
                       max_padding_frac: float = 0.0, max_blocking_frac: float = 0.0,
                       events_capacity: int = 2048, actions_capacity: int = 1024) -> None:
        """Turn DAITA on for one peer: maybenot ``machines`` (default
        :data:`wgcore.daita.DEFAULT`) add padding to what it is sent.

        ``max_padding_frac`` / ``max_blocking_frac`` cap padding and blocking
        as fractions of the traffic, in [0, 1] (0: no cap);
        ``events_capacity`` / ``actions_capacity`` size its queues, 1 to
        :data:`wgcore.daita.MAX_CAPACITY` (65536); InvalidArgumentError
        outside. Removing the peer or closing the tunnel stops DAITA
        safely, whatever the machines. Every machine is checked
        first: a refused one raises DaitaError naming it and the reason.
        DAITA stays on until the peer is removed; DaitaError if it is on
        already. DaitaNotCompiledError in a build without DAITA.
        """
        key = bytes(peer) if isinstance(peer, PublicKey) else peer
        if isinstance(machines, (Machine, str)):
            machines = [machines]
        texts = []
        for machine in machines:
            if not isinstance(machine, (Machine, str)):
                raise TypeError(f"a DAITA machine is a Machine or str, not {type(machine).__name__}")
            texts.append(str(machine))
        super().activate_daita(key, texts, max_padding_frac=max_padding_frac,
                               max_blocking_frac=max_blocking_frac, events_capacity=events_capacity,
                               actions_capacity=actions_capacity)

    @property
    def public_key(self) -> PublicKey | None:
        """This device's public key (None while it has no private key)."""
        return self.config().public_key

    def _require_peer(self, public_key: PublicKey) -> PublicKey:
        key = _public(public_key)
        if not self.has_peer(key):
            raise UnknownPeerError(f"the tunnel has no peer {key}")
        return key


class Hop(_TypedDevice, _native.Hop):
    """One hop of a multihop tunnel: ``tunnel.entry`` or ``tunnel.exit``.

    The entry hop talks to the entry relay over the real network; the exit
    hop's datagrams travel inside it to the exit relay. Each hop has its own
    keys, peers, counters and DAITA (Mullvad runs DAITA on the entry hop).
    Every method raises :class:`TunnelClosedError` once the tunnel closed.
    """


class Tunnel(_TypedDevice, _native.Tunnel):
    """One WireGuard tunnel: a device (config, peers, traffic, DAITA,
    close) plus the ports its mode has.

    Ports are None where the mode has none: :attr:`packets` (IP packets
    in memory), :attr:`datagrams` (encrypted datagrams the host carries,
    ``transport="host"``), :attr:`net` (sockets on a userspace stack) and
    :attr:`entry` / :attr:`exit` (the hops of a multihop tunnel, whose
    own config and peer methods the tunnel's act on for the exit hop).
    """

    _uapi_servers: list[UapiServer]

    @classmethod
    def from_interface(cls, name: str, config: Config, *, mtu: int | None = None) -> Self:
        """Create the Linux TUN interface ``name`` and run a tunnel on it.

        ``config`` is an :class:`Interface` (its ``mtu`` is used when
        ``mtu`` is None), a :class:`Peer` or UAPI "set" text. Needs
        CAP_NET_ADMIN. The interface is removed when the tunnel closes.
        It is opened with IFF_VNET_HDR: TCP crosses it as super-packets
        (see :meth:`from_tun_fd`); the path in use is logged at DEBUG.
        """
        mtu = _mtu(config, mtu)
        settings = render(config)
        return cls._turn_on("tun", mtu, settings, None, {}, open_tun(name), name=name, mtu=mtu)

    @classmethod
    def from_tun_fd(cls, fd: int, config: Config, *, mtu: int | None = None) -> Self:
        """Run a tunnel on an open TUN device; wgcore works on a duplicate
        of ``fd``, so the caller keeps (and may close) its own.

        ``fd`` must be a Linux TUN opened with IFF_TUN | IFF_NO_PI;
        anything else raises InvalidArgumentError. If it was opened with
        IFF_VNET_HDR too, every read and write carries a virtio-net header
        and libwg turns the kernel's offloads on (TCP super-packets);
        without it, one plain packet a system call.
        """
        mtu = _mtu(config, mtu)
        settings = render(config)
        return cls._turn_on("tun", mtu, settings, None, {}, _dup_tun(fd, "fd"), mtu=mtu)

    @classmethod
    def in_memory(cls, config: Config, *, mtu: int | None = None, transport: str = "udp") -> Self:
        """A tunnel with no kernel TUN, needing no root: its IP packets go
        through :attr:`packets`. ``transport`` is ``"udp"`` (UDP sockets,
        as usual) or ``"host"``: no socket, the caller carries the
        encrypted datagrams through :attr:`datagrams` (one point-to-point link).
        """
        mtu = _mtu(config, mtu)
        return cls._turn_on("memory", mtu, render(config), None, {"transport": transport}, -1,
                            transport=transport, mtu=mtu)

    @classmethod
    def netstack(cls, config: Config, *, addresses: Iterable[object] | None = None,
                 dns: Iterable[object] | None = None, mtu: int | None = None) -> Self:
        """A tunnel on a userspace TCP/IP stack, no root: open sockets on it
        through :attr:`net` (a :class:`wgcore.net.Netstack`).

        ``addresses`` (IPs, or with a prefix: "10.0.0.2/32") and ``dns``
        default to an :class:`Interface`'s wg-quick fields; DNS entries
        that are not IPs (search domains) are skipped there.
        """
        if addresses is None:
            addresses = config.addresses if isinstance(config, Interface) else ()
        if dns is None:
            dns = [d for d in config.dns if _is_ip(d)] if isinstance(config, Interface) else ()
        local, servers = _ips(addresses, "address"), _ips(dns, "DNS server")
        if not local:
            raise InvalidArgumentError("a netstack tunnel needs at least one address (addresses=, or Address "
                                       "in the Interface)")
        mtu = _mtu(config, mtu)
        params = {"addresses": ",".join(map(str, local)), "dns": ",".join(map(str, servers))}
        self = cls._turn_on("netstack", mtu, render(config), None, params, -1, transport="netstack", mtu=mtu)
        self.__dict__["_net"] = Netstack(self, local, servers)
        return self

    @classmethod
    def multihop(cls, entry: Config, exit: Config, *, private_ip: str, interface: str | None = None,
                 tun_fd: int | None = None, in_memory: bool = False, transport: str = "udp",
                 mtu: int | None = None) -> Self:
        """A multihop tunnel: the exit hop's datagrams travel inside the
        entry hop, so the exit relay never sees this machine's address and
        the entry relay never sees the packets.

        ``entry`` and ``exit`` configure each hop (an :class:`Interface`, a
        :class:`Peer` or UAPI "set" text). The entry's peer is the entry
        relay; its allowed IPs must cover the exit relay's address (checked
        when both are Interfaces: InvalidArgumentError otherwise). The
        exit's one peer is the exit relay, its endpoint that relay's IPv4
        address and port as the entry relay reaches it. ``private_ip`` is
        this machine's IPv4 address inside the entry tunnel.

        Give exactly one of ``interface`` (create this TUN, needs
        CAP_NET_ADMIN), ``tun_fd`` (an open TUN; wgcore works on a
        duplicate, as in :meth:`from_tun_fd`) or ``in_memory=True`` (packets
        through :attr:`packets`; ``transport`` is the entry hop's: "udp" or
        "host"). ``mtu`` is the link's, 636..65475 (default: the entry
        Interface's, else 1420); the packets' MTU, :attr:`mtu`, is 60 less
        (the exit's headers inside the entry hop).
        """
        given = [name for name, on in (("interface=", interface is not None), ("tun_fd=", tun_fd is not None),
                                       ("in_memory=True", in_memory)) if on]
        if len(given) != 1:
            raise InvalidArgumentError("a multihop tunnel needs exactly one of interface=, tun_fd= or "
                                       "in_memory=True, got " + (" and ".join(given) or "none"))
        if not in_memory and transport != "udp":
            raise InvalidArgumentError(
                "transport='host' needs in_memory=True: over a TUN the entry hop uses UDP sockets")
        if not isinstance(private_ip, str):
            raise TypeError(f"private_ip must be a str (an IPv4 address), not {type(private_ip).__name__}")
        _check_hop_route(entry, exit)
        link_mtu = _mtu(entry, mtu)
        entry_settings, exit_settings = render(entry), render(exit)
        params = {"private_ip": private_ip}
        fd = -1
        if in_memory:
            params["transport"] = transport
        elif interface is not None:
            fd = open_tun(interface)
        else:
            fd = _dup_tun(tun_fd, "tun_fd")
        return cls._turn_on("multihop", link_mtu, exit_settings, entry_settings, params, fd, name=interface,
                            transport=transport if in_memory else None, mtu=link_mtu - MULTIHOP_OVERHEAD)

    @property
    def net(self) -> Netstack | None:
        """Sockets through a netstack tunnel (None for other modes)."""
        net: Netstack | None = self.__dict__.get("_net")
        return net

    @property
    def entry(self) -> Hop | None:
        """The entry hop of a multihop tunnel (None for a single hop)."""
        return Hop(self, "entry") if self._is_multihop else None

    @property
    def exit(self) -> Hop | None:
        """The exit hop of a multihop tunnel (None for a single hop); the
        tunnel's own config and peer methods act on it too."""
        return Hop(self, "exit") if self._is_multihop else None

    def serve_uapi(self, path: str | os.PathLike[str] | None = None) -> UapiServer:
        """Serve the userspace API socket so ``wg`` can read and change this tunnel.

        ``path`` defaults to ``/var/run/wireguard/<name>.sock``. The socket
        is removed when the returned handle or the tunnel is closed. Clients
        are served concurrently (see :class:`UapiServer`); a closed tunnel
        raises :class:`TunnelClosedError` and creates no socket.
        """
        if path is None:
            if self.name is None:
                raise InvalidArgumentError("this tunnel has no interface name: give a socket path")
            path = default_socket_path(self.name)
        server = UapiServer(self, path)
        self.__dict__.setdefault("_uapi_servers", []).append(server)
        return server

    def close(self) -> None:
        """Stop any UAPI sockets, then turn the tunnel off."""
        for server in self.__dict__.pop("_uapi_servers", []):
            server.close()
        super().close()


def _dup_tun(fd: object, what: str) -> int:
    """A duplicate of the caller's open TUN ``fd``: the caller keeps its own."""
    if not isinstance(fd, int) or isinstance(fd, bool):
        raise TypeError(f"{what} must be an int (an open TUN's fd), not {type(fd).__name__}")
    if not 0 <= fd <= 0x7FFFFFFF:
        raise InvalidArgumentError(f"{what} {fd} is not a file descriptor")
    return os.dup(fd)


def _ips(values: Iterable[object], what: str) -> tuple[IPAddress, ...]:
    """IP addresses of values: IPs, or interfaces / text with a prefix."""
    if isinstance(values, (str, ipaddress.IPv4Address, ipaddress.IPv6Address)):
        values = [values]
    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_address(str(value).split("/")[0]))
        except ValueError:
            raise InvalidArgumentError(f"{what} {value!r} is not an IPv4 or IPv6 address") from None
    return tuple(out)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _public(key: PublicKey) -> PublicKey:
    if not isinstance(key, PublicKey):
        raise TypeError(f"public_key must be a PublicKey, not {type(key).__name__}")
    return key


def _check_hop_route(entry: Config, exit: Config) -> None:
    """With typed configs, check that the entry hop routes the exit relay's
    address (else the exit hop's datagrams would silently go nowhere)."""
    if not (isinstance(entry, Interface) and isinstance(exit, Interface)):
        return
    networks = [net for peer in entry.peers for net in peer.allowed_ips]
    for peer in exit.peers:
        if peer.endpoint is None:
            continue
        try:
            address = ipaddress.ip_address(peer.endpoint.host)
        except ValueError:
            continue  # a hostname: libwg refuses it, saying so
        if not any(address in net for net in networks):
            raise InvalidArgumentError(
                f"the entry hop does not route the exit relay's address {address}: "
                f"add {address}/{address.max_prefixlen} (or a network holding it) to the "
                "entry relay peer's allowed IPs")


def _mtu(config: Config, mtu: int | None) -> int:
    """``mtu`` if given, else an Interface's own, else the default (libwg's WG_DEFAULT_MTU)."""
    if mtu is not None:
        return mtu
    if isinstance(config, Interface) and config.mtu is not None:
        return config.mtu
    return DEFAULT_MTU
