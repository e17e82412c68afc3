"""NetstackTunnel: a tunnel on a userspace TCP/IP stack, with sockets."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Self

from wgcore.config import Interface
from wgcore.errors import InvalidArgumentError, TunnelClosedError
from wgcore.net import aio, resolver
from wgcore.net.sockets import Address, Socket
from wgcore.tunnel import Config, Tunnel, render

__all__ = ["NetstackTunnel"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_DEFAULT_TIMEOUT: Any = socket._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]


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


class NetstackTunnel(Tunnel):
    """A tunnel whose TUN is gVisor's userspace TCP/IP stack: sockets
    through it need no root and no TUN device. Make one with
    ``Tunnel.netstack(config, addresses=[...], dns=[...])``."""

    addresses: tuple[IPAddress, ...]
    dns: tuple[IPAddress, ...]

    @classmethod
    def start(cls, config: Config, *, addresses: Iterable[object] | None = None, dns: Iterable[object] | None = None,
              mtu: int = 1420) -> Self:
        """Turn the tunnel on. ``addresses`` (IPs, or with a prefix:
        "10.0.0.2/32") and ``dns`` default to an :class:`Interface`'s
        wg-quick fields; DNS entries that are not IPs (search domains) are
        skipped there."""
        if addresses is None:
            addresses = config.addresses if isinstance(config, Interface) else ()
        if dns is None:
            dns = [d for d in config.dns if _is_ip(d)] if isinstance(config, Interface) else ()
        local, servers = _ips(addresses, "address"), _ips(dns, "DNS server")
        if not local:
            raise InvalidArgumentError("a netstack tunnel needs at least one address (addresses=, or Address "
                                       "in the Interface)")
        self = cls._netstack(render(config), addresses=",".join(map(str, local)),
                             dns=",".join(map(str, servers)), mtu=mtu)
        self.addresses, self.dns = local, servers
        return self

    def socket(self, family: int = socket.AF_INET, type: int = socket.SOCK_STREAM, proto: int = 0) -> Socket:
        """A TCP or UDP socket through the tunnel (see :class:`Socket`)."""
        if self.closed:
            raise TunnelClosedError("the tunnel is closed")
        return Socket(self, family, type, proto)

    def getaddrinfo(self, host: str | bytes | None, port: str | int | None, family: int = 0, type: int = 0,
                    proto: int = 0, flags: int = 0) -> list[tuple[Any, ...]]:
        """``socket.getaddrinfo``, names resolved by the tunnel's DNS servers."""
        return resolver.getaddrinfo(self, host, port, family, type, proto, flags)

    def create_connection(self, address: tuple[str, int], timeout: float | None = _DEFAULT_TIMEOUT,
                          source_address: Address | None = None) -> Socket:
        """``socket.create_connection`` through the tunnel: each resolved
        address in turn; the last error is raised if none connects."""
        host, port = address
        error: OSError | None = None
        for family, kind, proto, _, sockaddr in self.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            sock = self.socket(family, kind, proto)
            try:
                if timeout is not _DEFAULT_TIMEOUT:
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                return sock
            except OSError as e:
                sock.close()
                error = e
        assert error is not None  # getaddrinfo returns at least one address
        raise error

    async def open_connection(self, host: str, port: int, **kwargs: Any) -> tuple[asyncio.StreamReader,
                                                                              asyncio.StreamWriter]:
        """``asyncio.open_connection`` through the tunnel (see :mod:`wgcore.net.aio`)."""
        return await aio.open_connection(self, host, port, **kwargs)

    async def start_server(self, client_connected_cb: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                                               Awaitable[None] | None],
                           host: str | None = None, port: int = 0, **kwargs: Any) -> aio.Server:
        """``asyncio.start_server`` on the tunnel's address."""
        return await aio.start_server(self, client_connected_cb, host, port, **kwargs)

    async def create_datagram_endpoint(self, protocol_factory: Callable[[], asyncio.DatagramProtocol],
                                       local_addr: Address | None = None, remote_addr: Address | None = None,
                                       **kwargs: Any) -> tuple[aio.DatagramTransport, asyncio.DatagramProtocol]:
        """``loop.create_datagram_endpoint`` through the tunnel."""
        return await aio.create_datagram_endpoint(self, protocol_factory, local_addr, remote_addr, **kwargs)
