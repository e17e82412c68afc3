# Included by _native.pyx: DeviceHandle, the calls every libwg handle takes
# (config, traffic, DAITA).
# (names of _native.pyx and of the files included before this one are in scope)

cdef class DeviceHandle:
    """One WireGuard device inside libwg, reached by its handle: its config,
    traffic counters and DAITA. The base of :class:`Tunnel` and of
    :class:`Hop` (one hop of a multihop tunnel)."""

    cdef int32_t _handle
    cdef _State _state  # shared with its tunnel; None until it is on

    def __cinit__(self, *args, **kwargs):
        self._handle = -1

    cdef int _check_open(self) except -1:
        return check_open(self._state)

    @property
    def handle(self):
        """libwg's handle for this device (-1 once closed)."""
        return -1 if is_closed(self._state) else self._handle

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
            raise_libwg(rc, "reading the traffic counters", self._state)
        return TrafficStats(count_of(out.from_app), count_of(out.to_app), count_of(out.no_route),
                            wire_counts_of(out.sent), wire_counts_of(out.received),
                            staging_dropped=count_of(out.staging_dropped),
                            peer_stopped=count_of(out.peer_stopped),
                            unreachable_sent=count_of(out.unreachable_sent))

    def activate_daita(self, peer_public_key, machines, *,
                       double max_padding_frac=0.0, double max_blocking_frac=0.0,
                       events_capacity=2048, actions_capacity=1024):
        """Enable DAITA (maybenot machines) for one peer.

        ``machines`` is one maybenot machine string or a sequence of them.
        Raises :class:`DaitaNotCompiledError` in a build without DAITA.
        """
        self._check_open()
        key = key_bytes(peer_public_key, "peer public key")
        text = daita_machines_text(machines)
        # libwg checks every limit; only what a uint32 cannot hold stops here
        for name, capacity in (("events_capacity", events_capacity),
                               ("actions_capacity", actions_capacity)):
            if not isinstance(capacity, int):
                raise TypeError(f"{name} must be an int, not {type(capacity).__name__}")
            if not 0 <= capacity < 2**32:
                raise errors.InvalidArgumentError(
                    f"{name} must be 1..{lw.WG_DAITA_MAX_CAPACITY}, got {capacity}")
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
