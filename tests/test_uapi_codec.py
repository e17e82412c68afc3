"""The UAPI codec (wgcore.uapi): one get parser for config and stats that keeps
unknown keys; the typed API taking strings and keys where it names them."""

from __future__ import annotations

import ipaddress
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

import wgcore
from wgcore import Endpoint, Interface, Peer, PrivateKey, PublicKey, _native
from wgcore.errors import ConfigError
from wgcore.uapi import codec, parse_get

public_keys = st.binary(min_size=32, max_size=32).map(PublicKey)
v4_networks = st.builds(lambda a, n: ipaddress.IPv4Network((a, n), strict=False),
                        st.integers(0, 2**32 - 1), st.integers(0, 32))
KNOWN = {"public_key", "private_key", "listen_port", "fwmark", "protocol_version", "errno", *codec._PEER_KEYS}
unknown_keys = st.from_regex(r"[a-z][a-z_]{0,20}", fullmatch=True).filter(lambda k: k not in KNOWN)
unknown_values = st.from_regex(r"[a-z0-9.:]{0,12}", fullmatch=True)


@st.composite
def get_texts(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """(lines of a device's get text, the same with unknown keys inserted)."""
    lines = [f"private_key={bytes(32).hex()}", f"listen_port={draw(st.integers(0, 65535))}"]
    for key in draw(st.lists(public_keys, max_size=4, unique_by=bytes)):
        lines += [f"public_key={key.hex()}", "protocol_version=1", "endpoint=198.18.0.1:51820",
                  f"last_handshake_time_sec={draw(st.integers(0, 253402300799))}", "last_handshake_time_nsec=5000",
                  f"rx_bytes={draw(st.integers(0, 2**64 - 1))}", f"tx_bytes={draw(st.integers(0, 2**64 - 1))}",
                  f"persistent_keepalive_interval={draw(st.integers(0, 65535))}"]
        lines += [f"allowed_ip={net}" for net in draw(st.lists(v4_networks, max_size=3, unique=True))]
    extended = list(lines)
    for key, value in draw(st.lists(st.tuples(unknown_keys, unknown_values), max_size=5)):
        # After the first line (a device key), anywhere: device- or peer-level.
        extended.insert(draw(st.integers(1, len(extended))), f"{key}={value}")
    return lines, extended


@given(get_texts())
def test_unknown_keys_are_kept_and_change_nothing_else(texts: tuple[list[str], list[str]]) -> None:
    plain, extended = (parse_get("\n".join(lines) + "\nerrno=0\n\n") for lines in texts)
    assert extended.interface == plain.interface
    assert list(extended.stats) == list(plain.stats)
    for key, stats in extended.stats.items():
        assert (stats.rx_bytes, stats.tx_bytes, stats.last_handshake, stats.allowed_ips) == (
            plain.stats[key].rx_bytes, plain.stats[key].tx_bytes, plain.stats[key].last_handshake,
            plain.stats[key].allowed_ips)
    inserted = len(texts[1]) - len(texts[0])
    kept = len(extended.extra) + sum(len(s.extra) for s in extended.stats.values())
    assert 0 < kept <= inserted or kept == inserted == 0


def test_a_new_statistic_from_go_reaches_stats_and_spares_config() -> None:
    key = PrivateKey.generate().public_key
    text = f"listen_port=5\nnew_device_stat=1\npublic_key={key.hex()}\ndaita_padding_sent=42\nallowed_ip=10.0.0.0/8\n"
    device = parse_get(text)
    assert device.extra == {"new_device_stat": "1"}
    assert device.stats[key].extra == {"daita_padding_sent": "42"}
    assert device.interface == Interface(listen_port=5, peers=[Peer(key, ["10.0.0.0/8"])])


def test_a_peer_key_before_any_peer_is_an_error() -> None:
    with pytest.raises(ConfigError) as info:
        parse_get("listen_port=5\nallowed_ip=10.0.0.0/8\n")
    assert (info.value.line, info.value.field) == (2, "allowed_ip")


def test_set_writers() -> None:
    key = PrivateKey.generate()
    assert codec.device_set(private_key=key, fwmark=0) == f"private_key={key.hex()}\nfwmark=0\n"
    assert codec.remove_peer_set(key.public_key) == f"public_key={key.public_key.hex()}\nremove=true\n"
    assert codec.allowed_ips_set(key.public_key, [ipaddress.ip_network("10.0.0.0/8")]).splitlines() == [
        f"public_key={key.public_key.hex()}", "update_only=true", "replace_allowed_ips=true",
        "allowed_ip=10.0.0.0/8"]


# -- the typed API agrees with itself ----------------------------------------------


def test_peer_takes_strings_for_networks_and_endpoint() -> None:
    key = PrivateKey.generate().public_key
    peer = Peer(key, ["10.0.0.1/32", ipaddress.ip_network("fd00::/64")], "198.18.0.2:51820")
    assert peer.allowed_ips == [ipaddress.ip_network("10.0.0.1/32"), ipaddress.ip_network("fd00::/64")]
    assert peer.endpoint == Endpoint("198.18.0.2", 51820)
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="bad CIDR"):
        Peer(key, ["10.0.0.300/32"])
    with pytest.raises(TypeError, match=r"write \['10.0.0.1/32'\]"):
        Peer(key, "10.0.0.1/32")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="allowed_ips item"):
        Peer(key, [5])  # type: ignore[list-item]


@pytest.mark.parametrize("parse", [wgcore.PrivateKey.from_base64, wgcore.PublicKey.from_base64,
                                   wgcore.PresharedKey.from_hex, wgcore.PublicKey.from_hex])
def test_key_parsers_raise_type_error_for_non_text(parse: object) -> None:
    with pytest.raises(TypeError, match="must be str"):
        parse(None)  # type: ignore[operator]


def test_mtu_rule_is_libwgs() -> None:
    # the largest MTU whose data messages (mtu + 32) fit UDP over IPv4
    assert Interface(mtu=576).mtu == 576 and Interface(mtu=65475).mtu == 65475
    for bad in (575, 68, 65476, 65535):
        with pytest.raises(wgcore.errors.InvalidArgumentError, match="576-65475"):
            Interface(mtu=bad)
    with pytest.raises(ConfigError, match="MTU"):
        Interface.from_conf("[Interface]\nMTU = 100\n")


def test_in_memory_honours_interface_mtu() -> None:
    with wgcore.Tunnel.in_memory(Interface(private_key=PrivateKey.generate(), mtu=1300)) as t:
        assert t.mtu == 1300
    with wgcore.Tunnel.in_memory(Interface(mtu=1300), mtu=1400) as t:
        assert t.mtu == 1400


def test_compiled_layer_takes_text_only() -> None:
    with pytest.raises(TypeError, match="str or bytes"):
        _native.Tunnel._turn_on("memory", 1420, Interface(), None, {"transport": "host"}, -1,  # type: ignore[arg-type]
                                mtu=1420)
    with _native.Tunnel._turn_on("memory", 1420, b"listen_port=0\n", None, {"transport": "host"}, -1, mtu=1420) as t:
        t.set_config(b"")
        assert t.socket_fds == (None, None)
    with wgcore.Tunnel.in_memory(Interface(), transport="host") as t:  # the typed layer renders
        with pytest.raises(TypeError, match="Interface, a Peer"):
            t.set_config(5)  # type: ignore[arg-type]


def test_go_logger_prints_nothing_by_default() -> None:
    handlers = logging.getLogger("wgcore.go").handlers
    assert any(isinstance(h, logging.NullHandler) for h in handlers)


def test_a_conf_file_passed_as_uapi_text_says_what_to_do() -> None:
    text = f"[Interface]\nPrivateKey = {PrivateKey.generate()}\n"
    with wgcore.Tunnel.in_memory("", transport="host") as t:
        with pytest.raises(wgcore.errors.InvalidArgumentError, match=r"looks like a \.conf file.*Interface\.from_conf"):
            t.set_config(text)


def test_go_error_lines_that_an_exception_repeats_are_not_logged(caplog: pytest.LogCaptureFixture) -> None:
    with wgcore.Tunnel.in_memory("", transport="host") as t, caplog.at_level(logging.DEBUG, "wgcore.go"):
        with pytest.raises(wgcore.errors.InvalidArgumentError, match="private_key"):
            t.set_config("private_key=zz\n")
        t.set_config("listen_port=0\n")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    assert any("private_key" in r.getMessage() for r in caplog.records), "still there at DEBUG"
