"""Per-peer statistics, as :func:`wgcore.uapi.parse_get` reads them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from wgcore.keys import PublicKey
from wgcore.values import Endpoint, IPNetwork

__all__ = ["PeerStats"]


@dataclass
class PeerStats:
    """What a tunnel reports about one peer.

    ``last_handshake`` is a UTC datetime, None before the first handshake.
    ``endpoint`` is None when the device has no UDP address for the peer
    (``0.0.0.0:0``, as on a ``transport="host"`` tunnel). Keys this class
    does not know are kept, as text, in ``extra``, secrets redacted.
    """

    public_key: PublicKey
    endpoint: Endpoint | None = None
    allowed_ips: list[IPNetwork] = field(default_factory=list)
    persistent_keepalive: int = 0
    rx_bytes: int = 0
    tx_bytes: int = 0
    last_handshake: datetime.datetime | None = None
    protocol_version: int = 1
    extra: dict[str, str] = field(default_factory=dict)

