"""Multihop through two real relays (Debian wireguard-go) in namespaces:
client -> entry relay -> exit relay -> server (tests/lab/relays.py)."""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wgcore
from wgcore import Tunnel
from wgcore.daita import CONSTANT_RATE

from .lab import icmp_echo, netns
from .lab.capture import UdpCapture
from .lab.relays import ENTRY_RELAY, EXIT_RELAY, PORT, PRIVATE_IP, SERVER, TUNNEL_IP, Relays, relays
from .test_cli import WGCORE, running_up

pytestmark = pytest.mark.tools("wireguard-go", "wg", "nft", "ping")

_ids = itertools.count()
ENTRY_PORT = f"{ENTRY_RELAY}:{PORT}"


@pytest.fixture
def topology(root: None) -> Iterator[Relays]:
    with relays(f"wgcm{os.getpid() % 10000}x{next(_ids)}") as topology:
        yield topology


def multihop_tun(r: Relays, name: str) -> Tunnel:
    """A wgcore multihop tunnel on TUN ``name`` in the client namespace, routed to the server."""
    tunnel = netns.run_in(r.client, lambda: Tunnel.multihop(
        r.entry_interface, r.exit_interface, private_ip=PRIVATE_IP, interface=name))
    r.route_via(name)
    return tunnel


def ping(ns: str, *options: str, count: int = 3) -> str:
    done = netns.run(ns, "ping", "-c", str(count), "-i", "0.2", "-W", "3", *options, SERVER)
    assert done.returncode == 0 and " 0% packet loss" in done.stdout, done.stdout + done.stderr
    return done.stdout


def tcp_transfer(r: Relays, data: bytes) -> str:
    """Send ``data`` from the client to a server in the server namespace; its sha256 there."""
    listener = netns.run_in(r.server, lambda: socket.create_server((SERVER, 0)))
    received: list[str] = []

    def serve() -> None:
        conn, _ = listener.accept()
        digest = hashlib.sha256()
        with conn:
            while chunk := conn.recv(1 << 16):
                digest.update(chunk)
        received.append(digest.hexdigest())

    server = threading.Thread(target=serve)
    with listener:
        listener.settimeout(30)
        server.start()
        client = netns.run_in(r.client, lambda: socket.create_connection(listener.getsockname(), timeout=30))
        with client:
            client.sendall(data)
        server.join(timeout=60)
    assert received, "the server got no connection"
    return received[0]


def test_ping_and_20_mib_cross_both_relays_and_the_client_wire_shows_only_the_entry(
        topology: Relays) -> None:
    r = topology
    data = os.urandom(20 << 20)
    with UdpCapture(r.client, "veth0") as wire, multihop_tun(r, "wgcmh0") as tunnel:
        assert tunnel.entry is not None and tunnel.exit is not None
        ping(r.client)
        assert tcp_transfer(r, data) == hashlib.sha256(data).hexdigest()
        exit_sees, entry_sees = r.client_endpoint("exit"), r.client_endpoint("entry")
        stats = tunnel.entry.stats()
    wire.stop()
    print(f"\nclient wire, UDP datagrams per destination: {dict(wire.datagrams)}; bytes: {dict(wire.bytes)}")
    print(f"exit relay sees the client at {exit_sees}, the entry relay sees it at {entry_sees}")
    assert set(wire.datagrams) == {ENTRY_PORT}, "the client sent UDP elsewhere than to the entry relay"
    assert not any(dest.startswith(EXIT_RELAY + ":") for dest in wire.datagrams)
    assert wire.bytes[ENTRY_PORT] > 20 << 20, "the 20 MiB went to the entry relay"
    assert exit_sees.rsplit(":", 1)[0] == "198.18.0.5", "the exit relay must see the entry relay"
    assert entry_sees.rsplit(":", 1)[0] == "198.18.0.1"
    assert sum(s.tx_bytes for s in stats.values()) > 20 << 20


def test_single_hop_control_shows_the_client_to_the_exit_relay(topology: Relays) -> None:
    """The same capture and endpoint checks see a single-hop tunnel to the exit relay."""
    r = topology
    tunnel = netns.run_in(r.client, lambda: Tunnel.from_interface("wgcsh0", r.exit_interface))
    with UdpCapture(r.client, "veth0") as wire, tunnel:
        r.route_via("wgcsh0")
        ping(r.client)
        exit_sees = r.client_endpoint("exit")
    assert set(wire.datagrams) == {f"{EXIT_RELAY}:{PORT}"}
    assert exit_sees.rsplit(":", 1)[0] == "198.18.0.1"


def test_largest_packet_that_crosses_unfragmented(topology: Relays) -> None:
    r = topology
    with multihop_tun(r, "wgcmh1") as tunnel:
        assert tunnel.mtu == 1420 - 60
        assert f"mtu {tunnel.mtu} " in netns.ip("-n", r.client, "link", "show", "dev", "wgcmh1")
        ping(r.client, count=1)  # the handshakes first: the capture sees data packets only
        with UdpCapture(r.client, "veth0") as wire:
            ping(r.client, "-M", "do", "-s", str(tunnel.mtu - 28))  # IPv4 + ICMP headers: 28
        too_big = netns.run(r.client, "ping", "-c", "1", "-M", "do", "-s", str(tunnel.mtu - 27), SERVER)
    assert too_big.returncode != 0 and "message too long" in too_big.stdout + too_big.stderr
    # the exit packet of 1360 bytes became an entry packet of exactly 1420: 1452 with WireGuard's 32
    assert wire.largest[ENTRY_PORT] == 1420 + 32


def test_in_memory_multihop_over_the_host_transport(topology: Relays) -> None:
    r = topology
    tunnel = Tunnel.multihop(r.entry_interface, r.exit_interface, private_ip=PRIVATE_IP,
                             in_memory=True, transport="host")
    link = netns.run_in(r.client, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    link.connect((ENTRY_RELAY, PORT))
    link.settimeout(0.05)
    stop = threading.Event()

    def carry() -> None:  # the host's link: the entry hop's datagrams over a socket of ours
        while not stop.is_set():
            try:
                while True:
                    link.send(tunnel.datagrams.recv(timeout=0))
            except (TimeoutError, wgcore.TunnelClosedError):
                pass
            try:
                tunnel.datagrams.send_batch([link.recv(65536)])
            except (TimeoutError, wgcore.TunnelClosedError):
                pass

    carrier = threading.Thread(target=carry)
    carrier.start()
    try:
        with tunnel:
            replies = []
            for seq in range(3):
                tunnel.packets.send(icmp_echo(TUNNEL_IP, SERVER, seq))
                replies.append(tunnel.packets.recv(timeout=10))
            assert tunnel.entry is not None and tunnel.entry.traffic().sent.data.packets >= 3
    finally:
        stop.set()
        carrier.join(timeout=10)
        link.close()
    for seq, reply in enumerate(replies):
        assert reply[12:16] == socket.inet_aton(SERVER) and reply[16:20] == socket.inet_aton(TUNNEL_IP)
        assert reply[20] == 0 and int.from_bytes(reply[26:28], "big") == seq, "an echo reply"


@pytest.mark.daita
def test_daita_on_the_entry_hop_pads_only_the_client_to_entry_link(topology: Relays) -> None:
    r = topology
    entry_relay = r.entry_interface.peers[0].public_key
    with multihop_tun(r, "wgcmh2") as tunnel:
        assert tunnel.entry is not None
        ping(r.client, count=1)  # the handshakes
        tunnel.entry.activate_daita(entry_relay, CONSTANT_RATE)
        exit_before = r.relay_transfer("exit")[0]
        with UdpCapture(r.client, "veth0") as wire:
            ping(r.client, count=1)  # one packet starts CONSTANT_RATE: 50 paddings in 1 s
            time.sleep(1.2)
        exit_received = r.relay_transfer("exit")[0] - exit_before
        ping(r.client, count=2)  # DAITA does not get in the way
    print(f"\none ping with DAITA: {wire.datagrams[ENTRY_PORT]} datagrams, {wire.bytes[ENTRY_PORT]} bytes "
          f"on the client's wire; {exit_received} bytes received by the exit relay")
    assert wire.datagrams[ENTRY_PORT] > 20, "the entry hop pads its link"
    assert wire.bytes[ENTRY_PORT] > 20 * 1420
    assert exit_received < 1000, "padding must not reach the exit relay"


def test_close_while_traffic_flows(topology: Relays) -> None:
    r = topology
    handles = wgcore.tunnel.tunnel_count()
    tunnel = multihop_tun(r, "wgcmh3")
    entry = tunnel.entry
    assert entry is not None
    sender = netns.run_in(r.client, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    sender.setblocking(False)
    stop = threading.Event()
    sent = [0]

    def flood() -> None:
        while not stop.is_set():
            try:
                sender.sendto(b"x" * 1200, (SERVER, 9))
                sent[0] += 1
            except OSError:  # the TUN went away, or its queue is full
                time.sleep(0.001)

    flooder = threading.Thread(target=flood)
    flooder.start()
    try:
        deadline = time.monotonic() + 10
        while entry.traffic().sent.data.packets < 500:
            assert time.monotonic() < deadline, "no traffic flowed"
            time.sleep(0.05)
        closer = threading.Thread(target=tunnel.close)
        closer.start()
        closer.join(timeout=15)
        assert not closer.is_alive(), "close() hung while traffic flowed"
    finally:
        stop.set()
        flooder.join(timeout=10)
        sender.close()
        tunnel.close()
    assert sent[0] >= 500
    for device in (tunnel, entry):
        with pytest.raises(wgcore.TunnelClosedError):
            device.get_config()
    assert wgcore.tunnel.tunnel_count() == handles, "leaked handles"
    assert "wgcmh3" not in netns.ip("-n", r.client, "link", "show")


def two_confs(r: Relays, directory: Path, name: str) -> tuple[Path, Path]:
    """``<name>.conf`` (the exit hop's) and ``entry.conf`` for ``wgcore up --entry``."""
    entry, exit_ = directory / "entry.conf", directory / f"{name}.conf"
    for path, interface, address in ((entry, r.entry_interface, f"{PRIVATE_IP}/32"),
                                     (exit_, r.exit_interface, f"{TUNNEL_IP}/24")):
        path.write_text(interface.to_conf().replace("[Interface]", f"[Interface]\nAddress = {address}", 1))
    return exit_, entry


def test_wgcore_up_with_two_hops(topology: Relays, tmp_path: Path) -> None:
    r = topology
    name = f"wgcmu{os.getpid() % 100000}"
    exit_, entry = two_confs(r, tmp_path, name)
    with running_up(r.client, exit_, "--entry", str(entry)) as proc:
        assert f"mtu {1420 - 60} " in netns.ip("-n", r.client, "link", "show", "dev", name)
        ping(r.client)
        shown = netns.run(r.client, *WGCORE, "show", name)
        assert shown.returncode == 0, shown.stderr
        entry_part, exit_part = shown.stdout.split(f"interface: {name} (exit hop)")
        assert entry_part.startswith(f"interface: {name} (entry hop)")
        assert f"endpoint: {ENTRY_RELAY}:{PORT}" in entry_part and "transfer: " in entry_part
        assert f"endpoint: {EXIT_RELAY}:{PORT}" in exit_part and "latest handshake" in exit_part
        down = netns.run(r.client, *WGCORE, "down", name)
        assert down.returncode == 0, down.stderr
        assert proc.wait(timeout=20) == 0
    assert name not in netns.ip("-n", r.client, "link", "show")


@pytest.mark.daita
def test_wgcore_up_runs_daita_from_the_entry_config(topology: Relays, tmp_path: Path) -> None:
    r = topology
    name = f"wgcmd{os.getpid() % 100000}"
    r.entry_interface.peers[0].daita = (CONSTANT_RATE,)
    exit_, entry = two_confs(r, tmp_path, name)
    assert "DAITA = CONSTANT_RATE" in entry.read_text()
    with running_up(r.client, exit_, "--entry", str(entry)):
        ping(r.client, count=1)
        time.sleep(1.2)  # the ping's padding is over
        with UdpCapture(r.client, "veth0") as wire:
            ping(r.client, count=1)
            time.sleep(1.2)
    assert wire.datagrams[ENTRY_PORT] > 20, "DAITA from entry.conf pads the link to the entry relay"

