"""wgcore: userspace WireGuard (wireguard-go, embedded as libwg) for Python."""

import importlib.util

if importlib.util.find_spec("wgcore._native") is None:
    raise ImportError(
        f"wgcore was imported from {__path__[0]}, a source tree without the compiled "
        "module: install it (pip install .) and run Python from another directory, "
        "or with -P so the current directory does not come first"
    )

from wgcore._native import DAITA_COMPILED_IN, derive_public_key, tunnel_count, version
from wgcore.config import Interface, Peer
from wgcore.errors import (
    BufferTooSmallError,
    ConfigError,
    DaitaError,
    DaitaNotCompiledError,
    ForkedProcessError,
    InvalidArgumentError,
    NotSupportedError,
    QueueFullError,
    TransientError,
    TunnelClosedError,
    UapiAddressInUseError,
    UapiError,
    UapiIOError,
    UapiInvalidArgumentError,
    UapiProtocolError,
    UapiTooLargeError,
    UapiTransientError,
    UapiUnknownPeerError,
    UnknownPeerError,
    UnknownTunnelError,
    WgQuickError,
    WireGuardError,
)
from wgcore.keys import PresharedKey, PrivateKey, PublicKey
from wgcore.stats import PeerStats
from wgcore.traffic import TrafficStats
from wgcore.tunnel import Hop, Tunnel
from wgcore.values import Endpoint

__version__ = version()["wgcore"]

__all__ = [
    "DAITA_COMPILED_IN",
    "BufferTooSmallError",
    "ConfigError",
    "DaitaError",
    "DaitaNotCompiledError",
    "Endpoint",
    "ForkedProcessError",
    "Hop",
    "Interface",
    "InvalidArgumentError",
    "NotSupportedError",
    "Peer",
    "PeerStats",
    "PresharedKey",
    "PrivateKey",
    "PublicKey",
    "QueueFullError",
    "TrafficStats",
    "TransientError",
    "Tunnel",
    "TunnelClosedError",
    "UapiAddressInUseError",
    "UapiError",
    "UapiIOError",
    "UapiInvalidArgumentError",
    "UapiProtocolError",
    "UapiTooLargeError",
    "UapiTransientError",
    "UapiUnknownPeerError",
    "UnknownPeerError",
    "UnknownTunnelError",
    "WgQuickError",
    "WireGuardError",
    "derive_public_key",
    "tunnel_count",
    "version",
]
