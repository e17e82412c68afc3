"""Sockets through a tunnel with no root and no TUN: TCP, UDP and DNS on
gVisor's userspace TCP/IP stack (``Tunnel.netstack``), TLS over
``ssl.MemoryBIO``."""

from wgcore.net.dns import DNSFormatError
from wgcore.net.sockets import Socket
from wgcore.net.tls import TLSSocket, wrap_tls
from wgcore.net.tunnel import NetstackTunnel

__all__ = ["DNSFormatError", "NetstackTunnel", "Socket", "TLSSocket", "wrap_tls"]
