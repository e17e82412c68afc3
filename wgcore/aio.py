"""asyncio over a tunnel's in-memory ports: the event loop waits on the
ports' readiness fds, so many tunnels need no thread each."""

from __future__ import annotations

import array
import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

from wgcore._native import Datagrams, Packets
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


class AsyncPort:
    """A tunnel's port (``tunnel.packets`` or ``tunnel.datagrams``) driven
    from asyncio, in the ports' vocabulary.

    ``await recv()`` waits on the port's :meth:`~wgcore.Packets.fileno`
    with ``loop.add_reader``; ``await send()`` waits for room while the
    queue is full (back-pressure). ``async for`` yields received items.
    Closing the tunnel, from any thread, wakes a waiting ``recv()`` with
    :class:`TunnelClosedError`.
    """

    def __init__(self, port: Packets | Datagrams) -> None:
        self.port = port
        self._buffer = bytearray(port.max_size)
        self._one = array.array("I", [0])

    async def _readable(self) -> None:
        """Wait until the port's readiness fd is readable, or the tunnel closes.

        The wait is on a duplicate of the fd: closing the tunnel makes the
        fd readable and then closes it, and a closed fd would silently drop
        out of the event loop's epoll set; the duplicate keeps it there.
        """
        fd = os.dup(self.port.fileno())
        try:
            if self.port.closed:  # closed (and its fd perhaps reused) before the dup
                raise TunnelClosedError("the tunnel is closed")
            await wait_readable(fd)
        finally:
            os.close(fd)

    async def recv_batch_into(self, buffer: Any, lengths: Any) -> int:
        """Wait for items, then take a batch (see Packets.recv_batch_into)."""
        while True:
            n = self.port.recv_batch_into(buffer, lengths, timeout=0)
            if n:
                return n
            await self._readable()

    async def recv(self) -> bytes:
        """Wait for the next received item."""
        await self.recv_batch_into(self._buffer, self._one)
        return bytes(self._buffer[: self._one[0]])

    async def send_batch(self, items: Any, lengths: Sequence[int] | None = None) -> int:
        """Queue items, waiting while the queue is full; return how many."""
        n = self.port.send_batch(items, lengths, timeout=0)
        loop = asyncio.get_running_loop()
        while n == 0:
            n = await loop.run_in_executor(
                None, lambda: self.port.send_batch(items, lengths, timeout=_FULL_QUEUE_WAIT)
            )
        return n

    async def send(self, item: Any) -> None:
        """Queue one item, waiting while the queue is full."""
        await self.send_batch((item,))

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        return await self.recv()
