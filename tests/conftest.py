from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import shutil
import signal
from collections.abc import Iterator
from typing import NoReturn

import pytest

import wgcore
from wgcore import netns
from wgcore.uapi import SOCKET_DIR, list_interfaces

_ids = itertools.count()
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


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("tools"):
        for tool in mark.args:
            if shutil.which(tool) is None:
                missing(f"needs {tool}: tests/install-system-packages.sh installs it")


def die_with_parent() -> None:
    """preexec_fn for test subprocesses: SIGTERM when the test run dies, even
    by SIGKILL, so a killed run leaves no 'wgcore up' (or its files) behind."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


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


@pytest.fixture(scope="session", autouse=True)
def no_stale_files() -> None:
    if os.geteuid() == 0:
        remove_stale_files()


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        missing("needs root for network namespaces and TUN devices (CI runs as root)")
    if shutil.which("ip") is None:
        missing("needs ip (iproute2): tests/install-system-packages.sh installs it")


@pytest.fixture
def namespaces(root: None) -> Iterator[tuple[str, str]]:
    """Two namespaces joined by veth: 198.18.0.1/30 and 198.18.0.2/30."""
    base = f"wgct{os.getpid()}x{next(_ids)}"
    with netns.namespace(base + "a") as a, netns.namespace(base + "b") as b:
        netns.veth(a, "198.18.0.1/30", b, "198.18.0.2/30")
        yield a, b


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``daita`` skip, saying why, in a build without DAITA."""
    if wgcore.DAITA_COMPILED_IN:
        return
    skip = pytest.mark.skip(reason="needs a DAITA build: " + wgcore._native.DAITA_MISSING)
    for item in items:
        if item.get_closest_marker("daita") is not None:
            item.add_marker(skip)
