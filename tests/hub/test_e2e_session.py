"""A whole speaker-listener session over the wire, three Python seats, a real server.

The session runs the full course (admission, a corrected and a confirmed
paraphrase, a reply after the floor passes, a partner's time-out with a private
reason ended by the server's own timer, its debrief, the closing debrief), then
every seat's record is held against the exported one (invariants 1-3, 6, 7).
"""

from __future__ import annotations

from typing import Any

from hubtest import (
    SEATS,
    Api,
    Seat,
    Seats,
    Server,
    assert_consecutive,
    folded_view,
    logged,
    of_type,
    start_dialogue,
    visible_to,
)


async def test_a_whole_session(server: Server, seats: Seats, api: Api) -> None:
    keys = await server.create_session("quick-dialogue")
    m, a, b = await seats.trio(keys)
    sent: list[tuple[str, int]] = []  # (seat, seq) of every accepted command

    async def ok(seat: Seat, type: str, **fields: Any) -> int:
        seq = await seat.ok(type, **fields)
        sent.append((seat.seat, seq))
        return seq

    assert await b.refused("statement", text="Me first.") == "wrong_phase"  # the lobby
    await start_dialogue(m)
    await ok(m, "note", text="Both arrived on time; A looks tense.")

    # partner_a holds the floor (first speaker); partner_b may not speak (invariant 1).
    assert await b.refused("statement", text="That's not fair.") == "not_your_turn"
    await ok(a, "statement", text="I feel alone when you work late every night.")
    # The listener's only move is a paraphrase (invariant 2).
    assert await b.refused("statement", text="But I have to.") == "paraphrase_required"
    assert await a.refused("statement", text="And another thing.") == "awaiting_paraphrase"
    await ok(b, "paraphrase", text="You think I work too much.")
    await ok(a, "paraphrase.correct", note="Not quite: it is about feeling alone.")
    await ok(b, "paraphrase", text="You feel alone when I work late.")
    await ok(a, "paraphrase.confirm")
    # Confirmed, but the floor is still partner_a's until they yield.
    assert await b.refused("statement", text="Now me.") == "not_your_turn"
    await ok(a, "yield")
    await b.until(lambda events: events[-1]["type"] == "floor.granted")
    assert b.events[-1]["seat"] == "partner_b" and b.events[-1]["by"] == "system"

    await ok(b, "statement", text="I work late because I worry about money.")
    await ok(a, "paraphrase", text="You work late because money worries you.")
    await ok(b, "paraphrase.confirm")

    # The safe signal, with a reason for the mediator's eyes only.
    await ok(b, "timeout.call", reason="I am getting flooded.")
    assert await a.refused("statement", text="Wait.") == "in_time_out"
    assert await b.refused("yield") == "in_time_out"
    # Nobody sends anything: the server's timer ends the time-out (about 1.2 s).
    for seat in (m, a, b):
        await seat.until(lambda events: events[-1]["type"] == "debrief.started", timeout=5)
    ended = of_type(m.events, "timeout.ended")[-1]
    assert ended["by"] == "system" and ended["actor"] == "system"
    assert of_type(m.events, "debrief.started")[-1]["after"] == "time_out"
    assert await b.refused("statement", text="So anyway.") == "debrief_pending"

    await ok(a, "debrief.answer", rating=4, text="Tense but OK.")
    await ok(b, "debrief.answer", rating=7, text="I need a glass of water.")
    await ok(m, "note", text="B calmer after the break.")
    await ok(m, "phase.advance")  # to the closing debrief
    await ok(b, "debrief.answer", rating=3, text="I heard that A feels alone.")
    await ok(a, "debrief.answer", rating=2, text="I heard the money worries.")
    for seat in (m, a, b):
        await seat.until(lambda events: events[-1]["type"] == "session.ended")
    assert await a.refused("timeout.call") == "session_ended"
    await ok(m, "note", text="Follow up next week.")  # notes stay open after the end
    await m.until(lambda events: events[-1]["type"] == "note.added" and len(events) == sent[-1][1])

    record = await api.export(keys.id)
    events = record["events"]
    assert_consecutive(events, head=sent[-1][1])
    assert record["session"]["status"] == "ended"
    # Every acknowledged command's last event is where its ack said (in its
    # seat's own numbering), by its seat.
    for seat_name, seq in sent:
        event = logged(events, seat_name, seq)
        assert event["actor"] == seat_name, (seat_name, seq, event)

    # Each seat got exactly its audience's share of the record, in order (invariant 7).
    for seat in (m, a, b):
        seat.check()
        assert seat.events == visible_to(seat.seat, events), seat.seat
    assert m.events == events  # the mediator receives everything
    assert "timeout.reason" not in a.types() and "timeout.reason" in m.types()
    assert "timeout.reason" not in b.types()  # private to the mediator, even from its author
    assert "note.added" not in a.types() + b.types()
    assert {e["seat"] for e in of_type(a.events, "debrief.answered")} == {"partner_a"}
    assert {e["seat"] for e in of_type(b.events, "debrief.answered")} == {"partner_b"}
    assert len(of_type(m.events, "debrief.answered")) == 4

    # Replaying the record gives the state a fresh join is shown (invariant 6).
    for name in SEATS:
        fresh = await seats.open(keys, name)  # supersedes the seat's connection
        assert fresh.snapshots[-1]["state"] == folded_view(
            record["session"]["playbook_source"], events, name
        )
        assert fresh.snapshots[-1]["state"]["ended"] is True
        assert fresh.events == visible_to(name, events)
