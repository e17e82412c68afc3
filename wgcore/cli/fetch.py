"""Fetch a URL through a netstack tunnel (``wgcore curl``): http.client
over the tunnel's sockets, TLS through wrap_tls, a progress bar."""

from __future__ import annotations

import http.client
import ssl
import time
import urllib.parse
from typing import TYPE_CHECKING, BinaryIO, TextIO

from wgcore.net.tls import wrap_tls

if TYPE_CHECKING:
    from wgcore.net import Netstack

__all__ = ["FetchError", "fetch"]

_CHUNK = 256 * 1024
_REDIRECTS = {301, 302, 303, 307, 308}


class FetchError(Exception):
    """The URL could not be fetched: a bad URL, too many redirects, or an
    HTTP error status."""


class Progress:
    """A one-line progress bar on a terminal stream, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO, total: int | None) -> None:
        self._stream, self._total = stream, total
        self._start = self._drawn = time.monotonic()
        self.done = 0

    def add(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self._drawn >= 0.1:
            self.draw()

    def draw(self, end: str = "") -> None:
        self._drawn = time.monotonic()
        rate = self.done / max(self._drawn - self._start, 1e-6) / 2**20
        mib = self.done / 2**20
        if self._total:
            filled = 30 * self.done // self._total
            line = (f"[{'#' * filled}{' ' * (30 - filled)}] {100 * self.done // self._total:3d}% "
                    f"{mib:.1f}/{self._total / 2**20:.1f} MiB {rate:.1f} MiB/s")
        else:
            line = f"{mib:.1f} MiB {rate:.1f} MiB/s"
        self._stream.write(f"\r{line}{end}")
        self._stream.flush()


def _connect(net: Netstack, url: urllib.parse.SplitResult, timeout: float,
             context: ssl.SSLContext | None) -> http.client.HTTPConnection:
    if url.scheme not in ("http", "https") or not url.hostname:
        raise FetchError(f"only http:// and https:// URLs with a host are supported, got {url.geturl()!r}")
    port = url.port or (443 if url.scheme == "https" else 80)
    conn = http.client.HTTPConnection(url.hostname, port, timeout=timeout)
    sock = net.create_connection((url.hostname, port), timeout)
    if url.scheme == "https":
        conn.sock = wrap_tls(sock, context or ssl.create_default_context(), url.hostname)
    else:
        conn.sock = sock
    return conn


def fetch(net: Netstack, url: str, out: BinaryIO, *, progress: TextIO | None = None,
          timeout: float = 30.0, context: ssl.SSLContext | None = None, max_redirects: int = 5) -> int:
    """GET url (following redirects) into out; returns the body's length.
    FetchError for a status >= 400; socket's exceptions for network failures."""
    for _ in range(max_redirects + 1):
        parts = urllib.parse.urlsplit(url)
        conn = _connect(net, parts, timeout, context)
        try:
            conn.request("GET", urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, "")),
                         headers={"User-Agent": "wgcore-curl"})
            response = conn.getresponse()
            if response.status in _REDIRECTS and response.getheader("Location"):
                url = urllib.parse.urljoin(url, response.getheader("Location"))
                continue
            if response.status >= 400:
                raise FetchError(f"HTTP {response.status} {response.reason} for {url}")
            length = response.getheader("Content-Length")
            bar = Progress(progress, int(length) if length and length.isdigit() else None) if progress else None
            size = 0
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                size += len(chunk)
                if bar:
                    bar.add(len(chunk))
            if bar:
                bar.draw(end="\n")
            return size
        finally:
            conn.close()
    raise FetchError(f"more than {max_redirects} redirects")
