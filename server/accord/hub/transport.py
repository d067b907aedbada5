"""The Socket.IO server Accord runs: python-socketio with bounded outbound queues,
admission of new sockets, and a deadline for sockets that never authenticate.

python-socketio and Engine.IO leave doors open that a hostile client walks
through (issue 9; docs/PROTOCOL.md, "Limits"):

- **What waits for a connection is unbounded, and unmeasured.** Engine.IO
  queues every packet for a socket in an `asyncio.Queue`, and its writer takes
  *everything* queued into a list of its own before writing it out: when the
  client stops reading, the writer blocks on the first write with the rest in
  hand, where nothing can see or free it. Here each socket's queue counts the
  bytes it holds (`OutboundQueue`), and its writer takes one packet at a time
  (`_one_at_a_time`), so what waits is in the queue, measured: the hub is
  told whenever it grows, and cuts off a connection that is over its budget
  and not reading (`slow_consumer`). Nothing is lost by that: the log holds
  every event, and the client resumes from its last seq. Engine.IO's own
  pings go to the front of the queue, so a long history never delays them
  past the client's ping timeout.
- **Sockets that never authenticate stay open.** An Engine.IO socket is open
  before the Socket.IO handshake carries a token; a client can hold thousands
  without ever sending one. Here each new socket is admitted only within caps
  (`admit`), and the hub closes it if it has not authenticated by a deadline.
- **Closing is polite only.** A write to a client that does not read waits
  forever, and so does Engine.IO's close of it. `drop` closes a socket
  whatever its state: its queue is emptied, and the websocket's guard
  (hub/admission.py) abandons the write in progress, so the ASGI call ends
  and its memory is freed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import engineio
import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet

#: A packet whose data is not bytes or text (Engine.IO's OPEN carries a dict).
_OTHER_PACKET_BYTES = 256
#: Engine.IO packets that jump the queue: the heartbeat, which the client
#: times out on if a long history holds it back.
_URGENT = frozenset({eio_packet.PING, eio_packet.PONG})


def packet_size(item: Any) -> int:
    """Roughly what a queued Engine.IO packet costs, in bytes."""
    data = getattr(item, "data", None)
    if isinstance(data, bytes | str):
        return len(data) + 1
    return 0 if item is None else _OTHER_PACKET_BYTES


class OutboundQueue(asyncio.Queue[Any]):
    """Engine.IO's queue of packets waiting to be written to one socket, with their size.

    `bytes` is what waits now; `taken` counts what the socket's writer took so
    far (with `_one_at_a_time`, it only grows while the client reads).
    `watch`, when set, is called after every put."""

    def __init__(self) -> None:
        super().__init__()
        self.bytes = 0
        self.taken = 0
        self.watch: Callable[[OutboundQueue], None] | None = None
        self._low: tuple[int, asyncio.Future[None]] | None = None

    async def drained(self, low: int, timeout: float) -> bool:
        """Wait until at most `low` bytes wait (True), or `timeout` passes (False)."""
        if self.bytes <= low:
            return True
        future = asyncio.get_running_loop().create_future()
        self._low = (low, future)
        try:
            await asyncio.wait_for(future, timeout)
        except TimeoutError:
            return self.bytes <= low
        finally:
            self._low = None
        return True

    def _put(self, item: Any) -> None:
        if getattr(item, "packet_type", None) in _URGENT:
            self._queue.appendleft(item)  # type: ignore[attr-defined]
        else:
            super()._put(item)
        self.bytes += packet_size(item)
        if self.watch is not None:
            self.watch(self)

    def _get(self) -> Any:
        item = super()._get()
        size = packet_size(item)
        self.bytes -= size
        self.taken += size
        if self._low is not None and self.bytes <= self._low[0] and not self._low[1].done():
            self._low[1].set_result(None)
        return item

    def discard(self) -> int:
        """Drop every waiting packet (the log keeps what they carried); the bytes freed."""
        freed = self.bytes
        self.watch = None
        while not self.empty():
            super()._get()
            self.task_done()
        self.bytes = 0
        return freed


async def _one_at_a_time(socket: Any) -> list[Any]:
    """Engine.IO's `AsyncSocket.poll`, one packet at a time: what the writer
    holds while a write blocks is that one packet, the rest stays queued."""
    queue = socket.queue
    if queue.empty():
        try:
            timeout = socket.server.ping_interval + socket.server.ping_timeout
            item = await asyncio.wait_for(queue.get(), timeout)
        except (TimeoutError, asyncio.CancelledError):
            raise eio_exceptions.QueueEmpty() from None
    else:
        item = queue.get_nowait()
    queue.task_done()
    return [] if item is None else [item]


class _EngineServer(engineio.AsyncServer):  # type: ignore[misc]
    def create_queue(self, *args: Any, **kwargs: Any) -> asyncio.Queue[Any]:
        return OutboundQueue() if not args and not kwargs else asyncio.Queue(*args, **kwargs)


Admit = Callable[[str, dict[str, Any]], Awaitable[bool]]
Gone = Callable[[str], None]


class AccordServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's AsyncServer, with the hooks above.

    `admit(eio_sid, environ)` decides whether a new Engine.IO socket may open
    (False refuses the websocket handshake); `gone(eio_sid)` is told when one
    has closed, whoever closed it."""

    def __init__(self, *, admit: Admit, gone: Gone, **kwargs: Any) -> None:
        self._admit = admit
        self._gone = gone
        super().__init__(**kwargs)

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return _EngineServer

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        if not await self._admit(eio_sid, environ):
            return False
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None:
            socket.poll = lambda: _one_at_a_time(socket)
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_connect(self, eio_sid: str, namespace: str | None, data: Any) -> None:
        # A handshake that arrives after its socket closed (a client that sent
        # it and hung up at once): python-socketio would fail looking up the
        # socket's environ, with a traceback. There is nobody to answer.
        if eio_sid not in self.environ:
            return
        await super()._handle_connect(eio_sid, namespace, data)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            self._gone(eio_sid)

    def queue_of(self, eio_sid: str) -> OutboundQueue | None:
        socket = self.eio.sockets.get(eio_sid)
        queue = getattr(socket, "queue", None)
        return queue if isinstance(queue, OutboundQueue) else None

    async def drop(self, eio_sid: str, last: Any = None) -> None:
        """Close an Engine.IO socket now, whatever its client does.

        What waits for it is dropped; `last` (an encoded Socket.IO packet, a
        notice) and Engine.IO's CLOSE are all it is still sent, and its writer
        stops after them; if the client does not read those either, the
        websocket's guard gives up on them. The disconnect handlers run as for
        any close."""
        socket = self.eio.sockets.get(eio_sid)
        if socket is None:
            return
        guard = self.environ.get(eio_sid, {}).get("asgi.scope", {}).get("accord.guard")
        queue = socket.queue
        if isinstance(queue, OutboundQueue):
            queue.discard()
        if last is not None and not socket.closed:
            queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, last))
        await socket.close(wait=False, abort=False)
        queue.put_nowait(None)  # the writer ends after CLOSE
        self.eio.sockets.pop(eio_sid, None)
        if guard is not None:
            guard.give_up_soon()
