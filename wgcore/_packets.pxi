# Included by _native.pyx: the packet path, IP packets and host-carried datagrams
# in batches. All of it is here (one seam): timeouts, buffer checks, the calls.
# (names of _native.pyx and of the files included before this one are in scope)

# Batches up to this size use arrays on the C stack; larger ones one
# PyMem_Malloc per call (never one allocation per packet).
cdef enum:
    STACK_BATCH = 64
    INT32_MAX = 2147483647
    # Up to this many bytes, a call first tries to move packets without
    # releasing the GIL (never waiting): for small copies the release costs
    # more than the copy, and several threads sending at once then queue
    # for the GIL at every call. Larger copies and every wait release it.
    GIL_COPY_BYTES = 65536


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


cdef size_t batch_bytes(const uint32_t *lens, Py_ssize_t n) noexcept:
    cdef size_t total = 0
    cdef Py_ssize_t i
    for i in range(n):
        total += lens[i]
    return total


cdef str ip_packet_problem(const uint8_t *p, uint32_t n, int mtu):
    """Why p cannot be an IP packet of a tunnel of mtu bytes, or None
    (what the receiving peer would drop): wg_rules.h's check, in words
    (libwg's rules.go gives the same ones in Go's tests)."""
    cdef uint32_t version, stated
    cdef int32_t problem = lw.wg_ip_packet_problem(p, n, <uint32_t>mtu, &version, &stated)
    if problem == lw.WG_PACKET_OK:
        return None
    if problem == lw.WG_PACKET_TOO_BIG:
        return f"{n} bytes is more than the MTU ({mtu})"
    if problem == lw.WG_PACKET_EMPTY:
        return "empty packet"
    if problem == lw.WG_PACKET_BAD_VERSION:
        return f"IP version {version} is neither 4 nor 6"
    if problem == lw.WG_PACKET_TOO_SHORT:
        return f"{n} bytes is too short for IPv{version}"
    return f"the IP header says {stated} bytes, the packet has {n}"


cdef int check_batch(int32_t kind, uint8_t **ptrs, uint32_t *lens, Py_ssize_t n,
                     int mtu) except -1:
    """Refuse the whole batch if one packet (or datagram) is bad."""
    cdef Py_ssize_t i
    for i in range(n):
        if kind == lw.WG_KIND_DATAGRAMS:
            if lw.wg_datagram_size_ok(lens[i], <uint32_t>mtu):
                continue
            problem = (f"a datagram of {lens[i]} bytes is outside "
                       f"1..{mtu + lw.WG_DATAGRAM_OVERHEAD}")
        else:
            problem = ip_packet_problem(ptrs[i], lens[i], mtu)
            if problem is None:
                continue
        raise errors.InvalidArgumentError(f"sending: packet {i}: {problem}")
    return 0


cdef class _PacketPath(DeviceHandle):
    """The packet and datagram batches of a tunnel; :class:`Tunnel` adds
    how it is turned on and off."""

    cdef readonly int mtu
    cdef int _datagram_mtu
    cdef int32_t _queue_handles[2]  # the handle whose queue of each kind this uses
    cdef int32_t _ready_fds[2]  # readiness eventfds by kind, -1 until asked for
    # The rings of each kind (wgPacketRing), NULL until first used: the host
    # writes _write_rings and reads _read_rings, with no call into libwg.
    cdef lw.wg_ring *_write_rings[2]
    cdef lw.wg_ring *_read_rings[2]

    def __cinit__(self, *args, **kwargs):
        self._queue_handles[0] = self._queue_handles[1] = -1
        self._ready_fds[0] = self._ready_fds[1] = -1
        self._write_rings[0] = self._write_rings[1] = NULL
        self._read_rings[0] = self._read_rings[1] = NULL

    def __dealloc__(self):
        for kind in range(2):
            if self._write_rings[kind] != NULL:
                lw.wg_ring_release(self._write_rings[kind])
                lw.wg_ring_release(self._read_rings[kind])

    cdef int _rings(self, int32_t kind) except -1:
        """Take the rings of kind from libwg (once: the only call into it)."""
        if self._write_rings[kind] != NULL:
            return 0
        cdef int32_t rc = lw.wgPacketRing(self._queue_handles[kind], kind,
                                          &self._write_rings[kind], &self._read_rings[kind])
        if rc < 0:
            self._packet_error(rc, "opening the packet rings")
        return 0

    cdef int _ring_error(self, int32_t rc, str action) except -1:
        if rc == lw.WG_RING_TOO_BIG:
            raise errors.BufferTooSmallError(f"{action}: the next packet does not fit the buffer")
        raise errors.TunnelClosedError(f"{action}: the tunnel was closed")

    cdef int _set_queues(self, int32_t packets, int32_t datagrams, int mtu,
                         int datagram_mtu) except -1:
        """Where this tunnel's packets and datagrams queue (the same handle,
        but different hops of a multihop tunnel), and their MTUs."""
        self._queue_handles[lw.WG_KIND_PACKETS] = packets
        self._queue_handles[lw.WG_KIND_DATAGRAMS] = datagrams
        self.mtu = mtu
        self._datagram_mtu = datagram_mtu
        return 0

    @property
    def max_datagram_size(self):
        """The largest datagram this tunnel sends or takes (its datagrams'
        hop MTU plus WireGuard's header and tag): a buffer this size holds
        any packet or datagram."""
        return self._datagram_mtu + lw.WG_DATAGRAM_OVERHEAD

    # The packet path. Every call moves a batch with at most one GIL release
    # (none for a small batch that need not wait), and bytes are copied once
    # between the caller's buffers and the rings, here in C: no call into
    # Go, and waits sleep on the ring's futex.

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
        return self._recv_bytes(lw.WG_KIND_DATAGRAMS, self.max_datagram_size, timeout)

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
        cdef bint small
        self._rings(kind)
        cdef lw.wg_ring *ring = self._write_rings[kind]
        cdef int mtu = self.mtu if kind == lw.WG_KIND_PACKETS else self._datagram_mtu
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
            check_batch(kind, ptrs, lens, n, mtu)
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
            self._ring_error(rc, "sending")
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
        """wg_ring_read in signal-checked slices of the ``wait`` ms (-1: forever)."""
        self._rings(kind)
        cdef lw.wg_ring *ring = self._read_rings[kind]
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
            self._ring_error(rc, "receiving")
        return rc

    cdef bytes _recv_bytes(self, int32_t kind, Py_ssize_t capacity, object timeout):
        cdef bytearray buf = bytearray(capacity)
        n = self._read_one(kind, buf, timeout)
        return bytes(buf[:n])

    cdef int32_t _ready_fd(self, int32_t kind) except -1:
        self._check_open()
        if self._ready_fds[kind] >= 0:
            return self._ready_fds[kind]
        cdef int32_t fd = lw.wgReadyFd(self._queue_handles[kind], kind)
        if fd < 0:
            self._packet_error(fd, "getting the readiness fd")
        self._ready_fds[kind] = fd
        return fd
