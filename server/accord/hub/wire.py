"""Records to the wire (docs/PROTOCOL.md, "Events").

`record_to_wire` gives an event as a dictionary. The fan-out does not go
through dictionaries: `wire_event` splices the stored msgpack body and the
envelope (`at`, `actor`, `seq`) into the event's msgpack bytes without
decoding the body, and `events_packet` wraps a batch of them into the
Socket.IO packet python-socketio's msgpack serializer would have made. Both
give byte for byte what `msgpack.packb` gives for the dictionaries
(tests/hub/test_wire.py).

The `seq` is the seat's own count (the n-th event the seat may see has seq
n), not the record's place in the log, so it comes last: `wire_head` is the
part every seat shares, encoded once per record, and `with_seq` adds a
seat's number.
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
#: `at` of `timeout.scheduled`, or a text that is just "at") is decoded
#: instead, so the envelope's value replaces the body's exactly as in
#: `record_to_wire`.
_ENVELOPE_KEYS: Final = (b"\xa3seq", b"\xa2at", b"\xa5actor")

#: `{"type": 2 (EVENT), "data": ["events", {"epoch": ` … `, "events": [` … `],
#: "state": ` … `}], "nsp": "/"}`, the inner map with or without `state`.
_PACKET_HEAD: Final = b"\x83\xa4type\x02\xa4data\x92\xa6events"
_EPOCH_KEY: Final = b"\xa5epoch"
_EVENTS_KEY: Final = b"\xa6events"
_STATE_KEY: Final = b"\xa5state"
_NSP: Final = b"\xa3nsp\xa1/"


def record_to_wire(record: Record, seq: int) -> dict[str, Any]:
    """An event as one seat sees it: its fields plus `at`, `actor` and `seq`,
    the seat's own number for it (docs/PROTOCOL.md, "Events"), not the
    record's place in the log."""
    event: dict[str, Any] = msgpack.unpackb(record.body, raw=False)
    event.pop("seq", None)
    event["at"] = record.at
    event["actor"] = record.actor
    event["seq"] = seq
    return event


def _open_map(data: bytes) -> tuple[int, int]:
    """A msgpack map's entry count and where its entries start; (-1, 0) if not a map."""
    first = data[0]
    if 0x80 <= first <= 0x8F:  # fixmap
        return first & 0x0F, 1
    if first == 0xDE:  # map 16
        return int.from_bytes(data[1:3], "big"), 3
    if first == 0xDF:  # map 32
        return int.from_bytes(data[1:5], "big"), 5
    return -1, 0


def _map_head(count: int) -> bytes:
    if count <= 0x0F:
        return bytes((0x80 | count,))
    if count <= 0xFFFF:
        return b"\xde" + count.to_bytes(2, "big")
    return b"\xdf" + count.to_bytes(4, "big")


def wire_head(record: Record) -> bytes:
    """The encoded event but for its last entry, `seq`: what every seat that
    sees the record shares (each adds its own seq with `with_seq`)."""
    body = record.body
    count, start = _open_map(body)
    if count < 0 or any(key in body for key in _ENVELOPE_KEYS):
        event = record_to_wire(record, 0)
        del event["seq"]
        packed = bytes(_pack(event))
        count, start = _open_map(packed)
        return _map_head(count + 1) + packed[start:]
    return b"".join(
        (
            _map_head(count + 3),
            body[start:],
            b"\xa2at",
            _pack(record.at),
            b"\xa5actor",
            _pack(record.actor),
        )
    )


def with_seq(head: bytes, seq: int) -> bytes:
    """A `wire_head` completed with the seq one seat sees the event by."""
    return b"".join((head, b"\xa3seq", _pack(seq)))


def wire_event(record: Record, seq: int) -> bytes:
    """`msgpack.packb(record_to_wire(record, seq))`, without decoding the body."""
    return with_seq(wire_head(record), seq)


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
