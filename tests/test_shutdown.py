"""Closing or reconfiguring tunnels, and exiting with them on, never hangs (issue 8, defect 1).

Each scenario runs in a child interpreter (tests/shutdown_probe.py) with a
timeout, so a deadlock fails the test instead of hanging the run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest


from .lab import netns
from .shutdown_probe import child, timed_exit

TIMEOUT = 60  # seconds; every scenario takes a few


@pytest.fixture
def tun_ns() -> Iterator[str | None]:
    """A namespace for TUN tunnels when root, else None (TUN kinds are left out)."""
    if os.geteuid() != 0:
        yield None
        return
    with netns.namespace(f"wgsd{os.getpid()}") as ns:
        yield ns


def ns_args(ns: str | None) -> list[str]:
    return ["--netns", ns] if ns else []


def test_close_returns_with_full_queues(tun_ns: str | None) -> None:
    done = child("close", *ns_args(tun_ns), timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", "closing logged errors"
    report = json.loads(done.stdout)
    assert report["tunnels_left"] == 0
    assert set(report["closed"]) >= {"host, sender stuck", "host, receiver stuck", "udp, receiver stuck"}
    if tun_ns:
        assert "tun" in report["closed"]


def test_set_config_returns_with_full_queues() -> None:
    done = child("set", timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    assert set(json.loads(done.stdout)["set"]) == {"host, sender stuck", "host, receiver stuck", "udp, receiver stuck"}


def test_interpreter_exits_with_live_tunnels_of_every_kind(tun_ns: str | None) -> None:
    seconds, status, stderr = timed_exit(tun_ns, timeout=TIMEOUT)
    assert status == 0, f"exit status {status} after {seconds:.1f} s: {stderr}"
    assert stderr == ""


@pytest.mark.timeout(360)  # the child has 300 s
def test_on_off_cycles_leak_no_fds_or_handles(tun_ns: str | None) -> None:
    done = child("soak", "--cycles", "200", *ns_args(tun_ns), timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert set(report) == {"udp", "host"} | ({"tun"} if tun_ns else set())
    for kind, figures in report.items():
        assert figures["fds"][1] == figures["fds"][0], f"{kind}: fds {figures['fds']}"
        assert figures["tunnels"] == [0, 0], f"{kind}: tunnel count {figures['tunnels']}"
