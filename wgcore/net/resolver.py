"""getaddrinfo through a netstack tunnel: DNS queries over its UDP."""

from __future__ import annotations

import ipaddress
import os
import socket
import time
from typing import TYPE_CHECKING, Any

from wgcore.net import dns

if TYPE_CHECKING:
    from wgcore.net.netstack import Netstack

__all__ = ["getaddrinfo", "resolve"]

TRIES = 2          # queries per server and record type
TRY_TIMEOUT = 1.5  # seconds a query waits for its answer


def _qtypes(tunnel: Netstack, family: int) -> list[int]:
    if family == socket.AF_INET:
        return [dns.A]
    if family == socket.AF_INET6:
        return [dns.AAAA]
    versions = {a.version for a in tunnel.addresses}
    return [qtype for version, qtype in ((4, dns.A), (6, dns.AAAA)) if version in versions]


def _ask(tunnel: Netstack, server: str, name: str, qtypes: list[int]) -> dict[int, dns.Answer]:
    """Ask one server for each qtype, all at once; the answers that came."""
    family = socket.AF_INET6 if ipaddress.ip_address(server).version == 6 else socket.AF_INET
    answers: dict[int, dns.Answer] = {}
    with tunnel.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((server, 53))
        for _ in range(TRIES):
            pending = {int.from_bytes(os.urandom(2), "big"): qtype for qtype in qtypes if qtype not in answers}
            if not pending:
                break
            for ident, qtype in pending.items():
                sock.send(dns.encode_query(name, qtype, ident))
            deadline = time.monotonic() + TRY_TIMEOUT
            while pending and (left := deadline - time.monotonic()) > 0:
                sock.settimeout(left)
                try:
                    reply = sock.recv(4096)
                except TimeoutError:
                    break
                ident = int.from_bytes(reply[:2], "big")
                if ident not in pending:
                    continue
                try:
                    answers[pending[ident]] = dns.parse_answer(reply, ident, name, pending[ident])
                except dns.DNSFormatError:
                    continue
                del pending[ident]
    return answers


def resolve(tunnel: Netstack, host: str, family: int = socket.AF_UNSPEC) -> list[str]:
    """The addresses of host (an IP literal, or a name the tunnel's DNS
    servers resolve); socket.gaierror as ``socket.getaddrinfo`` raises."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode()
    except UnicodeError as e:
        raise socket.gaierror(socket.EAI_NONAME, f"{host!r} is not a valid host name: {e}") from None
    if not tunnel.dns:
        raise socket.gaierror(socket.EAI_FAIL, f"cannot resolve {host!r}: the tunnel has no DNS servers")
    qtypes = _qtypes(tunnel, family)
    failure = socket.gaierror(socket.EAI_AGAIN, f"Temporary failure in name resolution of {host!r}: "
                              "no DNS server answered through the tunnel")
    for server in tunnel.dns:
        answers = _ask(tunnel, str(server), name, qtypes)
        found = [a for qtype in qtypes if qtype in answers for a in answers[qtype].addresses]
        if found:
            return found
        if any(a.rcode == dns.NXDOMAIN for a in answers.values()):
            raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known: {host!r}")
        if answers and all(a.rcode == dns.NOERROR for a in answers.values()):
            failure = socket.gaierror(socket.EAI_NODATA, f"No address associated with hostname {host!r}")
    raise failure


def getaddrinfo(tunnel: Netstack, host: str | bytes | None, port: str | int | None, family: int = 0,
                type: int = 0, proto: int = 0, flags: int = 0) -> list[tuple[Any, ...]]:
    """``socket.getaddrinfo`` resolving through the tunnel: TCP and UDP over
    IPv4/IPv6; a service name is looked up locally (/etc/services)."""
    if host is None:
        raise socket.gaierror(socket.EAI_NONAME, "a host is needed (the tunnel has no loopback)")
    if isinstance(host, bytes):
        host = host.decode()
    if isinstance(port, (str, bytes)):
        port = port.decode() if isinstance(port, bytes) else port
        port = int(port) if port.isdigit() else socket.getservbyname(port)
    port = port or 0
    kinds = [type] if type else [socket.SOCK_STREAM, socket.SOCK_DGRAM]
    result = []
    for address in resolve(tunnel, host, family):
        version = ipaddress.ip_address(address).version
        fam = socket.AF_INET6 if version == 6 else socket.AF_INET
        if family and fam != family:
            continue
        sockaddr: tuple[Any, ...] = (address, port, 0, 0) if version == 6 else (address, port)
        for kind in kinds:
            protocol = proto or (socket.IPPROTO_TCP if kind == socket.SOCK_STREAM else socket.IPPROTO_UDP)
            result.append((socket.AddressFamily(fam), socket.SocketKind(kind), protocol, "", sockaddr))
    if not result:
        raise socket.gaierror(socket.EAI_ADDRFAMILY, f"{host!r} has no address of family {family!r}")
    return result
