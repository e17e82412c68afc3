"""maybenot 1.x machine strings built byte by byte, independently of
maybenot (version 1 layout, zlib, hex), to feed libwg good and bad ones."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

EVENTS = (
    "NonPaddingRecv", "PaddingRecv", "NonPaddingSent", "PaddingSent",
    "BlockingBegin", "BlockingEnd", "LimitReached", "UpdateMTU",
)
DISTS = ("None", "Uniform", "Normal", "LogNormal", "Binomial", "Geometric", "Pareto", "Poisson", "Weibull", "Gamma", "Beta")

Target = int | str  # a state index, "cancel" (STATECANCEL) or "end" (STATEEND)


@dataclass
class Dist:
    type: str | int = "None"  # a name from DISTS, or a raw type code
    param1: float = 0.0
    param2: float = 0.0
    start: float = 0.0
    max: float = 0.0

    def pack(self) -> bytes:
        code = DISTS.index(self.type) if isinstance(self.type, str) else self.type
        return struct.pack("<H4d", code, self.param1, self.param2, self.start, self.max)


@dataclass
class State:
    next: dict[str, dict[Target, float]] = field(default_factory=dict)
    action: Dist = field(default_factory=Dist)
    limit: Dist = field(default_factory=Dist)
    timeout: Dist = field(default_factory=Dist)
    block: bool = False

    def pack(self, states: int) -> bytes:
        out = self.action.pack() + self.limit.pack() + self.timeout.pack()
        out += bytes([self.block, 0, 0, 0])
        for event in EVENTS:
            row = [0.0] * (states + 2)
            for target, p in self.next.get(event, {}).items():
                row[target if isinstance(target, int) else {"cancel": states, "end": states + 1}[target]] = p
            out += struct.pack(f"<{states + 2}d", *row)
        return out


def pack(states: list[State], *, version: int = 1, allowed_padding_bytes: int = 0,
         max_padding_frac: float = 0.0, max_blocking_frac: float = 0.0) -> bytes:
    """The uncompressed bytes of a machine."""
    header = struct.pack("<HQdQdBH", version, allowed_padding_bytes, max_padding_frac, 0, max_blocking_frac,
                         0, len(states))
    return header + b"".join(s.pack(len(states)) for s in states)


def text(raw: bytes) -> str:
    """A machine string: hex of zlib of raw bytes."""
    return zlib.compress(raw).hex()


def machine(states: list[State], **header: float) -> str:
    return text(pack(states, **header))  # type: ignore[arg-type]


def good_states() -> list[State]:
    """Idle until an app packet is sent, then five MTU-sized padding
    packets a millisecond apart, then idle again."""
    return [
        State({"NonPaddingSent": {1: 1.0}}, limit=Dist("Uniform")),
        State({"PaddingSent": {1: 1.0}, "LimitReached": {0: 1.0}},
              timeout=Dist("Uniform", 1000, 1000), limit=Dist("Uniform", 5, 5)),
    ]


def good() -> str:
    return machine(good_states())


def with_padding_state(**changes: object) -> str:
    """good() with attributes of its padding state replaced."""
    states = good_states()
    for name, value in changes.items():
        setattr(states[1], name, value)
    return machine(states)
