#!/usr/bin/env python3
"""Control plane at scale: configure and read back a tunnel with 10,000 peers.

Two operations, each timed over several repetitions, against targets:

- ``set_config``: ``tunnel.set_config(interface)`` for N new peers on a
  fresh tunnel (the typed ``Interface`` becomes UAPI text, libwg applies
  it); target 0.5 s;
- ``get_config + parse``: ``parse_get(tunnel.get_config()).interface``
  of those N peers; target 0.1 s.

Rows below each operation split it into its parts (building the text in
Python, applying or producing it in Go, parsing in Python), so a missed
target says where the time goes. Each peer has one IPv4 /32 and one
IPv6 /128 allowed IP and an IPv4 endpoint, no keepalive (a keepalive
makes every new peer start a handshake at once, which measures crypto,
not configuration). Tunnels are in-memory (no TUN, no root needed).

    python benchmarks/control_plane.py              # 10,000 peers, 7 repetitions
    python benchmarks/control_plane.py --quick      # 1,000 peers, 3 repetitions

Prints a table and writes ``benchmarks/results/control_plane.png``
(matplotlib, from the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import wgcore
from wgcore import Endpoint, Interface, Peer, PrivateKey, PublicKey
from wgcore.uapi.codec import parse_get
from plotting import pyplot, save

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"set_config": 0.5, "get_config + parse": 0.1}


def make_interface(peers: int) -> Interface:
    """A device config with ``peers`` distinct peers."""
    return Interface(
        private_key=PrivateKey.generate(),
        listen_port=0,
        peers=[
            Peer(
                PublicKey(os.urandom(32)),
                [ipaddress.IPv4Network((0x0A000000 + i, 32)), ipaddress.IPv6Network(((0xFD42 << 112) + i, 128))],
                Endpoint(str(ipaddress.IPv4Address(0xC6120000 + i)), 51820),
            )
            for i in range(peers)
        ],
    )


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(peers: int, repeat: int) -> dict[str, list[float]]:
    """Seconds per repetition for each operation and part."""
    config = make_interface(peers)
    times: dict[str, list[float]] = {name: [] for name in (
        "set_config", "  build UAPI text (Python)", "  apply (libwg)",
        "get_config + parse", "  get_config (libwg)", "  parse (Python)")}
    for _ in range(repeat):
        with wgcore.Tunnel.in_memory(Interface(private_key=PrivateKey.generate())) as tunnel:
            times["set_config"].append(timed(lambda: tunnel.set_config(config)))
        with wgcore.Tunnel.in_memory(Interface(private_key=PrivateKey.generate())) as tunnel:
            text_holder: list[str] = []
            times["  build UAPI text (Python)"].append(timed(lambda: text_holder.append(config.to_uapi())))
            times["  apply (libwg)"].append(timed(lambda: tunnel.set_config(text_holder[0])))
            got: list[Interface] = []
            times["get_config + parse"].append(timed(lambda: got.append(parse_get(tunnel.get_config()).interface)))
            assert got[0] == Interface(private_key=got[0].private_key, listen_port=got[0].listen_port,
                                       peers=config.peers), "read back a different config"
            texts: list[str] = []
            times["  get_config (libwg)"].append(timed(lambda: texts.append(tunnel.get_config())))
            times["  parse (Python)"].append(timed(lambda: parse_get(texts[0]).interface))
    return times


def report(times: dict[str, list[float]], peers: int) -> str:
    lines = [f"{'operation (' + format(peers, ',') + ' peers)':34} {'median s':>9} {'min s':>8} "
             f"{'target s':>9}  met"]
    for name, values in times.items():
        target = TARGETS.get(name)
        median, best = statistics.median(values), min(values)
        verdict = "" if target is None else ("yes" if median <= target else "NO")
        lines.append(f"{name:34} {median:9.3f} {best:8.3f} {'' if target is None else f'{target:9.1f}':>9}  {verdict}")
    return "\n".join(lines)


def plot(times: dict[str, list[float]], peers: int, path: Path) -> None:
    plt = pyplot()
    names = list(times)
    medians = [statistics.median(times[n]) for n in names]
    mins = [min(times[n]) for n in names]
    colors = ["tab:blue" if n in TARGETS else "tab:gray" for n in names]
    fig, ax = plt.subplots(figsize=(9, 4.5))
    y = range(len(names))
    ax.barh(y, medians, color=colors, label="median")
    ax.scatter(mins, y, color="black", marker="|", s=200, label="min", zorder=3)
    for name, target in TARGETS.items():
        i = names.index(name)
        ax.plot([target, target], [i - 0.45, i + 0.45], color="tab:red", linewidth=2,
                label="target" if i == 0 else None)
    ax.set_yticks(list(y), [n.strip() for n in names])
    ax.invert_yaxis()
    ax.set_xlabel("seconds")
    ax.set_title(f"wgcore control plane, {peers:,} peers ({len(times[names[0]])} repetitions)")
    ax.legend(loc="lower right")
    save(fig, path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="1,000 peers, 3 repetitions")
    args = parser.parse_args()
    peers, repeat = (1000, 3) if args.quick else (args.peers, args.repeat)
    load = os.getloadavg()[0]
    times = measure(peers, repeat)
    print(report(times, peers))
    print(f"(cpus: {os.cpu_count()}, 1-minute load average at start: {load:.1f})")
    out = RESULTS / "control_plane.png"
    plot(times, peers, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
