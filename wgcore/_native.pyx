# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False, autotestdict=False
"""The compiled layer over libwg: tunnels, their hops and packets, errors, Go's logs.

One extension module, in included files (uvloop's habit), bottom up:

- ``_libwg_guard.pxi``: the fork guard, libwg's last error (shared with _daita)
- ``_core.pxi``: libwg codes as exceptions, Go's log sink, text and key arguments
- ``_packets.pxi``: what the packet path checks: timeouts, buffers, batches
- ``_ports.pxi``: ``Packets`` and ``Datagrams``, a tunnel's in-memory ports
  over libwg's rings: the whole packet path
- ``_device.pxi``: ``DeviceHandle``, what every libwg handle takes: config,
  traffic counters, DAITA
- ``_tunnel.pxi``: ``Tunnel``: the one turn-on path (wgTurnOnMode), ports,
  sockets, close; the modes are described in wgcore/tunnel.py
- ``_hop.pxi``: ``Hop``, one hop of a multihop tunnel
"""

from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_SIMPLE, PyBUF_WRITABLE,
                             PyBuffer_Release, PyObject_CheckBuffer,
                             PyObject_GetBuffer)
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec
from libc.math cimport ceil
from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t

cimport cython

from wgcore cimport _libwg as lw

import atexit
import base64
import binascii
import logging
import os
import threading

from wgcore import errors
from wgcore.traffic import Count, TrafficStats, WireCounts

include "_libwg_guard.pxi"
include "_core.pxi"
include "_packets.pxi"
include "_ports.pxi"
include "_device.pxi"
include "_tunnel.pxi"
include "_hop.pxi"


cdef dict read_version():
    cdef char *text = lw.wgVersion()
    try:
        lines = text.decode().splitlines()
    finally:
        lw.wgFreePtr(text)
    return dict(line.split("=", 1) for line in lines if "=" in line)


_VERSION = read_version()
DAITA_COMPILED_IN = _VERSION.get("daita") == "true"
DAITA_MISSING = (
    f"DAITA is not compiled into this wgcore (libwg links {_VERSION.get('wireguard_go')} "
    "without the daita tag): reinstall with Rust's cargo on PATH and Mullvad's "
    "wireguard-go fork fetchable, e.g. pip install --force-reinstall "
    "-Csetup-args=-Ddaita=enabled wgcore, which fails with the reason if it cannot")


def version():
    """What this libwg was built from: wgcore, go, wireguard_go, daita."""
    return dict(_VERSION)


def tunnel_count():
    """How many tunnels are on in this process."""
    check_process()
    return lw.wgTunnelCount()


def derive_public_key(private_key):
    """The 32-byte X25519 public key of a 32-byte private key."""
    check_process()
    raw = key_bytes(private_key, "private key")
    cdef const uint8_t *c_private = raw
    cdef uint8_t public[32]
    cdef int32_t rc = lw.wgDerivePublicKey(c_private, public)
    if rc < 0:
        convert_error(rc, "deriving the public key")
    return public[:32]
