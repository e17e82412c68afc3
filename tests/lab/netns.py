"""Throwaway Linux network namespaces for tests, benchmarks and experiments.

Everything here is made inside namespaces it creates and removed again, so
the host's own network is never touched. Needs root.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import subprocess
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def ip(*args: str) -> str:
    """Run ``ip`` with args; raise with its stderr on failure."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@contextlib.contextmanager
def namespace(name: str) -> Iterator[str]:
    """A fresh network namespace with loopback up, deleted on exit."""
    with contextlib.suppress(RuntimeError):
        ip("netns", "del", name)  # left over by a killed run
    ip("netns", "add", name)
    try:
        ip("-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        ip("netns", "del", name)


def veth(ns_a: str, addr_a: str, ns_b: str, addr_b: str, *, name_a: str = "veth0", name_b: str = "veth0") -> None:
    """Join two namespaces with a veth pair created inside them
    (named ``name_a`` in ``ns_a`` and ``name_b`` in ``ns_b``)."""
    ip("link", "add", name_a, "netns", ns_a, "type", "veth", "peer", "name", name_b, "netns", ns_b)
    for ns, name, addr in ((ns_a, name_a, addr_a), (ns_b, name_b, addr_b)):
        ip("-n", ns, "addr", "add", addr, "dev", name)
        ip("-n", ns, "link", "set", name, "up")


def enter(name: str) -> None:
    """Move the calling OS thread (only it) into namespace ``name``."""
    fd = os.open(f"/run/netns/{name}", os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({name}): {os.strerror(err)}")
    finally:
        os.close(fd)


def run_in(name: str, fn: Callable[[], T]) -> T:
    """Call fn on a new thread inside namespace ``name``; return its result.

    Sockets and TUN devices made there stay in that namespace.
    """
    result: list[T] = []
    error: list[BaseException] = []

    def body() -> None:
        try:
            enter(name)
            result.append(fn())
        except BaseException as e:  # re-raised in the caller
            error.append(e)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def run(name: str, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run a command inside namespace ``name``."""
    return subprocess.run(
        ["ip", "netns", "exec", name, *cmd], capture_output=True, text=True, timeout=timeout, cwd="/"
    )
