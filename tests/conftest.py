from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator

import pytest

import wgcore

from .helpers import missing, remove_stale_files
from .lab import netns

_ids = itertools.count()


def pytest_runtest_setup(item: pytest.Item) -> None:
    for mark in item.iter_markers("tools"):
        for tool in mark.args:
            if shutil.which(tool) is None:
                missing(f"needs {tool}: tests/install-system-packages.sh installs it")


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
def ns(root: None) -> Iterator[str]:
    """A fresh network namespace with loopback up, removed afterwards."""
    with netns.namespace(f"wgcn{os.getpid()}x{next(_ids)}") as name:
        yield name


@pytest.fixture
def namespaces(root: None) -> Iterator[tuple[str, str]]:
    """Two namespaces joined by veth: 198.18.0.1/30 and 198.18.0.2/30."""
    base = f"wgct{os.getpid()}x{next(_ids)}"
    with netns.namespace(base + "a") as a, netns.namespace(base + "b") as b:
        netns.veth(a, "198.18.0.1/30", b, "198.18.0.2/30")
        yield a, b


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``daita`` skip, saying why, in a build without DAITA."""
    if wgcore.daita.COMPILED_IN:
        return
    skip = pytest.mark.skip(reason="needs a DAITA build: " + wgcore._native.DAITA_MISSING)
    for item in items:
        if item.get_closest_marker("daita") is not None:
            item.add_marker(skip)
