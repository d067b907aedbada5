"""Distributed mode with real processes: one redis-server (AOF, fsync always) and
three `accord serve --redis` nodes, each its own subprocess, and Socket.IO seats
spread over them (DESIGN.md, "Storage and scale"; docs/SCALING.md).

What must hold whatever node a seat uses, and whatever dies: every seat gets
its events in order, without gap or duplicate (invariant 8); the log stays
consecutive and replays to the state every node holds (invariant 6); a
deadline fires on time even if the node that set it is gone; and a Redis
outage answers `unavailable` at once and loses nothing acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import socketio
from hubtest import (
    MEDIATOR_EMAIL,
    PASSWORD,
    Api,
    Seat,
    Server,
    SessionKeys,
    assert_consecutive,
    count_type,
    folded_view,
    free_port,
    logged,
    of_type,
    start_dialogue,
    visible_to,
    write_protocols,
)

from accord.core import fold
from accord.core.codec import decode_event
from accord.core.evolve import evolve
from accord.core.playbook import load_playbook
from accord.core.state import DialoguePhase
from accord.hub.distributed import NODE_TTL_S, TIMER_GRACE_S, TIMER_POLL_S
from accord.hub.wire import record_to_wire
from accord.store.redis import RedisStore

#: Acts of the dialogue itself, which a time-out or a pending debrief stops (invariant 3).
DIALOGUE_ACTS = {
    "statement.made",
    "paraphrase.offered",
    "paraphrase.confirmed",
    "paraphrase.corrected",
    "question.asked",
    "question.answered",
    "floor.yielded",
    "reflection.offered",
}
#: Answers after which the protocol says: retry with the same cid.
RETRY_CODES = ("unavailable", "conflict", "internal_error")


class Cluster:
    """Three nodes over one Redis, sharing a secret key; seats opened on any node."""

    def __init__(self, tmp_path: Path, redis: Any, protocols_dir: Path) -> None:
        self.redis = redis  # tests/conftest.py's RedisServer
        self.redis_url: str = redis.url
        env = {"ACCORD_REDIS_URL": redis.url, "ACCORD_SECRET_KEY_FILE": str(tmp_path / "key")}
        self.nodes = [
            Server(tmp_path / f"node-{i}", protocols_dir, tmp_path / f"node-{i}.log", **env)
            for i in range(3)
        ]
        self.seats: list[Seat] = []
        self._store: RedisStore | None = None

    async def start(self) -> None:
        await asyncio.gather(*(node.start() for node in self.nodes))

    async def create_session(self) -> SessionKeys:
        """`accord session create` (the CLI, on Redis through ACCORD_REDIS_URL)."""
        return await self.nodes[0].create_session("quick-dialogue")

    async def seat(self, node: int, keys: SessionKeys, seat: str) -> Seat:
        client = Seat(self.nodes[node].url, keys.tokens[seat], seat)
        self.seats.append(client)
        await client.connect()
        await client.join()
        return client

    async def move(self, seat: Seat, node: int) -> dict[str, Any]:
        """Reconnect a seat to another node and resume from its last seq and epoch."""
        seat.url = self.nodes[node].url
        return await seat.reconnect()

    async def store(self) -> RedisStore:
        """The test's own view of Redis."""
        if self._store is None:
            self._store = await RedisStore.open(self.redis_url)
        return self._store

    async def record(self, session_id: str) -> list[dict[str, Any]]:
        """The session's whole log, as the wire shows events to the mediator
        (who sees every event: its seqs are the log's)."""
        return [record_to_wire(r, r.seq) for r in await (await self.store()).read(session_id)]

    async def close(self) -> None:
        for seat in self.seats:
            with contextlib.suppress(Exception):
                await seat.close()
        for node in self.nodes:
            node.stop()
        if self._store is not None:
            await self._store.close()


@pytest.fixture
async def cluster(tmp_path: Path, redis_servers: Callable[..., Any]) -> AsyncIterator[Cluster]:
    nodes = Cluster(tmp_path, redis_servers(), write_protocols(tmp_path / "protocols"))
    try:
        await nodes.start()
        yield nodes
    finally:
        await nodes.close()
    for node in nodes.nodes:
        log = node.log()
        assert "Traceback" not in log, log


async def answered(seat: Seat, type: str, *, cid: str | None = None, **fields: Any) -> Any:
    """Send a command until it is answered for good, retrying with the same cid
    when the protocol says to (docs/PROTOCOL.md, "A minimal client")."""
    cid = cid or uuid.uuid4().hex
    deadline = time.monotonic() + 15
    while True:
        ack = await seat.cmd(type, cid=cid, **fields)
        if ack["ok"] or ack["error"]["code"] not in RETRY_CODES:
            return ack
        assert time.monotonic() < deadline, f"{seat.seat} {type}: still {ack}"
        await asyncio.sleep(0.1)


async def everyone_has(seats: tuple[Seat, ...], record: list[dict[str, Any]]) -> None:
    """Each seat received exactly its share of the record, in order (invariants 7, 8)."""
    for seat in seats:
        mine = visible_to(seat.seat, record)
        count = len(mine)
        await seat.until(lambda events, count=count: len(events) >= count)
        seat.check()
        assert seat.events == mine, seat.seat


def check_invariants(playbook_source: str, records: list[Any]) -> None:
    """Walk the log with the core's own evolve and check invariants 1, 2, 3 and 6."""
    playbook = load_playbook(playbook_source, "session.toml")
    assert [r.seq for r in records] == list(range(1, len(records) + 1))  # 6
    state = fold(playbook, ())
    owed_by: str | None = None  # the listener who owes a paraphrase
    for record in records:
        event = decode_event(record.body)
        kind = record_to_wire(record, record.seq)["type"]
        if kind in DIALOGUE_ACTS:  # 3
            assert state.overlay is None, (record.seq, kind, state.overlay)
        if kind == "statement.made":  # 1
            assert isinstance(state.phase, DialoguePhase)
            assert state.phase.speaker == record.actor, (record.seq, state.phase)
            owed_by = "partner_b" if record.actor == "partner_a" else "partner_a"
        elif owed_by is not None and record.actor == owed_by and kind in DIALOGUE_ACTS:  # 2
            assert kind in ("paraphrase.offered", "question.asked"), (record.seq, kind)
        if kind in ("paraphrase.confirmed", "paraphrase.waived", "phase.ended"):
            owed_by = None
        state = evolve(state, event)
    assert state == fold(playbook, (decode_event(r.body) for r in records))  # 6


async def test_a_whole_session_with_each_seat_on_another_node(cluster: Cluster) -> None:
    keys = await cluster.create_session()
    m = await cluster.seat(0, keys, "mediator")
    a = await cluster.seat(1, keys, "partner_a")
    b = await cluster.seat(2, keys, "partner_b")
    seats = (m, a, b)
    await start_dialogue(m)
    # A partner pushing against the structure on node 2 is reported to the
    # mediator on node 0 (the balance monitor).
    refusal = await b.cmd("statement", text="Let me talk first.")
    assert refusal["error"]["code"] == "not_your_turn", refusal
    await m.until(lambda _: m.refusals)
    assert [(r["seat"], r["code"]) for r in m.refusals] == [("partner_b", "not_your_turn")]
    # Each act is sent right after the previous one was acknowledged on another
    # node: a node that has not heard of it yet must catch up, never refuse.
    for turn, (speaker, listener) in enumerate(((a, b), (b, a))):
        await speaker.ok("statement", text=f"Statement {turn}: I felt unheard.")
        await listener.ok("paraphrase", text=f"You felt unheard ({turn}).")
        await speaker.ok("paraphrase.correct", note="Not quite: unheard, not ignored.")
        await listener.ok("paraphrase", text=f"You felt unheard, not ignored ({turn}).")
        await speaker.ok("paraphrase.confirm")
        await speaker.ok("yield")
    # The safe signal; the time-out (1.2 s) is ended by a node's timer.
    await b.ok("timeout.call", reason="My heart is racing.")
    for seat in seats:
        await seat.until_type("debrief.started")
    await a.ok("debrief.answer", rating=4, text="Calmer.")
    await b.ok("debrief.answer", rating=3, text="Better.")
    await m.until_type("debrief.completed")
    await a.ok("statement", text="After the break: I want us to plan weekends together.")
    await b.ok("paraphrase", text="You want us to plan weekends together.")
    await a.ok("paraphrase.confirm")
    await m.ok("note", text="Good repair attempt.")
    await m.ok("phase.advance", reason="We are out of time.")
    await a.ok("debrief.answer", rating=3, text="Heard.")
    await b.ok("debrief.answer", rating=2, text="Heard too.")

    record = await cluster.record(keys.id)
    assert_consecutive(record)
    assert record[-1]["type"] == "session.ended"
    assert count_type(record, "timeout.ended") == 1
    await everyone_has(seats, record)
    info = await (await cluster.store()).get_session(keys.id)
    assert info is not None
    check_invariants(info.playbook_source, await (await cluster.store()).read(keys.id))


async def test_a_node_dies_and_its_seats_resume_elsewhere(cluster: Cluster) -> None:
    keys = await cluster.create_session()
    doomed = cluster.nodes[2]
    m = await cluster.seat(2, keys, "mediator")
    a = await cluster.seat(2, keys, "partner_a")
    b = await cluster.seat(2, keys, "partner_b")
    seats = (m, a, b)
    await start_dialogue(m)
    await a.ok("statement", text="I felt alone when you left early.")
    await b.ok("paraphrase", text="You felt alone when I left early.")
    await a.ok("paraphrase.confirm")
    await a.ok("timeout.call", reason="I am flooded.")  # ends in 1.2 s, by a timer of node 2
    await m.until_type("timeout.started")
    started = of_type(m.events, "timeout.started")[-1]
    # A note is on its way as the node dies: its ack never comes.
    in_flight = uuid.uuid4().hex
    assert m.client is not None
    await m.client.emit("command", {"cid": in_flight, "type": "note", "text": "In flight."})
    doomed.kill()

    # Nobody reconnects yet, and no other node holds the session: the shared
    # deadline set must bring the time-out to its end on time anyway.
    store = await cluster.store()
    give_up = time.monotonic() + 10
    while not count_type(await cluster.record(keys.id), "timeout.ended"):
        assert time.monotonic() < give_up, "the dead node's time-out never ended"
        await asyncio.sleep(0.05)
    record = await cluster.record(keys.id)
    ended = of_type(record, "timeout.ended")[-1]
    assert ended["actor"] == "system"
    late = ended["at"] - started["ends_at"]
    assert 0 <= late <= TIMER_GRACE_S + TIMER_POLL_S + 0.75, late
    assert any("firing a deadline no node held" in n.log() for n in cluster.nodes[:2])

    # The seats come back on the other nodes and resume where they were.
    for seat, node in ((m, 0), (a, 1), (b, 0)):
        ack = await cluster.move(seat, node)
        assert ack["epoch"] == seat.epoch
        assert not seat.snapshots[-1]["reset"]
    again = await answered(m, "note", cid=in_flight, text="In flight.")
    assert again["ok"], again
    await a.ok("debrief.answer", rating=6, text="Still shaky.")
    await b.ok("debrief.answer", rating=4, text="Worried.")
    await a.ok("yield")
    await b.ok("statement", text="I left early because I was exhausted.")
    await a.ok("paraphrase", text="You left early because you were exhausted.")
    await b.ok("paraphrase.confirm")
    await m.ok("session.end", reason="Enough for today.")

    record = await cluster.record(keys.id)
    assert_consecutive(record)
    assert [e["text"] for e in of_type(record, "note.added")] == ["In flight."]
    await everyone_has(seats, record)
    info = await store.get_session(keys.id)
    assert info is not None
    check_invariants(info.playbook_source, await store.read(keys.id))


async def test_redis_dies_and_comes_back_losing_nothing_acknowledged(cluster: Cluster) -> None:
    redis = cluster.redis
    keys = await cluster.create_session()
    m = await cluster.seat(0, keys, "mediator")
    a = await cluster.seat(1, keys, "partner_a")
    b = await cluster.seat(2, keys, "partner_b")
    seats = (m, a, b)
    await start_dialogue(m)
    await a.ok("statement", text="I need more help at home.")
    await b.ok("paraphrase", text="You need more help at home.")
    await a.ok("paraphrase.confirm")
    for i in range(3):
        await m.ok("note", text=f"Before the outage {i}.")
    store = await cluster.store()
    before = await store.head(keys.id)
    acknowledged = await cluster.record(keys.id)
    assert len(acknowledged) == before.seq

    redis.kill()
    # Every node answers at once that nothing was recorded; the safe signal too.
    pending = {}
    for seat, kind, fields in (
        (m, "note", {"text": "During the outage."}),
        (a, "yield", {}),
        (b, "timeout.call", {"reason": "The screen froze."}),
    ):
        cid = uuid.uuid4().hex
        asked = time.monotonic()
        ack = await seat.cmd(kind, cid=cid, **fields)
        # Promptly: refused connections, not a hang (the store times out at 2 s;
        # the margin is for a loaded CI machine).
        assert time.monotonic() - asked < 8
        assert not ack["ok"] and ack["error"]["code"] == "unavailable", ack
        pending[seat.seat] = (seat, kind, cid, fields)

    redis.start()  # the same port and folder: it reloads its append-only file
    for seat, kind, cid, fields in pending.values():
        ack = await answered(seat, kind, cid=cid, **fields)
        assert ack["ok"], (seat.seat, ack)
    after = await store.head(keys.id)
    assert after.epoch == before.epoch
    record = await cluster.record(keys.id)
    assert record[: len(acknowledged)] == acknowledged
    assert count_type(record, "note.added") == 4

    # The session goes on: the time-out ends, the debrief, another turn, the end.
    await a.until_type("debrief.started")
    await a.ok("debrief.answer", rating=2, text="Fine.")
    await b.ok("debrief.answer", rating=3, text="Reconnected.")
    await b.ok("statement", text="I will take the mornings.")
    await a.ok("paraphrase", text="You will take the mornings.")
    await b.ok("paraphrase.confirm")
    await m.ok("session.end", reason="Good progress.")
    record = await cluster.record(keys.id)
    assert_consecutive(record)
    await everyone_has(seats, record)
    info = await store.get_session(keys.id)
    assert info is not None
    check_invariants(info.playbook_source, await store.read(keys.id))


async def test_commands_racing_through_three_nodes(cluster: Cluster) -> None:
    keys = await cluster.create_session()
    m = await cluster.seat(0, keys, "mediator")
    a = await cluster.seat(1, keys, "partner_a")
    b = await cluster.seat(2, keys, "partner_b")
    seats = (m, a, b)
    await start_dialogue(m)
    jobs: list[tuple[Seat, str, dict[str, Any]]] = [
        (m, "note", {"text": f"Note {i}."}) for i in range(20)
    ]
    jobs += [(a, "statement", {"text": f"A says {i}."}) for i in range(4)]
    jobs += [(b, "paraphrase", {"text": f"B mirrors {i}."}) for i in range(4)]
    jobs += [(a, "paraphrase.confirm", {}) for _ in range(3)]
    jobs += [(a, "yield", {}) for _ in range(2)]
    jobs += [(b, "timeout.call", {"reason": f"Reason {i}."}) for i in range(2)]
    jobs += [(b, "floor.request", {}) for _ in range(2)]
    random.Random(5).shuffle(jobs)
    acks = await asyncio.gather(*(answered(seat, kind, **fields) for seat, kind, fields in jobs))

    record = await cluster.record(keys.id)
    assert_consecutive(record)
    for (seat, kind, _), ack in zip(jobs, acks, strict=True):
        if ack["ok"]:  # in the seat's own numbering
            assert logged(record, seat.seat, ack["seq"])["actor"] == seat.seat, (kind, ack)
        else:
            assert ack["error"]["code"] not in RETRY_CODES, ack
    accepted = [kind for (_, kind, _), ack in zip(jobs, acks, strict=True) if ack["ok"]]
    assert sorted(e["text"] for e in of_type(record, "note.added")) == sorted(
        f"Note {i}." for i in range(20)
    )
    assert count_type(record, "statement.made") == accepted.count("statement")
    assert count_type(record, "paraphrase.offered") == accepted.count("paraphrase")
    assert accepted.count("timeout.call") == 2  # the safe signal is never refused
    await everyone_has(seats, record)
    store = await cluster.store()
    info = await store.get_session(keys.id)
    assert info is not None
    check_invariants(info.playbook_source, await store.read(keys.id))
    # Every node holds the state the log folds to: rejoin each seat elsewhere.
    for seat, node in ((m, 1), (a, 2), (b, 0)):
        await cluster.move(seat, node)
        assert seat.snapshots[-1]["state"] == folded_view(info.playbook_source, record, seat.seat)


async def test_a_seat_opened_on_another_node_supersedes_the_old_connection(
    cluster: Cluster,
) -> None:
    keys = await cluster.create_session()
    m = await cluster.seat(0, keys, "mediator")
    old = await cluster.seat(1, keys, "partner_a")
    await m.until(lambda _: any(p["seat"] == "partner_a" for p in m.presence))
    new = await cluster.seat(2, keys, "partner_a")
    await old.wait_disconnected()
    assert [n["code"] for n in old.notices] == ["superseded"]
    await m.ok("admit", seat="partner_a")
    await new.until_type("partner.admitted")
    # The mediator, on a third node, heard of both joins and of no departure.
    statuses = [p["status"] for p in m.presence if p["seat"] == "partner_a"]
    assert statuses == ["joined", "joined"], m.presence


async def test_a_node_that_missed_publishes_catches_up(cluster: Cluster) -> None:
    keys = await cluster.create_session()
    m = await cluster.seat(0, keys, "mediator")
    a = await cluster.seat(1, keys, "partner_a")
    b = await cluster.seat(1, keys, "partner_b")
    await start_dialogue(m)
    # Cut every node's subscriber (Redis drops pub/sub clients whose buffers
    # overflow the same way) and act at once, before they are back: node 0
    # never receives these publishes and must read them from the log.
    with cluster.redis.client() as client:
        assert client.client_kill_filter(_type="pubsub") == 3
    await a.ok("statement", text="While you were away.")
    await b.ok("paraphrase", text="While I was away.")
    await a.ok("paraphrase.confirm")
    record = await cluster.record(keys.id)
    await everyone_has((m, a, b), record)
    assert count_type(m.events, "paraphrase.confirmed") == 1
    assert "pub/sub to Redis lost" in cluster.nodes[0].log()
    assert "catching every live session up" in cluster.nodes[0].log()


async def test_revoking_an_invite_disconnects_its_seat_on_any_node(cluster: Cluster) -> None:
    keys = await cluster.create_session()
    await cluster.nodes[0].cli(
        "mediator", "add", MEDIATOR_EMAIL, "--password-stdin", stdin=PASSWORD + "\n"
    )
    a = await cluster.seat(2, keys, "partner_a")
    api = Api(cluster.nodes[0].url)
    try:
        await api.login(MEDIATOR_EMAIL, PASSWORD)
        await api.revoke(keys.id, keys.invites["partner_a"])
    finally:
        await api.close()
    await a.wait_disconnected()
    assert [n["code"] for n in a.notices] == ["token_revoked"]
    with pytest.raises(socketio.exceptions.ConnectionError):
        await a.connect()
    assert a.connect_error["code"] == "token_revoked"


async def test_a_lost_log_starts_every_seat_over_with_a_new_epoch(cluster: Cluster) -> None:
    keys = await cluster.create_session()
    m = await cluster.seat(0, keys, "mediator")
    a = await cluster.seat(1, keys, "partner_a")
    b = await cluster.seat(2, keys, "partner_b")
    await start_dialogue(m)
    await a.ok("statement", text="Before the loss.")
    old = m.epoch
    # As a Redis without persistence would after a restart: the log is gone.
    with cluster.redis.client() as client:
        parts = ("log", "head", "epoch", "cmds")
        assert client.delete(*(f"accord:{{{keys.id}}}:{part}" for part in parts)) == 4
    await m.ok("note", text="After the loss.")
    record = await cluster.record(keys.id)
    assert [e["type"] for e in record] == ["note.added"]
    for seat in (m, a, b):
        await seat.until(lambda _, seat=seat: seat.epoch != old)
        assert seat.snapshots[-1]["reset"]
        assert seat.snapshots[-1]["state"]["phase"]["kind"] == "lobby"
    await everyone_has((m, a, b), record)


async def test_a_node_that_loads_a_session_later_knows_who_is_present_elsewhere(
    cluster: Cluster,
) -> None:
    keys = await cluster.create_session()
    a = await cluster.seat(1, keys, "partner_a")
    b = await cluster.seat(2, keys, "partner_b")
    for _ in range(2):  # pushing against the structure, counted on node 2
        assert (await b.cmd("statement", text="Me first."))["error"]["code"] == "wrong_phase"
    # Node 0 has never held this session: what it knows comes from Redis.
    m = await cluster.seat(0, keys, "mediator")
    snapshot = m.snapshots[-1]
    assert snapshot["presence"] == {
        "partner_a": "joined",
        "partner_b": "joined",
        "mediator": "joined",
    }
    assert snapshot["refusals"] == {"partner_b": {"wrong_phase": 2}}
    # Node 1 dies with partner_a on it: it cannot say so, and its heartbeat
    # runs out; the mediator's node then counts partner_a as gone.
    cluster.nodes[1].kill()
    await a.wait_disconnected()
    await m.until(
        lambda _: ("partner_a", "left") in [(p["seat"], p["status"]) for p in m.presence],
        timeout=3 * NODE_TTL_S,
    )
    # partner_a comes back through node 2 and is present again for everyone.
    await cluster.move(a, 2)
    await m.until(
        lambda _: [(p["seat"], p["status"]) for p in m.presence][-1] == ("partner_a", "joined")
    )
    m2 = await cluster.seat(0, keys, "mediator")
    assert m2.snapshots[-1]["presence"]["partner_a"] == "joined"


def last_presence(seat: Seat) -> tuple[str, str] | None:
    return (seat.presence[-1]["seat"], seat.presence[-1]["status"]) if seat.presence else None


class CutOff:
    """A TCP relay between one node and Redis that the test can cut, as a
    network partition would: that node loses Redis, and nobody else does."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def test_a_node_cut_off_from_redis_is_counted_gone_then_back(
    tmp_path: Path, redis_servers: Callable[..., Any]
) -> None:
    redis = redis_servers()
    relay = CutOff(redis.port)
    await relay.open()
    protocols = write_protocols(tmp_path / "protocols")
    key = str(tmp_path / "key")
    near_url, far_url = redis.url, f"redis://127.0.0.1:{relay.port}/0"
    near = Server(
        tmp_path / "near",
        protocols,
        tmp_path / "near.log",
        ACCORD_REDIS_URL=near_url,
        ACCORD_SECRET_KEY_FILE=key,
    )
    far = Server(
        tmp_path / "far",
        protocols,
        tmp_path / "far.log",
        ACCORD_REDIS_URL=far_url,
        ACCORD_SECRET_KEY_FILE=key,
    )
    seats: list[Seat] = []
    try:
        await asyncio.gather(near.start(), far.start())
        keys = await near.create_session()
        a = Seat(far.url, keys.tokens["partner_a"], "partner_a")
        m = Seat(near.url, keys.tokens["mediator"], "mediator")
        seats += [a, m]
        await a.connect()
        await a.join()
        await m.connect()
        await m.join()
        assert m.snapshots[-1]["presence"]["partner_a"] == "joined"
        # The far node loses Redis; partner_a's own connection to it stays up.
        await relay.cut()
        await m.until(lambda _: last_presence(m) == ("partner_a", "left"), timeout=3 * NODE_TTL_S)
        assert a.connected
        # Redis is back for it: it says again who is there.
        await relay.open()
        await m.until(lambda _: last_presence(m) == ("partner_a", "joined"), timeout=3 * NODE_TTL_S)
        assert (await a.cmd("timeout.call"))["ok"] is True  # and it works again
    finally:
        for seat in seats:
            with contextlib.suppress(Exception):
                await seat.close()
        near.stop()
        far.stop()
        with contextlib.suppress(Exception):
            await relay.cut()
    for node in (near, far):
        assert "Traceback" not in node.log(), node.log()


async def test_every_node_numbers_a_seats_events_alike(cluster: Cluster) -> None:
    """partner_b's private writing on node 2 leaves no gap in partner_a's seqs on
    node 1; partner_a resumes on another node from any point of its own
    numbering, and a fresh join on a third node numbers its history the same."""
    keys = await cluster.create_session()
    m = await cluster.seat(0, keys, "mediator")
    a = await cluster.seat(1, keys, "partner_a")
    b = await cluster.seat(2, keys, "partner_b")
    await start_dialogue(m)
    await m.ok("note", text="A looks tense.")
    await a.ok("statement", text="I felt alone when you left early.")
    await b.ok("paraphrase", text="You felt alone when I left early.")
    await a.ok("paraphrase.confirm")
    await b.ok("timeout.call", reason="I am flooded.")  # the reason: the mediator's only
    for seat in (m, a, b):
        await seat.until_type("debrief.started", timeout=5)
    await b.ok("debrief.answer", rating=3, text="Tense.")  # private to partner_b
    await m.ok("note", text="B answered.")
    ack = await a.ok("debrief.answer", rating=5, text="Better.")
    await m.until_type("debrief.completed")
    record = await cluster.record(keys.id)
    mine = visible_to("partner_a", record)
    n = len(mine)
    assert n + 4 == len(record)  # two notes, a reason, partner_b's answer
    assert ack == n == a.last_seq
    await everyone_has((m, a, b), record)  # live, each seat 1, 2, 3 … (Seat.check)
    assert m.events == record

    # From every point, on each of the other nodes: exactly the rest.
    for node in (0, 2):
        for k in range(0, n + 1, 3):
            late = Seat(cluster.nodes[node].url, keys.tokens["partner_a"], "partner_a")
            cluster.seats.append(late)
            await late.connect()
            joined = await late.join(last_seq=k, epoch=a.epoch)
            assert joined == {"ok": True, "seq": n, "epoch": a.epoch}, (node, k)
            assert late.snapshots[-1]["seq"] == n and not late.snapshots[-1]["reset"]
            assert late.events == mine[k:], (node, k)
            late.check()
            await late.close()
    # Live events after a move go on in the same numbering, on the new node.
    await cluster.move(a, 2)
    assert a.snapshots[-1]["reset"] is False and a.batches[-1] == []
    await m.ok("note", text="Moved.")
    assert await a.ok("yield") == a.last_seq > n
    assert a.events[n]["seq"] == n + 1 and a.events[n]["type"] == "floor.yielded"
    a.check()
    # A position in the log's own numbering (protocol 2's) starts over on any node.
    store = await cluster.store()
    log_epoch = (await store.head(keys.id)).epoch
    assert a.epoch != log_epoch
    old = Seat(cluster.nodes[1].url, keys.tokens["partner_a"], "partner_a")
    cluster.seats.append(old)
    await old.connect()
    await old.join(last_seq=len(record), epoch=log_epoch)
    assert old.snapshots[-1]["reset"] is True
    assert old.events == visible_to("partner_a", await cluster.record(keys.id))
    old.check()
