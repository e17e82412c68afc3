"""Every failure reaches Python as a specific exception, never a crash."""

from __future__ import annotations

import logging
import os
import socket
import sys
import textwrap

import pytest

import wgcore

from .helpers import device_uapi, new_key_pair, start
from .lab import netns


@pytest.fixture
def tunnel(ns: str):
    priv, _ = new_key_pair()
    with start(ns, "wge0", device_uapi(priv, 0)) as t:
        yield t


def test_non_tun_fd_is_rejected() -> None:
    r, w = os.pipe()
    try:
        with pytest.raises(wgcore.errors.InvalidArgumentError, match="not an attached TUN"):
            wgcore.Tunnel.from_tun_fd(r, "")
    finally:
        os.close(r)
        os.close(w)


def test_tun_with_packet_info_header_is_rejected(ns: str) -> None:
    # sysfs must describe the namespace, so this runs under `ip netns exec`.
    script = textwrap.dedent(
        """
        import fcntl, os, struct, wgcore
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, 0x400454CA, struct.pack("16sH22x", b"wgpi0", 0x0001))
        try:
            wgcore.Tunnel.from_tun_fd(fd, "")
        except wgcore.errors.InvalidArgumentError as e:
            print(e)
        """
    )
    done = netns.run(ns, sys.executable, "-c", script)
    assert done.returncode == 0, done.stderr
    assert "without IFF_NO_PI" in done.stdout


def test_bad_arguments_raise_specific_errors(ns: str) -> None:
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="mtu"):
        netns.run_in(ns, lambda: wgcore.Tunnel.from_interface("wge1", "", mtu=100))
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="interface name"):
        wgcore.Tunnel.from_interface("x" * 16, "")
    with pytest.raises(TypeError, match="config must be"):
        wgcore.Tunnel.from_interface("wge1", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        wgcore.Tunnel()
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="private key must be 32 bytes"):
        wgcore._native.derive_public_key(b"short")


def test_malformed_config_leaves_tunnel_running(tunnel: wgcore.Tunnel) -> None:
    before = tunnel.get_config()
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="applying the config"):
        tunnel.set_config("private_key=zz\n")
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="NUL"):
        tunnel.set_config("listen_port=1\0")
    assert tunnel.get_config() == before


def test_port_in_use_is_transient(tunnel: wgcore.Tunnel, ns: str) -> None:
    holder = netns.run_in(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    try:
        holder.bind(("0.0.0.0", 0))
        port = holder.getsockname()[1]
        with pytest.raises(wgcore.errors.TransientError, match="listen_port"):
            netns.run_in(ns, lambda: tunnel.set_config(f"listen_port={port}\n"))
    finally:
        holder.close()


def test_daita_unknown_peer_and_not_compiled(tunnel: wgcore.Tunnel) -> None:
    _, peer = new_key_pair()
    with pytest.raises(wgcore.errors.UnknownPeerError, match="no peer") as info:
        tunnel.activate_daita(peer, "02abc")
    assert peer.hex() not in str(info.value)  # key-shaped text from Go is redacted, public or not
    tunnel.set_config(f"public_key={peer.hex()}\nallowed_ip=203.0.113.9/32\n")
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="max_padding_frac"):
        tunnel.activate_daita(peer, "02abc", max_padding_frac=1.5)
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="at least one"):
        tunnel.activate_daita(peer, [])
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="32 bytes"):
        tunnel.activate_daita(peer[:31], "02abc")
    if wgcore.daita.COMPILED_IN:
        with pytest.raises(wgcore.errors.DaitaError) as refused:
            tunnel.activate_daita(peer, "02abc")
        assert not isinstance(refused.value, wgcore.errors.DaitaNotCompiledError)
    else:
        with pytest.raises(wgcore.errors.DaitaNotCompiledError, match="not compiled.*-Ddaita=enabled"):
            tunnel.activate_daita(peer, "02abc")


def test_closed_tunnel_raises(tunnel: wgcore.Tunnel) -> None:
    tunnel.close()
    tunnel.close()  # twice is fine
    assert tunnel.closed and tunnel.handle == -1
    for call in (
        tunnel.get_config,
        lambda: tunnel.set_config(""),
        lambda: tunnel.socket_fds,
        lambda: tunnel.activate_daita(bytes(32), "x"),
        tunnel.__enter__,
    ):
        with pytest.raises(wgcore.TunnelClosedError):
            call()
    assert "closed" in repr(tunnel)


def test_forked_child_gets_a_clear_error(tunnel: wgcore.Tunnel) -> None:
    pid = os.fork()
    if pid == 0:  # child: never call into Go, never return into pytest
        code = 1
        try:
            tunnel.get_config()
        except wgcore.errors.ForkedProcessError:
            try:
                wgcore.Tunnel.from_interface("wgf0", "")
            except wgcore.errors.ForkedProcessError:
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert tunnel.get_config()  # the parent is unaffected


def test_go_log_lines_reach_logging(ns: str, caplog: pytest.LogCaptureFixture) -> None:
    priv, _ = new_key_pair()
    caplog.set_level(logging.DEBUG, logger="wgcore.go")
    t = start(ns, "wge2", device_uapi(priv, 0))
    t.close()
    verbose = [r for r in caplog.records if r.name == "wgcore.go" and r.levelno == logging.DEBUG]
    assert any(f"tunnel {t.log_id}:" in r.getMessage() for r in verbose), caplog.text
    r, w = os.pipe()
    os.close(w)
    with pytest.raises(wgcore.errors.InvalidArgumentError):
        wgcore.Tunnel.from_tun_fd(r, "")
    os.close(r)
    # The exception says it: Go's line comes at DEBUG, not again at ERROR.
    errors = [r for r in caplog.records if r.name == "wgcore.go" and r.levelno == logging.ERROR]
    assert not any("not an attached TUN" in r.getMessage() for r in errors), caplog.text
    debug = [r for r in caplog.records if r.name == "wgcore.go" and r.levelno == logging.DEBUG]
    assert any("not an attached TUN" in r.getMessage() for r in debug), caplog.text
    assert priv.hex() not in caplog.text


def test_repr_never_shows_the_private_key(tunnel: wgcore.Tunnel) -> None:
    priv = bytes.fromhex(tunnel.get_config().splitlines()[0].split("=", 1)[1])
    import base64

    for text in (repr(tunnel), str(tunnel)):
        assert priv.hex() not in text and base64.b64encode(priv).decode() not in text
