# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The compiled layer over libwg: tunnels, error conversion, Go's logs."""

from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t

from wgcore cimport _libwg as lw

import atexit
import base64
import binascii
import logging
import math
import os

from wgcore import errors
from wgcore.tun import open_tun

# One Go runtime per process: it does not survive fork(), so a forked child
# must never call into libwg.
cdef bint _forked = False


def _mark_forked():
    global _forked
    _forked = True


os.register_at_fork(after_in_child=_mark_forked)


cdef int check_process() except -1:
    if _forked:
        raise errors.ForkedProcessError(
            "libwg's Go runtime does not survive fork(): use wgcore in the "
            "parent, or exec a fresh interpreter in the child")
    return 0


cdef str take_error_message(int32_t *code):
    """Take this thread's last libwg failure message (code updated)."""
    cdef char *msg = lw.wgTakeLastError(code)
    if msg == NULL:
        return "no detail"
    try:
        return msg.decode("utf-8", "replace")
    finally:
        lw.wgFreePtr(msg)


cdef int convert_error(int32_t code, str action) except -1:
    """Raise the wgcore exception for libwg error ``code``."""
    message = take_error_message(&code)
    raise errors.error_for_code(code, f"{action}: {message}")


# Go's log lines arrive on Go threads; they go to the logger "wgcore.go".
_go_logger = logging.getLogger("wgcore.go")


cdef void log_sink(uint32_t level, const char *msg, uint64_t ctx) noexcept with gil:
    try:
        py_level = logging.ERROR if level == lw.WG_LOG_ERROR else logging.DEBUG
        if _go_logger.isEnabledFor(py_level):
            _go_logger.log(py_level, "tunnel %d: %s", ctx,
                           msg.decode("utf-8", "replace"))
    except BaseException:
        pass  # nothing may unwind into Go


def _stop_go_logging():
    """At exit, stop Go calling into an interpreter that is finalizing."""
    if not _forked:
        with nogil:
            lw.wgDisableLogging()


atexit.register(_stop_go_logging)


cdef bytes settings_bytes(config):
    """UAPI text from a str or an object with ``to_uapi()``, as C bytes."""
    if hasattr(config, "to_uapi"):
        config = config.to_uapi()
    if not isinstance(config, str):
        raise TypeError(
            f"config must be UAPI text (str) or have to_uapi(), not {type(config).__name__}")
    if "\0" in config:
        raise errors.InvalidArgumentError("config contains a NUL character")
    return config.encode()


cdef bytes key_bytes(key, str what):
    """32 raw key bytes from bytes-like or base64 text."""
    if isinstance(key, str):
        try:
            raw = base64.b64decode(key, validate=True)
        except binascii.Error as e:
            raise errors.InvalidArgumentError(f"{what} is not valid base64: {e}") from None
    else:
        try:
            raw = bytes(memoryview(key))
        except TypeError:
            raise TypeError(f"{what} must be bytes-like or base64 text, "
                            f"not {type(key).__name__}") from None
    if len(raw) != 32:
        raise errors.InvalidArgumentError(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


cdef uint64_t _next_log_id = 0


cdef class Tunnel:
    """One WireGuard device running inside libwg.

    Make one with :meth:`from_interface` (wgcore creates the Linux TUN
    device) or :meth:`from_tun_fd`. Close it with :meth:`close` or a
    ``with`` block; any use after that raises :class:`TunnelClosedError`.
    """

    cdef int32_t _handle
    cdef bint _closed
    cdef readonly int mtu
    cdef readonly object name
    cdef readonly uint64_t log_id
    cdef object __weakref__

    def __cinit__(self):
        self._handle = -1
        self._closed = True

    def __init__(self, *args, **kwargs):
        raise TypeError("use Tunnel.from_interface() or Tunnel.from_tun_fd()")

    @classmethod
    def from_interface(cls, str name not None, config, *, int mtu=1420):
        """Create the Linux TUN interface ``name`` and run a tunnel on it.

        ``config`` is UAPI "set" text (or has ``to_uapi()``). Needs
        CAP_NET_ADMIN. The interface is removed when the tunnel closes.
        """
        check_process()
        settings = settings_bytes(config)
        cdef Tunnel self = cls.__new__(cls)
        self.name = name
        self._turn_on(settings, open_tun(name), mtu)
        return self

    @classmethod
    def from_tun_fd(cls, int fd, config, *, int mtu=1420):
        """Run a tunnel on an open TUN device.

        ``fd`` must be a Linux TUN opened with IFF_TUN | IFF_NO_PI (packets
        with no packet-information header); anything else raises
        :class:`InvalidArgumentError`. wgcore works on a duplicate of
        ``fd``, so the caller keeps (and may close) its own.
        """
        check_process()
        settings = settings_bytes(config)
        cdef Tunnel self = cls.__new__(cls)
        self._turn_on(settings, os.dup(fd), mtu)
        return self

    cdef int _turn_on(self, bytes settings, int fd, int mtu) except -1:
        """Hand ``fd`` (always consumed) and settings to wgTurnOn."""
        global _next_log_id
        _next_log_id += 1
        self.log_id = _next_log_id
        self.mtu = mtu
        cdef const char *c_settings = settings
        cdef int32_t handle
        cdef uint64_t log_id = self.log_id
        with nogil:
            handle = lw.wgTurnOn(mtu, c_settings, fd, log_sink, log_id)
        if handle < 0:
            convert_error(handle, "turning the tunnel on")
        self._handle = handle
        self._closed = False
        return 0

    cdef int _check_open(self) except -1:
        check_process()
        if self._closed:
            raise errors.TunnelClosedError("the tunnel is closed")
        return 0

    @property
    def closed(self):
        """True once :meth:`close` has run."""
        return self._closed

    @property
    def handle(self):
        """libwg's handle for this tunnel (-1 once closed)."""
        return -1 if self._closed else self._handle

    def get_config(self):
        """The device's UAPI "get" text: keys, peers, endpoints, counters."""
        self._check_open()
        cdef char *text
        cdef int32_t handle = self._handle
        with nogil:
            text = lw.wgGetConfig(handle)
        if text == NULL:
            convert_error(lw.WG_ERR_GENERAL, "reading the config")
        try:
            return text.decode()
        finally:
            lw.wgFreePtr(text)

    def set_config(self, config):
        """Apply UAPI "set" text (or an object with ``to_uapi()``)."""
        self._check_open()
        settings = settings_bytes(config)
        cdef const char *c_settings = settings
        cdef int32_t handle = self._handle
        cdef int32_t rc
        with nogil:
            rc = lw.wgSetConfig(handle, c_settings)
        if rc < 0:
            convert_error(rc, "applying the config")

    @property
    def socket_fds(self):
        """(IPv4 fd, IPv6 fd) of the UDP sockets, None where not open.

        The fds stay owned by the tunnel: do not close them.
        """
        self._check_open()
        return (self._socket_fd(False), self._socket_fd(True))

    cdef object _socket_fd(self, bint v6):
        cdef int32_t handle = self._handle
        cdef int32_t fd
        with nogil:
            fd = lw.wgGetSocketV6(handle) if v6 else lw.wgGetSocketV4(handle)
        if fd == lw.WG_ERR_GENERAL:
            take_error_message(&fd)
            return None
        if fd < 0:
            convert_error(fd, "reading the socket fd")
        return fd

    def activate_daita(self, peer_public_key, machines, *,
                       double max_padding_frac=0.0, double max_blocking_frac=0.0,
                       int events_capacity=2048, int actions_capacity=1024):
        """Enable DAITA (maybenot machines) for one peer.

        ``machines`` is one maybenot machine string or a sequence of them.
        Raises :class:`DaitaNotCompiledError` in a build without DAITA.
        """
        self._check_open()
        key = key_bytes(peer_public_key, "peer public key")
        text = daita_machines_text(machines)
        for name, frac in (("max_padding_frac", max_padding_frac),
                           ("max_blocking_frac", max_blocking_frac)):
            if not (0.0 <= frac <= 1.0):
                raise errors.InvalidArgumentError(f"{name} must be in [0, 1], got {frac}")
        for name, capacity in (("events_capacity", events_capacity),
                               ("actions_capacity", actions_capacity)):
            if not (0 < capacity < 2**32):
                raise errors.InvalidArgumentError(f"{name} must be positive, got {capacity}")
        cdef const uint8_t *c_key = key
        cdef const char *c_machines = text
        cdef int32_t handle = self._handle
        cdef uint32_t events = events_capacity, actions = actions_capacity
        cdef int32_t rc
        with nogil:
            rc = lw.wgActivateDaita(handle, c_key, c_machines, max_padding_frac,
                                    max_blocking_frac, events, actions)
        if rc == lw.WG_ERR_DAITA and not DAITA_COMPILED_IN:
            raise errors.DaitaNotCompiledError(
                f"activating DAITA: {take_error_message(&rc)}; this libwg links "
                f"{_VERSION.get('wireguard_go')}, which has no DAITA")
        if rc < 0:
            convert_error(rc, "activating DAITA")

    def close(self):
        """Turn the tunnel off; closing twice is allowed."""
        if self._closed:
            return
        self._closed = True
        if _forked:
            return
        cdef int32_t handle = self._handle
        cdef int32_t rc
        with nogil:
            rc = lw.wgTurnOff(handle)
        if rc < 0:
            convert_error(rc, "turning the tunnel off")

    def __enter__(self):
        self._check_open()
        return self

    def __exit__(self, *exc_info):
        self.close()

    def __dealloc__(self):
        if not self._closed and not _forked:
            lw.wgTurnOff(self._handle)

    def __repr__(self):
        state = "closed" if self._closed else f"handle={self._handle}"
        where = f" name={self.name!r}" if self.name is not None else ""
        return f"<Tunnel {state}{where} mtu={self.mtu}>"


cdef bytes daita_machines_text(machines):
    if isinstance(machines, str):
        machines = [machines]
    machines = list(machines)
    if not machines:
        raise errors.InvalidArgumentError("at least one DAITA machine is needed")
    for m in machines:
        if not isinstance(m, str) or not m or "\n" in m or "\0" in m:
            raise errors.InvalidArgumentError(
                "each DAITA machine must be a non-empty single-line str")
    return "\n".join(machines).encode()


cdef dict read_version():
    cdef char *text = lw.wgVersion()
    try:
        lines = text.decode().splitlines()
    finally:
        lw.wgFreePtr(text)
    return dict(line.split("=", 1) for line in lines if "=" in line)


_VERSION = read_version()
DAITA_COMPILED_IN = _VERSION.get("daita") == "true"


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
