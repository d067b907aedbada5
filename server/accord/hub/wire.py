"""Records to the wire (docs/PROTOCOL.md, "Events").

`record_to_wire` gives an event as a dictionary. The fan-out does not go
through dictionaries: `wire_event` splices the stored msgpack body and the
envelope (`seq`, `at`, `actor`) into the event's msgpack bytes without
decoding the body, and `events_packet` wraps a batch of them into the
Socket.IO packet python-socketio's msgpack serializer would have made, so a
batch is encoded once for every seat that sees it. Both give byte for byte
what `msgpack.packb` gives for the dictionaries (tests/hub/test_wire.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgpack
import msgspec

from accord.store.base import Record

_pack: Final = msgpack.Packer(autoreset=True).pack
_encode: Final = msgspec.msgpack.Encoder().encode

#: The envelope's keys as msgpack strings. A body holding one of them (the
#: `at` of `timeout.scheduled`) is decoded instead, so the envelope's value
#: replaces the body's exactly as in `record_to_wire`.
_ENVELOPE_KEYS: Final = (b"\xa3seq", b"\xa2at", b"\xa5actor")

#: `{"type": 2 (EVENT), "data": ["events", {"epoch": ` … `, "events": [` … `],
#: "state": ` … `}], "nsp": "/"}`, the inner map with or without `state`.
_PACKET_HEAD: Final = b"\x83\xa4type\x02\xa4data\x92\xa6events"
_EPOCH_KEY: Final = b"\xa5epoch"
_EVENTS_KEY: Final = b"\xa6events"
_STATE_KEY: Final = b"\xa5state"
_NSP: Final = b"\xa3nsp\xa1/"


def record_to_wire(record: Record) -> dict[str, Any]:
    """An event as clients see it: its fields plus `seq`, `at` and `actor`."""
    event: dict[str, Any] = msgpack.unpackb(record.body, raw=False)
    event["seq"] = record.seq
    event["at"] = record.at
    event["actor"] = record.actor
    return event


def wire_event(record: Record) -> bytes:
    """`msgpack.packb(record_to_wire(record))`, without decoding the body."""
    body = record.body
    first = body[0]
    if 0x80 <= first <= 0x8F:  # fixmap
        count, start = first & 0x0F, 1
    elif first == 0xDE:  # map 16
        count, start = int.from_bytes(body[1:3], "big"), 3
    else:
        count, start = -1, 0
    if count < 0 or any(key in body for key in _ENVELOPE_KEYS):
        return bytes(_pack(record_to_wire(record)))
    count += 3
    head = bytes((0x80 | count,)) if count <= 0x0F else b"\xde" + count.to_bytes(2, "big")
    return b"".join(
        (
            head,
            body[start:],
            b"\xa3seq",
            _pack(record.seq),
            b"\xa2at",
            _pack(record.at),
            b"\xa5actor",
            _pack(record.actor),
        )
    )


def events_packet(epoch: str, events: Sequence[bytes], state: bytes | None = None) -> bytes:
    """The msgpack Socket.IO packet of `emit("events", {"epoch": epoch, "events":
    [...], "state": ...})` for events already encoded by `wire_event` and, when
    given, the seat's state already encoded (`encode_state`)."""
    n = len(events)
    if n <= 0x0F:
        array = bytes((0x90 | n,))
    elif n <= 0xFFFF:
        array = b"\xdc" + n.to_bytes(2, "big")
    else:
        array = b"\xdd" + n.to_bytes(4, "big")
    if state is None:
        return b"".join(
            (_PACKET_HEAD, b"\x82", _EPOCH_KEY, _pack(epoch), _EVENTS_KEY, array, *events, _NSP)
        )
    return b"".join(
        (
            _PACKET_HEAD,
            b"\x83",
            _EPOCH_KEY,
            _pack(epoch),
            _EVENTS_KEY,
            array,
            *events,
            _STATE_KEY,
            state,
            _NSP,
        )
    )


def encode_state(view: dict[str, Any]) -> bytes:
    """A seat's view of the state (`core.seat_update`), for `events_packet`:
    msgspec's encoder, the same bytes as msgpack's for these plain values, at
    less than half the cost (it runs for every seat with every batch)."""
    return _encode(view)
