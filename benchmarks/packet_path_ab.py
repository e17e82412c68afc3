#!/usr/bin/env python3
"""Same-run A/B of the packet path: an old wgcore against this one.

Each side is a checkout with wgcore installed in some Python (e.g. a git
worktree of the base commit with its own venv). Rounds alternate A and B
(A B, then B A, ...), each one round of that checkout's own ``benchmarks/packet_path.py`` (its
API, its Go baseline), so both see the same machine at nearly the same
time. Prints medians per case, B / A, and each side's ratio to native Go;
writes a plot.

    python benchmarks/packet_path_ab.py --old-python ../old/.venv/bin/python \\
        --old-checkout ../old [--rounds 3] [--quick] [--case REGEX]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from plotting import pyplot, save

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PLOT = Path(__file__).resolve().parent / "results" / "packet_path_ab.png"


def one_round(python: str, checkout: Path, args: argparse.Namespace, out: Path) -> dict:
    """One round of ``checkout``'s packet path benchmark in ``python``: its JSON."""
    cmd = [python, str(checkout / "benchmarks" / "packet_path.py"), "--rounds", "1", "--plot", str(out)]
    if args.quick:
        cmd.append("--quick")
    if args.seconds:
        cmd += ["--seconds", str(args.seconds)]
    if args.case:
        cmd += ["--case", args.case]
    subprocess.run(cmd, check=True, cwd=tempfile.gettempdir(), stdout=subprocess.DEVNULL)
    result: dict = json.loads(out.with_suffix(".json").read_text())
    return result


def speed(metrics: dict) -> float:
    """The case's figure of merit, higher is better: packets a second, or
    round trips (at the median) or polls a second."""
    if "pkt/s" in metrics:
        return float(metrics["pkt/s"])
    return 1e9 / float(metrics.get("p50-ns") or metrics["ns/op"])


def medians(rounds: list[dict], side: str) -> dict[str, float]:
    cases = rounds[0][side][0]
    return {c: statistics.median(speed(r[side][0][c]) for r in rounds) for c in cases}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--old-python", required=True, help="the Python where the old wgcore is installed")
    parser.add_argument("--old-checkout", type=Path, required=True, help="the old wgcore's source tree")
    parser.add_argument("--new-python", default=sys.executable)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--case", help="only the cases this regex matches")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT)
    args = parser.parse_args()
    sides = {"old": (args.old_python, args.old_checkout.resolve()), "new": (args.new_python, ROOT)}
    results: dict[str, list[dict]] = {"old": [], "new": []}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            order = list(sides.items()) if i % 2 == 0 else list(sides.items())[::-1]  # ABBA: no side always runs second
            for name, (python, checkout) in order:
                print(f"round {i + 1}/{args.rounds}: {name} ...", file=sys.stderr, flush=True)
                results[name].append(one_round(python, checkout, args, Path(tmp) / f"{name}{i}.png"))
    old, new = medians(results["old"], "python"), medians(results["new"], "python")
    go_old, go_new = medians(results["old"], "go"), medians(results["new"], "go")
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    note = f"{os.cpu_count()} CPUs (load {load} at the end), {args.rounds} alternating rounds, medians"
    print(f"packet path A/B, old {args.old_checkout} vs new {ROOT}; {note}")
    print(f"{'case':<38} {'old /s':>12} {'new /s':>12} {'new/old':>8} {'old/Go':>7} {'new/Go':>7}")
    cases = [c for c in new if c in old]
    ratios = []
    for case in cases:
        ratio = new[case] / old[case]
        ratios.append(ratio)
        print(f"{case:<38} {old[case]:>12,.0f} {new[case]:>12,.0f} {ratio:>8.2f} "
              f"{old[case] / go_old[case]:>7.2f} {new[case] / go_new[case]:>7.2f}")
    print(f"geometric mean new/old: {statistics.geometric_mean(ratios):.3f} over {len(ratios)} cases")
    fig, ax = pyplot().subplots(figsize=(10, 0.3 * len(cases) + 1.5))
    ax.barh(cases, ratios, color=["tab:green" if r >= 0.95 else "tab:red" for r in ratios])
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("new / old (packets or calls a second; > 1 is faster)")
    ax.set_title(f"packet path A/B\n{note}", fontsize=9)
    save(fig, args.plot)
    args.plot.with_suffix(".json").write_text(json.dumps({"note": note, **results}, indent=1))
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    main()
