from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

import wgcore

from wgcore import netns

_ids = itertools.count()


def new_key_pair() -> tuple[bytes, bytes]:
    """A fresh WireGuard (private, public) key pair."""
    private = wgcore.PrivateKey.generate()
    return bytes(private), bytes(private.public_key)


@pytest.fixture
def root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for network namespaces and TUN devices (CI runs as root)")


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
