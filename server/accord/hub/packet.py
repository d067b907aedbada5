"""The Socket.IO packet codec: python-socketio's msgpack packets, made exact and total.

Two things python-socketio's `MsgPackPacket` gets wrong for Accord, both fixed here:

- **It writes `data: nil` into every packet without data.** The Socket.IO
  protocol (v5) leaves `data` out of a DISCONNECT packet, and the official JS
  decoder (`socket.io-msgpack-parser` 3.x, via notepack.io) accepts a
  DISCONNECT only when `data` is absent: `nil` decodes to `null` and the
  packet is a parse error. The client then reports `parse error` instead of
  `io server disconnect`, reconnects by itself, and the `notice` sent just
  before may never reach the application (socket.io-client hands decoded
  packets on a tick later, and the parse error closes the socket first). So a
  packet without data is encoded without the `data` key (tests/hub/test_packet.py
  pins the bytes).
- **It hands every decoded frame to the dispatcher as it is.** A client could
  send an event named `connect` or `disconnect` and reach the server's own
  connect or disconnect handler on an open socket (re-run the handshake with
  another invite, reset its limits, make the other seats see it leave); an
  empty frame, an event without a name, or a packet type a client never sends
  made python-socketio log a traceback and answer nothing. Here every frame
  decodes to something the hub answers: a well-formed packet, or one of two
  synthetic events, `MALFORMED` (carrying a short reason) or `RESERVED`
  (carrying the reserved name), with the packet id when one can be recovered so
  the client's ack is answered with a stable error code.
"""

from __future__ import annotations

from typing import Any, Final

import msgpack
from socketio import packet
from socketio.msgpack_packet import MsgPackPacket

#: The event a frame that cannot be used is delivered as: [MALFORMED, reason].
MALFORMED: Final = "__malformed__"
#: The event a client event with a reserved name is delivered as: [RESERVED, name].
RESERVED: Final = "__reserved__"

#: Event names a client may not send: python-socketio dispatches `connect` and
#: `disconnect` to the server's own handlers, `*` is its catch-all key, and
#: the two above are ours. The JS client's reserved names (`connect_error`,
#: `disconnecting`, `newListener`, `removeListener`) mean nothing to the server
#: and are answered as unknown events.
RESERVED_NAMES: Final = frozenset({"connect", "disconnect", "*", MALFORMED, RESERVED})

#: Packet types a client may send (no binary types: msgpack carries bytes natively).
_CLIENT_TYPES: Final = frozenset({packet.CONNECT, packet.DISCONNECT, packet.EVENT, packet.ACK})


class TooLarge:
    """An event's argument when its frame was over `max_frame_bytes`: the
    handler answers `frame_too_large` (after the checks that come first)."""

    __slots__ = ("size",)

    def __init__(self, size: int) -> None:
        self.size = size


class AccordPacket(MsgPackPacket):  # type: ignore[misc]
    #: Frames over this many bytes carry a TooLarge instead of their argument
    #: (measured here, on the frame as it came: no re-encoding per command).
    max_bytes: int = 2**62

    @classmethod
    def limited(cls, max_bytes: int) -> type[AccordPacket]:
        """This codec, with the server's `max_frame_bytes`."""
        return type("AccordPacket", (cls,), {"max_bytes": max_bytes})

    def __init__(
        self,
        packet_type: int = packet.EVENT,
        data: Any = None,
        namespace: str | None = None,
        id: int | None = None,
        binary: bool | None = None,
        encoded_packet: Any = None,
    ) -> None:
        super().__init__(packet_type, data, namespace, id, binary, encoded_packet)
        if encoded_packet is not None and not encoded_packet:
            # The base class skips decoding a falsy frame and would dispatch
            # an EVENT with no data.
            self._unusable("empty frame", None)

    def encode(self) -> bytes:
        """The packet as msgpack, with `data` only when there is some (see above)."""
        d: dict[str, Any] = {"type": self.packet_type}
        if self.data is not None:
            d["data"] = self.data
        d["nsp"] = self.namespace
        if self.id is not None:
            d["id"] = self.id
        encoded: bytes = msgpack.dumps(d, default=self.__class__.dumps_default)
        return encoded

    def decode(self, encoded_packet: Any) -> None:
        try:
            # strict_map_key (msgpack's default): a map keyed by anything but
            # strings is refused (hash flooding), like undecodable bytes.
            raw = msgpack.loads(encoded_packet, ext_hook=self.__class__.ext_hook)
        except Exception:
            self._unusable("not msgpack", _recover_id(encoded_packet))
            return
        reason = _problem(raw)
        if reason is not None:
            self._unusable(reason, raw.get("id") if isinstance(raw, dict) else None)
            return
        self.packet_type = raw["type"]
        self.data = raw.get("data")
        self.id = raw.get("id")
        self.namespace = raw["nsp"]
        if self.packet_type == packet.EVENT:
            if self.data[0] in RESERVED_NAMES:
                self.data = [RESERVED, self.data[0]]
            elif len(encoded_packet) > self.max_bytes:
                self.data = [self.data[0], TooLarge(len(encoded_packet))]

    def _unusable(self, reason: str, packet_id: Any) -> None:
        self.packet_type = packet.EVENT
        self.namespace = "/"
        self.data = [MALFORMED, reason]
        self.id = packet_id if _is_id(packet_id) else None


def _problem(raw: Any) -> str | None:
    """Why a decoded frame is not a packet a client may send, or None."""
    if not isinstance(raw, dict):
        return "not a packet map"
    kind = raw.get("type")
    if not isinstance(kind, int) or isinstance(kind, bool) or kind not in _CLIENT_TYPES:
        return "packet type"
    if raw.get("nsp") != "/":
        # Accord has one namespace; another would only be answered "Unable to
        # connect" with its name echoed back, before any authentication.
        return "namespace"
    if "id" in raw and not _is_id(raw["id"]):
        return "packet id"
    data = raw.get("data")
    if kind == packet.CONNECT and data is not None and not isinstance(data, dict):
        return "connect data"
    if kind == packet.EVENT and not (isinstance(data, list) and data and isinstance(data[0], str)):
        return "event without a name"
    if kind == packet.ACK and not isinstance(data, list):
        return "ack data"
    return None


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**53


def _recover_id(encoded_packet: Any) -> Any:
    """The packet id of a frame the strict decoder refused, to answer its ack."""
    try:
        raw = msgpack.unpackb(encoded_packet, strict_map_key=False)
    except Exception:
        return None
    return raw.get("id") if isinstance(raw, dict) else None
