"""accord.hub.packet: the exact bytes of the packets the server sends, and what
every kind of frame a client may send decodes to (issue 9)."""

from __future__ import annotations

from typing import Any

import msgpack
import pytest
from socketio import packet

from accord.hub.packet import MALFORMED, RESERVED, AccordPacket


def encoded(packet_type: int, data: Any = None, id: int | None = None) -> bytes:
    result: bytes = AccordPacket(packet_type, data=data, namespace="/", id=id).encode()
    return result


def decoded(frame: Any) -> AccordPacket:
    return AccordPacket(encoded_packet=frame)


def test_disconnect_has_no_data_key_so_the_official_parser_accepts_it() -> None:
    # socket.io-msgpack-parser 3 accepts a DISCONNECT only without `data`
    # (`decoded.data === undefined`); python-socketio's own class writes nil.
    assert encoded(packet.DISCONNECT) == b"\x82\xa4type\x01\xa3nsp\xa1/"
    assert msgpack.unpackb(encoded(packet.DISCONNECT)) == {"type": 1, "nsp": "/"}


def test_events_acks_and_connects_keep_their_data() -> None:
    assert msgpack.unpackb(encoded(packet.EVENT, ["notice", {"code": "superseded"}])) == {
        "type": 2,
        "data": ["notice", {"code": "superseded"}],
        "nsp": "/",
    }
    assert encoded(packet.ACK, [{"ok": True}], id=7) == (
        b"\x84\xa4type\x03\xa4data\x91\x81\xa2ok\xc3\xa3nsp\xa1/\xa2id\x07"
    )
    assert msgpack.unpackb(encoded(packet.CONNECT, {"sid": "abc"})) == {
        "type": 0,
        "data": {"sid": "abc"},
        "nsp": "/",
    }
    assert msgpack.unpackb(encoded(packet.CONNECT_ERROR, {"message": "no"})) == {
        "type": 4,
        "data": {"message": "no"},
        "nsp": "/",
    }


def test_a_well_formed_event_decodes_as_it_is() -> None:
    frame = msgpack.packb({"type": 2, "nsp": "/", "data": ["join", {}], "id": 3})
    p = decoded(frame)
    assert (p.packet_type, p.namespace, p.data, p.id) == (packet.EVENT, "/", ["join", {}], 3)


@pytest.mark.parametrize("name", ["connect", "disconnect", "*", MALFORMED, RESERVED])
def test_reserved_event_names_never_reach_the_dispatcher_as_themselves(name: str) -> None:
    frame = msgpack.packb({"type": 2, "nsp": "/", "data": [name, {"token": "x"}], "id": 9})
    p = decoded(frame)
    assert (p.packet_type, p.data, p.id) == (packet.EVENT, [RESERVED, name], 9)


@pytest.mark.parametrize(
    ("frame", "reason", "packet_id"),
    [
        (b"", "empty frame", None),
        ("", "empty frame", None),
        (b"\xc1", "not msgpack", None),
        ("0", "not msgpack", None),
        (msgpack.packb([1, 2]), "not a packet map", None),
        (msgpack.packb({1: 2, "id": 4}), "not msgpack", 4),  # non-string keys
        (msgpack.packb({"type": 4, "nsp": "/", "data": "x"}), "packet type", None),
        (msgpack.packb({"type": 5, "nsp": "/", "data": []}), "packet type", None),
        (msgpack.packb({"type": 9, "nsp": "/"}), "packet type", None),
        (msgpack.packb({"type": True, "nsp": "/"}), "packet type", None),
        (msgpack.packb({"type": 2, "nsp": 5, "data": ["a"]}), "namespace", None),
        (msgpack.packb({"type": 2, "nsp": "/", "data": [], "id": 2}), "event without a name", 2),
        (msgpack.packb({"type": 2, "nsp": "/", "data": [{}], "id": 2}), "event without a name", 2),
        (msgpack.packb({"type": 2, "nsp": "/", "data": "join"}), "event without a name", None),
        (msgpack.packb({"type": 2, "nsp": "/", "data": ["join"], "id": -1}), "packet id", None),
        (msgpack.packb({"type": 2, "nsp": "/", "data": ["join"], "id": "1"}), "packet id", None),
        (msgpack.packb({"type": 0, "nsp": "/", "data": [1]}), "connect data", None),
        (msgpack.packb({"type": 3, "nsp": "/", "id": 1, "data": "x"}), "ack data", 1),
    ],
)
def test_every_unusable_frame_becomes_one_answerable_malformed_event(
    frame: Any, reason: str, packet_id: int | None
) -> None:
    p = decoded(frame)
    assert (p.packet_type, p.namespace, p.data, p.id) == (
        packet.EVENT,
        "/",
        [MALFORMED, reason],
        packet_id,
    )
