# Included by _native.pyx: Hop, one hop of a multihop tunnel.
# (names of _native.pyx and of the files included before this one are in scope)

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
        self._state = tunnel._state

    def __repr__(self):
        state = "closed" if is_closed(self._state) else f"handle={self._handle}"
        return f"<Hop {self.role} {state}>"
