"""The wgcore command: keys like wg(8), up/down like wg-quick(8), inside namespaces."""

from __future__ import annotations

import contextlib
import os
import platform
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import wgcore
from wgcore import Interface, PrivateKey, PublicKey, Tunnel
from wgcore.cli import main
from wgcore.uapi import SOCKET_DIR, default_socket_path

from .helpers import DIE_WITH_PARENT, remove_stale_files
from .lab import netns, tunnel_pair
from .packets import carry, ipv4, recv_one

WGCORE = [sys.executable, "-m", "wgcore"]


def wgcore(*args: str, stdin: str = "", ns: str | None = None) -> subprocess.CompletedProcess[str]:
    prefix = ["ip", "netns", "exec", ns] if ns else []
    return subprocess.run([*prefix, *WGCORE, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, cwd="/")


@pytest.mark.tools("wg")
def test_genkey_pubkey_genpsk_agree_with_wg() -> None:
    private = wgcore("genkey")
    assert private.returncode == 0 and private.stderr == ""
    public = wgcore("pubkey", stdin=private.stdout)
    assert public.returncode == 0
    wg_public = subprocess.run(["wg", "pubkey"], input=private.stdout, capture_output=True, text=True, check=True)
    assert public.stdout == wg_public.stdout
    assert PrivateKey.from_base64(private.stdout).public_key == PublicKey.from_base64(public.stdout)
    psk = wgcore("genpsk")
    assert psk.returncode == 0 and len(psk.stdout.strip()) == 44 and psk.stdout != private.stdout
    from_wg = subprocess.run(["wg", "genkey"], capture_output=True, text=True, check=True).stdout
    assert wgcore("pubkey", stdin=from_wg).stdout == subprocess.run(
        ["wg", "pubkey"], input=from_wg, capture_output=True, text=True).stdout


def test_pubkey_rejects_bad_input() -> None:
    for bad in ("", "not a key\n", "AAAA\n"):
        done = wgcore("pubkey", stdin=bad)
        assert done.returncode == 1 and done.stdout == ""
        assert "Key is not the correct length or format" in done.stderr


def test_genkey_warns_about_a_world_readable_file(tmp_path: Path) -> None:
    target = tmp_path / "key"
    with open(target, "w") as f:
        os.fchmod(f.fileno(), 0o644)
        done = subprocess.run([*WGCORE, "genkey"], stdout=f, stderr=subprocess.PIPE, text=True, cwd="/")
    assert done.returncode == 0 and "world accessible" in done.stderr
    PrivateKey.from_base64(target.read_text())


def test_help_version_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "wireguard_go:" in capsys.readouterr().out
    assert main([]) == 0
    assert "genkey" in capsys.readouterr().out
    for command in ("up", "demo"):
        with pytest.raises(SystemExit) as info:
            main([command, "--help"])
        assert info.value.code == 0
    assert "--seconds" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["demo", "--seconds", "soon"])
    assert info.value.code == 2
    done = wgcore("--version")
    assert done.returncode == 0 and done.stdout.startswith("wgcore: ")


def test_version_names_this_python_glibc_and_the_wheels(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    lines = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    minor = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert lines["python"] == platform.python_version()
    assert lines["glibc"] == str(os.confstr("CS_GNU_LIBC_VERSION")).split()[1]
    assert lines["wheel"].startswith(f"cp{minor.replace('.', '')}-"), lines
    assert minor in re.findall(r"3\.\d+", lines["wheels"]), lines


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("wgcore")
    done = subprocess.run([str(script), "genkey"], capture_output=True, text=True)
    assert done.returncode == 0 and len(done.stdout.strip()) == 44


def test_demo_subcommand_runs_the_demo() -> None:
    done = wgcore("demo", "--seconds", "0.3", "--size", "200")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip()


def test_show_and_down_of_an_unknown_interface_fail() -> None:
    for args in (("show", "wgcnope0"), ("down", "wgcnope0")):
        done = wgcore(*args)
        assert done.returncode == 1 and done.stderr.startswith("wgcore: "), done.stderr


# -- up / down in a namespace ---------------------------------------------------------------


@contextlib.contextmanager
def running_up(ns: str, conf: Path, *options: str) -> Iterator[subprocess.Popen[str]]:
    """`wgcore up conf [options]` in the namespace, once it serves (its pid
    file names it); killed on the way out if the test left it running."""
    proc = subprocess.Popen([*DIE_WITH_PARENT, "ip", "netns", "exec", ns, *WGCORE, "up", str(conf), *options],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")
    try:
        pid_file = Path(SOCKET_DIR) / f"{conf.stem}.wgcore.pid"
        deadline = time.monotonic() + 20
        while not (pid_file.exists() and pid_file.read_text().strip() == str(proc.pid)):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"wgcore up did not come up: {proc.stderr.read() if proc.poll() is not None else 'timeout'}")
            time.sleep(0.05)
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


@pytest.mark.tools("wg")
def test_up_show_down(ns: str, tmp_path: Path) -> None:
    name = f"wgcu{os.getpid() % 100000}"
    peer_a, peer_b = PrivateKey.generate().public_key, PrivateKey.generate().public_key
    marker = tmp_path / "hooks"
    conf = tmp_path / f"{name}.conf"
    conf.write_text(f"""
[Interface]
PrivateKey = {PrivateKey.generate().to_base64()}
ListenPort = 51820
Address = 203.0.113.1/24, fd42::1/64
MTU = 1380
PreUp = echo pre-up %i >> {marker}
PostUp = echo post-up %i >> {marker}
PreDown = echo pre-down %i >> {marker}
PostDown = echo post-down %i >> {marker}

[Peer]
PublicKey = {peer_a}
AllowedIPs = 203.0.113.2/32, 198.51.100.0/24
Endpoint = 198.18.0.2:51820

[Peer]
PublicKey = {peer_b}
AllowedIPs = fd42:1::/64
""")
    with running_up(ns, conf) as proc:
        link = netns.ip("-n", ns, "address", "show", "dev", name)
        assert "mtu 1380" in link and "UP" in link
        assert "inet 203.0.113.1/24" in link and "inet6 fd42::1/64" in link
        routes4 = netns.ip("-n", ns, "-4", "route", "show", "dev", name)
        routes6 = netns.ip("-n", ns, "-6", "route", "show", "dev", name)
        assert "198.51.100.0/24" in routes4 and "203.0.113.0/24" in routes4
        assert "203.0.113.2" not in routes4  # covered by the address's own route, as wg-quick does
        assert "fd42:1::/64" in routes6
        assert marker.read_text().split("\n")[:2] == [f"pre-up {name}", f"post-up {name}"]

        shown = wgcore("show", name, ns=ns)
        assert shown.returncode == 0, shown.stderr
        assert f"peer: {peer_a}" in shown.stdout and "allowed ips: fd42:1::/64" in shown.stdout
        assert name in wgcore("show", "interfaces").stdout.split()
        wg_view = netns.run(ns, "wg", "showconf", name)
        assert wg_view.returncode == 0
        assert {p.public_key for p in Interface.from_conf(wg_view.stdout).peers} == {peer_a, peer_b}

        down = wgcore("down", name)
        assert down.returncode == 0, down.stderr
        assert proc.wait(timeout=20) == 0
    assert name not in netns.ip("-n", ns, "link", "show")
    assert not os.path.exists(default_socket_path(name))
    assert marker.read_text().split() == [
        "pre-up", name, "post-up", name, "pre-down", name, "post-down", name]
    assert wgcore("down", name).returncode == 1


@pytest.mark.tools("wg")
def test_default_route_uses_policy_rules_and_sigterm_cleans_up(ns: str, tmp_path: Path) -> None:
    name = f"wgcd{os.getpid() % 100000}"
    conf = tmp_path / f"{name}.conf"
    conf.write_text(f"""[Interface]
PrivateKey = {PrivateKey.generate().to_base64()}
Address = 203.0.113.1/32
[Peer]
PublicKey = {PrivateKey.generate().public_key}
AllowedIPs = 0.0.0.0/0
""")
    with running_up(ns, conf) as proc:
        rules = netns.ip("-n", ns, "-4", "rule", "show")
        assert "not from all fwmark 0xca6c lookup 51820" in rules
        assert "lookup main suppress_prefixlength 0" in rules
        assert f"default dev {name}" in netns.ip("-n", ns, "-4", "route", "show", "table", "51820")
        assert "fwmark: 0xca6c" in netns.run(ns, "wg", "show", name).stdout
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    rules = netns.ip("-n", ns, "-4", "rule", "show")
    assert "51820" not in rules and "suppress_prefixlength" not in rules
    assert name not in netns.ip("-n", ns, "link", "show")


def test_deleting_the_socket_stops_up(ns: str, tmp_path: Path) -> None:
    name = f"wgcs{os.getpid() % 100000}"
    conf = tmp_path / f"{name}.conf"
    conf.write_text(f"[Interface]\nPrivateKey = {PrivateKey.generate().to_base64()}\n")
    with running_up(ns, conf) as proc:
        os.unlink(default_socket_path(name))
        assert proc.wait(timeout=20) == 0
    assert name not in netns.ip("-n", ns, "link", "show")


def test_up_with_a_malformed_file_creates_nothing(ns: str, tmp_path: Path) -> None:
    name = f"wgcm{os.getpid() % 100000}"
    conf = tmp_path / f"{name}.conf"
    conf.write_text("[Interface]\nListenPort = 51820\nAddress = 203.0.113.1/24\n\n[Peer]\nAllowedIPs = 10.0.0.0/8\n")
    done = wgcore("up", str(conf), ns=ns)
    assert done.returncode == 1
    assert "line 5: PublicKey: [Peer] without PublicKey" in done.stderr
    assert name not in netns.ip("-n", ns, "link", "show")
    bad_name = tmp_path / "this-name-is-far-too-long.conf"
    bad_name.write_text("[Interface]\n")
    assert "at most 15" in wgcore("up", str(bad_name), ns=ns).stderr


def test_up_failing_hook_rolls_back(ns: str, tmp_path: Path) -> None:
    name = f"wgch{os.getpid() % 100000}"
    conf = tmp_path / f"{name}.conf"
    conf.write_text("[Interface]\nAddress = 203.0.113.1/24\nPostUp = exit 3\n")
    done = wgcore("up", str(conf), ns=ns)
    assert done.returncode == 1 and "exit status 3" in done.stderr
    assert name not in netns.ip("-n", ns, "link", "show")
    assert not os.path.exists(default_socket_path(name))


def test_up_after_a_killed_up_cleans_up_by_itself(ns: str, tmp_path: Path) -> None:
    name = f"wgck{os.getpid() % 100000}"
    conf = tmp_path / f"{name}.conf"
    conf.write_text(f"[Interface]\nPrivateKey = {PrivateKey.generate().to_base64()}\nAddress = 203.0.113.1/24\n")
    pid_file = f"{SOCKET_DIR}/{name}.wgcore.pid"
    with running_up(ns, conf) as proc:
        proc.kill()  # no chance to clean up
        proc.wait()
    assert os.path.exists(pid_file) and os.path.exists(default_socket_path(name))
    with running_up(ns, conf) as proc:
        down = wgcore("down", name)
        assert down.returncode == 0, down.stderr
        _, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        assert f"removed {pid_file}" in err
    assert not os.path.exists(pid_file) and not os.path.exists(default_socket_path(name))


def test_files_of_a_killed_process_are_swept(root: None) -> None:
    name = f"wgcz{os.getpid() % 100000}"
    script = f"""
import os, wgcore
t = wgcore.Tunnel.in_memory("")
t.serve_uapi({default_socket_path(name)!r})
open("{SOCKET_DIR}/{name}.wgcore.pid", "w").write(f"{{os.getpid()}}\\n")
print("ready", flush=True)
input()
"""
    with subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          text=True, cwd="/") as proc:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        assert not [f for f in remove_stale_files() if f.startswith(name)]  # alive: kept
        proc.kill()
    assert {f"{name}.sock", f"{name}.wgcore.pid"} <= set(remove_stale_files())
    assert not os.path.exists(default_socket_path(name))


def test_show_of_a_host_transport_tunnel(root: None) -> None:
    name = f"wgcx{os.getpid() % 100000}"
    a, b = tunnel_pair("host")
    peer = b.config().public_key
    with a, b, a.serve_uapi(default_socket_path(name)):
        a.packets.send(ipv4(b"hello"))
        recv_one(b, lambda: carry(a, b))  # a's peer now reads back endpoint=0.0.0.0:0
        assert "\nendpoint=0.0.0.0:0\n" in a.get_config()
        done = wgcore("show", name)
    assert done.returncode == 0, done.stderr
    assert f"peer: {peer}" in done.stdout and "endpoint" not in done.stdout


@pytest.mark.daita
@pytest.mark.tools("ping")
def test_up_turns_daita_on_for_a_peer(namespaces: tuple[str, str], tmp_path: Path) -> None:
    a, b = namespaces
    name = f"wgcd{os.getpid() % 100000}"
    key_a, key_b = PrivateKey.generate(), PrivateKey.generate()
    conf = tmp_path / f"{name}.conf"
    conf.write_text(f"""
[Interface]
PrivateKey = {key_a.to_base64()}
ListenPort = 51820
Address = 203.0.113.1/24

[Peer]
PublicKey = {key_b.public_key}
AllowedIPs = 203.0.113.2/32
Endpoint = 198.18.0.2:51820
DAITA = on
ConstantPacketSize = true
""")
    peer = netns.run_in(b, lambda: Tunnel.from_interface(
        "wgd0", f"private_key={key_b.hex()}\nlisten_port=51820\npublic_key={key_a.public_key.hex()}\n"
                f"allowed_ip=203.0.113.1/32\n"))
    with peer, running_up(a, conf) as proc:
        netns.ip("-n", b, "addr", "add", "203.0.113.2/24", "dev", "wgd0")
        netns.ip("-n", b, "link", "set", "wgd0", "up")
        done = netns.run(a, "ping", "-c", "3", "-i", "0.2", "-W", "3", "203.0.113.2")
        assert done.returncode == 0, done.stdout + done.stderr
        time.sleep(0.5)
        got = peer.traffic()
        assert got.received.data.packets - got.to_app.packets > 0, "no padding reached the peer"
        assert got.received.data.bytes == got.received.data.packets * (1420 + 32), "constant size: all MTU"
        assert wgcore("down", name).returncode == 0
        assert proc.wait(timeout=20) == 0
        assert f"[#] DAITA for {key_b.public_key}: FRONT, BREAK_BURST" in proc.stderr.read()
