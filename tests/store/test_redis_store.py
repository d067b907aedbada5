"""What the Redis store adds to the contract: the publish in the append's step,
failing fast and losing nothing when Redis dies, a new epoch when Redis lost the
log, WAIT for replicas, and the shared timer set and seat claims.

Each test that kills Redis starts its own redis-server (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import msgpack
import pytest

from accord.store.base import CommandKey, DuplicateCommand, NewRecord, SeqConflict, Unavailable
from accord.store.redis import (
    RedisStore,
    channel,
    decode_published,
    redacted,
    session_key,
    session_of_channel,
)


def rec(body: bytes) -> NewRecord:
    return NewRecord(at=1_700_000_000.5, actor="partner_a", audience=7, body=body)


async def next_message(pubsub: Any, timeout: float = 2.0) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            found: dict[str, Any] = message
            return found
    return None


async def test_an_append_publishes_its_records_in_the_same_step(redis_url: str) -> None:
    store = await RedisStore.open(redis_url)
    pubsub = store.pubsub()
    try:
        await pubsub.ssubscribe(channel("s1"))
        assert await next_message(pubsub, 0.2) is None  # only the confirmation so far
        key = CommandKey("partner_a", "c1")
        assert await store.append("s1", 0, [rec(b"a"), rec(b"\x00\xff")], key) == 2
        message = await next_message(pubsub)
        assert message is not None
        assert session_of_channel(message["channel"]) == "s1"
        kind, epoch, payload = message["data"].split(b":", 2)
        assert kind == b"r"
        assert epoch.decode() == (await store.head("s1")).epoch
        assert decode_published(payload) == await store.read("s1")
        # A refused append publishes nothing.
        with pytest.raises(SeqConflict):
            await store.append("s1", 0, [rec(b"late")])
        with pytest.raises(DuplicateCommand):
            await store.append("s1", 2, [rec(b"again")], key)
        await store.append("s1", 2, [], CommandKey("mediator", "noop"))  # nor an empty one
        assert await next_message(pubsub, 0.3) is None
    finally:
        await pubsub.aclose()
        await store.close()


async def test_keys_carry_the_session_as_a_hash_tag(redis_url: str) -> None:
    store = await RedisStore.open(redis_url)
    try:
        await store.append("Ab_-9", 0, [rec(b"a")], CommandKey("mediator", "c"))
        client = store._redis
        keys = sorted(k.decode() for k in await client.keys("accord:{Ab_-9}:*"))
        assert keys == [f"accord:{{Ab_-9}}:{part}" for part in ("cmds", "epoch", "head", "log")]
        assert await client.xrange(session_key("Ab_-9", "log")) == [
            (b"1-0", {b"at": b"1700000000.5", b"actor": b"partner_a", b"aud": b"7", b"body": b"a"})
        ]
    finally:
        await store.close()


async def test_a_dead_redis_fails_fast_and_loses_nothing_acknowledged(
    redis_servers: Callable[..., Any],
) -> None:
    server = redis_servers()  # appendonly yes, appendfsync always
    store = await RedisStore.open(server.url)
    try:
        for seq in range(50):
            await store.append("s1", seq, [rec(b"%d" % seq)], CommandKey("partner_a", f"c{seq}"))
        epoch = (await store.head("s1")).epoch
        server.kill()
        for attempt in (
            store.append("s1", 50, [rec(b"lost?")], CommandKey("partner_a", "c50")),
            store.read("s1"),
            store.head("s1"),
            store.get_session("s1"),
        ):
            started = time.monotonic()
            with pytest.raises(Unavailable):
                await attempt
            assert time.monotonic() - started < 2.5
        server.start()
        head = await store.head("s1")
        assert (head.seq, head.epoch) == (50, epoch)
        assert [r.body for r in await store.read("s1")] == [b"%d" % i for i in range(50)]
        assert await store.append("s1", 50, [rec(b"50")], CommandKey("partner_a", "c50")) == 51
    finally:
        await store.close()


async def test_a_redis_that_lost_the_log_gives_it_a_new_epoch(
    redis_servers: Callable[..., Any],
) -> None:
    server = redis_servers(appendonly=False)  # no persistence at all
    store = await RedisStore.open(server.url)
    try:
        await store.append("s1", 0, [rec(b"a"), rec(b"b")])
        old = await store.head("s1")
        server.restart()
        # A node that still thinks the head is 2 learns that the log is new.
        with pytest.raises(SeqConflict) as caught:
            await store.append("s1", 2, [rec(b"c")])
        assert caught.value.actual == 0
        new = await store.head("s1")
        assert new.seq == 0
        assert new.epoch != old.epoch
    finally:
        await store.close()


async def test_renew_epoch_replaces_only_the_epoch_it_was_shown(redis_url: str) -> None:
    store = await RedisStore.open(redis_url)
    try:
        await store.append("s1", 0, [rec(b"a")])
        first = (await store.head("s1")).epoch
        second = await store.renew_epoch("s1", first)
        assert second != first
        assert await store.renew_epoch("s1", first) == second  # stale: unchanged
        assert (await store.head("s1")).epoch == second
        assert [r.body for r in await store.read("s1")] == [b"a"]
    finally:
        await store.close()


async def test_a_log_whose_head_was_lost_is_refused_not_overwritten(redis_url: str) -> None:
    store = await RedisStore.open(redis_url)
    try:
        await store.append("s1", 0, [rec(b"a"), rec(b"b")])
        await store._redis.delete(session_key("s1", "head"))  # as an eviction would
        with pytest.raises(Unavailable, match="inconsistent"):
            await store.append("s1", 0, [rec(b"c")])
        assert [r.body for r in await store.read("s1")] == [b"a", b"b"]
    finally:
        await store.close()


async def test_wait_acknowledges_only_what_a_replica_has(
    redis_servers: Callable[..., Any],
) -> None:
    primary = redis_servers(extra=["--repl-diskless-sync-delay", "0"])  # sync at once
    store = await RedisStore.open(primary.url, wait_replicas=1, wait_timeout_ms=200)
    try:
        key = CommandKey("partner_a", "c1")
        started = time.monotonic()
        with pytest.raises(Unavailable, match="replicas"):
            await store.append("s1", 0, [rec(b"a")], key)
        assert time.monotonic() - started < 1.5
        # On the primary, but not acknowledged; a retry is not either, until a replica has it.
        assert [r.body for r in await store.read("s1")] == [b"a"]
        with pytest.raises(Unavailable, match="replicas"):
            await store.append("s1", 0, [rec(b"a")], key)
        replica = redis_servers(extra=["--replicaof", "127.0.0.1", str(primary.port)])
        deadline = time.monotonic() + 10
        while True:
            try:
                await store.append("s1", 0, [rec(b"a")], key)
            except DuplicateCommand as duplicate:
                assert duplicate.last_seq == 1
                break
            except Unavailable:
                assert time.monotonic() < deadline, "the replica never caught up"
                await asyncio.sleep(0.1)
        assert await store.append("s1", 1, [rec(b"b")]) == 2
        with replica.client() as client:
            assert client.xlen(session_key("s1", "log")) == 2
    finally:
        await store.close()


async def test_timer_set_claims_and_stale_writers(redis_url: str) -> None:
    store = await RedisStore.open(redis_url)
    try:
        assert await store.set_timer("s1", "e1", 5, 100.0)
        assert not await store.set_timer("s1", "e1", 4, None)  # an older state: ignored
        assert await store.due_timers(99.0) == []
        assert await store.due_timers(100.0) == ["s1"]
        # One claim wins; the lease moves the deadline out of everyone's way.
        wins = await asyncio.gather(*(store.claim_timer("s1", 100.0, 130.0) for _ in range(5)))
        assert wins.count(True) == 1
        assert await store.due_timers(129.0) == []
        assert await store.due_timers(130.0) == ["s1"]
        # The same state (the claimer's reconciliation) may overwrite the lease.
        assert await store.set_timer("s1", "e1", 5, 200.0)
        assert await store.due_timers(199.0) == []
        assert await store.set_timer("s1", "e1", 9, None)
        assert await store.due_timers(1e12) == []
        # A new epoch (a lost log) starts the seqs over.
        assert await store.set_timer("s1", "e2", 1, 50.0)
        assert await store.due_timers(60.0) == ["s1"]
    finally:
        await store.close()


async def test_seat_claims_are_numbered_and_published(redis_url: str) -> None:
    store = await RedisStore.open(redis_url)
    pubsub = store.pubsub()
    try:
        await pubsub.ssubscribe(channel("s1"))
        assert await store.claim_seat("s1", "partner_a", "node1") == 1
        assert await store.claim_seat("s1", "partner_a", "node2") == 2
        assert await store.claim_seat("s1", "partner_b", "node2") == 1
        seen = []
        for _ in range(3):
            message = await next_message(pubsub)
            assert message is not None
            seen.append(message["data"])
        assert seen == [b"s:partner_a:1:node1", b"s:partner_a:2:node2", b"s:partner_b:1:node2"]
        await store.publish("s1", b"p:" + msgpack.packb(["partner_a", "joined", "node1"]))
        message = await next_message(pubsub)
        assert message is not None
        assert message["data"].startswith(b"p:")
    finally:
        await pubsub.aclose()
        await store.close()


async def test_presence_is_recorded_with_its_message_and_nodes_have_heartbeats(
    redis_url: str,
) -> None:
    store = await RedisStore.open(redis_url)
    pubsub = store.pubsub()
    try:
        await pubsub.ssubscribe(channel("s1"))
        assert await store.presence("s1") == {}
        await store.set_presence("s1", "partner_a", "joined", "node1", 10.0, b"p:one")
        await store.set_presence("s1", "partner_a", "reconnecting", "node1", 11.0, b"p:two")
        await store.set_presence("s1", "mediator", "joined", "node2", 12.0, b"p:three")
        seen = []
        for _ in range(3):
            message = await next_message(pubsub)
            assert message is not None
            seen.append(message["data"])
        assert seen == [b"p:one", b"p:two", b"p:three"]
        assert await store.presence("s1") == {
            "partner_a": ("reconnecting", "node1", 11.0),
            "mediator": ("joined", "node2", 12.0),
        }
        assert session_key("s1", "presence").startswith("accord:{s1}:")
        await store.heartbeat("node1", 5.0)
        await store.heartbeat("node3", 0.05)
        await asyncio.sleep(0.2)  # node3's heartbeat runs out; node1's does not
        assert await store.alive(["node1", "node2", "node3"]) == {"node1"}
        assert await store.alive([]) == set()
    finally:
        await pubsub.aclose()
        await store.close()


async def test_heads_reads_many_and_creates_nothing(redis_url: str) -> None:
    store = await RedisStore.open(redis_url)
    try:
        await store.append("s1", 0, [rec(b"a")])
        heads = await store.heads(["s1", "nowhere"])
        s1 = heads["s1"]
        assert s1 is not None
        assert s1 == await store.head("s1")
        assert heads["nowhere"] is None
        assert await store._redis.exists(session_key("nowhere", "epoch")) == 0
    finally:
        await store.close()


async def test_open_fails_fast_when_nothing_listens() -> None:
    started = time.monotonic()
    with pytest.raises(Unavailable):
        await RedisStore.open("redis://127.0.0.1:1/0")
    assert time.monotonic() - started < 2.5


def test_urls_in_logs_carry_no_password() -> None:
    assert redacted("redis://:hunter2@cache:6380/2") == "redis://cache:6380/2"
    assert redacted("rediss://user:pw@cache/0") == "rediss://cache/0"
