"""Sessions, invites, playbooks and exports over HTTP: shapes, ownership, tokens, audit."""

from __future__ import annotations

import math
from typing import Any

import httpx
import msgpack
import pytest
from apitest import FakeClock, Revocations, error_of, login, make_mediator

from accord.api import service
from accord.api.playbooks import Playbooks
from accord.core.codec import encode_event
from accord.core.events import StatementMade, TimeOutReason
from accord.security import TokenError, verify_invite_token
from accord.settings import Settings
from accord.store.base import SEATS, Mediator, NewRecord, audience_mask
from accord.store.sqlite import SqliteStore


async def new_session(client: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/sessions", json={"playbook": "speaker-listener", **body})
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def new_invite(client: httpx.AsyncClient, session_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        f"/api/sessions/{session_id}/invites", json={"seat": "partner_a", **body}
    )
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


async def other_mediators_session(store: SqliteStore, settings: Settings, now: float) -> str:
    bob = await make_mediator(store, "bob@example.org")
    session = await service.create_session(
        store, Playbooks(settings.protocols_dir), "check-in", None, bob.id, now
    )
    return session.id


# login is required everywhere but setup and login


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/playbooks"),
        ("GET", "/api/sessions"),
        ("POST", "/api/sessions"),
        ("GET", "/api/sessions/x"),
        ("POST", "/api/sessions/x/invites"),
        ("DELETE", "/api/sessions/x/invites/y"),
        ("GET", "/api/sessions/x/export"),
    ],
)
async def test_login_required(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path, json={"playbook": "speaker-listener"})
    assert response.status_code == 401
    assert error_of(response) == "login_required"


# playbooks


async def test_playbooks_lists_the_loadable_ones(
    client: httpx.AsyncClient, mediator: Mediator
) -> None:
    response = await client.get("/api/playbooks")
    assert response.status_code == 200
    listed = response.json()
    assert [p["name"] for p in listed] == ["check-in", "speaker-listener"]  # broken.toml left out
    assert listed[1]["title"] == "Speaker-Listener (PREP)"
    assert listed[1]["description"].startswith("Short statements")


# sessions


async def test_create_session(
    client: httpx.AsyncClient,
    mediator: Mediator,
    store: SqliteStore,
    settings: Settings,
    clock: FakeClock,
) -> None:
    created = await new_session(client)
    assert created == {
        "id": created["id"],
        "title": "Speaker-Listener (PREP)",
        "playbook": "speaker-listener",
        "created_at": clock.now,
        "created_by": mediator.id,
        "status": "open",
        "case_id": None,
    }
    assert len(created["id"]) >= 16
    stored = await store.get_session(created["id"])
    assert stored is not None
    source = (settings.protocols_dir / "speaker-listener.toml").read_text()
    assert stored.playbook_source == source
    audit = await store.audit_entries(created["id"])
    assert [(e.action, e.actor) for e in audit] == [("session.create", f"mediator:{mediator.id}")]


async def test_create_session_with_a_title(client: httpx.AsyncClient, mediator: Mediator) -> None:
    assert (await new_session(client, title="  Ann & Bo  "))["title"] == "Ann & Bo"
    too_long = await client.post("/api/sessions", json={"playbook": "check-in", "title": "x" * 201})
    assert too_long.status_code == 422
    assert error_of(too_long) == "invalid_request"


@pytest.mark.parametrize("name", ["nope", "../protocols/broken", "notes", ".hidden"])
async def test_create_session_with_an_unknown_playbook(
    client: httpx.AsyncClient, mediator: Mediator, name: str
) -> None:
    response = await client.post("/api/sessions", json={"playbook": name})
    assert response.status_code == 404
    assert error_of(response) == "playbook_not_found"
    assert "speaker-listener" in response.json()["error"]["message"]


async def test_create_session_with_a_broken_playbook(
    client: httpx.AsyncClient, mediator: Mediator
) -> None:
    response = await client.post("/api/sessions", json={"playbook": "broken"})
    assert response.status_code == 422
    assert error_of(response) == "playbook_invalid"
    assert "broken.toml:9: bad_value" in response.json()["error"]["message"]


async def test_list_sessions_shows_own_and_shell_sessions_newest_first(
    client: httpx.AsyncClient,
    mediator: Mediator,
    store: SqliteStore,
    settings: Settings,
    clock: FakeClock,
) -> None:
    first = await new_session(client)
    clock.advance(1)
    shell = await service.create_session(
        store, Playbooks(settings.protocols_dir), "check-in", None, None, clock.now
    )
    clock.advance(1)
    await other_mediators_session(store, settings, clock.now)
    response = await client.get("/api/sessions")
    assert response.status_code == 200
    assert [s["id"] for s in response.json()] == [shell.id, first["id"]]


async def test_get_session_with_invites(
    client: httpx.AsyncClient, mediator: Mediator, clock: FakeClock, settings: Settings
) -> None:
    created = await new_session(client)
    invite = await new_invite(client, created["id"])
    response = await client.get(f"/api/sessions/{created['id']}")
    assert response.status_code == 200
    assert response.json() == {
        **created,
        "invites": [
            {
                "id": invite["invite_id"],
                "seat": "partner_a",
                "created_at": clock.now,
                "expires_at": clock.now + settings.invite_ttl_s,
                "revoked": False,
            }
        ],
    }


async def test_other_mediators_sessions_are_not_found(
    client: httpx.AsyncClient,
    mediator: Mediator,
    store: SqliteStore,
    settings: Settings,
    clock: FakeClock,
) -> None:
    theirs = await other_mediators_session(store, settings, clock.now)
    invite = await service.create_invite(
        settings, store, (await store.get_session(theirs)) or pytest.fail(), "partner_a", None, 0
    )
    for method, path in [
        ("GET", f"/api/sessions/{theirs}"),
        ("POST", f"/api/sessions/{theirs}/invites"),
        ("DELETE", f"/api/sessions/{theirs}/invites/{invite[0].id}"),
        ("GET", f"/api/sessions/{theirs}/export"),
        ("GET", "/api/sessions/no-such-session"),
    ]:
        response = await client.request(method, path, json={"seat": "partner_a"})
        assert response.status_code == 404, (method, path)
        assert error_of(response) == "session_not_found"
    assert (await store.get_invite(invite[0].id)) == invite[0]  # not revoked


async def test_shell_sessions_are_every_mediators(
    client: httpx.AsyncClient,
    mediator: Mediator,
    store: SqliteStore,
    settings: Settings,
    clock: FakeClock,
) -> None:
    shell = await service.create_session(
        store, Playbooks(settings.protocols_dir), "check-in", None, None, clock.now
    )
    assert (await client.get(f"/api/sessions/{shell.id}")).status_code == 200
    assert (await new_invite(client, shell.id))["seat"] == "partner_a"


# invites


async def test_create_invite(
    client: httpx.AsyncClient,
    mediator: Mediator,
    store: SqliteStore,
    settings: Settings,
    clock: FakeClock,
) -> None:
    session = await new_session(client)
    for seat in SEATS:
        invite = await new_invite(client, session["id"], seat=seat)
        assert set(invite) == {"invite_id", "seat", "token", "join_url", "expires_at"}
        assert invite["seat"] == seat
        assert invite["join_url"] == f"{settings.base_url}/join#{invite['token']}"
        assert invite["expires_at"] == clock.now + settings.invite_ttl_s
        claims = verify_invite_token(settings.secret_key, invite["token"], clock.now)
        assert (claims.session_id, claims.seat, claims.invite_id) == (
            session["id"],
            seat,
            invite["invite_id"],
        )
        # The token's whole second is rounded up; the hub checks the invite's
        # own expires_at, exactly, for the connection's whole life.
        with pytest.raises(TokenError) as expired:
            verify_invite_token(settings.secret_key, invite["token"], invite["expires_at"] + 1)
        assert expired.value.code == "token_expired"
        audit = [e for e in await store.audit_entries(session["id"]) if e.action == "invite.create"]
        assert audit[-1].actor == f"mediator:{mediator.id}"
        assert invite["invite_id"] in audit[-1].detail
        assert invite["token"] not in audit[-1].detail


async def test_create_invite_with_a_ttl(
    client: httpx.AsyncClient, mediator: Mediator, settings: Settings, clock: FakeClock
) -> None:
    session = await new_session(client)
    invite = await new_invite(client, session["id"], ttl_s=3600)
    assert invite["expires_at"] == clock.now + 3600
    claims = verify_invite_token(settings.secret_key, invite["token"], clock.now + 3599)
    assert claims.expires_at == math.ceil(clock.now + 3600)


@pytest.mark.parametrize(
    "body",
    [
        {"seat": "partner_c"},
        {},
        {"seat": "partner_a", "ttl_s": 59},
        {"seat": "partner_a", "ttl_s": 91 * 24 * 3600},
        {"seat": "partner_a", "ttl_s": "1h"},
        {"seat": "partner_a", "extra": 1},
    ],
)
async def test_create_invite_refuses_bad_bodies(
    client: httpx.AsyncClient, mediator: Mediator, body: dict[str, Any]
) -> None:
    session = await new_session(client)
    response = await client.post(f"/api/sessions/{session['id']}/invites", json=body)
    assert response.status_code == 422
    assert error_of(response) == "invalid_request"


async def test_no_invites_to_an_ended_session(
    client: httpx.AsyncClient, mediator: Mediator, store: SqliteStore
) -> None:
    session = await new_session(client)
    await store.set_session_status(session["id"], "ended")
    response = await client.post(
        f"/api/sessions/{session['id']}/invites", json={"seat": "partner_a"}
    )
    assert response.status_code == 409
    assert error_of(response) == "session_ended"


async def test_revoke_invite(
    client: httpx.AsyncClient,
    mediator: Mediator,
    store: SqliteStore,
    revocations: Revocations,
    clock: FakeClock,
) -> None:
    session = await new_session(client)
    invite = await new_invite(client, session["id"])
    clock.advance(5)
    path = f"/api/sessions/{session['id']}/invites/{invite['invite_id']}"
    response = await client.delete(path)
    assert response.status_code == 200
    assert response.json()["revoked"] is True
    assert response.json()["id"] == invite["invite_id"]
    stored = await store.get_invite(invite["invite_id"])
    assert stored is not None and stored.revoked_at == clock.now
    assert revocations.invites == [stored]
    listed = (await client.get(f"/api/sessions/{session['id']}")).json()["invites"]
    assert listed[0]["revoked"] is True
    # Again: still revoked at the first time, and the hub is told again (harmless).
    clock.advance(5)
    assert (await client.delete(path)).status_code == 200
    assert (await store.get_invite(invite["invite_id"])) == stored
    assert len(revocations.invites) == 2
    audit = [e.action for e in await store.audit_entries(session["id"])]
    assert audit.count("invite.revoke") == 2


async def test_revoke_unknown_or_foreign_invite(
    client: httpx.AsyncClient, mediator: Mediator, revocations: Revocations
) -> None:
    one = await new_session(client)
    two = await new_session(client)
    invite = await new_invite(client, two["id"])
    for invite_id in ("nope", invite["invite_id"]):
        response = await client.delete(f"/api/sessions/{one['id']}/invites/{invite_id}")
        assert response.status_code == 404
        assert error_of(response) == "invite_not_found"
    assert revocations.invites == []


# export


async def test_export(
    client: httpx.AsyncClient,
    mediator: Mediator,
    store: SqliteStore,
    clock: FakeClock,
) -> None:
    session = await new_session(client)
    sid = session["id"]
    said = StatementMade(seat="partner_a", statement=1, text="I felt unheard")
    private = TimeOutReason(
        by="partner_b", reason="overwhelmed", audience=("mediator", "partner_b")
    )
    await store.append(
        sid,
        0,
        [
            NewRecord(clock.now, "partner_a", audience_mask(said.audience), encode_event(said)),
            NewRecord(
                clock.now + 1, "partner_b", audience_mask(private.audience), encode_event(private)
            ),
        ],
    )
    await store.count_refusal(sid, "partner_b", "not_your_turn")
    response = await client.get(f"/api/sessions/{sid}/export")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="accord-session-{sid}.json"'
    )
    assert response.headers["cache-control"] == "no-store"
    exported = response.json()
    assert exported["session"]["id"] == sid
    assert exported["session"]["playbook"] == "speaker-listener"
    assert exported["session"]["playbook_source"].startswith("#")
    assert exported["epoch"] == (await store.head(sid)).epoch
    assert exported["events"] == [
        {
            "seq": 1,
            "at": clock.now,
            "actor": "partner_a",
            "audience": ["mediator", "partner_a", "partner_b"],
            "type": "statement.made",
            "seat": "partner_a",
            "statement": 1,
            "text": "I felt unheard",
        },
        {
            "seq": 2,
            "at": clock.now + 1,
            "actor": "partner_b",
            "audience": ["mediator", "partner_b"],
            "type": "timeout.reason",
            "by": "partner_b",
            "reason": "overwhelmed",
        },
    ]
    assert exported["refusals"] == {"partner_b": {"not_your_turn": 1}}
    exports = [e for e in await store.audit_entries(sid) if e.action == "export"]
    assert [(e.actor, e.detail) for e in exports] == [(f"mediator:{mediator.id}", "2 events")]
    assert not any("unheard" in e.detail for e in await store.audit_entries())


async def test_export_of_an_empty_log_and_a_non_map_body(
    client: httpx.AsyncClient, mediator: Mediator, store: SqliteStore
) -> None:
    session = await new_session(client)
    sid = session["id"]
    empty = (await client.get(f"/api/sessions/{sid}/export")).json()
    assert empty["events"] == []
    assert empty["epoch"]
    await store.append(sid, 0, [NewRecord(1.5, "system", 1, msgpack.packb([1, 2]))])
    events = (await client.get(f"/api/sessions/{sid}/export")).json()["events"]
    assert events == [
        {"seq": 1, "at": 1.5, "actor": "system", "audience": ["mediator"], "value": [1, 2]}
    ]


async def test_a_second_mediator_sees_only_their_own(
    client: httpx.AsyncClient, mediator: Mediator, store: SqliteStore
) -> None:
    mine = await new_session(client)
    await make_mediator(store, "bob@example.org")
    await client.post("/api/logout")
    await login(client, "bob@example.org")
    assert (await client.get("/api/sessions")).json() == []
    response = await client.get(f"/api/sessions/{mine['id']}")
    assert error_of(response) == "session_not_found"
