"""A Socket.IO client driven by hand, for the hostile-client tests.

websockets' sans-I/O protocol over a plain blocking TCP socket, so a test
decides every frame: what a careless or hostile client sends (frames that are
not packets, reserved event names, a second handshake), and a client that
does not read at all (a small receive buffer, and no `recv` until told).
Use it against a server in another process: its calls block.
"""

from __future__ import annotations

import contextlib
import socket
import time
from typing import Any
from urllib.parse import urlsplit

import msgpack
from websockets.client import ClientProtocol
from websockets.frames import Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri


class Closed(Exception):
    """The server closed the connection."""


class RawClient:
    def __init__(self, url: str, *, rcvbuf: int | None = None, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.rcvbuf = rcvbuf
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.protocol = ClientProtocol(
            parse_uri(f"ws://{self.host}:{self.port}/socket.io/?EIO=4&transport=websocket")
        )
        self.packets: list[Any] = []  # Socket.IO packets received (decoded msgpack)
        self.texts: list[str] = []  # Engine.IO text packets received
        self.refused = False  # the websocket handshake was refused
        self.closed = False
        self._next_id = 0

    # -- the wire

    def open(self) -> RawClient:
        """TCP, the websocket handshake and Engine.IO's OPEN packet."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if self.rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
        sock.settimeout(self.timeout)
        sock.connect((self.host, self.port))
        self.sock = sock
        self.protocol.send_request(self.protocol.connect())
        self._flush()
        deadline = time.monotonic() + self.timeout
        while not self.texts and not self.closed:
            self._read_once(deadline)
        if self.refused or not self.texts or not self.texts[0].startswith("0"):
            self.close()
            raise Closed(f"no Engine.IO OPEN: refused={self.refused} texts={self.texts}")
        return self

    def _flush(self) -> None:
        assert self.sock is not None
        data = b"".join(self.protocol.data_to_send())
        if data:
            self.sock.sendall(data)

    def _read_once(self, deadline: float) -> bool:
        """Read what is there (until the deadline); False if nothing came."""
        assert self.sock is not None
        self.sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return False
        except OSError:
            data = b""
        if not data:
            self.closed = True
            self.protocol.receive_eof()
        else:
            self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Response):
                self.refused = event.status_code != 101
            elif event.opcode == Opcode.TEXT:
                self.texts.append(event.data.decode())
            elif event.opcode == Opcode.BINARY:
                self.packets.append(msgpack.unpackb(event.data, strict_map_key=False))
            elif event.opcode == Opcode.CLOSE:
                self.closed = True
        with contextlib.suppress(OSError):
            self._flush()  # pongs the protocol owes
        return True

    def send_text(self, text: str) -> None:
        self.protocol.send_text(text.encode())
        self._flush()

    def send_binary(self, data: bytes) -> None:
        self.protocol.send_binary(data)
        self._flush()

    def send_packet(self, packet: dict[str, Any]) -> None:
        self.send_binary(msgpack.packb(packet))

    # -- Socket.IO

    def connect(self, token: str | None) -> dict[str, Any]:
        """The Socket.IO handshake; the CONNECT or CONNECT_ERROR packet it got."""
        data = {"token": token} if token is not None else None
        since = len(self.packets)
        self.send_packet({"type": 0, "nsp": "/", **({"data": data} if data else {})})
        return self.wait_for(lambda p: p.get("type") in (0, 4), since=since)

    def emit(self, event: str, *args: Any, ack: bool = True) -> int | None:
        packet: dict[str, Any] = {"type": 2, "nsp": "/", "data": [event, *args]}
        packet_id = None
        if ack:
            self._next_id += 1
            packet_id = packet["id"] = self._next_id
        self.send_packet(packet)
        return packet_id

    def call(self, event: str, *args: Any) -> Any:
        """Emit with an ack and wait for it; the ack's first argument."""
        packet_id = self.emit(event, *args)
        ack = self.wait_for(lambda p: p.get("type") == 3 and p.get("id") == packet_id)
        return ack["data"][0]

    def events(self, name: str) -> list[Any]:
        return [p["data"][1] for p in self.packets if p.get("type") == 2 and p["data"][0] == name]

    def wait_for(self, match: Any, timeout: float | None = None, since: int = 0) -> dict[str, Any]:
        """The first packet from index `since` on that matches (reading until one does)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        seen = since
        while True:
            for packet in self.packets[seen:]:
                if isinstance(packet, dict) and match(packet):
                    return packet
            seen = len(self.packets)
            if self.closed:
                raise Closed(f"closed; packets: {self.packets[-5:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"no such packet; last: {self.packets[-5:]}")
            self._read_once(deadline)

    def read_until_closed(self, timeout: float) -> bool:
        """Read everything until the server closes the connection; whether it did."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self._read_once(deadline)
        return self.closed

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None
