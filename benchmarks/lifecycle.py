"""Turn-on / turn-off time of a tunnel: in memory, and on a TUN device (root).

    python benchmarks/lifecycle.py [--runs 100]

Prints the median and 90th percentile of each step and writes
benchmarks/results/lifecycle.png.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import wgcore
from plotting import pyplot, save

sys.path.append(str(Path(__file__).resolve().parent.parent))  # the repository, after the installed wgcore: tests.lab
from tests.lab import netns  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def measure(turn_on, runs: int) -> tuple[list[float], list[float]]:
    """Seconds for each turn-on and turn-off over ``runs`` tunnels."""
    on, off = [], []
    for _ in range(runs):
        start = time.perf_counter()
        tunnel = turn_on()
        on.append(time.perf_counter() - start)
        start = time.perf_counter()
        tunnel.close()
        off.append(time.perf_counter() - start)
    return on, off


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    config = f"private_key={wgcore.PrivateKey.generate().hex()}\nlisten_port=0\n"
    cases = {"in memory": measure(lambda: wgcore.Tunnel.in_memory(config), args.runs)}
    if os.geteuid() == 0:
        with netns.namespace(f"wgbench{os.getpid()}") as ns:
            cases["TUN device"] = netns.run_in(
                ns, lambda: measure(lambda: wgcore.Tunnel.from_interface("wgb0", config), args.runs)
            )
    else:
        print("not root: skipping the TUN case", file=sys.stderr)

    print(f"{'tunnel':<12} {'step':<9} {'median ms':>10} {'p90 ms':>8}   ({args.runs} runs)")
    for name, (on, off) in cases.items():
        for step, times in (("turn on", on), ("turn off", off)):
            p90 = statistics.quantiles(times, n=10)[-1]
            print(f"{name:<12} {step:<9} {statistics.median(times) * 1e3:>10.3f} {p90 * 1e3:>8.3f}")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    labels, data = [], []
    for name, (on, off) in cases.items():
        for step, times in (("on", on), ("off", off)):
            labels.append(f"{name}\n{step}")
            data.append([t * 1e3 for t in times])
    ax.boxplot(data, tick_labels=labels)
    ax.set_ylabel("milliseconds")
    ax.set_title(f"wgcore tunnel turn-on / turn-off ({args.runs} runs)")
    save(fig, RESULTS / "lifecycle.png")
    print(f"plot: {RESULTS / 'lifecycle.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
