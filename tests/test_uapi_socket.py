"""The UAPI unix socket, driven by Debian's stock wg(8) from inside a namespace."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wgcore
from wgcore import Endpoint, Interface, Peer, PresharedKey, PrivateKey
from wgcore.uapi import MAX_REQUEST, default_socket_path, list_interfaces, uapi_get, uapi_set
from wgcore.values import parse_network

from .lab import netns

NAME = f"wgcu{os.getpid() % 100000}"


@pytest.fixture
def tunnel(ns: str) -> Iterator[wgcore.Tunnel]:
    config = Interface(private_key=PrivateKey.generate(), listen_port=51820)
    with netns.run_in(ns, lambda: wgcore.Tunnel.from_interface(NAME, config)) as t:
        yield t


def wg(ns: str, *args: str, stdin: str | None = None) -> str:
    """Run wg(8) inside the namespace; its output, or fail the test."""
    done = subprocess.run(["ip", "netns", "exec", ns, "wg", *args], input=stdin, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, f"wg {' '.join(args)}: {done.stderr}"
    return done.stdout


def raw_request(path: str, data: bytes) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(10)
        sock.connect(path)
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.tools("wg")
def test_wg_show_and_wg_set_drive_a_wgcore_tunnel(tunnel: wgcore.Tunnel, ns: str) -> None:
    peer = Peer(PrivateKey.generate().public_key, [parse_network("203.0.113.2/32")],
                Endpoint("198.18.0.2", 51820), 25, PresharedKey.generate())
    tunnel.add_peer(peer)
    with tunnel.serve_uapi() as server:
        assert server.path == f"/var/run/wireguard/{NAME}.sock"
        shown = wg(ns, "show", NAME)
        assert f"interface: {NAME}" in shown
        assert f"public key: {tunnel.config().public_key}" in shown
        assert "listening port: 51820" in shown
        assert f"peer: {peer.public_key}" in shown
        assert "endpoint: 198.18.0.2:51820" in shown
        assert "allowed ips: 203.0.113.2/32" in shown
        assert "persistent keepalive: every 25 seconds" in shown
        assert NAME in wg(ns, "show", "interfaces").split()

        other = PrivateKey.generate().public_key
        wg(ns, "set", NAME, "peer", str(peer.public_key), "allowed-ips", "203.0.113.0/25,fd42::2/128")
        wg(ns, "set", NAME, "listen-port", "51999", "peer", str(other), "endpoint", "[fd00::9]:7",
           "allowed-ips", "198.51.100.0/24")
        config = tunnel.config()
        assert config.listen_port == 51999
        assert set(map(str, config.peer(peer.public_key).allowed_ips)) == {"203.0.113.0/25", "fd42::2/128"}
        assert config.peer(other).endpoint == Endpoint("fd00::9", 7)

        wg(ns, "set", NAME, "peer", str(other), "remove")
        assert [p.public_key for p in tunnel.config().peers] == [peer.public_key]
        key, *ips = wg(ns, "show", NAME, "allowed-ips").split()
        assert key == str(peer.public_key) and set(ips) == {"203.0.113.0/25", "fd42::2/128"}


@pytest.mark.tools("wg", "wg-quick")
def test_wg_showconf_is_read_and_wg_setconf_takes_our_files(tunnel: wgcore.Tunnel, ns: str, tmp_path: Path) -> None:
    tunnel.serve_uapi()
    wanted = Interface(
        private_key=PrivateKey.generate(), listen_port=40404, fwmark=0x42,
        peers=[
            Peer(PrivateKey.generate().public_key, [parse_network("203.0.113.0/24"), parse_network("fd42::/64")],
                 Endpoint("fd00::1", 51820), 15, PresharedKey.generate()),
            Peer(PrivateKey.generate().public_key, [parse_network("198.51.100.7/32")], Endpoint("198.18.0.2", 1)),
        ],
        addresses=[ipaddress.ip_interface("203.0.113.1/24")], mtu=1380, post_up=["true"],
    )
    conf = tmp_path / f"{NAME}.conf"
    conf.write_text(wanted.to_conf(wg_quick=False))
    wg(ns, "setconf", NAME, str(conf))
    device_view = Interface.from_conf(wg(ns, "showconf", NAME))
    assert device_view == tunnel.config()
    assert device_view.private_key == wanted.private_key
    assert device_view == Interface.from_conf(wanted.to_conf(wg_quick=False))

    conf.write_text(wanted.to_conf())  # with wg-quick's fields: wg refuses, wg-quick strip fixes
    assert netns.run(ns, "wg", "setconf", NAME, str(conf)).returncode != 0
    conf.chmod(0o600)
    stripped = netns.run(ns, "wg-quick", "strip", str(conf))
    assert stripped.returncode == 0, stripped.stderr
    tunnel.set_config(Interface())  # replace_peers: empty
    assert tunnel.config().peers == []
    wg(ns, "syncconf", NAME, "/dev/stdin", stdin=stripped.stdout)
    assert tunnel.config() == Interface.from_conf(stripped.stdout)


def test_raw_protocol_replies_and_errors(tunnel: wgcore.Tunnel, tmp_path: Path) -> None:
    server = tunnel.serve_uapi(tmp_path / "t.sock")
    reply = raw_request(server.path, b"get=1\n\n")
    assert reply.endswith(b"errno=0\n\n")
    assert reply.decode().removesuffix("errno=0\n\n") == tunnel.get_config()

    before = tunnel.get_config()
    assert raw_request(server.path, b"set=1\nnot_a_key=1\n\n") == b"errno=-22\n\n"
    assert raw_request(server.path, b"set=1\nlisten_port=40000\n\n") == b"errno=0\n\n"
    assert tunnel.config().listen_port == 40000
    # Two requests on one connection, then a bogus operation: the server hangs up.
    reply = raw_request(server.path, b"get=1\n\nset=1\nlisten_port=40001\n\nhello=1\n\n")
    assert reply.count(b"errno=0\n\n") == 2
    assert tunnel.config().listen_port == 40001
    assert before != tunnel.get_config()

    uapi_set(server.path, "listen_port=40002\n")
    assert "listen_port=40002" in uapi_get(server.path)
    with pytest.raises(OSError) as info:
        uapi_set(server.path, "fwmark=banana\n")
    assert info.value.errno == 22


def test_socket_file_lifecycle(tunnel: wgcore.Tunnel, tmp_path: Path) -> None:
    path = default_socket_path(NAME)
    server = tunnel.serve_uapi()
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
    assert NAME in list_interfaces()
    with pytest.raises(OSError, match="another process"):
        tunnel.serve_uapi()  # a live socket is never stolen
    server.close()
    server.close()
    assert not os.path.exists(path)
    assert NAME not in list_interfaces()

    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # a dead socket file, as a killed process leaves it
    tunnel.serve_uapi()
    assert uapi_get(path).startswith("private_key=")

    custom = tunnel.serve_uapi(tmp_path / "custom.sock")
    assert "listen_port=51820" in uapi_get(custom.path)
    tunnel.close()
    assert not os.path.exists(path) and not os.path.exists(custom.path)


def test_concurrent_clients(tunnel: wgcore.Tunnel, tmp_path: Path) -> None:
    server = tunnel.serve_uapi(tmp_path / "t.sock")
    failures: list[BaseException] = []

    def client(i: int) -> None:
        try:
            for j in range(20):
                uapi_set(server.path, f"public_key={bytes([i + 1] * 32).hex()}\nallowed_ip=10.{i}.{j}.0/24\n")
                assert "errno" not in uapi_get(server.path)
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, failures
    stats = tunnel.stats()
    assert len(stats) == 8 and all(len(s.allowed_ips) == 20 for s in stats.values())


def test_a_tunnel_without_a_name_needs_a_path(tmp_path: Path) -> None:
    with wgcore.Tunnel.in_memory(Interface(private_key=PrivateKey.generate())) as t:
        assert isinstance(t, wgcore.Tunnel) and t.name is None
        with pytest.raises(wgcore.errors.InvalidArgumentError, match="give a socket path"):
            t.serve_uapi()
        with t.serve_uapi(tmp_path / "anon.sock") as server:
            assert uapi_get(server.path).startswith("private_key=")
    with pytest.raises(wgcore.errors.InvalidArgumentError):
        default_socket_path("../etc")


# -- a busy, idle or hostile client ---------------------------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[wgcore.Tunnel, str]]:
    """An in-memory tunnel serving its UAPI socket at a temporary path."""
    with wgcore.Tunnel.in_memory(Interface(private_key=PrivateKey.generate()), transport="host") as t:
        yield t, t.serve_uapi(tmp_path / "t.sock").path


def idle_and_slow_clients(path: str, stop: threading.Event) -> list[socket.socket]:
    """One client that connects and never sends, one that sends a byte every 0.5 s."""
    idle, slow = socket.socket(socket.AF_UNIX), socket.socket(socket.AF_UNIX)
    idle.connect(path)
    slow.connect(path)

    def drip() -> None:
        for byte in b"get=1\n" * 10:
            if stop.wait(0.5):
                return
            try:
                slow.send(bytes([byte]))
            except OSError:
                return

    threading.Thread(target=drip, daemon=True).start()
    return [idle, slow]


def test_idle_and_slow_clients_delay_neither_requests_nor_close(served: tuple[wgcore.Tunnel, str]) -> None:
    tunnel, path = served
    stop = threading.Event()
    clients = idle_and_slow_clients(path, stop)
    try:
        time.sleep(0.2)
        start = time.monotonic()
        assert uapi_get(path).startswith("private_key=")
        get_seconds = time.monotonic() - start
        start = time.monotonic()
        tunnel.close()
        close_seconds = time.monotonic() - start
    finally:
        stop.set()
        for c in clients:
            c.close()
    print(f"with an idle and a slow client: get {get_seconds * 1000:.1f} ms, close {close_seconds * 1000:.1f} ms")
    assert get_seconds < 1 and close_seconds < 1
    assert not os.path.exists(path)


@pytest.mark.tools("wg")
def test_an_idle_client_does_not_delay_wg_show(tunnel: wgcore.Tunnel, ns: str) -> None:
    server = tunnel.serve_uapi()
    with socket.socket(socket.AF_UNIX) as idle:
        idle.connect(server.path)
        start = time.monotonic()
        shown = wg(ns, "show", NAME)
        seconds = time.monotonic() - start
    assert f"interface: {NAME}" in shown and seconds < 2, seconds


def test_two_hundred_concurrent_callers_all_succeed(served: tuple[wgcore.Tunnel, str]) -> None:
    _, path = served
    barrier = threading.Barrier(200)
    failures: list[BaseException] = []

    def caller() -> None:
        try:
            barrier.wait(30)
            assert uapi_get(path).startswith("private_key=")
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=caller) for _ in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures, f"{len(failures)} of 200 failed, e.g. {failures[0]!r}"


def test_a_client_waits_while_the_backlog_is_full(tmp_path: Path) -> None:
    """A server slow to accept: callers wait for it instead of failing with EAGAIN."""
    path = str(tmp_path / "slow.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)
    listener.settimeout(10)  # a caller that gave up never connects
    results: list[object] = []

    def caller() -> None:
        try:
            results.append(uapi_get(path))
        except BaseException as e:
            results.append(e)

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)  # the backlog (1) is full, the other callers wait in connect()
    for _ in threads:
        conn, _ = listener.accept()
        with conn:
            conn.recv(100)
            conn.sendall(b"listen_port=1\nerrno=0\n\n")
    for t in threads:
        t.join(10)
    listener.close()
    assert results == ["listen_port=1\n"] * 4, results


def rss_bytes(field: str = "VmRSS") -> int:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) * 1024


def test_an_oversized_request_is_refused_and_memory_stays_bounded(served: tuple[wgcore.Tunnel, str]) -> None:
    _, path = served
    chunk = b"a" * (1 << 20)
    sent = 8 * MAX_REQUEST  # an unterminated set=1 line
    before = rss_bytes()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to now
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(30)
        sock.connect(path)
        sock.sendall(b"set=1\nlisten_port=")
        for _ in range(sent // len(chunk)):
            sock.sendall(chunk)
        sock.shutdown(socket.SHUT_WR)
        reply = sock.recv(100)
    growth = rss_bytes("VmHWM") - before
    print(f"sent {sent >> 20} MiB unterminated: reply {reply!r}, peak RSS growth {growth / 2**20:.1f} MiB")
    assert reply == f"errno={-errno.EMSGSIZE}\n\n".encode()
    assert growth < MAX_REQUEST + (16 << 20), f"RSS grew {growth >> 20} MiB"
    assert uapi_get(path).startswith("private_key=")  # still serving
    with pytest.raises(OSError) as info:  # terminated, but too large all the same
        uapi_set(path, "not_a_key=1\n" * (MAX_REQUEST // 12 + 1))
    assert info.value.errno == errno.EMSGSIZE


def test_serving_a_closed_tunnel_raises_and_creates_no_socket(tmp_path: Path) -> None:
    t = wgcore.Tunnel.in_memory("", transport="host")
    t.close()
    with pytest.raises(wgcore.TunnelClosedError):
        t.serve_uapi(tmp_path / "closed.sock")
    assert not (tmp_path / "closed.sock").exists()


def test_interpreter_exits_at_once_with_a_served_socket_and_an_idle_client(tmp_path: Path) -> None:
    path = tmp_path / "exit.sock"
    script = textwrap.dedent(f"""
        import socket, wgcore
        t = wgcore.Tunnel.in_memory("", transport="host")
        t.serve_uapi({str(path)!r})
        idle = socket.socket(socket.AF_UNIX)
        idle.connect({str(path)!r})
        print("ready", flush=True)
    """)
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd="/") as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
            start = time.monotonic()
            status = proc.wait(timeout=30)
            seconds = time.monotonic() - start
        finally:
            proc.kill()
    print(f"exit with a served socket and an idle client: {seconds:.2f} s")
    assert status == 0 and seconds < 2, (status, seconds)
    assert not path.exists()
