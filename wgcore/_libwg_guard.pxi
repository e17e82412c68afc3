# Included by every compiled module of wgcore (``include "_libwg_guard.pxi"``):
# the fork guard and libwg's last-error message, written once.
# Needs: os, wgcore.errors as errors, int32_t and _libwg as lw in scope.

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
    """Take this thread's last libwg failure message (code updated), redacted:
    Go quotes the UAPI line it failed to parse, which may hold a key."""
    cdef char *msg = lw.wgTakeLastError(code)
    if msg == NULL:
        return "no detail"
    try:
        return errors.redact(msg.decode("utf-8", "replace"))
    finally:
        lw.wgFreePtr(msg)
