"""A lean Socket.IO v5 client (msgpack parser) over Engine.IO v4 on one websocket.

This is the load generator's client, so it does as little as it can per frame:
an `asyncio.Protocol` feeding the sans-I/O `websockets.client.ClientProtocol`,
no task or queue per message, and callbacks instead of awaitables for events.

The wire, as python-socketio's `msgpack_packet.py` and python-engineio's
`packet.py` speak it over a websocket (no long-polling, no upgrade):

- Engine.IO packets without binary data are text frames: a one-digit type then
  the payload. The server opens with `0{"sid": ..., "pingInterval": ...}`; it
  pings with `2` and the client answers `3` (Engine.IO v4: the server pings).
  `1` is close, `6` is a no-op.
- A Socket.IO packet is msgpack `{"type", "data", "nsp", "id"?}` carried as an
  Engine.IO MESSAGE with binary data, which on a websocket is simply a binary
  frame holding those bytes. Types: 0 CONNECT (data: the auth map; the server
  answers 0 with `{"sid"}` or 4 CONNECT_ERROR with `{"message", "data"}`),
  1 DISCONNECT, 2 EVENT (data: `[name, *args]`, `id` if an ack is wanted),
  3 ACK (data: the handler's return value as `[value]`).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import msgpack
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR = 0, 1, 2, 3, 4

OnEvent = Callable[[str, Any, float], None]


class Refused(Exception):
    """The server answered CONNECT with CONNECT_ERROR; `data` is its payload."""

    def __init__(self, data: Any) -> None:
        super().__init__(data)
        self.data = data


class Closed(Exception):
    """The connection closed before the answer arrived."""


class SioClient(asyncio.Protocol):
    """One Socket.IO connection. Open with `await SioClient.connect(...)`."""

    def __init__(self, host: str, port: int, auth: Any, on_event: OnEvent) -> None:
        uri = parse_uri(f"ws://{host}:{port}/socket.io/?EIO=4&transport=websocket")
        self.ws = ClientProtocol(uri, max_size=2**24)
        self.auth = auth
        self.on_event = on_event
        loop = asyncio.get_running_loop()
        self.connected: asyncio.Future[Any] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.acks: dict[int, asyncio.Future[Any]] = {}
        self.transport: asyncio.Transport | None = None
        self.eio_open: dict[str, Any] = {}
        self._next_id = 0
        self._pack = msgpack.Packer(autoreset=True).pack
        self._write: Callable[[bytes], None] = lambda data: None

    @classmethod
    async def connect(
        cls, host: str, port: int, auth: Any, on_event: OnEvent, timeout: float = 30.0
    ) -> SioClient:
        loop = asyncio.get_running_loop()
        _, client = await loop.create_connection(
            lambda: cls(host, port, auth, on_event), host, port
        )
        try:
            await asyncio.wait_for(asyncio.shield(client.connected), timeout)
        except BaseException:
            client.close()
            raise
        return client

    # -- asyncio.Protocol ------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._write = transport.write
        self.ws.send_request(self.ws.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        ws = self.ws
        ws.receive_data(data)
        for event in ws.events_received():
            if type(event) is Frame:
                opcode = event.opcode
                if opcode is Opcode.BINARY:
                    self._packet(msgpack.unpackb(event.data), now)
                elif opcode is Opcode.TEXT:
                    self._engineio(bytes(event.data))
            elif isinstance(event, Response) and ws.handshake_exc is not None:
                self._fail(ws.handshake_exc)
        self._flush()

    def eof_received(self) -> bool | None:
        self.ws.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(Closed(f"connection lost: {exc}" if exc else "connection closed"))
        if not self.closed.done():
            self.closed.set_result(None)

    # -- Engine.IO and Socket.IO --------------------------------------------------

    def _engineio(self, data: bytes) -> None:
        kind = data[:1]
        if kind == b"2":  # ping: answer pong, or the server drops us after pingTimeout
            self.ws.send_text(b"3" + data[1:])
        elif kind == b"0":
            self.eio_open = json.loads(data[1:])
            self.ws.send_binary(self._pack({"type": CONNECT, "data": self.auth, "nsp": "/"}))
        elif kind == b"1":
            self.close()

    def _packet(self, packet: dict[str, Any], now: float) -> None:
        kind = packet["type"]
        if kind == EVENT:
            data = packet["data"]
            self.on_event(data[0], data[1] if len(data) > 1 else None, now)
        elif kind == ACK:
            future = self.acks.pop(packet["id"], None)
            if future is not None and not future.done():
                data = packet.get("data") or [None]
                future.set_result(data[0])
        elif kind == CONNECT:
            if not self.connected.done():
                self.connected.set_result(packet.get("data"))
        elif kind == CONNECT_ERROR:
            if not self.connected.done():
                self.connected.set_exception(Refused(packet.get("data")))
        elif kind == DISCONNECT:
            self.close()

    def emit(self, event: str, data: Any) -> asyncio.Future[Any]:
        """Send an event that wants an ack; the future resolves to the ack's value."""
        self._next_id += 1
        ident = self._next_id
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks[ident] = future
        self.ws.send_binary(
            self._pack({"type": EVENT, "data": [event, data], "nsp": "/", "id": ident})
        )
        self._flush()
        return future

    def _flush(self) -> None:
        for chunk in self.ws.data_to_send():
            if chunk:
                self._write(chunk)
            elif self.transport is not None and self.transport.can_write_eof():
                self.transport.write_eof()

    def _fail(self, exc: Exception) -> None:
        if not self.connected.done():
            self.connected.set_exception(exc)
            self.connected.exception()  # retrieved: the caller may have given up waiting
        acks, self.acks = self.acks, {}
        for future in acks.values():
            if not future.done():
                future.set_exception(exc)

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
