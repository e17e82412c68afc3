#!/usr/bin/env python3
"""Sockets without root: wgcore's netstack sockets against wireguard-requests
(boringtun + smoltcp) and the kernel path (a TUN tunnel, ordinary sockets).

Two namespaces joined by veth (198.18.0.1/30, 198.18.0.2/30). In the
server's, a wgcore TUN tunnel (10.77.0.1/24) fronts a small HTTP/1.1 server
(threads, kernel sockets). Each client is a process of its own in the other
namespace, with its own key: ``netstack`` (Tunnel.netstack, 10.77.0.2),
``tun`` (Tunnel.from_interface + socket.create_connection, 10.77.0.3) and
``wireguard-requests`` (its WireGuardSocket, 10.77.0.4). All three use the
same client code on their socket: a 20 MiB GET (MB/s, best of --repeat) and
64 KiB POST echoes on one keep-alive connection for --seconds (requests/s).
Setups alternate within the run. Needs root.

    sudo python benchmarks/netstack.py [--seconds 3] [--repeat 3] [--plot PATH]
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from plotting import pyplot, save

sys.path.append(str(Path(__file__).resolve().parent.parent))  # the repository, after the installed wgcore: tests.lab
from tests.lab import netns  # noqa: E402

SETUPS = ("netstack", "tun", "wireguard-requests")
ADDRESSES = {"netstack": "10.77.0.2", "tun": "10.77.0.3", "wireguard-requests": "10.77.0.4"}
SERVER, PORT, WG_PORT = "10.77.0.1", 8080, 51820
BIG = 20 << 20
SMALL = 64 << 10
DEFAULT_PLOT = Path(__file__).resolve().parent / "results" / "netstack.png"
TARGETS = {"wireguard-requests": 5.0, "tun": 0.5}  # wgcore's 20 MiB GET >= this x the setup's


# -- the HTTP/1.1 server and client, the same for every setup

def read_head(sock: Any, buf: bytearray) -> tuple[bytes, bytearray]:
    """The request/status line + headers, and what came after them."""
    data = bytearray()
    while b"\r\n\r\n" not in data:
        n = sock.recv_into(buf)
        if n == 0:
            raise ConnectionError("the peer closed")
        data += buf[:n]
    head, _, rest = bytes(data).partition(b"\r\n\r\n")
    return head, bytearray(rest)


def read_body(sock: Any, buf: bytearray, have: bytearray, length: int) -> bytes:
    body = have
    while len(body) < length:
        n = sock.recv_into(buf)
        if n == 0:
            raise ConnectionError("the peer closed mid-body")
        body += buf[:n]
    return bytes(body)


def content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def serve_connection(conn: socket.socket, big: bytes) -> None:
    buf = bytearray(256 * 1024)
    with conn:
        while True:
            try:
                head, rest = read_head(conn, buf)
            except ConnectionError:
                return
            body = read_body(conn, buf, rest, content_length(head)) if head.startswith(b"POST") else b""
            payload = big if head.startswith(b"GET /big") else body
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(payload))
            conn.sendall(payload)


def get_big(connect: Callable[[], Any]) -> float:
    """Seconds for one 20 MiB GET, connect included."""
    buf = bytearray(256 * 1024)
    start = time.perf_counter()
    sock = connect()
    sock.sendall(b"GET /big HTTP/1.1\r\nHost: bench\r\n\r\n")
    head, rest = read_head(sock, buf)
    received = len(rest)
    while received < content_length(head):
        n = sock.recv_into(buf)
        if n == 0:
            raise ConnectionError("the server closed mid-body")
        received += n
    elapsed = time.perf_counter() - start
    sock.close()
    return elapsed


def echo_rate(connect: Callable[[], Any], seconds: float) -> float:
    """64 KiB POST + 64 KiB response round trips per second, one connection."""
    buf = bytearray(256 * 1024)
    request = b"POST /echo HTTP/1.1\r\nHost: bench\r\nContent-Length: %d\r\n\r\n" % SMALL + os.urandom(SMALL)
    sock = connect()
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        sock.sendall(request)
        head, rest = read_head(sock, buf)
        read_body(sock, buf, rest, content_length(head))
        done += 1
    sock.close()
    return done / elapsed


# -- helper processes (hidden --role)

def conf(args: dict[str, Any], address: str) -> str:
    return (f"[Interface]\nPrivateKey = {args['private']}\nAddress = {address}/32\n\n[Peer]\n"
            f"PublicKey = {args['server_public']}\nAllowedIPs = 10.77.0.0/24\n"
            f"Endpoint = 198.18.0.2:{WG_PORT}\n")


def client_connect(role: str, args: dict[str, Any]) -> tuple[Callable[[], Any], Callable[[], None]]:
    """(connect, close) for one setup: a socket factory to the server."""
    import wgcore
    from wgcore.config import Interface

    if role == "netstack":
        tunnel = wgcore.Tunnel.netstack(Interface.from_conf(conf(args, ADDRESSES[role])))
        return lambda: tunnel.net.create_connection((SERVER, PORT), 30), tunnel.close
    if role == "tun":
        tunnel = wgcore.Tunnel.from_interface("wgbench", Interface.from_conf(conf(args, ADDRESSES[role])))
        netns.ip("addr", "add", f"{ADDRESSES[role]}/24", "dev", "wgbench")
        netns.ip("link", "set", "wgbench", "up")
        return lambda: socket.create_connection((SERVER, PORT), 30), tunnel.close
    from wireguard_requests import WireGuardConfig, WireGuardSocket, wireguard_context

    context = wireguard_context(WireGuardConfig.from_string(conf(args, ADDRESSES[role])))
    wg_tunnel = context.__enter__()

    def connect() -> Any:
        sock = WireGuardSocket(wg_tunnel)
        sock.connect((SERVER, PORT))
        return sock

    return connect, lambda: context.__exit__(None, None, None)


def run_client(role: str, args: dict[str, Any]) -> dict[str, Any]:
    try:
        connect, close = client_connect(role, args)
    except ImportError as e:
        return {"skip": f"wireguard-requests is not installed ({e}): pip install wireguard-requests"}
    try:
        deadline = time.monotonic() + 15
        while True:  # the first handshake
            try:
                connect().close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        seconds = min(get_big(connect) for _ in range(args["repeat"]))
        return {"get_mbs": BIG / seconds / 1e6, "echo_rps": echo_rate(connect, args["seconds"])}
    finally:
        close()


def run_server(args: dict[str, Any]) -> None:
    import wgcore
    from wgcore.config import Interface

    peers = "".join(f"\n[Peer]\nPublicKey = {public}\nAllowedIPs = {ADDRESSES[setup]}/32\n"
                    for setup, public in args["clients"].items())
    interface = Interface.from_conf(f"[Interface]\nPrivateKey = {args['private']}\nListenPort = {WG_PORT}\n{peers}")
    with wgcore.Tunnel.from_interface("wgserver", interface):
        netns.ip("addr", "add", f"{SERVER}/24", "dev", "wgserver")
        netns.ip("link", "set", "wgserver", "up")
        big = os.urandom(BIG)
        listener = socket.create_server((SERVER, PORT), backlog=64)

        def accept() -> None:
            while True:
                conn, _ = listener.accept()
                threading.Thread(target=serve_connection, args=(conn, big), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        print("ready", flush=True)
        sys.stdin.read()  # until the benchmark closes stdin


def helper(role: str) -> None:
    args = json.load(sys.stdin) if role != "server" else json.loads(sys.stdin.readline())
    if role == "server":
        run_server(args)
    else:
        print(json.dumps(run_client(role, args)), flush=True)


# -- the benchmark

def key_pair() -> tuple[str, str]:
    from wgcore.keys import PrivateKey

    private = PrivateKey.generate()
    return base64.b64encode(bytes(private)).decode(), base64.b64encode(bytes(private.public_key)).decode()


def plot(results: dict[str, dict[str, Any]], path: Path) -> None:
    plt = pyplot()
    measured = {s: r for s, r in results.items() if "skip" not in r}
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, key, label in ((axes[0], "get_mbs", "20 MiB GET (MB/s)"), (axes[1], "echo_rps", "64 KiB echoes / s")):
        ax.bar(list(measured), [r[key] for r in measured.values()], color=["C0", "C1", "C2"][:len(measured)])
        ax.set_title(label)
    fig.suptitle("Sockets through WireGuard, same server, same run")
    save(fig, path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="echo run length per setup (default 3)")
    parser.add_argument("--repeat", type=int, default=3, help="20 MiB GETs per setup, best taken (default 3)")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT)
    parser.add_argument("--role", choices=("server", *SETUPS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role:
        helper(args.role)
        return 0
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, TUN devices)")

    server_private, server_public = key_pair()
    clients = {setup: key_pair() for setup in SETUPS}
    base = f"wgbench{os.getpid()}"
    me = [sys.executable, str(Path(__file__).resolve())]
    with netns.namespace(base + "a") as client_ns, netns.namespace(base + "b") as server_ns:
        netns.veth(client_ns, "198.18.0.1/30", server_ns, "198.18.0.2/30")
        server = subprocess.Popen(["ip", "netns", "exec", server_ns, *me, "--role", "server"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, cwd="/")
        assert server.stdin is not None and server.stdout is not None
        try:
            server.stdin.write(json.dumps({"private": server_private,
                                           "clients": {s: k[1] for s, k in clients.items()}}) + "\n")
            server.stdin.flush()
            if server.stdout.readline().strip() != "ready":
                sys.exit("the server did not start")
            results = {}
            for setup in SETUPS:
                fields = {"private": clients[setup][0], "server_public": server_public,
                          "repeat": args.repeat, "seconds": args.seconds}
                done = subprocess.run(["ip", "netns", "exec", client_ns, *me, "--role", setup],
                                      input=json.dumps(fields), capture_output=True, text=True, timeout=300, cwd="/")
                if done.returncode != 0:
                    results[setup] = {"skip": f"failed: {done.stderr.strip().splitlines()[-1:]}"}
                else:
                    results[setup] = json.loads(done.stdout.strip().splitlines()[-1])
        finally:
            server.stdin.close()
            server.wait(30)

    print(f"{'setup':<20} {'20 MiB GET MB/s':>16} {'64 KiB echoes/s':>16}")
    for setup, result in results.items():
        if "skip" in result:
            print(f"{setup:<20} skipped: {result['skip']}")
        else:
            print(f"{setup:<20} {result['get_mbs']:>16.1f} {result['echo_rps']:>16.1f}")
    ours = results["netstack"]
    for other, target in TARGETS.items():
        if "skip" in results[other] or "skip" in ours:
            print(f"netstack / {other}: not measured")
            continue
        get_ratio = ours["get_mbs"] / results[other]["get_mbs"]
        echo_ratio = ours["echo_rps"] / results[other]["echo_rps"]
        verdict = "met" if get_ratio >= target else "MISSED"
        print(f"netstack / {other}: GET {get_ratio:.2f}x (target >= {target}x: {verdict}), echoes {echo_ratio:.2f}x")
    plot(results, args.plot)
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
