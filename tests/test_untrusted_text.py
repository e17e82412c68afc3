"""Every parser answers any text with a result or its documented error:
ConfigError (line and field) for whole texts, InvalidArgumentError for one
value; never ValueError, OverflowError, UnicodeError or a traceback."""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import wgcore
from wgcore import Endpoint, Interface, PresharedKey, PrivateKey, PublicKey
from wgcore.errors import ConfigError
from wgcore.cli import main
from wgcore.uapi import parse_get
from wgcore.uapi import default_socket_path
from wgcore.values import parse_network

PEER = PrivateKey.generate().public_key

# Any text at all: every code point, surrogates (which UTF-8 cannot encode) included.
any_text = st.text(st.characters(exclude_categories=()), max_size=40)
# Values the probe found, and their kin.
NASTY = [
    "", " ", "\0", "10.0.0.0/8\0", "²", "٣", "1²", "198.18.0.1:²", "[::1]:²", "10.0.0.0/²", "-1", "+1", "1_0",
    " 1", "0x", "0x" + "f" * 3600, "9" * 3600, "9" * 5000, str(10**20), str(2**64), "1e3", "nan",
    "\ud800", "198.18.0.1:\ud800", "\ud800/8", "[\ud800]:5", "0.0.0.0:0", "[::]:0", "198.18.0.1:0",
    "198.18.0.1:65536", "[fd00::1%eth0]:5", "[fd00::1%\0]:5", "::/" + "9" * 5000, "a" * 300 + ":5",
    "1.2.3.4:" + "9" * 5000, PEER.hex(), PEER.to_base64(), "0" * 64, "true", "off", "0x1f",
]
values = st.one_of(st.sampled_from(NASTY), any_text, st.integers(-(2**70), 2**70).map(str))


def lines_of(keys: list[str], separators: list[str]) -> st.SearchStrategy[str]:
    """Texts of up to 12 lines: mostly key/value lines over ``keys``, some
    arbitrary ones."""
    line = st.one_of(
        st.builds(lambda k, sep, v: f"{k}{sep}{v}", st.sampled_from(keys), st.sampled_from(separators), values),
        any_text,
    )
    return st.lists(line, max_size=12).map("\n".join)


CONF_KEYS = [
    "[Interface]", "[Peer]", "[interface]", "PrivateKey", "ListenPort", "FwMark", "Address", "DNS", "MTU",
    "Table", "PreUp", "PostDown", "SaveConfig", "PublicKey", "presharedkey", "AllowedIPs", "Endpoint",
    "PersistentKeepalive",
]
conf_texts = lines_of(CONF_KEYS, [" = ", "=", "", " "])
UAPI_KEYS = [
    "private_key", "listen_port", "fwmark", "replace_peers", "public_key", "preshared_key", "endpoint",
    "allowed_ip", "persistent_keepalive_interval", "protocol_version", "last_handshake_time_sec",
    "last_handshake_time_nsec", "rx_bytes", "tx_bytes", "errno", "update_only", "remove", "replace_allowed_ips",
]
uapi_texts = lines_of(UAPI_KEYS, ["="]).map(lambda text: f"public_key={PEER.hex()}\n{text}")


def answers_or_config_error(parse: Callable[[str], object], text: str) -> None:
    try:
        parse(text)
    except ConfigError as e:
        assert e.line is not None, f"{e} names no line"
        assert str(e).startswith(f"line {e.line}: ")


@settings(max_examples=400)
@given(st.one_of(conf_texts, any_text))
@example("[Peer]\nAllowedIPs = 10.0.0.0/8\0\n")
@example(f"[Peer]\nPublicKey = {PEER}\nEndpoint = 198.18.0.1:²\n")
@example("[Interface]\nFwMark = 0x" + "f" * 3600 + "\n")
@example("[Interface]\nMTU = 5\n")
def test_conf_parser(text: str) -> None:
    answers_or_config_error(Interface.from_conf, text)


@settings(max_examples=400)
@given(st.one_of(uapi_texts, any_text))
@example(f"public_key={PEER.hex()}\nlast_handshake_time_sec={10**20}\n")
@example(f"public_key={PEER.hex()}\nendpoint=0.0.0.0:0\n")
@example(f"public_key={PEER.hex()}\nrx_bytes=²\n")
def test_uapi_and_stats_parsers(text: str) -> None:
    answers_or_config_error(parse_get, text)


@settings(max_examples=300)
@given(values)
def test_value_parsers(text: str) -> None:
    for parse in (Endpoint.parse, parse_network, PublicKey.from_base64, PublicKey.from_hex,
                  PrivateKey.from_base64, PresharedKey.from_hex):
        with contextlib.suppress(wgcore.errors.InvalidArgumentError):
            parse(text)


@pytest.fixture(scope="module")
def tunnel() -> Iterator[wgcore.Tunnel]:
    with wgcore.Tunnel.in_memory("", transport="host") as t:  # host: no socket to bind
        yield t


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(uapi_texts, any_text))
@example("listen_port=1\ud800\n")
def test_set_config(tunnel: wgcore.Tunnel, text: str) -> None:
    with contextlib.suppress(wgcore.errors.InvalidArgumentError):
        tunnel.set_config(text)


@contextlib.contextmanager
def fake_uapi_server(path: str, reply: bytes) -> Iterator[None]:
    """A socket at ``path`` answering every request with ``reply``."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)

    def serve() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:  # shut down
                return
            with conn, contextlib.suppress(OSError):  # a probe that hung up at once
                conn.recv(65536)
                conn.sendall(reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join()
        os.unlink(path)


replies = st.one_of(
    uapi_texts.map(lambda text: text.encode("utf-8", "surrogatepass") + b"\nerrno=0\n\n"),
    st.binary(max_size=200),
    st.sampled_from([b"errno=abc\n\n", b"\xff\xfe\nerrno=0\n\n", b"errno=\xff\n", b"", b"errno=-22\n\n",
                     b"errno=2147483648\n\n", b"errno=-99999999999999999999\n\n"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(replies)
def test_wgcore_show_never_raises(root: None, capsys: pytest.CaptureFixture[str], reply: bytes) -> None:
    name = f"wgcf{os.getpid() % 100000}"
    with fake_uapi_server(default_socket_path(name), reply):
        status = main(["show", name])
    out, err = capsys.readouterr()
    assert status in (0, 1), (status, err)
    assert (status == 1) == err.startswith("wgcore: "), err
