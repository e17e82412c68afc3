"""Tunnels over real TUN devices in network namespaces the tests create."""

from __future__ import annotations

import re
import threading

import pytest

import wgcore

from .helpers import device_uapi, new_key_pair, peer_uapi, start
from .lab import netns


@pytest.mark.tools("ping")
def test_ping_crosses_both_directions(namespaces: tuple[str, str]) -> None:
    a, b = namespaces
    (priv_a, pub_a), (priv_b, pub_b) = new_key_pair(), new_key_pair()
    ta = start(a, "wg0", device_uapi(priv_a, 51820) + peer_uapi(pub_b, "198.18.0.2:51820", "203.0.113.2/32"))
    tb = start(b, "wg0", device_uapi(priv_b, 51820) + peer_uapi(pub_a, "198.18.0.1:51820", "203.0.113.1/32"))
    try:
        for ns, addr in ((a, "203.0.113.1/24"), (b, "203.0.113.2/24")):
            netns.ip("-n", ns, "addr", "add", addr, "dev", "wg0")
            netns.ip("-n", ns, "link", "set", "wg0", "up")
        for ns, target in ((a, "203.0.113.2"), (b, "203.0.113.1")):
            done = netns.run(ns, "ping", "-c", "3", "-i", "0.2", "-W", "3", target)
            assert done.returncode == 0, done.stdout + done.stderr
            assert " 0% packet loss" in done.stdout
        config = ta.get_config()
        handshake = int(re.search(r"^last_handshake_time_sec=(\d+)$", config, re.M).group(1))
        assert handshake > 0
        assert int(re.search(r"^rx_bytes=(\d+)$", config, re.M).group(1)) > 0
        assert "wg0" in netns.ip("-n", a, "link", "show")
    finally:
        ta.close()
        tb.close()
    assert "wg0" not in netns.ip("-n", a, "link", "show"), "closing must remove the interface"


def test_uapi_set_get_round_trip(ns: str) -> None:
    priv, _ = new_key_pair()
    _, peer = new_key_pair()
    psk = bytes(range(32))
    with start(ns, "wg1", device_uapi(priv, 0)) as tunnel:
        tunnel.set_config(
            f"listen_port=40123\npublic_key={peer.hex()}\npreshared_key={psk.hex()}\n"
            "endpoint=[fd00:1::2]:51820\npersistent_keepalive_interval=25\n"
            "allowed_ip=203.0.113.0/24\nallowed_ip=fd42::/64\n"
        )
        got = tunnel.get_config()
        for line in (
            f"private_key={priv.hex()}",
            "listen_port=40123",
            f"public_key={peer.hex()}",
            f"preshared_key={psk.hex()}",
            "endpoint=[fd00:1::2]:51820",
            "persistent_keepalive_interval=25",
            "allowed_ip=203.0.113.0/24",
            "allowed_ip=fd42::/64",
        ):
            assert line in got.splitlines(), line
        tunnel.set_config(f"public_key={peer.hex()}\nremove=true\n")
        assert peer.hex() not in tunnel.get_config()


def test_socket_fds_are_the_tunnels_udp_sockets(ns: str) -> None:
    import socket

    priv, _ = new_key_pair()
    with start(ns, "wg2", device_uapi(priv, 40555)) as tunnel:
        v4, v6 = tunnel.socket_fds
        assert v4 is not None and v6 is not None
        for fd, family in ((v4, socket.AF_INET), (v6, socket.AF_INET6)):
            sock = socket.socket(fileno=fd)
            try:
                assert sock.family == family and sock.type == socket.SOCK_DGRAM
                assert sock.getsockname()[1] == 40555
            finally:
                sock.detach()  # the fd stays the tunnel's


def test_sixteen_threads_turn_tunnels_on_and_off(ns: str) -> None:
    priv, _ = new_key_pair()
    before = wgcore.tunnel.tunnel_count()
    failures: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            netns.enter(ns)
            for _ in range(10):
                with wgcore.Tunnel.from_interface(f"wgt{i}", device_uapi(priv, 0)) as t:
                    assert t.get_config().startswith("private_key=")
        except BaseException as e:
            failures.append(e)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    assert not failures, failures
    assert wgcore.tunnel.tunnel_count() == before, "leaked tunnel handles"
    assert "wgt" not in netns.ip("-n", ns, "link", "show")
