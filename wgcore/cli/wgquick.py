"""wg-quick as a library: bring an interface up from a config, and down again.

:func:`up` does what ``wg-quick up`` does, on a wgcore tunnel: PreUp hooks,
the TUN with the config's MTU, DAITA for peers whose ``Peer.daita`` names
machines, addresses, routes (a default route through a table of its own and
fwmark rules, as wg-quick), PostUp hooks, the UAPI socket and a pid file.
It returns an :class:`Up` whose :meth:`Up.close` undoes it all.
:func:`down` stops an interface another process brought up. ``wgcore up``
and ``wgcore down`` are this module plus argument parsing. Commands are
echoed (``[#] ...``) to ``log``, stderr by default, as wg-quick does.

Multihop: with ``entry=`` (a second ``.conf``, :func:`load_entry`) the
tunnel is :meth:`Tunnel.multihop`: the interface's own config is the exit
hop, and the entry config's peer is the entry relay, reached over the real
link. The entry config gives the link MTU (the TUN gets 60 less), the
exit hop's address inside the entry tunnel (its IPv4 ``Address``), DAITA
for the entry relay, and the fwmark of the real sockets; its UAPI socket
is ``<name>.entry``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

from wgcore._constants import DEFAULT_MTU  # libwg/wg_rules.h
from wgcore.config import Interface
from wgcore.daita import machine_names
from wgcore.errors import ConfigError, WgQuickError
from wgcore.tunnel import Hop, Tunnel
from wgcore.uapi import SOCKET_DIR, UapiServer, codec, default_socket_path, list_interfaces

__all__ = ["DEFAULT_MTU", "ENTRY_SUFFIX", "Up", "conf_path", "down", "load", "load_entry",
           "pid_path", "private_ip", "serve_entry", "serving_pid", "up"]

ENTRY_SUFFIX = ".entry"  # "<name>.entry": the UAPI socket of a multihop tunnel's entry hop
_NAME = re.compile(r"^[a-zA-Z0-9_=+.-]{1,15}$")
_DEFAULT_TABLE = 51820


def conf_path(arg: str) -> tuple[str, str]:
    """(path, interface name) the wg-quick way: a path, or a name in /etc/wireguard."""
    if "/" not in arg and not arg.endswith(".conf"):
        path = f"/etc/wireguard/{arg}.conf"
    else:
        path = arg
    name = os.path.basename(path).removesuffix(".conf")
    if not path.endswith(".conf") or not _NAME.match(name):
        raise WgQuickError(f"the config file must be <name>.conf with a name of at most 15 "
                           f"characters [a-zA-Z0-9_=+.-]: {arg!r}")
    return path, name


def load(arg: str) -> tuple[Interface, str]:
    """The config and interface name of a ``.conf`` path or interface name."""
    path, name = conf_path(arg)
    try:
        with open(path, encoding="utf-8") as f:
            return Interface.from_conf(f.read()), name
    except ConfigError as e:
        raise WgQuickError(f"{path}: {e}") from None


def load_entry(path: str) -> Interface:
    """The entry hop's config of a multihop ``wgcore up``: a ``.conf``
    with one peer (the entry relay) and the exit hop's IPv4 ``Address``
    inside the entry tunnel; wg-quick's other fields do not apply to it."""
    try:
        with open(path, encoding="utf-8") as f:
            entry = Interface.from_conf(f.read())
    except ConfigError as e:
        raise WgQuickError(f"{path}: {e}") from None
    for field, label in (("dns", "DNS"), ("table", "Table"), ("pre_up", "PreUp"), ("post_up", "PostUp"),
                         ("pre_down", "PreDown"), ("post_down", "PostDown"), ("save_config", "SaveConfig")):
        if getattr(entry, field):
            raise WgQuickError(f"{path}: {label} does not apply to the entry hop; put it in the exit config")
    if len(entry.peers) != 1:
        raise WgQuickError(f"{path}: the entry config needs exactly one [Peer], the entry relay "
                           f"(it has {len(entry.peers)})")
    private_ip(entry, path)
    return entry


def private_ip(entry: Interface, path: str = "the entry config") -> str:
    """The exit hop's address inside the entry tunnel: the entry config's one IPv4 ``Address``."""
    v4 = [address.ip for address in entry.addresses if address.version == 4]
    if len(v4) != 1:
        raise WgQuickError(f"{path}: Address must hold exactly one IPv4 address, the exit hop's "
                           f"address inside the entry tunnel (it has {len(v4)})")
    return str(v4[0])


def pid_path(name: str) -> str:
    """The pid file of the process serving interface ``name``."""
    return os.path.join(SOCKET_DIR, f"{name}.wgcore.pid")


class Up:
    """An interface :func:`up` brought up; :meth:`close` takes it down
    (PreDown hooks, UAPI socket, routing rules, tunnel, PostDown hooks)."""

    def __init__(self, name: str, interface: Interface, tunnel: Tunnel, server: UapiServer,
                 teardown: contextlib.ExitStack, log: TextIO | None, entry: Interface | None = None) -> None:
        self.name, self.interface, self.tunnel, self.server = name, interface, tunnel, server
        self.entry = entry  # a multihop tunnel's entry config
        self._teardown = teardown
        self._log = log
        self._closed = False

    def wait(self) -> None:
        """Block until SIGINT/SIGTERM or until someone deletes the UAPI socket
        (signals are caught only when called from the main thread)."""
        stop = threading.Event()
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stop.wait(0.5) and self.server.socket_exists():
                pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def close(self) -> None:
        """Take the interface down; closing twice is allowed."""
        if self._closed:
            return
        self._closed = True
        try:
            _hooks(self.interface.pre_down, self.name, self._log, check=False)
            self._teardown.close()
            _hooks(self.interface.post_down, self.name, self._log, check=False)
        finally:
            self._teardown.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(pid_path(self.name))

    def __enter__(self) -> Up:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def up(interface: Interface, name: str, *, entry: Interface | None = None,
       log: TextIO | None = sys.stderr) -> Up:
    """Bring interface ``name`` up from ``interface`` (see the module's docstring);
    with ``entry`` (see :func:`load_entry`), as the exit hop of a multihop tunnel.

    Needs CAP_NET_ADMIN and ``ip(8)``. WgQuickError if ``name`` is up
    already or a command or hook fails; whatever was done is undone then.
    """
    if serving_pid(name, log) is not None or name in list_interfaces():
        raise WgQuickError(f"{name} is already up")
    for unsupported in ("dns", "save_config"):
        if getattr(interface, unsupported):
            _say(log, f"wgcore: {unsupported.replace('_', ' ')} is kept in the config but not applied "
                      "by 'wgcore up'")
    if entry is not None:
        for field, label in (("mtu", "MTU"), ("fwmark", "FwMark")):
            if getattr(interface, field) is not None:
                raise WgQuickError(f"{label} of a multihop tunnel goes in the entry config (the real "
                                   "link's); the exit config must not set it")
    with contextlib.ExitStack() as undo:  # unwinds a half-done start
        _hooks(interface.pre_up, name, log, check=True)
        tunnel = undo.enter_context(_open(interface, entry, name, log))
        _activate_daita(tunnel, interface, log)
        if entry is not None and tunnel.entry is not None:
            _activate_daita(tunnel.entry, entry, log)
        for address in interface.addresses:
            _run(log, "ip", f"-{address.version}", "address", "add", str(address), "dev", name)
        _run(log, "ip", "link", "set", "mtu", str(tunnel.mtu), "up", "dev", name)
        _add_routes(tunnel, interface, entry, name, log, undo.callback)
        _hooks(interface.post_up, name, log, check=True)
        server = undo.enter_context(tunnel.serve_uapi())
        if tunnel.entry is not None:
            undo.enter_context(serve_entry(tunnel, tunnel.entry, name))
        with open(pid_path(name), "w") as f:
            f.write(f"{os.getpid()}\n")
        return Up(name, interface, tunnel, server, undo.pop_all(), log, entry)
    raise AssertionError("unreachable")  # pragma: no cover (ExitStack does not swallow)


def _open(interface: Interface, entry: Interface | None, name: str, log: TextIO | None) -> Tunnel:
    """The TUN ``name`` with a single-hop tunnel, or with a multihop one if ``entry``."""
    if entry is None:
        mtu = interface.mtu or DEFAULT_MTU
        _say(log, f"[#] open TUN {name}, mtu {mtu}")
        return Tunnel.from_interface(name, interface, mtu=mtu)
    link_mtu = entry.mtu or DEFAULT_MTU
    via = private_ip(entry)
    tunnel = Tunnel.multihop(entry, interface, private_ip=via, interface=name, mtu=link_mtu)
    _say(log, f"[#] opened TUN {name}, mtu {tunnel.mtu} (link mtu {link_mtu}), exit hop from {via} "
              "through the entry hop")
    return tunnel


def serve_entry(tunnel: Tunnel, entry: Hop, name: str) -> UapiServer:
    """Serve the entry hop of multihop ``tunnel`` on the UAPI socket
    ``<name>.entry``, where ``wgcore show`` (and ``wg``) read it; closed
    with the returned server."""
    return _EntryServer(_EntryHop(tunnel, entry), default_socket_path(name + ENTRY_SUFFIX))


class _EntryHop:
    """An entry hop as UapiServer serves a tunnel: UAPI get and set, and
    ``closed`` (which a Hop lacks) from its tunnel."""

    def __init__(self, tunnel: Tunnel, hop: Hop) -> None:
        self._tunnel, self.get_config, self.set_config = tunnel, hop.get_config, hop.set_config

    @property
    def closed(self) -> bool:
        return self._tunnel.closed


class _EntryServer(UapiServer):
    """A UapiServer that holds what it serves (a UapiServer holds a tunnel only weakly)."""

    def __init__(self, served: _EntryHop, path: str) -> None:
        self._served = served
        super().__init__(served, path)


def _activate_daita(hop: Tunnel | Hop, config: Interface, log: TextIO | None) -> None:
    """DAITA for the peers of ``config`` whose ``daita`` names machines."""
    for peer in config.peers:
        if peer.daita:
            _say(log, f"[#] DAITA for {peer.public_key}: {', '.join(machine_names(peer.daita))}")
            hop.activate_daita(peer.public_key, peer.daita)


def down(name: str, *, timeout: float = 15) -> None:
    """Stop the process serving interface ``name`` (a ``wgcore up`` or a
    :meth:`Up.wait`) with SIGTERM and wait until it took the interface down."""
    path = pid_path(name)
    pid = serving_pid(name)
    if pid is None:
        raise WgQuickError(f"{name} is not up (no 'wgcore up' serving it)")
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while os.path.exists(path) and _is_wgcore(pid):
        if time.monotonic() > deadline:
            raise WgQuickError(f"process {pid} did not stop {name} within {timeout:g} s")
        time.sleep(0.05)


def serving_pid(name: str, log: TextIO | None = sys.stderr) -> int | None:
    """The pid of the live process serving ``name``, or None; the pid file
    of one that died (killed, say) is removed on the way."""
    path = pid_path(name)
    try:
        with open(path) as f:
            text = f.read().strip()
    except FileNotFoundError:
        return None
    if text.isascii() and text.isdigit() and _is_wgcore(int(text)):
        return int(text)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    _say(log, f"wgcore: removed {path}: its 'wgcore up' (pid {text}) is gone")
    return None


def _is_wgcore(pid: int) -> bool:
    """True if ``pid`` is a live (not zombie) process running wgcore: the
    ``wgcore`` command, or any program that loaded libwg (this library)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read()
        if state != b"Z" and b"wgcore" not in cmdline:
            with open(f"/proc/{pid}/maps", "rb") as f:
                return b"/wgcore/libwg" in f.read()
    except (OSError, IndexError):
        return False
    return state != b"Z"


def _say(log: TextIO | None, line: str) -> None:
    if log is not None:
        print(line, file=log, flush=True)


def _run(log: TextIO | None, *cmd: str) -> str:
    """Run a command as wg-quick does, echoing it; WgQuickError if it fails."""
    _say(log, f"[#] {' '.join(cmd)}")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise WgQuickError(f"{' '.join(cmd)}: {done.stderr.strip() or f'exit status {done.returncode}'}")
    return done.stdout


def _quiet(*cmd: str) -> None:
    with contextlib.suppress(WgQuickError):
        _run(None, *cmd)


def _hooks(hooks: list[str], name: str, log: TextIO | None, *, check: bool) -> None:
    shell = shutil.which("bash") or "/bin/sh"
    for hook in hooks:
        command = hook.replace("%i", name)
        _say(log, f"[#] {command}")
        rc = subprocess.run([shell, "-c", command]).returncode
        if rc != 0 and check:
            raise WgQuickError(f"hook {command!r} failed with exit status {rc}")


def _add_routes(tunnel: Tunnel, interface: Interface, entry: Interface | None, name: str, log: TextIO | None,
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
            _run(log, "ip", family, "route", "add", str(net), "dev", name, "table", table)
        elif net.prefixlen == 0:
            _add_default_route(tunnel, entry or interface, name, net.version, log, on_down)
        elif not _run(log, "ip", family, "route", "show", "dev", name, "match", str(net)).strip():
            _run(log, "ip", family, "route", "add", str(net), "dev", name)


def _add_default_route(tunnel: Tunnel, sockets: Interface, name: str, version: int, log: TextIO | None,
                       on_down: Callable[..., object]) -> None:
    """wg-quick's default route: a table of its own, selected by fwmark rules.
    The mark goes on the hop with the real UDP sockets, configured by ``sockets``
    (a multihop tunnel's entry hop)."""
    mark = sockets.fwmark or _DEFAULT_TABLE
    if not sockets.fwmark:
        (tunnel.entry or tunnel).set_config(codec.device_set(fwmark=mark))
        sockets.fwmark = mark
    family, table = f"-{version}", str(mark)
    _run(log, "ip", family, "route", "add", "::/0" if version == 6 else "0.0.0.0/0", "dev", name, "table", table)
    for rule in (("not", "fwmark", table, "table", table),
                 ("table", "main", "suppress_prefixlength", "0")):
        _run(log, "ip", family, "rule", "add", *rule)
        on_down(_quiet, "ip", family, "rule", "delete", *rule)
    if version == 4:
        with contextlib.suppress(OSError), open("/proc/sys/net/ipv4/conf/all/src_valid_mark", "w") as f:
            f.write("1\n")
