"""Fixtures for the HTTP API: a real SQLite store in a temporary folder, the real
Starlette routes from build_api, an httpx client over ASGI, and a fake clock."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from apitest import BASE_URL, REPO_PROTOCOLS, FakeClock, Revocations, login, make_mediator
from starlette.applications import Starlette

from accord.api import Playbooks, build_api
from accord.settings import Settings
from accord.store.base import Mediator
from accord.store.sqlite import SqliteStore

BROKEN_PLAYBOOK = """\
name = "broken"
title = "Broken"

[[phases]]
type = "lobby"

[[phases]]
type = "dialogue"
rounds = "three"
"""


@pytest.fixture
def protocols_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "protocols"
    directory.mkdir()
    for name in ("speaker-listener.toml", "check-in.toml"):
        shutil.copy(REPO_PROTOCOLS / name, directory / name)
    (directory / "broken.toml").write_text(BROKEN_PLAYBOOK, encoding="utf-8")
    (directory / "notes.txt").write_text("not a playbook", encoding="utf-8")
    return directory


@pytest.fixture
def settings(tmp_path: Path, protocols_dir: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", protocols_dir=protocols_dir)


@pytest.fixture
async def store(settings: Settings) -> AsyncIterator[SqliteStore]:
    opened = await SqliteStore.open(settings.database_path)
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def revocations() -> Revocations:
    return Revocations()


@pytest.fixture
def app(
    settings: Settings, store: SqliteStore, clock: FakeClock, revocations: Revocations
) -> Starlette:
    routes = build_api(
        settings, store, store, Playbooks(settings.protocols_dir), revocations, clock=clock
    )
    return Starlette(routes=routes)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        yield c


@pytest.fixture
async def mediator(store: SqliteStore, client: httpx.AsyncClient) -> Mediator:
    """A mediator, logged in on `client`."""
    created = await make_mediator(store, "ann@example.org")
    await login(client, "ann@example.org")
    return created
