"""``wgcore up exit.conf --entry entry.conf``: the two-hop format, its errors, and ``wgcore show``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from wgcore import Interface, PrivateKey, Tunnel
from wgcore.cli import main, wgquick
from wgcore.errors import WgQuickError
from wgcore.uapi import default_socket_path

KEY = PrivateKey.generate()
RELAY = PrivateKey.generate().public_key

ENTRY = f"""[Interface]
PrivateKey = {KEY.to_base64()}
Address = 198.51.100.2/32, fd42::2/128
MTU = 1400

[Peer]
PublicKey = {RELAY}
Endpoint = 198.18.0.2:51820
AllowedIPs = 198.18.0.6/32
"""

EXIT = f"""[Interface]
PrivateKey = {KEY.to_base64()}
Address = 203.0.113.2/24

[Peer]
PublicKey = {PrivateKey.generate().public_key}
Endpoint = 198.18.0.6:51820
AllowedIPs = 203.0.113.0/24
"""


def test_the_entry_config_gives_private_ip_and_link(tmp_path: Path) -> None:
    path = tmp_path / "entry.conf"
    path.write_text(ENTRY)
    entry = wgquick.load_entry(str(path))
    assert wgquick.private_ip(entry) == "198.51.100.2"
    assert entry.mtu == 1400 and entry.peers[0].public_key == RELAY


@pytest.mark.parametrize(("change", "message"), [
    (lambda text: text.replace("Address = 198.51.100.2/32, fd42::2/128", "Address = fd42::2/128"),
     "Address must hold exactly one IPv4 address"),
    (lambda text: text.replace("Address = 198.51.100.2/32, ", "Address = 198.51.100.2/32, 198.51.100.3/32, "),
     r"exactly one IPv4 address.*\(it has 2\)"),
    (lambda text: text + f"\n[Peer]\nPublicKey = {PrivateKey.generate().public_key}\n",
     r"exactly one \[Peer\], the entry relay \(it has 2\)"),
    (lambda text: text.split("[Peer]")[0], r"exactly one \[Peer\].*\(it has 0\)"),
    (lambda text: text.replace("MTU = 1400", "MTU = 1400\nPostUp = true"),
     "PostUp does not apply to the entry hop; put it in the exit config"),
    (lambda text: text.replace("MTU = 1400", "MTU = 1400\nDNS = 198.51.100.1"), "DNS does not apply"),
    (lambda text: text.replace("MTU = 1400", "MTU = 1400\nTable = off"), "Table does not apply"),
    (lambda text: text.replace("Endpoint = 198.18.0.2:51820", f"Endpoint = {KEY.to_base64()}"),
     "entry.conf: line 8"),
])
def test_bad_entry_configs_say_what_is_wrong(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             change: object, message: str) -> None:
    entry, exit_ = tmp_path / "entry.conf", tmp_path / "wgcx0.conf"
    entry.write_text(change(ENTRY))  # type: ignore[operator]
    exit_.write_text(EXIT)
    with pytest.raises(WgQuickError, match=message) as info:
        wgquick.load_entry(str(entry))
    assert KEY.to_base64() not in str(info.value)
    assert main(["up", str(exit_), "--entry", str(entry)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("wgcore: ") and KEY.to_base64() not in err


@pytest.mark.parametrize("line", ["MTU = 1380", "FwMark = 0x1234"])
def test_the_exit_config_must_leave_mtu_and_fwmark_to_the_entry(tmp_path: Path, line: str) -> None:
    entry, exit_ = tmp_path / "entry.conf", tmp_path / "wgcx1.conf"
    entry.write_text(ENTRY)
    exit_.write_text(EXIT.replace("Address", f"{line}\nAddress"))
    interface, name = wgquick.load(str(exit_))
    with pytest.raises(WgQuickError, match=f"{line.split()[0]} of a multihop tunnel goes in the entry config"):
        wgquick.up(interface, name, entry=wgquick.load_entry(str(entry)), log=None)


def test_up_help_documents_the_two_hop_format(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["up", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "wgcore up exit.conf --entry entry.conf" in out and "--entry ENTRY.conf" in out
    assert "60 less" in out


@pytest.mark.tools("wg")
def test_show_prints_both_hops_labelled(root: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"wgcs{os.getpid() % 100000}"
    (tmp_path / "entry.conf").write_text(ENTRY)
    entry, exit_ = wgquick.load_entry(str(tmp_path / "entry.conf")), Interface.from_conf(EXIT)
    with Tunnel.multihop(entry, exit_, private_ip=wgquick.private_ip(entry), in_memory=True) as tunnel:
        assert tunnel.entry is not None
        with tunnel.serve_uapi(default_socket_path(name)), wgquick.serve_entry(tunnel, tunnel.entry, name):
            assert main(["show", name]) == 0
            shown = capsys.readouterr().out
            assert main(["show", "interfaces"]) == 0
            names = capsys.readouterr().out.split()
            assert main(["show"]) == 0
            everything = capsys.readouterr().out
            wg_view = subprocess.run(["wg", "show", name + wgquick.ENTRY_SUFFIX, "endpoints"],
                                     capture_output=True, text=True, timeout=10)
    entry_part, exit_part = shown.split(f"interface: {name} (exit hop)")
    assert entry_part.startswith(f"interface: {name} (entry hop)\n")
    assert f"peer: {RELAY}" in entry_part and "endpoint: 198.18.0.2:51820" in entry_part
    assert "allowed ips: 198.18.0.6/32" in entry_part
    assert "endpoint: 198.18.0.6:51820" in exit_part and "allowed ips: 203.0.113.0/24" in exit_part
    assert name in names and name + wgquick.ENTRY_SUFFIX not in names
    assert shown in everything
    assert wg_view.stdout == f"{RELAY}\t198.18.0.2:51820\n", wg_view.stderr
    assert KEY.to_base64() not in shown
