"""The SQLite store's commit window: under a steady stream of appends the writer
waits a moment so several share one commit; a quiet store commits at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from accord.store import sqlite
from accord.store.base import NewRecord
from accord.store.sqlite import SqliteStore


def rec(body: bytes) -> NewRecord:
    return NewRecord(at=1.0, actor="partner_a", audience=7, body=body)


async def test_the_window_opens_only_under_a_steady_stream(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "accord.sqlite3")
    try:
        t = time.monotonic() + 10
        store._rate_since, store._arrivals = t, 0
        assert not store._busy(t + 1)  # nothing arrived for a second
        # 100 writes in two rate periods (100 ms): 1,000/s. (Exactly one period
        # later could round to just under it and not be re-estimated yet.)
        store._arrivals = 100
        assert store._busy(t + 1 + 2 * sqlite._RATE_PERIOD)
        store._arrivals = 1  # then one write in a second
        assert not store._busy(t + 2 + sqlite._RATE_PERIOD)
    finally:
        await store.close()


async def test_a_lone_append_is_not_held_back(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "accord.sqlite3")
    try:
        for i in range(20):
            await asyncio.sleep(0.06)
            await store.append(f"s{i}", 0, [rec(b"x")])
            assert not store._busy(asyncio.get_running_loop().time())
    finally:
        await store.close()


async def test_a_steady_stream_shares_commits(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "accord.sqlite3")
    try:
        await store.head("warm")
        commits = store.commits
        # One append at a time, ~1 ms apart, each awaited by its own task, as
        # sessions do: without the window most would commit alone.
        tasks = []
        for i in range(300):
            tasks.append(asyncio.ensure_future(store.append(f"s{i}", 0, [rec(b"x")])))
            await asyncio.sleep(0.001)
        assert await asyncio.gather(*tasks) == [1] * 300
        # Alone they take 300 commits; how many fewer depends on this machine.
        assert store.commits - commits < 300
    finally:
        await store.close()


async def test_a_zero_window_never_waits(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "accord.sqlite3", commit_window=0)
    try:
        store._rate_since, store._arrivals = time.monotonic() - 1, 10_000
        assert not store._busy(time.monotonic())  # 10,000/s, and still no window
        assert await store.append("s", 0, [rec(b"x")]) == 1
    finally:
        await store.close()


async def test_a_wider_window_counts_a_slower_stream_as_steady(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "accord.sqlite3", commit_window=0.010)
    try:
        t = time.monotonic() + 10
        store._rate_since, store._arrivals = t, 20  # 200/s: one per 5 ms
        assert store._busy(t + 2 * sqlite._RATE_PERIOD)  # within a 10 ms window
    finally:
        await store.close()
