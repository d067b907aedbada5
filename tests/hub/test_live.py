"""accord.hub.live over the wire: durable acknowledgements, idempotent retries,
timers that outlive the process, and one order for concurrent commands.

The server is a real `accord serve` process; "crash" means SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from typing import Any

import pytest
from hubtest import (
    SEATS,
    Api,
    Seat,
    Seats,
    Server,
    assert_consecutive,
    count_type,
    folded_update,
    folded_view,
    logged,
    of_type,
    start_dialogue,
    visible_to,
)

from accord.core import CODES

# --- durability (invariant 8) ---------------------------------------------------------------


async def test_nothing_acknowledged_is_lost_when_the_server_is_killed(
    server: Server, seats: Seats, api: Api
) -> None:
    keys = await server.create_session("open-floor")
    m, a, b = await seats.trio(keys)
    start = await start_dialogue(m)
    epoch = m.epoch
    # (seat, seq, command type): each seat's seq is its own count of what it sees.
    acked: list[tuple[str, int, str]] = []

    async def notes(count: int) -> None:
        acks = await asyncio.gather(*(m.cmd("note", text=f"Note {i}.") for i in range(count)))
        for ack in acks:
            assert ack["ok"], ack
            acked.append(("mediator", ack["seq"], "note"))

    async def toggles(seat: Seat, count: int) -> None:
        for i in range(count):
            kind = "floor.withdraw" if i % 2 else "floor.request"
            acked.append((seat.seat, await seat.ok(kind), kind))

    # Spread so that no seat waits long on the hub's rate limit (20/s, bursts of 40).
    await asyncio.gather(notes(66), toggles(a, 67), toggles(b, 67))
    assert len({(seat, seq) for seat, seq, _ in acked}) == 200
    head = start + 200  # one event each
    server.kill()  # at once: whatever was acknowledged must already be on disk
    for seat in (m, a, b):
        await seat.wait_disconnected()
    await server.restart()

    # Every seat resumes from what it had seen and gets exactly the rest.
    record = (await api.export(keys.id))["events"]
    for seat in (m, a, b):
        await seat.reconnect()
        assert seat.snapshots[-1]["epoch"] == epoch and seat.snapshots[-1]["reset"] is False
        # The seat's own count: a partner does not see a mediator's note, even
        # as a number.
        assert seat.snapshots[-1]["seq"] == len(visible_to(seat.seat, record))
    assert_consecutive(record, head=head)
    for seat_name, seq, kind in acked:
        event = logged(record, seat_name, seq)
        assert event["actor"] == seat_name, (seat_name, seq, kind, event)
    assert count_type(record, "note.added") == 66
    assert count_type(record, "floor.requested") == 2 * 34
    assert count_type(record, "floor.withdrawn") == 2 * 33
    for seat in (m, a, b):
        seat.check()
        assert seat.events == visible_to(seat.seat, record), seat.seat
    # A fresh join from 0 after the crash is the whole record.
    fresh = await seats.open(keys, "mediator")
    assert fresh.events == record and fresh.snapshots[-1]["epoch"] == epoch


async def test_commands_in_flight_at_a_crash_are_kept_once_when_retried(
    server: Server, seats: Seats, api: Api
) -> None:
    keys = await server.create_session("open-floor")
    m = await seats.open(keys, "mediator")
    head = await start_dialogue(m)
    cids = [f"burst-{i}" for i in range(60)]
    acks: dict[str, dict[str, Any]] = {}

    async def note(cid: str) -> None:
        with contextlib.suppress(Exception):  # lost in the crash: outcome unknown
            acks[cid] = await m.emit("command", {"cid": cid, "type": "note", "text": cid}, 3)

    burst = [asyncio.create_task(note(cid)) for cid in cids]
    await m.until(lambda _: sum(1 for ack in acks.values() if ack["ok"]) >= 15)
    server.kill()  # mid-burst
    await m.wait_disconnected()
    for task in burst:
        task.cancel()
    await asyncio.gather(*burst, return_exceptions=True)
    kept = {cid: ack for cid, ack in acks.items() if ack.get("ok")}
    assert len(kept) >= 15

    await server.restart()
    await m.reconnect()
    # Retrying every cid, answered or not, keeps each command exactly once.
    for cid in cids:
        ack = await m.cmd("note", cid=cid, text=cid)
        assert ack["ok"], ack
        if cid in kept:
            assert ack == kept[cid]
    record = (await api.export(keys.id))["events"]
    assert_consecutive(record)
    notes = [e["text"] for e in record if e["type"] == "note.added"]
    assert sorted(notes) == sorted(cids)
    assert len(record) == head + len(cids)
    await m.until(lambda events: len(events) == len(record))
    m.check()
    assert m.events == record


# --- idempotency -----------------------------------------------------------------------------


async def test_a_retried_cid_returns_the_first_ack_and_appends_once(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("open-floor")
    m, a, b = await seats.trio(keys)
    admit = await m.cmd("admit", cid="admit-a", seat="partner_a")
    await m.ok("admit", seat="partner_b")
    head = await m.ok("phase.advance")

    note = await m.cmd("note", cid="n1", text="Once.")
    assert note == {"ok": True, "seq": head + 1}
    assert await m.cmd("note", cid="n1", text="Once.") == note
    # A partner's seq is its own count: the mediator's note is not in it.
    request = await a.cmd("floor.request", cid="r1")
    assert request == {"ok": True, "seq": head + 1}
    assert await a.cmd("floor.request", cid="r1") == request  # not "already_queued"
    # The same cid from another seat is another command.
    assert await b.cmd("floor.request", cid="r1") == {"ok": True, "seq": head + 2}
    # Concurrent retries: one append, one answer.
    same = await asyncio.gather(*(m.cmd("note", cid="n2", text="Twice?") for _ in range(8)))
    assert same == [{"ok": True, "seq": head + 4}] * 8
    # A refusal is the command's result too: a retry repeats it, though the state moved on.
    refusal = await a.cmd("floor.request", cid="r2")
    assert refusal["error"]["code"] == "already_queued"
    await a.ok("floor.withdraw")
    assert await a.cmd("floor.request", cid="r2") == refusal
    head += 5
    await b.until(lambda events: events[-1]["seq"] == head - 2)  # all but the two notes
    assert count_type(m.events, "note.added") == 2
    assert len(m.events) == head

    # After a crash the first results still stand, and nothing is appended.
    server.kill()
    await server.restart()
    for seat in (m, a, b):
        await seat.reconnect()
    assert await m.cmd("note", cid="n1", text="Once.") == note
    assert await m.cmd("note", cid="n2", text="Twice?") == same[0]
    assert await a.cmd("floor.request", cid="r1") == request  # decided again, then found
    assert await m.cmd("admit", cid="admit-a", seat="partner_a") == admit  # refused, then found
    await asyncio.sleep(0.1)
    assert m.last_seq == head and len(m.events) == head
    fresh = await seats.open(keys, "partner_b")
    assert fresh.snapshots[-1]["seq"] == head - 2
    for seat in (m, a):
        seat.check()


# --- timers (DESIGN.md: "Timers live in the session state as deadlines; the hub fires them") ---


@pytest.mark.parametrize("down_s", [0.0, 1.6], ids=["restart-before-due", "restart-after-due"])
async def test_a_time_out_ends_after_a_crash_without_any_client(
    server: Server, seats: Seats, api: Api, down_s: float
) -> None:
    keys = await server.create_session("quick-dialogue")
    m, a, b = await seats.trio(keys)
    await start_dialogue(m)
    await a.ok("statement", text="I need us to talk about money.")
    # The ack names the last event partner_b may see (timeout.started); the
    # mediator-only timeout.reason after it is the call's last event.
    called = await b.ok("timeout.call", reason="My heart is racing.") + 1
    started = of_type(m.events, "timeout.started")
    assert len(started) == 1 and started[0]["ends_at"] - started[0]["started_at"] == pytest.approx(
        1.2
    )
    for seat in (m, a, b):
        await seat.close()  # nobody is connected from here on
    server.kill()
    await asyncio.sleep(down_s)
    await server.restart()

    deadline = time.monotonic() + 5
    while True:
        record = (await api.export(keys.id))["events"]
        if record[-1]["type"] == "debrief.started":
            break
        assert time.monotonic() < deadline, [e["type"] for e in record]
        await asyncio.sleep(0.1)
    assert [(e["type"], e["actor"]) for e in record[called:]] == [
        ("timer.fired", "system"),
        ("timeout.ended", "system"),
        ("debrief.started", "system"),
    ]
    assert record[called + 1]["by"] == "system" and record[called + 2]["after"] == "time_out"
    assert record[called]["at"] >= started[0]["ends_at"]
    assert_consecutive(record)
    # A timer fires once: nothing more happens, and a seat finds the debrief waiting.
    await asyncio.sleep(0.3)
    assert len((await api.export(keys.id))["events"]) == len(record)
    back = await seats.open(keys, "partner_b")
    assert back.snapshots[-1]["state"]["overlay"]["kind"] == "debrief"
    assert back.snapshots[-1]["state"]["timers"] == []
    assert back.events == visible_to("partner_b", record)


# --- concurrency --------------------------------------------------------------------------------


def _mixed_commands(rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """About a hundred commands of every kind a chaired dialogue sees, shuffled."""
    commands: list[tuple[str, dict[str, Any]]] = []
    commands += [("mediator", {"type": "note", "text": f"Note {i}."}) for i in range(20)]
    for i in range(8):
        seat = rng.choice(["partner_a", "partner_b"])
        commands.append(("mediator", {"type": "floor.grant", "seat": seat, "reason": f"g{i}"}))
        commands.append(("mediator", {"type": "floor.revoke", "reason": f"r{i}"}))
    commands += [("mediator", {"type": "paraphrase.waive", "reason": "go on"})] * 4
    for partner in ("partner_a", "partner_b"):
        commands += [(partner, {"type": "floor.request"})] * 8
        commands += [(partner, {"type": "floor.withdraw"})] * 4
        commands += [(partner, {"type": "statement", "text": f"{partner} says."})] * 5
        commands += [(partner, {"type": "paraphrase", "text": "You say."})] * 5
        commands += [(partner, {"type": "paraphrase.confirm"})] * 3
        commands += [(partner, {"type": "paraphrase.correct", "note": "No."})] * 2
        commands += [(partner, {"type": "yield"})] * 3
    rng.shuffle(commands)
    return commands


async def test_concurrent_commands_from_three_seats_make_one_consistent_record(
    server: Server, seats: Seats, api: Api
) -> None:
    keys = await server.create_session("open-floor")
    m, a, b = await seats.trio(keys)
    by_name = {"mediator": m, "partner_a": a, "partner_b": b}
    await start_dialogue(m)
    commands = _mixed_commands(random.Random(8))
    assert len(commands) == 100
    acks = await asyncio.gather(
        *(by_name[seat].cmd(cid=uuid.uuid4().hex, **fields) for seat, fields in commands)
    )
    accepted = [
        (seat, ack["seq"]) for (seat, _), ack in zip(commands, acks, strict=True) if ack["ok"]
    ]
    refused = {ack["error"]["code"] for ack in acks if not ack["ok"]}
    assert refused <= set(CODES), refused  # only the core's refusals: no conflict, no crash
    assert len(accepted) > 40
    assert len(set(accepted)) == len(accepted)

    export = await api.export(keys.id)
    record = export["events"]
    assert_consecutive(record)
    # Each ack names, in its seat's own numbering, an event of that seat's command.
    logged_at = [logged(record, seat_name, seq) for seat_name, seq in accepted]
    assert [e["actor"] for e in logged_at] == [seat_name for seat_name, _ in accepted]
    assert len({e["seq"] for e in logged_at}) == len(accepted)
    assert max(e["seq"] for e in logged_at) == len(record)
    for seat in (m, a, b):
        share = visible_to(seat.seat, record)
        await seat.until(lambda events, share=share: len(events) >= len(share))
        seat.check()
        assert seat.events == share, seat.seat
        # The last batch carried the seat's state after the whole record: what it
        # may do and its prompt, as the core computes them (one source of permission).
        expected = folded_update(export["session"]["playbook_source"], record, seat.seat)
        assert seat.states[-1] == expected, seat.seat
    # The state every seat is shown is the fold of the record (invariant 6).
    source = export["session"]["playbook_source"]
    for name in SEATS:
        fresh = await seats.open(keys, name)
        assert fresh.snapshots[-1]["state"] == folded_view(source, record, name), name


async def test_a_start_loads_only_the_sessions_with_a_deadline(
    server: Server, seats: Seats, api: Api
) -> None:
    busy = await server.create_session("speaker-listener")  # 20-minute time-outs
    quiet = [await server.create_session("speaker-listener") for _ in range(3)]
    m, _a, b = await seats.trio(busy)
    await start_dialogue(m)
    await b.ok("timeout.call")  # a deadline 20 minutes away
    for keys in quiet:  # sessions with history but no timer, one of them ended
        m2 = await seats.open(keys, "mediator")
        await start_dialogue(m2)
    await m2.ok("session.end", reason="Done for today.")
    for seat in seats.opened:
        await seat.close()
    server.kill()
    await server.restart()
    # Only the session with a timer was read from disk; the others stay there
    # until someone joins them.
    assert "start: 1 session(s) with deadlines loaded" in server.log()
    assert await server.metric("accord_live_sessions") == 1
    back = await seats.open(busy, "partner_b")
    assert back.snapshots[-1]["state"]["overlay"]["kind"] == "time_out"
