"""No route: libwg answers with an ICMP destination unreachable, as the
kernel's WireGuard does (issue 11, item 4)."""

from __future__ import annotations

import errno
import ipaddress
import socket
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wgcore
from wgcore.config import Interface, Peer
from wgcore.keys import PrivateKey
from wgcore.traffic import Count
from wgcore.values import Endpoint

from .helpers import device_uapi, new_key_pair, peer_uapi, start
from .lab import netns, tunnel_pair
from .lab.pairs import _checksum as internet_checksum  # of a checksummed block: 0 (RFC 1071)

SRC4, NOWHERE4 = bytes([198, 51, 100, 1]), bytes([203, 0, 113, 9])  # no peer covers 203.0.113.9
SRC6, NOWHERE6 = ipaddress.IPv6Address("fd00::1").packed, ipaddress.IPv6Address("2001:db8::9").packed


def ipv4(payload: bytes, proto: int = 253, dst: bytes = NOWHERE4) -> bytes:
    """An IPv4 packet of protocol ``proto`` (its header checksum is left 0: the device does not check it)."""
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0, 64, proto, 0, SRC4, dst) + payload


def ipv6_packet(payload: bytes, next_header: int = 17, src: bytes = SRC6, dst: bytes = NOWHERE6) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), next_header, 64, src, dst) + payload


def check_answer(answer: bytes, original: bytes, limit: int) -> None:
    """Assert ``answer`` is the ICMP unreachable for ``original``: from its
    destination to its source, right type and code, checksums, the quote."""
    if original[0] >> 4 == 4:
        ihl = (answer[0] & 0x0F) * 4
        assert answer[0] >> 4 == 4 and ihl == 20 and struct.unpack("!H", answer[2:4])[0] == len(answer)
        assert answer[9] == 1, "protocol ICMP"
        assert internet_checksum(answer[:20]) == 0, "IPv4 header checksum"
        assert answer[12:16] == original[16:20] and answer[16:20] == original[12:16]
        icmp = answer[20:]
        assert (icmp[0], icmp[1]) == (3, 1), "host unreachable"
        assert internet_checksum(icmp) == 0, "ICMP checksum"
    else:
        assert answer[0] >> 4 == 6 and struct.unpack("!H", answer[4:6])[0] == len(answer) - 40
        assert answer[6] == 58, "next header ICMPv6"
        assert answer[8:24] == original[24:40] and answer[24:40] == original[8:24]
        icmp = answer[40:]
        assert (icmp[0], icmp[1]) == (1, 3), "address unreachable"
        pseudo = answer[8:40] + struct.pack("!I3xB", len(icmp), 58)
        assert internet_checksum(pseudo + icmp) == 0, "ICMPv6 checksum with the pseudo-header"
    quote = icmp[8:]
    assert len(answer) <= limit
    assert original.startswith(quote) and (quote == original or len(answer) == limit), "as much as fits is quoted"


def test_unrouted_packets_get_an_icmp_unreachable_and_are_counted() -> None:
    a, b = tunnel_pair("udp")
    with a, b:
        sent = [ipv4(b"x" * 30), ipv6_packet(b"y" * 1300), ipv4(b"z" * 1000)]
        for packet in sent:
            a.packets.send(packet)
        answers = [a.packets.recv(timeout=5) for _ in sent]
        for answer, packet, limit in zip(answers, sent, (576, 1280, 576)):
            check_answer(answer, packet, limit)
        t = a.traffic()
    assert [len(x) for x in answers] == [28 + 50, 1280, 576]
    assert t.no_route == Count(3, sum(map(len, sent)))
    assert t.unreachable_sent == Count(3, sum(map(len, answers)))
    assert t.to_app == Count(0, 0), "ICMP errors are not what the device delivered"
    assert t.accepted_not_sent == 0


def test_no_answer_to_icmp_errors_fragments_or_multicast() -> None:
    fragment = bytearray(ipv4(b"f" * 16))
    fragment[6:8] = struct.pack("!H", 0x2001)  # offset 8 bytes: not the first fragment
    silent = [
        ipv4(bytes([3, 1, 0, 0, 0, 0, 0, 0]), proto=1),  # ICMP host unreachable
        ipv4(bytes([11, 0, 0, 0, 0, 0, 0, 0]), proto=1),  # ICMP time exceeded
        bytes(fragment),
        ipv4(b"m", dst=bytes([224, 0, 0, 9])),
        ipv4(b"b", dst=bytes([255, 255, 255, 255])),
        ipv6_packet(bytes([1, 4, 0, 0, 0, 0, 0, 0]), next_header=58),  # ICMPv6 error
        ipv6_packet(b"m", dst=ipaddress.IPv6Address("ff02::1").packed),
    ]
    last = ipv4(b"answered")
    a, b = tunnel_pair("udp")
    with a, b:
        for packet in silent + [last]:
            a.packets.send(packet)
        check_answer(a.packets.recv(timeout=5), last, 576)  # the first answer is the last packet's
        t = a.traffic()
    assert t.no_route.packets == len(silent) + 1 and t.unreachable_sent.packets == 1


@st.composite
def unrouted_packets(draw: st.DrawFn) -> bytes:
    size = draw(st.integers(0, 1380))
    payload = draw(st.binary(min_size=size, max_size=size))
    if draw(st.booleans()):
        proto = draw(st.sampled_from([6, 17, 253, 1]))
        if proto == 1:
            payload = bytes([8, 0]) + payload  # an echo request: answered
        return ipv4(payload, proto, dst=bytes([203, 0, 113, draw(st.integers(1, 254))]))
    proto = draw(st.sampled_from([6, 17, 253, 58]))
    if proto == 58:
        payload = bytes([128, 0]) + payload  # an echo request: answered
    return ipv6_packet(payload[:1372], next_header=proto, dst=ipaddress.IPv6Address(0x20010DB8 << 96 | draw(st.integers(1, 2**32))).packed)


def test_every_unrouted_packet_gets_a_correct_answer() -> None:
    a, b = tunnel_pair("udp")
    with a, b:

        @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(unrouted_packets())
        def one(packet: bytes) -> None:
            before = a.traffic()
            a.packets.send(packet)
            answer = a.packets.recv(timeout=5)
            check_answer(answer, packet, 576 if packet[0] >> 4 == 4 else 1280)
            after = a.traffic()
            assert after.no_route.packets - before.no_route.packets == 1
            assert after.unreachable_sent == before.unreachable_sent + Count(1, len(answer))

        one()


def test_a_tun_app_sees_host_unreachable_at_once(ns: str) -> None:
    _, pub_peer = new_key_pair()
    priv, _ = new_key_pair()
    t = start(ns, "wg0", device_uapi(priv, 0) + peer_uapi(pub_peer, "127.0.0.1:9", "10.9.0.2/32"))
    with t:
        netns.ip("-n", ns, "addr", "add", "10.9.0.1/24", "dev", "wg0")  # 10.9.0.0/24 goes to wg0
        netns.ip("-n", ns, "-6", "addr", "add", "fd09::1/64", "dev", "wg0", "nodad")
        netns.ip("-n", ns, "link", "set", "wg0", "up")
        done = netns.run(ns, "ping", "-c", "1", "-W", "2", "10.9.0.77")
        assert "Destination Host Unreachable" in done.stdout, done.stdout + done.stderr
        done = netns.run(ns, "ping", "-6", "-c", "1", "-W", "2", "fd09::77")
        assert "Address unreachable" in done.stdout, done.stdout + done.stderr

        def connect() -> int:
            with socket.socket() as s:
                s.settimeout(5)
                return s.connect_ex(("10.9.0.77", 80))

        assert netns.run_in(ns, connect) == errno.EHOSTUNREACH, "fails at once instead of timing out"
        assert t.traffic().unreachable_sent.packets >= 3


def test_a_netstack_connect_to_an_unrouted_address_fails_at_once() -> None:
    key = PrivateKey.generate()
    peer = Peer(PrivateKey.generate().public_key, [ipaddress.ip_network("10.7.0.2/32")], Endpoint("127.0.0.1", 9))
    t = wgcore.Tunnel.netstack(Interface(private_key=key, listen_port=0, peers=[peer]), addresses=["10.7.0.1"])
    with t:
        s = t.net.socket()
        s.settimeout(10)  # without the ICMP answer: TimeoutError, errno None
        with pytest.raises(OSError) as raised:
            s.connect(("10.9.9.9", 80))  # no peer covers it
        s.close()
        assert raised.value.errno == errno.EHOSTUNREACH, raised.value
        assert t.traffic().unreachable_sent.packets >= 1
