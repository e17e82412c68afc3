"""wgcore: userspace WireGuard (wireguard-go, embedded as libwg) for Python.

The names here are the whole everyday surface: :class:`Tunnel` and its
ports, the typed configuration, keys and counters, and the two errors
most code catches. The rest lives in submodules: every exception in
:mod:`wgcore.errors`, sockets in :mod:`wgcore.net`, DAITA in
:mod:`wgcore.daita`, the UAPI in :mod:`wgcore.uapi`, asyncio in
:mod:`wgcore.aio`.
"""

import importlib.util

if importlib.util.find_spec("wgcore._native") is None:
    raise ImportError(
        f"wgcore was imported from {__path__[0]}, a source tree without the compiled "
        "module: install it (pip install .) and run Python from another directory, "
        "or with -P so the current directory does not come first"
    )

from wgcore._native import Datagrams, Packets, version
from wgcore.config import Interface, Peer
from wgcore.errors import TunnelClosedError, WireGuardError
from wgcore.keys import PresharedKey, PrivateKey, PublicKey
from wgcore.stats import PeerStats
from wgcore.traffic import TrafficStats
from wgcore.tunnel import Hop, Tunnel
from wgcore.values import Endpoint

__version__ = version()["wgcore"]

__all__ = [
    "Datagrams",
    "Endpoint",
    "Hop",
    "Interface",
    "Packets",
    "Peer",
    "PeerStats",
    "PresharedKey",
    "PrivateKey",
    "PublicKey",
    "TrafficStats",
    "Tunnel",
    "TunnelClosedError",
    "WireGuardError",
    "version",
]
