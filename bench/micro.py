"""Resume and fold: long sessions built straight through the core, and timings.

- `build_log` plays bench/script.py through `decide`/`evolve` with a made-up
  clock (firing each time-out's timer as the hub would) and appends the events
  to a store, as the hub does, in big batches: a session with thousands of
  events in a second, without driving them over the wire.
- `time_fold` times what `LiveSession.load` does to a session's log: decode
  and fold every event; and `LiveSession.load` itself over the SQLite file.
- `time_catch_up` joins a running server as a seat that missed the last N
  events (`join` with `last_seq` and `epoch`) and times join-to-ack, which
  includes the server reading the log, the snapshot, and emitting the batch.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any, cast

from prometheus_client import CollectorRegistry

from accord.core import decide, evolve, fold, initial_state, load_playbook, parse_command
from accord.core.codec import decode_event, encode_event
from accord.core.commands import FireTimer
from accord.core.seats import Actor
from accord.hub.live import LiveSession
from accord.hub.metrics import HubMetrics
from accord.store.base import EventLog, NewRecord, SessionInfo, audience_mask
from bench.script import WAIT_FOR_DEBRIEF, exchange, setup
from bench.sio import SioClient


def build_records(playbook_source: str, count: int, start: float = 1.7e9) -> list[NewRecord]:
    """At least `count` events of the benchmark script, as the hub would store them."""
    playbook = load_playbook(playbook_source, "bench.toml")
    state = initial_state(playbook)
    now = start
    records: list[NewRecord] = []

    def apply(actor: Actor, command: Any) -> None:
        nonlocal state
        for event in decide(state, command, actor, now):
            records.append(
                NewRecord(now, actor, audience_mask(event.audience), encode_event(event))
            )
            state = evolve(state, event)

    for first in setup():
        apply(cast(Actor, first.seat), parse_command(first.command))
    for step in exchange(timeout_every=8):
        if len(records) >= count:
            break
        now += 1.0
        if isinstance(step, str):  # WAIT_FOR_DEBRIEF: the hub fires the deadline
            assert step == WAIT_FOR_DEBRIEF
            now = max(timer.due for timer in state.timers) + 0.01
            for timer in state.timers:
                apply("system", FireTimer(timer=timer.id))
        else:
            apply(cast(Actor, step.seat), parse_command(step.command))
    return records


async def build_log(store: EventLog, session_id: str, records: list[NewRecord]) -> int:
    """Append the records to the session's log; return the head."""
    head = (await store.head(session_id)).seq
    for i in range(0, len(records), 1000):
        head = await store.append(session_id, head, records[i : i + 1000])
    return head


def time_fold(playbook_source: str, bodies: list[bytes], repeat: int = 5) -> float:
    """Median milliseconds to decode and fold `bodies` (LiveSession.load's work)."""
    playbook = load_playbook(playbook_source, "bench.toml")
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fold(playbook, (decode_event(body) for body in bodies))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def time_load(store: EventLog, info: SessionInfo, repeat: int = 5) -> float:
    """Median milliseconds for LiveSession.load over the store (read and fold)."""
    playbook = load_playbook(info.playbook_source, f"{info.playbook_name}.toml")
    metrics = HubMetrics(CollectorRegistry())

    async def fanout(live: LiveSession, records: Any) -> None: ...

    async def ended(session_id: str) -> None: ...

    times = []
    for _ in range(repeat):
        live = LiveSession(info, playbook, store, fanout, time.time, metrics, ended)
        started = time.perf_counter()
        await live.load()
        times.append((time.perf_counter() - started) * 1000)
        await live.close()
    return statistics.median(times)


async def time_catch_up(
    host: str, port: int, token: str, missed: int, repeat: int = 7
) -> dict[str, Any]:
    """Join `repeat` times, each on a new connection, as a seat that saw all but
    the last `missed` events.

    Returns join-to-ack milliseconds (median, max) and how many events each
    join delivered; the first join (the session's load, a cold cache) is timed
    apart as `cold_ms`."""
    got: list[int] = []

    def on_event(name: str, data: Any, now: float) -> None:
        if name == "events":
            got.append(len(data["events"]))

    started = time.perf_counter()
    conn = await SioClient.connect(host, port, {"token": token}, on_event)
    first = await conn.emit("join", {})
    cold_ms = (time.perf_counter() - started) * 1000
    head, epoch = first["seq"], first["epoch"]
    conn.close()
    times, delivered = [], []
    for _ in range(repeat):
        # A resume is a new connection (a join on a joined one sends only
        # what that connection was not sent yet): time its join.
        got.clear()
        conn = await SioClient.connect(host, port, {"token": token}, on_event)
        started = time.perf_counter()
        ack = await conn.emit("join", {"last_seq": head - missed, "epoch": epoch})
        times.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.05)  # let the rest of the batch frames arrive
        conn.close()
        if not ack.get("ok"):
            raise RuntimeError(f"join refused: {ack}")
        delivered.append(sum(got))
    return {
        "missed": missed,
        "head": head,
        "cold_join_ms": round(cold_ms, 2),
        "median_ms": round(statistics.median(times), 2),
        "max_ms": round(max(times), 2),
        "delivered": delivered,
    }


def playbook_path() -> Path:
    return Path(__file__).resolve().parent / "playbooks" / "bench.toml"
