"""Tunnel.traffic(): what crossed a tunnel, counted exactly (issue 8, defect 6)."""

from __future__ import annotations

import array
import ctypes
import dataclasses
import os
import time
from collections import Counter
from collections.abc import Callable

import pytest

import wgcore
from wgcore import _native
from wgcore.traffic import Count, WireCounts

from .helpers import device_uapi, new_key_pair, peer_uapi, start
from .lab import ipv4_packet as ipv4
from .lab import netns, tunnel_pair
from .packets import recv_one

NOWHERE = bytes([203, 0, 113, 9])  # in no peer's allowed IPs


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


def test_no_route_drops_are_counted_exactly() -> None:
    a, b = tunnel_pair("udp")
    with a, b:
        routed = [ipv4(bytes(i)) for i in range(10)]
        unrouted = [ipv4(bytes(100 + i), dst=NOWHERE) for i in range(25)]
        assert a.packets.send_batch(unrouted[:5] + routed + unrouted[5:]) == 35
        wait_for(lambda: a.traffic().from_app.packets == 35, "the device to read all packets")
        got = a.traffic()
        assert got.no_route == Count(25, sum(map(len, unrouted)))
        assert got.from_app == Count(35, sum(map(len, routed + unrouted)))


def carry_tallied(a: wgcore.Tunnel, b: wgcore.Tunnel, tally: dict[str, Counter[str]]) -> int:
    """Carry datagrams both ways, tallying each direction by message type as read here."""
    buf, lens = bytearray(256 * 1600), array.array("I", bytes(4 * 256))
    moved = 0
    for src, dst, direction in ((a, b, "a->b"), (b, a, "b->a")):
        n = src.datagrams.recv_batch_into(buf, lens, timeout=0)
        datagrams, offset = [], 0
        for size in lens[:n]:
            d = bytes(buf[offset : offset + size])
            offset += size
            kind = {1: "initiation", 2: "response", 3: "cookie", 4: "data"}[int.from_bytes(d[:4], "little")]
            if kind == "data" and len(d) == 32:
                kind = "keepalive"
            tally[direction][kind + ".packets"] += 1
            tally[direction][kind + ".bytes"] += len(d)
            datagrams.append(d)
        while datagrams:
            datagrams = datagrams[dst.datagrams.send_batch(datagrams, timeout=1) :]
        moved += n
    return moved


def carry_until_quiet(a: wgcore.Tunnel, b: wgcore.Tunnel, tally: dict[str, Counter[str]]) -> None:
    """Carry until nothing moves and neither tunnel's counters change."""
    quiet = 0
    deadline = time.monotonic() + 30
    while quiet < 3:
        assert time.monotonic() < deadline, "the tunnels never went quiet"
        before = (a.traffic(), b.traffic())
        moved = carry_tallied(a, b, tally)
        time.sleep(0.02)
        quiet = quiet + 1 if not moved and before == (a.traffic(), b.traffic()) else 0


def as_tally(w: WireCounts) -> Counter[str]:
    out: Counter[str] = Counter()
    for field in dataclasses.fields(w):
        count = getattr(w, field.name)
        out[field.name + ".packets"] += count.packets
        out[field.name + ".bytes"] += count.bytes
    return +out  # drop zeros


def test_counters_match_what_the_host_carried() -> None:
    a, b = tunnel_pair("host")
    tally: dict[str, Counter[str]] = {"a->b": Counter(), "b->a": Counter()}
    packets = [ipv4(bytes(range(i % 256)) * 3) for i in range(400)]
    with a, b:
        delivered: list[bytes] = []
        for start_at in range(0, len(packets), 50):
            a.packets.send_batch(packets[start_at : start_at + 50], timeout=5)
            while len(delivered) < min(len(packets), start_at + 50):
                delivered.append(recv_one(b, lambda: carry_tallied(a, b, tally)))
        assert delivered == packets
        b.packets.send(ipv4(b"reply", src=bytes([198, 51, 100, 2]), dst=bytes([198, 51, 100, 1])))
        assert recv_one(a, lambda: carry_tallied(a, b, tally))
        carry_until_quiet(a, b, tally)
        ta, tb = a.traffic(), b.traffic()
    assert as_tally(ta.sent) == tally["a->b"] == as_tally(tb.received)
    assert as_tally(tb.sent) == tally["b->a"] == as_tally(ta.received)
    assert ta.sent.data.packets == len(packets) and tb.sent.data.packets == 1
    assert ta.from_app == tb.to_app == Count(len(packets), sum(map(len, packets)))
    assert ta.accepted_not_sent == 0 and ta.no_route == Count(0, 0)


def test_packets_sent_before_the_first_handshake_show_in_the_counters() -> None:
    a, b = tunnel_pair("host")
    tally: dict[str, Counter[str]] = {"a->b": Counter(), "b->a": Counter()}
    packets = [ipv4(i.to_bytes(4, "big")) for i in range(1000)]
    with a, b:
        assert a.packets.send_batch(packets) == 1000  # all accepted: nothing carried yet
        wait_for(lambda: a.traffic().from_app.packets == 1000, "the device to read all 1000")
        delivered = [recv_one(b, lambda: carry_tallied(a, b, tally))]
        carry_until_quiet(a, b, tally)
        while True:
            try:
                delivered.append(b.packets.recv(timeout=0))
            except TimeoutError:
                break
        ta, tb = a.traffic(), b.traffic()
    assert delivered == packets[-len(delivered) :], "wireguard-go keeps the newest packets"
    assert len(delivered) == 128, "README: wireguard-go stages at most 128 packets per peer before a handshake"
    assert tb.to_app.packets == ta.sent.data.packets == len(delivered)
    assert ta.staging_dropped == Count(1000 - len(delivered), sum(map(len, packets[len(delivered) :])))
    assert ta.accepted_not_sent == 0 and ta.peer_stopped == Count(0, 0)


def test_every_packet_beyond_128_for_a_peer_that_never_answers_is_counted() -> None:
    a = wgcore.Tunnel.in_memory(wgcore.Interface(private_key=wgcore.PrivateKey.generate(), listen_port=0))
    dead = wgcore.Peer(wgcore.PrivateKey.generate().public_key, ["198.51.100.2/32"], wgcore.Endpoint("127.0.0.1", 9))
    with a:
        a.set_config(dead)  # its endpoint never answers: no handshake, ever
        sizes = [20 + i % 300 for i in range(700)]
        for start_at in range(0, len(sizes), 100):
            assert a.packets.send_batch([ipv4(bytes(n - 20)) for n in sizes[start_at : start_at + 100]], timeout=5) == 100
        wait_for(lambda: a.traffic().from_app.packets == len(sizes), "the device to read every packet")
        t = a.traffic()
    assert t.staging_dropped == Count(len(sizes) - 128, sum(sizes[128:]))
    assert t.accepted_not_sent == 128, "the 128 newest still wait for a handshake"
    assert t.no_route == t.peer_stopped == Count(0, 0) and t.sent.data.packets == 0


def test_tun_tunnel_counters_move(namespaces: tuple[str, str]) -> None:
    ns_a, ns_b = namespaces
    (priv_a, pub_a), (priv_b, pub_b) = new_key_pair(), new_key_pair()
    ta = start(ns_a, "wg0", device_uapi(priv_a, 51820) + peer_uapi(pub_b, "198.18.0.2:51820", "203.0.113.2/32"))
    tb = start(ns_b, "wg0", device_uapi(priv_b, 51820) + peer_uapi(pub_a, "198.18.0.1:51820", "203.0.113.1/32"))
    with ta, tb:
        for ns, addr in ((ns_a, "203.0.113.1/24"), (ns_b, "203.0.113.2/24")):
            netns.ip("-n", ns, "addr", "add", addr, "dev", "wg0")
            netns.ip("-n", ns, "link", "set", "wg0", "up")
        before = ta.traffic()
        done = netns.run(ns_a, "ping", "-c", "3", "-i", "0.2", "-W", "3", "203.0.113.2")
        assert done.returncode == 0, done.stdout + done.stderr
        done = netns.run(ns_a, "ping", "-c", "1", "-W", "1", "203.0.113.77")  # routed to wg0, no peer
        after = ta.traffic()
    assert after.from_app.packets - before.from_app.packets >= 4
    assert after.to_app.packets - before.to_app.packets >= 3
    assert after.no_route.packets - before.no_route.packets >= 1
    assert after.sent.data.packets - before.sent.data.packets >= 3
    assert after.received.data.packets - before.received.data.packets >= 3
    assert after.sent.handshake.packets + after.received.handshake.packets >= 2


def test_traffic_of_a_closed_tunnel_raises_and_bad_c_arguments_get_error_codes() -> None:
    a, b = tunnel_pair("udp")
    libwg = ctypes.CDLL(os.path.join(os.path.dirname(_native.__file__), "libwg.so"))
    libwg.wgGetTraffic.argtypes = [ctypes.c_int32, ctypes.c_void_p]
    handle = a.handle
    with a, b:
        assert libwg.wgGetTraffic(handle, None) == -3  # WG_ERR_INVALID_ARGUMENT
    assert libwg.wgGetTraffic(handle, None) == -4  # WG_ERR_UNKNOWN_TUNNEL
    with pytest.raises(wgcore.TunnelClosedError):
        a.traffic()


def test_traffic_stats_are_frozen_and_derive_accepted_not_sent() -> None:
    zero = Count(0, 0)
    wire = WireCounts(zero, zero, zero, Count(5, 500), Count(2, 64), zero)
    stats = wgcore.TrafficStats(Count(8, 800), zero, Count(1, 100), wire, wire, zero, zero, zero)
    assert stats.accepted_not_sent == 2
    assert dataclasses.replace(stats, staging_dropped=Count(1, 10), peer_stopped=Count(1, 10)).accepted_not_sent == 0
    assert wire.total == Count(7, 564)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.from_app = zero  # type: ignore[misc]
    assert dataclasses.replace(stats, from_app=Count(2, 200)).accepted_not_sent == 0, "never below 0"
