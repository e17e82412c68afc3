"""DAITA machines: maybenot 1.x state machines that decide when a peer sends
padding, checked by libwg, and the defences wgcore ships.

libwg parses every machine with maybenot 1.1.3 and refuses those Mullvad's
fork cannot run safely (it would abort the process on a blocking or cancel
action) or would drop (padding outside 4..MTU bytes); README "DAITA
machines" lists the rules. The shipped machines were generated with
maybenot itself by ``subprojects/daita-machines``; each pads to the MTU, so
with ``constant_packet_size`` padding looks like data. Their costs are
estimates at an MTU of 1420 (``benchmarks/daita.py`` measures them).
"""

from __future__ import annotations

import copy
import json
from typing import Any, Final, final

from wgcore import _constants, _daita_machines, errors

__all__ = ["BREAK_BURST", "COMPILED_IN", "CONSTANT_RATE", "DEFAULT", "FRONT", "MAX_CAPACITY", "SHIPPED", "Machine",
           "machine_names", "machines_named"]

MAX_CAPACITY: Final = _constants.DAITA_MAX_CAPACITY
"""The largest ``events_capacity`` / ``actions_capacity`` activate_daita takes (libwg.h)."""

COMPILED_IN: bool  # provided by __getattr__ below
"""True when this build has DAITA (Mullvad's fork with ``-tags daita`` and maybenot)."""


def __getattr__(name: str) -> bool:
    """``COMPILED_IN``, asked of libwg on first use, so the model (a .conf
    naming machines) loads no Go runtime (PEP 562)."""
    if name != "COMPILED_IN":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from wgcore import _native

    compiled_in: bool = _native.DAITA_COMPILED_IN
    return compiled_in

# What the app's and the machine's own packets mean to a machine.
_EVENTS = {
    "NonPaddingSent": "an app packet is sent",
    "NonPaddingRecv": "an app packet arrives",
    "PaddingSent": "its padding is sent",
    "PaddingRecv": "padding arrives",
    "LimitReached": "its limit is used up",
    "BlockingBegin": "blocking begins",
    "BlockingEnd": "blocking ends",
    "UpdateMTU": "the MTU changes",
}


@final
class Machine:
    """One maybenot machine libwg accepts; immutable.

    Made by :meth:`parse`; equal and hashed by its canonical serialization,
    which ``str()`` gives too. ``activate_daita`` takes ``str(machine)``.
    """

    __slots__ = ("_serialized", "_description")
    _serialized: str
    _description: dict[str, Any] | None

    def __init__(self) -> None:
        raise TypeError("use Machine.parse(text)")

    @classmethod
    def _make(cls, serialized: str, description: dict[str, Any] | None = None) -> Machine:
        machine = object.__new__(cls)
        object.__setattr__(machine, "_serialized", serialized)
        object.__setattr__(machine, "_description", description)
        return machine

    @classmethod
    def parse(cls, text: str | bytes, *, mtu: int | None = None) -> Machine:
        """Parse and check one machine string (hex of zlib, as maybenot
        writes it), for a tunnel of ``mtu`` bytes if given.

        Raises :class:`~wgcore.errors.DaitaError` with libwg's reason if it
        is refused, :class:`~wgcore.errors.InvalidArgumentError` for text
        holding a line break or NUL or a bad ``mtu``, and
        :class:`~wgcore.errors.DaitaNotCompiledError` in a build without DAITA.
        """
        if isinstance(text, str):
            raw = text.encode("utf-8", "surrogatepass")
        elif isinstance(text, bytes):
            raw = text
        else:
            raise TypeError(f"a machine is str or bytes, not {type(text).__name__}")
        if b"\n" in raw:
            raise errors.InvalidArgumentError("one machine per call: the text holds a line break")
        # libwg checks the machines and the MTU (wgDaitaDescribeMachines); this
        # stays because its C argument says "not known" with 0 (None here) and
        # is an int32: the same bound as libwg's, from wg_rules.h.
        if mtu is not None and not 1 <= mtu <= _constants.MAX_MTU:
            raise errors.InvalidArgumentError(f"mtu must be 1..{_constants.MAX_MTU}, got {mtu}")
        # libwg checks machines; imported here, not above, so that the model
        # (a .conf naming shipped machines) never loads libwg and its Go runtime
        from wgcore import _daita

        report = json.loads(_daita.describe_machines(raw, mtu or 0))
        if not report["machines"]:
            raise errors.DaitaError(f"not a DAITA machine: {report['reason']}")
        found: dict[str, Any] = report["machines"][0]
        if not found["ok"]:
            where = f"DAITA machine {found['name']}" if "name" in found else "not a DAITA machine"
            raise errors.DaitaError(f"{where}: {found['reason']}")
        return cls._make(found["serialized"], found)

    def _describe(self) -> dict[str, Any]:
        """libwg's description, fetched once (shipped machines come without)."""
        if self._description is None:
            object.__setattr__(self, "_description", Machine.parse(self._serialized)._description)
        assert self._description is not None
        return self._description

    @property
    def name(self) -> str:
        """maybenot's stable name: a hash of the serialization."""
        name: str = self._describe()["name"]
        return name

    @property
    def state_count(self) -> int:
        """How many states the machine has."""
        return len(self._describe()["states"])

    def serialize(self) -> str:
        """The canonical machine string, as maybenot 1.1.3 writes it."""
        return self._serialized

    def describe(self) -> dict[str, Any]:
        """Everything libwg reports about the machine (libwg.h,
        wgDaitaDescribeMachines): limits, and per state its action,
        limit, timeout and transitions."""
        return copy.deepcopy(self._describe())

    def summary(self) -> str:
        """A readable account: states, padding budget, what triggers padding."""
        d = self._describe()
        small = "counts" if d["include_small_packets"] else "ignores"
        lines = [f"maybenot machine {d['name']}: {len(d['states'])} states, {small} packets of 52 bytes or less"]
        lines.append(_budget(d["allowed_padding_bytes"], d["max_padding_frac"]))
        for index, state in enumerate(d["states"]):
            lines.append(f"state {index}: {_state(state)}")
            for event, targets in state["transitions"].items():
                moves = ", ".join(_target(t, p) for t, p in targets.items())
                lines.append(f"  when {_EVENTS.get(event, event)}: {moves}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self._serialized

    def __repr__(self) -> str:
        try:
            return f"<Machine {self.name}: {self.state_count} states>"
        except errors.WireGuardError:
            return f"<Machine {self._serialized[:24]}…>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Machine) and other._serialized == self._serialized

    def __hash__(self) -> int:
        return hash(self._serialized)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Machine is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Machine is immutable")

    def __reduce__(self) -> tuple[Any, ...]:
        return (Machine._make, (self._serialized,))


def _budget(allowed: int, frac: float) -> str:
    if frac == 0:
        cap = "no cap of its own" if allowed == 0 else "then no cap of its own"
    else:
        cap = f"then only while padding is under {frac:.0%} of what it sends"
    free = f"{allowed} bytes of padding free, " if allowed else ""
    return f"padding budget: {free}{cap} (activate_daita's max_padding_frac applies too)"


def _state(state: dict[str, Any]) -> str:
    limit = state["limit"]
    if limit["type"] == "Uniform" and limit["param2"] + limit["start"] < 0.5:
        return "never pads (limit 0)"
    sizes = state["action"]["sizes"]
    size = "to the MTU" if sizes == "mtu" else f"{sizes[0]}..{sizes[1]} bytes"
    times = _dist_text(limit, "no limit", f"{limit['param1']:g} times", f"{limit['text']} times, rounded")
    timeout = state["timeout"]
    wait = _dist_text(timeout, "a day (the longest maybenot waits)",
                      f"{timeout['param1'] / 1000:g} ms", f"{timeout['text']} µs")
    return f"pads {size}, {wait} after entering it or sending its padding; {times}"


def _dist_text(dist: dict[str, Any], none: str, constant: str, sampled: str) -> str:
    """How to say a distribution: it has none, it is a constant, or it is sampled."""
    if dist["type"] == "None":
        return none
    return constant if _constant(dist) else sampled


def _constant(dist: dict[str, Any]) -> bool:
    return bool(dist["type"] == "Uniform" and dist["param1"] == dist["param2"] and dist["start"] == dist["max"] == 0)


def _target(target: str, p: float) -> str:
    where = {"cancel": "cancel (STATECANCEL)", "end": "stop (STATEEND)"}.get(target, f"state {target}")
    return where if p == 1 else f"{where} ({p:.0%})"


FRONT: Final = Machine._make(_daita_machines.FRONT)
"""FRONT-style front-loaded padding (Gong & Wang, USENIX Security 2020).

Hides how much traffic the first seconds of activity carry (the start of a
page load, which website fingerprinting keys on). The first app packet, sent
or received, after a quiet spell starts a burst: with a Rayleigh scale of
0.5, 1 or 2 s picked at random, four quartile segments of 1..29 padding
packets each (mean 60, at most 116) at exponentially distributed intervals
following the Rayleigh curve, so the burst spans about 1.3, 2.6 or 5.3 s.
After it, one more padding packet after an exponential pause of mean 30 s
re-arms it. Cost: about 85 kB per burst at MTU 1420 (at most 165 kB), at
most one burst per pause, nothing while idle. Pads this side's outgoing
traffic only; the peer needs its own machines for the other direction.
"""

CONSTANT_RATE: Final = Machine._make(_daita_machines.CONSTANT_RATE)
"""Constant-rate cover traffic while the tunnel is active.

Hides pauses and the rate of sparse traffic (interactive or voice timing):
from any app packet on, sent or received, one padding packet every 20 ms,
50 of them (1 s), re-armed by the next app packet, so an active tunnel never
goes 20 ms without sending. Cost: 50 MTU-sized packets a second while
active, about 71 kB/s (570 kbit/s) at MTU 1420, on top of the app's traffic;
nothing while idle. Heavy: not part of :data:`DEFAULT`.
"""

BREAK_BURST: Final = Machine._make(_daita_machines.BREAK_BURST)
"""Padding after each burst of outgoing traffic.

Hides where a burst this side sends ends, and so its size: when the app
stops sending for 10..30 ms, 2..5 padding packets follow, 5..25 ms apart.
Cost: at most 7 kB per burst at MTU 1420; the first 100 kB of padding are
free, after that padding stays under 20 % of what the machine sees sent
(a quarter on top of the app's bytes). Each app packet re-arms its timer.
"""

DEFAULT: Final[tuple[Machine, ...]] = (FRONT, BREAK_BURST)
"""The machines ``activate_daita`` runs unless given others: FRONT for the
start of activity, BREAK_BURST for the ends of bursts."""

SHIPPED: Final[dict[str, Machine]] = {"FRONT": FRONT, "CONSTANT_RATE": CONSTANT_RATE, "BREAK_BURST": BREAK_BURST}
"""The shipped machines by name, as a ``.conf`` file's ``DAITA =`` names them."""


def machines_named(items: list[str]) -> tuple[Machine, ...]:
    """The machines a ``.conf`` file's ``DAITA =`` list names: ``on`` (or
    ``default``) for :data:`DEFAULT`, ``off``, shipped names in any case,
    or machine strings."""
    if len(items) == 1 and items[0].lower() in ("on", "default", "off"):
        return () if items[0].lower() == "off" else DEFAULT
    return tuple(SHIPPED.get(item.upper()) or Machine.parse(item) for item in items)


def machine_names(machines: tuple[Machine, ...]) -> list[str]:
    """What :func:`machines_named` reads back as ``machines``."""
    names = {machine: name for name, machine in SHIPPED.items()}
    return [names.get(machine) or str(machine) for machine in machines]
