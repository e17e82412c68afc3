"""Per-tunnel traffic counters: what :meth:`Tunnel.traffic` returns."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Count", "TrafficStats", "WireCounts"]


@dataclass(frozen=True)
class Count:
    """A number of packets (or datagrams) and their size in bytes."""

    packets: int
    bytes: int

    def __add__(self, other: Count) -> Count:
        return Count(self.packets + other.packets, self.bytes + other.bytes)


@dataclass(frozen=True)
class WireCounts:
    """Datagrams on the wire, by WireGuard message type; bytes are UDP payload bytes.

    ``data`` are transport data messages that carry a packet (DAITA padding
    counts here too: the receiver drops it). ``keepalive`` are transport
    data messages of exactly 32 bytes, which carry none. ``other`` is
    anything that is not a well-formed message of a known type (unknown
    type, wrong size): the device discards it unread.
    """

    initiation: Count
    response: Count
    cookie: Count
    data: Count
    keepalive: Count
    other: Count

    @property
    def handshake(self) -> Count:
        """Initiations, responses and cookie replies together."""
        return self.initiation + self.response + self.cookie

    @property
    def total(self) -> Count:
        """Every datagram."""
        return self.handshake + self.data + self.keepalive + self.other


@dataclass(frozen=True)
class TrafficStats:
    """What crossed a tunnel since it was turned on; every counter is exact.

    libwg counts where the WireGuard device meets the application and
    where it meets the wire, the same way for every kind of tunnel:

    - ``from_app``: IP packets the device took from the application (the
      TUN device, or the queue :meth:`Tunnel.send_packets` fills). Packets
      still waiting in that queue are not counted yet.
    - ``to_app``: IP packets the device delivered to the application.
    - ``no_route``: of ``from_app``, those dropped because no peer's
      allowed IPs cover their destination (as of the last config set).
    - ``sent`` / ``received``: datagrams handed to / taken from the wire
      (the UDP socket, or the queues a ``transport="host"`` caller carries).

    The counters are read one by one, not in a single instant.
    """

    from_app: Count
    to_app: Count
    no_route: Count
    sent: WireCounts
    received: WireCounts

    @property
    def accepted_not_sent(self) -> int:
        """Packets taken from the application that did not (yet) leave as transport data.

        ``from_app.packets - sent.data.packets``, never below 0. It
        includes the ``no_route`` drops, packets still queued inside
        wireguard-go, and those its per-peer staging queue dropped (before
        a handshake completes it keeps the newest 128 per peer). DAITA
        padding counts as sent data, so with DAITA on this under-reports.
        """
        return max(0, self.from_app.packets - self.sent.data.packets)

    @property
    def overhead(self) -> float:
        """Bytes sent on the wire (every datagram) per byte taken from the
        application; ``inf`` before the application sent anything.

        Besides WireGuard's own 32 bytes a packet, handshakes and
        keepalives, this shows DAITA's padding and ``constant_packet_size``.
        """
        return self.sent.total.bytes / self.from_app.bytes if self.from_app.bytes else float("inf")
