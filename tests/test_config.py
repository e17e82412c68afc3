"""Typed configuration: .conf and UAPI round trips, wg(8) interop, precise errors."""

from __future__ import annotations

import dataclasses
import datetime
import ipaddress
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import wgcore
from wgcore import Endpoint, Interface, Peer, PresharedKey, PrivateKey, PublicKey
from wgcore.errors import ConfigError
from wgcore.daita import DEFAULT, SHIPPED
from wgcore.uapi import parse_get
from wgcore.values import parse_network

from .lab import netns

# -- strategies ------------------------------------------------------------------

private_keys = st.builds(PrivateKey.generate)
public_keys = st.binary(min_size=32, max_size=32).map(PublicKey)
preshared_keys = st.binary(min_size=32, max_size=32).map(PresharedKey)
ports = st.integers(1, 65535)
hostnames = st.from_regex(r"[a-z][a-z0-9-]{0,15}(\.[a-z][a-z0-9-]{0,15}){0,3}", fullmatch=True)
ip_endpoints = st.builds(Endpoint, st.ip_addresses().map(str), ports)
networks = st.one_of(
    st.builds(lambda a, n: ipaddress.IPv4Network((a, n), strict=False), st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.builds(lambda a, n: ipaddress.IPv6Network((a, n), strict=False), st.integers(0, 2**128 - 1), st.integers(0, 128)),
)
daita_machines = st.lists(st.sampled_from(list(SHIPPED.values())), max_size=3).map(tuple)
shell_text = st.text(
    st.characters(codec="utf-8", exclude_characters="#\n\r", exclude_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1, max_size=30,
).map(str.strip).filter(bool)


@st.composite
def interfaces(draw: st.DrawFn, *, wg_quick: bool, hostnames_ok: bool) -> Interface:
    """Valid configs; allowed IPs are unique across peers, as a device keeps them."""
    keys = draw(st.lists(public_keys, max_size=6, unique=True))
    nets = draw(st.lists(networks, max_size=4 * len(keys) + 1, unique=True))
    endpoints = st.one_of(st.none(), ip_endpoints, *(
        [st.builds(Endpoint, hostnames, ports)] if hostnames_ok else []))
    peers = [
        Peer(
            public_key=key,
            allowed_ips=nets[i::len(keys)],
            endpoint=draw(endpoints),
            persistent_keepalive=draw(st.sampled_from([0, 1, 25, 65535])),
            preshared_key=draw(st.none() | preshared_keys),
            constant_packet_size=wg_quick and draw(st.booleans()),
            daita=draw(daita_machines) if wg_quick else (),
        )
        for i, key in enumerate(keys)
    ]
    interface = Interface(
        private_key=draw(private_keys if not wg_quick else st.none() | private_keys),
        listen_port=draw(st.integers(1024, 65535) if not wg_quick else st.none() | st.integers(0, 65535)),
        fwmark=draw(st.integers(1, 2**32 - 1) | st.just(0) | (st.none() if wg_quick else st.just(0))),
        peers=peers,
    )
    if wg_quick:
        interface.addresses = draw(st.lists(
            networks.map(lambda net: ipaddress.ip_interface((net.network_address, net.prefixlen))),
            max_size=3))
        interface.dns = draw(st.lists(st.ip_addresses().map(str) | hostnames, max_size=3))
        interface.mtu = draw(st.none() | st.integers(1280, 9000))
        interface.table = draw(st.none() | st.sampled_from(["off", "auto", "1234", "main"]))
        interface.pre_up = draw(st.lists(shell_text, max_size=2))
        interface.post_up = draw(st.lists(shell_text, max_size=2))
        interface.pre_down = draw(st.lists(shell_text, max_size=2))
        interface.post_down = draw(st.lists(shell_text, max_size=2))
        interface.save_config = draw(st.booleans())
    return interface


def without_wgcore_keys(interface: Interface) -> Interface:
    """The config without the fork's peer keys, which wg(8) does not know."""
    peers = [dataclasses.replace(p, constant_packet_size=False, daita=()) for p in interface.peers]
    return dataclasses.replace(interface, peers=peers)


def wg_fields_only(interface: Interface) -> Interface:
    """What a device keeps of a config (no wg-quick or wgcore-only fields)."""
    return dataclasses.replace(without_wgcore_keys(interface), addresses=[], dns=[], mtu=None,
                               table=None, pre_up=[], post_up=[], pre_down=[], post_down=[],
                               save_config=False)


def test_wgcore_only_peer_keys() -> None:
    key = PrivateKey.generate().public_key
    text = f"[Peer]\nPublicKey = {key}\nconstantpacketsize = yes\ndaita = front, Constant_Rate\n"
    peer = Interface.from_conf(text).peers[0]
    assert peer.constant_packet_size and [str(m) for m in peer.daita] == [
        str(SHIPPED["FRONT"]), str(SHIPPED["CONSTANT_RATE"])]
    assert "constant_packet_size=true\n" in peer.to_uapi()
    assert Interface.from_conf(f"[Peer]\nPublicKey = {key}\nDAITA = on\n").peers[0].daita == DEFAULT
    assert Interface.from_conf(f"[Peer]\nPublicKey = {key}\nDAITA = off\n").peers[0].daita == ()
    stripped = Interface.from_conf(text).to_conf(wg_quick=False)
    assert "ConstantPacketSize" not in stripped and "DAITA" not in stripped
    with pytest.raises(ConfigError, match="line 3: DAITA"):
        Interface.from_conf(f"[Peer]\nPublicKey = {key}\nDAITA = FRONT, 00ff\n")
    with pytest.raises(ConfigError, match="line 3: ConstantPacketSize"):
        Interface.from_conf(f"[Peer]\nPublicKey = {key}\nConstantPacketSize = maybe\n")


# -- .conf ------------------------------------------------------------------------------------


@given(interfaces(wg_quick=True, hostnames_ok=True))
def test_conf_round_trip(interface: Interface) -> None:
    text = interface.to_conf()
    parsed = Interface.from_conf(text)
    assert parsed == interface
    assert parsed.to_conf() == text
    assert Interface.from_conf(interface.to_conf(wg_quick=False)) == wg_fields_only(interface)


def test_reads_a_hand_written_file_with_comments_case_and_spacing() -> None:
    priv, psk = PrivateKey.generate(), PresharedKey.generate()
    peer1, peer2 = PrivateKey.generate().public_key, PrivateKey.generate().public_key
    text = f"""
        # a comment line
        [interface]
        privatekey={priv.to_base64()}   # trailing comment
        ListenPort   =   51820
        address = 203.0.113.1/24,fd42::1/64
        Address = 198.51.100.1
        DNS = 192.0.2.53, corp.example
        MTU = 1380
        Table = off
        FwMark = 0x1f
        PostUp = ip rule add from 203.0.113.0/24 lookup main; echo up %i
        PostUp = true
        SaveConfig = true

        [PEER]
        PublicKey = {peer1.to_base64()}
        PresharedKey = {psk.to_base64()}
        AllowedIPs = 203.0.113.2/32 , fd42::2/128
        AllowedIPs = 10.0.0.7/8
        Endpoint = vpn.example.org:51820
        PersistentKeepalive = off

        [Peer]
        PublicKey = {peer2.to_base64()}
        Endpoint = [FD00:0:0::1]:51821
        PersistentKeepalive = 25
    """
    config = Interface.from_conf(text)
    assert config.private_key == priv and config.public_key == priv.public_key
    assert (config.listen_port, config.fwmark, config.mtu, config.table) == (51820, 31, 1380, "off")
    assert [str(a) for a in config.addresses] == ["203.0.113.1/24", "fd42::1/64", "198.51.100.1/32"]
    assert config.dns == ["192.0.2.53", "corp.example"]
    assert config.post_up == ["ip rule add from 203.0.113.0/24 lookup main; echo up %i", "true"]
    assert config.save_config is True
    first, second = config.peers
    assert first.public_key == peer1 and first.preshared_key == psk
    assert [str(n) for n in first.allowed_ips] == ["203.0.113.2/32", "fd42::2/128", "10.0.0.0/8"]
    assert first.endpoint == Endpoint("vpn.example.org", 51820) and first.endpoint.is_hostname
    assert first.persistent_keepalive == 0
    assert second.endpoint == Endpoint("fd00::1", 51821) and str(second.endpoint) == "[fd00::1]:51821"
    assert second.allowed_ips == [] and second.preshared_key is None
    assert config.peer(peer2) is second


def test_equality_ignores_peer_and_allowed_ip_order() -> None:
    a = Peer(PrivateKey.generate().public_key, [parse_network("10.0.0.0/8"), parse_network("fd42::/64")])
    b = Peer(PrivateKey.generate().public_key)
    flipped = dataclasses.replace(a, allowed_ips=list(reversed(a.allowed_ips)))
    assert Interface(peers=[a, b]) == Interface(peers=[b, flipped])
    assert Interface(peers=[a, b]) != Interface(peers=[a])


KEY = PrivateKey(bytes(range(32))).public_key.to_base64()


@pytest.mark.parametrize(
    ("text", "line", "field", "message"),
    [
        ("[Interface]\nListenPort = 51820\nBogus = 1\n", 3, "Bogus", "unknown key"),
        ("[Interface]\nPrivateKey = abc\n", 2, "PrivateKey", "44 characters"),
        ("[Interface]\nPrivateKey = " + "!" * 43 + "=\n", 2, "PrivateKey", "not valid base64"),
        (f"[Peer]\nPublicKey = {KEY[:-1]}\n", 2, "PublicKey", "44 characters"),
        (f"[Peer]\nPublicKey = {KEY}\nAllowedIPs = 10.0.0.0/33\n", 3, "AllowedIPs", "bad CIDR"),
        (f"[Peer]\nPublicKey = {KEY}\nAllowedIPs = 10.0.0.0/8,,fd42::/64\n", 3, "AllowedIPs", "empty item"),
        (f"[Peer]\nPublicKey = {KEY}\nAllowedIPs = banana\n", 3, "AllowedIPs", "bad CIDR"),
        (f"[Peer]\nPublicKey = {KEY}\n\n[Peer]\n# again\nPublicKey = {KEY}\n", 4, "PublicKey", "duplicate peer"),
        ("[Peer]\nAllowedIPs = 10.0.0.0/8\n", 1, "PublicKey", "without PublicKey"),
        (f"[Peer]\nPublicKey = {KEY}\nEndpoint = fd00::1:51820\n", 3, "Endpoint", "needs brackets"),
        (f"[Peer]\nPublicKey = {KEY}\nEndpoint = 198.18.0.1\n", 3, "Endpoint", "no :port"),
        (f"[Peer]\nPublicKey = {KEY}\nEndpoint = 198.18.0.1:0\n", 3, "Endpoint", "port must be"),
        (f"[Peer]\nPublicKey = {KEY}\nEndpoint = bad_host!:5\n", 3, "Endpoint", "neither an IP"),
        (f"[Peer]\nPublicKey = {KEY}\nPersistentKeepalive = 65536\n", 3, "PersistentKeepalive", "out of range"),
        ("[Interface]\nListenPort = 1\nListenPort = 2\n", 3, "ListenPort", "given twice"),
        ("[Interface]\nListenPort = -1\n", 2, "ListenPort", "out of range"),
        ("[Interface]\nFwMark = 0xzz\n", 2, "FwMark", "not a number"),
        ("[Interface]\nAddress = 10.0.0.1/40\n", 2, "Address", "bad address"),
        ("[Interface]\nSaveConfig = maybe\n", 2, "SaveConfig", "true or false"),
        ("[Interface]\nMTU =\n", 2, "MTU", "empty value"),
        ("ListenPort = 1\n", 1, "ListenPort", "outside"),
        ("[Interface]\n[Interface]\n", 2, None, "second"),
        ("[Interfaces]\n", 1, None, "unknown section"),
        ("[Interface]\njust words\n", 2, None, "expected 'Key = value'"),
        (f"[Peer]\nPublicKey = {KEY}\nPublicKey = {KEY}\n", 3, "PublicKey", "given twice"),
    ],
)
def test_malformed_conf_names_line_and_field(text: str, line: int, field: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        Interface.from_conf(text)
    assert (info.value.line, info.value.field) == (line, field)
    assert str(info.value).startswith(f"line {line}: ")
    assert isinstance(info.value, wgcore.errors.InvalidArgumentError)


def test_private_key_errors_never_contain_the_key() -> None:
    secret = PrivateKey.generate().to_base64()
    for bad in (secret[:-1], secret[:-2] + "!=", secret + "AAAA"):
        with pytest.raises(ConfigError) as info:
            Interface.from_conf(f"[Interface]\nPrivateKey = {bad}\n")
        assert secret[:16] not in str(info.value)


def test_wg_quick_fields_cannot_hold_what_a_file_cannot() -> None:
    with pytest.raises(wgcore.errors.InvalidArgumentError):
        Interface(post_up=["echo a\necho b"])
    with pytest.raises(wgcore.errors.InvalidArgumentError):
        Interface(pre_down=["echo # gone"])
    with pytest.raises(TypeError):
        Peer("not a key")  # type: ignore[arg-type]


# -- UAPI text -----------------------------------------------------------------------------------


def test_to_uapi_is_replace_semantics_and_hides_nothing_needed() -> None:
    priv, peer, psk = PrivateKey.generate(), PrivateKey.generate().public_key, PresharedKey.generate()
    config = Interface(private_key=priv, listen_port=51820, fwmark=7, peers=[Peer(
        peer, [parse_network("203.0.113.0/24"), parse_network("fd42::/64")],
        Endpoint("fd00::2", 5), 25, psk)], addresses=[ipaddress.ip_interface("203.0.113.1/24")])
    assert config.to_uapi().splitlines() == [
        f"private_key={priv.hex()}", "listen_port=51820", "fwmark=7", "replace_peers=true",
        f"public_key={peer.hex()}", f"preshared_key={psk.hex()}", "endpoint=[fd00::2]:5",
        "persistent_keepalive_interval=25", "replace_allowed_ips=true",
        "allowed_ip=203.0.113.0/24", "allowed_ip=fd42::/64",
    ]


def test_hostname_endpoints_are_resolved_for_uapi() -> None:
    peer = Peer(PrivateKey.generate().public_key, endpoint=Endpoint("localhost", 51820))
    line = next(line for line in peer.to_uapi().splitlines() if line.startswith("endpoint="))
    assert line in ("endpoint=127.0.0.1:51820", "endpoint=[::1]:51820")
    assert peer.endpoint == Endpoint("localhost", 51820)  # the config keeps the name


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("private_key=zz\n", 1, "private_key"),
        ("listen_port=1\npublic_key=" + "ab" * 32 + "\nallowed_ip=10.0.0.0/99\n", 3, "allowed_ip"),
        ("listen_port=1\nendpoint=198.18.0.1:5\n", 2, "endpoint"),
        ("public_key=" + "ab" * 32 + "\npublic_key=" + "ab" * 32 + "\n", 2, "public_key"),
        ("listen_port=1\nerrno=-22\n", 2, "errno"),
        ("no equals sign\n", 1, None),
    ],
)
def test_malformed_uapi_names_line_and_field(text: str, line: int, field: str | None) -> None:
    with pytest.raises(ConfigError) as info:
        parse_get(text)
    assert (info.value.line, info.value.field) == (line, field)


# -- against a real tunnel ------------------------------------------------------------------------


@pytest.fixture
def tunnel(root: None) -> Iterator[wgcore.Tunnel]:
    with netns.namespace(f"wgcc{os.getpid()}") as ns:
        config = Interface(private_key=PrivateKey.generate(), listen_port=0)
        with netns.run_in(ns, lambda: wgcore.Tunnel.from_interface("wgcc0", config)) as t:
            yield t


def expected_on_device(sent: Interface) -> Interface:
    """What get_config reports after ``sent`` was applied: a zero fwmark is not shown."""
    return dataclasses.replace(wg_fields_only(sent), fwmark=sent.fwmark or None)


def test_uapi_round_trip_through_a_real_tunnel(tunnel: wgcore.Tunnel) -> None:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(interfaces(wg_quick=False, hostnames_ok=False))
    def check(config: Interface) -> None:
        tunnel.set_config(config)
        got = tunnel.config()
        assert got == expected_on_device(config)

    check()


def test_incremental_updates(tunnel: wgcore.Tunnel) -> None:
    a = Peer(PrivateKey.generate().public_key, [parse_network("203.0.113.2/32")],
             Endpoint("198.18.0.2", 51820), 25, PresharedKey.generate())
    b = Peer(PrivateKey.generate().public_key, [parse_network("fd42::b/128")], Endpoint("fd00::b", 7))
    tunnel.add_peer(a)
    tunnel.add_peer(b)
    assert {p.public_key: p for p in tunnel.config().peers} == {a.public_key: a, b.public_key: b}
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="already exists"):
        tunnel.add_peer(a)

    changed = Peer(a.public_key, [parse_network("198.51.100.0/24")], Endpoint("fd00::a", 9))
    tunnel.update_peer(changed)  # keepalive and preshared key go back to none
    assert tunnel.config().peer(a.public_key) == changed

    tunnel.replace_allowed_ips(b.public_key, ["203.0.113.0/25", parse_network("fd42:1::/64")])
    assert set(map(str, tunnel.config().peer(b.public_key).allowed_ips)) == {"203.0.113.0/25", "fd42:1::/64"}
    tunnel.replace_allowed_ips(b.public_key, [])
    assert tunnel.config().peer(b.public_key).allowed_ips == []

    tunnel.remove_peer(a.public_key)
    assert [p.public_key for p in tunnel.config().peers] == [b.public_key]

    new_key = PrivateKey.generate()
    tunnel.rotate_private_key(new_key)
    assert tunnel.config().private_key == new_key
    with pytest.raises(TypeError):
        tunnel.rotate_private_key(new_key.public_key)  # type: ignore[arg-type]


def test_unknown_peer_errors_leave_the_tunnel_unchanged(tunnel: wgcore.Tunnel) -> None:
    known = Peer(PrivateKey.generate().public_key, [parse_network("203.0.113.9/32")])
    tunnel.add_peer(known)
    before = tunnel.get_config()
    stranger = PrivateKey.generate().public_key
    for call in (lambda: tunnel.remove_peer(stranger),
                 lambda: tunnel.update_peer(Peer(stranger)),
                 lambda: tunnel.replace_allowed_ips(stranger, ["10.0.0.0/8"])):
        with pytest.raises(wgcore.errors.UnknownPeerError, match="no peer"):
            call()
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="bad CIDR"):
        tunnel.replace_allowed_ips(known.public_key, ["203.0.113.0/24", "nonsense"])
    assert tunnel.get_config() == before


def test_malformed_file_changes_nothing(tunnel: wgcore.Tunnel) -> None:
    before = tunnel.get_config()
    peers = [PrivateKey.generate().public_key for _ in range(3)]
    text = "[Interface]\nListenPort = 40001\n" + "".join(
        f"[Peer]\nPublicKey = {key}\nAllowedIPs = 203.0.113.{i}/32\n" for i, key in enumerate(peers))
    text += "AllowedIPs = 203.0.113.300/32\n"  # the very last line is wrong
    with pytest.raises(ConfigError) as info:
        tunnel.set_config(Interface.from_conf(text))
    assert info.value.line == text.count("\n") and info.value.field == "AllowedIPs"
    assert tunnel.get_config() == before


def test_stats_are_typed(tunnel: wgcore.Tunnel) -> None:
    peer = Peer(PrivateKey.generate().public_key, [parse_network("fd42::5/128")], Endpoint("198.18.0.9", 51820), 5)
    tunnel.add_peer(peer)
    stats = tunnel.stats()[peer.public_key]
    assert (stats.endpoint, stats.persistent_keepalive, stats.allowed_ips) == (
        peer.endpoint, 5, peer.allowed_ips)
    assert stats.last_handshake is None and stats.rx_bytes == 0 and stats.extra == {}
    assert stats.tx_bytes >= 0


def test_stats_parse_handshake_counters_and_unknown_keys() -> None:
    key = PrivateKey.generate().public_key
    text = (f"private_key={'11' * 32}\nlisten_port=5\npublic_key={key.hex()}\npreshared_key={'0' * 64}\n"
            "protocol_version=1\nendpoint=[fd00::1]:5\nlast_handshake_time_sec=1700000000\n"
            "last_handshake_time_nsec=500000000\ntx_bytes=10\nrx_bytes=20\n"
            "persistent_keepalive_interval=0\nconstant_packet_size=true\nallowed_ip=10.0.0.0/8\nerrno=0\n")
    stats = parse_get(text).stats[key]
    assert stats.last_handshake == datetime.datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=datetime.timezone.utc)
    assert stats.last_handshake.tzinfo is not None
    assert (stats.rx_bytes, stats.tx_bytes) == (20, 10)
    assert stats.extra == {"constant_packet_size": "true"}
    # One parser: a key it does not know (a new statistic from Go) breaks neither side.
    assert parse_get(text).interface.peer(key).allowed_ips == stats.allowed_ips


# -- wg(8) and wg-quick(8) interop ----------------------------------------------------------------


@pytest.mark.tools("wg-quick")
def test_wg_quick_strip_agrees_with_to_conf(tmp_path: Path, root: None) -> None:
    @settings(max_examples=15, deadline=None)
    @given(interfaces(wg_quick=True, hostnames_ok=False))
    def check(config: Interface) -> None:
        config = without_wgcore_keys(config)
        path = tmp_path / "wgcs0.conf"
        path.write_text(config.to_conf())
        path.chmod(0o600)
        done = subprocess.run(["wg-quick", "strip", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert Interface.from_conf(done.stdout) == Interface.from_conf(config.to_conf(wg_quick=False))

    check()
