"""Count the UDP datagrams a namespace's link sends, per destination (root).

A packet socket (``AF_PACKET``) on one interface, read by a thread: no
tcpdump needed. Only outgoing IPv4/UDP is counted.
"""

from __future__ import annotations

import collections
import ipaddress
import select
import socket
import struct
import threading
from types import TracebackType

from . import netns

__all__ = ["UdpCapture"]

_ETH_P_ALL = 0x0003
_ETH_HEADER = 14
_UDP = 17


class UdpCapture:
    """Outgoing IPv4/UDP datagrams of ``ifname`` in namespace ``ns``, counted
    until :meth:`stop` (or the ``with`` block's end).

    ``datagrams``, ``bytes`` and ``largest`` map "address:port"
    destinations to counts, summed UDP payload bytes and the largest
    payload. A segmentation-offload batch of datagrams
    (UDP GSO) crosses a veth as one frame and counts once.
    """

    def __init__(self, ns: str, ifname: str) -> None:
        self.datagrams: collections.Counter[str] = collections.Counter()
        self.bytes: collections.Counter[str] = collections.Counter()
        self.largest: dict[str, int] = {}
        self._sock = netns.run_in(ns, lambda: _packet_socket(ifname))
        self._stop_r, self._stop_w = socket.socketpair()
        self._thread = threading.Thread(target=self._read, name=f"capture {ns}/{ifname}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop counting; stopping twice is allowed."""
        if self._thread.is_alive():
            self._stop_w.send(b"x")
            self._thread.join(timeout=5)
        for sock in (self._sock, self._stop_r, self._stop_w):
            sock.close()

    def _read(self) -> None:
        buf = bytearray(65536)
        while True:
            ready, _, _ = select.select([self._sock, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            n, address = self._sock.recvfrom_into(buf)
            if address[2] == socket.PACKET_OUTGOING:
                self._count(memoryview(buf)[:n])

    def _count(self, frame: memoryview) -> None:
        ip = frame[_ETH_HEADER:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != _UDP:
            return
        header = (ip[0] & 0x0F) * 4
        (port,) = struct.unpack_from("!2xH", ip, header)
        destination = f"{ipaddress.IPv4Address(bytes(ip[16:20]))}:{port}"
        size = len(ip) - header - 8
        self.datagrams[destination] += 1
        self.bytes[destination] += size
        self.largest[destination] = max(size, self.largest.get(destination, 0))

    def __enter__(self) -> UdpCapture:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _packet_socket(ifname: str) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(_ETH_P_ALL))
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        sock.bind((ifname, 0))
    except OSError:
        sock.close()
        raise
    return sock
