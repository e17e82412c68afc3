# Included by _native.pyx: a tunnel's in-memory ports, Packets and Datagrams, over
# libwg's packet rings (wg_ring.h). Both speak one vocabulary: send /
# send_batch, recv / recv_into / recv_batch_into, fileno, max_size.
# (names of _native.pyx and of the files included before this one are in scope)

cdef class _State:
    """Whether a tunnel is closed, shared by the tunnel, its hops and its
    ports: a port holds this, not the tunnel, so no reference cycle keeps
    a dropped tunnel on."""

    cdef bint closed

    def __cinit__(self):
        self.closed = True


cdef inline bint is_closed(_State state) noexcept:
    """Closed, or never on (a handle or port made without its tunnel)."""
    return state is None or state.closed


cdef int check_open(_State state) except -1:
    check_process()
    if is_closed(state):
        raise errors.TunnelClosedError("the tunnel is closed")
    return 0


cdef int raise_libwg(int32_t rc, str action, _State state) except -1:
    """Raise for libwg's ``rc``: TunnelClosedError if the tunnel was closed meanwhile."""
    if rc == lw.WG_ERR_UNKNOWN_TUNNEL and is_closed(state):
        take_error_message(&rc)
        raise errors.TunnelClosedError(f"{action}: the tunnel was closed")
    return convert_error(rc, action)


cdef object open_port(type cls, _State state, int32_t handle, int32_t kind):
    """The port of ``kind`` on libwg handle ``handle``, None if its mode has none."""
    cdef _Port port = cls.__new__(cls)
    cdef int32_t rc = lw.wgPacketRing(handle, kind, &port._write_ring, &port._read_ring)
    if rc == lw.WG_ERR_NOT_SUPPORTED:
        take_error_message(&rc)
        return None
    if rc < 0:
        raise_libwg(rc, "opening the packet rings", state)
    port._state = state
    port._handle = handle
    port._kind = kind
    port.max_size = port._write_ring.slot_size
    return port


cdef class _Port:
    """What Packets and Datagrams share: one kind of traffic the host
    exchanges with a tunnel through a pair of rings.

    One rule for time: a call moving one item raises TimeoutError if it
    cannot within ``timeout`` (a full send queue: QueueFullError, a
    TimeoutError); a batch call returns how many it moved, 0 or a short
    count when time ran out or the queue filled. ``timeout`` is seconds:
    None waits forever, 0 never waits. Every call moves its batch with at
    most one GIL release (none for a small batch that need not wait), bytes
    copied once between the caller's buffers and the rings, in C.
    """

    cdef _State _state
    cdef int32_t _handle  # the libwg handle whose queue this is
    cdef int32_t _kind  # lw.WG_KIND_*
    cdef readonly int max_size
    cdef int32_t _ready_fd
    cdef lw.wg_ring *_write_ring  # the host writes, the device reads
    cdef lw.wg_ring *_read_ring  # the device writes, the host reads

    def __cinit__(self):
        self._ready_fd = -1

    def __init__(self, *args, **kwargs):
        raise TypeError("a tunnel makes its ports: use tunnel.packets or tunnel.datagrams")

    def __dealloc__(self):
        if self._write_ring != NULL:
            lw.wg_ring_release(self._write_ring)
            lw.wg_ring_release(self._read_ring)

    @property
    def closed(self):
        """True once the port's tunnel closed."""
        return is_closed(self._state)

    def send(self, item, *, timeout=None):
        """Queue one item; QueueFullError if there is no room within ``timeout``."""
        if self._write((item,), None, timeout) == 0:
            raise errors.QueueFullError("the tunnel's send queue is full")

    def send_batch(self, items, lengths=None, *, timeout=None):
        """Queue items; return how many were queued.

        ``items`` is a sequence of buffers, or one buffer holding them back
        to back with ``lengths`` giving their sizes. Waits up to ``timeout``
        for room for the first; fewer than given means the queue filled.
        One bad item refuses the whole batch (InvalidArgumentError).
        """
        return self._write(items, lengths, timeout)

    def recv(self, *, timeout=None):
        """Take one item as bytes (allocates; prefer recv_into); TimeoutError if none in time."""
        cdef bytearray buf = bytearray(self.max_size)
        n = self._read_one(buf, timeout)
        return bytes(buf[:n])

    def recv_into(self, buffer, *, timeout=None):
        """Take one item into ``buffer``; return its size. TimeoutError if
        none arrives within ``timeout``; BufferTooSmallError if it does not fit."""
        return self._read_one(buffer, timeout)

    cdef Py_ssize_t _read_one(self, object buffer, object timeout) except -1:
        check_open(self._state)
        cdef int32_t wait = timeout_ms(timeout)
        cdef Py_buffer data
        cdef uint32_t size = 0
        cdef Py_ssize_t rc
        get_buffer(buffer, &data, PyBUF_WRITABLE, "buffer")
        try:
            rc = self._read(<uint8_t *>data.buf, <size_t>data.len, &size, 1, wait)
        finally:
            PyBuffer_Release(&data)
        if rc == 0:
            raise TimeoutError("nothing arrived within the timeout")
        return size

    def recv_batch_into(self, buffer, lengths, *, timeout=None):
        """Take waiting items back to back into ``buffer``; return the count.

        ``lengths`` is a writable uint32 buffer (array('I'), numpy.uint32):
        its size caps the batch and each item's length is stored in it.
        0 if none arrived within ``timeout``; BufferTooSmallError if the
        next item does not fit.
        """
        check_open(self._state)
        cdef int32_t wait = timeout_ms(timeout)
        cdef Py_buffer data, sizes
        get_buffer(buffer, &data, PyBUF_WRITABLE, "buffer")
        try:
            get_buffer(lengths, &sizes, PyBUF_WRITABLE | PyBUF_FORMAT | PyBUF_C_CONTIGUOUS, "lengths")
            check_lengths_buffer(&sizes)
            try:
                return self._read(<uint8_t *>data.buf, <size_t>data.len, <uint32_t *>sizes.buf,
                                  <uint32_t>min(sizes.len // 4, INT32_MAX), wait)
            finally:
                PyBuffer_Release(&sizes)
        finally:
            PyBuffer_Release(&data)

    def fileno(self):
        """An fd readable exactly while received items wait (for selectors
        and event loops). Owned by the tunnel: unregister it before closing."""
        check_open(self._state)
        if self._ready_fd >= 0:
            return self._ready_fd
        cdef int32_t fd = lw.wgReadyFd(self._handle, self._kind)
        if fd < 0:
            raise_libwg(fd, "getting the readiness fd", self._state)
        self._ready_fd = fd
        return fd

    cdef Py_ssize_t _write(self, object packets, object lengths, object timeout) except -1:
        check_open(self._state)
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
        cdef bint small
        cdef lw.wg_ring *ring = self._write_ring
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
            check_batch(self._kind, ptrs, lens, n, self._check_mtu())
            rc = 0
            small = batch_bytes(lens, n) <= GIL_COPY_BYTES
            if small:
                rc = lw.wg_ring_put(ring, <const uint8_t *const *>ptrs, lens, <uint32_t>n)
            deadline = monotonic_ms() + wait if wait > 0 else 0
            slice_ms = wait if 0 <= wait <= SIGNAL_SLICE_MS else SIGNAL_SLICE_MS
            while rc == 0 and n > 0 and (wait != 0 or not small):
                with nogil:
                    rc = lw.wg_ring_write(ring, <const uint8_t *const *>ptrs, lens,
                                          <uint32_t>n, slice_ms)
                if rc != 0 or wait == 0:
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
            ring_error(rc, "sending")
        return rc

    cdef int _check_mtu(self):
        """The MTU check_batch judges this port's items by."""
        if self._kind == lw.WG_KIND_DATAGRAMS:
            return self.max_size - lw.WG_DATAGRAM_OVERHEAD
        return self.max_size

    cdef Py_ssize_t _read(self, uint8_t *buf, size_t buf_len, uint32_t *lens,
                          uint32_t max_count, int32_t wait) except -1:
        """wg_ring_read in signal-checked slices of the ``wait`` ms (-1: forever)."""
        cdef lw.wg_ring *ring = self._read_ring
        cdef int32_t rc = 0
        cdef bint small = buf_len <= GIL_COPY_BYTES
        if small:
            rc = lw.wg_ring_take(ring, buf, buf_len, lens, max_count)
        cdef double deadline = monotonic_ms() + wait if wait > 0 else 0
        cdef int32_t slice_ms = wait if 0 <= wait <= SIGNAL_SLICE_MS else SIGNAL_SLICE_MS
        while rc == 0 and max_count > 0 and (wait != 0 or not small):
            with nogil:
                rc = lw.wg_ring_read(ring, buf, buf_len, lens, max_count, slice_ms)
            if rc != 0 or wait == 0:
                break
            slice_ms = next_slice(wait, deadline)
            if slice_ms < 0:
                break
        if rc < 0:
            ring_error(rc, "receiving")
        return rc

    def __repr__(self):
        state = "closed" if self.closed else f"max_size={self.max_size}"
        return f"<{type(self).__name__} {state}>"


cdef int ring_error(int32_t rc, str action) except -1:
    if rc == lw.WG_RING_TOO_BIG:
        raise errors.BufferTooSmallError(f"{action}: the next packet does not fit the buffer")
    raise errors.TunnelClosedError(f"{action}: the tunnel was closed")


cdef class Packets(_Port):
    """IP packets in memory (``tunnel.packets``): ``send`` what the tunnel
    should encrypt and send, ``recv`` what it received and decrypted.
    ``max_size`` is the tunnel's MTU; a packet must be a whole IPv4 or
    IPv6 packet of at most that many bytes."""


cdef class Datagrams(_Port):
    """Encrypted datagrams the host carries (``tunnel.datagrams``, with
    ``transport="host"``): ``recv`` what the tunnel sent, to deliver to
    the peer; ``send`` what arrived from it. ``max_size`` is the largest,
    the hop's MTU plus WireGuard's 32 bytes of header and tag."""
