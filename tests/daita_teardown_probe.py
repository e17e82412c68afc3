"""DAITA under teardown: activate, remove, re-add and close, under traffic
both ways, on every kind of tunnel.

Run by tests/test_daita_teardown.py in a child interpreter (a crash is an
exit code, a hang a timeout), and by hand for the long run:

    python tests/daita_teardown_probe.py KIND --rounds 2000

KIND is udp, host, tun, netstack or multihop: A is a tunnel of that kind,
B an in-memory tunnel (for multihop, A's entry hop and the entry relay).
Each round turns DAITA on for A's peer B with machines drawn from the
shipped ones and ones with long padding timeouts (issue 20), sleeps 0-12
ms, then removes the peer and adds it back; the last round closes A
instead. Four threads keep packets flowing both ways. Prints one JSON line:
the rounds run and the longest activate, remove, re-add and close, in
seconds. ``--machines`` replaces the machine sets with one
read from standard input (one set, machines separated by commas).
"""

from __future__ import annotations

import argparse
import array
import contextlib
import ipaddress
import json
import os
import random
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import wgcore
from wgcore import Endpoint, Interface, Peer, PrivateKey, Tunnel
from wgcore.daita import BREAK_BURST, CONSTANT_RATE, FRONT, Machine

# a script (tests/, not the repository, on sys.path): the repository goes
# last, so the installed wgcore still comes first
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.lab import INNER_A, INNER_B, ipv4_packet, netns, udp_packet  # noqa: E402
from tests.machines import Dist, State, machine  # noqa: E402

ADDR_A, ADDR_B = (str(ipaddress.IPv4Address(a)) for a in (INNER_A, INNER_B))
TUN_NAME = "wgdaita0"
PORT = 5000

# Issue 20's machine that hung remove_peer: one state that pads a day
# after each packet sent, with p = 0.18, padding allowed without bound.
DAY_AFTER_SOME_SENDS = ("789c6364f80f050c380023232e19b280833306bf47d54aa330f930c82e524d5be95977a3bbfbb83d951c47"
                        "3100009f701011")
# Pads to the MTU 60 s after every packet either way (issue 20's close probe).
MINUTE_AFTER_EVERY_PACKET = machine([State(next={"NonPaddingSent": {0: 1.0}, "NonPaddingRecv": {0: 1.0}},
                                           action=Dist("Uniform", 1420, 1420),
                                           timeout=Dist("Uniform", 60e6, 60e6))])
# Pads 0-200 us after every packet either way, and after half its own.
AT_ONCE_AFTER_EVERY_PACKET = machine([State(next={"NonPaddingSent": {0: 1.0}, "NonPaddingRecv": {0: 1.0},
                                                  "PaddingSent": {0: 0.5}},
                                            action=Dist("Uniform", 100, 1420), timeout=Dist("Uniform", 0, 200))])

MACHINE_SETS = [
    [CONSTANT_RATE, BREAK_BURST, FRONT],
    [Machine.parse(DAY_AFTER_SOME_SENDS)],
    [Machine.parse(MINUTE_AFTER_EVERY_PACKET), Machine.parse(AT_ONCE_AFTER_EVERY_PACKET)],
]


@dataclass
class Rig:
    """A's device (a tunnel or a hop), its peer B, how to close A, and
    calls that each move one batch of traffic."""

    device: Any
    peer: Peer
    close_a: Callable[[], None]
    senders: list[Callable[[], None]] = field(default_factory=list)


def packets_both_ways(a: Tunnel, b: Tunnel) -> list[Callable[[], None]]:
    """Send and drain 16 x 100-byte packets each way through in-memory tunnels."""
    return [lambda: a.packets.send_batch([ipv4_packet(bytes(100))] * 16, timeout=0.05),
            lambda: b.packets.send_batch([ipv4_packet(bytes(100), INNER_B, INNER_A)] * 16, timeout=0.05),
            drainer(a), drainer(b)]


def drainer(t: Tunnel) -> Callable[[], None]:
    buf, lens = bytearray(64 * 2048), array.array("I", bytes(4 * 64))
    return lambda: t.packets.recv_batch_into(buf, lens, timeout=0.05)


def carrier(a: Tunnel, b: Tunnel) -> Callable[[], None]:
    """Carry host-transport datagrams both ways."""
    buf, lens = bytearray(64 * 2048), array.array("I", bytes(4 * 64))

    def move() -> None:
        for src, dst in ((a, b), (b, a)):
            n = src.datagrams.recv_batch_into(buf, lens, timeout=0.01)
            offset, out = 0, []
            for size in lens[:n]:
                out.append(bytes(buf[offset : offset + size]))
                offset += size
            if out:
                dst.datagrams.send_batch(out, timeout=0.05)
    return move


@contextlib.contextmanager
def peered(transport: str = "udp", ns: str | None = None) -> Iterator[tuple[PrivateKey, Tunnel, Interface, Peer]]:
    """B (in memory, in ns if given), A's key, and A's config peered with B;
    A must be peered into B with peer_into."""
    key_a, key_b = PrivateKey.generate(), PrivateKey.generate()
    make_b = lambda: Tunnel.in_memory(Interface(private_key=key_b, listen_port=0), transport=transport)  # noqa: E731
    b = netns.run_in(ns, make_b) if ns else make_b()
    try:
        peer_b = Peer(key_b.public_key, [f"{ADDR_B}/32"], Endpoint("127.0.0.1", b.config().listen_port or 1))
        yield key_a, b, Interface(private_key=key_a, listen_port=0, peers=[peer_b]), peer_b
    finally:
        b.close()


def peer_into(b: Tunnel, key_a: PrivateKey, a: Any) -> None:
    b.set_config(Peer(key_a.public_key, [f"{ADDR_A}/32"], Endpoint("127.0.0.1", a.config().listen_port or 1)))


@contextlib.contextmanager
def memory_rig(transport: str) -> Iterator[Rig]:
    with peered(transport) as (key_a, b, config, peer), contextlib.closing(
            Tunnel.in_memory(config, transport=transport)) as a:
        peer_into(b, key_a, a)
        senders = packets_both_ways(a, b) + ([carrier(a, b)] if transport == "host" else [])
        yield Rig(a, peer, a.close, senders)


@contextlib.contextmanager
def kernel_rig(kind: str) -> Iterator[Rig]:
    """A is a kernel TUN (in a namespace) or a netstack; its application is
    a UDP socket that sends to B and reads B's replies."""
    with contextlib.ExitStack() as stack:
        ns = stack.enter_context(netns.namespace(f"wgdaita{kind}")) if kind == "tun" else None
        key_a, b, config, peer = stack.enter_context(peered(ns=ns))
        if ns:
            a: Any = stack.enter_context(netns.run_in(ns, lambda: Tunnel.from_interface(TUN_NAME, config)))
            netns.ip("-n", ns, "addr", "add", f"{ADDR_A}/24", "dev", TUN_NAME)
            netns.ip("-n", ns, "link", "set", TUN_NAME, "up")
            sock: Any = netns.run_in(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
        else:
            a = stack.enter_context(Tunnel.netstack(config, addresses=[ADDR_A]))
            sock = a.net.socket(socket.AF_INET, socket.SOCK_DGRAM)
        stack.callback(sock.close)
        sock.bind((ADDR_A, PORT))
        sock.settimeout(0.05)
        peer_into(b, key_a, a)
        reply = udp_packet(ADDR_B, ADDR_A, PORT, bytes(100))

        def app_a() -> None:
            sock.sendto(bytes(100), (ADDR_B, PORT))
            with contextlib.suppress(TimeoutError, OSError):
                sock.recvfrom(2048)

        yield Rig(a, peer, a.close, [app_a, lambda: b.packets.send_batch([reply] * 16, timeout=0.05), drainer(b)])


@contextlib.contextmanager
def multihop_rig() -> Iterator[Rig]:
    """A is the entry hop of an in-memory multihop client (DAITA where
    Mullvad runs it), B the entry relay."""
    from tests.test_multihop_api import Chain, Keys  # the client, entry and exit relays, in memory
    chain = Chain(Keys())
    try:
        hop = chain.client.entry
        yield Rig(hop, hop.config().peers[0], chain.client.close, packets_both_ways(chain.client, chain.exit_relay))
    finally:
        chain.close()


RIGS: dict[str, Callable[[], contextlib.AbstractContextManager[Rig]]] = {
    "udp": lambda: memory_rig("udp"),
    "host": lambda: memory_rig("host"),
    "tun": lambda: kernel_rig("tun"),
    "netstack": lambda: kernel_rig("netstack"),
    "multihop": multihop_rig,
}


def keep_sending(rig: Rig, stop: threading.Event) -> list[threading.Thread]:
    def loop(send: Callable[[], None]) -> None:
        while not stop.is_set():
            try:
                send()
            except (TimeoutError, wgcore.WireGuardError, OSError):
                if stop.is_set():
                    return
    threads = [threading.Thread(target=loop, args=(s,), daemon=True) for s in rig.senders]
    for t in threads:
        t.start()
    return threads


def timed(longest: dict[str, float], name: str, call: Callable[[], object]) -> None:
    start = time.monotonic()
    call()
    longest[name] = max(longest.get(name, 0.0), time.monotonic() - start)


def watch(device: Any, longest: dict[str, float], stop: threading.Event) -> threading.Thread:
    """Time get_config and traffic, called over and over while rounds run:
    neither may wait for a stuck remove (issue 20, defect 2)."""
    def loop() -> None:
        while not stop.is_set():
            with contextlib.suppress(wgcore.TunnelClosedError, wgcore.errors.UnknownTunnelError):  # closed at the end
                timed(longest, "get_config", device.get_config)
                timed(longest, "traffic", device.traffic)
            time.sleep(0.002)
    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def run(kind: str, rounds: int, machine_sets: list[list[Machine]], seed: int) -> dict[str, Any]:
    """The rounds on a rig of kind; the last one closes A with the last set's
    machines active (the slowest padding timers)."""
    rng = random.Random(seed)
    longest: dict[str, float] = {}
    with RIGS[kind]() as rig:
        stop = threading.Event()
        threads = keep_sending(rig, stop) + [watch(rig.device, longest, stop)]
        key = rig.peer.public_key
        for round_ in range(rounds):
            machines = machine_sets[round_ % len(machine_sets) if round_ < rounds - 1 else -1]
            timed(longest, "activate", lambda: rig.device.activate_daita(key, machines))
            time.sleep(rng.uniform(0, 0.012))
            if round_ < rounds - 1:
                timed(longest, "remove", lambda: rig.device.remove_peer(key))
                timed(longest, "re-add", lambda: rig.device.set_config(rig.peer))
        timed(longest, "close", rig.close_a)
        stop.set()
        for t in threads:
            t.join(5)
    return {"kind": kind, "rounds": rounds, "longest": {k: round(v, 4) for k, v in longest.items()},
            "tunnels_left": wgcore.tunnel.tunnel_count()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("kind", choices=list(RIGS))
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--machines", action="store_true")
    args = parser.parse_args()
    sets = MACHINE_SETS
    if args.machines:
        sets = [[Machine.parse(m) for m in sys.stdin.read().strip().split(",")]]
    print(json.dumps(run(args.kind, args.rounds, sets, args.seed)), flush=True)


if __name__ == "__main__":
    main()
