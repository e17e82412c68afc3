#!/usr/bin/env python3
"""TUN-mode throughput: wgcore (libwg) against Debian's and upstream's wireguard-go.

Two network namespaces joined by a veth pair (198.18.0.1/30, 198.18.0.2/30)
carry a WireGuard tunnel (203.0.113.1/24, 203.0.113.2/24) run either by
wgcore (one helper process per namespace; DAITA off, or on with an idle
machine), by Debian's ``wireguard-go`` or by upstream wireguard-go latest
(one daemon per namespace; the benchmark builds the pinned module version
with ``go install`` unless ``--upstream`` names a binary); iperf3 measures
TCP through it, both directions. Setups alternate within one run. Needs
root, iperf3, wireguard-go, wg and (for upstream) go.

    sudo python benchmarks/tun_iperf.py --seconds 3 --repeat 1
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

from plotting import pyplot, save

sys.path.append(str(Path(__file__).resolve().parent.parent))  # the repository, after the installed wgcore: tests.lab
from tests.lab import netns  # noqa: E402

SETUPS = ("libwg", "libwg+daita", "wireguard-go", "upstream")
DIRECTIONS = ("a->b", "b->a")
UPSTREAM_MODULE = "golang.zx2c4.com/wireguard@v0.0.0-20260522210424-ecfc5a8d5446"  # 0.0.20250522
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
                 binaries: dict[str, str]) -> None:
        self.stack = stack
        self.workdir = workdir
        self.mtu = mtu
        self.binaries = binaries  # daemon setup -> its binary
        tag = os.getpid()
        self.ns = (f"wgbench{tag}a", f"wgbench{tag}b")
        self.keys = (key_pair(), key_pair())

    def create_namespaces(self) -> None:
        for ns in self.ns:
            self.stack.enter_context(netns.namespace(ns))
        netns.veth(self.ns[0], f"{UNDERLAY[0]}/30", self.ns[1], f"{UNDERLAY[1]}/30")

    def start(self, setup: str, stack: contextlib.ExitStack) -> list[int]:
        """Bring ``setup``'s tunnel up in both namespaces; return the tunnel pids."""
        if setup.startswith("libwg"):
            ifnames = ["wg0", "wg0"]
            pids = [self._start_libwg(i, stack, setup.endswith("+daita")) for i in (0, 1)]
        else:
            ifnames = [f"wgg{os.getpid()}a", f"wgg{os.getpid()}b"]
            pids = [self._start_wireguard_go(self.binaries[setup], i, ifnames[i], stack) for i in (0, 1)]
        for ns, ifname, addr in zip(self.ns, ifnames, TUNNEL):
            sh("ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
            sh("ip", "-n", ns, "link", "set", ifname, "up")
        wait_for(lambda: subprocess.run(
            ["ip", "netns", "exec", self.ns[0], "ping", "-c", "1", "-W", "1", TUNNEL[1]],
            capture_output=True).returncode == 0, f"{setup} handshake", timeout=15)
        return pids

    def _start_libwg(self, i: int, stack: contextlib.ExitStack, daita: bool) -> int:
        """A helper process holding a wgcore tunnel "wg0" in namespace i
        (with DAITA on, with an idle machine, if ``daita``)."""
        private, _ = self.keys[i]
        _, peer = self.keys[1 - i]
        config = (f"private_key={b64_to_hex(private)}\nlisten_port={PORT}\n"
                  f"public_key={b64_to_hex(peer)}\nendpoint={UNDERLAY[1 - i]}:{PORT}\n"
                  f"allowed_ip={TUNNEL[1 - i]}/32\n")
        proc = spawn(self.ns[i], sys.executable, os.path.abspath(__file__),
                     "--helper", "wg0", "--mtu", str(self.mtu), *(["--daita"] if daita else []),
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        stack.callback(stop, proc)
        proc.stdin.write(config + "\n")
        proc.stdin.flush()
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"libwg helper in {self.ns[i]} failed (exit {proc.wait()})")
        return proc.pid

    def _start_wireguard_go(self, binary: str, i: int, ifname: str, stack: contextlib.ExitStack) -> int:
        """A wireguard-go daemon in namespace i, configured by ``wg``."""
        sock = UAPI_DIR / f"{ifname}.sock"
        proc = spawn(self.ns[i], binary, "-f", ifname,
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

    def iperf(self, seconds: float, direction: str) -> float:
        """One iperf3 TCP run (from namespace a to b, or back); received Mbit/s."""
        a, b = self.ns
        with contextlib.ExitStack() as stack:
            server = spawn(b, "iperf3", "-s", "-1", "-B", TUNNEL[1],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack.callback(stop, server)
            wait_for(lambda: ":5201" in sh("ss", "-Hltn", ns=b), "iperf3 server")
            out = sh("iperf3", "-c", TUNNEL[1], "-t", str(seconds), "-J",
                     *(["-R"] if direction == "b->a" else []), ns=a, timeout=seconds + 30)
        return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e6

    def measure(self, setup: str, direction: str, seconds: float) -> Run:
        """Bring ``setup`` up, run iperf3 through it, tear it down."""
        with contextlib.ExitStack() as stack:
            pids = self.start(setup, stack)
            tunnel = -sum(cpu_seconds(p) for p in pids)
            host, iperf = -host_cpu_seconds(), -children_cpu_seconds()
            udp_before = [udp_counters(ns) for ns in self.ns]
            mbits = self.iperf(seconds, direction)
            udp_after = [udp_counters(ns) for ns in self.ns]
            host += host_cpu_seconds()
            iperf += children_cpu_seconds()
            tunnel += sum(cpu_seconds(p) for p in pids)
        delivered, dropped = (sum(after[k] - before[k] for before, after in zip(udp_before, udp_after))
                              for k in (0, 1))
        return Run(mbits, tunnel, max(0.0, host - tunnel - iperf),
                   dropped / max(1, delivered + dropped))


def run_helper(name: str, mtu: int, daita: bool) -> None:
    """Helper mode: run a wgcore tunnel until stdin closes.

    Reads UAPI text up to a blank line, prints "ready" once the tunnel is up
    (and, with ``daita``, DAITA on for its peer with an idle machine).
    """
    import wgcore
    from daita import NO_OP_MACHINE

    lines = []
    while line := sys.stdin.readline().strip():
        lines.append(line + "\n")
    with wgcore.Tunnel.from_interface(name, "".join(lines), mtu=mtu) as tunnel:
        if daita:
            peer = next(line.split("=", 1)[1].strip() for line in lines if line.startswith("public_key="))
            tunnel.activate_daita(wgcore.PublicKey(bytes.fromhex(peer)), [NO_OP_MACHINE])
        print("ready", flush=True)
        sys.stdin.read()


def build_upstream(cache: Path) -> str:
    """Upstream wireguard-go latest (UPSTREAM_MODULE), built once into
    ``cache`` with ``go install``; the binary's path."""
    binary = cache / UPSTREAM_MODULE.rsplit("@", 1)[1] / "wireguard"
    if not binary.exists():
        env = {**os.environ, "GOBIN": str(binary.parent), "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"}
        done = subprocess.run(["go", "install", UPSTREAM_MODULE], env=env, capture_output=True, text=True,
                              timeout=600, cwd="/")
        if done.returncode != 0:
            raise RuntimeError(f"go install {UPSTREAM_MODULE}: {done.stderr.strip()}")
    return str(binary)


def median_mbits(results: dict[tuple[str, str], list[Run]], setup: str) -> float:
    """Median Mbit/s of ``setup`` over both directions."""
    return statistics.median(r.mbits for d in DIRECTIONS for r in results.get((setup, d), []))


def print_table(results: dict[tuple[str, str], list[Run]], seconds: float) -> None:
    """Medians per setup and direction (CPU in % of one CPU) and the ratios."""
    print(f"\n{'setup':<14}{'dir':<6}{'runs':>5}{'median Mbit/s':>15}{'min':>9}{'max':>9}"
          f"{'tunnel CPU %':>14}{'Mbit/CPU-s':>12}{'UDP drops %':>13}{'other load %':>14}")
    for (setup, direction), runs in results.items():
        mbits = [r.mbits for r in runs]
        cpu = statistics.median(r.tunnel_cpu for r in runs) / seconds * 100
        per_cpu = statistics.median(r.mbits * seconds / max(r.tunnel_cpu, 0.01) for r in runs)
        drops = statistics.median(r.udp_drop for r in runs) * 100
        other = statistics.median(r.other_cpu for r in runs) / seconds * 100
        print(f"{setup:<14}{direction:<6}{len(runs):>5}{statistics.median(mbits):>15.1f}"
              f"{min(mbits):>9.1f}{max(mbits):>9.1f}{cpu:>14.0f}{per_cpu:>12.0f}"
              f"{drops:>13.1f}{other:>14.0f}")
    setups = {setup for setup, _ in results}
    for num, den, target in (("libwg", "wireguard-go", 0.95), ("libwg", "upstream", 1.0),
                             ("libwg+daita", "libwg", 0.9)):
        if num in setups and den in setups:
            ratio = median_mbits(results, num) / median_mbits(results, den)
            verdict = "ok" if ratio >= target else "BELOW TARGET"
            print(f"ratio {num} / {den}: {ratio:.3f} (target >= {target}: {verdict})")


def plot(results: dict[tuple[str, str], list[Run]], path: Path, seconds: float) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 4))
    for x, runs in enumerate(results.values()):
        mbits = [r.mbits for r in runs]
        median = statistics.median(mbits)
        ax.bar(x, median, width=0.6, alpha=0.6)
        ax.plot([x] * len(mbits), mbits, "ko", markersize=4)
        ax.annotate(f"median {median:.0f}", (x, median), ha="center", va="bottom",
                    xytext=(0, 4), textcoords="offset points")
    ax.set_xticks(range(len(results)), [f"{s}\n{d}" for s, d in results], fontsize=8)
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
                        help="Debian's wireguard-go binary (default: on PATH)")
    parser.add_argument("--upstream", metavar="PATH", default=os.environ.get("WGCORE_UPSTREAM_WIREGUARD_GO"),
                        help=f"upstream wireguard-go latest (default: $WGCORE_UPSTREAM_WIREGUARD_GO, "
                             f"else built from {UPSTREAM_MODULE} into ~/.cache/wgcore-bench)")
    parser.add_argument("--setups", default=",".join(SETUPS), help="comma-separated subset of " + ",".join(SETUPS))
    parser.add_argument("--helper", metavar="IFNAME", help=argparse.SUPPRESS)
    parser.add_argument("--daita", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.helper:
        return run_helper(args.helper, args.mtu, args.daita)
    setups = [s for s in args.setups.split(",") if s]
    if unknown := set(setups) - set(SETUPS):
        parser.error(f"unknown setups {sorted(unknown)}; choose from {SETUPS}")
    if os.geteuid() != 0:
        sys.exit("needs root (network namespaces, TUN devices)")
    # Ctrl-C and SIGTERM unwind through the cleanup below.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    import wgcore

    if "libwg+daita" in setups and not wgcore.daita.COMPILED_IN:
        print("libwg+daita left out: this build has no DAITA", flush=True)
        setups.remove("libwg+daita")
    binaries = {"wireguard-go": args.wireguard_go}
    if "upstream" in setups:
        binaries["upstream"] = args.upstream or build_upstream(Path.home() / ".cache" / "wgcore-bench")
    results: dict[tuple[str, str], list[Run]] = {(s, d): [] for s in setups for d in DIRECTIONS}
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tun_iperf")))
        bench = Bench(stack, workdir, args.mtu, binaries)
        bench.create_namespaces()
        for rep in range(args.repeat):
            order = list(results) if rep % 2 == 0 else list(results)[::-1]
            for setup, direction in order:
                run = bench.measure(setup, direction, args.seconds)
                results[setup, direction].append(run)
                print(f"run {rep + 1}/{args.repeat} {setup:<13} {direction} {run.mbits:8.1f} Mbit/s  "
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
