"""The API's plumbing: the error shape, body checks, origins, unknown routes, health,
store failures, and the documentation of every error code."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from apitest import PASSWORD, Revocations, error_of, make_mediator
from starlette.applications import Starlette

import accord
from accord.api import CODES
from accord.settings import Settings
from accord.store.base import Mediator
from accord.store.sqlite import SqliteStore

API_MD = Path(accord.__file__).resolve().parents[2] / "docs" / "API.md"


async def test_invalid_json(client: httpx.AsyncClient) -> None:
    for body in (b"{not json", b""):
        response = await client.post(
            "/api/login", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 400
        assert error_of(response) == "invalid_json"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"email": "a@example.org"}, "password"),
        ({"email": 5, "password": "x"}, "$.email"),
        ({"email": "a@example.org", "password": "x", "remember": True}, "remember"),
        ([1, 2], "object"),
    ],
)
async def test_invalid_request_names_the_field(
    client: httpx.AsyncClient, body: object, where: str
) -> None:
    response = await client.post("/api/login", json=body)
    assert response.status_code == 422
    assert error_of(response) == "invalid_request"
    assert where in response.json()["error"]["message"]


async def test_request_too_large(client: httpx.AsyncClient, settings: Settings) -> None:
    big = b'{"email": "' + b"a" * settings.max_frame_bytes + b'", "password": "x"}'
    response = await client.post("/api/login", content=big)
    assert response.status_code == 413
    assert error_of(response) == "request_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the size is counted as the body streams in.
        for _ in range(5):
            yield b" " * (settings.max_frame_bytes // 4)

    streamed = await client.post("/api/login", content=chunks())
    assert streamed.status_code == 413
    assert error_of(streamed) == "request_too_large"


async def test_foreign_origins_may_not_change_anything(
    client: httpx.AsyncClient, store: SqliteStore, settings: Settings
) -> None:
    await make_mediator(store, "ann@example.org")
    body = {"email": "ann@example.org", "password": PASSWORD}
    for origin in ("https://evil.example", "null", "http://127.0.0.1:8701"):
        response = await client.post("/api/login", json=body, headers={"origin": origin})
        assert response.status_code == 403
        assert error_of(response) == "origin_not_allowed"
    for origin in settings.origins:
        response = await client.post("/api/login", json=body, headers={"origin": origin})
        assert response.status_code == 200
    # Safe methods and requests without an Origin pass.
    get = await client.get("/api/setup-status", headers={"origin": "https://evil.example"})
    assert get.status_code == 200
    assert (await client.post("/api/login", json=body)).status_code == 200


async def test_unknown_routes_and_methods(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/nope")
    assert missing.status_code == 404
    assert error_of(missing) == "not_found"
    wrong = await client.get("/api/login")
    assert wrong.status_code == 405
    assert error_of(wrong) == "method_not_allowed"


async def test_responses_are_json_and_never_cached(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/setup-status")
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_healthz(client: httpx.AsyncClient, store: SqliteStore) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": accord.__version__}
    await store.close()
    down = await client.get("/healthz")
    assert down.status_code == 503
    assert error_of(down) == "store_unavailable"


async def test_store_failure_is_503(
    client: httpx.AsyncClient, mediator: Mediator, store: SqliteStore
) -> None:
    await store.close()
    response = await client.get("/api/sessions")
    assert response.status_code == 503
    assert error_of(response) == "store_unavailable"


async def test_a_crash_is_a_json_500(
    app: Starlette, client: httpx.AsyncClient, mediator: Mediator, revocations: Revocations
) -> None:
    created = (await client.post("/api/sessions", json={"playbook": "check-in"})).json()
    invite = (
        await client.post(f"/api/sessions/{created['id']}/invites", json={"seat": "partner_b"})
    ).json()
    revocations.fail = True
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url=str(client.base_url), cookies=client.cookies
    ) as crashing:
        response = await crashing.delete(
            f"/api/sessions/{created['id']}/invites/{invite['invite_id']}"
        )
    assert response.status_code == 500
    assert error_of(response) == "internal_error"


def test_every_error_code_is_documented() -> None:
    text = API_MD.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `([a-z_]+)` \| (\d{3}) \|", text, flags=re.MULTILINE))
    assert documented == {(code, str(status)) for code, (status, _) in CODES.items()}
