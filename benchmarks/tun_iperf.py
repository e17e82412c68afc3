#!/usr/bin/env python3
"""TUN-mode throughput: wgcore (libwg) against Debian's wireguard-go.

Two network namespaces joined by a veth pair (198.18.0.1/30, 198.18.0.2/30)
carry a WireGuard tunnel (203.0.113.1/24, 203.0.113.2/24) run either by
wgcore (one helper process per namespace) or by Debian's ``wireguard-go``
(one daemon per namespace); iperf3 measures TCP through it. Setups
alternate within one run. Needs root, iperf3, wireguard-go and wg.

    sudo python benchmarks/tun_iperf.py --seconds 5 --repeat 3
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ctypes
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from wgcore.testing import netns
from plotting import pyplot, save

SETUPS = ("libwg", "wireguard-go")
UNDERLAY = ("198.18.0.1", "198.18.0.2")
TUNNEL = ("203.0.113.1", "203.0.113.2")
PORT = 51820
DEFAULT_PLOT = Path(__file__).resolve().parent / "results" / "tun_iperf.png"
UAPI_DIR = Path("/var/run/wireguard")
PR_SET_PDEATHSIG = 1


def sh(*cmd: str, ns: str | None = None, timeout: float = 60) -> str:
    """Run a command (inside namespace ``ns`` if given); return its stdout."""
    if ns is not None:
        cmd = ("ip", "netns", "exec", ns, *cmd)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {done.returncode}: {done.stderr.strip()}")
    return done.stdout


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM if the benchmark dies."""
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(ns: str, *cmd: str, **kwargs) -> subprocess.Popen:
    """Start a long-running command inside namespace ``ns``."""
    return subprocess.Popen(
        ["ip", "netns", "exec", ns, *cmd], cwd="/", start_new_session=True,
        preexec_fn=die_with_parent, **kwargs)


def stop(proc: subprocess.Popen) -> None:
    """Stop a child: close its stdin, then SIGTERM, then SIGKILL."""
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
    for sig in (None, signal.SIGTERM, signal.SIGKILL):
        if sig is not None and proc.poll() is None:
            proc.send_signal(sig)
        try:
            proc.wait(timeout=5)
            return
        except subprocess.TimeoutExpired:
            pass


def wait_for(check, what: str, timeout: float = 10) -> None:
    """Poll ``check()`` until it is true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def host_cpu_seconds() -> float:
    """CPU time all processors have spent in processes (or stolen) so far.

    Interrupt and softirq time is left out: much of it is the benchmark's
    own packet processing, charged to no process.
    """
    user, nice, system, _, _, _, _, steal = (
        int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's children that have been waited for."""
    t = os.times()
    return t.children_user + t.children_system


def udp_counters(ns: str) -> tuple[int, int]:
    """(datagrams delivered, datagrams dropped for a full receive buffer) in ``ns``."""
    lines = [line.split() for line in sh("cat", "/proc/net/snmp", ns=ns).splitlines()
             if line.startswith("Udp:")]
    counters = dict(zip(lines[0][1:], (int(v) for v in lines[1][1:])))
    return counters["InDatagrams"], counters["RcvbufErrors"]


@dataclass
class Run:
    """One iperf3 measurement; CPU in seconds over the iperf3 run."""

    mbits: float
    tunnel_cpu: float  # both tunnel processes
    other_cpu: float  # host CPU used by anything else: noise
    udp_drop: float  # share of the tunnels' UDP datagrams lost to full receive buffers


def key_pair() -> tuple[str, str]:
    """A fresh (private, public) key pair, base64, from ``wg``."""
    private = sh("wg", "genkey").strip()
    public = subprocess.run(["wg", "pubkey"], input=private, capture_output=True,
                            text=True, check=True).stdout.strip()
    return private, public


def b64_to_hex(key: str) -> str:
    return base64.b64decode(key).hex()


class Bench:
    """The namespaces, keys and per-setup tunnel bring-up of one run."""

    def __init__(self, stack: contextlib.ExitStack, workdir: Path, mtu: int,
                 wireguard_go: str) -> None:
        self.stack = stack
        self.workdir = workdir
        self.mtu = mtu
        self.wireguard_go = wireguard_go
        tag = os.getpid()
        self.ns = (f"wgbench{tag}a", f"wgbench{tag}b")
        self.keys = (key_pair(), key_pair())

    def create_namespaces(self) -> None:
        for ns in self.ns:
            self.stack.enter_context(netns.namespace(ns))
        netns.veth(self.ns[0], f"{UNDERLAY[0]}/30", self.ns[1], f"{UNDERLAY[1]}/30")

    def start(self, setup: str, stack: contextlib.ExitStack) -> list[int]:
        """Bring ``setup``'s tunnel up in both namespaces; return the tunnel pids."""
        if setup == "libwg":
            ifnames = ["wg0", "wg0"]
            pids = [self._start_libwg(i, stack) for i in (0, 1)]
        else:
            ifnames = [f"wgg{os.getpid()}a", f"wgg{os.getpid()}b"]
            pids = [self._start_wireguard_go(i, ifnames[i], stack) for i in (0, 1)]
        for ns, ifname, addr in zip(self.ns, ifnames, TUNNEL):
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
        wait_for(lambda: subprocess.run(
            ["ip", "netns", "exec", self.ns[0], "ping", "-c", "1", "-W", "1", TUNNEL[1]],
            capture_output=True).returncode == 0, f"{setup} handshake", timeout=15)
        return pids

    def _start_libwg(self, i: int, stack: contextlib.ExitStack) -> int:
        """A helper process holding a wgcore tunnel "wg0" in namespace i."""
        private, _ = self.keys[i]
        _, peer = self.keys[1 - i]
        config = (f"private_key={b64_to_hex(private)}\nlisten_port={PORT}\n"
                  f"public_key={b64_to_hex(peer)}\nendpoint={UNDERLAY[1 - i]}:{PORT}\n"
                  f"allowed_ip={TUNNEL[1 - i]}/32\n")
        proc = spawn(self.ns[i], sys.executable, os.path.abspath(__file__),
                     "--helper", "wg0", "--mtu", str(self.mtu),
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        stack.callback(stop, proc)
        proc.stdin.write(config + "\n")
        proc.stdin.flush()
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"libwg helper in {self.ns[i]} failed (exit {proc.wait()})")
        return proc.pid

    def _start_wireguard_go(self, i: int, ifname: str, stack: contextlib.ExitStack) -> int:
        """Debian's wireguard-go daemon in namespace i, configured by ``wg``."""
        sock = UAPI_DIR / f"{ifname}.sock"
        proc = spawn(self.ns[i], self.wireguard_go, "-f", ifname,
                     env={**os.environ, "WG_PROCESS_FOREGROUND": "1"},
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stack.callback(lambda: sock.unlink(missing_ok=True))
        stack.callback(stop, proc)
        wait_for(lambda: sock.exists() or proc.poll() is not None, f"{ifname} UAPI socket")
        if proc.poll() is not None:
            raise RuntimeError(f"wireguard-go {ifname} exited with {proc.returncode}")
        private, _ = self.keys[i]
        _, peer = self.keys[1 - i]
        conf = self.workdir / f"{ifname}.conf"
        conf.write_text(f"[Interface]\nPrivateKey = {private}\nListenPort = {PORT}\n\n"
                        f"[Peer]\nPublicKey = {peer}\nEndpoint = {UNDERLAY[1 - i]}:{PORT}\n"
                        f"AllowedIPs = {TUNNEL[1 - i]}/32\n")
        sh("wg", "setconf", ifname, str(conf), ns=self.ns[i])
        sh("ip", "-n", self.ns[i], "link", "set", ifname, "mtu", str(self.mtu))
        return proc.pid

    def iperf(self, seconds: float) -> float:
        """One iperf3 TCP run from namespace a to b; received Mbit/s."""
        a, b = self.ns
        with contextlib.ExitStack() as stack:
            server = spawn(b, "iperf3", "-s", "-1", "-B", TUNNEL[1],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(stop, server)
            wait_for(lambda: ":5201" in sh("ss", "-Hltn", ns=b), "iperf3 server")
            out = sh("iperf3", "-c", TUNNEL[1], "-t", str(seconds), "-J", ns=a,
                     timeout=seconds + 30)
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6

    def measure(self, setup: str, seconds: float) -> Run:
        """Bring ``setup`` up, run iperf3 through it, tear it down."""
        with contextlib.ExitStack() as stack:
            pids = self.start(setup, stack)
            tunnel = -sum(cpu_seconds(p) for p in pids)
            host, iperf = -host_cpu_seconds(), -children_cpu_seconds()
            udp_before = [udp_counters(ns) for ns in self.ns]
            mbits = self.iperf(seconds)
            udp_after = [udp_counters(ns) for ns in self.ns]
            host += host_cpu_seconds()
            iperf += children_cpu_seconds()
            tunnel += sum(cpu_seconds(p) for p in pids)
        delivered, dropped = (sum(after[k] - before[k] for before, after in zip(udp_before, udp_after))
                              for k in (0, 1))
        return Run(mbits, tunnel, max(0.0, host - tunnel - iperf),
                   dropped / max(1, delivered + dropped))


def run_helper(name: str, mtu: int) -> None:
    """Helper mode: run a wgcore tunnel until stdin closes.

    Reads UAPI text up to a blank line, prints "ready" once the tunnel is up.
    """
    import wgcore

    lines = []
    while line := sys.stdin.readline().strip():
        lines.append(line + "\n")
    with wgcore.Tunnel.from_interface(name, "".join(lines), mtu=mtu):
        print("ready", flush=True)
        sys.stdin.read()


def print_table(results: dict[str, list[Run]], seconds: float) -> None:
    """Medians per setup (CPU in % of one CPU) and the libwg / wireguard-go ratio."""
    print(f"\n{'setup':<14}{'runs':>5}{'median Mbit/s':>15}{'min':>9}{'max':>9}"
          f"{'tunnel CPU %':>14}{'Mbit/CPU-s':>12}{'UDP drops %':>13}{'other load %':>14}")
    for setup, runs in results.items():
        mbits = [r.mbits for r in runs]
        cpu = statistics.median(r.tunnel_cpu for r in runs) / seconds * 100
        per_cpu = statistics.median(r.mbits * seconds / max(r.tunnel_cpu, 0.01) for r in runs)
        drops = statistics.median(r.udp_drop for r in runs) * 100
        other = statistics.median(r.other_cpu for r in runs) / seconds * 100
        print(f"{setup:<14}{len(runs):>5}{statistics.median(mbits):>15.1f}"
              f"{min(mbits):>9.1f}{max(mbits):>9.1f}{cpu:>14.0f}{per_cpu:>12.0f}"
              f"{drops:>13.1f}{other:>14.0f}")
    ratio = statistics.median(r.mbits for r in results["libwg"]) / statistics.median(
        r.mbits for r in results["wireguard-go"])
    verdict = "ok" if ratio >= 0.95 else "BELOW TARGET"
    print(f"ratio libwg / wireguard-go: {ratio:.3f} (target >= 0.95: {verdict})")


def plot(results: dict[str, list[Run]], path: Path, seconds: float) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for x, (setup, runs) in enumerate(results.items()):
        mbits = [r.mbits for r in runs]
        median = statistics.median(mbits)
        ax.bar(x, median, width=0.6, alpha=0.6)
        ax.plot([x] * len(mbits), mbits, "ko", markersize=4)
        ax.annotate(f"median {median:.0f}", (x, median), ha="center", va="bottom",
                    xytext=(0, 4), textcoords="offset points")
    ax.set_xticks(range(len(results)), list(results))
    ax.set_ylabel("iperf3 TCP throughput (Mbit/s)")
    ax.set_title(f"WireGuard over TUN, two namespaces, {seconds:g} s per run (dots: runs)")
    save(fig, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5, help="iperf3 duration per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per setup")
    parser.add_argument("--mtu", type=int, default=1420, help="tunnel MTU for both setups")
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT, help="PNG to write")
    parser.add_argument("--wireguard-go", default="wireguard-go", metavar="PATH",
                        help="the wireguard-go binary to compare with (default: Debian's)")
    parser.add_argument("--helper", metavar="IFNAME", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helper:
        return run_helper(args.helper, args.mtu)
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, TUN devices)")
    # Ctrl-C and SIGTERM unwind through the cleanup below.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    results: dict[str, list[Run]] = {s: [] for s in SETUPS}
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tun_iperf")))
        bench = Bench(stack, workdir, args.mtu, args.wireguard_go)
        bench.create_namespaces()
        for rep in range(args.repeat):
            order = SETUPS if rep % 2 == 0 else SETUPS[::-1]
            for setup in order:
                run = bench.measure(setup, args.seconds)
                results[setup].append(run)
                print(f"run {rep + 1}/{args.repeat} {setup:<13} {run.mbits:8.1f} Mbit/s  "
                      f"tunnel CPU {run.tunnel_cpu / args.seconds * 100:4.0f}%  "
                      f"UDP drops {run.udp_drop * 100:4.1f}%  "
                      f"other load {run.other_cpu / args.seconds * 100:4.0f}%", flush=True)
    print_table(results, args.seconds)
    plot(results, args.plot, args.seconds)
    print(f"plot: {args.plot}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; everything the benchmark created was removed")
