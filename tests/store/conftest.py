"""Fixtures for the store contract: one `log` and one `registry` per implementation.

Every implementation listed in STORES runs the whole contract suite. A new one
(Redis) adds a factory here: an async function of a fresh temporary directory
that returns an opened object with both the EventLog and Registry methods, or
two objects, one per role.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from accord.store.base import EventLog, Registry
from accord.store.memory import MemoryEventLog, MemoryRegistry
from accord.store.sqlite import SqliteStore


async def _memory_log(tmp_path: Path) -> MemoryEventLog:
    return MemoryEventLog()


async def _memory_registry(tmp_path: Path) -> MemoryRegistry:
    return MemoryRegistry()


async def _sqlite(tmp_path: Path) -> SqliteStore:
    return await SqliteStore.open(tmp_path / "accord.sqlite3")


# id -> (event log factory, registry factory). The types make mypy check that
# each implementation really has the EventLog and Registry methods.
STORES: dict[
    str, tuple[Callable[[Path], Awaitable[EventLog]], Callable[[Path], Awaitable[Registry]]]
] = {
    "memory": (_memory_log, _memory_registry),
    "sqlite": (_sqlite, _sqlite),
}


@pytest.fixture(params=list(STORES))
async def log(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[EventLog]:
    opened = await STORES[request.param][0](tmp_path)
    yield opened
    await opened.close()


@pytest.fixture(params=list(STORES))
async def registry(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Registry]:
    opened = await STORES[request.param][1](tmp_path)
    yield opened
    await opened.close()
