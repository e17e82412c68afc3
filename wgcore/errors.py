"""Exceptions raised by wgcore; every libwg error code has its own class."""

from __future__ import annotations

import errno
import re

from wgcore import _constants as libwg

# Redaction: the one specification, for wgcore.errors.redact here and
# libwg's redact (libwg/settings_errors.go); both are held to the corpus
# libwg/testdata/redaction.txt (tests/test_secrets.py, go test). redact
# replaces with "(hidden)":
#  1. a private or preshared key's value: after its name ("private" or
#     "preshared", then "_", "-", " " or nothing, then "key"; any case) and a
#     separator (a run of "=", ":", quotes, spaces and tabs), the run of
#     characters up to whitespace, a quote, ",", ";" or ":" (no key holds
#     one). It is hidden when it is 16 characters or more (a key is 43-64),
#     when the separator holds "=" or ":" (an assignment, whatever its
#     length), or when the name starts the text, a line or a quoted string
#     and a separator follows it (a settings line, "private_key abc"); so
#     words of a message stay ("the private_key is not a key").
#  2. any run of at least a key's length of base64 characters (43, then
#     optional "=" padding): every 44-character base64 and 64-digit hex key.
_SECRET_NAME = re.compile(
    r"""(?i)(^|[\n"'])?((?:private|preshared)[-_ ]?key)([=:"' \t]*)([^\t\n\v\f\r "',;:]*)""")
_KEY_SHAPED = re.compile(r"[A-Za-z0-9+/]{43,}=*")


def _hide_secret(m: re.Match[str]) -> str:
    start, name, sep, value = m.groups()
    hide = bool(value) and (len(value) >= 16 or "=" in sep or ":" in sep or (start is not None and sep != ""))
    return (start or "") + name + sep + ("(hidden)" if hide else value)


def redact(text: str) -> str:
    """``text`` with secrets replaced by ``(hidden)``: the value of any
    private or preshared key, and any key-shaped token (base64 or hex of
    32 bytes or more); the rules are in a comment above. Applied to
    everything parsed from untrusted text before it reaches an exception
    message or a log record."""
    return _KEY_SHAPED.sub("(hidden)", _SECRET_NAME.sub(_hide_secret, text))


class WireGuardError(Exception):
    """Base class of every wgcore error; ``code`` is libwg's (negative) code."""

    code: int = libwg.ERR_GENERAL


class TransientError(WireGuardError):
    """An intermittent failure: retrying may succeed."""

    code = libwg.ERR_INTERMITTENT


class InvalidArgumentError(WireGuardError, ValueError):
    """A bad argument, configuration text or file descriptor."""

    code = libwg.ERR_INVALID_ARGUMENT


class ConfigError(InvalidArgumentError):
    """Malformed configuration text; ``line`` and ``field`` say where.

    Message and field are redacted (:func:`wgcore.errors.redact`): they
    quote text that failed to parse, which may hold a key.
    """

    def __init__(self, message: str, *, line: int | None = None, field: str | None = None) -> None:
        field = redact(field) if field else None
        where = "".join(
            (f"line {line}: " if line is not None else "", f"{field}: " if field else ""))
        super().__init__(where + redact(message))
        self.line = line
        self.field = field


class UnknownTunnelError(WireGuardError):
    """libwg has no tunnel with this handle."""

    code = libwg.ERR_UNKNOWN_TUNNEL


class TunnelClosedError(UnknownTunnelError):
    """The tunnel was closed; nothing can be done with it any more."""


class UnknownPeerError(WireGuardError, LookupError):
    """The tunnel has no peer with this public key."""

    code = libwg.ERR_UNKNOWN_PEER


class DaitaError(WireGuardError):
    """Enabling DAITA on a peer failed."""

    code = libwg.ERR_DAITA


class DaitaNotCompiledError(DaitaError):
    """This libwg was built without DAITA."""


class BufferTooSmallError(WireGuardError, ValueError):
    """The next packet does not fit the buffer given."""

    code = libwg.ERR_BUFFER_TOO_SMALL


class NotSupportedError(WireGuardError):
    """This kind of tunnel does not offer the operation."""

    code = libwg.ERR_NOT_SUPPORTED


class QueueFullError(WireGuardError, TimeoutError):
    """A port's send queue stayed full for the whole timeout (back-pressure):
    a TimeoutError, as every one-item call that runs out of time raises."""


class UapiError(WireGuardError, OSError):
    """A request to a UAPI socket failed: ``errno`` is what the device
    answered. Each errno a UAPI server gives (wireguard-go's or wgcore's)
    has a subclass; :func:`uapi_error` picks it."""


class UapiInvalidArgumentError(UapiError, InvalidArgumentError):
    """EINVAL: the device refused a key or value of the request."""


class UapiProtocolError(UapiError):
    """EPROTO: the request or the reply was malformed (no UAPI server there?)."""


class UapiIOError(UapiError):
    """EIO: the device failed to read the request or write its reply."""


class UapiAddressInUseError(UapiError):
    """EADDRINUSE: the listen port or fwmark could not be taken."""


class UapiUnknownPeerError(UapiError, UnknownPeerError):
    """ENOENT: the request named a peer the device does not have (wgcore's server)."""


class UapiTransientError(UapiError, TransientError):
    """EAGAIN: an intermittent failure, retrying may succeed (wgcore's server)."""


class UapiTooLargeError(UapiError):
    """EMSGSIZE: the request was larger than the server takes (wgcore's server)."""


class WgQuickError(WireGuardError):
    """Bringing an interface up or down failed (wgcore.cli.wgquick): a command,
    a hook, or an interface that is (not) up already."""


class ForkedProcessError(WireGuardError, RuntimeError):
    """libwg's Go runtime does not survive fork(); use it in the parent only."""


_BY_CODE: dict[int, type[WireGuardError]] = {
    cls.code: cls
    for cls in (
        TransientError,
        InvalidArgumentError,
        UnknownTunnelError,
        UnknownPeerError,
        DaitaError,
        BufferTooSmallError,
        NotSupportedError,
    )
}


_UAPI_BY_ERRNO: dict[int, type[UapiError]] = {
    errno.EINVAL: UapiInvalidArgumentError,
    errno.EPROTO: UapiProtocolError,
    errno.EIO: UapiIOError,
    errno.EADDRINUSE: UapiAddressInUseError,
    errno.ENOENT: UapiUnknownPeerError,
    errno.EAGAIN: UapiTransientError,
    errno.EMSGSIZE: UapiTooLargeError,
}


def uapi_error(err: int, message: str) -> UapiError:
    """The UapiError subclass for ``err`` (a positive errno), carrying ``message``."""
    return _UAPI_BY_ERRNO.get(err, UapiError)(err, message)


def error_for_code(code: int, message: str) -> WireGuardError | OSError:
    """The exception for libwg error ``code``, carrying ``message``: the one
    converter of libwg's codes (Cython's convert_error and the netstack's
    socket calls raise what it returns). A ``WG_ERR_ERRNO(e)`` code (a
    netstack socket call failing as a kernel socket would) gives
    ``OSError(e)``, which Python makes the subclass of ``e``
    (ConnectionRefusedError, TimeoutError, ...), the errno's name appended;
    any other code its WireGuardError subclass."""
    if code <= libwg.ERRNO_BASE:
        err = libwg.ERRNO_BASE - code
        return OSError(err, f"{message} [{errno.errorcode.get(err, err)}]")
    cls = _BY_CODE.get(code, WireGuardError)
    error = cls(message)
    error.code = code
    return error
