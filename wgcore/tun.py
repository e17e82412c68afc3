"""Creating Linux TUN devices the way libwg expects them (IFF_TUN | IFF_NO_PI | IFF_VNET_HDR)."""

from __future__ import annotations

import fcntl
import os
import struct

from wgcore.errors import InvalidArgumentError

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
IFF_VNET_HDR = 0x4000
IFNAMSIZ = 16


def open_tun(name: str, *, offloads: bool = True) -> int:
    """Create (or attach to) TUN interface ``name``; return its fd.

    The device is opened with IFF_TUN | IFF_NO_PI, the contract of
    ``wgTurnOn``, and with ``offloads`` IFF_VNET_HDR too: libwg then asks
    the kernel for checksum and segmentation offloads (TCP super-packets
    of up to 64 KiB each way). Needs CAP_NET_ADMIN; the interface
    disappears when the last fd on it closes.
    """
    raw = name.encode()
    if not raw or len(raw) >= IFNAMSIZ or b"/" in raw or any(c <= 32 for c in raw):
        raise InvalidArgumentError(
            f"interface name must be 1-{IFNAMSIZ - 1} bytes without '/' or spaces, got {name!r}")
    flags = IFF_TUN | IFF_NO_PI | (IFF_VNET_HDR if offloads else 0)
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", raw, flags))
    except OSError as e:
        os.close(fd)
        raise OSError(e.errno, f"cannot create TUN interface {name!r}: {e.strerror}") from None
    return fd
