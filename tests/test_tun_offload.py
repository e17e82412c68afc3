"""TCP through TUN tunnels on the offload path (IFF_VNET_HDR, UDP GSO/GRO)
and on each fallback, against wgcore, Debian's wireguard-go and upstream
wireguard-go latest (built by .ci/run; its path in WGCORE_UPSTREAM_WIREGUARD_GO)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import wgcore
from wgcore.daita import CONSTANT_RATE
from wgcore.traffic import Count
from wgcore.tun import open_tun

from .helpers import DIE_WITH_PARENT, device_uapi, missing, new_key_pair, peer_uapi
from .lab import netns

INNER = ("203.0.113.1", "203.0.113.2")
MiB = 1 << 20
# A wgcore tunnel in its own process (so WGCORE_REFUSE_OFFLOADS can be set
# before libwg loads): UAPI text on stdin up to a blank line, "ready" once
# up, closed when stdin closes; Go's log lines on stderr.
PEER_SCRIPT = """
import logging, sys, wgcore
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr)
lines = []
while line := sys.stdin.readline().strip():
    lines.append(line + "\\n")
with wgcore.Tunnel.from_interface(sys.argv[1], "".join(lines)):
    print("ready", flush=True)
    sys.stdin.read()
"""


def both_ways(a: str, b: str, size: int) -> None:
    """size random bytes each way at once between INNER[0] in namespace a
    and INNER[1] in b over one TCP connection; both sha256s must match."""
    server = netns.run_in(b, lambda: socket.create_server((INNER[1], 0)))
    port = server.getsockname()[1]
    server.settimeout(20)
    client = netns.run_in(a, lambda: socket.create_connection((INNER[1], port), timeout=20))
    peer, _ = server.accept()
    server.close()
    data = {"a": os.urandom(size), "b": os.urandom(size)}
    got: dict[str, str] = {}

    def send_all(sock: socket.socket, data: bytes) -> None:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)

    def pump(sock: socket.socket, send: bytes, name: str) -> None:
        sender = threading.Thread(target=send_all, args=(sock, send))
        sender.start()
        h = hashlib.sha256()
        while chunk := sock.recv(MiB):
            h.update(chunk)
        sender.join()
        got[name] = h.hexdigest()

    with client, peer:
        client.settimeout(60)
        peer.settimeout(60)
        threads = [threading.Thread(target=pump, args=(client, data["a"], "a")),
                   threading.Thread(target=pump, args=(peer, data["b"], "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
    assert got.get("a") == hashlib.sha256(data["b"]).hexdigest(), "b -> a arrived damaged or short"
    assert got.get("b") == hashlib.sha256(data["a"]).hexdigest(), "a -> b arrived damaged or short"


def address(ns: str, ifname: str, addr: str) -> None:
    netns.ip("-n", ns, "addr", "add", f"{addr}/24", "dev", ifname)
    netns.ip("-n", ns, "link", "set", ifname, "up")


@contextmanager
def daemon_peer(binary: str, b: str, priv_b: bytes, pub_a: bytes, tmp_path: Path) -> Iterator[str]:
    """A wireguard-go compatible daemon (`binary -f IFNAME`) in namespace b
    with peer a; yields its interface name."""
    name = f"wgo{os.getpid() % 10000}"
    proc = subprocess.Popen([*DIE_WITH_PARENT, "ip", "netns", "exec", b, binary, "-f", name],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "WG_PROCESS_FOREGROUND": "1"})
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(f"/var/run/wireguard/{name}.sock"):
            assert proc.poll() is None and time.monotonic() < deadline, f"{binary} did not start"
            time.sleep(0.05)
        key = tmp_path / "b.key"
        key.write_text(wgcore.PrivateKey(priv_b).to_base64())
        done = netns.run(b, "wg", "set", name, "private-key", str(key), "listen-port", "51820", "peer",
                         wgcore.PublicKey(pub_a).to_base64(), "endpoint", "198.18.0.1:51820",
                         "allowed-ips", f"{INNER[0]}/32")
        assert done.returncode == 0, done.stderr
        netns.ip("-n", b, "link", "set", name, "mtu", "1420")
        address(b, name, INNER[1])
        yield name
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def wgcore_peer(b: str, priv_b: bytes, pub_a: bytes, env: dict[str, str]) -> Iterator[list[str]]:
    """A wgcore tunnel "wgp0" in namespace b in a process of its own with
    env added; yields the list its log lines land in once it closed."""
    log: list[str] = []
    proc = subprocess.Popen([*DIE_WITH_PARENT, "ip", "netns", "exec", b, sys.executable, "-c", PEER_SCRIPT, "wgp0"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **env}, cwd="/")
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(device_uapi(priv_b, 51820) + peer_uapi(pub_a, "198.18.0.1:51820", f"{INNER[0]}/32") + "\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
        address(b, "wgp0", INNER[1])
        yield log
    finally:
        _, err = proc.communicate(timeout=20)
        log.extend(err.splitlines())


def local_tunnel(a: str, priv_a: bytes, pub_b: bytes, *, offloads: bool) -> wgcore.Tunnel:
    """A wgcore tunnel "wgl0" in namespace a, from_tun_fd on an fd opened
    with or without IFF_VNET_HDR."""
    config = device_uapi(priv_a, 51820) + peer_uapi(pub_b, "198.18.0.2:51820", f"{INNER[1]}/32")

    def make() -> wgcore.Tunnel:
        fd = open_tun("wgl0", offloads=offloads)
        try:
            return wgcore.Tunnel.from_tun_fd(fd, config)
        finally:
            os.close(fd)
    tunnel = netns.run_in(a, make)
    address(a, "wgl0", INNER[0])
    return tunnel


def upstream_wireguard_go() -> str:
    path = os.environ.get("WGCORE_UPSTREAM_WIREGUARD_GO", "")
    if not os.access(path, os.X_OK):
        missing("needs upstream wireguard-go latest: WGCORE_UPSTREAM_WIREGUARD_GO=<path of the binary .ci/run builds>")
    return path


@pytest.mark.tools("wg")
@pytest.mark.parametrize("peer", ["wireguard-go", "upstream"])
def test_100_mib_each_way_against_wireguard_go(peer: str, namespaces: tuple[str, str], tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    if peer == "wireguard-go":
        binary = shutil.which("wireguard-go") or missing("needs wireguard-go: tests/install-system-packages.sh")
    else:
        binary = upstream_wireguard_go()
    a, b = namespaces
    (priv_a, pub_a), (priv_b, pub_b) = new_key_pair(), new_key_pair()
    caplog.set_level(logging.DEBUG, logger="wgcore.go")
    with daemon_peer(binary, b, priv_b, pub_a, tmp_path), local_tunnel(a, priv_a, pub_b, offloads=True):
        both_ways(a, b, 100 * MiB)
    assert "TUN path: vnet-hdr, csum+tso4+tso6" in caplog.text


def test_wgcore_to_wgcore_on_offloads(namespaces: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    a, b = namespaces
    (priv_a, pub_a), (priv_b, pub_b) = new_key_pair(), new_key_pair()
    caplog.set_level(logging.DEBUG, logger="wgcore.go")
    with wgcore_peer(b, priv_b, pub_a, {}) as log, local_tunnel(a, priv_a, pub_b, offloads=True):
        both_ways(a, b, 32 * MiB)
    assert "TUN path: vnet-hdr, csum+tso4+tso6" in caplog.text
    assert any("TUN path: vnet-hdr, csum+tso4+tso6" in line for line in log), log


def test_fallbacks_carry_a_transfer(namespaces: tuple[str, str], caplog: pytest.LogCaptureFixture) -> None:
    """Here an fd without IFF_VNET_HDR; there offloads refused, UDP and TUN."""
    a, b = namespaces
    (priv_a, pub_a), (priv_b, pub_b) = new_key_pair(), new_key_pair()
    caplog.set_level(logging.DEBUG, logger="wgcore.go")
    refused = {"WGCORE_REFUSE_OFFLOADS": "1"}
    with wgcore_peer(b, priv_b, pub_a, refused) as log, local_tunnel(a, priv_a, pub_b, offloads=False):
        both_ways(a, b, 16 * MiB)
    assert "TUN path: plain" in caplog.text
    assert any("TUN path: vnet-hdr, no offload" in line for line in log), log
    version = subprocess.run([sys.executable, "-m", "wgcore", "--version"], capture_output=True, text=True,
                             env={**os.environ, **refused}, cwd="/", timeout=60)
    assert "offloads: refused" in version.stdout, version.stdout + version.stderr


@pytest.mark.daita
def test_daita_and_constant_size_on_the_offload_path(namespaces: tuple[str, str]) -> None:
    """Every data datagram a sends (padding too) is MTU+32 bytes as b's
    socket received it, split from GRO runs, and the counters agree."""
    if not wgcore.version()["wireguard_go"].startswith("github.com/mullvad/wireguard-go@"):
        pytest.skip("constant_packet_size is a key of Mullvad's fork; this build links upstream")
    a, b = namespaces
    (priv_a, pub_a), (priv_b, pub_b) = new_key_pair(), new_key_pair()
    tb = netns.run_in(b, lambda: wgcore.Tunnel.from_interface(
        "wgl0", device_uapi(priv_b, 51820) + peer_uapi(pub_a, "198.18.0.1:51820", f"{INNER[0]}/32")))
    with tb, local_tunnel(a, priv_a, pub_b, offloads=True) as ta:
        address(b, "wgl0", INNER[1])
        ta.set_config(f"public_key={pub_b.hex()}\nupdate_only=true\nconstant_packet_size=true\n")
        ta.activate_daita(wgcore.PublicKey(pub_b), [CONSTANT_RATE])
        both_ways(a, b, 4 * MiB)
        time.sleep(0.3)  # let the padding of the last moments land
        ta.set_config(f"public_key={pub_b.hex()}\nupdate_only=true\nremove=true\n")
        time.sleep(0.2)
        sent, received = ta.traffic().sent.data, tb.traffic().received.data
    size = 1420 + 32
    assert sent.packets > 2000, "4 MiB and the padding went as data datagrams"
    assert sent == received == Count(sent.packets, sent.packets * size)
