"""The UAPI unix socket: a server for a tunnel, and a client (wg(8)'s protocol).

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
import selectors
import socket
import struct
import threading
import time
import weakref
from types import TracebackType
from typing import Protocol

from wgcore.errors import (InvalidArgumentError, TransientError, TunnelClosedError, UnknownPeerError, WireGuardError,
                           uapi_error)

__all__ = ["MAX_REQUEST", "SOCKET_DIR", "UapiDevice", "UapiServer", "default_socket_path", "list_interfaces",
           "uapi_get", "uapi_set"]

SOCKET_DIR = "/var/run/wireguard"
MAX_REQUEST = 16 << 20  # bytes; 10,000 peers take about 2 MiB
_CLIENT_TIMEOUT = 10.0  # seconds for a client to finish a request
_MAX_CLIENTS = 64  # served at once; more wait in the listen backlog
_CHUNK = 65536


def default_socket_path(name: str) -> str:
    """Where ``wg`` looks for interface ``name``'s socket."""
    if not name or "/" in name or name in (".", ".."):
        raise InvalidArgumentError(f"bad interface name {name!r}")
    return os.path.join(SOCKET_DIR, f"{name}.sock")


class UapiDevice(Protocol):
    """What :class:`UapiServer` serves: a device's UAPI text (a
    :class:`~wgcore.Tunnel` is one)."""

    @property
    def closed(self) -> bool:
        """True once the device is gone: the server then stops."""
        ...

    def get_config(self) -> str:
        """UAPI "get" text: the device's configuration and statistics."""
        ...

    def set_config(self, text: str) -> None:
        """Apply UAPI "set" text as a whole."""
        ...


def _errno_for(error: Exception) -> int:
    if isinstance(error, InvalidArgumentError):
        return errno.EINVAL
    if isinstance(error, UnknownPeerError):
        return errno.ENOENT
    if isinstance(error, TransientError):
        return errno.EAGAIN
    return errno.EIO


class UapiServer:
    """Serves one device's (a tunnel's) UAPI socket from a background thread.

    Clients are served concurrently: the thread never blocks on one, so an
    idle or slow client delays neither other clients nor :meth:`close`.
    Each request is applied by libwg as a whole (as wireguard-go's own
    socket does); one larger than ``MAX_REQUEST`` bytes is refused with
    ``errno=-EMSGSIZE`` (``wg`` says "Message too long"), and a client
    that has not finished its request within 10 s is hung up on. Close
    with :meth:`close` (or the tunnel's ``close()``); the socket file goes too.
    """

    def __init__(self, device: UapiDevice, path: str | os.PathLike[str]) -> None:
        """Serve ``device``, held weakly: the server closes when the device
        closes or is collected."""
        if device.closed:
            raise TunnelClosedError("the tunnel is closed: nothing to serve")
        self.path = os.fspath(path)
        self._device = weakref.ref(device)
        self._listener = _bind_private(self.path)
        self._listener.setblocking(False)
        self._inode = os.stat(self.path).st_ino
        self._closed = False
        self._lock = threading.Lock()
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._thread = threading.Thread(target=self._serve, name=f"wgcore-uapi {self.path}", daemon=True)
        self._thread.start()
        weakref.finalize(device, self.close)

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
        """Stop serving and remove the socket file; closing twice is allowed.

        Clients still connected are hung up on; nothing waits for them.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            os.write(self._wake_w, b"x")  # the thread closes the pipe only after _closed
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def __enter__(self) -> UapiServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<UapiServer {self.path!r}{' closed' if self._closed else ''}>"

    def _serve(self) -> None:
        """The thread: one selector over the listener, the clients and the wake pipe."""
        clients: set[_Client] = set()
        selector = selectors.DefaultSelector()
        try:
            selector.register(self._wake_r, selectors.EVENT_READ)
            selector.register(self._listener, selectors.EVENT_READ)
            while not self._closed:
                deadline = min((c.deadline for c in clients), default=None)
                events = selector.select(None if deadline is None else max(0.0, deadline - time.monotonic()))
                for key, mask in events:
                    if key.fileobj is self._listener:
                        self._accept(selector, clients)
                    elif key.data is not None:
                        self._step(selector, clients, key.data, mask)
                now = time.monotonic()
                for client in [c for c in clients if c.deadline <= now]:
                    self._drop(selector, clients, client)
                if self._device_gone():
                    self.close()
        finally:
            for client in clients:
                client.sock.close()
            selector.close()
            if self.socket_exists():
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self.path)
            self._listener.close()
            with self._lock:
                self._closed = True
                os.close(self._wake_r)
                os.close(self._wake_w)

    def _device_gone(self) -> bool:
        """True once the device is closed or collected (the thread never
        keeps it alive: it holds it only for this check and for requests)."""
        device = self._device()
        return device is None or device.closed

    def _accept(self, selector: selectors.BaseSelector, clients: set[_Client]) -> None:
        try:
            sock, _ = self._listener.accept()
        except OSError:  # BlockingIOError, or a client that left at once
            return
        sock.setblocking(False)
        client = _Client(sock, time.monotonic() + _CLIENT_TIMEOUT)
        clients.add(client)
        selector.register(sock, selectors.EVENT_READ, client)
        if len(clients) >= _MAX_CLIENTS:  # the rest wait in the listen backlog
            selector.unregister(self._listener)

    def _drop(self, selector: selectors.BaseSelector, clients: set[_Client], client: _Client) -> None:
        if len(clients) >= _MAX_CLIENTS:
            selector.register(self._listener, selectors.EVENT_READ)
        clients.remove(client)
        selector.unregister(client.sock)
        client.sock.close()

    def _step(self, selector: selectors.BaseSelector, clients: set[_Client], client: _Client,
              mask: int) -> None:
        """Move one client on: read, answer complete requests, write replies."""
        try:
            if mask & selectors.EVENT_READ:
                data = client.sock.recv(_CHUNK)
                if not data:
                    client.eof = True
                elif not client.refused:
                    client.inbuf += data
            if client.out:
                del client.out[:client.sock.send(client.out)]
        except BlockingIOError:
            pass
        except OSError:
            self._drop(selector, clients, client)
            return
        while not client.out and not client.hangup and not client.refused:
            request = client.next_request()
            if request is None or len(request) > MAX_REQUEST:
                if request is not None or len(client.inbuf) > MAX_REQUEST:
                    client.refuse()
                break
            reply = self._answer(request)
            if reply is None:
                client.hangup = True
            else:
                client.out += reply
                client.deadline = time.monotonic() + _CLIENT_TIMEOUT
        if not client.out and (client.eof or client.hangup):
            self._drop(selector, clients, client)
        else:
            selector.modify(client.sock, selectors.EVENT_WRITE if client.out else selectors.EVENT_READ, client)

    def _answer(self, request: bytes) -> bytes | None:
        """The reply to one complete request; None to hang up (unknown operation)."""
        if request == b"get=1\n\n":
            return self._reply(None).encode()
        if request.startswith(b"set=1\n"):
            return self._reply(request[6:-1].decode("utf-8", "replace")).encode()
        return None

    def _reply(self, set_text: str | None) -> str:
        """Run a get (``set_text`` None) or a set; the reply to send back."""
        device = self._device()
        text = ""
        try:
            if device is None:
                raise WireGuardError("the tunnel is gone")
            if set_text is None:
                text = device.get_config()
            else:
                device.set_config(set_text)
        except Exception as e:  # every failure becomes an errno for the client
            return f"errno={-_errno_for(e)}\n\n"
        return f"{text}errno=0\n\n"


class _Client:
    """One connection's state: bytes in, reply bytes out, and its deadline."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline
        self.inbuf = bytearray()
        self.scanned = 0  # inbuf[:scanned] holds no request end
        self.out = bytearray()
        self.eof = self.hangup = self.refused = False

    def next_request(self) -> bytes | None:
        """Take the first complete request (up to a blank line) from inbuf."""
        end = self.inbuf.find(b"\n\n", max(0, self.scanned - 1))
        if end < 0:
            self.scanned = len(self.inbuf)
            return None
        request = bytes(self.inbuf[:end + 2])
        del self.inbuf[:end + 2]
        self.scanned = 0
        return request

    def refuse(self) -> None:
        """Answer a too-large request with EMSGSIZE, then read and drop the
        rest of it (so the client gets to read the reply) until it stops."""
        self.refused = True
        self.inbuf = bytearray()
        self.out += f"errno={-errno.EMSGSIZE}\n\n".encode()


def _bind_private(path: str) -> socket.socket:
    """A listening unix socket at ``path``, mode 0600, made without a window
    in which others could connect; a stale socket file is replaced, a live
    one is an error (EADDRINUSE)."""
    os.makedirs(os.path.dirname(path) or ".", mode=0o755, exist_ok=True)
    if _answers(path):
        raise OSError(errno.EADDRINUSE, f"{path} is served by another process")
    temp = f"{path}.{os.getpid()}.{threading.get_native_id()}.tmp"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        listener.bind(temp)
        os.chmod(temp, 0o600)
        listener.listen(socket.SOMAXCONN)
        os.replace(temp, path)
    except BaseException:
        listener.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    return listener


def _answers(path: str) -> bool:
    """True if something listens on the unix socket ``path`` (never blocks:
    a full listen backlog counts as listening)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.setblocking(False)
        try:
            probe.connect(path)
        except BlockingIOError:
            return True
        except OSError:
            return False
    return True


def _request(path: str, request: bytes) -> tuple[str, int]:
    """Send one request; return the reply's text (without errno) and errno.

    Waits (up to 10 s) while the server's listen backlog is full rather
    than failing with EAGAIN, as a nonblocking connect would.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", int(_CLIENT_TIMEOUT), 0))
        try:
            sock.connect(path)  # blocking: a full backlog is waited out, up to SO_SNDTIMEO
        except BlockingIOError:
            raise TimeoutError(errno.ETIMEDOUT, f"{path}: not accepted within {_CLIENT_TIMEOUT:g} s") from None
        sock.settimeout(_CLIENT_TIMEOUT)
        sock.sendall(request)
        with sock.makefile("rb") as rfile:
            lines: list[bytes] = []
            while line := rfile.readline():
                if line.startswith(b"errno="):
                    try:
                        err = abs(int(line[6:].decode("ascii")))
                        text = b"".join(lines).decode()
                    except ValueError:  # not UTF-8, or not a number
                        break
                    if err >= 4096:  # no errno is this large: the reply is garbage
                        break
                    return text, err
                lines.append(line)
    raise uapi_error(errno.EPROTO, f"{path}: malformed reply (no errno=N line); is a UAPI server listening?")


def uapi_get(path: str) -> str:
    """The UAPI "get" text of the device behind socket ``path``."""
    text, err = _request(path, b"get=1\n\n")
    if err:
        raise uapi_error(err, f"{path}: get failed: {os.strerror(err)}")
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
        raise uapi_error(err, f"{path}: set failed: {os.strerror(err)}"
                         + (": the device refused a key or value" if err == errno.EINVAL else ""))


def list_interfaces(directory: str = SOCKET_DIR) -> list[str]:
    """Names of the interfaces whose sockets in ``directory`` answer, sorted."""
    try:
        entries = sorted(os.listdir(directory))
    except FileNotFoundError:
        return []
    return [entry.removesuffix(".sock") for entry in entries
            if entry.endswith(".sock") and _answers(os.path.join(directory, entry))]
