"""wgcore.net sockets between two netstack tunnels in this process: no
root, no TUN. socket.socket's behaviour and exceptions, TLS, DNS, and
bounded resources over many connections."""

from __future__ import annotations

import errno
import hashlib
import http.client
import ipaddress
import os
import resource
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wgcore
from wgcore import _netstack
from wgcore.config import Interface, Peer
from wgcore.keys import PrivateKey
from wgcore.net import resolver, wrap_tls
from wgcore.values import Endpoint

from .netstack_support import dns_reply, echo, make_certificates, serve, serve_datagrams

A, B = "10.7.0.1", "10.7.0.2"
A6, B6 = "fd00:7::1", "fd00:7::2"


def netstack_pair() -> tuple[wgcore.Tunnel, wgcore.Tunnel]:
    """A (10.7.0.1, fd00:7::1; DNS server B) and B (10.7.0.2, fd00:7::2),
    peered over loopback."""
    keys = [PrivateKey.generate(), PrivateKey.generate()]
    tunnels = [wgcore.Tunnel.netstack(Interface(private_key=k, listen_port=0), addresses=ips, dns=[B])
               for k, ips in zip(keys, ([A, A6], [B, B6]))]
    for me, other in ((0, 1), (1, 0)):
        port = tunnels[other].config().listen_port
        networks = [ipaddress.ip_network("10.7.0.0/24"), ipaddress.ip_network("fd00:7::/64")]
        tunnels[me].set_config(Peer(keys[other].public_key, networks, Endpoint("127.0.0.1", port)))
    return tunnels[0], tunnels[1]


@pytest.fixture
def pair() -> Iterator[tuple[wgcore.Tunnel, wgcore.Tunnel]]:
    a, b = netstack_pair()
    with a, b:
        yield a, b


def listen(tunnel: wgcore.Tunnel, port: int, handle=echo) -> socket.socket:  # type: ignore[no-untyped-def]
    listener = tunnel.net.socket()
    listener.bind(("", port))
    listener.listen()
    serve(listener, handle)
    return listener  # type: ignore[return-value]


def test_tcp_through_http_client_makefile_and_addresses(pair: tuple[wgcore.Tunnel, wgcore.Tunnel]) -> None:
    a, b = pair
    body = os.urandom(3 << 20)

    def respond(conn: socket.socket) -> None:
        request = conn.makefile("rb")
        while request.readline() not in (b"\r\n", b""):
            pass
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)

    listen(b, 80, respond)
    conn = http.client.HTTPConnection(B, 80, timeout=10)
    conn.sock = a.net.create_connection((B, 80), timeout=10)  # type: ignore[assignment]
    assert conn.sock.getpeername() == (B, 80)
    assert conn.sock.getsockname()[0] == A
    conn.request("GET", "/")
    response = conn.getresponse()
    assert response.status == 200
    assert hashlib.sha256(response.read()).digest() == hashlib.sha256(body).digest()


def test_timeouts_non_blocking_and_refused(pair: tuple[wgcore.Tunnel, wgcore.Tunnel]) -> None:
    a, b = pair
    listen(b, 7)
    with a.net.create_connection((B, 7), timeout=0.2) as sock:
        with pytest.raises(TimeoutError):
            sock.recv(10)
        sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            sock.recv(10)
        sock.setblocking(True)
        sock.sendall(b"ping")
        assert sock.recv(10) == b"ping"
        sock.shutdown(socket.SHUT_WR)
        assert sock.recv(10) == b""  # the echo server saw EOF and closed
    with a.net.socket() as sock:
        assert sock.connect_ex((B, 9)) == errno.ECONNREFUSED
    with a.net.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect((B, 9))
    with a.net.socket() as sock:
        sock.settimeout(0.3)
        with pytest.raises(TimeoutError):
            sock.connect(("10.7.0.99", 80))  # routed to B, which is not it: no answer
    with a.net.socket() as sock, pytest.raises(OSError) as bad:
        sock.connect(("::1", 80))
    assert bad.value.errno == errno.EAFNOSUPPORT


def test_udp_sendto_recvfrom_and_connect(pair: tuple[wgcore.Tunnel, wgcore.Tunnel]) -> None:
    a, b = pair
    server = b.net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((B, 7))
    serve_datagrams(server, lambda d: d.upper())
    with a.net.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(b"hello", (B, 7))
        assert sock.recvfrom(100) == (b"HELLO", (B, 7))
        sock.connect((B, 7))
        sock.send(b"again")
        assert sock.recv(100) == b"AGAIN"
        assert sock.getpeername() == (B, 7)


def test_close_and_tunnel_off_under_a_blocked_call(pair: tuple[wgcore.Tunnel, wgcore.Tunnel]) -> None:
    a, b = pair
    listen(b, 7)
    sock = a.net.create_connection((B, 7), timeout=10)
    errors: list[BaseException] = []
    blocked = threading.Thread(target=lambda: errors.append(pytest.raises(OSError, sock.recv, 10).value))
    blocked.start()
    time.sleep(0.1)
    sock.close()
    blocked.join(5)
    assert not blocked.is_alive(), "close did not wake a blocked recv"
    assert errors and errors[0].errno == errno.EBADF  # type: ignore[attr-defined]

    other = a.net.create_connection((B, 7), timeout=10)
    a.close()
    with pytest.raises(ConnectionResetError):
        other.recv(10)
    with pytest.raises(wgcore.TunnelClosedError):
        a.net.socket()
    other.close()


def test_getaddrinfo_through_the_tunnels_dns(pair: tuple[wgcore.Tunnel, wgcore.Tunnel],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = pair
    server = b.net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((B, 53))
    serve_datagrams(server, dns_reply({"web.test": [B, "2001:db8::2"]}))
    listen(b, 7)
    assert a.net.getaddrinfo("web.test", "7", type=socket.SOCK_STREAM) == [
        (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (B, 7)),
        (socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", ("2001:db8::2", 7, 0, 0))]
    with a.net.create_connection(("web.test", 7), timeout=5) as sock:
        sock.sendall(b"x")
        assert sock.recv(1) == b"x"
    with pytest.raises(socket.gaierror) as missing:
        a.net.getaddrinfo("nowhere.test", 80)
    assert missing.value.errno == socket.EAI_NONAME
    server.close()  # no server answers now
    monkeypatch.setattr(resolver, "TRY_TIMEOUT", 0.2)
    with pytest.raises(socket.gaierror) as silent:
        a.net.getaddrinfo("web.test", 80)
    assert silent.value.errno == socket.EAI_AGAIN


def test_ipv6_sockets_and_aaaa_names(pair: tuple[wgcore.Tunnel, wgcore.Tunnel]) -> None:
    a, b = pair
    server = b.net.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind((B, 53))
    serve_datagrams(server, dns_reply({"six.test": [B6]}))
    listener = b.net.socket(socket.AF_INET6)
    listener.bind(("", 7))
    listener.listen()
    serve(listener, echo)
    assert listener.getsockname() == (B6, 7, 0, 0)
    assert a.net.getaddrinfo("six.test", 7, socket.AF_INET6, socket.SOCK_STREAM)[0][4] == (B6, 7, 0, 0)
    with a.net.create_connection(("six.test", 7), timeout=5) as sock:
        assert sock.family == socket.AF_INET6 and sock.getsockname()[0] == A6
        sock.sendall(b"over six")
        assert sock.recv(100) == b"over six"
    udp = b.net.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    udp.bind((B6, 9))
    serve_datagrams(udp, bytes.upper)
    with a.net.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
        sock.settimeout(5)
        sock.sendto(b"six", (B6, 9))
        assert sock.recvfrom(10) == (b"SIX", (B6, 9, 0, 0))


@pytest.mark.tools("openssl")
def test_tls_with_a_test_ca(pair: tuple[wgcore.Tunnel, wgcore.Tunnel], tmp_path: Path) -> None:
    a, b = pair
    ca, cert, key = make_certificates(tmp_path, "web.test")
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)

    def tls_echo(conn: socket.socket) -> None:
        echo(wrap_tls(conn, server_ctx, server_side=True))  # type: ignore[arg-type]

    listen(b, 443, tls_echo)
    client_ctx = ssl.create_default_context(cafile=str(ca))
    with wrap_tls(a.net.create_connection((B, 443), timeout=10), client_ctx, "web.test") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        tls.sendall(b"secret" * 10000)
        got = b""
        while len(got) < 60000:
            got += tls.recv(65536)
        assert got == b"secret" * 10000
    with pytest.raises(ssl.SSLCertVerificationError):
        wrap_tls(a.net.create_connection((B, 443), timeout=10), client_ctx, "other.test")
    with pytest.raises(ssl.SSLCertVerificationError):
        wrap_tls(a.net.create_connection((B, 443), timeout=10), ssl.create_default_context(), "web.test")


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_thousand_connections_leave_no_fds_or_sockets_behind(pair: tuple[wgcore.Tunnel, wgcore.Tunnel]) -> None:
    a, b = pair
    listen(b, 7)
    sockets_before = _netstack.count()

    def churn(n: int) -> None:
        for _ in range(n):
            with a.net.create_connection((B, 7), timeout=10) as sock:
                sock.sendall(b"x")
                assert sock.recv(1) == b"x"

    churn(100)  # warm up: Go's and gVisor's pools
    fds, rss = open_fds(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    churn(1000)
    deadline = time.monotonic() + 5
    while _netstack.count() > sockets_before + 1 and time.monotonic() < deadline:
        time.sleep(0.05)  # the echo server closes its side on EOF
    assert _netstack.count() <= sockets_before + 1  # + the listener's last accepted, closing
    assert open_fds() <= fds + 4  # each socket's two eventfds are closed with it
    growth_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss
    assert growth_kib < 64 * 1024, f"peak RSS grew {growth_kib} KiB over 1,000 connections"


def test_version_names_the_gvisor_that_go_mod_pins() -> None:
    go_mod = (Path(__file__).resolve().parents[1] / "libwg" / "go.mod").read_text()
    pinned = next(line.split()[1] for line in go_mod.splitlines() if line.strip().startswith("gvisor.dev/gvisor "))
    assert wgcore.version()["gvisor"] == f"gvisor.dev/gvisor@{pinned}"
