"""Netstack: sockets through a tunnel on gVisor's userspace TCP/IP stack
(``tunnel.net``)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from wgcore import _native
from wgcore.errors import TunnelClosedError
from wgcore.net import aio, resolver
from wgcore.net.sockets import Address, Socket

__all__ = ["Netstack"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_DEFAULT_TIMEOUT: Any = socket._GLOBAL_DEFAULT_TIMEOUT  # type: ignore[attr-defined]


class Netstack:
    """Sockets through a netstack tunnel (``tunnel.net``): its TUN is
    gVisor's userspace TCP/IP stack, so they need no root and no TUN
    device. Make the tunnel with ``wgcore.Tunnel.netstack(config)``.

    The port does not keep its tunnel alive: once the tunnel is closed
    or dropped, every call raises :class:`TunnelClosedError`.
    """

    def __init__(self, tunnel: _native.Tunnel, addresses: tuple[IPAddress, ...],
                 dns: tuple[IPAddress, ...]) -> None:
        self._tunnel = weakref.ref(tunnel)
        self.addresses = addresses
        """This end's addresses inside the tunnel."""
        self.dns = dns
        """The DNS servers :meth:`getaddrinfo` asks, through the tunnel."""

    @property
    def closed(self) -> bool:
        """True once the tunnel closed (or was dropped)."""
        tunnel = self._tunnel()
        return tunnel is None or tunnel.closed

    @property
    def handle(self) -> int:
        """The tunnel's libwg handle, which its sockets open on."""
        tunnel = self._tunnel()
        if tunnel is None or tunnel.closed:
            raise TunnelClosedError("the tunnel is closed")
        return tunnel.handle

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
