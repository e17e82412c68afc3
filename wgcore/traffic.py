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
    """What crossed a tunnel since it was turned on, and what was dropped.

    libwg counts where the WireGuard device meets the application and
    where it meets the wire, the same way for every kind of tunnel:

    - ``from_app``: IP packets the device took from the application (the
      TUN device, or the queue :meth:`Packets.send_batch <wgcore.Packets.send_batch>` fills). Packets
      still waiting in that queue are not counted yet. On a TUN opened with
      IFF_VNET_HDR (the default of :meth:`Tunnel.from_interface`) these are
      segments: a TCP super-packet of up to 64 KiB from the kernel counts
      as the MTU-sized packets libwg cuts it into, which the device
      encrypts and sends one by one.
    - ``to_app``: IP packets the device decrypted and delivered to the
      application (not the ICMP errors in ``unreachable_sent``); segments
      too, each counted as libwg hands it to the kernel, whether alone or
      coalesced with others of its TCP flow into one write.
    - ``no_route``: of ``from_app``, those dropped because no peer's
      allowed IPs cover their destination (as of the last config set).
    - ``sent`` / ``received``: datagrams handed to / taken from the wire
      (the UDP socket, or the queues a ``transport="host"`` caller carries);
      one each per WireGuard message, also when the UDP sockets send or
      receive several as one GSO/GRO buffer.
    - ``staging_dropped``: of ``from_app``, those that made wireguard-go
      drop a packet: while a peer has no session (before its first
      handshake, or while its endpoint does not answer) it keeps the newest
      128 packets for it, and each one beyond pushes the oldest out. The
      count is of drops; its bytes are those of the packets that caused
      them (the dropped ones were older packets, as many).
    - ``peer_stopped``: of ``from_app``, those for a peer that does not run,
      which wireguard-go skips (peers run only while the device is up: this
      counts what it reads while turning on or off).
    - ``unreachable_sent``: ICMP "destination unreachable" errors written
      back to the application for ``no_route`` packets, as the kernel's
      WireGuard does (none for an ICMP error, a fragment other than the
      first, a multicast or broadcast address, or while the application's
      in-memory queue is full).

    Every counter is exact, with one exception: a handshake completing in
    the instant between the device reading a packet and staging it can
    empty a full staging queue, so that packet counts in
    ``staging_dropped`` though nothing was dropped. The counters are read
    one by one, not in a single instant.
    """

    from_app: Count
    to_app: Count
    no_route: Count
    sent: WireCounts
    received: WireCounts
    staging_dropped: Count
    peer_stopped: Count
    unreachable_sent: Count

    @property
    def accepted_not_sent(self) -> int:
        """Packets taken from the application that are still inside wireguard-go.

        ``from_app`` minus ``sent.data``, ``no_route``, ``staging_dropped``
        and ``peer_stopped`` packets, never below 0: packets waiting for a
        handshake (up to 128 per peer) or being encrypted. A peer that gives
        up its handshake (after 90 s) or is removed discards the packets it
        kept without a count: they stay here. DAITA padding counts as sent
        data, so with DAITA on this under-reports.
        """
        dropped = self.no_route.packets + self.staging_dropped.packets + self.peer_stopped.packets
        return max(0, self.from_app.packets - self.sent.data.packets - dropped)

    @property
    def overhead(self) -> float:
        """Bytes sent on the wire (every datagram) per byte taken from the
        application; ``inf`` before the application sent anything.

        Besides WireGuard's own 32 bytes a packet, handshakes and
        keepalives, this shows DAITA's padding and ``constant_packet_size``.
        """
        return self.sent.total.bytes / self.from_app.bytes if self.from_app.bytes else float("inf")
