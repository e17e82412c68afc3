"""wgcore: userspace WireGuard (wireguard-go, embedded as libwg) for Python."""

from wgcore._native import DAITA_COMPILED_IN, Tunnel, derive_public_key, tunnel_count, version
from wgcore.errors import (
    BufferTooSmallError,
    DaitaError,
    DaitaNotCompiledError,
    ForkedProcessError,
    InvalidArgumentError,
    NotSupportedError,
    QueueFullError,
    TransientError,
    TunnelClosedError,
    UnknownPeerError,
    UnknownTunnelError,
    WireGuardError,
)

__version__ = version()["wgcore"]

__all__ = [
    "DAITA_COMPILED_IN",
    "BufferTooSmallError",
    "DaitaError",
    "DaitaNotCompiledError",
    "ForkedProcessError",
    "InvalidArgumentError",
    "NotSupportedError",
    "QueueFullError",
    "TransientError",
    "Tunnel",
    "TunnelClosedError",
    "UnknownPeerError",
    "UnknownTunnelError",
    "WireGuardError",
    "derive_public_key",
    "tunnel_count",
    "version",
]
