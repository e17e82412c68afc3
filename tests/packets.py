"""Building IP packets and carrying datagrams between in-memory tunnels."""

from __future__ import annotations

import array
import random
import re
import time
from collections.abc import Callable

import wgcore

from . import lab
from .lab import ipv4_packet as ipv4


Link = Callable[[list[bytes]], list[bytes]]


def perfect(datagrams: list[bytes]) -> list[bytes]:
    return datagrams


def carry(a: wgcore.Tunnel, b: wgcore.Tunnel, link: Link = perfect) -> int:
    """Move waiting datagrams both ways through ``link``; return how many moved."""
    buf = bytearray(256 * 1600)
    lens = array.array("I", bytes(4 * 256))
    moved = 0
    for src, dst in ((a, b), (b, a)):
        n = src.datagrams.recv_batch_into(buf, lens, timeout=0)
        datagrams, offset = [], 0
        for size in lens[:n]:
            datagrams.append(bytes(buf[offset : offset + size]))
            offset += size
        out = link(datagrams)
        while out:
            accepted = dst.datagrams.send_batch(out, timeout=1)
            out = out[accepted:]
        moved += n
    return moved


class LossyLink:
    """Drops, duplicates and reorders datagrams at the given rates."""

    def __init__(self, rng: random.Random, loss: float, duplicate: float, reorder: float) -> None:
        self.rng, self.loss, self.duplicate, self.reorder = rng, loss, duplicate, reorder
        self.held: list[bytes] = []

    def __call__(self, datagrams: list[bytes]) -> list[bytes]:
        out = []
        for d in datagrams:
            if self.rng.random() < self.loss:
                continue
            if self.rng.random() < self.reorder:
                self.held.append(d)  # delivered after later ones
                continue
            out.append(d)
            if self.rng.random() < self.duplicate:
                out.append(d)
        if self.held and self.rng.random() < 0.5:
            out.extend(self.held)
            self.held.clear()
        return out


def recv_one(t: wgcore.Tunnel, pump: Callable[[], object] | None, timeout: float = 10) -> bytes:
    """Wait for one packet on t, carrying datagrams meanwhile if pump is given."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pump is not None:
            pump()
        try:
            return t.packets.recv(timeout=0 if pump else 0.1)
        except TimeoutError:
            if pump is not None:
                time.sleep(0.0005)
    raise TimeoutError("no packet arrived")


def move(src: wgcore.Tunnel, dst: wgcore.Tunnel) -> list[bytes]:
    """Carry the datagrams src has sent to dst, one way; return them."""
    buf, lens = bytearray(256 * 1600), array.array("I", bytes(4 * 256))
    n = src.datagrams.recv_batch_into(buf, lens, timeout=0)
    out, offset = [], 0
    for size in lens[:n]:
        out.append(bytes(buf[offset : offset + size]))
        offset += size
    rest = out
    while rest:
        rest = rest[dst.datagrams.send_batch(rest, timeout=1):]
    return out


def handshaken_pair() -> tuple[wgcore.Tunnel, wgcore.Tunnel]:
    """A host-carried pair that has carried one packet A to B."""
    a, b = lab.tunnel_pair("host")
    a.packets.send(lab.ipv4_packet(b"hello"), timeout=1)
    assert recv_one(b, lambda: carry(a, b)) == lab.ipv4_packet(b"hello")
    return a, b


def crosses(a: wgcore.Tunnel, b: wgcore.Tunnel, payload: bytes) -> bool:
    """A packet from A reaches B intact (datagrams carried both ways)."""
    packet = lab.ipv4_packet(payload)
    a.packets.send(packet, timeout=1)
    return recv_one(b, lambda: carry(a, b)) == packet


def peer_key(t: wgcore.Tunnel) -> bytes:
    """The public key of t's only peer."""
    found = re.search(r"^public_key=([0-9a-f]{64})$", t.get_config(), re.M)
    assert found is not None
    return bytes.fromhex(found.group(1))
