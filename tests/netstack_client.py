"""The rootless client of tests/test_netstack_peer.py: run as nobody with
no capabilities, it reaches the peer namespace's servers through a
netstack tunnel and prints one JSON result per check on stdout.

stdin: JSON {"private_key", "peer_key", "endpoint", "ca"}.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import os
import socket
import ssl
import sys
from typing import Any

import wgcore
from wgcore.config import Interface, Peer
from wgcore.keys import PrivateKey, PublicKey
from wgcore.net import wrap_tls
from wgcore.values import Endpoint

PEER, SELF = "10.77.0.1", "10.77.0.2"


def report(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def error_name(call: Any) -> str:
    try:
        call()
    except Exception as e:
        return type(e).__name__
    return "no error"


async def http_get(tunnel: Any, path: str, port: int, context: ssl.SSLContext | None) -> str:
    """sha256 of the body of GET path (HTTP/1.0: the body ends at EOF)."""
    reader, writer = await tunnel.net.open_connection("web.test", port, ssl=context)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: web.test\r\n\r\n".encode())
    response = await reader.read()
    writer.close()
    return hashlib.sha256(response.partition(b"\r\n\r\n")[2]).hexdigest()


class Echo(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.reply.set_result(data)


async def udp_echo(tunnel: Any) -> str:
    transport, protocol = await tunnel.net.create_datagram_endpoint(Echo, remote_addr=(PEER, 7))
    transport.sendto(b"async echo")
    try:
        return (await asyncio.wait_for(protocol.reply, 10)).decode()
    finally:
        transport.close()


async def concurrently(tunnel: Any, context: ssl.SSLContext) -> None:
    loop = asyncio.get_running_loop()
    http, https, udp, names = await asyncio.wait_for(asyncio.gather(
        http_get(tunnel, "/big", 80, None), http_get(tunnel, "/small", 443, context), udp_echo(tunnel),
        loop.run_in_executor(None, tunnel.net.getaddrinfo, "web.test", 80, 0, socket.SOCK_STREAM)), 30)
    report(check="asyncio", http=http, https=https, udp=udp, dns=names[0][4][0])


def main() -> None:
    args = json.load(sys.stdin)
    with open("/proc/self/status") as status:
        cap_eff = next(line.split()[1] for line in status if line.startswith("CapEff:"))
    report(check="identity", uid=os.getuid(), cap_eff=cap_eff)
    host, port = args["endpoint"].rsplit(":", 1)
    tunnel = wgcore.Tunnel.netstack(
        Interface(private_key=PrivateKey.from_hex(args["private_key"]),
                  peers=[Peer(PublicKey.from_hex(args["peer_key"]), ["10.77.0.0/24"], Endpoint(host, int(port)))]),
        addresses=[SELF], dns=[PEER])

    report(check="dns", addresses=[info[4][0] for info in tunnel.net.getaddrinfo("web.test", 80, type=socket.SOCK_STREAM)])

    conn = http.client.HTTPConnection("web.test", timeout=30)
    conn.sock = tunnel.net.create_connection(("web.test", 80), timeout=30)  # type: ignore[assignment]
    conn.request("GET", "/big")
    response = conn.getresponse()
    report(check="http", status=response.status, sha256=hashlib.sha256(response.read()).hexdigest())

    context = ssl.create_default_context(cadata=args["ca"])
    conn = http.client.HTTPConnection("web.test", 443, timeout=30)
    conn.sock = wrap_tls(tunnel.net.create_connection(("web.test", 443), timeout=30), context, "web.test")  # type: ignore[assignment]
    conn.request("GET", "/small")
    response = conn.getresponse()
    report(check="https", status=response.status, sha256=hashlib.sha256(response.read()).hexdigest())

    with tunnel.net.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(10)
        udp.sendto(b"echo me", (PEER, 7))
        report(check="udp", reply=udp.recvfrom(100)[0].decode())

    with tunnel.net.socket() as listener:
        listener.settimeout(20)
        listener.bind(("", 9000))
        listener.listen()
        report(check="listening")
        conn_in, peer = listener.accept()
        with conn_in:
            conn_in.settimeout(10)
            conn_in.sendall(conn_in.recv(100).upper())
        report(check="inbound", peer=peer[0])

    asyncio.run(concurrently(tunnel, context))

    def refused() -> None:
        tunnel.net.create_connection((PEER, 9), timeout=10)

    def silent() -> None:
        tunnel.net.create_connection(("10.77.0.3", 80), timeout=0.5)

    def unknown_name() -> None:
        tunnel.net.getaddrinfo("nowhere.test", 80)

    def reset_mid_transfer() -> None:
        with tunnel.net.create_connection((PEER, 81), timeout=10) as sock:
            while sock.recv(65536):
                pass

    report(check="errors", refused=error_name(refused), timeout=error_name(silent),
           dns=error_name(unknown_name), reset=error_name(reset_mid_transfer))

    sock = tunnel.net.create_connection((PEER, 80), timeout=10)
    tunnel.close()
    report(check="tunnel closed", recv=error_name(lambda: sock.recv(10)), send=error_name(lambda: sock.sendall(b"x")))
    sock.close()


if __name__ == "__main__":
    main()
