"""asyncio over in-memory tunnels: the event loop waits on the tunnel's
readiness fds, so many tunnels need no thread each."""

from __future__ import annotations

import array
import asyncio
import os
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from wgcore._native import Tunnel
from wgcore.errors import TunnelClosedError

# While a send queue is full, a worker thread waits (GIL released) this long
# per attempt, so a cancelled send never leaves a thread blocked for long.
_FULL_QUEUE_WAIT = 0.05


async def wait_readable(fd: int) -> None:
    """Wait in the running loop until fd turns readable."""
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)


class AsyncTunnel:
    """An in-memory :class:`Tunnel` driven from asyncio.

    ``await recv()`` waits on :meth:`Tunnel.fileno` with ``loop.add_reader``;
    ``await send()`` waits for room when the queue is full (back-pressure).
    Iterating with ``async for`` yields received packets. Closing the
    tunnel, from any thread, wakes a waiting ``recv()`` with
    :class:`TunnelClosedError`.
    """

    def __init__(self, tunnel: Tunnel) -> None:
        self.tunnel = tunnel
        self._buffer = bytearray(tunnel.max_datagram_size)
        self._one = array.array("I", [0])

    async def _readable(self, readiness_fd: Callable[[], int]) -> None:
        """Wait until the tunnel's readiness fd is readable, or the tunnel closes.

        The wait is on a duplicate of the fd: closing the tunnel makes the
        fd readable and then closes it, and a closed fd would silently drop
        out of the event loop's epoll set; the duplicate keeps it there.
        """
        fd = os.dup(readiness_fd())
        try:
            if self.tunnel.closed:  # closed (and its fd perhaps reused) before the dup
                raise TunnelClosedError("the tunnel is closed")
            await wait_readable(fd)
        finally:
            os.close(fd)

    async def recv_packets_into(self, buffer: Any, lengths: Any) -> int:
        """Wait for packets, then read a batch (see Tunnel.recv_packets_into)."""
        while True:
            n = self.tunnel.recv_packets_into(buffer, lengths, timeout=0)
            if n:
                return n
            await self._readable(self.tunnel.fileno)

    async def recv(self) -> bytes:
        """Wait for the next received IP packet."""
        await self.recv_packets_into(self._buffer, self._one)
        return bytes(self._buffer[: self._one[0]])

    async def send_packets(self, packets: Any, lengths: Sequence[int] | None = None) -> int:
        """Queue packets, waiting while the queue is full; return how many."""
        n = self.tunnel.send_packets(packets, lengths, timeout=0)
        loop = asyncio.get_running_loop()
        while n == 0:
            n = await loop.run_in_executor(
                None, lambda: self.tunnel.send_packets(packets, lengths, timeout=_FULL_QUEUE_WAIT)
            )
        return n

    async def send(self, packet: Any) -> None:
        """Queue one IP packet, waiting while the queue is full."""
        await self.send_packets((packet,))

    async def recv_datagram(self) -> bytes:
        """Wait for the next datagram a ``transport="host"`` tunnel sent."""
        while True:
            n = self.tunnel.recv_datagrams_into(self._buffer, self._one, timeout=0)
            if n:
                return bytes(self._buffer[: self._one[0]])
            await self._readable(self.tunnel.datagram_fileno)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return await self.recv()

    def close(self) -> None:
        """Close the tunnel; a waiting ``recv()`` raises TunnelClosedError."""
        self.tunnel.close()
