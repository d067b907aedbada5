"""Shutting a hub down while work is in flight: in process, on a real store.

A grace period that ends while the server stops must not reach a store or a
Redis subscriber that is already closed (CI once saw a traceback from exactly
that: `_grace_over` unsubscribing on a pub/sub connection mid-close)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from accord.app import AccordApp
from accord.hub.distributed import DistributedHub
from accord.settings import Settings


def settings(tmp_path: Path, redis_url: str | None = None) -> Settings:
    return Settings(data_dir=tmp_path / "data", redis_url=redis_url, port=0, gc_tuning=False)


@pytest.mark.parametrize("store", ["sqlite", "redis"])
async def test_shutdown_ends_background_work_before_closing_the_store(
    tmp_path: Path, redis_url: str, store: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = redis_url if store == "redis" else None
    app = AccordApp(settings(tmp_path, url), announce=lambda _: None)
    await app.startup()
    hub = app.hub
    assert hub is not None
    started = asyncio.Event()
    seen: list[bool] = []

    async def late_grace_period() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            # Still running when shutdown began: the store must still be open.
            if isinstance(hub, DistributedHub):
                seen.append(hub.feed._pubsub is not None)
                await hub.feed.unsubscribe("no-such-session")
            else:
                seen.append(await hub.registry.get_session("no-such-session") is None)
            raise

    hub._background(late_grace_period())
    await started.wait()
    with caplog.at_level(logging.WARNING):
        await app.shutdown()
    assert seen == [True]
    assert not hub._background_tasks
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_unsubscribing_on_a_subscriber_closed_underneath_is_harmless(
    tmp_path: Path, redis_url: str
) -> None:
    app = AccordApp(settings(tmp_path, redis_url), announce=lambda _: None)
    await app.startup()
    try:
        hub = app.hub
        assert isinstance(hub, DistributedHub)
        await hub.feed.subscribe("s1")
        assert "s1" in hub.feed.wanted
        # The race CI met: an eviction took the subscriber's connection, then
        # the subscriber closed it (Redis dropped, or shutdown) before the
        # eviction's unsubscribe was sent.
        stale = hub.feed._pubsub
        feed_task = hub._tasks[0]
        feed_task.cancel()
        await asyncio.gather(feed_task, return_exceptions=True)
        hub.feed._pubsub = stale
        await hub.feed.unsubscribe("s1")
        assert "s1" not in hub.feed.wanted
    finally:
        await app.shutdown()


async def test_a_failed_background_task_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = AccordApp(settings(tmp_path), announce=lambda _: None)
    await app.startup()
    try:
        hub = app.hub
        assert hub is not None
        done = asyncio.Event()

        async def fails() -> None:
            done.set()
            raise RuntimeError("boom")

        with caplog.at_level(logging.ERROR):
            hub._background(fails())
            await done.wait()
            await asyncio.sleep(0)
            await asyncio.sleep(0)
        assert any("background task" in r.getMessage() for r in caplog.records)
        assert not hub._background_tasks
    finally:
        await app.shutdown()
