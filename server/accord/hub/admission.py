"""The door of the Socket.IO endpoint: websockets per address, and frames Engine.IO can read.

An ASGI middleware in front of python-socketio's app, for websocket requests
on the Socket.IO path only:

- **Websockets per client address.** Every open websocket counts against its
  address (`max_sockets_per_address`) from the handshake until the ASGI call
  returns, whatever Engine.IO or Socket.IO think of it: a socket that was
  closed but whose client never read its last bytes still holds a transport
  buffer, so it still counts. Past the cap the handshake is refused (HTTP 403).
  The address is uvicorn's `scope["client"]`, which honours X-Forwarded-For
  from the proxies it trusts (setting `trusted_proxies`).
- **Writes that end.** A write to a client that does not read waits until it
  does, forever, and so would the ASGI call and its memory. Each websocket
  gets a `Guard` (`scope["accord.guard"]`): a write the client has not taken
  within `stall_timeout_s` is abandoned (the hub is told: a slow consumer),
  and so is every write once the hub gave the socket up (`give_up_soon`,
  after it dropped it). Engine.IO's writer
  then stops, the ASGI call returns, and what it held is freed.
- **Text frames Engine.IO can read.** Engine.IO reads the first character of a
  text frame as the packet type and raises on anything else (an empty frame,
  a letter): the ASGI call fails with a traceback and the connection drops.
  Such a frame is the client's doing; it is dropped here, reported once per
  connection, and the connection stays usable. (Socket.IO packets are binary
  msgpack frames, which hub/packet.py reads; text frames carry only Engine.IO
  control packets: `2` ping, `3` pong, `5` upgrade, `6` noop, `1` close.)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Final

from accord.hub.faults import ClientFaults

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The first character of every Engine.IO v4 text packet.
_PACKET_TYPES: Final = frozenset("0123456")


#: How long a socket the hub dropped has to take its last words (a notice, CLOSE).
LAST_WORDS_S: Final = 2.0


class Abandoned(OSError):
    """A write the client did not take in time (or after the socket was dropped)."""


class Guard:
    """One websocket's writes, bounded in time (see the module's docstring).

    A write records when it began; the door's sweep (once a second, over every
    guard) gives up a write older than the stall timeout. `on_stall` (the
    hub's) is told of a stall, once."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.given_up = False
        #: When the write in progress began (time.monotonic), or None.
        self.writing_since: float | None = None
        self.on_stall: Callable[[], None] | None = None
        self._writer: asyncio.Task[Any] | None = None
        self._ours = False  # the writer's cancellation is ours (a stall, a give-up)

    async def send(self, message: Message) -> None:
        if self.given_up and message["type"] != "websocket.accept":
            if message["type"] == "websocket.close":
                return  # nobody is listening: the call ends without it
            raise Abandoned("the socket was given up")
        task = asyncio.current_task()
        self._writer = task
        self.writing_since = time.monotonic()
        try:
            await self._send(message)
        except asyncio.CancelledError:
            if not self._ours or task is None:
                raise
            self._ours = False
            task.uncancel()
            raise Abandoned("the client took nothing in time") from None
        finally:
            self.writing_since = None
            self._writer = None

    def stalled(self) -> None:
        if not self.given_up and self.on_stall is not None:
            self.on_stall()
        self.give_up()

    def give_up(self) -> None:
        """Abandon the write in progress, and every one after it."""
        self.given_up = True
        writer = self._writer
        if writer is not None and not writer.done():
            self._ours = True
            writer.cancel()

    def give_up_soon(self) -> None:
        asyncio.get_running_loop().call_later(LAST_WORDS_S, self.give_up)


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


class SocketDoor:
    def __init__(
        self,
        app: ASGIApp,
        path: str,
        max_per_address: int,
        faults: ClientFaults,
        stall_s: float,
    ) -> None:
        self.app = app
        self.path = "/" + path.strip("/")
        self.max_per_address = max_per_address
        self.faults = faults
        self.stall_s = stall_s
        self.open: dict[str, int] = {}
        self._count = 0
        self._guards: set[Guard] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def _sweep(self) -> None:
        """Once a second, give up every write that has waited past the stall
        timeout (one sweep for all sockets: no timer per frame)."""
        while self._guards:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            for guard in list(self._guards):
                since = guard.writing_since
                if since is not None and now - since > self.stall_s:
                    guard.stalled()
        self._sweeper = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket" or not scope["path"].startswith(self.path):
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        if self.open.get(address, 0) >= self.max_per_address:
            await receive()  # websocket.connect
            self.faults.report(f"address {address}", "too many websockets from one address")
            await send({"type": "websocket.close", "code": 1008})
            return
        self.open[address] = self.open.get(address, 0) + 1
        self._count += 1
        label = f"websocket #{self._count}"  # not the address: that is for refusals only

        guard = Guard(send)
        scope["accord.guard"] = guard
        self._guards.add(guard)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().create_task(self._sweep())

        async def checked_receive() -> Message:
            while True:
                message = await receive()
                if guard.given_up:
                    return {"type": "websocket.disconnect", "code": 1006}
                if message["type"] != "websocket.receive":
                    return message
                text = message.get("text")
                if text is None or (text and text[0] in _PACKET_TYPES):
                    return message
                self.faults.report(label, "text frame that is not an Engine.IO packet")

        try:
            await self.app(scope, checked_receive, guard.send)
        finally:
            self._guards.discard(guard)
            self.faults.forget(label)
            left = self.open[address] - 1
            if left:
                self.open[address] = left
            else:
                del self.open[address]
