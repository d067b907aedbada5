"""accord.hub.server over the wire: the handshake, join and resume, command
intake and its refusals, one live connection per seat, presence, revocation.

Every test talks to a real `accord serve` process with real Socket.IO clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import itsdangerous
import msgpack
import pytest
import socketio
from hubtest import (
    ACCORD,
    Api,
    Seat,
    Seats,
    Server,
    SessionKeys,
    count_type,
    of_type,
    start_dialogue,
    visible_to,
    write_protocols,
)

from accord.api import service
from accord.security import issue_invite_token
from accord.settings import Settings
from accord.store.base import Invite
from accord.store.sqlite import SqliteStore

# --- join and resume -------------------------------------------------------------------


async def test_a_cut_seat_resumes_with_exactly_what_it_missed(
    server: Server, seats: Seats, api: Api
) -> None:
    keys = await server.create_session("quick-dialogue")
    m, a, b = await seats.trio(keys)
    await start_dialogue(m)

    async def drive(first: int, last: int) -> None:
        """partner_a and the mediator go on without partner_b's paraphrases."""
        for i in range(first, last):
            await a.ok("statement", text=f"Statement {i}.")
            await m.ok("note", text=f"B is away ({i}).")
            await m.ok("paraphrase.waive", reason=f"B cannot paraphrase now ({i}).")

    await drive(0, 2)
    await b.until(lambda events: count_type(events, "paraphrase.waived") == 2)
    driver = asyncio.create_task(drive(2, 22))
    await b.until(lambda events: count_type(events, "statement.made") >= 6)
    await b.cut()  # mid-drive: the server may be emitting to it right now
    assert not driver.done()
    cut_at = b.last_seq
    await m.until(lambda _: ("partner_b", "reconnecting") in presence_of(m))

    # Back while the drive (most likely) goes on: the join races live commands.
    batches = len(b.batches)
    ack = await b.reconnect()
    assert ack["epoch"] == b.epoch and b.snapshots[-1]["reset"] is False
    missed = b.batches[batches]  # the join's batch: what happened while away
    await driver
    await b.until(lambda events: count_type(events, "paraphrase.waived") == 22)
    if missed:
        assert missed[0]["seq"] > cut_at
    # And partner_b takes part again.
    await a.ok("statement", text="Are you back?")
    await b.until(lambda events: count_type(events, "statement.made") == 23)
    await b.ok("paraphrase", text="You ask whether I am back.")
    await a.ok("paraphrase.confirm")
    await m.until(lambda events: count_type(events, "paraphrase.confirmed") == 1)
    await b.until(lambda events: count_type(events, "paraphrase.confirmed") == 1)

    record = (await api.export(keys.id))["events"]
    assert m.events == record
    for seat in (m, a, b):
        seat.check()  # in order, no duplicate across the two connections
        assert seat.events == visible_to(seat.seat, record), seat.seat
    assert b.connections == 2
    assert "note.added" not in b.types()

    # A fresh join from 0 (or with no last_seq) is the whole share of the record.
    for join in ({"last_seq": 0, "epoch": b.epoch}, {}):
        fresh = seats.new(keys.tokens["partner_b"], "partner_b")
        await fresh.connect()
        await fresh.join(**join)
        assert fresh.events == visible_to("partner_b", record)
        # The seat's own count: the mediator's notes are not in it.
        assert fresh.snapshots[-1]["seq"] == len(visible_to("partner_b", record)) < len(record)
        await fresh.close()
    # Resuming from the middle (of partner_a's own numbering) gets the rest, and only the rest.
    mine = visible_to("partner_a", record)
    middle = len(mine) // 2
    late = seats.new(keys.tokens["partner_a"], "partner_a")
    await late.connect()
    await late.join(last_seq=middle, epoch=b.epoch)
    assert late.events == mine[middle:]
    # Up to date: nothing at all.
    await late.reconnect()
    assert late.batches[-1] == [] and late.snapshots[-1]["reset"] is False


async def test_an_unknown_epoch_or_a_seq_beyond_the_head_starts_over(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("quick-dialogue")
    m = await seats.open(keys, "mediator")
    head = await start_dialogue(m)
    for join in ({"last_seq": 2, "epoch": "0123456789abcdef"}, {"last_seq": head + 50}):
        seat = seats.new(keys.tokens["partner_a"], "partner_a")
        await seat.connect()
        ack = await seat.join(**join)
        assert ack == {"ok": True, "seq": head, "epoch": m.epoch}
        assert seat.snapshots[-1]["reset"] is True
        assert seat.events == visible_to("partner_a", m.events)
        await seat.close()


# --- command intake --------------------------------------------------------------------

#: (what is wrong, the command's fields beside a fresh cid, the expected code)
BAD_COMMANDS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown type", {"type": "dance"}, "invalid_command"),
    ("no type", {"text": "hello"}, "invalid_command"),
    ("type not a string", {"type": 7}, "invalid_command"),
    ("wrong field type", {"type": "note", "text": 5}, "invalid_command"),
    ("missing field", {"type": "note"}, "invalid_command"),
    ("not a seat", {"type": "admit", "seat": "partner_c"}, "invalid_command"),
    ("extra field", {"type": "note", "text": "x", "mood": "sad"}, "invalid_command"),
    ("empty text", {"type": "note", "text": ""}, "invalid_command"),
    ("text too long", {"type": "note", "text": "x" * 4001}, "invalid_command"),
    ("nested junk", {"type": "note", "text": {"$gt": ""}}, "invalid_command"),
    ("a NaN", {"type": "timeout.start", "minutes": float("nan")}, "invalid_command"),
    ("the system's command", {"type": "timer.fire", "timer": "t1"}, "forbidden_for_seat"),
    ("a partner's act", {"type": "statement", "text": "I"}, "forbidden_for_seat"),
    ("over 64 KiB", {"type": "note", "text": "x" * 70_000}, "frame_too_large"),
    ("another session", {"type": "note", "text": "x", "session": "elsewhere"}, "wrong_session"),
]

#: Not even a map with a cid.
BAD_FRAMES: list[tuple[str, Any]] = [
    ("no cid", {"type": "note", "text": "x"}),
    ("cid not a string", {"cid": 12, "type": "note", "text": "x"}),
    ("empty cid", {"cid": "", "type": "note", "text": "x"}),
    ("cid too long", {"cid": "c" * 65, "type": "note", "text": "x"}),
    ("a string", "note"),
    ("a number", 42),
    ("a list", ["note", "x"]),
    ("nil", None),
    ("bytes", b"\x81\xa4type\xa4note"),
]

#: What a partner may never send (forbidden_for_seat).
MEDIATOR_ONLY: list[dict[str, Any]] = [
    {"type": "admit", "seat": "partner_b"},
    {"type": "phase.advance", "reason": "I decide"},
    {"type": "floor.grant", "seat": "partner_a", "reason": "me"},
    {"type": "paraphrase.waive", "reason": "no"},
    {"type": "note", "text": "private?"},
    {"type": "timeout.end", "reason": "enough"},
    {"type": "session.end", "reason": "bye"},
    {"type": "debrief.skip", "reason": "skip"},
]


async def raw_call(seat: Seat, frame: bytes) -> Any:
    """Send a raw Socket.IO frame whose packet id (if any) is 0; the ack's data, or None."""
    client = seat.client
    assert client is not None
    answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    ack_id = client._generate_ack_id("/", lambda *data: answered.set_result(list(data)))
    try:  # ids count up per client: give the frame this one
        decoded = msgpack.unpackb(frame, strict_map_key=False)
    except ValueError:
        decoded = None  # garbage: it carries no id at all
    if isinstance(decoded, dict):
        decoded["id"] = ack_id
        frame = msgpack.packb(decoded)
    await client.eio.send(frame)
    try:
        return await asyncio.wait_for(answered, 1.0)
    except TimeoutError:
        return None


async def test_bad_commands_are_refused_and_change_nothing(server: Server, seats: Seats) -> None:
    keys = await server.create_session("open-floor")
    m, a, b = await seats.trio(keys)
    head = await start_dialogue(m)
    await a.ok("floor.request")

    for why, fields, code in BAD_COMMANDS:
        ack = await m.send({"cid": uuid.uuid4().hex, **fields})
        assert ack["ok"] is False and ack["error"]["code"] == code, (why, ack)
        assert isinstance(ack["error"]["message"], str) and ack["error"]["message"], why
    for why, frame in BAD_FRAMES:
        ack = await m.send(frame)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_command", (why, ack)
    for fields in MEDIATOR_ONLY:
        ack = await a.send({"cid": uuid.uuid4().hex, **fields})
        assert ack["error"]["code"] == "forbidden_for_seat", (fields, ack)
    ack = await b.send({"cid": "x", "type": "debrief.answer", "rating": 11})
    assert ack["error"]["code"] == "invalid_command"
    # Frames msgpack refuses to decode (a map with integer keys; bare garbage)
    # are answered too, when their ack id can be recovered, and never crash.
    for frame in (
        msgpack.packb({"type": 2, "nsp": "/", "id": 0, "data": ["command", {1: "x"}]}),
        b"\xc1\xc1garbage",
    ):
        ack = await raw_call(m, frame)
        if frame.startswith(b"\xc1"):
            assert ack is None  # no id to answer: ignored quietly
        else:
            assert ack is not None and ack[0]["error"]["code"] == "invalid_command", ack

    # Nothing was appended and nobody heard anything.
    await asyncio.sleep(0.1)
    assert m.last_seq == a.last_seq == b.last_seq == head + 1
    # The connections are still good: the next valid command of each is accepted.
    # (The mediator's note is not in the partners' count of what they see.)
    assert await m.ok("note", text="Still here.") == head + 2
    assert await a.ok("floor.withdraw") == head + 2
    assert await b.ok("floor.request") == head + 3
    # The right session named explicitly is fine.
    assert (await m.send({"cid": "s1", "session": keys.id, "type": "note", "text": "ok"}))["ok"]
    for seat in (m, a, b):
        seat.check()


async def test_join_refuses_bad_arguments_and_commands_wait_for_join(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("open-floor")
    m = await seats.open(keys, "mediator")
    head = await start_dialogue(m)
    a = await seats.open(keys, "partner_a", join=False)
    ack = await a.send({"cid": "early", "type": "floor.request"})
    assert ack["error"]["code"] == "not_joined"
    assert a.events == [] and a.snapshots == []
    for bad in ({"last_seq": "3"}, {"last_seq": -1}, {"last_seq": 1.5}, {"epoch": 5}):
        ack = await a.emit("join", bad)
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_command", (bad, ack)
    assert a.snapshots == []
    await a.join()
    # The early command was refused, not remembered: the same cid now runs.
    assert (await a.send({"cid": "early", "type": "floor.request"})) == {
        "ok": True,
        "seq": head + 1,
    }


async def test_a_flood_is_limited_but_the_safe_signal_never_is(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("open-floor")
    m, a, b = await seats.trio(keys)
    head = await start_dialogue(m)
    flood = [b.cmd("yield", retry_rate_limited=False) for _ in range(80)]
    *acks, safe = await asyncio.gather(*flood, b.cmd("timeout.call", reason="Too much."))
    codes = [ack["error"]["code"] for ack in acks]
    assert set(codes) == {"no_floor", "rate_limited"}, codes
    # The burst is 40: past it the flood is limited (a token refills every
    # 50 ms, so on a slow machine one of the last may still pass).
    assert codes[-20:].count("rate_limited") >= 15, codes
    # Sent while the connection is limited, the time-out goes through, and again.
    # (Its ack names timeout.started: the reason after it is the mediator's.)
    assert safe == {"ok": True, "seq": head + 1}
    # Again at once: acknowledged, and not recorded twice (the signal stands).
    ack = await b.send({"cid": uuid.uuid4().hex, "type": "timeout.call"})
    assert ack == {"ok": True, "seq": head + 1}
    await m.until(
        lambda events: (
            [e["type"] for e in events[head:]][:2] == ["timeout.started", "timeout.reason"]
        )
    )
    # Other seats are not limited by partner_b's flood (the core answers them).
    ack = await a.cmd("floor.request", retry_rate_limited=False)
    assert ack["error"]["code"] == "in_time_out"
    assert await m.ok("note", text="B flooded the session.") == head + 3


# --- connecting ------------------------------------------------------------------------


def _tampered(token: str) -> str:
    """The same claims for another seat, keeping the original signature."""
    _, claims = itsdangerous.URLSafeSerializer(b"?", salt="accord.invite").loads_unsafe(token)
    claims["seat"] = "mediator"
    forged = itsdangerous.URLSafeSerializer(b"any key", salt="accord.invite").dumps(claims)
    return f"{forged.rpartition('.')[0]}.{token.rpartition('.')[2]}"


async def _expired_token(server: Server, keys: SessionKeys) -> str:
    """A real invite in the server's database that expired a few seconds ago."""
    settings = Settings(data_dir=server.data_dir, protocols_dir=server.protocols_dir)
    store = await SqliteStore.open(settings.database_path)
    try:
        session = await store.get_session(keys.id)
        assert session is not None
        _, token, _ = await service.create_invite(
            settings, store, session, "partner_a", 1, time.time() - 5
        )
    finally:
        await store.close()
    return token


async def _refused(seats: Seats, token: str | None) -> dict[str, Any]:
    seat = seats.new(token, "partner_a")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await seat.connect()
    assert isinstance(seat.connect_error, dict), seat.connect_error
    assert set(seat.connect_error) == {"code", "message"}
    return seat.connect_error


async def test_connect_refusals_say_why(server: Server, seats: Seats, api: Api) -> None:
    keys = await server.create_session("quick-dialogue")
    real = keys.tokens["partner_a"]
    now = time.time()
    other_secret = issue_invite_token(
        os.urandom(32),
        Invite(keys.invites["partner_a"], keys.id, "partner_a", now, now + 3600, None),
    )
    flipped = real[:-2] + ("A" if real[-2] != "A" else "B") + real[-1]
    cases: list[tuple[str | None, str]] = [
        (None, "token_missing"),
        ("", "token_missing"),
        ("garbage", "token_invalid"),
        ("a.b.c", "token_invalid"),
        (other_secret, "token_invalid"),
        (flipped, "token_invalid"),
        (_tampered(real), "token_invalid"),
        (await _expired_token(server, keys), "token_expired"),
    ]
    for token, code in cases:
        assert (await _refused(seats, token))["code"] == code, token
    # A browser page on a foreign origin is refused before the token is even read.
    foreign = seats.new(real, "partner_a")
    foreign.headers = {"Origin": "https://evil.example"}
    with pytest.raises(socketio.exceptions.ConnectionError):
        await foreign.connect()
    # A refused connection leaves no trace, and the real token works (from the server's origin).
    a = seats.new(real, "partner_a")
    a.headers = {"Origin": server.url}
    await a.connect()
    await a.join()
    assert a.snapshots[-1]["seq"] == 0

    await api.revoke(keys.id, keys.invites["partner_b"])
    assert (await _refused(seats, keys.tokens["partner_b"]))["code"] == "token_revoked"


async def test_revoking_a_connected_seat_disconnects_it(
    server: Server, seats: Seats, api: Api
) -> None:
    keys = await server.create_session("quick-dialogue")
    m, a, b = await seats.trio(keys)
    head = await start_dialogue(m)
    await api.revoke(keys.id, keys.invites["partner_b"])
    await b.wait_disconnected()
    assert [n["code"] for n in b.notices] == ["token_revoked"]
    # A revoked seat is gone at once, not briefly away: it cannot come back.
    await m.until(lambda _: ("partner_b", "left") in presence_of(m))
    assert ("partner_b", "reconnecting") not in presence_of(m)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await b.connect()
    assert b.connect_error["code"] == "token_revoked"
    # The others are untouched, and a new invite lets partner_b back in.
    assert a.connected and await a.ok("statement", text="Hello?") == head + 1
    invite = await api.invite(keys.id, "partner_b")
    back = seats.new(invite["token"], "partner_b")
    await back.connect()
    await back.join()
    assert back.events == visible_to("partner_b", m.events)


# --- one live connection per seat, presence ------------------------------------------------


def presence_of(seat: Seat) -> list[tuple[str, str]]:
    return [(p["seat"], p["status"]) for p in seat.presence]


async def test_the_mediator_hears_of_partners_refusals_and_nobody_else_does(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("speaker-listener")
    m, a, b = await seats.trio(keys)
    head = await start_dialogue(m)
    for _ in range(2):
        command = {"cid": uuid.uuid4().hex, "type": "statement", "text": "Me first."}
        ack = await b.send(command)
        assert ack["error"]["code"] == "not_your_turn"
        # A retry of the same command (same cid) is answered again, not counted again.
        assert await b.send(command) == ack
    ack = await b.send({"cid": uuid.uuid4().hex, "type": "statement", "text": 5})
    assert ack["error"]["code"] == "invalid_command"  # malformed, not pushing: not counted
    await m.until(lambda _: len(m.refusals) == 2)
    assert {(r["seat"], r["type"], r["code"]) for r in m.refusals} == {
        ("partner_b", "statement", "not_your_turn")
    }
    assert a.refusals == [] and b.refusals == []
    assert m.last_seq == head  # refusals are not part of the record
    # A mediator joining again gets the counts in its snapshot; partners never do.
    m2 = await seats.open(keys, "mediator")
    assert m2.snapshots[-1]["refusals"] == {"partner_b": {"not_your_turn": 2}}
    assert "refusals" not in b.snapshots[-1]
    assert abs(m2.snapshots[-1]["now"] - time.time()) < 5
    # The counts are kept in the store: a restart does not reset the monitor.
    await server.restart()
    m3 = await seats.open(keys, "mediator")
    assert m3.snapshots[-1]["refusals"] == {"partner_b": {"not_your_turn": 2}}


async def test_a_newer_connection_takes_the_seat_over(server: Server, seats: Seats) -> None:
    keys = await server.create_session("quick-dialogue")
    m, a, b = await seats.trio(keys)
    head = await start_dialogue(m)
    a2 = await seats.open(keys, "partner_a")
    await a.wait_disconnected()
    assert [n["code"] for n in a.notices] == ["superseded"]
    assert isinstance(a.notices[0]["message"], str)
    assert a2.events == visible_to("partner_a", m.events)
    assert await a2.ok("statement", text="From my phone now.") == head + 1
    await b.until(lambda events: events[-1]["seq"] == head + 1)
    # The take-over is a join, not a departure.
    assert [s for s in presence_of(m) if s[0] == "partner_a"] == [
        ("partner_a", "joined"),
        ("partner_a", "joined"),
    ]
    # The old connection can come back and take the seat again.
    await a.reconnect()
    await a2.wait_disconnected()
    assert [n["code"] for n in a2.notices] == ["superseded"]
    assert a.events == visible_to("partner_a", m.events)


@pytest.mark.parametrize("server_env", [{"ACCORD_GRACE_PERIOD_S": "1.0"}])
async def test_presence_follows_a_dropped_seat_and_appends_nothing(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("quick-dialogue")
    m, a, b = await seats.trio(keys)
    head = await start_dialogue(m)

    await b.cut()  # gone for good: reconnecting, then left after the grace period
    await m.until(lambda _: ("partner_b", "left") in presence_of(m), timeout=3)
    await a.cut()  # back within the grace period: no "left"
    await a.reconnect()
    await asyncio.sleep(1.3)
    await b.reconnect()
    await m.until(lambda _: presence_of(m).count(("partner_b", "joined")) == 2)
    assert [s for s in presence_of(m) if s[0] == "partner_b"] == [
        ("partner_b", "joined"),
        ("partner_b", "reconnecting"),
        ("partner_b", "left"),
        ("partner_b", "joined"),
    ]
    assert [s for s in presence_of(m) if s[0] == "partner_a"] == [
        ("partner_a", "joined"),
        ("partner_a", "reconnecting"),
        ("partner_a", "joined"),
    ]
    assert b.snapshots[-1]["presence"] == {
        "mediator": "joined",
        "partner_a": "joined",
        "partner_b": "joined",
    }
    # Presence is not part of the record.
    assert m.last_seq == head and len(m.events) == head
    assert b.snapshots[-1]["seq"] == head and a.snapshots[-1]["seq"] == head
    assert await m.ok("note", text="Everyone is back.") == head + 1


async def test_a_session_everyone_left_is_reloaded_on_the_next_join(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("quick-dialogue")
    m, a, b = await seats.trio(keys)
    head = await start_dialogue(m)
    await a.ok("statement", text="Before the break.")
    state = m.snapshots[-1]
    assert await server.metric("accord_live_sessions") == 1
    for seat in (m, a, b):
        await seat.close()
    # After the 0.5 s grace period the session leaves the server's memory.
    deadline = time.monotonic() + 5
    while await server.metric("accord_live_sessions") != 0:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    assert await server.metric("accord_connections") == 0
    await m.reconnect()
    assert m.snapshots[-1]["seq"] == head + 1 and m.snapshots[-1]["epoch"] == state["epoch"]
    assert m.batches[-1] == []
    await b.reconnect()
    assert b.snapshots[-1]["state"]["phase"]["stage"] == "awaiting_paraphrase"
    assert await b.ok("paraphrase", text="Before the break, you said.") == head + 2
    assert of_type(m.events, "paraphrase.offered")[-1]["seq"] == head + 2
    await m.until(lambda events: events[-1]["seq"] == head + 2)


async def test_a_flood_of_safe_signals_is_answered_without_filling_the_record(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("speaker-listener")  # 20-minute time-outs
    m, a, b = await seats.trio(keys)
    await start_dialogue(m)
    await a.ok("timeout.call", reason="I am flooded.")
    head = await b.ok("timeout.call")  # the other partner's signal is recorded
    # A partner tapping the button again and again: every tap is acknowledged
    # at once (never refused, never limited), and the record does not grow.
    for _ in range(60):
        ack = await a.send({"cid": uuid.uuid4().hex, "type": "timeout.call"})
        assert ack == {"ok": True, "seq": head}
    # New reasons are kept, paced like any command: a person typing them one
    # after another waits at most a moment and is never refused...
    codes = []
    for i in range(50):
        ack = await a.send({"cid": uuid.uuid4().hex, "type": "timeout.call", "reason": f"{i}"})
        codes.append("ok" if ack["ok"] else ack["error"]["code"])
    assert codes == ["ok"] * 50
    # ...while a client firing a hundred at once has the excess refused.
    flood = await asyncio.gather(
        *(
            a.send({"cid": uuid.uuid4().hex, "type": "timeout.call", "reason": f"x{i}"})
            for i in range(100)
        )
    )
    codes += ["ok" if ack["ok"] else ack["error"]["code"] for ack in flood]
    assert set(codes[50:]) == {"ok", "rate_limited"}
    await m.until(lambda events: count_type(events, "timeout.reason") >= 1 + codes.count("ok"))
    assert count_type(m.events, "timeout.started") == 1
    assert count_type(m.events, "timeout.signalled") == 1 + codes.count("ok")
    assert count_type(b.events, "timeout.reason") == 0  # reasons stay the mediator's
    # The plain signal is still never limited.
    assert (await a.send({"cid": uuid.uuid4().hex, "type": "timeout.call"}))["ok"] is True


async def test_a_coalesced_signal_is_remembered_and_belongs_to_its_time_out(
    server: Server, seats: Seats
) -> None:
    keys = await server.create_session("speaker-listener")  # 20-minute time-outs
    m, a, _b = await seats.trio(keys)
    await start_dialogue(m)
    await a.ok("timeout.call")
    again = {"cid": uuid.uuid4().hex, "type": "timeout.call"}
    first = await a.send(again)  # coalesced: nothing recorded
    assert first["ok"] is True
    await m.ok("timeout.end")
    await m.ok("debrief.skip", reason="Both calm.")
    # Its ack was lost, say, and the page retries after the time-out ended:
    # the same answer, not a second time-out.
    assert await a.send(again) == first
    # A new time-out: the same partner's signal in it is recorded, however soon.
    await m.ok("timeout.start")
    seq = await a.ok("timeout.call")
    await m.until(lambda events: events[-1]["seq"] >= seq)
    assert count_type(m.events, "timeout.started") == 2
    assert count_type(m.events, "timeout.signalled") == 1
    assert of_type(a.events, "timeout.signalled")[0]["seq"] == seq


async def test_a_running_server_says_where_it_runs_for_the_shell(tmp_path: Path) -> None:
    protocols = write_protocols(tmp_path / "protocols")
    server = Server(tmp_path / "data", protocols, tmp_path / "server.log")
    await server.start()
    try:
        address = json.loads((server.data_dir / "server.json").read_text())
        assert address["public_url"] == server.url
        # The shell without any setting of its own prints links to that server.
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
        env["ACCORD_PROTOCOLS_DIR"] = str(protocols)
        create = ["session", "create", "--data-dir", str(server.data_dir)]
        done = subprocess.run(
            [str(ACCORD), *create, "--playbook", "check-in"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.stdout.count(f"{server.url}/join#") == 3, done.stdout + done.stderr
    finally:
        server.stop()
    assert not (server.data_dir / "server.json").exists()
