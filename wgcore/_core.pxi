# Included by _native.pyx: libwg errors as exceptions, Go's log lines, checked
# text and key arguments.
# (names of _native.pyx and of the files included before this one are in scope)

cdef int convert_error(int32_t code, str action) except -1:
    """Raise the wgcore exception for libwg error ``code`` (errors.error_for_code)."""
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
