# Included by _native.pyx: Tunnel, a device's lifecycle: its factories (the turn-on
# of each mode is in _mode_*.pxi), sockets, close.
# (names of _native.pyx and of the files included before this one are in scope)

cdef uint64_t _next_log_id = 0

cdef class Tunnel(_PacketPath):
    """One WireGuard tunnel running inside libwg.

    Make one with :meth:`from_interface` (wgcore creates the Linux TUN
    device), :meth:`from_tun_fd`, :meth:`in_memory` or :meth:`multihop`.
    Close it with :meth:`close` or a ``with`` block; any use after that
    raises :class:`TunnelClosedError`.
    """

    cdef bint _closed
    cdef int32_t _entry_handle  # the entry hop's of a multihop tunnel, else -1
    cdef readonly object name
    cdef readonly uint64_t log_id
    cdef readonly str transport
    cdef object __weakref__

    def __cinit__(self, *args, **kwargs):
        self._closed = True
        self._entry_handle = -1

    def __init__(self, *args, **kwargs):
        raise TypeError("use Tunnel.from_interface(), from_tun_fd(), in_memory() or multihop()")

    cdef bint _is_closed(self):
        return self._closed

    # One factory per mode; each mode's turn-on is in its _mode_*.pxi.

    @classmethod
    def from_interface(cls, str name not None, config, *, int mtu=1420):
        """Create the Linux TUN interface ``name`` and run a tunnel on it.

        ``config`` is UAPI "set" text (str or bytes). Needs
        CAP_NET_ADMIN. The interface is removed when the tunnel closes.
        It is opened with IFF_VNET_HDR: TCP crosses it as super-packets
        (see :meth:`from_tun_fd`); the path in use is logged at DEBUG.
        """
        cdef Tunnel self = cls.__new__(cls)
        start_tun(self, config, mtu, name, -1)
        return self

    @classmethod
    def from_tun_fd(cls, int fd, config, *, int mtu=1420):
        """Run a tunnel on an open TUN device.

        ``fd`` must be a Linux TUN opened with IFF_TUN | IFF_NO_PI (packets
        with no packet-information header); anything else raises
        :class:`InvalidArgumentError`. If it was opened with IFF_VNET_HDR
        too (libwg asks with TUNGETIFF), every read and write carries a
        virtio-net header (libwg sets its size to 10 bytes) and libwg turns
        the kernel's offloads on with TUNSETOFFLOAD (TCP super-packets);
        without it, one plain packet a system call.
        wgcore works on a duplicate of ``fd``, so the caller keeps (and
        may close) its own.
        """
        cdef Tunnel self = cls.__new__(cls)
        start_tun(self, config, mtu, None, fd)
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
        cdef Tunnel self = cls.__new__(cls)
        start_in_memory(self, config, mtu, transport)
        return self

    @classmethod
    def _netstack(cls, config, *, str addresses not None, str dns not None, int mtu=1420):
        """Run a tunnel on a userspace TCP/IP stack (wgTurnOnNetstack):
        ``addresses`` and ``dns`` are comma-separated IPs. Its sockets are
        wgcore.net's; use ``wgcore.Tunnel.netstack``."""
        cdef Tunnel self = cls.__new__(cls)
        start_netstack(self, config, mtu, addresses, dns)
        return self

    @classmethod
    def multihop(cls, entry, exit, *, str private_ip not None, str interface=None, tun_fd=None,
                 bint in_memory=False, str transport="udp", int mtu=1420):
        """Run a multihop tunnel: an exit hop whose datagrams travel inside
        an entry hop, so only the entry relay sees this machine.

        ``entry`` and ``exit`` are each hop's UAPI "set" text; ``private_ip``
        is the exit hop's IPv4 address inside the entry tunnel. Give exactly
        one of ``interface`` (create this TUN), ``tun_fd`` (an open TUN: wgcore
        works on a duplicate, the caller keeps its own) or ``in_memory=True`` (packets through
        :meth:`send_packets` / :meth:`recv_packets_into`; ``transport`` is
        the entry hop's, "udp" or "host"). ``mtu`` is the entry hop's
        (636..65475, :data:`wgcore.config.MAX_MTU`); packets get ``mtu - 60`` (:attr:`mtu`).
        """
        cdef Tunnel self = cls.__new__(cls)
        start_multihop(self, entry, exit, private_ip, interface, tun_fd, in_memory, transport, mtu)
        return self

    @property
    def is_multihop(self):
        """True for a tunnel made by :meth:`multihop` (see :class:`Hop`)."""
        return self._entry_handle >= 0

    cdef uint64_t _begin(self) except? 0:
        """Before a turn-on: a log id; Go's errors held back."""
        global _next_log_id
        _next_log_id += 1
        self.log_id = _next_log_id
        hold_go_errors()
        return self.log_id

    cdef int _started(self, int32_t handle) except -1:
        """After a turn-on returned ``handle``: raise, or the tunnel is on."""
        release_go_errors(handle < 0)
        if handle < 0:
            convert_error(handle, "turning the tunnel on")
        self._handle = handle
        self._closed = False
        return self._set_queues(handle, handle, self.mtu, self.mtu)

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
