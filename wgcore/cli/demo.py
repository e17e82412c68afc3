"""``python -m wgcore demo``: two in-process tunnels, no root, real traffic.

The peered pair (:func:`tunnel_pair`) is the test lab's too (``tests/lab``)."""

from __future__ import annotations

import array
import ipaddress
import struct
import threading
import time

from wgcore._constants import DEFAULT_MTU
from wgcore.config import Interface, Peer
from wgcore.keys import PrivateKey
from wgcore.tunnel import Tunnel
from wgcore.values import Endpoint

__all__ = ["INNER_A", "INNER_B", "ipv4_packet", "run", "tunnel_pair"]

BATCH = 64
WINDOW = 2048  # packets in flight at most, so loopback UDP buffers never overflow


def run(seconds: float = 3.0, packet_size: int = DEFAULT_MTU) -> int:
    """Run the demo; print handshake time, throughput and packet rate."""
    if not 28 <= packet_size <= DEFAULT_MTU:  # the tunnels' MTU
        print(f"packet size must be 28..{DEFAULT_MTU} bytes")
        return 2
    a, b = tunnel_pair()
    with a, b:
        src, dst = a.packets, b.packets
        assert src is not None and dst is not None  # in-memory tunnels have packet ports
        packet = ipv4_packet(bytes(packet_size - 20))
        start = time.perf_counter()
        src.send(packet)
        dst.recv(timeout=10)
        handshake = time.perf_counter() - start

        received = 0
        sent = 0
        stop = time.perf_counter() + seconds
        batch = packet * BATCH
        lengths = [packet_size] * BATCH

        def sender() -> None:
            nonlocal sent
            while time.perf_counter() < stop:
                if sent - received < WINDOW:
                    sent += src.send_batch(batch, lengths, timeout=0.1)
                else:
                    time.sleep(0.0001)

        thread = threading.Thread(target=sender)
        buffer = bytearray(packet_size * 256)
        sizes = array.array("I", bytes(4 * 256))
        begin = time.perf_counter()
        thread.start()
        while thread.is_alive() or received < sent:
            n = dst.recv_batch_into(buffer, sizes, timeout=0.2)
            if n == 0 and not thread.is_alive():
                break
            received += n
        elapsed = time.perf_counter() - begin
        thread.join()

    print(f"handshake + first packet: {handshake * 1000:.2f} ms")
    print(f"packets: {received} of {sent} sent arrived ({packet_size} bytes each) in {elapsed:.2f} s")
    print(f"throughput: {received * packet_size * 8 / elapsed / 1e6:.1f} Mbit/s")
    print(f"packet rate: {received / elapsed / 1e3:.1f} kpackets/s")
    return 0 if received else 1


INNER_A = bytes([198, 51, 100, 1])
INNER_B = bytes([198, 51, 100, 2])


def ipv4_packet(payload: bytes, src: bytes = INNER_A, dst: bytes = INNER_B) -> bytes:
    """An IPv4 packet (experimental protocol 253) carrying ``payload``."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, 253, 0, src, dst)
    return header + payload


def tunnel_pair(transport: str = "udp", mtu: int = DEFAULT_MTU) -> tuple[Tunnel, Tunnel]:
    """Two in-memory tunnels, A (198.51.100.1) and B (.2), peered.

    With ``transport="udp"`` they talk over loopback; with ``"host"`` the
    caller carries their datagrams.
    """
    keys = [PrivateKey.generate(), PrivateKey.generate()]
    tunnels = [
        Tunnel.in_memory(Interface(private_key=k, listen_port=0), mtu=mtu, transport=transport) for k in keys
    ]
    for me, other, inner in ((0, 1, INNER_B), (1, 0, INNER_A)):
        port = tunnels[other].config().listen_port or 1
        peer = Peer(keys[other].public_key, [ipaddress.ip_network(inner)], Endpoint("127.0.0.1", port))
        tunnels[me].set_config(peer)
    return tunnels[0], tunnels[1]
