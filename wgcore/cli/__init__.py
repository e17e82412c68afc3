"""The ``wgcore`` command: keys, ``show``, ``up``/``down`` in the habits of wg and wg-quick.

Exit status is 0 on success, 1 on failure (message on stderr) and 2 for
a usage error. Keys travel through stdin and stdout, as with ``wg``.

The application on top of the library, which never imports it:
:mod:`wgcore.cli.wgquick` (``up``/``down``, usable from code),
:mod:`wgcore.cli.fetch` (``curl``) and :mod:`wgcore.cli.demo` (``demo``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.metadata
import os
import platform
import re
import ssl
import stat
import sys
from collections.abc import Sequence

from wgcore._constants import DEFAULT_MTU
from wgcore._native import version
from wgcore.cli import demo, wgquick
from wgcore.cli.fetch import FetchError, fetch
from wgcore.config import Interface
from wgcore.errors import ConfigError, InvalidArgumentError, WireGuardError
from wgcore.keys import PresharedKey, PrivateKey
from wgcore.tunnel import Tunnel
from wgcore.uapi import SOCKET_DIR, codec, default_socket_path, list_interfaces, uapi_get

__all__ = ["main"]


class CommandError(Exception):
    """A failure to report on stderr with exit status 1."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        for key, value in {**version(), **_platform()}.items():
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


WHEEL_GLIBC = "2.28"
"""The oldest glibc the wheels run on: .ci/run links libwg.so against its symbols."""


def _platform() -> dict[str, str]:
    """This Python, this glibc, this install's wheel tag, and what the wheels support."""
    dist = importlib.metadata.distribution("wgcore")
    pythons = [c.rsplit(" ", 1)[1] for c in dist.metadata.get_all("Classifier") or []
               if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)]
    tags = [line.removeprefix("Tag: ") for line in (dist.read_text("WHEEL") or "").splitlines()
            if line.startswith("Tag: ")]
    return {
        "python": platform.python_version(),
        "glibc": platform.libc_ver()[1] or "unknown",
        "wheel": ", ".join(tags) or "unknown",
        "wheels": f"CPython {', '.join(pythons)} on x86_64 Linux with glibc {WHEEL_GLIBC} or newer",
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wgcore", description="Userspace WireGuard for Python.")
    parser.add_argument("--version", action="store_true",
                        help="print every pinned version, whether DAITA is in, "
                        "and the Pythons and glibc the wheels support")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    sub.add_parser("genkey", help="print a new private key (base64)").set_defaults(run=_genkey)
    sub.add_parser("pubkey", help="read a private key on stdin, print its public key"
                   ).set_defaults(run=_pubkey)
    sub.add_parser("genpsk", help="print a new preshared key (base64)").set_defaults(run=_genpsk)
    show = sub.add_parser("show", help="show interfaces served on " + SOCKET_DIR)
    show.add_argument("interface", nargs="?", help="one interface, or 'interfaces' to list names")
    show.set_defaults(run=_show)
    up = sub.add_parser("up", help="bring up a tunnel from a .conf file and serve it in the foreground",
                        description=_UP_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    up.add_argument("config", help="a .conf file (its name, minus .conf, names the interface), "
                                   "or an interface name for /etc/wireguard/<name>.conf; "
                                   "with --entry, the exit hop's config")
    up.add_argument("--entry", metavar="ENTRY.conf",
                    help="multihop: the entry hop's .conf (see above); config is then the exit hop's")
    up.set_defaults(run=_up)
    down = sub.add_parser("down", help="stop a tunnel that 'wgcore up' is serving")
    down.add_argument("interface", help="interface name (or the .conf file used for up)")
    down.set_defaults(run=_down)
    curl = sub.add_parser("curl", help="fetch a URL through a tunnel from a .conf file, with no root (netstack)")
    curl.add_argument("config", help="a .conf file ('-': stdin); its Address and DNS are used unless given below")
    curl.add_argument("url", help="an http:// or https:// URL")
    curl.add_argument("--address", action="append", help="the tunnel's address (repeatable)")
    curl.add_argument("--dns", action="append", help="a DNS server inside the tunnel (repeatable)")
    curl.add_argument("-o", "--output", help="write the body here (default: stdout)")
    curl.add_argument("--cacert", help="trust this CA file instead of the system's")
    curl.add_argument("--progress", action="store_true", help="show a progress bar on stderr even off a terminal")
    curl.add_argument("--timeout", type=float, default=30.0, help="seconds per network wait (default 30)")
    curl.set_defaults(run=_curl)
    demo = sub.add_parser("demo", help="run a short demonstration")
    demo.add_argument("--seconds", type=float, default=3.0, help="how long to run (default 3)")
    demo.add_argument("--size", type=int, default=DEFAULT_MTU, help=f"packet size in bytes (default {DEFAULT_MTU})")
    demo.set_defaults(run=_demo)
    return parser


_UP_DESCRIPTION = f"""\
Bring up a tunnel as wg-quick does and serve it until SIGINT/SIGTERM or
'wgcore down'.

Multihop (two WireGuard hops: entry relay, then exit relay):
  wgcore up exit.conf --entry entry.conf
exit.conf is an ordinary wg-quick file for the exit relay: Address, DNS,
hooks, AllowedIPs routes, and one [Peer] whose Endpoint is the exit relay's
IPv4 address as the entry relay reaches it; no MTU or FwMark. entry.conf
is the entry relay's: PrivateKey, ListenPort, FwMark, MTU (the real
link's, default {DEFAULT_MTU}; the TUN gets 60 less), one [Peer] (Endpoint: the
entry relay; AllowedIPs covering the exit relay's address; DAITA if
wanted) and Address = the exit hop's IPv4 address inside the entry
tunnel; no DNS, Table or hooks. 'wgcore show' prints both hops; the entry
hop's UAPI socket is <name>.entry.
"""


def _curl(args: argparse.Namespace) -> int:
    try:
        if args.config == "-":
            interface = Interface.from_conf(sys.stdin.read())
        else:
            with open(args.config, encoding="utf-8") as f:
                interface = Interface.from_conf(f.read())
    except ConfigError as e:
        raise CommandError(f"{args.config}: {e}") from None
    context = ssl.create_default_context(cafile=args.cacert) if args.cacert else None
    progress = sys.stderr if args.progress or sys.stderr.isatty() else None
    with Tunnel.netstack(interface, addresses=args.address, dns=args.dns) as tunnel, \
            open(args.output, "wb") if args.output else contextlib.nullcontext(sys.stdout.buffer) as out:
        assert tunnel.net is not None  # a netstack tunnel has sockets
        try:
            fetch(tunnel.net, args.url, out, progress=progress, timeout=args.timeout, context=context)
        except FetchError as e:
            raise CommandError(str(e)) from None
    return 0


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
    served = list_interfaces()
    names = [name for name in served if not _is_entry_of(name, served)]
    if args.interface == "interfaces":
        print(" ".join(names))
        return 0
    if args.interface is not None:
        names = [args.interface]
    for i, name in enumerate(names):
        if i:
            print()
        entry = name + wgquick.ENTRY_SUFFIX
        if entry in served:  # a multihop tunnel: both hops, in the order packets leave
            print(_describe(name, _get(entry), "entry hop"), end="\n\n")
            print(_describe(name, _get(name), "exit hop"))
        else:
            print(_describe(name, _get(name)))
    return 0


def _is_entry_of(name: str, served: list[str]) -> bool:
    """True for the entry hop's socket name of a served multihop tunnel."""
    return name.endswith(wgquick.ENTRY_SUFFIX) and name.removesuffix(wgquick.ENTRY_SUFFIX) in served


def _get(name: str) -> str:
    try:
        return uapi_get(default_socket_path(name))
    except OSError as e:
        raise CommandError(f"Unable to access interface {name}: {e.strerror or e}") from None


def _describe(name: str, text: str, hop: str | None = None) -> str:
    """``wg show``-style text for one interface's UAPI "get" text (a
    multihop tunnel's ``hop`` labelled)."""
    device = codec.parse_get(text)
    config, stats = device.interface, device.stats
    lines = [f"interface: {name}" + (f" ({hop})" if hop else "")]
    if config.public_key is not None:
        lines += [f"  public key: {config.public_key}", "  private key: (hidden)"]
    if config.listen_port:
        lines.append(f"  listening port: {config.listen_port}")
    if config.fwmark:
        lines.append(f"  fwmark: {config.fwmark:#x}")
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


# -- up / down (wgcore.wgquick) ------------------------------------------------------

def _up(args: argparse.Namespace) -> int:
    interface, name = wgquick.load(args.config)
    entry = None if args.entry is None else wgquick.load_entry(args.entry)
    running = wgquick.up(interface, name, entry=entry)
    try:
        running.wait()
        print(f"wgcore: taking {name} down", file=sys.stderr)
    finally:
        running.close()
    return 0


def _down(args: argparse.Namespace) -> int:
    name = args.interface
    if "/" in name or name.endswith(".conf"):
        _, name = wgquick.conf_path(name)
    wgquick.down(name)
    return 0


# -- demo -----------------------------------------------------------------------

def _demo(args: argparse.Namespace) -> int:
    result: int = demo.run(seconds=args.seconds, packet_size=args.size)
    return result
