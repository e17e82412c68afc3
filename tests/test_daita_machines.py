"""DAITA machines: libwg refuses what would kill the process, keeps the
tunnel usable, and the machines wgcore ships pad on the wire."""

from __future__ import annotations

import copy
import math
import os
import pickle
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import wgcore
from wgcore.daita import BREAK_BURST, CONSTANT_RATE, DEFAULT, FRONT, Machine

from . import lab
from . import machines as mk
from .machines import BAD
from .packets import crosses, handshaken_pair, move, peer_key

SOURCE = Path(__file__).resolve().parents[1]
MTU = 1420
SHIPPED = {"FRONT": FRONT, "CONSTANT_RATE": CONSTANT_RATE, "BREAK_BURST": BREAK_BURST}

# --- the shipped machines ---------------------------------------------------


@pytest.mark.daita
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_machines_pass_libwgs_check(name: str) -> None:
    shipped = SHIPPED[name]
    for mtu in (576, MTU, 9000, None):
        assert Machine.parse(str(shipped), mtu=mtu) == shipped
    assert len(shipped.name) == 32
    description = shipped.describe()
    assert description["ok"] and description["serialized"] == str(shipped)
    assert all(s["action"]["sizes"] == "mtu" for s in description["states"])


def test_default_is_shipped_machines() -> None:
    assert DEFAULT == (FRONT, BREAK_BURST)
    assert all(isinstance(m, Machine) for m in DEFAULT)
    assert all(str(m).startswith("789c") for m in DEFAULT)  # usable without libwg's DAITA


@pytest.mark.skipif(shutil.which("cargo") is None, reason="cargo is not installed (CI has it)")
def test_generator_reproduces_the_shipped_machines() -> None:
    done = subprocess.run(
        ["cargo", "run", "--quiet", "--locked", "--release", "--manifest-path",
         str(SOURCE / "subprojects" / "daita-machines" / "Cargo.toml")],
        capture_output=True, timeout=900, cwd=SOURCE,
        env={**os.environ, "CARGO_TARGET_DIR": str(Path(tempfile.gettempdir()) / "wgcore-daita-machines-target")},
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == (SOURCE / "wgcore" / "_daita_machines.py").read_bytes()


@pytest.mark.daita
def test_summaries_say_states_budget_and_triggers() -> None:
    front = FRONT.summary()
    assert f"machine {FRONT.name}: 14 states, ignores packets of 52 bytes or less" in front
    assert "padding budget: no cap of its own" in front
    assert "when an app packet is sent: state 1 (33%), state 5 (33%), state 9 (33%)" in front
    rate = CONSTANT_RATE.summary()
    assert "state 1: pads to the MTU, 20 ms after entering it or sending its padding; 50 times" in rate
    burst = BREAK_BURST.summary()
    assert "100000 bytes of padding free, then only while padding is under 20% of what it sends" in burst
    assert "Uniform [0.5, 4.5] times, rounded" in burst


@pytest.mark.daita
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_machines_pad_on_the_wire(name: str) -> None:
    """One app packet (over 52 bytes: the machines ignore smaller ones),
    then count MTU-sized datagrams (padding) for a second, with the machine
    and without; B gets the app packet only."""
    packet = lab.ipv4_packet(bytes(100))
    counts = {}
    for active in (False, True):
        a, b = handshaken_pair()
        with a, b:
            if active:
                a.activate_daita(peer_key(a), [str(SHIPPED[name])])
            a.packets.send(packet, timeout=1)
            padding, received = 0, []
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:
                # Transport header and tag around an MTU of padding.
                padding += sum(len(d) == MTU + 32 for d in move(a, b))
                move(b, a)
                try:
                    received.append(b.packets.recv(timeout=0.005))
                except TimeoutError:
                    pass
            counts[active] = padding
            assert received == [packet]
    assert counts[False] == 0
    low, high = {"FRONT": (2, 116), "CONSTANT_RATE": (30, 51), "BREAK_BURST": (2, 5)}[name]
    assert low <= counts[True] <= high, counts


# --- Machine ----------------------------------------------------------------


@pytest.mark.daita
def test_parse_serialize_round_trip_and_value_semantics() -> None:
    text = mk.good()
    m = Machine.parse(text)
    assert m.serialize() != text  # maybenot's own zlib stream is the canonical form
    again = Machine.parse(m.serialize())
    assert again == m and hash(again) == hash(m) and str(again) == m.serialize()
    assert again.name == m.name and m.state_count == 2
    assert Machine.parse(m.serialize().encode()) == m
    assert pickle.loads(pickle.dumps(m)) == m and copy.deepcopy(m) == m
    assert m != Machine.parse(mk.with_padding_state(limit=mk.Dist("Uniform", 6, 6)))
    with pytest.raises(AttributeError):
        m._serialized = "x"
    with pytest.raises(TypeError):
        Machine()


@pytest.mark.daita
@pytest.mark.parametrize(("case", "text", "reason"), BAD, ids=[b[0] for b in BAD])
def test_bad_machines_are_refused_with_the_reason(case: str, text: str, reason: str) -> None:
    with pytest.raises(wgcore.errors.DaitaError, match=re.escape(reason)) as refused:
        Machine.parse(text, mtu=MTU)
    assert refused.value.code == -6


@pytest.mark.daita
def test_text_that_cannot_be_one_machine() -> None:
    with pytest.raises(wgcore.errors.DaitaError, match="no machines"):
        Machine.parse("")
    with pytest.raises(wgcore.errors.DaitaError, match="not UTF-8"):
        Machine.parse(b"\xff\xfe")
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="line break"):
        Machine.parse(mk.good() + "\n" + mk.good())
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="NUL"):
        Machine.parse("78\x009c")
    with pytest.raises(wgcore.errors.InvalidArgumentError, match="mtu must be"):
        Machine.parse(mk.good(), mtu=0)
    with pytest.raises(TypeError):
        Machine.parse(42)  # type: ignore[arg-type]


@pytest.mark.skipif(wgcore.daita.COMPILED_IN, reason="this libwg has DAITA")
def test_without_daita_parsing_says_how_to_get_it() -> None:
    with pytest.raises(wgcore.errors.DaitaNotCompiledError, match="DAITA is not compiled into this wgcore"):
        Machine.parse(str(FRONT))
    assert repr(FRONT).startswith("<Machine 789c")


# --- activation: refused machines leave the process and tunnel alive --------


@pytest.mark.daita
def test_refused_machines_leave_the_tunnel_usable() -> None:
    a, b = handshaken_pair()
    with a, b:
        key = peer_key(a)
        for case, text, reason in BAD:
            with pytest.raises(wgcore.errors.DaitaError, match=f"machine 0( \\(\\w+\\))?: .*{re.escape(reason)}"):
                a.activate_daita(key, [text])
            assert crosses(a, b, case.encode()), case
        with pytest.raises(wgcore.errors.DaitaError, match="machine 1 .*state 1 blocks"):
            a.activate_daita(key, [mk.good(), mk.with_padding_state(block=True)])
        with pytest.raises(wgcore.errors.DaitaError, match="1000 machines, more than the 16"):
            a.activate_daita(key, [mk.good()] * 1000)
        a.activate_daita(key, [mk.good()])
        assert crosses(a, b, b"DAITA on")


CHILD = """
import sys
import wgcore
sys.path.append({source!r})  # the tests package; wgcore stays the installed one
from tests.machines import BAD
from tests.packets import crosses, handshaken_pair, peer_key
a, b = handshaken_pair()
key = peer_key(a)
for case, text, _ in BAD:
    try:
        a.activate_daita(key, [text])
    except wgcore.errors.DaitaError:
        pass
    else:
        print("accepted:", case)
    # Without the check the fork now gets its first action and panics.
    assert crosses(a, b, case.encode())
print("alive")
"""


@pytest.mark.daita
def test_a_process_fed_bad_machines_survives() -> None:
    """In a child process, so that a regression shows the fork's panic
    ("Unsupported tag") instead of killing the test run."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CHILD.format(source=str(SOURCE)))],
        capture_output=True, text=True, timeout=120, cwd="/",
    )
    assert "Unsupported tag" not in done.stderr
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines() == ["alive"], done.stdout


# --- hypothesis: nothing crashes the process ---------------------------------

plausible = st.sampled_from([0.0, 0.5, 1.0, 4.0, 10.0, 1000.0, 1420.0])


@st.composite
def raw_machines(draw: st.DrawFn, wild: bool = True) -> str:
    """Random machines; tame ones (no NaN, no Binomial, no bad fractions)
    pass often enough to run on a tunnel."""
    n = draw(st.integers(1, 4))
    floats = st.one_of(plausible, st.floats(width=64)) if wild else plausible.filter(lambda x: x > 0)
    types = st.sampled_from(mk.DISTS if wild else [t for t in mk.DISTS if t != "Binomial"])
    dists = st.builds(mk.Dist, types, floats, floats, floats, floats)
    if not wild:  # maybenot's own rules: Uniform low <= high, Geometric p <= 1
        dists = dists.map(lambda d: mk.Dist(d.type, min(d.param1, d.param2), max(d.param1, d.param2), d.start, d.max))
        dists = dists.map(lambda d: mk.Dist(d.type, 0.5, d.param2, d.start, d.max) if d.type == "Geometric" else d)
    targets = st.one_of(st.integers(0, n - 1), st.sampled_from(["cancel", "end"])) if wild else st.integers(0, n - 1)
    p = st.sampled_from([0.25, 0.5, 1.0, 0.0, 1.5, math.nan] if wild else [0.25, 0.5, 1.0])
    rows = st.dictionaries(targets, p, max_size=2 if wild else 1)
    states = [
        mk.State(draw(st.dictionaries(st.sampled_from(mk.EVENTS), rows, max_size=4)),
                 draw(st.one_of(st.just(mk.Dist()), dists)), draw(dists), draw(dists),
                 draw(st.booleans()) if wild else False)
        for _ in range(n)
    ]
    frac = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, math.nan] if wild else [0.0, 0.5]))
    return mk.machine(states, max_padding_frac=frac)


def mutated(good: str) -> st.SearchStrategy[str]:
    """A good machine's hex or its compressed bytes with bytes changed."""
    raw = zlib.decompress(bytes.fromhex(good))

    def patch(data: bytes, at: int, value: bytes) -> bytes:
        at %= len(data)
        return data[:at] + value + data[at + len(value):]

    return st.one_of(
        st.builds(lambda at, v: mk.text(patch(raw, at, v)), st.integers(0, 10**6), st.binary(min_size=1, max_size=8)),
        st.builds(lambda at, v: patch(good.encode(), at, v).decode("latin-1"), st.integers(0, 10**6),
                  st.binary(min_size=1, max_size=4)),
    )


@pytest.mark.daita
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.binary(), raw_machines(), raw_machines(wild=False), mutated(mk.good())))
def test_parse_never_crashes(text: str | bytes) -> None:
    try:
        m = Machine.parse(text, mtu=MTU)
    except wgcore.WireGuardError as e:
        event(f"refused: {type(e).__name__}")
        return
    event("accepted")
    again = Machine.parse(m.serialize(), mtu=MTU)
    assert again == m and again.name == m.name and again.describe() == m.describe()


@pytest.mark.daita
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(raw_machines(wild=False), raw_machines(), mutated(mk.good()), st.text(min_size=1)),
                min_size=1, max_size=2))
def test_activating_anything_never_crashes(machines: list[str]) -> None:
    """Whatever is accepted runs on a live tunnel while app packets flow."""
    a, b = handshaken_pair()
    with a, b:
        key = peer_key(a)
        try:
            a.activate_daita(key, machines)
        except wgcore.WireGuardError as e:
            event(f"refused: {type(e).__name__}")
            return
        event("accepted")
        for i in range(5):
            assert crosses(a, b, bytes([i]) * 100)
