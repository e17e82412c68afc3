"""Helpers the tests share (the one module tests import besides packets and machines)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

import pytest

import wgcore
from wgcore.uapi import SOCKET_DIR, list_interfaces

from .lab import netns

# Names the tests give interfaces start with this; stale files of theirs are swept.
TEST_PREFIX = "wgc"


def new_key_pair() -> tuple[bytes, bytes]:
    """A fresh WireGuard (private, public) key pair."""
    private = wgcore.PrivateKey.generate()
    return bytes(private), bytes(private.public_key)


def missing(reason: str) -> NoReturn:
    """Skip a test whose prerequisite is missing, saying why; under CI
    (CI=true) fail instead: CI must never pass without running it."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: a missing prerequisite is a failure)", pytrace=False)
    pytest.skip(reason)


# Prefix for test subprocesses: SIGTERM when the test run dies, even by
# SIGKILL, so a killed run leaves no 'wgcore up' (or its files) behind.
# setpriv sets it before exec: no Python may run between fork and exec in a
# process with Go threads (a preexec_fn there can hang on a lock).
DIE_WITH_PARENT = ["setpriv", "--pdeathsig", "TERM"]


def remove_stale_files(directory: str = SOCKET_DIR) -> list[str]:
    """Remove test sockets nobody serves and pid files of dead processes,
    left by a test run that was killed; return what was removed."""
    try:
        entries = os.listdir(directory)
    except FileNotFoundError:
        return []
    live = set(list_interfaces(directory))
    removed = []
    for entry in entries:
        name, _, suffix = entry.partition(".")
        if not name.startswith(TEST_PREFIX):
            continue
        path = os.path.join(directory, entry)
        if suffix == "sock":
            stale = name not in live
        elif suffix == "wgcore.pid":
            try:
                with open(path) as f:
                    pid = f.read().strip()
            except FileNotFoundError:
                continue
            stale = pid.isdigit() and not os.path.exists(f"/proc/{pid}")  # empty: being written
        else:
            continue
        if stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            removed.append(entry)
    return removed


def device_uapi(private: bytes, port: int) -> str:
    return f"private_key={private.hex()}\nlisten_port={port}\n"


def peer_uapi(public: bytes, endpoint: str, allowed_ip: str) -> str:
    return f"public_key={public.hex()}\nendpoint={endpoint}\nallowed_ip={allowed_ip}\n"


def start(ns: str, name: str, config: str) -> wgcore.Tunnel:
    return netns.run_in(ns, lambda: wgcore.Tunnel.from_interface(name, config))


BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_benchmark(script: str, args: list[str], tmp_path: Path, timeout: float,
                  namespace_prefix: Callable[[int], str] | None = None) -> str:
    """Run ``benchmarks/<script>`` with ``args`` and a plot in ``tmp_path``;
    its stdout. Checks it succeeded, wrote a PNG and, given the prefix its
    namespaces get (from its pid), left none behind."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        missing("needs matplotlib: pip install '.[bench]'")
    png = tmp_path / script.replace(".py", ".png")
    with subprocess.Popen([sys.executable, str(BENCHMARKS / script), *args, "--plot", str(png)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        finally:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if namespace_prefix is not None:
        prefix = namespace_prefix(proc.pid)
        leftovers = [ns for ns in netns.ip("netns", "list").split() if ns.startswith(prefix)]
        assert not leftovers, f"namespaces left behind: {leftovers}"
    return out
