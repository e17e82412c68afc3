"""maybenot 1.x machine strings built byte by byte, independently of
maybenot (version 1 layout, zlib, hex), to feed libwg good and bad ones."""

from __future__ import annotations

import math
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


# (id, machine text, the refusal libwg gives, naming the machine)
BAD = [
    ("garbage hex", "zz", "is not hex"),
    ("hex of non-zlib", "00ff00ff", "is not zlib data"),
    ("corrupt zlib", "789c00ff00ff00ff", "corrupt zlib data"),
    ("zlib bomb", text(bytes(2_000_000)), "decompresses to more than"),
    ("wrong version", text(b"\x02\x00" + pack(good_states())[2:]), "is version 2"),
    ("no states", machine([]), "has no states"),
    ("blocking state", with_padding_state(block=True), "state 1 blocks outgoing traffic"),
    ("cancel transition", with_padding_state(next={"PaddingSent": {"cancel": 1.0}}),
     "state 1 moves to STATECANCEL on PaddingSent"),
    ("end transition", with_padding_state(next={"LimitReached": {"end": 1.0}}),
     "state 1 moves to STATEEND on LimitReached"),
    ("huge padding", with_padding_state(action=Dist("Uniform", 100, 9000)), "can pad 9000 bytes"),
    ("unbounded padding", with_padding_state(action=Dist("Poisson", 1000, 0, 4)), "pads an unbounded size"),
    ("too-small padding", with_padding_state(action=Dist("Uniform", 1, 3)), "can pad 1 bytes"),
    ("NaN fraction", machine(good_states(), max_padding_frac=math.nan), "has max_padding_frac NaN"),
    ("NaN parameter", with_padding_state(timeout=Dist("Uniform", math.nan, 1)),
     "the timeout distribution has param1 NaN"),
    ("binomial", with_padding_state(limit=Dist("Binomial", 10, 0.5)), "is Binomial"),
    ("never-built geometric", with_padding_state(timeout=Dist("Geometric", 1e-300)),
     "is Geometric with probability 1e-300"),
]
