# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, auto_pickle=False, autotestdict=False
"""The compiled layer over libwg: tunnels, error conversion, Go's logs.

Over 400 lines for now: one ``Tunnel`` extension type holds every mode
(TUN, in-memory packets, host datagrams), their packet path and the
config/DAITA calls; splitting it into a shared core and one included file
per mode (issue 10, item 1) is still to do.
"""

from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_SIMPLE, PyBUF_WRITABLE,
                             PyBuffer_Release, PyObject_CheckBuffer,
                             PyObject_GetBuffer)
from cpython.exc cimport PyErr_CheckSignals
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec
from libc.math cimport ceil
from libc.stdint cimport int32_t, uint8_t, uint32_t, uint64_t

from wgcore cimport _libwg as lw

import atexit
import base64
import binascii
import logging
import operator
import os
import threading

from wgcore import errors
from wgcore.traffic import Count, TrafficStats, WireCounts
from wgcore.tun import open_tun

include "_libwg_guard.pxi"


cdef int convert_error(int32_t code, str action) except -1:
    """Raise the wgcore exception for libwg error ``code``."""
    message = take_error_message(&code)
    raise errors.error_for_code(code, f"{action}: {message}")


# Go's log lines arrive on Go threads; they go to the logger "wgcore.go",
# redacted (wireguard-go logs the UAPI errors it returns, quoting input).
_go_logger = logging.getLogger("wgcore.go")
_go_logger.addHandler(logging.NullHandler())  # a library prints nothing unless asked


# Error lines Go logs on a thread that is inside set_config or turning a
# tunnel on: held back until the call returns; if it raised, the exception
# says the same, so they go out at DEBUG only (not printed twice).
_held = threading.local()


cdef int hold_go_errors() except -1:
    _held.lines = []
    return 0


cdef int release_go_errors(bint failed) except -1:
    lines, _held.lines = _held.lines, None
    level = logging.DEBUG if failed else logging.ERROR
    for ctx, text in lines:
        _go_logger.log(level, "tunnel %d: %s", ctx, text)
    return 0


cdef void log_sink(uint32_t level, const char *msg, uint64_t ctx) noexcept with gil:
    try:
        held = getattr(_held, "lines", None)
        if held is not None and level == lw.WG_LOG_ERROR:
            held.append((ctx, errors.redact(msg.decode("utf-8", "replace"))))
            return
        py_level = logging.ERROR if level == lw.WG_LOG_ERROR else logging.DEBUG
        if _go_logger.isEnabledFor(py_level):
            _go_logger.log(py_level, "tunnel %d: %s", ctx,
                           errors.redact(msg.decode("utf-8", "replace")))
    except BaseException:
        pass  # nothing may unwind into Go


def _stop_go_logging():
    """At exit, stop Go calling into an interpreter that is finalizing."""
    if not _forked:
        with nogil:
            lw.wgDisableLogging()


atexit.register(_stop_go_logging)


cdef bytes settings_bytes(config, str what="config"):
    """UAPI "set" text (str, or bytes of UTF-8) as C bytes; the typed layer
    (wgcore.Tunnel) renders Interface and Peer objects before this."""
    if isinstance(config, str):
        if config.lstrip().startswith("["):
            raise errors.InvalidArgumentError(
                f"{what} looks like a .conf file ([Interface]/[Peer] sections), not UAPI text: "
                "parse it with wgcore.Interface.from_conf(text) and pass the Interface")
        if "\0" in config:
            raise errors.InvalidArgumentError(f"{what} contains a NUL character")
        try:
            return config.encode()
        except UnicodeEncodeError as e:
            raise errors.InvalidArgumentError(
                f"{what} holds text UTF-8 cannot encode at position {e.start}") from None
    if isinstance(config, bytes):
        if b"\0" in config:
            raise errors.InvalidArgumentError(f"{what} contains a NUL character")
        try:
            config.decode()
        except UnicodeDecodeError as e:
            raise errors.InvalidArgumentError(
                f"{what} is not UTF-8 at byte {e.start}") from None
        return config
    raise TypeError(f"{what} must be UAPI text (str or bytes), not {type(config).__name__}; "
                    "wgcore.Tunnel also takes an Interface or a Peer")


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

# Batches up to this size use arrays on the C stack; larger ones one
# PyMem_Malloc per call (never one allocation per packet).
cdef enum:
    STACK_BATCH = 64
    INT32_MAX = 2147483647

_TRANSPORTS = {"udp": lw.WG_TRANSPORT_UDP, "host": lw.WG_TRANSPORT_HOST}


cdef int32_t timeout_ms(object timeout) except? -2:
    """libwg's timeout: None waits forever (-1), else seconds >= 0."""
    if timeout is None:
        return -1
    cdef double seconds = timeout
    if not seconds >= 0:
        raise errors.InvalidArgumentError(f"timeout must be None or >= 0 seconds, got {timeout!r}")
    if seconds * 1000 >= INT32_MAX:
        return INT32_MAX
    return <int32_t>ceil(seconds * 1000)


cdef enum:
    # A blocking call waits in slices this long, checking for signals in
    # between, so Ctrl-C interrupts a wait with no timeout.
    SIGNAL_SLICE_MS = 200


cdef double monotonic_ms() noexcept nogil:
    cdef timespec ts
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6


cdef int32_t next_slice(int32_t wait, double deadline) except -2:
    """After an empty slice: raise on a pending signal, else the next
    slice's wait, or -1 when ``wait`` (ms, -1 = forever) is used up."""
    if PyErr_CheckSignals() < 0:
        return -2
    if wait < 0:
        return SIGNAL_SLICE_MS
    left = deadline - monotonic_ms()
    if left <= 0:
        return -1
    return <int32_t>min(left + 1, SIGNAL_SLICE_MS)


cdef int get_buffer(object obj, Py_buffer *view, int flags, str what) except -1:
    """Acquire a contiguous buffer (writable if ``flags`` asks) or raise a
    TypeError that says why not: not a buffer, read-only, or not contiguous."""
    cdef bint writable = flags & PyBUF_WRITABLE
    kind = "a writable buffer (bytearray, memoryview, numpy array)" if writable else "a buffer"
    try:
        PyObject_GetBuffer(obj, view, flags)
        return 0
    except TypeError:
        raise TypeError(f"{what} must be {kind}, not {type(obj).__name__}") from None
    except BufferError:
        pass
    try:
        readonly = memoryview(obj).readonly
    except BufferError as e:
        raise TypeError(f"{what}: {e}") from None
    if writable and readonly:
        raise TypeError(f"{what} must be a writable buffer, not a read-only {type(obj).__name__}")
    raise TypeError(f"{what} must be C-contiguous, not a strided {type(obj).__name__} "
                    f"(copy it, or pass a contiguous slice)")


cdef bint is_uint32(Py_buffer *view) noexcept:
    """Whether view holds native uint32 items ('I', or 'L' of 4 bytes)."""
    cdef const char *fmt = view.format
    if fmt == NULL:
        return False  # plain bytes
    if fmt[0] == b"@" or fmt[0] == b"=" or fmt[0] == b"<":
        fmt += 1
    return view.itemsize == 4 and (fmt[0] == b"I" or fmt[0] == b"L") and fmt[1] == 0


cdef int check_lengths_buffer(Py_buffer *view) except -1:
    if not is_uint32(view):
        PyBuffer_Release(view)
        raise TypeError("lengths must be a writable uint32 buffer, e.g. "
                        "array.array('I', ...) or a numpy.uint32 array")
    return 0


cdef class DeviceHandle:
    """One WireGuard device inside libwg, reached by its handle: its config,
    traffic counters and DAITA. The base of :class:`Tunnel` and of
    :class:`Hop` (one hop of a multihop tunnel)."""

    cdef int32_t _handle

    def __cinit__(self, *args, **kwargs):
        self._handle = -1

    cdef bint _is_closed(self):
        return True

    cdef int _check_open(self) except -1:
        check_process()
        if self._is_closed():
            raise errors.TunnelClosedError("the tunnel is closed")
        return 0

    cdef int _packet_error(self, int32_t rc, str action) except -1:
        if rc == lw.WG_ERR_UNKNOWN_TUNNEL and self._is_closed():
            take_error_message(&rc)
            raise errors.TunnelClosedError(f"{action}: the tunnel was closed")
        return convert_error(rc, action)

    @property
    def handle(self):
        """libwg's handle for this device (-1 once closed)."""
        return -1 if self._is_closed() else self._handle

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
        """Apply UAPI "set" text (str or bytes)."""
        self._check_open()
        settings = settings_bytes(config)
        cdef const char *c_settings = settings
        cdef int32_t handle = self._handle
        cdef int32_t rc = -1
        hold_go_errors()
        try:
            with nogil:
                rc = lw.wgSetConfig(handle, c_settings)
        finally:
            release_go_errors(rc < 0)
        if rc < 0:
            convert_error(rc, "applying the config")

    def traffic(self):
        """The tunnel's traffic counters (:class:`wgcore.TrafficStats`)."""
        self._check_open()
        cdef lw.wg_traffic out
        cdef int32_t handle = self._handle
        cdef int32_t rc
        with nogil:
            rc = lw.wgGetTraffic(handle, &out)
        if rc < 0:
            self._packet_error(rc, "reading the traffic counters")
        return TrafficStats(count_of(out.from_app), count_of(out.to_app), count_of(out.no_route),
                            wire_counts_of(out.sent), wire_counts_of(out.received))

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
            take_error_message(&rc)
            raise errors.DaitaNotCompiledError(DAITA_MISSING)
        if rc < 0:
            convert_error(rc, "activating DAITA")


cdef class Tunnel(DeviceHandle):
    """One WireGuard tunnel running inside libwg.

    Make one with :meth:`from_interface` (wgcore creates the Linux TUN
    device), :meth:`from_tun_fd`, :meth:`in_memory` or :meth:`multihop`.
    Close it with :meth:`close` or a ``with`` block; any use after that
    raises :class:`TunnelClosedError`.
    """

    cdef bint _closed
    cdef int32_t _entry_handle  # the entry hop's of a multihop tunnel, else -1
    cdef readonly int mtu
    cdef readonly object name
    cdef readonly uint64_t log_id
    cdef readonly str transport
    cdef int32_t _ready_fds[2]  # readiness eventfds by kind, -1 until asked for
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        self._closed = True
        self._entry_handle = -1
        self._ready_fds[0] = self._ready_fds[1] = -1

    def __init__(self, *args, **kwargs):
        raise TypeError("use Tunnel.from_interface(), from_tun_fd(), in_memory() or multihop()")

    cdef bint _is_closed(self):
        return self._closed

    @classmethod
    def from_interface(cls, str name not None, config, *, int mtu=1420):
        """Create the Linux TUN interface ``name`` and run a tunnel on it.

        ``config`` is UAPI "set" text (str or bytes). Needs
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

    @classmethod
    def in_memory(cls, config, *, int mtu=1420, str transport="udp"):
        """Run a tunnel with no kernel TUN: needs no root.

        Write the IP packets it should send with :meth:`send_packets` /
        :meth:`send`; read what it received with :meth:`recv_packets_into`
        / :meth:`recv_into`. ``transport`` is ``"udp"`` (UDP sockets, as
        usual) or ``"host"``: no socket, the caller carries the encrypted
        datagrams with :meth:`recv_datagrams_into` / :meth:`send_datagrams`
        (one point-to-point link).
        """
        check_process()
        if transport not in _TRANSPORTS:
            raise errors.InvalidArgumentError(
                f"transport must be 'udp' or 'host', got {transport!r}")
        settings = settings_bytes(config)
        cdef Tunnel self = cls.__new__(cls)
        self._turn_on(settings, -1, mtu, _TRANSPORTS[transport])
        self.transport = transport
        return self

    @classmethod
    def multihop(cls, entry, exit, *, str private_ip not None, str interface=None, tun_fd=None,
                 bint in_memory=False, str transport="udp", int mtu=1420):
        """Run a multihop tunnel: an exit hop whose datagrams travel inside
        an entry hop, so only the entry relay sees this machine.

        ``entry`` and ``exit`` are each hop's UAPI "set" text; ``private_ip``
        is the exit hop's IPv4 address inside the entry tunnel. Give exactly
        one of ``interface`` (create this TUN), ``tun_fd`` (an open TUN: the
        tunnel takes ownership of it) or ``in_memory=True`` (packets through
        :meth:`send_packets` / :meth:`recv_packets_into`; ``transport`` is
        the entry hop's, "udp" or "host"). ``mtu`` is the entry hop's
        (636..65535); packets get ``mtu - 60`` (:attr:`mtu`).
        """
        check_process()
        given = [name for name, on in (("interface=", interface is not None),
                                       ("tun_fd=", tun_fd is not None),
                                       ("in_memory=True", in_memory)) if on]
        if len(given) != 1:
            raise errors.InvalidArgumentError(
                "a multihop tunnel needs exactly one of interface=, tun_fd= or in_memory=True, got "
                + (" and ".join(given) or "none"))
        if transport not in _TRANSPORTS:
            raise errors.InvalidArgumentError(
                f"transport must be 'udp' or 'host', got {transport!r}")
        if not in_memory and transport != "udp":
            raise errors.InvalidArgumentError(
                "transport='host' needs in_memory=True: over a TUN the entry hop uses UDP sockets")
        entry_settings = settings_bytes(entry, "entry config")
        exit_settings = settings_bytes(exit, "exit config")
        ip = settings_bytes(private_ip, "private_ip")
        fd = -1 if tun_fd is None else operator.index(tun_fd)
        cdef Tunnel self = cls.__new__(cls)
        if interface is not None:
            self.name = interface
            fd = open_tun(interface)
        if in_memory:
            self.transport = transport
        cdef const char *c_exit = exit_settings
        cdef const char *c_entry = entry_settings
        cdef const char *c_ip = ip
        cdef int32_t c_fd = fd, c_transport = _TRANSPORTS[transport], handle = -1
        cdef uint64_t log_id = self._begin(mtu - lw.WG_MULTIHOP_OVERHEAD)
        with nogil:
            if c_fd >= 0:
                handle = lw.wgTurnOnMultihop(mtu, c_exit, c_entry, c_ip, c_fd, log_sink, log_id)
            else:
                handle = lw.wgTurnOnMultihopInMemory(mtu, c_exit, c_entry, c_ip, c_transport,
                                                     log_sink, log_id)
        self._started(handle)
        self._entry_handle = lw.wgEntryHandle(handle)
        if self._entry_handle < 0:
            convert_error(self._entry_handle, "finding the entry hop")
        return self

    cdef uint64_t _begin(self, int mtu) except? 0:
        """Before a turn-on: a log id, the packet MTU, Go's errors held back."""
        global _next_log_id
        _next_log_id += 1
        self.log_id = _next_log_id
        self.mtu = mtu
        hold_go_errors()
        return self.log_id

    cdef int _started(self, int32_t handle) except -1:
        """After a turn-on returned ``handle``: raise, or the tunnel is on."""
        release_go_errors(handle < 0)
        if handle < 0:
            convert_error(handle, "turning the tunnel on")
        self._handle = handle
        self._closed = False
        return 0

    cdef int _turn_on(self, bytes settings, int fd, int mtu, int transport=-1) except -1:
        """wgTurnOn over ``fd`` (always consumed), or wgTurnOnInMemory."""
        cdef const char *c_settings = settings
        cdef int32_t handle = -1
        cdef uint64_t log_id = self._begin(mtu)
        with nogil:
            if fd >= 0:
                handle = lw.wgTurnOn(mtu, c_settings, fd, log_sink, log_id)
            else:
                handle = lw.wgTurnOnInMemory(mtu, c_settings, transport, log_sink, log_id)
        return self._started(handle)

    cdef int32_t _handle_for(self, int32_t kind):
        """The handle whose queue of ``kind`` to use: a multihop tunnel's
        host-carried datagrams are its entry hop's."""
        if kind == lw.WG_KIND_DATAGRAMS and self._entry_handle >= 0:
            return self._entry_handle
        return self._handle

    cdef int _link_mtu(self):
        """The MTU of the datagrams' hop (the entry's of a multihop tunnel)."""
        return self.mtu + (lw.WG_MULTIHOP_OVERHEAD if self._entry_handle >= 0 else 0)

    @property
    def is_multihop(self):
        """True for a tunnel made by :meth:`multihop` (see :class:`Hop`)."""
        return self._entry_handle >= 0

    # The packet path. Every call moves a batch under one GIL release, and
    # bytes are copied once between the caller's buffers and Go's queues.

    def send_packets(self, packets, lengths=None, *, timeout=None):
        """Queue IP packets for sending; return how many were queued.

        ``packets`` is a sequence of buffers, or one buffer holding packets
        back to back with ``lengths`` giving their sizes. Waits up to
        ``timeout`` seconds (None: forever) for room for the first; fewer
        than given means the queue is full (back-pressure).
        """
        return self._write(lw.WG_KIND_PACKETS, packets, lengths, timeout)

    def send(self, packet, *, timeout=None):
        """Queue one IP packet; raise QueueFullError if no room in time."""
        if self._write(lw.WG_KIND_PACKETS, (packet,), None, timeout) == 0:
            raise errors.QueueFullError("the tunnel's send queue is full")

    def recv_packets_into(self, buffer, lengths, *, timeout=None):
        """Read waiting IP packets back to back into ``buffer``.

        ``lengths`` is a writable uint32 buffer (array('I'), numpy.uint32):
        its size caps the batch and each packet's length is stored in it.
        Returns the count, 0 if none arrived within ``timeout``. Raises
        BufferTooSmallError if the next packet does not fit.
        """
        return self._read_into(lw.WG_KIND_PACKETS, buffer, lengths, timeout)

    def recv_into(self, buffer, *, timeout=None):
        """Read one IP packet into ``buffer``; return its size.

        Raises TimeoutError if none arrives within ``timeout``.
        """
        return self._read_one(lw.WG_KIND_PACKETS, buffer, timeout)

    def recv(self, *, timeout=None):
        """Read one IP packet as bytes (allocates; prefer recv_into)."""
        return self._recv_bytes(lw.WG_KIND_PACKETS, self.mtu, timeout)

    def fileno(self):
        """An fd readable exactly while received packets wait (for selectors).

        Owned by the tunnel: unregister it before closing the tunnel.
        """
        return self._ready_fd(lw.WG_KIND_PACKETS)

    def send_datagrams(self, datagrams, lengths=None, *, timeout=None):
        """Deliver encrypted datagrams to a ``transport="host"`` tunnel.

        Same conventions as :meth:`send_packets`.
        """
        return self._write(lw.WG_KIND_DATAGRAMS, datagrams, lengths, timeout)

    def recv_datagrams_into(self, buffer, lengths, *, timeout=None):
        """Take the encrypted datagrams a ``transport="host"`` tunnel sent.

        Same conventions as :meth:`recv_packets_into`.
        """
        return self._read_into(lw.WG_KIND_DATAGRAMS, buffer, lengths, timeout)

    def recv_datagram(self, *, timeout=None):
        """Take one sent datagram as bytes; TimeoutError if none in time."""
        return self._recv_bytes(lw.WG_KIND_DATAGRAMS, self._link_mtu() + 32, timeout)

    def datagram_fileno(self):
        """An fd readable exactly while sent datagrams wait to be carried."""
        return self._ready_fd(lw.WG_KIND_DATAGRAMS)

    cdef Py_ssize_t _write(self, int32_t kind, object packets, object lengths,
                           object timeout) except -1:
        self._check_open()
        cdef int32_t wait = timeout_ms(timeout)
        cdef Py_ssize_t n = len(packets) if lengths is None else len(lengths)
        if n > INT32_MAX:
            raise errors.InvalidArgumentError("too many packets in one batch")
        cdef uint8_t *stack_ptrs[STACK_BATCH]
        cdef uint32_t stack_lens[STACK_BATCH]
        cdef Py_buffer stack_views[STACK_BATCH]
        cdef uint8_t **ptrs = stack_ptrs
        cdef uint32_t *lens = stack_lens
        cdef Py_buffer *views = stack_views
        cdef Py_ssize_t held = 0, i
        cdef int32_t rc, slice_ms
        cdef double deadline
        cdef int32_t handle = self._handle_for(kind)
        if n > STACK_BATCH:
            ptrs = <uint8_t **>PyMem_Malloc(n * sizeof(uint8_t *))
            lens = <uint32_t *>PyMem_Malloc(n * sizeof(uint32_t))
            views = <Py_buffer *>PyMem_Malloc(n * sizeof(Py_buffer))
            if ptrs == NULL or lens == NULL or views == NULL:
                PyMem_Free(ptrs)
                PyMem_Free(lens)
                PyMem_Free(views)
                raise MemoryError()
        try:
            if lengths is None:
                for i in range(n):
                    get_buffer(packets[i], &views[i], PyBUF_SIMPLE, f"packet {i}")
                    held += 1
                    if views[i].len > 0xFFFFFFFF:
                        raise errors.InvalidArgumentError(f"packet {i} is too large")
                    ptrs[i] = <uint8_t *>views[i].buf
                    lens[i] = <uint32_t>views[i].len
            else:
                get_buffer(packets, &views[0], PyBUF_SIMPLE, "packets")
                held = 1
                fill_from_lengths(&views[0], lengths, n, ptrs, lens)
            deadline = monotonic_ms() + wait if wait > 0 else 0
            slice_ms = wait if 0 <= wait <= SIGNAL_SLICE_MS else SIGNAL_SLICE_MS
            while True:
                with nogil:
                    rc = lw.wgWrite(handle, kind, <const uint8_t *const *>ptrs, lens,
                                    <uint32_t>n, slice_ms)
                if rc != 0 or n == 0 or wait == 0:
                    break
                slice_ms = next_slice(wait, deadline)
                if slice_ms < 0:
                    break
        finally:
            for i in range(held):
                PyBuffer_Release(&views[i])
            if ptrs != stack_ptrs:
                PyMem_Free(ptrs)
                PyMem_Free(lens)
                PyMem_Free(views)
        if rc < 0:
            self._packet_error(rc, "sending")
        return rc

    cdef Py_ssize_t _read_into(self, int32_t kind, object buffer, object lengths,
                               object timeout) except -1:
        self._check_open()
        cdef int32_t wait = timeout_ms(timeout)
        cdef Py_buffer data, sizes
        get_buffer(buffer, &data, PyBUF_WRITABLE, "buffer")
        try:
            get_buffer(lengths, &sizes, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS, "lengths")
            check_lengths_buffer(&sizes)
            try:
                return self._read(kind, <uint8_t *>data.buf, <size_t>data.len,
                                  <uint32_t *>sizes.buf,
                                  <uint32_t>min(sizes.len // 4, INT32_MAX), wait)
            finally:
                PyBuffer_Release(&sizes)
        finally:
            PyBuffer_Release(&data)

    cdef Py_ssize_t _read_one(self, int32_t kind, object buffer, object timeout) except -1:
        self._check_open()
        cdef int32_t wait = timeout_ms(timeout)
        cdef Py_buffer data
        cdef uint32_t size = 0
        cdef Py_ssize_t rc
        get_buffer(buffer, &data, PyBUF_WRITABLE, "buffer")
        try:
            rc = self._read(kind, <uint8_t *>data.buf, <size_t>data.len, &size, 1, wait)
        finally:
            PyBuffer_Release(&data)
        if rc == 0:
            raise TimeoutError("nothing arrived within the timeout")
        return size

    cdef Py_ssize_t _read(self, int32_t kind, uint8_t *buf, size_t buf_len,
                          uint32_t *lens, uint32_t max_count, int32_t wait) except -1:
        """wgRead in signal-checked slices of the ``wait`` ms (-1: forever)."""
        cdef int32_t handle = self._handle_for(kind)
        cdef int32_t rc
        cdef double deadline = monotonic_ms() + wait if wait > 0 else 0
        cdef int32_t slice_ms = wait if 0 <= wait <= SIGNAL_SLICE_MS else SIGNAL_SLICE_MS
        while True:
            with nogil:
                rc = lw.wgRead(handle, kind, buf, buf_len, lens, max_count, slice_ms)
            if rc != 0 or max_count == 0 or wait == 0:
                break
            slice_ms = next_slice(wait, deadline)
            if slice_ms < 0:
                break
        if rc < 0:
            self._packet_error(rc, "receiving")
        return rc

    cdef bytes _recv_bytes(self, int32_t kind, Py_ssize_t capacity, object timeout):
        cdef bytearray buf = bytearray(capacity)
        n = self._read_one(kind, buf, timeout)
        return bytes(buf[:n])

    cdef int32_t _ready_fd(self, int32_t kind) except -1:
        self._check_open()
        if self._ready_fds[kind] >= 0:
            return self._ready_fds[kind]
        cdef int32_t fd = lw.wgReadyFd(self._handle_for(kind), kind)
        if fd < 0:
            self._packet_error(fd, "getting the readiness fd")
        self._ready_fds[kind] = fd
        return fd

    @property
    def closed(self):
        """True once :meth:`close` has run."""
        return self._closed

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
        if fd == lw.WG_ERR_GENERAL or fd == lw.WG_ERR_NOT_SUPPORTED:
            take_error_message(&fd)  # no such socket (transport="host", or not open)
            return None
        if fd < 0:
            convert_error(fd, "reading the socket fd")
        return fd

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
        # Without the GIL: closing waits for Go threads that may be logging.
        cdef int32_t handle = self._handle
        if not self._closed and not _forked:
            with nogil:
                lw.wgTurnOff(handle)

    def __repr__(self):
        state = "closed" if self._closed else f"handle={self._handle}"
        where = f" name={self.name!r}" if self.name is not None else ""
        hops = " multihop" if self._entry_handle >= 0 else ""
        return f"<Tunnel {state}{where}{hops} mtu={self.mtu}>"


cdef class Hop(DeviceHandle):
    """One hop of a multihop tunnel, ``"entry"`` or ``"exit"``: its own
    config, peers, counters and DAITA. Valid while its tunnel is open."""

    cdef readonly Tunnel tunnel
    cdef readonly str role

    def __cinit__(self, Tunnel tunnel not None, str role not None):
        if role not in ("entry", "exit"):
            raise errors.InvalidArgumentError(f"role must be 'entry' or 'exit', got {role!r}")
        if tunnel._entry_handle < 0:
            raise errors.InvalidArgumentError("a single-hop tunnel has no hops: use Tunnel.multihop()")
        self.tunnel = tunnel
        self.role = role
        self._handle = tunnel._entry_handle if role == "entry" else tunnel._handle

    cdef bint _is_closed(self):
        return self.tunnel._closed

    def __repr__(self):
        state = "closed" if self._is_closed() else f"handle={self._handle}"
        return f"<Hop {self.role} {state}>"


cdef int fill_from_lengths(Py_buffer *view, object lengths, Py_ssize_t n,
                           uint8_t **ptrs, uint32_t *lens) except -1:
    """Point ptrs at packets laid back to back in view, sized by lengths
    (a uint32 buffer is read directly, any other sequence item by item)."""
    cdef Py_buffer sizes
    cdef uint32_t *direct = NULL
    cdef Py_ssize_t offset = 0, i, size
    if PyObject_CheckBuffer(lengths):
        try:
            PyObject_GetBuffer(lengths, &sizes, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS)
        except BufferError:
            pass  # not contiguous: read item by item
        else:
            if is_uint32(&sizes) and sizes.len // 4 >= n:
                direct = <uint32_t *>sizes.buf
            else:
                PyBuffer_Release(&sizes)
    try:
        for i in range(n):
            size = direct[i] if direct != NULL else lengths[i]
            if size < 0 or size > view.len - offset:
                raise errors.InvalidArgumentError(f"lengths overrun the buffer at packet {i}")
            ptrs[i] = <uint8_t *>view.buf + offset
            lens[i] = <uint32_t>size
            offset += size
    finally:
        if direct != NULL:
            PyBuffer_Release(&sizes)
    return 0


cdef object count_of(lw.wg_count c):
    return Count(c.packets, c.bytes)


cdef object wire_counts_of(lw.wg_wire_counts w):
    return WireCounts(count_of(w.initiation), count_of(w.response), count_of(w.cookie),
                      count_of(w.data), count_of(w.keepalive), count_of(w.other))


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
