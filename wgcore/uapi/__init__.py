"""WireGuard's userspace API (UAPI), in one place.

- :mod:`wgcore.uapi.codec`: the text codec: :func:`parse_get` (one parser
  for configuration and statistics, keeping unknown keys) and the ``set``
  writers every part of wgcore uses.
- :mod:`wgcore.uapi.server`: the unix socket ``wg(8)`` talks to
  (:class:`UapiServer`) and a client for it (:func:`uapi_get`, :func:`uapi_set`).
"""

from wgcore.uapi.codec import Device, parse_get
from wgcore.uapi.server import (MAX_REQUEST, SOCKET_DIR, UapiDevice, UapiServer, default_socket_path,
                                list_interfaces, uapi_get, uapi_set)

__all__ = ["MAX_REQUEST", "SOCKET_DIR", "Device", "UapiDevice", "UapiServer", "default_socket_path",
           "list_interfaces", "parse_get", "uapi_get", "uapi_set"]
