"""`python -m bench.redis_store`: the numbers behind docs/SCALING.md.

- Append latency, one durable append of one event at a time, and many sessions
  appending at once: the SQLite store (WAL, synchronous=FULL) against the Redis
  store (AOF, appendfsync always), both on this machine's disk.
- Redis memory per session: sessions played to 200 events through the real
  LiveSession (decide, encode, append), then MEMORY USAGE of each key, and the
  growth of `used_memory` across all of them.

It starts its own redis-server (a temporary folder, a free port) unless given
`--redis URL`, which it then empties: never point it at a Redis in use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import secrets
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis
from prometheus_client import CollectorRegistry

from accord.api.playbooks import Playbooks
from accord.core import parse_command
from accord.hub.live import LiveSession
from accord.hub.metrics import HubMetrics
from accord.store.base import SEATS, AuditEntry, CommandKey, EventLog, Invite, NewRecord
from accord.store.redis import RedisStore
from accord.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[1]
TEXT = (
    "When you came home late again on Thursday I felt alone and a bit scared, because I "
    "had planned the evening and I did not know where you were or when you would be back."
)  # 190 characters: a typical statement


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    directory = Path(tempfile.mkdtemp(prefix="accord-bench-redis-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(directory),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--logfile",
            str(directory / "redis.log"),
        ]
    )
    try:
        client = redis.Redis(port=port)
        for _ in range(200):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            time.sleep(0.02)
        client.close()
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait()
        shutil.rmtree(directory, ignore_errors=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(ordered[len(ordered) // 2] * 1000, 3),
        "p99_ms": round(ordered[int(len(ordered) * 0.99)] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


async def sequential(log: EventLog, count: int) -> dict[str, float]:
    """One session, one append at a time: the latency a command pays."""
    sid = secrets.token_urlsafe(12)
    body = TEXT.encode()
    samples = []
    for seq in range(count):
        started = time.perf_counter()
        await log.append(
            sid,
            seq,
            [NewRecord(time.time(), "partner_a", 7, body)],
            CommandKey("partner_a", str(seq)),
        )
        samples.append(time.perf_counter() - started)
    return percentiles(samples)


async def concurrent(log: EventLog, sessions: int, each: int) -> dict[str, float]:
    """Many sessions appending at once: throughput and latency under load."""
    body = TEXT.encode()
    samples: list[float] = []

    async def one(sid: str) -> None:
        for seq in range(each):
            started = time.perf_counter()
            await log.append(sid, seq, [NewRecord(time.time(), "partner_b", 7, body)])
            samples.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(one(secrets.token_urlsafe(12)) for _ in range(sessions)))
    elapsed = time.perf_counter() - started
    return {"appends_per_s": round(len(samples) / elapsed), **percentiles(samples)}


async def latency(url: str, directory: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    sqlite = await SqliteStore.open(directory / "bench.sqlite3")
    store = await RedisStore.open(url)
    client = redis.Redis.from_url(url)
    try:
        for name, log, fsync in (
            ("sqlite", sqlite, None),
            ("redis_appendfsync_always", store, "always"),
            ("redis_appendfsync_everysec", store, "everysec"),
        ):
            if fsync is not None:
                client.config_set("appendfsync", fsync)
            await sequential(log, 50)  # warm up
            results[name] = {
                "sequential_1_session": await sequential(log, 2000),
                "concurrent_100_sessions": await concurrent(log, 100, 40),
            }
    finally:
        client.config_set("appendfsync", "always")
        client.close()
        await sqlite.close()
        await store.close()
    return results


async def play_session(store: RedisStore, playbooks: Playbooks, events: int) -> str:
    """A session as the API and hub make one, played to `events` events."""
    from accord.api import service

    now = time.time()
    info = await service.create_session(store, playbooks, "speaker-listener", None, None, now)
    for seat in SEATS:
        invite = Invite(secrets.token_urlsafe(12), info.id, seat, now, now + 7 * 86400, None)
        await store.add_invite(invite)
        await store.audit(AuditEntry(now, "shell", "invite.create", info.id, f"invite {seat}"))
    loaded = playbooks.load("speaker-listener")

    async def no_fanout(live: LiveSession, records: list[Any]) -> None:
        return None

    async def no_end(session_id: str) -> None:
        return None

    live = LiveSession(
        info,
        loaded.playbook,
        store,
        no_fanout,
        time.time,
        HubMetrics(CollectorRegistry()),
        no_end,
    )
    await live.load()

    async def do(actor: str, **fields: Any) -> None:
        ack = await live.execute(actor, parse_command(fields), secrets.token_hex(8))  # type: ignore[arg-type]
        assert ack["ok"], (actor, fields, ack)

    await do("mediator", type="admit", seat="partner_a")
    await do("mediator", type="admit", seat="partner_b")
    await do("mediator", type="phase.advance")
    speaker, listener = "partner_a", "partner_b"
    while live.head < events - 6:
        await do(speaker, type="statement", text=TEXT)
        await do(listener, type="paraphrase", text="You felt alone. " + TEXT[40:])
        await do(speaker, type="paraphrase.confirm")
        await do(speaker, type="yield")
        await do("mediator", type="note", text="Repair attempt; balance ok.")
        speaker, listener = listener, speaker
    while live.head < events:
        await do("mediator", type="note", text="Closing note.")
    await live.close()
    return info.id


async def memory(url: str, sessions: int, events: int) -> dict[str, Any]:
    store = await RedisStore.open(url)
    client = redis.Redis.from_url(url)
    try:
        client.flushall()
        playbooks = Playbooks(ROOT / "protocols")
        before = int(client.info("memory")["used_memory"])
        first = await play_session(store, playbooks, events)
        for _ in range(sessions - 1):
            await play_session(store, playbooks, events)
        after = int(client.info("memory")["used_memory"])
        keys = await store.memory_usage(first)
        head = await store.head(first)
        log_bytes = sum(len(r.body) for r in await store.read(first))
        return {
            "events_per_session": head.seq,
            "event_bodies_bytes": log_bytes,
            "memory_usage_by_key": {k.split(":", 2)[-1]: v for k, v in keys.items()},
            "memory_usage_total": sum(keys.values()),
            "used_memory_growth_per_session": round((after - before) / sessions),
            "sessions": sessions,
        }
    finally:
        client.close()
        await store.close()


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", metavar="URL", help="an EMPTY Redis to use (it is flushed)")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        url = args.redis or stack.enter_context(redis_server())
        directory = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        results = {
            "latency": await latency(url, directory),
            "memory": await memory(url, args.sessions, args.events),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
