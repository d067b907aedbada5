"""Accounts over HTTP: first-run setup, login cookies, logout, /me, and the audit trail."""

from __future__ import annotations

import asyncio
import dataclasses
from urllib.parse import urlsplit

import argon2
import httpx
from apitest import PASSWORD, FakeClock, error_of, login, make_mediator
from starlette.applications import Starlette

from accord.api import Playbooks, build_api, ensure_setup_link
from accord.api.setup import SETUP_TOKEN_TTL_S
from accord.security import hash_setup_token
from accord.settings import Settings
from accord.store.base import Mediator
from accord.store.sqlite import SqliteStore


async def setup_token(settings: Settings, store: SqliteStore, now: float) -> str:
    link = await ensure_setup_link(settings, store, now=now)
    assert link is not None
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == settings.base_url
    assert parts.path == "/setup"
    assert not parts.query  # the token travels in the fragment only
    return parts.fragment


# setup


async def test_setup_status_before_and_after(client: httpx.AsyncClient, store: SqliteStore) -> None:
    response = await client.get("/api/setup-status")
    assert response.status_code == 200
    assert response.json() == {"needs_setup": True}
    await make_mediator(store, "ann@example.org")
    assert (await client.get("/api/setup-status")).json() == {"needs_setup": False}


async def test_setup_creates_the_first_mediator_and_logs_in(
    client: httpx.AsyncClient, store: SqliteStore, settings: Settings, clock: FakeClock
) -> None:
    token = await setup_token(settings, store, clock.now)
    response = await client.post(
        "/api/setup", json={"token": token, "email": " Ann@Example.org ", "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    mediator = response.json()["mediator"]
    assert mediator["email"] == "ann@example.org"
    assert (await client.get("/api/me")).json() == {"mediator": mediator}
    assert await ensure_setup_link(settings, store) is None
    entries = await store.audit_entries()
    assert [(e.action, e.actor) for e in entries] == [
        ("mediator.create", "system"),
        ("setup", f"mediator:{mediator['id']}"),
    ]
    assert all(token not in e.detail and PASSWORD not in e.detail for e in entries)


async def test_setup_token_is_single_use(
    client: httpx.AsyncClient, store: SqliteStore, settings: Settings, clock: FakeClock
) -> None:
    token = await setup_token(settings, store, clock.now)
    # The token is stored hashed, never as it is.
    assert await store.use_setup_token(token, clock.now) is False
    body = {"token": token, "email": "ann@example.org", "password": PASSWORD}
    assert (await client.post("/api/setup", json=body)).status_code == 201
    again = await client.post("/api/setup", json={**body, "email": "eve@example.org"})
    assert again.status_code == 409
    assert error_of(again) == "already_set_up"


async def test_setup_refuses_a_wrong_token(
    client: httpx.AsyncClient, store: SqliteStore, settings: Settings, clock: FakeClock
) -> None:
    await setup_token(settings, store, clock.now)
    response = await client.post(
        "/api/setup", json={"token": "guess", "email": "eve@example.org", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert error_of(response) == "setup_token_invalid"
    assert await store.count_mediators() == 0


async def test_setup_token_expires_after_a_day(
    client: httpx.AsyncClient, store: SqliteStore, settings: Settings, clock: FakeClock
) -> None:
    token = await setup_token(settings, store, clock.now)
    clock.advance(SETUP_TOKEN_TTL_S + 1)
    response = await client.post(
        "/api/setup", json={"token": token, "email": "ann@example.org", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert error_of(response) == "setup_token_invalid"


async def test_setup_checks_the_account_before_spending_the_token(
    client: httpx.AsyncClient, store: SqliteStore, settings: Settings, clock: FakeClock
) -> None:
    token = await setup_token(settings, store, clock.now)
    short = await client.post(
        "/api/setup", json={"token": token, "email": "ann@example.org", "password": "short"}
    )
    assert short.status_code == 422
    assert error_of(short) == "password_too_short"
    long = await client.post(
        "/api/setup", json={"token": token, "email": "ann@example.org", "password": "x" * 1025}
    )
    assert error_of(long) == "password_too_long"
    bad_email = await client.post(
        "/api/setup", json={"token": token, "email": "ann", "password": PASSWORD}
    )
    assert bad_email.status_code == 422
    assert error_of(bad_email) == "invalid_email"
    # The token still works.
    ok = await client.post(
        "/api/setup", json={"token": token, "email": "ann@example.org", "password": PASSWORD}
    )
    assert ok.status_code == 201


async def test_ensure_setup_link_stores_only_a_hash(
    store: SqliteStore, settings: Settings, clock: FakeClock
) -> None:
    token = await setup_token(settings, store, clock.now)
    assert await store.use_setup_token(hash_setup_token(token), clock.now) is True


# login, logout, me


async def test_login_sets_a_strict_httponly_cookie(
    client: httpx.AsyncClient, store: SqliteStore
) -> None:
    created = await make_mediator(store, "ann@example.org")
    response = await client.post(
        "/api/login", json={"email": "ANN@example.org", "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.json() == {"mediator": {"id": created.id, "email": "ann@example.org"}}
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith("accord_session=")
    for flag in ("httponly", "samesite=strict", "path=/api", "max-age=43200"):
        assert flag in cookie
    assert "secure" not in cookie  # plain http here
    me = await client.get("/api/me")
    assert me.json() == {"mediator": {"id": created.id, "email": "ann@example.org"}}
    assert [e.action for e in await store.audit_entries()] == ["mediator.create", "login"]


async def test_cookie_is_secure_behind_https(
    settings: Settings, store: SqliteStore, clock: FakeClock
) -> None:
    https = dataclasses.replace(settings, public_url="https://accord.example.org")

    async def revoked(invite: object) -> None:
        pass

    app = Starlette(
        routes=build_api(https, store, store, Playbooks(https.protocols_dir), revoked, clock=clock)
    )
    await make_mediator(store, "ann@example.org")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=https.base_url) as client:
        response = await login(client, "ann@example.org")
        assert response["mediator"]["email"] == "ann@example.org"
        assert (await client.get("/api/me")).status_code == 200


async def test_login_failures_look_alike(client: httpx.AsyncClient, store: SqliteStore) -> None:
    created = await make_mediator(store, "ann@example.org")
    wrong = await client.post("/api/login", json={"email": "ann@example.org", "password": "nope"})
    unknown = await client.post(
        "/api/login", json={"email": "bob@example.org", "password": PASSWORD}
    )
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert error_of(response) == "login_failed"
        assert "set-cookie" not in response.headers
    assert wrong.json() == unknown.json()
    failed = [e for e in await store.audit_entries() if e.action == "login.failed"]
    assert [(e.actor, e.detail) for e in failed] == [
        (f"mediator:{created.id}", "wrong password"),
        ("system", "unknown email"),
    ]
    assert all("nope" not in e.detail for e in failed)


async def test_repeated_failures_are_throttled(
    client: httpx.AsyncClient, store: SqliteStore, clock: FakeClock
) -> None:
    await make_mediator(store, "ann@example.org")
    wrong = {"email": "ann@example.org", "password": "wrong password"}
    results = await asyncio.gather(*(client.post("/api/login", json=wrong) for _ in range(10)))
    assert {error_of(r) for r in results} == {"login_failed"}
    right = {"email": "ann@example.org", "password": PASSWORD}
    blocked = await client.post("/api/login", json=right)
    assert blocked.status_code == 429
    assert error_of(blocked) == "too_many_attempts"
    # Other accounts are unaffected, and the block lifts after the window.
    other = await client.post("/api/login", json={**right, "email": "bob@example.org"})
    assert error_of(other) == "login_failed"
    clock.advance(15 * 60 + 1)
    assert (await client.post("/api/login", json=right)).status_code == 200


async def test_me_needs_a_login(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/me")
    assert response.status_code == 401
    assert error_of(response) == "login_required"


async def test_a_forged_cookie_is_no_login(client: httpx.AsyncClient, store: SqliteStore) -> None:
    created = await make_mediator(store, "ann@example.org")
    client.cookies.set("accord_session", f'{{"mid": "{created.id}"}}', path="/api")
    response = await client.get("/api/me")
    assert error_of(response) == "login_required"


async def test_a_cookie_signed_with_another_secret_is_no_login(
    client: httpx.AsyncClient, store: SqliteStore, settings: Settings, clock: FakeClock
) -> None:
    other = dataclasses.replace(settings, secret_key_file=settings.data_dir / "other.key")

    async def revoked(invite: object) -> None:
        pass

    other_app = Starlette(
        routes=build_api(other, store, store, Playbooks(other.protocols_dir), revoked, clock=clock)
    )
    await make_mediator(store, "ann@example.org")
    transport = httpx.ASGITransport(app=other_app)
    async with httpx.AsyncClient(transport=transport, base_url=other.base_url) as other_client:
        await login(other_client, "ann@example.org")
        cookie = other_client.cookies["accord_session"]
    client.cookies.set("accord_session", cookie, path="/api")
    assert error_of(await client.get("/api/me")) == "login_required"


async def test_logout_ends_the_login(client: httpx.AsyncClient, mediator: Mediator) -> None:
    assert (await client.get("/api/me")).status_code == 200
    response = await client.post("/api/logout")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert "accord_session=null" in response.headers["set-cookie"]
    assert error_of(await client.get("/api/me")) == "login_required"
    # Logging out twice is harmless.
    assert (await client.post("/api/logout")).status_code == 200


async def test_login_expires(settings: Settings, store: SqliteStore, clock: FakeClock) -> None:
    short = dataclasses.replace(settings, login_ttl_s=1)

    async def revoked(invite: object) -> None:
        pass

    app = Starlette(
        routes=build_api(short, store, store, Playbooks(short.protocols_dir), revoked, clock=clock)
    )
    await make_mediator(store, "ann@example.org")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=short.base_url) as client:
        await login(client, "ann@example.org")
        assert (await client.get("/api/me")).status_code == 200
        await asyncio.sleep(2.1)  # the cookie's signature carries whole seconds
        assert error_of(await client.get("/api/me")) == "login_required"


async def test_a_login_upgrades_a_hash_made_with_older_parameters(
    client: httpx.AsyncClient, store: SqliteStore
) -> None:
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    await store.add_mediator(
        Mediator(id="m-old", email="old@example.org", password_hash=weak, created_at=1.0)
    )
    await login(client, "old@example.org")
    stored = await store.mediator_by_id("m-old")
    assert stored is not None and stored.password_hash != weak
    assert not argon2.PasswordHasher().check_needs_rehash(stored.password_hash)
    argon2.PasswordHasher().verify(stored.password_hash, PASSWORD)
    assert (await client.post("/api/logout")).status_code == 200
    await login(client, "old@example.org")  # and the new hash works
