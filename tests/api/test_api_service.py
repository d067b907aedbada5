"""The functions the API and the shell share, over the in-memory store, and the
pieces the HTTP tests reach only rarely (races, odd files, the throttle's memory)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from apitest import PASSWORD

from accord.api import Playbooks, ServiceError, ensure_setup_link, service
from accord.api.context import LoginThrottle
from accord.security import hash_setup_token, verify_invite_token
from accord.settings import Settings
from accord.store.memory import MemoryEventLog, MemoryRegistry


@pytest.fixture
async def registry() -> MemoryRegistry:
    return MemoryRegistry()


async def test_add_mediator_normalises_and_audits(registry: MemoryRegistry) -> None:
    mediator = await service.add_mediator(registry, "  Ann@Example.ORG ", PASSWORD, 5.0)
    assert mediator.email == "ann@example.org"
    assert mediator.created_at == 5.0
    assert await registry.mediator_by_email("ann@example.org") == mediator
    [entry] = await registry.audit_entries()
    assert (entry.actor, entry.action, entry.session_id) == ("shell", "mediator.create", None)
    assert PASSWORD not in entry.detail


async def test_add_mediator_twice_is_email_taken_even_in_a_race(registry: MemoryRegistry) -> None:
    # Both pass the look-up while the other is hashing; the registry's
    # uniqueness settles it.
    results = await asyncio.gather(
        service.add_mediator(registry, "ann@example.org", PASSWORD, 1.0),
        service.add_mediator(registry, "ANN@example.org", PASSWORD, 1.0),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, ServiceError)]
    assert len(refused) == 1
    assert refused[0].code == "email_taken"
    assert refused[0].status == 409
    assert await registry.count_mediators() == 1
    with pytest.raises(ServiceError) as again:
        await service.add_mediator(registry, "ann@example.org", PASSWORD, 2.0)
    assert again.value.code == "email_taken"


@pytest.mark.parametrize(
    ("email", "password", "code"),
    [
        ("ann", PASSWORD, "invalid_email"),
        ("ann@", PASSWORD, "invalid_email"),
        ("a b@example.org", PASSWORD, "invalid_email"),
        ("a" * 250 + "@example.org", PASSWORD, "invalid_email"),
        ("ann@example.org", "123456789", "password_too_short"),
        ("ann@example.org", "x" * 1025, "password_too_long"),
    ],
)
def test_check_credentials(email: str, password: str, code: str) -> None:
    with pytest.raises(ServiceError) as refused:
        service.check_credentials(email, password)
    assert refused.value.code == code


def test_accepts_a_local_address() -> None:
    assert service.check_credentials("admin@localhost", "1234567890") == "admin@localhost"


async def test_create_session_and_invites_from_the_shell(
    registry: MemoryRegistry, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, public_url="https://accord.example.org/")
    playbooks = Playbooks(settings.protocols_dir)
    session = await service.create_session(registry, playbooks, "check-in", "", None, 10.0)
    assert session.title == "Check-in"
    assert session.created_by is None
    invite, token, url = await service.create_invite(
        settings, registry, session, "partner_b", 120, 10.0
    )
    assert url == f"https://accord.example.org/join#{token}"
    assert invite.expires_at == 130.0
    assert verify_invite_token(settings.secret_key, token, 11.0).seat == "partner_b"
    actions = [(e.actor, e.action) for e in await registry.audit_entries(session.id)]
    assert actions == [("shell", "session.create"), ("shell", "invite.create")]
    for seat, ttl in (("chair", None), ("partner_a", 0)):
        with pytest.raises(ServiceError) as refused:
            await service.create_invite(settings, registry, session, seat, ttl, 10.0)
        assert refused.value.code == "invalid_request"


async def test_export_over_the_memory_store(registry: MemoryRegistry, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    log = MemoryEventLog()
    session = await service.create_session(
        registry, Playbooks(settings.protocols_dir), "check-in", None, None, 1.0
    )
    exported = await service.export_session(registry, log, session, 2.0, actor="mediator:m1")
    assert exported["events"] == []
    assert exported["epoch"] == (await log.head(session.id)).epoch
    await log.close()


async def test_ensure_setup_link(registry: MemoryRegistry, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, public_url="https://a.example")
    link = await ensure_setup_link(settings, registry, now=100.0)
    assert link is not None and link.startswith("https://a.example/setup#")
    token = link.split("#", 1)[1]
    # Valid for 24 hours, once.
    assert not await registry.use_setup_token(hash_setup_token(token), 100.0 + 24 * 3600)
    assert await registry.use_setup_token(hash_setup_token(token), 100.0 + 24 * 3600 - 1)
    assert not await registry.use_setup_token(hash_setup_token(token), 101.0)
    await service.add_mediator(registry, "ann@example.org", PASSWORD, 1.0)
    assert await ensure_setup_link(settings, registry) is None


# playbooks


def test_playbooks_in_a_missing_folder(tmp_path: Path) -> None:
    shelf = Playbooks(tmp_path / "nowhere")
    assert shelf.names() == []
    assert shelf.available() == []
    with pytest.raises(ServiceError) as refused:
        shelf.load("check-in")
    assert refused.value.code == "playbook_not_found"
    assert "(none installed)" in refused.value.message


def test_an_unreadable_playbook_is_invalid(tmp_path: Path) -> None:
    (tmp_path / "latin.toml").write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(ServiceError) as refused:
        Playbooks(tmp_path).load("latin")
    assert refused.value.code == "playbook_invalid"
    assert Playbooks(tmp_path).available() == []


def test_playbook_names_are_plain(tmp_path: Path) -> None:
    (tmp_path / "good-one.toml").write_text("")
    (tmp_path / "with space.toml").write_text("")
    (tmp_path / "dir.toml").mkdir()
    assert Playbooks(tmp_path).names() == ["good-one"]


# the login throttle


def test_throttle_window() -> None:
    throttle = LoginThrottle(limit=2, window_s=10)
    throttle.failed("a", 0)
    assert not throttle.blocked("a", 1)
    throttle.failed("a", 1)
    assert throttle.blocked("a", 2)
    assert not throttle.blocked("a", 10.5)  # the first failure aged out
    throttle.succeeded("a")
    assert not throttle.blocked("a", 3)


def test_throttle_memory_is_bounded() -> None:
    throttle = LoginThrottle(limit=1, window_s=10, max_keys=3)
    for key in "abc":
        throttle.failed(key, 0)
    throttle.failed("d", 1)  # full, nothing aged out: the oldest key goes
    assert not throttle.blocked("a", 1)
    assert throttle.blocked("d", 1)
    throttle.failed("e", 20)  # everything before has aged out
    assert [k for k in "bcde" if throttle.blocked(k, 20)] == ["e"]
