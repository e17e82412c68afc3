"""The WireGuard userspace API (UAPI) unix socket, server and client.

``wg(8)`` talks to userspace implementations through
``/var/run/wireguard/<iface>.sock``: it sends ``get=1\\n\\n`` or
``set=1\\n<key=value lines>\\n`` and reads back ``key=value`` lines (for get)
and ``errno=N\\n\\n``. Like wireguard-go, N is the negated errno
(``-22`` for EINVAL; ``wg`` negates it back) and 0 on success.
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
import weakref
from types import TracebackType
from typing import TYPE_CHECKING

from wgcore.errors import InvalidArgumentError, TransientError, UnknownPeerError, WireGuardError

if TYPE_CHECKING:
    from wgcore.tunnel import Tunnel

__all__ = ["SOCKET_DIR", "UapiServer", "default_socket_path", "list_interfaces", "uapi_get", "uapi_set"]

SOCKET_DIR = "/var/run/wireguard"
_CLIENT_TIMEOUT = 10.0
_MAX_LINE = 65536


def default_socket_path(name: str) -> str:
    """Where ``wg`` looks for interface ``name``'s socket."""
    if not name or "/" in name or name in (".", ".."):
        raise InvalidArgumentError(f"bad interface name {name!r}")
    return os.path.join(SOCKET_DIR, f"{name}.sock")


def _errno_for(error: Exception) -> int:
    if isinstance(error, InvalidArgumentError):
        return errno.EINVAL
    if isinstance(error, UnknownPeerError):
        return errno.ENOENT
    if isinstance(error, TransientError):
        return errno.EAGAIN
    return errno.EIO


class UapiServer:
    """Serves one tunnel's UAPI socket from a background thread.

    Requests are handled one at a time, each applied by libwg as it
    arrives (the same semantics as wireguard-go's own socket). Close with
    :meth:`close` (or the tunnel's ``close()``); the socket file goes too.
    """

    def __init__(self, tunnel: Tunnel, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._tunnel = weakref.ref(tunnel)
        self._listener = _bind_private(self.path)
        self._inode = os.stat(self.path).st_ino
        self._closed = False
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"wgcore-uapi {self.path}", daemon=True)
        self._thread.start()
        weakref.finalize(tunnel, self.close)

    @property
    def closed(self) -> bool:
        """True once :meth:`close` ran."""
        return self._closed

    def socket_exists(self) -> bool:
        """False once someone deleted (or replaced) the socket file."""
        try:
            return os.stat(self.path).st_ino == self._inode
        except FileNotFoundError:
            return False

    def close(self) -> None:
        """Stop serving and remove the socket file; closing twice is allowed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self.socket_exists():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
        if threading.current_thread() is not self._thread:
            self._thread.join()
        self._listener.close()

    def __enter__(self) -> UapiServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<UapiServer {self.path!r}{' closed' if self._closed else ''}>"

    def _serve(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                break
            with conn:
                conn.settimeout(_CLIENT_TIMEOUT)
                with contextlib.suppress(OSError, ValueError):
                    self._handle(conn)
            tunnel = self._tunnel()
            if tunnel is None or tunnel.closed:
                self.close()

    def _handle(self, conn: socket.socket) -> None:
        with conn.makefile("rb") as rfile, conn.makefile("wb") as wfile:
            while True:
                op = rfile.readline(_MAX_LINE)
                if op == b"get=1\n":
                    if rfile.readline(_MAX_LINE) != b"\n":
                        return
                    reply = self._reply(None)
                elif op == b"set=1\n":
                    lines = []
                    while (line := rfile.readline(_MAX_LINE)) not in (b"\n", b""):
                        lines.append(line)
                    if not lines or not lines[-1].endswith(b"\n"):
                        return
                    text = b"".join(lines).decode("utf-8", "replace")
                    reply = self._reply(text)
                else:
                    return  # end of stream or an unknown operation: hang up
                wfile.write(reply.encode())
                wfile.flush()

    def _reply(self, set_text: str | None) -> str:
        """Run a get (``set_text`` None) or a set; the reply to send back."""
        tunnel = self._tunnel()
        text = ""
        try:
            if tunnel is None:
                raise WireGuardError("the tunnel is gone")
            if set_text is None:
                text = tunnel.get_config()
            else:
                tunnel.set_config(set_text)
        except Exception as e:  # every failure becomes an errno for the client
            return f"errno={-_errno_for(e)}\n\n"
        return f"{text}errno=0\n\n"


def _bind_private(path: str) -> socket.socket:
    """A listening unix socket at ``path``, mode 0600, made without a window
    in which others could connect; a stale socket file is replaced, a live
    one is an error (EADDRINUSE)."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            pass
        else:
            raise OSError(errno.EADDRINUSE, f"{path} is served by another process")
        finally:
            probe.close()
    temp = f"{path}.{os.getpid()}.{threading.get_native_id()}.tmp"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        listener.bind(temp)
        os.chmod(temp, 0o600)
        listener.listen(16)
        os.replace(temp, path)
    except BaseException:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return listener


def _request(path: str, request: bytes) -> tuple[str, int]:
    """Send one request; return the reply's text (without errno) and errno."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(_CLIENT_TIMEOUT)
        sock.connect(path)
        sock.sendall(request)
        with sock.makefile("rb") as rfile:
            lines: list[bytes] = []
            while line := rfile.readline():
                if line.startswith(b"errno="):
                    try:
                        return b"".join(lines).decode(), abs(int(line[6:].decode("ascii")))
                    except ValueError:  # not UTF-8, or not a number
                        break
                lines.append(line)
    raise OSError(errno.EPROTO, f"{path}: malformed reply (no errno=N line)")


def uapi_get(path: str) -> str:
    """The UAPI "get" text of the device behind socket ``path``."""
    text, err = _request(path, b"get=1\n\n")
    if err:
        raise OSError(err, f"{path}: get failed: {os.strerror(err)}")
    return text


def uapi_set(path: str, text: str) -> None:
    """Send UAPI "set" text to the device behind socket ``path``."""
    body = text if text.endswith("\n") else text + "\n"
    if "\n\n" in body:
        raise InvalidArgumentError("UAPI set text must not contain blank lines")
    try:
        request = b"set=1\n" + body.encode() + b"\n"
    except UnicodeEncodeError:
        raise InvalidArgumentError("UAPI set text holds text UTF-8 cannot encode") from None
    _, err = _request(path, request)
    if err:
        raise OSError(err, f"{path}: set failed: {os.strerror(err)}")


def list_interfaces(directory: str = SOCKET_DIR) -> list[str]:
    """Names of the interfaces whose sockets in ``directory`` answer, sorted."""
    try:
        entries = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    names = []
    for entry in entries:
        if not entry.endswith(".sock"):
            continue
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(os.path.join(directory, entry))
            names.append(entry[: -len(".sock")])
        except OSError:
            pass
        finally:
            probe.close()
    return names
