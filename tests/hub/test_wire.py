"""accord.hub.wire: the spliced encoding is byte for byte what msgpack makes of the
dictionaries (and so what python-socketio's msgpack serializer would send)."""

from __future__ import annotations

from pathlib import Path

import msgpack
from socketio import packet as sio_packet
from socketio.msgpack_packet import MsgPackPacket

from accord.core import decide, evolve, initial_state, load_playbook, parse_command
from accord.core.codec import encode_event
from accord.core.commands import FireTimer
from accord.core.events import TimeOutScheduled
from accord.hub.wire import (
    encode_state,
    events_packet,
    record_to_wire,
    wire_event,
    wire_head,
    with_seq,
)
from accord.store.base import Record, audience_mask

PLAYBOOK = Path(__file__).resolve().parents[2] / "protocols" / "speaker-listener.toml"


def session_records() -> list[Record]:
    """Records of a session with every kind of event a speaker-listener run makes."""
    playbook = load_playbook(PLAYBOOK.read_text(), "speaker-listener.toml")
    state = initial_state(playbook)
    records: list[Record] = []
    now = 1_764_100_000.25
    script = [
        ("mediator", {"type": "admit", "seat": "partner_a"}),
        ("mediator", {"type": "admit", "seat": "partner_b"}),
        ("mediator", {"type": "phase.advance"}),
        ("partner_a", {"type": "statement", "text": "I felt alone — ünïcödé, 🙂"}),
        ("partner_b", {"type": "paraphrase", "text": "You felt alone."}),
        ("partner_a", {"type": "paraphrase.correct", "note": "Not quite."}),
        ("partner_b", {"type": "paraphrase", "text": "You felt alone and unseen."}),
        ("partner_a", {"type": "paraphrase.confirm"}),
        ("partner_a", {"type": "yield"}),
        ("mediator", {"type": "timeout.schedule", "at": now + 600, "minutes": 5}),
        ("partner_b", {"type": "timeout.call", "reason": "I need a minute."}),
        ("mediator", {"type": "note", "text": "b flooded"}),
    ]
    for actor, data in script:
        for event in decide(state, parse_command(data), actor, now):
            state = evolve(state, event)
            body = encode_event(event)
            records.append(
                Record(len(records) + 1, now, actor, audience_mask(event.audience), body)
            )
        now += 1.5
    timer = state.timers[0]
    for event in decide(state, FireTimer(timer=timer.id), "system", timer.due):
        body = encode_event(event)
        records.append(Record(len(records) + 1, now, "system", audience_mask(event.audience), body))
    return records


def test_wire_event_is_the_packed_dictionary() -> None:
    records = session_records()
    kinds = {record_to_wire(r, r.seq)["type"] for r in records}
    assert {"statement.made", "timeout.scheduled", "timeout.reason", "timer.fired"} <= kinds
    for record in records:
        for seq in (1, record.seq, 200, 70_000, 2**33):
            assert wire_event(record, seq) == msgpack.packb(record_to_wire(record, seq))
            assert with_seq(wire_head(record), seq) == wire_event(record, seq)


def test_the_seq_is_the_one_given_not_the_records() -> None:
    """A seat's number for an event (its own count) goes on the wire, whatever
    the record's place in the log; the rest of the event is the record's."""
    for record in session_records():
        decoded = msgpack.unpackb(wire_event(record, 3))
        assert decoded["seq"] == 3
        assert list(decoded).count("seq") == 1
        assert (decoded["at"], decoded["actor"]) == (record.at, record.actor)
        assert {k: v for k, v in decoded.items() if k not in ("seq", "at", "actor")} == {
            k: v for k, v in msgpack.unpackb(record.body).items() if k != "at"
        }


def test_envelope_wins_over_a_field_of_the_same_name() -> None:
    event = TimeOutScheduled(timer="t1", due=123.0, every_minutes=None, minutes=5)
    record = Record(7, 456.5, "mediator", audience_mask(event.audience), encode_event(event))
    decoded = msgpack.unpackb(wire_event(record, 2))
    assert decoded["at"] == 456.5
    assert list(decoded).count("at") == 1
    # A body with envelope keys of its own (none does today) loses them to the envelope.
    odd = Record(9, 1.5, "partner_b", 7, msgpack.packb({"type": "x", "seq": 99, "actor": "z"}))
    assert msgpack.unpackb(wire_event(odd, 4)) == {
        "type": "x",
        "actor": "partner_b",
        "at": 1.5,
        "seq": 4,
    }
    assert wire_event(odd, 4) == msgpack.packb(record_to_wire(odd, 4))
    # A text that is just "at" looks like the envelope's key; it is kept.
    text = Record(5, 2.5, "partner_a", 7, msgpack.packb({"type": "statement.made", "text": "at"}))
    assert wire_event(text, 1) == msgpack.packb(record_to_wire(text, 1))
    assert msgpack.unpackb(wire_event(text, 1))["text"] == "at"


def test_large_maps_and_batches() -> None:
    body = msgpack.packb({f"k{i}": i for i in range(20)} | {"type": "x"})  # a map 16
    small = msgpack.packb({f"k{i}": i for i in range(13)})  # 13 + 3 entries: a map 16 after
    huge = msgpack.packb({f"k{i}": i for i in range(70_000)})  # a map 32
    for raw in (body, small, huge):
        record = Record(3, 1.0, "partner_a", 7, raw)
        assert wire_event(record, 2) == msgpack.packb(record_to_wire(record, 2))
    for n in (0, 1, 15, 16, 70_000):
        events = [{"seq": i} for i in range(n)]
        encoded = events_packet("e1", [msgpack.packb(e) for e in events])
        expected = MsgPackPacket(
            sio_packet.EVENT, namespace="/", data=["events", {"epoch": "e1", "events": events}]
        ).encode()
        assert encoded == expected


def test_a_batch_with_the_seats_state() -> None:
    state = {"index": 1, "may": ["timeout.call"], "prompt": {"role": "listener"}, "queue": ()}
    for n in (0, 3):
        events = [{"seq": i} for i in range(n)]
        encoded = events_packet("e2", [msgpack.packb(e) for e in events], encode_state(state))
        expected = MsgPackPacket(
            sio_packet.EVENT,
            namespace="/",
            data=["events", {"epoch": "e2", "events": events, "state": state}],
        ).encode()
        assert encoded == expected
