"""A rootless client (nobody, no capabilities) reaches a kernel-TUN peer's
servers through a netstack tunnel: HTTP (20 MiB, sha256), HTTPS with a
test CA, DNS, UDP, an inbound connection, all of it again concurrently
from asyncio, and the socket exceptions."""

from __future__ import annotations

import base64
import functools
import hashlib
import http.server
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


from .helpers import device_uapi, new_key_pair, peer_uapi, start
from .lab import netns
from .netstack_support import dns_reply, make_certificates, serve, serve_datagrams

PEER = "10.77.0.1"
CLIENT = Path(__file__).with_name("netstack_client.py")
BIG = 20 << 20
UNPRIVILEGED = ["setpriv", "--reuid", "nobody", "--regid", "nogroup", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all"]


def reset_after_a_megabyte(conn: socket.socket) -> None:
    conn.sendall(os.urandom(1 << 20))
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close sends RST


class Servers:
    """HTTP, HTTPS, UDP echo, DNS and a resetting server on the peer's
    tunnel address, in namespace ns."""

    def __init__(self, ns: str, directory: Path) -> None:
        self.ca, cert, key = make_certificates(directory, "web.test")
        site = directory / "site"
        site.mkdir()
        self.big = os.urandom(BIG)
        self.small = os.urandom(1 << 20)
        (site / "big").write_bytes(self.big)
        (site / "small").write_bytes(self.small)
        handler = functools.partial(Quiet, directory=str(site))
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(cert, key)

        def bind() -> list[Any]:
            plain = http.server.ThreadingHTTPServer((PEER, 80), handler)
            secure = http.server.ThreadingHTTPServer((PEER, 443), handler)
            secure.socket = tls.wrap_socket(secure.socket, server_side=True)
            udp = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
            udp[0].bind((PEER, 7))
            udp[1].bind((PEER, 53))
            reset = socket.create_server((PEER, 81))
            return [plain, secure, *udp, reset]

        self.plain, self.secure, echo, names, reset = netns.run_in(ns, bind)
        self.closers = [self.plain.server_close, self.secure.server_close, echo.close, names.close, reset.close]
        for server in (self.plain, self.secure):
            threading.Thread(target=server.serve_forever, daemon=True).start()
        serve_datagrams(echo, bytes.upper)
        serve_datagrams(names, dns_reply({"web.test": [PEER]}))
        serve(reset, reset_after_a_megabyte)

    def close(self) -> None:
        self.plain.shutdown()
        self.secure.shutdown()
        for close in self.closers:
            close()


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def peer(namespaces: tuple[str, str], tmp_path: Path) -> Iterator[tuple[str, str, Servers, dict[str, str]]]:
    """(client ns, peer ns, the peer's servers, the client's stdin fields)."""
    client_ns, peer_ns = namespaces
    peer_private, peer_public = new_key_pair()
    client_private, client_public = new_key_pair()
    config = device_uapi(peer_private, 51820) + peer_uapi(client_public, "198.18.0.1:51820", "10.77.0.2/32")
    with start(peer_ns, "wgpeer", config):
        netns.ip("-n", peer_ns, "addr", "add", f"{PEER}/24", "dev", "wgpeer")
        netns.ip("-n", peer_ns, "link", "set", "wgpeer", "up")
        servers = Servers(peer_ns, tmp_path)
        try:
            yield client_ns, peer_ns, servers, {
                "private_key": client_private.hex(), "peer_key": peer_public.hex(),
                "endpoint": "198.18.0.2:51820", "ca": servers.ca.read_text()}
        finally:
            servers.close()


def connect_inbound(peer_ns: str) -> bytes:
    """From the peer's namespace, connect to the client's listening socket."""
    def talk() -> bytes:
        with socket.create_connection(("10.77.0.2", 9000), timeout=10) as sock:
            sock.sendall(b"inbound")
            return sock.recv(100)
    return netns.run_in(peer_ns, talk)


@pytest.mark.timeout(60)
@pytest.mark.tools("setpriv", "openssl")
def test_rootless_client_through_a_kernel_tun_peer(peer: tuple[str, str, Servers, dict[str, str]]) -> None:
    client_ns, peer_ns, servers, fields = peer
    command = ["ip", "netns", "exec", client_ns, *UNPRIVILEGED, sys.executable, "-P", str(CLIENT)]
    results: dict[str, dict[str, Any]] = {}
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, cwd="/") as child:
        assert child.stdin is not None and child.stdout is not None and child.stderr is not None
        child.stdin.write(json.dumps(fields))
        child.stdin.close()
        for line in child.stdout:
            result = json.loads(line)
            results[result.pop("check")] = result
            if "listening" in results and "inbound" not in results:
                assert connect_inbound(peer_ns) == b"INBOUND"
        assert child.wait(30) == 0, child.stderr.read()

    assert results["identity"] == {"uid": 65534, "cap_eff": "0000000000000000"}
    assert results["dns"] == {"addresses": [PEER]}
    assert results["http"] == {"status": 200, "sha256": hashlib.sha256(servers.big).hexdigest()}
    assert results["https"] == {"status": 200, "sha256": hashlib.sha256(servers.small).hexdigest()}
    assert results["udp"] == {"reply": "ECHO ME"}
    assert results["inbound"] == {"peer": PEER}
    assert results["asyncio"] == {"http": hashlib.sha256(servers.big).hexdigest(),
                                  "https": hashlib.sha256(servers.small).hexdigest(),
                                  "udp": "ASYNC ECHO", "dns": PEER}
    assert results["errors"] == {"refused": "ConnectionRefusedError", "timeout": "TimeoutError",
                                 "dns": "gaierror", "reset": "ConnectionResetError"}
    assert results["tunnel closed"] == {"recv": "ConnectionResetError", "send": "ConnectionResetError"}


@pytest.mark.timeout(60)
@pytest.mark.tools("setpriv", "openssl")
def test_wgcore_curl_as_nobody(peer: tuple[str, str, Servers, dict[str, str]]) -> None:
    client_ns, _, servers, fields = peer
    conf = (f"[Interface]\nPrivateKey = {base64.b64encode(bytes.fromhex(fields['private_key'])).decode()}\n"
            f"Address = 10.77.0.2/32\nDNS = {PEER}\n\n[Peer]\n"
            f"PublicKey = {base64.b64encode(bytes.fromhex(fields['peer_key'])).decode()}\n"
            f"AllowedIPs = 10.77.0.0/24\nEndpoint = {fields['endpoint']}\n")
    curl = ["ip", "netns", "exec", client_ns, *UNPRIVILEGED, sys.executable, "-P", "-m", "wgcore", "curl", "-"]
    got = subprocess.run([*curl, "http://web.test/big", "--progress"], input=conf.encode(), capture_output=True,
                         timeout=60, cwd="/")
    assert got.returncode == 0, got.stderr
    assert hashlib.sha256(got.stdout).digest() == hashlib.sha256(servers.big).digest()
    assert b"100% 20.0/20.0 MiB" in got.stderr
    missing = subprocess.run([*curl, "http://web.test/none"], input=conf.encode(), capture_output=True,
                             timeout=60, cwd="/")
    assert missing.returncode == 1 and b"HTTP 404" in missing.stderr
