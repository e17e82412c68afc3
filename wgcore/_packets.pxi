# Included by _native.pyx: what the packet path checks, shared by both ports
# (_ports.pxi): timeouts, buffers, the batch of packets or datagrams.
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
