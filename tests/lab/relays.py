"""Two real WireGuard relays in network namespaces, for multihop tests and benchmarks.

::

    client ──veth── entry relay ──veth── exit relay ──veth── server
    198.18.0.1    .2           .5      .6           .9      .10

The relays are Debian's ``wireguard-go`` (configured with ``wg``). The
entry relay (tunnel 198.51.100.1/24, client 198.51.100.2) forwards what
its tunnel delivers for the exit relay's underlay address and masquerades
it (nftables), so the exit relay sees the entry relay, not the client.
The exit relay (tunnel 203.0.113.1/24, client 203.0.113.2) forwards to the
server. The client also has an ordinary route to the exit relay through the
entry relay (which forwards it unchanged): a single-hop tunnel to the exit
relay works too, and a multihop tunnel that leaked to it would show on the
client's wire. Needs root, ``wireguard-go``, ``wg`` and ``nft``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

from wgcore.config import Interface, Peer
from wgcore.keys import PrivateKey
from wgcore.uapi import SOCKET_DIR
from wgcore.values import Endpoint

from . import netns

__all__ = ["CLIENT", "ENTRY_RELAY", "EXIT_RELAY", "PRIVATE_IP", "SERVER", "TUNNEL_IP", "Relays", "relays"]

CLIENT, ENTRY_RELAY, EXIT_RELAY, SERVER = "198.18.0.1", "198.18.0.2", "198.18.0.6", "198.18.0.10"
PRIVATE_IP = "198.51.100.2"  # the client in the entry tunnel: the exit hop's source
TUNNEL_IP = "203.0.113.2"  # the client in the exit tunnel: its TUN address
PORT = 51820
_MASQUERADE = """table ip relay {
  chain postrouting {
    type nat hook postrouting priority srcnat;
    ip saddr 198.51.100.0/24 oifname "veth1" masquerade
  }
}
"""


@dataclass
class Relays:
    """The namespaces and keys of one topology; ``entry_interface`` and
    ``exit_interface`` are the client's configs for the two hops."""

    client: str
    entry: str
    exit: str
    server: str
    entry_ifname: str  # the relays' wireguard-go interfaces
    exit_ifname: str
    entry_interface: Interface
    exit_interface: Interface

    def client_endpoint(self, relay: str) -> str:
        """Where the entry or exit relay sees the client ("address:port", ``wg show``)."""
        ifname = self.entry_ifname if relay == "entry" else self.exit_ifname
        out = _check(["ip", "netns", "exec", getattr(self, relay), "wg", "show", ifname, "endpoints"])
        return out.split()[1]  # its only peer's

    def relay_transfer(self, relay: str) -> tuple[int, int]:
        """(received, sent) bytes of the entry or exit relay's only peer (the client)."""
        ifname = self.entry_ifname if relay == "entry" else self.exit_ifname
        out = _check(["ip", "netns", "exec", getattr(self, relay), "wg", "show", ifname, "transfer"])
        _, rx, tx = out.split()
        return int(rx), int(tx)

    def route_via(self, ifname: str) -> None:
        """Give the client's TUN ``ifname`` its exit-tunnel address and the server's route."""
        netns.ip("-n", self.client, "addr", "add", f"{TUNNEL_IP}/24", "dev", ifname)
        netns.ip("-n", self.client, "link", "set", ifname, "up")
        netns.ip("-n", self.client, "route", "add", f"{SERVER}/32", "dev", ifname)


@contextlib.contextmanager
def relays(tag: str) -> Iterator[Relays]:
    """Build the topology in namespaces ``<tag>c``, ``<tag>e``, ``<tag>x``,
    ``<tag>s`` (``tag`` at most 14 characters: it names the relays' interfaces too); all is removed on exit."""
    client_entry, client_exit, entry_key, exit_key = (PrivateKey.generate() for _ in range(4))
    with contextlib.ExitStack() as stack:
        c, e, x, s = (stack.enter_context(netns.namespace(tag + role)) for role in "cexs")
        netns.veth(c, f"{CLIENT}/30", e, f"{ENTRY_RELAY}/30")
        netns.veth(e, "198.18.0.5/30", x, f"{EXIT_RELAY}/30", name_a="veth1")
        netns.veth(x, "198.18.0.9/30", s, f"{SERVER}/30", name_a="veth1")
        netns.ip("-n", c, "route", "add", "198.18.0.4/30", "via", ENTRY_RELAY)
        netns.ip("-n", x, "route", "add", "198.18.0.0/30", "via", "198.18.0.5")
        netns.ip("-n", s, "route", "add", "203.0.113.0/24", "via", "198.18.0.9")
        for ns in (e, x):
            _check(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
        _check(["ip", "netns", "exec", e, "nft", "-f", "-"], text=_MASQUERADE)
        entry_if, exit_if = stack.enter_context(_wireguard_go(e, tag + "e")), stack.enter_context(
            _wireguard_go(x, tag + "x"))
        _relay(e, entry_if, entry_key, client_entry, f"{PRIVATE_IP}/32", "198.51.100.1/24")
        _relay(x, exit_if, exit_key, client_exit, f"{TUNNEL_IP}/32", "203.0.113.1/24")
        entry = Interface(private_key=client_entry, peers=[
            Peer(entry_key.public_key, [f"{EXIT_RELAY}/32"], Endpoint(ENTRY_RELAY, PORT))])
        exit_ = Interface(private_key=client_exit, peers=[
            Peer(exit_key.public_key, ["203.0.113.0/24", f"{SERVER}/32"], Endpoint(EXIT_RELAY, PORT))])
        yield Relays(c, e, x, s, entry_if, exit_if, entry, exit_)


@contextlib.contextmanager
def _wireguard_go(ns: str, ifname: str) -> Iterator[str]:
    """Debian's wireguard-go in the foreground in ``ns``; its interface name."""
    sock = os.path.join(SOCKET_DIR, f"{ifname}.sock")
    proc = subprocess.Popen(["ip", "netns", "exec", ns, "setpriv", "--pdeathsig", "TERM", "wireguard-go", "-f",
                             ifname], env={**os.environ, "WG_PROCESS_FOREGROUND": "1"}, cwd="/",
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"wireguard-go {ifname} did not start: {proc.communicate()[1].strip()}")
            time.sleep(0.02)
        yield ifname
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(sock)


def _relay(ns: str, ifname: str, key: PrivateKey, client: PrivateKey, client_ip: str, address: str) -> None:
    """Configure a relay: listen on PORT, the client as its only peer, its tunnel address."""
    _check(["ip", "netns", "exec", ns, "wg", "setconf", ifname, "/dev/stdin"], text=(
        f"[Interface]\nPrivateKey = {key.to_base64()}\nListenPort = {PORT}\n\n"
        f"[Peer]\nPublicKey = {client.public_key}\nAllowedIPs = {client_ip}\n"))
    netns.ip("-n", ns, "addr", "add", address, "dev", ifname)
    netns.ip("-n", ns, "link", "set", ifname, "up")


def _check(cmd: list[str], text: str | None = None) -> str:
    done = subprocess.run(cmd, input=text, capture_output=True, text=True, timeout=30, cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:6])}: {done.stderr.strip() or done.returncode}")
    return done.stdout
