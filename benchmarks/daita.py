#!/usr/bin/env python3
"""What DAITA costs: throughput, latency and bytes on the wire, off vs on.

Two peered in-memory tunnels over loopback UDP (``packet_path.Pair``),
DAITA on both directions with one machine set per condition:

- ``off``: no DAITA;
- ``idle``: a machine that never acts (maybenot's no-op machine), so the
  cost is the fork's per-packet event path alone;
- each defence ``wgcore.daita`` ships, and ``DEFAULT`` (FRONT + BREAK_BURST).

Per condition and round (conditions alternate within a round; fresh
tunnels for each): 1420-byte throughput at batch 32 (packets delivered
per second), request/response round trip (64 bytes, p50 / p99), wire
bytes per application byte during the throughput run and for sparse
traffic (``light``: a 1420-byte packet every 50 ms; WireGuard message bytes
from both tunnels' ``tx_bytes``: data, padding, handshakes, keepalives; no
UDP/IP headers), the padding sent while the
application is quiet (bytes in the second that starts 0.5 s after the
traffic), and stalls (1 s waits after the kernel dropped datagrams).
Prints a table of medians with the ratio to ``off`` and writes a plot.

    python benchmarks/daita.py            # about 2 minutes
    python benchmarks/daita.py --quick    # smoke run, a few seconds
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

import wgcore
from packet_path import ADDR_A, ADDR_B, Pair, ipv4_packet, roundtrip, throughput, timed
from plotting import pyplot, save

DEFAULT_PLOT = Path(__file__).resolve().parent / "results" / "daita.png"
SIZE, BATCH, LATENCY_SIZE = 1420, 32, 64
LIGHT_GAP = 0.05  # seconds between packets of the sparse-traffic measurement
QUIET_SETTLE = 0.5  # seconds between the end of traffic and the quiet measurement
IDLE_TARGET = 0.9  # throughput with idle machines, at least this times off
NO_OP_MACHINE = "789cedca2101000000c230e85f1a8387009f9e351d051503ca0003"  # maybenot 1.1.3's no-op


def conditions() -> dict[str, list[str] | None]:
    """Condition name -> machines (None: DAITA off)."""
    from wgcore import daita

    return {"off": None, "idle": [NO_OP_MACHINE],
            "FRONT": [str(daita.FRONT)], "BREAK_BURST": [str(daita.BREAK_BURST)],
            "CONSTANT_RATE": [str(daita.CONSTANT_RATE)], "DEFAULT": [str(m) for m in daita.DEFAULT]}


def wire_bytes(pair: Pair) -> int:
    """WireGuard message bytes both tunnels have sent so far."""
    return sum(int(v) for t in (pair.a, pair.b)
               for v in re.findall(r"^tx_bytes=(\d+)$", t.get_config(), re.M))


def metered(pair: Pair, count: int) -> dict:
    """One throughput run, with the wire bytes it caused."""
    before = wire_bytes(pair)
    result = throughput(pair, SIZE, BATCH, count)
    result["wire"] = wire_bytes(pair) - before
    return result


def light(pair: Pair, seconds: float) -> float:
    """Wire bytes per application byte for sparse traffic: one packet
    every LIGHT_GAP seconds from A, then the padding it set off settles."""
    packet, buf = ipv4_packet(SIZE, ADDR_A, ADDR_B), bytearray(SIZE)
    before, sent = wire_bytes(pair), 0
    stop = time.monotonic() + seconds
    while time.monotonic() < stop:
        pair.a.packets.send(packet)
        pair.b.packets.recv_into(buf, timeout=1)
        sent += 1
        time.sleep(LIGHT_GAP)
    time.sleep(QUIET_SETTLE)
    return (wire_bytes(pair) - before) / (sent * SIZE)


def measure(machines: list[str] | None, seconds: float) -> dict[str, float]:
    pair = Pair("udp")
    try:
        if machines is not None:
            for me, other in ((pair.a, pair.b), (pair.b, pair.a)):
                me.activate_daita(other.config().public_key, machines)
        flow = timed(lambda n: metered(pair, n), seconds)
        app = flow["pkt/s"] * flow["elapsed"] * SIZE
        time.sleep(QUIET_SETTLE)  # packets still in flight leave
        quiet_start = wire_bytes(pair)
        time.sleep(1.0)
        quiet = wire_bytes(pair) - quiet_start
        rtt = timed(lambda n: roundtrip(pair, LATENCY_SIZE, n), seconds)
        sparse = light(pair, max(seconds, 1.0))
    finally:
        pair.close()
    return {"Mbit/s": flow["pkt/s"] * SIZE * 8 / 1e6, "p50 us": rtt["p50-ns"] / 1000,
            "p99 us": rtt["p99-ns"] / 1000, "wire/app": flow["wire"] / app, "light w/a": sparse,
            "quiet B/s": quiet, "stalls": flow["stalls"]}


METRICS = ("Mbit/s", "p50 us", "p99 us", "wire/app", "light w/a", "quiet B/s", "stalls")


def format_table(medians: dict[str, dict[str, float]]) -> str:
    off = medians["off"]
    head = f"{'condition':<16}" + "".join(f"{m:>12}" for m in METRICS) + f"{'thr/off':>9}  target"
    lines = [head, "-" * len(head)]
    for name, r in medians.items():
        ratio = r["Mbit/s"] / off["Mbit/s"]
        target = ""
        if name == "idle":
            target = f">= {IDLE_TARGET}x " + ("ok" if ratio >= IDLE_TARGET else "MISSED")
        lines.append(f"{name:<16}" + "".join(f"{r[m]:>12,.2f}" for m in METRICS)
                     + f"{ratio:>9.3f}  {target}".rstrip())
    return "\n".join(lines)


def plot(medians: dict[str, dict[str, float]], path: Path, note: str) -> None:
    plt = pyplot()
    names = list(medians)
    fig, axes = plt.subplots(1, 5, figsize=(22, 4.5))
    for ax, metric in zip(axes, ("Mbit/s", "p50 us", "p99 us", "wire/app", "light w/a")):
        ax.bar(names, [medians[n][metric] for n in names],
               color=["tab:gray"] + ["tab:blue"] * (len(names) - 1))
        ax.set_title(metric)
        ax.tick_params(axis="x", rotation=30)
    fig.suptitle(f"DAITA off vs on (wgcore in-memory tunnels over loopback UDP)\n{note}", fontsize=10)
    save(fig, path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, one round: a smoke run")
    parser.add_argument("--seconds", type=float, help="time per measurement (default 2, quick 0.1)")
    parser.add_argument("--rounds", type=int, help="rounds, conditions alternating (default 3, quick 1)")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="PNG to write")
    args = parser.parse_args()
    if not wgcore.daita.COMPILED_IN:
        sys.exit(wgcore._native.DAITA_MISSING)
    seconds = args.seconds or (0.1 if args.quick else 2.0)
    rounds = args.rounds or (1 if args.quick else 3)
    cases = conditions()
    results: dict[str, list[dict[str, float]]] = {name: [] for name in cases}
    for i in range(rounds):
        for name, machines in cases.items():
            print(f"round {i + 1}/{rounds}: {name} ...", file=sys.stderr, flush=True)
            results[name].append(measure(machines, seconds))
    medians = {name: {m: statistics.median(r[m] for r in runs) for m in METRICS}
               for name, runs in results.items()}
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    note = (f"{os.cpu_count()} CPUs (load {load} at the end), {rounds} rounds x {seconds:g} s, medians; "
            f"wgcore {wgcore.__version__}, maybenot {wgcore.version()['maybenot']}")
    print(f"DAITA cost; {note}")
    print(format_table(medians))
    plot(medians, args.plot, note)
    args.plot.with_suffix(".json").write_text(json.dumps({"note": note, "runs": results}, indent=1))
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
