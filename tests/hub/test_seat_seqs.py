"""Each seat's own numbering on the wire (PROTOCOL.md, "Events"; DESIGN.md invariant 9).

A seat's n-th event has seq n: live, on resume from any point, in snapshots and
acks. So partner_a cannot tell from its seqs whether partner_b wrote anything
private (a time-out reason, a debrief answer) or the mediator a note: two
sessions that differ only in those give partner_a the very same seqs. The
mediator, who sees every event, is numbered as the log is. A position kept in
protocol 2's numbering (the log's own seqs, and the log's epoch) starts over.
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgpack
from hubtest import (
    Api,
    Seat,
    Seats,
    Server,
    SessionKeys,
    assert_consecutive,
    logged,
    of_type,
    start_dialogue,
    visible_to,
)

from accord.core.codec import encode_event
from accord.core.events import MEDIATOR_ONLY, NoteAdded, TimeOutReason, TimeOutSignalled
from accord.hub.server import HISTORY_BATCH_BYTES, HISTORY_PAGE
from accord.store.base import NewRecord, audience_mask
from accord.store.sqlite import SqliteStore


def seqs(events: list[dict[str, Any]]) -> list[int]:
    return [e["seq"] for e in events]


def course(events: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """What a seat's record shows, but for the clock."""
    return [(e["seq"], e["type"], e["actor"]) for e in events]


async def play(m: Seat, a: Seat, b: Seat, private: bool) -> list[int]:
    """A quick speaker-listener session with the same public course either way;
    with `private`, partner_b (and the mediator) also write what partner_a may
    not see, between the public events. partner_a's acks, in order."""
    acks: list[int] = []

    async def mine(type: str, **fields: Any) -> None:
        acks.append(await a.ok(type, **fields))
        # The ack is partner_a's own count, and every event it counts is here.
        assert acks[-1] == a.last_seq == len(a.events), (type, acks[-1], a.last_seq)

    await start_dialogue(m)
    if private:
        await m.ok("note", text="Both arrived on time.")
    await mine("statement", text="I feel alone when you work late.")
    await b.ok("paraphrase", text="You feel alone when I work late.")
    await mine("paraphrase.confirm")
    await mine("yield")
    await b.ok("statement", text="I work late because I worry about money.")
    await mine("paraphrase", text="You worry about money.")
    # partner_b calls a time-out: with a reason (for the mediator only), or not.
    await b.ok("timeout.call", **({"reason": "My chest is tight."} if private else {}))
    await mine("timeout.call", **({"reason": "I am shaking too."} if private else {}))
    for seat in (m, a, b):  # the server's timer ends it (about 1.2 s)
        await seat.until_type("debrief.started", timeout=5)
    # The debrief: partner_b answers first (privately: only the completion,
    # when partner_a answers too, is everyone's).
    await b.ok("debrief.answer", rating=6, text="Still tense." if private else "Fine.")
    if private:
        await m.ok("note", text="B answered first.")
    await mine("debrief.answer", rating=4, text="Calmer.")
    for seat in (m, a):
        await seat.until_type("debrief.completed")
    await b.ok("paraphrase.confirm")
    await m.ok("phase.advance")  # the closing debrief
    if private:  # partner_b answers it; partner_a never does
        await b.ok("debrief.answer", rating=3, text="I heard the money worries.")
    await m.ok("session.end", reason="Time is up.")
    for seat in (m, a, b):
        await seat.until_type("session.ended")
    return acks


async def test_a_partners_seqs_show_nothing_of_the_others_private_writing(
    server: Server, seats: Seats, api: Api
) -> None:
    seen: dict[bool, tuple[Seat, list[int], SessionKeys]] = {}
    for private in (False, True):
        keys = await server.create_session("quick-dialogue")
        m, a, b = await seats.trio(keys)
        acks = await play(m, a, b, private)
        record = (await api.export(keys.id))["events"]
        assert_consecutive(record)
        for seat in (m, a, b):
            seat.check()  # 1, 2, 3 … with no gap, for every seat
            assert seqs(seat.events) == list(range(1, len(seat.events) + 1)), seat.seat
            assert seat.events == visible_to(seat.seat, record), seat.seat
        assert m.events == record  # the mediator's seqs are the log's
        for seq in acks:
            assert logged(record, "partner_a", seq)["actor"] == "partner_a"
        seen[private] = (a, acks, keys)
        if private:
            private_record = record
    quiet, loud = seen[False][0], seen[True][0]
    # The private writing is there, in the record...
    assert {"note.added", "timeout.reason"} <= {e["type"] for e in private_record}
    assert len(of_type(private_record, "debrief.answered")) == 3
    # Two notes, two reasons, partner_b's two answers: six events partner_a never sees.
    assert len(private_record) == len(visible_to("partner_a", private_record)) + 6
    # ...and partner_a cannot tell: the same seqs, types and acks as without it.
    assert course(loud.events) == course(quiet.events)
    assert seen[True][1] == seen[False][1]
    assert loud.snapshots[-1]["seq"] == quiet.snapshots[-1]["seq"] == 0  # joined first
    for private in (False, True):
        keys = seen[private][2]
        fresh = await seats.open(keys, "partner_a")
        assert fresh.snapshots[-1]["seq"] == len(loud.events)
        assert course(fresh.events) == course(loud.events)


async def test_a_partner_resumes_from_every_point_of_its_own_numbering(
    server: Server, seats: Seats, api: Api
) -> None:
    keys = await server.create_session("quick-dialogue")
    m, a, b = await seats.trio(keys)
    await play(m, a, b, private=True)
    record = (await api.export(keys.id))["events"]
    mine = visible_to("partner_a", record)
    n = len(mine)
    assert a.events == mine and n < len(record)
    for k in range(n + 1):
        late = seats.new(keys.tokens["partner_a"], "partner_a")
        await late.connect()
        ack = await late.join(last_seq=k, epoch=a.epoch)
        assert ack == {"ok": True, "seq": n, "epoch": a.epoch}, k
        assert late.snapshots[-1]["seq"] == n and late.snapshots[-1]["reset"] is False, k
        assert late.events == mine[k:], k
        late.check()
        await late.close()
    # The mediator resumes in the log's numbering.
    for k in (0, 5, len(record) - 1, len(record)):
        late = seats.new(keys.tokens["mediator"], "mediator")
        await late.connect()
        ack = await late.join(last_seq=k, epoch=m.epoch)
        assert ack["seq"] == late.snapshots[-1]["seq"] == len(record)
        assert late.events == record[k:], k
        await late.close()


async def test_a_position_a_partner_cannot_have_starts_over(
    server: Server, seats: Seats, api: Api
) -> None:
    keys = await server.create_session("quick-dialogue")
    m, a, b = await seats.trio(keys)
    await start_dialogue(m)
    for i in range(5):
        await m.ok("note", text=f"Note {i}.")  # the log's head moves past partner_a's count
    await a.ok("statement", text="I feel alone.")
    export = await api.export(keys.id)
    record, log_epoch = export["events"], export["epoch"]
    n = len(visible_to("partner_a", record))
    assert n + 5 == len(record)
    # The wire epoch is not the log's (protocol 2 gave the log's).
    assert a.epoch != log_epoch and m.epoch == a.epoch

    async def rejoin(**join: Any) -> Seat:
        seat = seats.new(keys.tokens["partner_a"], "partner_a")
        await seat.connect()
        ack = await seat.join(**join)
        assert ack == {"ok": True, "seq": n, "epoch": a.epoch}, join
        seat.check()
        await seat.close()
        return seat

    # Beyond partner_a's own count, though not beyond the log's head: it starts
    # over, so a partner cannot probe the head (the count of every event).
    for join in (
        {"last_seq": n + 1, "epoch": a.epoch},
        {"last_seq": len(record), "epoch": a.epoch},
        # A position kept from a protocol 2 server: the log's seq and epoch.
        {"last_seq": record[-1]["seq"] - 1, "epoch": log_epoch},
        {"last_seq": 2, "epoch": log_epoch},
        # A seq without its epoch: which numbering it is in cannot be told.
        {"last_seq": n - 1},
    ):
        seat = await rejoin(**join)
        assert seat.snapshots[-1]["reset"] is True, join
        assert seat.events == visible_to("partner_a", record), join
    # Its own count resumes; nothing is missed.
    seat = await rejoin(last_seq=n, epoch=a.epoch)
    assert seat.snapshots[-1]["reset"] is False and seat.batches[-1] == []
    seat = await rejoin(last_seq=n - 1, epoch=a.epoch)
    assert seat.events == visible_to("partner_a", record)[n - 1 :]
    # A partner's ack never counts the mediator's notes either.
    assert await b.ok("paraphrase", text="You feel alone.") == n + 1


async def test_a_long_history_streams_in_the_seats_own_numbering(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("quick-dialogue")
    # A record written ahead (the session is not loaded yet): signals every
    # seat sees, with partner_b's time-out reasons and the mediator's notes
    # (both for the mediator only) between them. More than a page of the log
    # per read, and many 16 KiB batches for partner_a.
    public = audience_mask(("mediator", "partner_a", "partner_b"))
    private = audience_mask(MEDIATOR_ONLY)
    records: list[NewRecord] = []
    for i in range(900):
        records.append(
            NewRecord(1.0, "partner_b", public, encode_event(TimeOutSignalled(by="partner_b")))
        )
        if i % 3 == 0:
            reason = TimeOutReason(by="partner_b", reason=f"Reason {i}.", audience=MEDIATOR_ONLY)
            records.append(NewRecord(1.0, "partner_b", private, encode_event(reason)))
        if i % 7 == 0:
            note = NoteAdded(text=f"Note {i}.", audience=MEDIATOR_ONLY)
            records.append(NewRecord(1.0, "mediator", private, encode_event(note)))
    store = await SqliteStore.open(server.data_dir / "accord.sqlite3")
    try:
        head = await store.append(keys.id, 0, records)
    finally:
        await store.close()
    assert head == len(records) > 2 * HISTORY_PAGE

    m = await seats.open(keys, "mediator")
    assert seqs(m.events) == list(range(1, head + 1))
    a = await seats.open(keys, "partner_a")
    a.check()
    assert seqs(a.events) == list(range(1, 901))
    # Streamed a page of the log and a batch at a time.
    sizes = [len(msgpack.packb(batch)) for batch in a.batches if batch]
    assert len(sizes) > 2 and max(sizes) < 2 * HISTORY_BATCH_BYTES, sizes
    mine = a.events
    # Resuming from anywhere, across pages and batches, gets exactly the rest.
    for k in (1, 99, 300, 301, 499, 500, 501, 777, 899, 900):
        late = seats.new(keys.tokens["partner_a"], "partner_a")
        await late.connect()
        ack = await late.join(last_seq=k, epoch=a.epoch)
        assert ack["seq"] == 900 and late.snapshots[-1]["seq"] == 900, k
        assert late.events == mine[k:], k
        late.check()
        await late.close()
    # And live events go on from there, in both numberings at once (partner_a
    # back from where it was: the joins above took its seat).
    await a.reconnect()
    assert a.batches[-1] == [] and a.snapshots[-1]["seq"] == 900
    note, call = await asyncio.gather(
        m.ok("note", text="Live."), a.ok("timeout.call", reason="Live too.")
    )
    assert call == 901 and a.events[-1]["type"] == "timeout.started"
    await m.until(lambda events: len(events) >= head + 3)  # the note, started, the reason
    a.check()
    m.check()
    assert seqs(a.events) == list(range(1, 902))
    assert seqs(m.events) == list(range(1, head + 4)) and note in (head + 1, head + 3)
