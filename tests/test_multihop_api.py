"""Tunnel.multihop and its Hop views: arguments, per-hop config, traffic
and DAITA, closing. Rootless: in-memory tunnels, relays built in-process."""

from __future__ import annotations

import array
import ipaddress
import os
import struct
import threading
import time
from collections.abc import Callable, Iterator

import pytest

import wgcore
from wgcore import Endpoint, Hop, Interface, Peer, PrivateKey, Tunnel
from wgcore.tun import open_tun

from .lab import INNER_A, INNER_B, ipv4_packet, netns

PRIVATE_IP = "203.0.113.2"  # the client's address inside the entry tunnel
EXIT_ADDR = "203.0.113.10"  # the exit relay, as the entry relay reaches it
EXIT_PORT = 51820


class Keys:
    """The four devices' keys: client entry and exit hop, entry and exit relay."""

    def __init__(self) -> None:
        self.entry, self.exit, self.entry_relay, self.exit_relay = (PrivateKey.generate() for _ in range(4))


def entry_config(keys: Keys, **kwargs: object) -> Interface:
    relay = Peer(keys.entry_relay.public_key, [f"{EXIT_ADDR}/32"], Endpoint("127.0.0.1", 1))
    return Interface(private_key=keys.entry, peers=[relay], **kwargs)  # type: ignore[arg-type]


def exit_config(keys: Keys) -> Interface:
    relay = Peer(keys.exit_relay.public_key, [ipaddress.ip_network(INNER_B)], Endpoint(EXIT_ADDR, EXIT_PORT))
    return Interface(private_key=keys.exit, peers=[relay])


def client(keys: Keys, **kwargs: object) -> Tunnel:
    args: dict[str, object] = {"private_ip": PRIVATE_IP, "in_memory": True, "transport": "host"}
    args.update(kwargs)
    return Tunnel.multihop(entry_config(keys), exit_config(keys), **args)  # type: ignore[arg-type]


def udp_packet(src: str, sport: int, dst: str, dport: int, payload: bytes) -> bytes:
    """IPv4/UDP (checksums 0: the devices do not check them)."""
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28 + len(payload), 0, 0, 64, 17, 0,
                         ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return header + struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


class Chain:
    """A multihop client, an entry relay and an exit relay, in memory.

    A thread carries the client's entry datagrams to the entry relay and
    back, and plays the entry relay's router: UDP from ``PRIVATE_IP`` to the
    exit relay goes to the exit relay's wire, the exit relay's datagrams come
    back as UDP to ``PRIVATE_IP``. ``seen`` holds every packet the entry
    relay's tunnel delivered, ``sizes`` the size of every datagram the
    client sent.
    """

    def __init__(self, keys: Keys) -> None:
        self.entry_relay = Tunnel.in_memory(
            Interface(private_key=keys.entry_relay, peers=[Peer(keys.entry.public_key, [f"{PRIVATE_IP}/32"])]),
            transport="host")
        self.exit_relay = Tunnel.in_memory(
            Interface(private_key=keys.exit_relay,
                      peers=[Peer(keys.exit.public_key, [ipaddress.ip_network(INNER_A)])]),
            transport="host")
        self.client = client(keys)
        self.seen: list[bytes] = []
        self.sizes: list[int] = []
        self._client_port = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._carry, daemon=True)
        self._thread.start()

    def _move(self, take: Callable[[bytearray, array.array[int]], int], give: Callable[[list[bytes]], int],
              change: Callable[[bytes], bytes | None] = lambda p: p) -> int:
        buf, lens = bytearray(64 * 2048), array.array("I", bytes(4 * 64))
        n = take(buf, lens)
        out, offset = [], 0
        for size in lens[:n]:
            item = change(bytes(buf[offset : offset + size]))
            offset += size
            if item is not None:
                out.append(item)
        while out:
            out = out[give(out) :]
        return n

    def _sent_by_client(self, datagram: bytes) -> bytes:
        self.sizes.append(len(datagram))
        return datagram

    def _to_exit_relay(self, packet: bytes) -> bytes | None:
        self.seen.append(packet)
        if packet[9] != 17 or packet[16:20] != ipaddress.IPv4Address(EXIT_ADDR).packed:
            return None  # not for the exit relay: a router would drop it too
        self._client_port = struct.unpack("!H", packet[20:22])[0]
        return packet[28:]

    def _from_exit_relay(self, datagram: bytes) -> bytes | None:
        if not self._client_port:
            return None
        return udp_packet(EXIT_ADDR, EXIT_PORT, PRIVATE_IP, self._client_port, datagram)

    def _carry(self) -> None:
        c, er, xr = self.client, self.entry_relay, self.exit_relay
        try:
            while not self._stop.is_set():
                moved = self._move(lambda b, n: c.datagrams.recv_batch_into(b, n, timeout=0),
                                   lambda d: er.datagrams.send_batch(d, timeout=1), self._sent_by_client)
                moved += self._move(lambda b, n: er.datagrams.recv_batch_into(b, n, timeout=0),
                                    lambda d: c.datagrams.send_batch(d, timeout=1))
                moved += self._move(lambda b, n: er.packets.recv_batch_into(b, n, timeout=0),
                                    lambda d: xr.datagrams.send_batch(d, timeout=1), self._to_exit_relay)
                moved += self._move(lambda b, n: xr.datagrams.recv_batch_into(b, n, timeout=0),
                                    lambda d: er.packets.send_batch(d, timeout=1), self._from_exit_relay)
                if not moved:
                    time.sleep(0.001)
        except wgcore.TunnelClosedError:
            pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        for t in (self.client, self.entry_relay, self.exit_relay):
            t.close()


@pytest.fixture
def keys() -> Keys:
    return Keys()


@pytest.fixture
def chain(keys: Keys) -> Iterator[Chain]:
    c = Chain(keys)
    yield c
    c.close()


# Arguments


@pytest.mark.parametrize(
    ("modes", "named"),
    [({}, "none"), ({"in_memory": True, "tun_fd": 0}, "tun_fd= and in_memory=True"),
     ({"interface": "wgcx0", "tun_fd": 0}, "interface= and tun_fd=")],
)
def test_exactly_one_of_interface_tun_fd_in_memory(keys: Keys, modes: dict[str, object], named: str) -> None:
    with pytest.raises(wgcore.errors.InvalidArgumentError, match=f"exactly one of .* got {named}$"):
        Tunnel.multihop(entry_config(keys), exit_config(keys), private_ip=PRIVATE_IP, **modes)  # type: ignore[arg-type]


@pytest.mark.parametrize("ip", ["", "203.0.113", "2001:db8::2", "203.0.113.2/32"])
def test_private_ip_must_be_ipv4(keys: Keys, ip: str) -> None:
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="private_ip .* is not an IPv4 address"):
        client(keys, private_ip=ip)


def test_private_ip_must_be_text(keys: Keys) -> None:
    with pytest.raises(TypeError, match="private_ip"):
        client(keys, private_ip=ipaddress.IPv4Address(PRIVATE_IP))


@pytest.mark.parametrize("mtu", [635, 600, 65476, 65536])
def test_link_mtu_is_636_to_65475(keys: Keys, mtu: int) -> None:
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="mtu"):
        client(keys, mtu=mtu)


def test_exit_mtu_is_link_mtu_less_60(keys: Keys) -> None:
    with client(keys, mtu=636) as t:
        assert t.mtu == 576
    with Tunnel.multihop(entry_config(keys, mtu=1280), exit_config(keys), private_ip=PRIVATE_IP,
                         in_memory=True) as t:
        assert t.mtu == 1220  # the entry Interface's mtu is the link's


def test_transport_host_needs_in_memory(keys: Keys) -> None:
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="needs in_memory=True"):
        Tunnel.multihop(entry_config(keys), exit_config(keys), private_ip=PRIVATE_IP, tun_fd=0, transport="host")
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="transport must be"):
        client(keys, transport="tcp")


def test_configs_are_checked_per_hop(keys: Keys) -> None:
    with pytest.raises(TypeError, match="Interface"):
        Tunnel.multihop(entry_config(keys), 42, private_ip=PRIVATE_IP, in_memory=True)  # type: ignore[arg-type]
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="exit config looks like a .conf file"):
        Tunnel.multihop(entry_config(keys), "[Interface]\n", private_ip=PRIVATE_IP, in_memory=True)
    two_endpoints = exit_config(keys)
    two_endpoints.peers.append(Peer(PrivateKey.generate().public_key, [], Endpoint(EXIT_ADDR, 1)))
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="exactly one"):
        Tunnel.multihop(entry_config(keys), two_endpoints, private_ip=PRIVATE_IP, in_memory=True)


def test_on_a_tun_by_name_the_interface_gets_the_exit_mtu(keys: Keys, ns: str) -> None:
    t = netns.run_in(ns, lambda: Tunnel.multihop(entry_config(keys), exit_config(keys), private_ip=PRIVATE_IP,
                                                 interface="wgcm0", mtu=1400))
    with t:
        assert (t.name, t.mtu, t.transport) == ("wgcm0", 1340, None)
        assert "mtu 1340 " in netns.ip("-n", ns, "link", "show", "wgcm0")
        assert t.socket_fds[0] is not None  # the entry hop's UDP socket
    assert "wgcm0" not in netns.ip("-n", ns, "link", "show")


def test_a_tun_fd_is_duplicated_the_caller_keeps_its_own(keys: Keys, ns: str) -> None:
    fd = netns.run_in(ns, lambda: open_tun("wgcm1"))
    t = Tunnel.multihop(entry_config(keys), exit_config(keys), private_ip=PRIVATE_IP, tun_fd=fd)
    assert t.name is None and t.mtu == 1360 and t.entry is not None
    t.close()
    assert os.readlink(f"/proc/self/fd/{fd}") == "/dev/net/tun", "the caller's fd must stay open"
    assert "wgcm1" in netns.ip("-n", ns, "link", "show"), "the caller's fd still holds the interface"
    os.close(fd)
    assert "wgcm1" not in netns.ip("-n", ns, "link", "show")


@pytest.mark.parametrize(("fd", "error"), [(-1, wgcore.errors.InvalidArgumentError), (2**31, wgcore.errors.InvalidArgumentError),
                                         ("3", TypeError), (True, TypeError)])
def test_tun_fd_must_be_a_file_descriptor(keys: Keys, fd: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="tun_fd"):
        Tunnel.multihop(entry_config(keys), exit_config(keys), private_ip=PRIVATE_IP, tun_fd=fd)  # type: ignore[arg-type]
    assert wgcore.tunnel.tunnel_count() == 0


def test_the_entry_hop_must_route_the_exit_relay(keys: Keys) -> None:
    entry = entry_config(keys)
    entry.peers[0].allowed_ips = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::/0")]
    with pytest.raises(wgcore.errors.InvalidArgumentError, match=f"does not route the exit relay's address {EXIT_ADDR}"):
        Tunnel.multihop(entry, exit_config(keys), private_ip=PRIVATE_IP, in_memory=True)
    entry.peers[0].allowed_ips.append(ipaddress.ip_network("203.0.113.0/24"))
    Tunnel.multihop(entry, exit_config(keys), private_ip=PRIVATE_IP, in_memory=True).close()


# Hop views


def test_hops_read_their_own_config(keys: Keys) -> None:
    with client(keys) as t:
        entry, exit = t.entry, t.exit
        assert isinstance(entry, Hop) and isinstance(exit, Hop) and t.entry is not None
        assert (entry.role, exit.role) == ("entry", "exit")
        assert entry.public_key == keys.entry.public_key
        assert exit.public_key == keys.exit.public_key == t.public_key
        assert [p.public_key for p in entry.config().peers] == [keys.entry_relay.public_key]
        assert list(exit.stats()) == [keys.exit_relay.public_key] == list(t.stats())
        assert exit.handle == t.handle != entry.handle >= 0
        assert wgcore.tunnel.tunnel_count() >= 2


def test_single_hop_tunnel_has_no_hops(keys: Keys) -> None:
    with Tunnel.in_memory(Interface(private_key=keys.entry)) as t:
        assert (t.entry, t.exit) == (None, None)
        with pytest.raises(wgcore.errors.InvalidArgumentError, match="single-hop"):
            Hop(t, "entry")


def test_hop_role_is_entry_or_exit(keys: Keys) -> None:
    with client(keys) as t, pytest.raises(wgcore.errors.InvalidArgumentError, match="'entry' or 'exit'"):
        Hop(t, "middle")


def test_set_config_and_peers_on_one_hop(keys: Keys) -> None:
    extra = PrivateKey.generate().public_key
    with client(keys) as t:
        assert t.entry is not None and t.exit is not None
        t.entry.add_peer(Peer(extra, ["10.9.0.0/16"]))
        assert t.entry.has_peer(extra) and not t.exit.has_peer(extra)
        t.entry.set_config(Peer(extra, ["10.8.0.0/16"]).to_uapi(update=True))
        assert [str(n) for n in t.entry.config().peer(extra).allowed_ips] == ["10.8.0.0/16"]
        t.entry.remove_peer(extra)
        assert not t.entry.has_peer(extra)
        with pytest.raises(wgcore.errors.UnknownPeerError):
            t.exit.remove_peer(extra)
        t.exit.update_peer(Peer(keys.exit_relay.public_key, ["198.51.100.0/24"]))
        assert [str(n) for n in t.config().peer(keys.exit_relay.public_key).allowed_ips] == ["198.51.100.0/24"]


# Traffic through a chain of in-memory relays


def test_packets_cross_both_hops_and_each_hop_counts_its_own(chain: Chain) -> None:
    c = chain.client
    out = ipv4_packet(b"through two hops")
    c.packets.send(out)
    assert chain.exit_relay.packets.recv(timeout=20) == out
    back = ipv4_packet(b"and back", src=INNER_B, dst=INNER_A)
    chain.exit_relay.packets.send(back)
    assert c.packets.recv(timeout=20) == back
    assert c.entry is not None and c.exit is not None
    entry, exit = c.entry.traffic(), c.exit.traffic()
    assert exit.from_app.packets == 1 and exit.to_app.packets == 1  # the user's packets
    assert exit.sent.initiation.packets >= 1 and exit.received.response.packets >= 1
    # every exit datagram crossed the entry hop as a packet, and only those
    assert entry.from_app.packets == exit.sent.data.packets + exit.sent.initiation.packets + exit.sent.keepalive.packets
    assert entry.sent.data.packets >= entry.from_app.packets
    assert all(p[12:16] == ipaddress.IPv4Address(PRIVATE_IP).packed for p in chain.seen)
    assert c.traffic() == c.exit.traffic()


def test_the_largest_packet_fills_the_link_exactly(chain: Chain) -> None:
    c = chain.client
    assert (c.mtu, c.datagrams.max_size) == (1360, 1420 + 32)
    largest = ipv4_packet(bytes(c.mtu - 20))
    c.packets.send(largest)
    assert chain.exit_relay.packets.recv(timeout=20) == largest
    assert max(chain.sizes) == c.datagrams.max_size  # a full entry packet, not fragmented
    with pytest.raises(wgcore.errors.InvalidArgumentError):
        c.packets.send(ipv4_packet(bytes(c.mtu - 19)))


def test_datagrams_are_the_entry_hops(keys: Keys) -> None:
    with client(keys) as t:
        t.packets.send(ipv4_packet(b"x"))  # starts the exit's handshake, carried by the entry
        datagram = t.datagrams.recv(timeout=20)
        assert datagram[0] == 1 and len(datagram) == 148  # the entry hop's handshake initiation
        assert t.entry is not None and t.entry.traffic().sent.initiation.packets >= 1
    with client(keys, transport="udp") as t:
        assert t.socket_fds[0] is not None
        assert t.datagrams is None, "an entry hop over UDP carries no datagrams for the host"


# Closing


def test_close_turns_off_both_hops(chain: Chain) -> None:
    c = chain.client
    before = wgcore.tunnel.tunnel_count()
    entry, exit = c.entry, c.exit
    assert entry is not None and exit is not None
    c.close()
    assert wgcore.tunnel.tunnel_count() == before - 2
    for hop in (entry, exit, c.entry, c.exit):
        assert hop is not None and hop.handle == -1
        for use in (hop.config, hop.traffic, hop.get_config, lambda h=hop: h.set_config("")):
            with pytest.raises(wgcore.TunnelClosedError):
                use()
        with pytest.raises(wgcore.TunnelClosedError):
            hop.activate_daita(PrivateKey.generate().public_key)


@pytest.mark.daita
def test_daita_on_the_entry_hop(keys: Keys) -> None:
    with client(keys) as t:
        assert t.entry is not None
        t.entry.activate_daita(keys.entry_relay.public_key)
        with pytest.raises(wgcore.errors.DaitaError):  # it is on already: on the entry hop's peer
            t.entry.activate_daita(keys.entry_relay.public_key)
        with pytest.raises(wgcore.errors.UnknownPeerError):  # the exit hop has no such peer
            t.exit.activate_daita(keys.entry_relay.public_key)  # type: ignore[union-attr]


def test_repr_names_the_hop_and_no_key(keys: Keys) -> None:
    with client(keys) as t:
        assert "multihop" in repr(t) and f"mtu={t.mtu}" in repr(t)
        assert repr(t.entry).startswith("<Hop entry handle=")
        assert str(keys.entry) not in repr(t.entry) + repr(t)


def test_each_hop_counts_its_drops_and_only_the_exit_answers_no_route(keys: Keys) -> None:
    with client(keys) as t:  # nobody carries its datagrams: no handshake completes
        assert t.entry is not None and t.exit is not None
        nowhere = ipv4_packet(b"no route", dst=bytes([192, 0, 2, 1]))
        t.packets.send(nowhere)
        answer = t.packets.recv(timeout=5)
        assert (answer[9], answer[20], answer[21]) == (1, 3, 1) and answer[28:] == nowhere  # ICMP host unreachable
        packets = [ipv4_packet(i.to_bytes(2, "big")) for i in range(300)]
        assert t.packets.send_batch(packets, timeout=5) == len(packets)
        deadline = time.monotonic() + 20
        while t.exit.traffic().from_app.packets < 1 + len(packets):
            assert time.monotonic() < deadline, "the exit hop never read every packet"
            time.sleep(0.005)
        entry, exit = t.entry.traffic(), t.exit.traffic()
    assert exit.no_route.packets == exit.unreachable_sent.packets == 1
    assert exit.staging_dropped.packets == len(packets) - 128 and exit.accepted_not_sent == 128
    assert entry.unreachable_sent.packets == 0 and entry.no_route.packets == 0
    # the entry hop stages the exit hop's handshake initiations: too few to drop any
    assert entry.staging_dropped.packets == 0 and entry.from_app.packets >= 1
