"""Helpers shared by the API tests (conftest.py holds the fixtures)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx

import accord
from accord.api import service
from accord.store.base import Invite, Mediator, Registry

REPO_PROTOCOLS = Path(accord.__file__).resolve().parents[2] / "protocols"
BASE_URL = "http://127.0.0.1:8700"
PASSWORD = "correct horse battery staple"


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Revocations:
    """The hub's side of a revoke, as build_api sees it: a callback that records."""

    def __init__(self) -> None:
        self.invites: list[Invite] = []
        self.fail = False

    async def __call__(self, invite: Invite) -> None:
        self.invites.append(invite)
        if self.fail:
            raise RuntimeError("the hub is gone")


async def make_mediator(store: Registry, email: str, now: float | None = None) -> Mediator:
    return await service.add_mediator(store, email, PASSWORD, time.time() if now is None else now)


async def login(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    response = await client.post("/api/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_of(response: httpx.Response) -> str:
    """The error code of a refusal, after checking the refusal's shape."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"].endswith((".", ")")) or "\n" in body["error"]["message"]
    code: str = body["error"]["code"]
    return code
