"""Each errno a UAPI server answers raises its own UapiError subclass: from
Debian's wireguard-go, from wgcore's own server, and from a scripted one."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wgcore
from wgcore import Interface, PrivateKey, errors
from wgcore.uapi import SOCKET_DIR, uapi_get, uapi_set

from .helpers import DIE_WITH_PARENT, TEST_PREFIX
from .lab import netns


def scripted_server(path: str, reply: bytes) -> threading.Thread:
    """A UAPI socket that answers one request with ``reply``."""
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(1)
    listener.settimeout(10)

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                conn.recv(4096)
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


@pytest.mark.parametrize(
    ("err", "cls"),
    [(errno.EINVAL, errors.UapiInvalidArgumentError), (errno.EPROTO, errors.UapiProtocolError),
     (errno.EIO, errors.UapiIOError), (errno.EADDRINUSE, errors.UapiAddressInUseError),
     (errno.ENOENT, errors.UapiUnknownPeerError), (errno.EAGAIN, errors.UapiTransientError),
     (errno.EMSGSIZE, errors.UapiTooLargeError), (55, errors.UapiError)],
)
def test_each_errno_has_its_class(tmp_path: Path, err: int, cls: type[errors.UapiError]) -> None:
    path = str(tmp_path / "scripted.sock")
    server = scripted_server(path, f"errno=-{err}\n\n".encode())
    with pytest.raises(errors.UapiError) as info:
        uapi_get(path)
    server.join(10)
    assert type(info.value) is cls and info.value.errno == err
    assert os.strerror(err) in str(info.value)


def test_uapi_errors_are_also_the_matching_wgcore_errors() -> None:
    assert isinstance(errors.uapi_error(errno.EINVAL, "x"), wgcore.errors.InvalidArgumentError)
    assert isinstance(errors.uapi_error(errno.ENOENT, "x"), wgcore.errors.UnknownPeerError)
    assert isinstance(errors.uapi_error(errno.EAGAIN, "x"), wgcore.errors.TransientError)
    assert all(isinstance(errors.uapi_error(e, "x"), OSError) for e in (errno.EIO, 55))


def test_a_malformed_reply_is_a_protocol_error(tmp_path: Path) -> None:
    path = str(tmp_path / "garbage.sock")
    server = scripted_server(path, b"HTTP/1.1 400 Bad Request\r\n\r\n")
    with pytest.raises(errors.UapiProtocolError, match="malformed reply"):
        uapi_get(path)
    server.join(10)


def test_wgcore_server_refusals(tmp_path: Path) -> None:
    with wgcore.Tunnel.in_memory(Interface(private_key=PrivateKey.generate()), transport="host") as t:
        server = t.serve_uapi(tmp_path / "t.sock")
        with pytest.raises(errors.UapiInvalidArgumentError, match="refused a key or value"):
            uapi_set(server.path, "fwmark=banana\n")
        with pytest.raises(errors.UapiTooLargeError):
            uapi_set(server.path, "listen_port=1\n" * (wgcore.uapi.MAX_REQUEST // 14 + 1))


@pytest.fixture
def wireguard_go(ns: str) -> Iterator[str]:
    """Debian's wireguard-go serving a TUN in ``ns``; its UAPI socket's path."""
    name = f"{TEST_PREFIX}e{os.getpid() % 100000}"
    path = os.path.join(SOCKET_DIR, f"{name}.sock")
    with subprocess.Popen([*DIE_WITH_PARENT, "ip", "netns", "exec", ns, "wireguard-go", "-f", name],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as proc:
        try:
            deadline = time.monotonic() + 20
            while not os.path.exists(path):
                assert proc.poll() is None, f"wireguard-go exited: {proc.communicate()[1]}"
                assert time.monotonic() < deadline, "wireguard-go did not create its socket"
                time.sleep(0.05)
            yield path
        finally:
            proc.terminate()
            proc.communicate(timeout=10)


@pytest.mark.tools("wireguard-go")
def test_wireguard_go_refusals(wireguard_go: str, ns: str) -> None:
    with pytest.raises(errors.UapiInvalidArgumentError):
        uapi_set(wireguard_go, "listen_port=banana\n")
    with pytest.raises(errors.UapiProtocolError):
        uapi_set(wireguard_go, "no equals sign\n")
    taken = netns.run_in(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    with taken:
        taken.bind(("0.0.0.0", 0))
        with pytest.raises(errors.UapiAddressInUseError):
            uapi_set(wireguard_go, f"listen_port={taken.getsockname()[1]}\n")
    uapi_set(wireguard_go, f"private_key={bytes(PrivateKey.generate()).hex()}\n")  # still serving
    assert uapi_get(wireguard_go).startswith("private_key=")
