"""DAITA on the wire: padding between two wgcore tunnels and against
Debian's wireguard-go, constant-size packets, refused machines."""

from __future__ import annotations

import array
import os
from ipaddress import ip_network
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

import wgcore
from wgcore.daita import CONSTANT_RATE, DEFAULT

from .helpers import new_key_pair
from .lab import INNER_A, INNER_B, ipv4_packet, netns, tunnel_pair

TRANSPORT_DATA = 4  # WireGuard message type of encrypted packets
KEEPALIVE = 32  # a transport data message with nothing inside
# The shipped machines ignore packets of 52 bytes or less: test packets are larger.


@dataclass
class Wire:
    """Carries host-transport datagrams between A and B, recording A->B."""

    a: wgcore.Tunnel
    b: wgcore.Tunnel
    a_to_b: list[int] = field(default_factory=list)  # sizes of transport data datagrams
    received: list[bytes] = field(default_factory=list)  # packets B's application got

    def run(self, seconds: float) -> None:
        buf = bytearray(256 * 1600)
        lens = array.array("I", bytes(4 * 256))
        stop = time.monotonic() + seconds
        while time.monotonic() < stop:
            for src, dst in ((self.a, self.b), (self.b, self.a)):
                n = src.datagrams.recv_batch_into(buf, lens, timeout=0)
                offset = 0
                for size in lens[:n]:
                    datagram = bytes(buf[offset : offset + size])
                    offset += size
                    if src is self.a and datagram[0] == TRANSPORT_DATA and size > KEEPALIVE:
                        self.a_to_b.append(size)
                    assert dst.datagrams.send_batch([datagram], timeout=1) == 1
            n = self.b.packets.recv_batch_into(buf, lens, timeout=0.002)
            offset = 0
            for size in lens[:n]:
                self.received.append(bytes(buf[offset : offset + size]))
                offset += size


@pytest.fixture
def wire() -> Iterator[Wire]:
    a, b = tunnel_pair("host")
    with a, b:
        wire = Wire(a, b)
        a.packets.send(ipv4_packet(b"handshake"))
        wire.run(0.3)
        assert wire.received == [ipv4_packet(b"handshake")], "no handshake"
        wire.a_to_b.clear()
        wire.received.clear()
        yield wire


def peer_of(tunnel: wgcore.Tunnel) -> wgcore.PublicKey:
    (key,) = re.findall(r"^public_key=([0-9a-f]{64})$", tunnel.get_config(), re.M)
    return wgcore.PublicKey(bytes.fromhex(key))


@pytest.mark.daita
def test_padding_on_the_wire_never_reaches_the_application(wire: Wire) -> None:
    wire.a.activate_daita(peer_of(wire.a), CONSTANT_RATE)
    packets = [ipv4_packet(f"real {i}".encode().ljust(200)) for i in range(20)]
    for packet in packets:
        assert wire.a.packets.send_batch([packet]) == 1
        wire.run(0.05)
    wire.run(0.5)
    wire.a.remove_peer(peer_of(wire.a))  # its padding stops: nothing is sent after the wire's last look
    wire.run(0.2)
    assert wire.received == packets, "B must get exactly the packets A sent, never padding"
    padding = len(wire.a_to_b) - len(packets)
    assert padding > 20, f"only {padding} padding datagrams in 1.5 s"
    sent, got = wire.a.traffic(), wire.b.traffic()
    assert sent.from_app.packets == len(packets) + 1  # and the handshake's packet
    assert sent.sent.data.packets == len(wire.a_to_b) + 1, "the counters see what the wire carried"
    assert sent.sent.data.packets - sent.from_app.packets == padding
    assert got.received.data.packets - got.to_app.packets == padding, "the receiver dropped the padding"
    assert sent.sent.data.bytes > sum(wire.a_to_b)  # plus the handshake's packet
    assert sent.overhead >= sum(wire.a_to_b) / sent.from_app.bytes > 5


@pytest.mark.daita
def test_default_machines_pad_a_quiet_start(wire: Wire) -> None:
    wire.a.activate_daita(peer_of(wire.a))  # wgcore.daita.DEFAULT: FRONT and BREAK_BURST
    assert wire.a.packets.send_batch([ipv4_packet(b"start".ljust(200))]) == 1
    wire.run(1.5)
    assert wire.received == [ipv4_packet(b"start".ljust(200))]
    assert len(wire.a_to_b) > 1, "FRONT sends a burst of padding after the first packet"
    assert set(wire.a_to_b[1:]) == {wire.a.mtu + KEEPALIVE}, "the shipped machines pad to the MTU"
    with pytest.raises(wgcore.errors.DaitaError, match="already"):
        wire.a.activate_daita(peer_of(wire.a))


def test_without_daita_the_wire_carries_only_real_packets(wire: Wire) -> None:
    packets = [ipv4_packet(f"real {i}".encode().ljust(200)) for i in range(20)]
    for packet in packets:
        assert wire.a.packets.send_batch([packet]) == 1
        wire.run(0.05)
    wire.run(0.5)
    assert wire.received == packets
    assert len(wire.a_to_b) == len(packets)


def fork_only() -> None:
    if not wgcore.version()["wireguard_go"].startswith("github.com/mullvad/wireguard-go@"):
        pytest.skip("constant_packet_size is a key of Mullvad's fork; this build links upstream")


def test_constant_packet_size_makes_every_data_datagram_mtu_sized(wire: Wire) -> None:
    fork_only()
    wire.a.set_config(f"public_key={peer_of(wire.a).hex()}\nupdate_only=true\nconstant_packet_size=true\n")
    packets = [ipv4_packet(bytes(size)) for size in (0, 1, 100, 555, 1000, 1400)]
    assert wire.a.packets.send_batch(packets) == len(packets)
    wire.run(0.5)
    assert wire.received == packets, "the receiver trims the padding by the IP header's length"
    assert wire.a_to_b == [wire.a.mtu + KEEPALIVE] * len(packets)


@pytest.mark.daita
def test_refused_machine_leaves_process_and_tunnel_alive(wire: Wire) -> None:
    with pytest.raises(wgcore.errors.DaitaError, match="machine 0"):
        wire.a.activate_daita(peer_of(wire.a), ["00" * 40])
    assert wire.a.packets.send_batch([ipv4_packet(b"after")]) == 1
    wire.run(0.3)
    assert wire.received == [ipv4_packet(b"after")]


@pytest.mark.daita
@pytest.mark.tools("wireguard-go", "wg", "ping")
def test_debian_wireguard_go_drops_the_padding(namespaces: tuple[str, str], tmp_path: os.PathLike[str]) -> None:
    wireguard_go = shutil.which("wireguard-go")
    assert wireguard_go is not None
    a, b = namespaces
    (priv_a, pub_a), (priv_b, pub_b) = new_key_pair(), new_key_pair()
    inner_a, inner_b = ".".join(map(str, INNER_A)), ".".join(map(str, INNER_B))
    log = open(os.path.join(tmp_path, "wireguard-go.log"), "w+")
    name = f"wgd{os.getpid() % 10000}"
    daemon = subprocess.Popen(["ip", "netns", "exec", b, wireguard_go, "-f", name], stdout=log, stderr=log,
                              env={**os.environ, "LOG_LEVEL": "verbose", "WG_PROCESS_FOREGROUND": "1"})
    tunnel = None
    try:
        sock = f"/var/run/wireguard/{name}.sock"
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            assert daemon.poll() is None and time.monotonic() < deadline, "wireguard-go did not start"
            time.sleep(0.05)
        key_file = os.path.join(tmp_path, "b.key")
        with open(key_file, "w") as f:
            f.write(wgcore.PrivateKey(priv_b).to_base64())
        netns.run(b, "wg", "set", name, "private-key", key_file, "listen-port", "51820", "peer",
                  wgcore.PublicKey(pub_a).to_base64(), "allowed-ips", f"{inner_a}/32")
        tunnel = netns.run_in(a, lambda: wgcore.Tunnel.from_interface(
            "wgd0", f"private_key={priv_a.hex()}\npublic_key={pub_b.hex()}\n"
                    f"endpoint=198.18.0.2:51820\nallowed_ip={inner_b}/32\n"))
        for ns, ifname, addr in ((a, "wgd0", inner_a), (b, name, inner_b)):
            netns.ip("-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
            netns.ip("-n", ns, "link", "set", ifname, "up")
        tunnel.activate_daita(wgcore.PublicKey(pub_b), [CONSTANT_RATE])
        done = netns.run(a, "ping", "-c", "5", "-i", "0.2", "-W", "3", inner_b)
        assert done.returncode == 0 and " 0% packet loss" in done.stdout, done.stdout + done.stderr
        time.sleep(0.5)
        log.seek(0)
        dropped = len(re.findall(r"Packet with invalid IP version", log.read()))
        assert dropped > 20, f"wireguard-go logged {dropped} padding packets as invalid"
    finally:
        if tunnel is not None:
            tunnel.close()
        daemon.terminate()
        daemon.wait(timeout=10)
        log.close()


@pytest.mark.daita
def test_add_peer_with_daita_turns_it_on(wire: Wire) -> None:
    key = peer_of(wire.a)
    wire.a.remove_peer(key)
    wire.a.add_peer(wgcore.Peer(key, [ip_network("198.51.100.2/32")], daita=DEFAULT))
    with pytest.raises(wgcore.errors.DaitaError, match="already"):
        wire.a.activate_daita(key)
