#!/usr/bin/env python3
"""Multihop against single hop: throughput and round-trip time, same relays, same run.

The namespaces of ``tests/lab/relays.py`` (client, entry relay, exit
relay, server; the relays are Debian's wireguard-go). Single hop: a wgcore
tunnel straight to the exit relay (the entry relay's namespace only routes
its UDP). Multihop: ``Tunnel.multihop`` through the entry relay to the exit
relay. Both are measured over a TUN (iperf3 TCP to the server, ping RTT)
and in memory (from Python: MTU-sized ICMP echo requests to the server in
batches of 64, 256 in flight, counting the answered ones; single echo
round trips).
Setups alternate (ABBA). Needs root, iperf3, wireguard-go, wg and nft.

    sudo python benchmarks/multihop.py --seconds 5 --repeat 3
"""

from __future__ import annotations

import argparse
import array
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from wgcore import Tunnel
from plotting import pyplot, save

sys.path.append(str(Path(__file__).resolve().parent.parent))  # the repository, after the installed wgcore: tests.lab
from tests.lab import icmp_echo, netns  # noqa: E402
from tests.lab.relays import PRIVATE_IP, SERVER, TUNNEL_IP, Relays, relays  # noqa: E402

DEFAULT_PLOT = Path(__file__).resolve().parent / "results" / "multihop.png"
MODES = ("TUN", "in memory")
HOPS = ("single hop", "multihop")
BATCH = 64
WINDOW = 256  # in-memory echo requests in flight


def open_tunnel(r: Relays, mode: str, hops: str) -> Tunnel:
    """A tunnel in the client namespace: over TUN "wgbmh0" (routed to the server) or in memory."""
    def make() -> Tunnel:
        if hops == "single hop":
            if mode == "TUN":
                return Tunnel.from_interface("wgbmh0", r.exit_interface)
            return Tunnel.in_memory(r.exit_interface)
        kind = {"interface": "wgbmh0"} if mode == "TUN" else {"in_memory": True}
        return Tunnel.multihop(r.entry_interface, r.exit_interface, private_ip=PRIVATE_IP, **kind)

    tunnel = netns.run_in(r.client, make)
    if mode == "TUN":
        r.route_via("wgbmh0")
    return tunnel


def tun_throughput(r: Relays, seconds: float) -> float:
    """iperf3 TCP, client to server, received Mbit/s."""
    server = subprocess.Popen(["ip", "netns", "exec", r.server, "iperf3", "-s", "-1", "-B", SERVER],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while ":5201" not in netns.run(r.server, "ss", "-Hltn").stdout:
            if time.monotonic() > deadline:
                raise RuntimeError("iperf3 server did not start")
            time.sleep(0.05)
        done = netns.run(r.client, "iperf3", "-c", SERVER, "-t", str(seconds), "-J", timeout=seconds + 30)
        if done.returncode != 0:
            raise RuntimeError(f"iperf3: {done.stdout[-500:]} {done.stderr}")
        return float(json.loads(done.stdout)["end"]["sum_received"]["bits_per_second"]) / 1e6
    finally:
        server.kill()
        server.wait()


def tun_rtt(r: Relays, count: int) -> float:
    """Median ping round trip in ms."""
    done = netns.run(r.client, "ping", "-c", str(count), "-i", "0.01", "-W", "2", SERVER)
    times = [float(line.rsplit("time=", 1)[1].split()[0]) for line in done.stdout.splitlines() if "time=" in line]
    if len(times) < count // 2:
        raise RuntimeError(f"ping lost most packets: {done.stdout[-300:]}")
    return statistics.median(times)


def memory_throughput(tunnel: Tunnel, seconds: float) -> float:
    """MTU-sized ICMP echo requests from Python, WINDOW of them in flight (a
    closed loop, as TCP is): Mbit/s of requests the server answered."""
    batch = [icmp_echo(TUNNEL_IP, SERVER, seq, bytes(tunnel.mtu - 28)) for seq in range(BATCH)]
    replies, lengths = bytearray(BATCH * tunnel.mtu), array.array("I", [0] * BATCH)
    answered = in_flight = 0
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if in_flight < WINDOW:
            in_flight += tunnel.packets.send_batch(batch, timeout=0.1)
        got = tunnel.packets.recv_batch_into(replies, lengths, timeout=0 if in_flight < WINDOW else 0.1)
        if got == 0 and in_flight >= WINDOW:
            in_flight = 0  # the rest were lost: start the window again
        answered += got
        in_flight -= got
    return answered * tunnel.mtu * 8 / (time.monotonic() - start) / 1e6


def memory_rtt(tunnel: Tunnel, count: int) -> float:
    """Median ICMP echo round trip in ms, packets sent and received from Python."""
    times = []
    for seq in range(count):
        start = time.perf_counter()
        tunnel.packets.send(icmp_echo(TUNNEL_IP, SERVER, seq))
        while True:  # skip a late reply to an earlier echo
            reply = tunnel.packets.recv(timeout=2)
            if reply[20] == 0 and int.from_bytes(reply[26:28], "big") == seq:
                break
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


@contextlib.contextmanager
def tunnel_up(r: Relays, mode: str, hops: str) -> Iterator[Tunnel]:
    with open_tunnel(r, mode, hops) as tunnel:
        if mode == "TUN":
            tun_rtt(r, 3)  # the handshakes
        else:
            memory_rtt(tunnel, 3)
        yield tunnel


@dataclass
class Run:
    mbits: float  # throughput
    rtt: float  # median round trip, ms
    per_cpu: float  # Mbit per CPU-second of this process (the client's tunnel, and the Python driver in memory)


def measure(r: Relays, mode: str, hops: str, seconds: float) -> Run:
    """One setup, brought up and down again."""
    with tunnel_up(r, mode, hops) as tunnel:
        rtt = tun_rtt(r, 50) if mode == "TUN" else memory_rtt(tunnel, 50)
        cpu = time.process_time()
        mbits = tun_throughput(r, seconds) if mode == "TUN" else memory_throughput(tunnel, seconds)
        cpu = time.process_time() - cpu
    return Run(mbits, rtt, mbits * seconds / max(cpu, 0.001))


Results = dict[tuple[str, str], list[Run]]


def print_table(results: Results) -> None:
    print(f"\n{'mode':<11}{'hops':<12}{'runs':>5}{'median Mbit/s':>15}{'min':>9}{'max':>9}{'RTT ms':>9}"
          f"{'client Mbit/CPU-s':>19}")
    for (mode, hops), runs in results.items():
        mbits = [run.mbits for run in runs]
        print(f"{mode:<11}{hops:<12}{len(runs):>5}{statistics.median(mbits):>15.1f}{min(mbits):>9.1f}"
              f"{max(mbits):>9.1f}{statistics.median(run.rtt for run in runs):>9.3f}"
              f"{statistics.median(run.per_cpu for run in runs):>19.0f}")
    for mode in MODES:
        single, multi = ({field: statistics.median(getattr(run, field) for run in results[(mode, hops)])
                          for field in ("mbits", "rtt", "per_cpu")} for hops in HOPS)
        ratio = multi["mbits"] / single["mbits"]
        verdict = "ok" if ratio >= 0.5 else "BELOW TARGET"
        print(f"{mode}: multihop / single hop throughput {ratio:.3f} (target >= 0.5: {verdict}), "
              f"per client CPU-second {multi['per_cpu'] / single['per_cpu']:.3f}; "
              f"RTT {multi['rtt'] - single['rtt']:+.3f} ms")


def plot(results: Results, path: Path, seconds: float) -> None:
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, field, label in ((axes[0], "mbits", "throughput (Mbit/s)"), (axes[1], "rtt", "median RTT (ms)")):
        for x, ((mode, hops), runs) in enumerate(results.items()):
            values = [getattr(run, field) for run in runs]
            ax.bar(x, statistics.median(values), width=0.6, alpha=0.6, color="C0" if hops == HOPS[0] else "C1")
            ax.plot([x] * len(values), values, "ko", markersize=4)
        ax.set_xticks(range(len(results)), [f"{mode}\n{hops}" for mode, hops in results], fontsize=8)
        ax.set_ylabel(label)
    fig.suptitle(f"multihop vs single hop through wireguard-go relays ({seconds:g} s per run, dots: runs)")
    save(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5, help="throughput duration per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setup")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="PNG to write")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, TUN devices)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # unwinds through the cleanup

    results: Results = {(mode, hops): [] for mode in MODES for hops in HOPS}
    setups: list[tuple[str, str]] = list(results)
    with relays(f"wgbmh{os.getpid() % 100000}") as r:
        for rep in range(args.repeat):
            for mode, hops in setups if rep % 2 == 0 else setups[::-1]:
                run = measure(r, mode, hops, args.seconds)
                results[(mode, hops)].append(run)
                print(f"run {rep + 1}/{args.repeat} {mode:<10} {hops:<11} {run.mbits:8.1f} Mbit/s  "
                      f"RTT {run.rtt:.3f} ms  {run.per_cpu:6.0f} Mbit/CPU-s", flush=True)
    print_table(results)
    plot(results, args.plot, args.seconds)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
