"""Tooling for wgcore's tests, benchmarks and demo; not part of the stable API.

- :mod:`wgcore.testing.pairs`: two peered in-memory tunnels
  (:func:`tunnel_pair`) and test IPv4 packets (:func:`ipv4_packet`).
- :mod:`wgcore.testing.netns`: throwaway Linux network namespaces (root).
"""

from wgcore.testing.pairs import INNER_A, INNER_B, ipv4_packet, tunnel_pair

__all__ = ["INNER_A", "INNER_B", "ipv4_packet", "tunnel_pair"]
