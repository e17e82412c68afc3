"""Turning tunnels off, and exiting with them on, under the worst conditions.

Run by tests/test_shutdown.py in a child interpreter (so a hang is a
timeout, not a stuck test run), and by hand for the full figures:

    python tests/shutdown_probe.py figures --cycles 1000 --exits 20

Modes: ``close`` turns on tunnels of every kind with full queues, closes
them and prints how long each close took; ``set`` reconfigures such
tunnels (listen port, then removing the peer) and prints how long it
took; ``exit`` turns them on (the TUN one serving its UAPI socket to an
idle client, unless ``--no-uapi``), prints ``ready`` and leaves them on
for interpreter exit; ``soak`` turns each kind on and off ``--cycles``
times and prints fds, tunnel count and RSS before and after; ``figures``
runs ``soak`` once and ``exit`` ``--exits`` times (with and without the
UAPI client), each in a child, and prints the figures. TUN tunnels need
root: they are made in a network namespace the probe creates (or
``--netns``).
"""

from __future__ import annotations

import argparse
import array
import atexit
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator

import wgcore

# run as a script too (with tests/, not the repository, on sys.path): the
# repository goes last, so the installed wgcore still comes first
sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.lab import INNER_A, INNER_B, ipv4_packet, netns, tunnel_pair  # noqa: E402

PACKET = ipv4_packet(bytes(1000))
BATCH = [PACKET] * 64


def move(src: wgcore.Tunnel, dst: wgcore.Tunnel, timeout: float = 0) -> tuple[int, int]:
    """Carry src's waiting datagrams to dst; return (taken, accepted)."""
    buf, lens = bytearray(256 * 1600), array.array("I", bytes(4 * 256))
    n = src.datagrams.recv_batch_into(buf, lens, timeout=0)
    datagrams, offset = [], 0
    for size in lens[:n]:
        datagrams.append(bytes(buf[offset : offset + size]))
        offset += size
    return n, dst.datagrams.send_batch(datagrams, timeout=timeout) if datagrams else 0


def handshake(a: wgcore.Tunnel, b: wgcore.Tunnel) -> None:
    """One packet each way, carrying datagrams if the transport is the host."""
    for src, dst, packet in ((a, b, ipv4_packet(b"hi")), (b, a, ipv4_packet(b"hi", INNER_B, INNER_A))):
        src.packets.send(packet)
        deadline = time.monotonic() + 10
        while True:
            if a.transport == "host":
                move(a, b)
                move(b, a)
            try:
                dst.packets.recv(timeout=0.01)
                break
            except TimeoutError:
                if time.monotonic() > deadline:
                    raise


def host_sender_stuck() -> tuple[wgcore.Tunnel, wgcore.Tunnel]:
    """A's datagrams stop being carried: its send pipeline fills up."""
    a, b = tunnel_pair("host")
    handshake(a, b)
    while a.packets.send_batch(BATCH, timeout=0.2):
        pass
    return a, b


def host_receiver_stuck() -> tuple[wgcore.Tunnel, wgcore.Tunnel]:
    """B's application stops reading: its receive pipeline fills up."""
    a, b = tunnel_pair("host")
    handshake(a, b)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        a.packets.send_batch(BATCH, timeout=0)
        taken, accepted = move(a, b, timeout=0.2)
        if taken and not accepted:
            return a, b
    raise RuntimeError("B's receive pipeline never filled")


def udp_receiver_stuck() -> tuple[wgcore.Tunnel, wgcore.Tunnel]:
    """B's application stops reading; UDP keeps delivering to it."""
    a, b = tunnel_pair("udp")
    handshake(a, b)
    for _ in range(50):
        a.packets.send_batch(BATCH, timeout=1)
        time.sleep(0.002)
    time.sleep(0.2)
    return a, b


def tun_config(with_peer: bool) -> str:
    config = f"private_key={wgcore.PrivateKey.generate().hex()}\nlisten_port=0\n"
    if with_peer:
        config += (
            f"public_key={wgcore.PrivateKey.generate().public_key.hex()}\n"
            "endpoint=198.18.0.2:51820\nallowed_ip=203.0.113.2/32\n"
        )
    return config


def stuck_tunnels(ns: str | None) -> dict[str, list[wgcore.Tunnel]]:
    """Tunnels of every kind, with full queues where they have queues."""
    kinds: dict[str, Callable[[], tuple[wgcore.Tunnel, wgcore.Tunnel]]] = {
        "host, sender stuck": host_sender_stuck,
        "host, receiver stuck": host_receiver_stuck,
        "udp, receiver stuck": udp_receiver_stuck,
    }
    made = {kind: list(make()) for kind, make in kinds.items()}
    if ns is not None:
        made["tun"] = [netns.run_in(ns, lambda: wgcore.Tunnel.from_interface("wgprobe0", tun_config(True)))]
    return made


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def on_off(kind: str, cycles: int, ns: str | None) -> None:
    """Turn a tunnel of kind on and off cycles times; the in-memory ones send a packet each time."""
    if kind == "tun":
        assert ns is not None

        def body() -> None:
            for _ in range(cycles):
                wgcore.Tunnel.from_interface("wgsoak0", tun_config(False)).close()

        netns.run_in(ns, body)
        return
    for _ in range(cycles):
        a, b = tunnel_pair(kind)
        a.packets.send(PACKET)
        a.close()
        b.close()


@contextlib.contextmanager
def namespace_if_root(given: str | None) -> Iterator[str | None]:
    if given is not None or os.geteuid() != 0:
        yield given
        return
    with netns.namespace(f"wgprobe{os.getpid()}") as ns:
        yield ns


def mode_close(ns: str | None) -> None:
    made = stuck_tunnels(ns)
    took = {}
    for kind, tunnels in made.items():
        start = time.monotonic()
        for t in tunnels:
            t.close()
        took[kind] = round(time.monotonic() - start, 3)
    print(json.dumps({"closed": took, "tunnels_left": wgcore.tunnel.tunnel_count()}), flush=True)


def mode_set() -> None:
    took = {}
    for kind, tunnels in stuck_tunnels(None).items():
        start = time.monotonic()
        for t in tunnels:
            peer = re.search(r"^public_key=([0-9a-f]{64})$", t.get_config(), re.M)
            assert peer is not None
            t.set_config("listen_port=0\n")
            t.set_config(f"public_key={peer.group(1)}\nremove=true\n")
        took[kind] = round(time.monotonic() - start, 3)
        for t in tunnels:
            t.close()
    print(json.dumps({"set": took}), flush=True)


def mode_exit(ns: str | None, uapi: bool) -> None:
    LIVE.update(stuck_tunnels(ns))
    if ns is not None and uapi:  # the TUN tunnel also serves its UAPI socket, to a client that never sends
        folder = tempfile.mkdtemp()
        atexit.register(shutil.rmtree, folder, True)
        path = os.path.join(folder, "wgprobe0.sock")
        IDLE.append(LIVE["tun"][0].serve_uapi(path))
        client = socket.socket(socket.AF_UNIX)
        client.connect(path)
        IDLE.append(client)
    print("ready", flush=True)


def mode_soak(cycles: int, ns: str | None) -> None:
    kinds = ["udp", "host"] + (["tun"] if ns is not None else [])
    on_off("udp", 5, None)  # warm up the Go runtime and Python's caches
    report = {}
    for kind in kinds:
        before = (open_fds(), wgcore.tunnel.tunnel_count(), rss_kib())
        start = time.monotonic()
        on_off(kind, cycles, ns)
        after = (open_fds(), wgcore.tunnel.tunnel_count(), rss_kib())
        report[kind] = {
            "cycles": cycles,
            "seconds": round(time.monotonic() - start, 1),
            "fds": [before[0], after[0]],
            "tunnels": [before[1], after[1]],
            "rss_kib": [before[2], after[2]],
        }
    print(json.dumps(report), flush=True)


def child(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, os.path.abspath(__file__), *args], capture_output=True, text=True, timeout=timeout, cwd="/"
    )


def timed_exit(ns: str | None, uapi: bool = True, timeout: float = 60) -> tuple[float, int, str]:
    """Run ``exit`` in a child; return (seconds from ready to exit, status, stderr)."""
    args = [sys.executable, os.path.abspath(__file__), "exit"] + (["--netns", ns] if ns else [])
    args += [] if uapi else ["--no-uapi"]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/") as proc:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        if line.strip() != "ready":
            proc.kill()
            raise RuntimeError(f"child did not get ready: {line!r} {proc.stderr.read()}")
        start = time.monotonic()
        try:
            status = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return time.monotonic() - start, -1, proc.stderr.read()
        return time.monotonic() - start, status, proc.stderr.read()


def mode_figures(cycles: int, exits: int, ns: str | None) -> None:
    soak = child("soak", "--cycles", str(cycles), *(["--netns", ns] if ns else []), timeout=3600)
    print("on/off:", soak.stdout.strip() or soak.stderr)
    for uapi in (False, True) if ns else (False,):
        runs = [timed_exit(ns, uapi) for _ in range(exits)]
        times = sorted(seconds for seconds, _, _ in runs)
        kinds = ", ".join(["host", "udp"] + (["tun"] if ns else []) + (["UAPI socket, idle client"] if uapi else []))
        print(f"exit with live tunnels ({kinds}): {exits} runs, "
              f"status 0 in {sum(status == 0 for _, status, _ in runs)}, "
              f"seconds min {times[0]:.3f} median {times[len(times) // 2]:.3f} max {times[-1]:.3f}")
        for _, status, err in runs:
            if status != 0 or err:
                print("  failed run:", status, err[-500:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["close", "set", "exit", "soak", "figures"])
    parser.add_argument("--netns", help="namespace for TUN tunnels (default: a new one, if root)")
    parser.add_argument("--no-uapi", action="store_true", help="exit: no UAPI socket and idle client")
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--exits", type=int, default=20)
    args = parser.parse_args()
    with namespace_if_root(args.netns) as ns:
        if args.mode == "close":
            mode_close(ns)
        elif args.mode == "set":
            mode_set()
        elif args.mode == "exit":
            mode_exit(ns, not args.no_uapi)
        elif args.mode == "soak":
            mode_soak(args.cycles, ns)
        else:
            mode_figures(args.cycles, args.exits, ns)


LIVE: dict[str, list[wgcore.Tunnel]] = {}  # left on for interpreter exit
IDLE: list[object] = []  # a UAPI server and its idle client, left open too

if __name__ == "__main__":
    main()
