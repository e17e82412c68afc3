# Included by _native.pyx: Tunnel, a device's lifecycle: the one turn-on path
# (wgTurnOnMode; wgcore/tunnel.py's factories describe each mode), its ports,
# sockets, close.
# (names of _native.pyx and of the files included before this one are in scope)

cdef uint64_t _next_log_id = 0


cdef bytes params_bytes(dict params):
    """A mode's parameters as libwg's "key=value" lines."""
    lines = []
    for key, value in params.items():
        value = str(value)
        if "\n" in value or "\0" in value:
            raise errors.InvalidArgumentError(f"{key} contains a line break or a NUL character")
        lines.append(f"{key}={value}")
    return "\n".join(lines).encode()


@cython.no_gc_clear  # __dealloc__ reads _state
cdef class Tunnel(DeviceHandle):
    """One WireGuard tunnel running inside libwg: a device and its ports.

    Use :class:`wgcore.Tunnel`'s factories; close it with :meth:`close` or
    a ``with`` block. Any use after that raises TunnelClosedError.
    """

    cdef int32_t _entry_handle  # the entry hop's of a multihop tunnel, else -1
    cdef readonly object name
    cdef readonly uint64_t log_id
    cdef readonly str transport
    cdef readonly int mtu
    cdef readonly object packets
    cdef readonly object datagrams
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        self._entry_handle = -1
        self._state = _State()

    def __init__(self, *args, **kwargs):
        raise TypeError("use a factory: Tunnel.from_interface(), from_tun_fd(), in_memory(), "
                        "netstack() or multihop()")

    @classmethod
    def _turn_on(cls, str mode not None, int link_mtu, config, entry_config, dict params not None,
                 int fd, *, name=None, transport=None, int mtu):
        """Turn a tunnel on in libwg's ``mode`` (wgTurnOnMode): the one
        path every factory takes. ``fd`` (a TUN, or -1) is this call's to
        close, whatever happens; ``mtu`` is the packets' (``link_mtu``
        less any hop's headers)."""
        cdef Tunnel self = cls.__new__(cls)
        try:
            check_process()
            two_hops = entry_config is not None
            settings = settings_bytes(config, "exit config" if two_hops else "config")
            entry_settings = settings_bytes(entry_config, "entry config") if two_hops else None
            param_text = params_bytes(params)
        except BaseException:
            if fd >= 0:
                os.close(fd)  # libwg never saw it
            raise
        mode_bytes = mode.encode()
        cdef const char *c_mode = mode_bytes
        cdef const char *c_settings = settings
        cdef const char *c_entry = NULL if entry_settings is None else <const char *>entry_settings
        cdef const char *c_params = param_text
        cdef int32_t handle = -1
        global _next_log_id
        _next_log_id += 1
        self.log_id = _next_log_id
        cdef uint64_t log_id = self.log_id
        self.name, self.transport, self.mtu = name, transport, mtu
        hold_go_errors()
        try:
            with nogil:
                handle = lw.wgTurnOnMode(c_mode, link_mtu, c_settings, c_entry, c_params, fd,
                                         log_sink, log_id)
        finally:
            release_go_errors(handle < 0)
        if handle < 0:
            convert_error(handle, "turning the tunnel on")
        self._handle = handle
        self._state.closed = False
        try:
            self._open_ports(two_hops)
        except BaseException:
            self.close()
            raise
        return self

    cdef int _open_ports(self, bint two_hops) except -1:
        """Find the hops and the ports this tunnel's mode offers. The
        packets are the (exit) device's; carried datagrams are the wire
        side's, the entry hop's of a multihop tunnel."""
        cdef int32_t wire = self._handle
        if two_hops:
            wire = lw.wgEntryHandle(self._handle)
            if wire < 0:
                convert_error(wire, "finding the entry hop")
            self._entry_handle = wire
        self.packets = open_port(Packets, self._state, self._handle, lw.WG_KIND_PACKETS)
        self.datagrams = open_port(Datagrams, self._state, wire, lw.WG_KIND_DATAGRAMS)
        return 0

    @property
    def _is_multihop(self):
        return self._entry_handle >= 0

    @property
    def closed(self):
        """True once :meth:`close` has run."""
        return self._state.closed

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
        if self._state.closed:
            return
        self._state.closed = True
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
        if self._state.closed:
            return
        self._state.closed = True  # its ports and hops say so
        if not _forked:
            with nogil:
                lw.wgTurnOff(handle)

    def __repr__(self):
        state = "closed" if self._state.closed else f"handle={self._handle}"
        where = f" name={self.name!r}" if self.name is not None else ""
        hops = " multihop" if self._entry_handle >= 0 else ""
        return f"<Tunnel {state}{where}{hops} mtu={self.mtu}>"
