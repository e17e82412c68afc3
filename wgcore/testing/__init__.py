"""Tooling for wgcore's tests, benchmarks and demo; not part of the stable API.

- :mod:`wgcore.testing.pairs`: two peered in-memory tunnels
  (:func:`tunnel_pair`) and test IPv4 packets (:func:`ipv4_packet`,
  :func:`icmp_echo`, :func:`udp_packet`).
- :mod:`wgcore.testing.netns`: throwaway Linux network namespaces (root).
- :mod:`wgcore.testing.relays`: an entry and an exit relay (Debian
  wireguard-go) in namespaces, for multihop (root).
- :mod:`wgcore.testing.capture`: UDP datagrams a link sends, counted per
  destination (root).
"""

from wgcore.testing.pairs import INNER_A, INNER_B, icmp_echo, ipv4_packet, tunnel_pair, udp_packet

__all__ = ["INNER_A", "INNER_B", "icmp_echo", "ipv4_packet", "tunnel_pair", "udp_packet"]
