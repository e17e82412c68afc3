"""Peered in-memory tunnels and test packets: no root, no TUN.

The pair and its packets are the demo's (``python -m wgcore demo``)."""

from __future__ import annotations

import ipaddress
import struct

from wgcore.cli.demo import INNER_A, INNER_B, ipv4_packet, tunnel_pair

__all__ = ["INNER_A", "INNER_B", "icmp_echo", "ipv4_packet", "tunnel_pair", "udp_packet"]


def icmp_echo(src: str, dst: str, seq: int, payload: bytes = b"wgcore") -> bytes:
    """An ICMP echo request (identifier 0x7763) with valid checksums, as a
    kernel accepts and answers it."""
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x7763, seq) + payload
    return _ipv4(src, dst, 1, icmp[:2] + struct.pack("!H", _checksum(icmp)) + icmp[4:])


def udp_packet(src: str, dst: str, port: int, payload: bytes) -> bytes:
    """An IPv4/UDP packet to ``dst:port`` (source port 9, no UDP checksum)."""
    return _ipv4(src, dst, 17, struct.pack("!HHHH", 9, port, 8 + len(payload), 0) + payload)


def _ipv4(src: str, dst: str, protocol: int, payload: bytes) -> bytes:
    """An IPv4 packet with a valid header checksum."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, protocol, 0,
                         ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return header[:10] + struct.pack("!H", _checksum(header)) + header[12:] + payload


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
