"""Fixtures for the store contract: one `log` and one `registry` per implementation.

Every implementation listed in STORES runs the whole contract suite. A new one
adds a factory here: an async function of the test's request and a fresh
temporary directory that returns an opened object with both the EventLog and
Registry methods, or two objects, one per role. The Redis one asks the request
for an emptied Redis (tests/conftest.py, `redis_url`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from accord.store.base import EventLog, Registry
from accord.store.memory import MemoryEventLog, MemoryRegistry
from accord.store.redis import RedisStore
from accord.store.sqlite import SqliteStore

T = TypeVar("T")


async def _memory_log(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryEventLog:
    return MemoryEventLog()


async def _memory_registry(request: pytest.FixtureRequest, tmp_path: Path) -> MemoryRegistry:
    return MemoryRegistry()


async def _sqlite(request: pytest.FixtureRequest, tmp_path: Path) -> SqliteStore:
    return await SqliteStore.open(tmp_path / "accord.sqlite3")


async def _redis(request: pytest.FixtureRequest, tmp_path: Path) -> RedisStore:
    return await RedisStore.open(request.getfixturevalue("redis_url"))


# id -> (event log factory, registry factory). The types make mypy check that
# each implementation really has the EventLog and Registry methods.
Factory = Callable[[pytest.FixtureRequest, Path], Awaitable[T]]
STORES: dict[str, tuple[Factory[EventLog], Factory[Registry]]] = {
    "memory": (_memory_log, _memory_registry),
    "sqlite": (_sqlite, _sqlite),
    "redis": (_redis, _redis),
}


@pytest.fixture(params=list(STORES))
async def log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventLog]:
    opened = await STORES[request.param][0](request, tmp_path)
    yield opened
    await opened.close()


@pytest.fixture(params=list(STORES))
async def registry(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Registry]:
    opened = await STORES[request.param][1](request, tmp_path)
    yield opened
    await opened.close()
