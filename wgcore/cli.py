"""The ``wgcore`` command: keys, ``show``, ``up``/``down`` in the habits of wg and wg-quick.

Exit status is 0 on success, 1 on failure (message on stderr) and 2 for
a usage error. Keys travel through stdin and stdout, as with ``wg``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from wgcore._native import version
from wgcore.config import ConfigError, Interface
from wgcore.daita import machine_names
from wgcore.errors import InvalidArgumentError, WireGuardError
from wgcore.keys import PresharedKey, PrivateKey
from wgcore.stats import parse_stats
from wgcore.tunnel import Tunnel
from wgcore.uapi import SOCKET_DIR, default_socket_path, list_interfaces, uapi_get

__all__ = ["main"]

_NAME = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")
_DEFAULT_TABLE = 51820


class CommandError(Exception):
    """A failure to report on stderr with exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        for key, value in version().items():
            print(f"{key}: {value}")
        return 0
    if args.command is None:
        parser.print_help()
        return 0
    try:
        result: int = args.run(args)
        return result
    except (CommandError, WireGuardError, OSError) as e:
        print(f"wgcore: {e}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wgcore", description="Userspace WireGuard for Python.")
    parser.add_argument("--version", action="store_true",
                        help="print every pinned version and whether DAITA is in")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    sub.add_parser("genkey", help="print a new private key (base64)").set_defaults(run=_genkey)
    sub.add_parser("pubkey", help="read a private key on stdin, print its public key"
                   ).set_defaults(run=_pubkey)
    sub.add_parser("genpsk", help="print a new preshared key (base64)").set_defaults(run=_genpsk)
    show = sub.add_parser("show", help="show interfaces served on " + SOCKET_DIR)
    show.add_argument("interface", nargs="?", help="one interface, or 'interfaces' to list names")
    show.set_defaults(run=_show)
    up = sub.add_parser("up", help="bring up a tunnel from a .conf file and serve it in the foreground")
    up.add_argument("config", help="a .conf file (its name, minus .conf, names the interface), "
                                   "or an interface name for /etc/wireguard/<name>.conf")
    up.set_defaults(run=_up)
    down = sub.add_parser("down", help="stop a tunnel that 'wgcore up' is serving")
    down.add_argument("interface", help="interface name (or the .conf file used for up)")
    down.set_defaults(run=_down)
    demo = sub.add_parser("demo", help="run a short demonstration")
    demo.add_argument("--seconds", type=float, default=3.0, help="how long to run (default 3)")
    demo.add_argument("--size", type=int, default=1420, help="packet size in bytes (default 1420)")
    demo.set_defaults(run=_demo)
    return parser


# -- keys -------------------------------------------------------------------

def _warn_if_world_readable() -> None:
    """``wg genkey``'s habit: warn when a key goes to a file others can read."""
    with contextlib.suppress(OSError):
        st = os.fstat(sys.stdout.fileno())
        if stat.S_ISREG(st.st_mode) and st.st_mode & 0o007:
            print("Warning: writing to world accessible file.\n"
                  "Consider setting the umask to 077 and trying again.", file=sys.stderr)


def _genkey(args: argparse.Namespace) -> int:
    _warn_if_world_readable()
    print(PrivateKey.generate().to_base64())
    return 0


def _genpsk(args: argparse.Namespace) -> int:
    _warn_if_world_readable()
    print(PresharedKey.generate().to_base64())
    return 0


def _pubkey(args: argparse.Namespace) -> int:
    try:
        key = PrivateKey.from_base64(sys.stdin.read())
    except InvalidArgumentError:
        raise CommandError("Key is not the correct length or format") from None
    print(key.public_key.to_base64())
    return 0


# -- show -------------------------------------------------------------------

def _show(args: argparse.Namespace) -> int:
    names = list_interfaces()
    if args.interface == "interfaces":
        print(" ".join(names))
        return 0
    if args.interface is not None:
        names = [args.interface]
    for i, name in enumerate(names):
        if i:
            print()
        try:
            text = uapi_get(default_socket_path(name))
        except OSError as e:
            raise CommandError(f"Unable to access interface {name}: {e.strerror or e}") from None
        print(_describe(name, text))
    return 0


def _describe(name: str, text: str) -> str:
    """``wg show``-style text for one interface's UAPI "get" text."""
    config = Interface.from_uapi(text)
    lines = [f"interface: {name}"]
    if config.public_key is not None:
        lines += [f"  public key: {config.public_key}", "  private key: (hidden)"]
    if config.listen_port:
        lines.append(f"  listening port: {config.listen_port}")
    if config.fwmark:
        lines.append(f"  fwmark: {config.fwmark:#x}")
    stats = parse_stats(text)
    for peer in config.peers:
        s = stats[peer.public_key]
        lines += ["", f"peer: {peer.public_key}"]
        if peer.preshared_key is not None:
            lines.append("  preshared key: (hidden)")
        if peer.endpoint is not None:
            lines.append(f"  endpoint: {peer.endpoint}")
        lines.append("  allowed ips: " + (", ".join(map(str, peer.allowed_ips)) or "(none)"))
        if s.last_handshake is not None:
            ago = datetime.datetime.now(datetime.timezone.utc) - s.last_handshake
            lines.append(f"  latest handshake: {_ago(ago)}")
        if s.rx_bytes or s.tx_bytes:
            lines.append(f"  transfer: {_size(s.rx_bytes)} received, {_size(s.tx_bytes)} sent")
        if peer.persistent_keepalive:
            lines.append(f"  persistent keepalive: every {peer.persistent_keepalive} seconds")
    return "\n".join(lines)


def _ago(delta: datetime.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return (", ".join(parts) or "Now") + (" ago" if parts else "")


def _size(count: int) -> str:
    units = ("B", "KiB", "MiB", "GiB", "TiB")
    value, power = float(count), 0
    while value >= 1024 and power < len(units) - 1:
        value, power = value / 1024, power + 1
    return f"{count} B" if power == 0 else f"{value:.2f} {units[power]}"


# -- up / down ----------------------------------------------------------------

def _conf_path(arg: str) -> tuple[str, str]:
    """(path, interface name) the wg-quick way: a path, or a name in /etc/wireguard."""
    if "/" not in arg and not arg.endswith(".conf"):
        path = f"/etc/wireguard/{arg}.conf"
    else:
        path = arg
    name = os.path.basename(path).removesuffix(".conf")
    if not path.endswith(".conf") or not _NAME.match(name):
        raise CommandError(f"the config file must be <name>.conf with a name of at most 15 "
                           f"characters [a-zA-Z0-9_=+.-]: {arg!r}")
    return path, name


def _pid_path(name: str) -> str:
    return os.path.join(SOCKET_DIR, f"{name}.wgcore.pid")


def _run(*cmd: str) -> str:
    """Run a command as wg-quick does, echoing it; CommandError if it fails."""
    print(f"[#] {' '.join(cmd)}", file=sys.stderr)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise CommandError(f"{' '.join(cmd)}: {done.stderr.strip() or f'exit status {done.returncode}'}")
    return done.stdout


def _hooks(hooks: list[str], name: str, *, check: bool) -> None:
    shell = shutil.which("bash") or "/bin/sh"
    for hook in hooks:
        command = hook.replace("%i", name)
        print(f"[#] {command}", file=sys.stderr)
        rc = subprocess.run([shell, "-c", command]).returncode
        if rc != 0 and check:
            raise CommandError(f"hook {command!r} failed with exit status {rc}")


def _up(args: argparse.Namespace) -> int:
    path, name = _conf_path(args.config)
    try:
        with open(path, encoding="utf-8") as f:
            interface = Interface.from_conf(f.read())
    except ConfigError as e:
        raise CommandError(f"{path}: {e}") from None
    if _serving_pid(name) is not None or name in list_interfaces():
        raise CommandError(f"{name} is already up")
    for unsupported in ("dns", "save_config"):
        if getattr(interface, unsupported):
            print(f"wgcore: {unsupported.replace('_', ' ')} is kept in the config but not applied "
                  "by 'wgcore up'", file=sys.stderr)
    mtu = interface.mtu or 1420
    with contextlib.ExitStack() as undo:  # unwinds a half-done start
        _hooks(interface.pre_up, name, check=True)
        print(f"[#] open TUN {name}, mtu {mtu}", file=sys.stderr)
        tunnel = undo.enter_context(Tunnel.from_interface(name, interface, mtu=mtu))
        for peer in interface.peers:
            if peer.daita:
                print(f"[#] DAITA for {peer.public_key}: {', '.join(machine_names(peer.daita))}",
                      file=sys.stderr)
                tunnel.activate_daita(peer.public_key, peer.daita)
        for address in interface.addresses:
            _run("ip", f"-{address.version}", "address", "add", str(address), "dev", name)
        _run("ip", "link", "set", "mtu", str(mtu), "up", "dev", name)
        _add_routes(tunnel, interface, name, undo.callback)
        _hooks(interface.post_up, name, check=True)
        server = undo.enter_context(tunnel.serve_uapi())
        with open(_pid_path(name), "w") as f:
            f.write(f"{os.getpid()}\n")
        teardown = undo.pop_all()
    try:
        _wait_for_stop(server.socket_exists)
        print(f"wgcore: taking {name} down", file=sys.stderr)
        _hooks(interface.pre_down, name, check=False)
        teardown.close()  # UAPI socket, routing rules, then the tunnel and its interface
        _hooks(interface.post_down, name, check=False)
    finally:
        teardown.close()
        os.unlink(_pid_path(name))
    return 0


def _add_routes(tunnel: Tunnel, interface: Interface, name: str,
                on_down: Callable[..., object]) -> None:
    """Routes for every allowed IP, as wg-quick adds them (Table = off/auto/<n>)."""
    table = interface.table
    if table == "off":
        return
    networks = sorted({net for peer in interface.peers for net in peer.allowed_ips},
                      key=lambda n: (-n.prefixlen, n.version, n))
    for net in networks:
        family = f"-{net.version}"
        if table not in (None, "auto"):
            _run("ip", family, "route", "add", str(net), "dev", name, "table", table)
        elif net.prefixlen == 0:
            _add_default_route(tunnel, interface, name, net.version, on_down)
        elif not _run("ip", family, "route", "show", "dev", name, "match", str(net)).strip():
            _run("ip", family, "route", "add", str(net), "dev", name)


def _add_default_route(tunnel: Tunnel, interface: Interface, name: str, version: int,
                       on_down: Callable[..., object]) -> None:
    """wg-quick's default route: a table of its own, selected by fwmark rules."""
    mark = interface.fwmark or _DEFAULT_TABLE
    if not interface.fwmark:
        tunnel.set_config(f"fwmark={mark}\n")
        interface.fwmark = mark
    family, table = f"-{version}", str(mark)
    _run("ip", family, "route", "add", "::/0" if version == 6 else "0.0.0.0/0", "dev", name, "table", table)
    for rule in (("not", "fwmark", table, "table", table),
                 ("table", "main", "suppress_prefixlength", "0")):
        _run("ip", family, "rule", "add", *rule)
        on_down(_quiet, "ip", family, "rule", "delete", *rule)
    if version == 4:
        with contextlib.suppress(OSError), open("/proc/sys/net/ipv4/conf/all/src_valid_mark", "w") as f:
            f.write("1\n")


def _quiet(*cmd: str) -> None:
    with contextlib.suppress(CommandError):
        _run(*cmd)


def _wait_for_stop(socket_exists: Callable[[], bool]) -> None:
    """Block until SIGINT/SIGTERM or until someone deletes the UAPI socket."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while not stop.wait(0.5) and socket_exists():
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _down(args: argparse.Namespace) -> int:
    name = args.interface
    if "/" in name or name.endswith(".conf"):
        _, name = _conf_path(name)
    pid_path = _pid_path(name)
    pid = _serving_pid(name)
    if pid is None:
        raise CommandError(f"{name} is not up (no 'wgcore up' serving it)")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while os.path.exists(pid_path) and _is_wgcore(pid):
        if time.monotonic() > deadline:
            raise CommandError(f"process {pid} did not stop {name} within 15 s")
        time.sleep(0.05)
    return 0


def _serving_pid(name: str) -> int | None:
    """The pid of the live 'wgcore up' serving ``name``, or None; the pid
    file of one that died (killed, say) is removed on the way."""
    pid_path = _pid_path(name)
    try:
        with open(pid_path) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    if text.isascii() and text.isdigit() and _is_wgcore(int(text)):
        return int(text)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pid_path)
    print(f"wgcore: removed {pid_path}: its 'wgcore up' (pid {text}) is gone", file=sys.stderr)
    return None


def _is_wgcore(pid: int) -> bool:
    """True if ``pid`` is a live (not zombie) process running wgcore."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
    except (OSError, IndexError):
        return False
    return state != b"Z" and b"wgcore" in cmdline


# -- demo -----------------------------------------------------------------------

def _demo(args: argparse.Namespace) -> int:
    from wgcore import demo

    result: int = demo.run(seconds=args.seconds, packet_size=args.size)
    return result
