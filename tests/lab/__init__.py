"""The test lab: tooling for wgcore's tests and benchmarks, not part of wgcore
(the wheel does not hold it; nothing under ``wgcore/`` imports it).

- :mod:`tests.lab.pairs`: two peered in-memory tunnels
  (:func:`tunnel_pair`) and test IPv4 packets (:func:`ipv4_packet`,
  :func:`icmp_echo`, :func:`udp_packet`).
- :mod:`tests.lab.netns`: throwaway Linux network namespaces (root).
- :mod:`tests.lab.relays`: an entry and an exit relay (Debian
  wireguard-go) in namespaces, for multihop (root).
- :mod:`tests.lab.capture`: UDP datagrams a link sends, counted per
  destination (root).

Benchmarks run as scripts: they put the repository root at the end of
``sys.path`` and import ``tests.lab``.
"""

from .pairs import INNER_A, INNER_B, icmp_echo, ipv4_packet, tunnel_pair, udp_packet

__all__ = ["INNER_A", "INNER_B", "icmp_echo", "ipv4_packet", "tunnel_pair", "udp_packet"]
