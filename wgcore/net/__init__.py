"""Sockets through a tunnel with no root and no TUN: TCP, UDP and DNS on
gVisor's userspace TCP/IP stack (``Tunnel.netstack``, then ``tunnel.net``), TLS over
``ssl.MemoryBIO``."""

from wgcore.net.dns import DNSFormatError
from wgcore.net.netstack import Netstack
from wgcore.net.sockets import Socket
from wgcore.net.tls import TLSSocket, wrap_tls

__all__ = ["DNSFormatError", "Netstack", "Socket", "TLSSocket", "wrap_tls"]
