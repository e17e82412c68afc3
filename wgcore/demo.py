"""``python -m wgcore demo``: two in-process tunnels, no root, real traffic."""

from __future__ import annotations

import array
import threading
import time

from wgcore import testing
from wgcore._constants import DEFAULT_MTU

__all__ = ["run"]

BATCH = 64
WINDOW = 2048  # packets in flight at most, so loopback UDP buffers never overflow


def run(seconds: float = 3.0, packet_size: int = DEFAULT_MTU) -> int:
    """Run the demo; print handshake time, throughput and packet rate."""
    if not 28 <= packet_size <= DEFAULT_MTU:  # the tunnels' MTU
        print(f"packet size must be 28..{DEFAULT_MTU} bytes")
        return 2
    a, b = testing.tunnel_pair()
    with a, b:
        packet = testing.ipv4_packet(bytes(packet_size - 20))
        start = time.perf_counter()
        a.packets.send(packet)
        b.packets.recv(timeout=10)
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
                    sent += a.packets.send_batch(batch, lengths, timeout=0.1)
                else:
                    time.sleep(0.0001)

        thread = threading.Thread(target=sender)
        buffer = bytearray(packet_size * 256)
        sizes = array.array("I", bytes(4 * 256))
        begin = time.perf_counter()
        thread.start()
        while thread.is_alive() or received < sent:
            n = b.packets.recv_batch_into(buffer, sizes, timeout=0.2)
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
