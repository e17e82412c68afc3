"""DAITA and teardown never crash or hang the host process (issue 20).

The fork aborted the process (a map walked while written, a nil DAITA
called) and hung (close waiting for padding timers up to a day) when a
peer with DAITA was removed or its tunnel closed under traffic. Each
scenario that could take the process down runs in a child interpreter
(tests/daita_teardown_probe.py), so a crash is an exit status and a hang a
timeout, not the end of the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import wgcore
from wgcore.config import MAX_MTU
from wgcore.daita import FRONT, MAX_CAPACITY, Machine

from .lab import ipv4_packet, tunnel_pair
from .test_daita_machines import raw_machines

PROBE = os.path.join(os.path.dirname(__file__), "daita_teardown_probe.py")
# Each activate, remove, re-add, close and concurrent get_config/traffic
# returns within this: libwg gives pausing DAITA 0.5 s at most, and the
# rest of a call takes milliseconds (tens under load).
CALL_BOUND = 1.0


def probe(*args: str, stdin: str | None = None, timeout: float = 100) -> dict[str, object]:
    """Run the probe in a child; its one JSON line, after checking it exited 0."""
    done = subprocess.run([sys.executable, PROBE, *args], input=stdin, capture_output=True, text=True,
                          timeout=timeout, cwd="/")
    assert done.returncode == 0, f"the probe exited {done.returncode}:\n{done.stderr[-3000:]}"
    result: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return result


def assert_bounded(result: dict[str, object]) -> None:
    longest = result["longest"]
    assert isinstance(longest, dict)
    slow = {call: seconds for call, seconds in longest.items() if seconds > CALL_BOUND}
    assert not slow, f"calls over {CALL_BOUND} s: {slow}"
    assert result["tunnels_left"] == 0


@pytest.mark.daita
@pytest.mark.timeout(150)
@pytest.mark.parametrize("kind", ["udp", "host", "tun", "netstack", "multihop"])
def test_activate_remove_readd_close_under_traffic(kind: str) -> None:
    """Rounds of activate / remove / re-add, then close, with the shipped
    machines, issue 20's day-long machine and 60 s padding timers."""
    if kind == "tun" and os.geteuid() != 0:
        pytest.skip("the TUN kind needs root for its namespace and device (CI runs as root)")
    result = probe(kind, "--rounds", "200")
    assert result["rounds"] == 200
    assert_bounded(result)
    assert set(result["longest"]) >= {"activate", "remove", "re-add", "close", "get_config", "traffic"}  # type: ignore[arg-type]


@pytest.mark.daita
@pytest.mark.timeout(200)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(raw_machines(wild=False), raw_machines()), min_size=1, max_size=3))
def test_any_accepted_machine_tears_down_safely(machines: list[str]) -> None:
    """Whatever libwg accepts runs under traffic, then is removed and closed
    without a crash or a call over its bound."""
    accepted = []
    for text in machines:
        try:
            accepted.append(Machine.parse(text, mtu=1420).serialize())
        except wgcore.WireGuardError:
            event("refused")
    if not accepted:
        return
    event("accepted")
    assert_bounded(probe("udp", "--rounds", "4", "--machines", stdin=",".join(accepted)))


@pytest.mark.daita
@pytest.mark.parametrize("name", ["events_capacity", "actions_capacity"])
@pytest.mark.parametrize("capacity", [0, MAX_CAPACITY + 1, 2**31 - 1, 2**32, -1])
def test_capacities_outside_their_range_are_refused(name: str, capacity: int) -> None:
    """events_capacity=2**31-1 once killed the process (Go makechan): the
    call runs in a child, which must survive it."""
    code = textwrap.dedent(f"""
        import re, wgcore
        from wgcore.daita import FRONT
        from wgcore.cli.demo import tunnel_pair
        a, b = tunnel_pair()
        key = a.config().peers[0].public_key
        try:
            a.activate_daita(key, FRONT, {name}={capacity})
        except wgcore.errors.InvalidArgumentError as e:
            print(e)
        a.activate_daita(key, FRONT, {name}={MAX_CAPACITY})
        print("alive")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/")
    assert done.returncode == 0, done.stderr[-2000:]
    refusal, alive = done.stdout.splitlines()
    assert refusal.endswith(f"{name} must be 1..{MAX_CAPACITY}, got {capacity}") and alive == "alive"


@pytest.mark.daita
def test_capacity_must_be_an_int() -> None:
    a, b = tunnel_pair()
    with a, b, pytest.raises(TypeError, match="events_capacity must be an int"):
        a.activate_daita(a.config().peers[0].public_key, FRONT, events_capacity=2048.0)  # type: ignore[arg-type]


def test_the_largest_mtu_carries_its_largest_packet_and_one_more_is_refused() -> None:
    """An in-memory UDP tunnel of MTU 65535 once took a 65,535-byte packet,
    lost it, and then said it was closed."""
    a, b = tunnel_pair(mtu=MAX_MTU)
    with a, b:
        biggest = ipv4_packet(os.urandom(MAX_MTU - 20))
        assert len(biggest) == MAX_MTU
        a.packets.send(ipv4_packet(b"handshake"))
        assert b.packets.recv(timeout=5) == ipv4_packet(b"handshake")
        a.packets.send(biggest)
        assert b.packets.recv(timeout=5) == biggest
        a.packets.send(ipv4_packet(b"still open"))
        assert b.packets.recv(timeout=5) == ipv4_packet(b"still open")
    for transport in ("udp", "host"):
        with pytest.raises(wgcore.errors.InvalidArgumentError, match=f"mtu {MAX_MTU + 1} is outside 576..{MAX_MTU}"):
            wgcore.Tunnel.in_memory("", mtu=MAX_MTU + 1, transport=transport)
