"""Races between a seat's join, its disconnect, a newer device and a revocation.

The server runs in this process (a real uvicorn on a free port, the real
Socket.IO stack, a real SQLite file) so that a test can hold the store's reads
at a gate: that is how a join or a connect is caught half-way, as a slow disk
or a loaded machine would catch it, and the other party acts meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import socketio
import uvicorn
from hubtest import WAIT_S, Seat, free_port, start_dialogue, write_protocols

from accord.api import service
from accord.api.playbooks import Playbooks
from accord.app import AccordApp
from accord.hub.server import Hub
from accord.settings import Settings
from accord.store.base import Invite, Record, SessionInfo, Unavailable
from accord.store.sqlite import SqliteStore


class GatedStore(SqliteStore):
    """The real SQLite store, whose log reads can be held at a gate or made to
    fail, so a test decides when a join or a session load goes on."""

    gate: asyncio.Event | None = None
    waiting: asyncio.Event
    failing: bool = False

    async def read(
        self, session_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Record]:
        if self.failing:
            raise Unavailable("the test made the disk fail")
        if self.gate is not None:
            self.waiting.set()
            await self.gate.wait()
        return await super().read(session_id, after_seq, limit)

    def hold(self) -> None:
        self.gate, self.waiting = asyncio.Event(), asyncio.Event()

    def release(self) -> None:
        assert self.gate is not None
        gate, self.gate = self.gate, None
        gate.set()


@dataclasses.dataclass
class InProcess:
    url: str
    app: AccordApp
    store: GatedStore
    session_id: str
    tokens: dict[str, str]
    invites: dict[str, Invite]
    seats: list[Seat]

    @property
    def hub(self) -> Hub:
        assert self.app.hub is not None
        return self.app.hub

    def seat(self, name: str) -> Seat:
        seat = Seat(self.url, self.tokens[name], name)
        self.seats.append(seat)
        return seat

    async def joined(self, name: str) -> Seat:
        seat = self.seat(name)
        await seat.connect()
        await seat.join()
        return seat


@pytest.fixture
async def inproc(tmp_path: Path) -> AsyncIterator[InProcess]:
    protocols = write_protocols(tmp_path / "protocols")
    port = free_port()
    settings = Settings(
        data_dir=tmp_path / "data",
        protocols_dir=protocols,
        port=port,
        grace_period_s=0.5,
        gc_tuning=False,
        log_level="warning",
    )
    store = await GatedStore.open(settings.database_path)
    now = time.time()
    info = await service.create_session(store, Playbooks(protocols), "open-floor", None, None, now)
    tokens: dict[str, str] = {}
    invites: dict[str, Invite] = {}
    for name in ("mediator", "partner_a", "partner_b"):
        invite, token, _ = await service.create_invite(settings, store, info, name, None, now)
        invites[name], tokens[name] = invite, token
    app = AccordApp(settings, store=store, announce=lambda _: None)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            ws="websockets-sansio",
            ws_per_message_deflate=False,
            log_level="warning",
            lifespan="on",
        )
    )
    serving = asyncio.ensure_future(server.serve())
    deadline = time.monotonic() + WAIT_S
    while not server.started:
        assert not serving.done(), "uvicorn did not start"
        assert time.monotonic() < deadline, "uvicorn did not start in time"
        await asyncio.sleep(0.02)
    world = InProcess(settings.base_url, app, store, info.id, tokens, invites, [])
    try:
        yield world
    finally:
        if store.gate is not None:
            store.release()
        for seat in world.seats:
            with contextlib.suppress(Exception):
                await seat.close()
        server.should_exit = True
        await serving
        await store.close()


def statuses(seat: Seat, of: str) -> list[str]:
    return [p["status"] for p in seat.presence if p["seat"] == of]


async def test_a_disconnect_during_the_join_leaves_no_phantom_seat(inproc: InProcess) -> None:
    m = await inproc.joined("mediator")
    await m.ok("note", text="Something for the partner's join to read.")
    a = inproc.seat("partner_a")
    await a.connect()
    assert a.client is not None
    inproc.store.hold()
    join = asyncio.ensure_future(a.client.call("join", {"last_seq": 0}, timeout=WAIT_S))
    await asyncio.wait_for(inproc.store.waiting.wait(), WAIT_S)  # the join reads the log
    await a.close()  # the phone loses its network right then
    await asyncio.sleep(0.1)  # the server handles the disconnect while the join waits
    inproc.store.release()
    with contextlib.suppress(Exception):
        await join  # the client is gone: no ack reaches it
    live = inproc.hub.sessions[inproc.session_id]
    await asyncio.sleep(0.1)
    assert "partner_a" not in live.seats
    assert live.presence.get("partner_a") != "joined"
    assert "joined" not in statuses(m, "partner_a")
    assert not any(c.seat == "partner_a" for c in inproc.hub.connections.values())


async def test_an_old_connection_cannot_take_the_seat_back_from_a_newer_one(
    inproc: InProcess,
) -> None:
    m = await inproc.joined("mediator")
    await m.ok("note", text="History to read on join.")
    old = await inproc.joined("partner_a")
    new = inproc.seat("partner_a")
    await new.connect()
    assert old.client is not None and new.client is not None
    inproc.store.hold()
    new_join = asyncio.ensure_future(new.client.call("join", {"last_seq": 0}, timeout=WAIT_S))
    await asyncio.wait_for(inproc.store.waiting.wait(), WAIT_S)  # the new device's join
    # The old device resumes at the same moment; its join waits behind the new one.
    old_join = asyncio.ensure_future(old.client.call("join", {"last_seq": 0}, timeout=WAIT_S))
    await asyncio.sleep(0.1)
    inproc.store.release()
    assert (await new_join)["ok"] is True
    with contextlib.suppress(Exception):
        answer: Any = await old_join  # superseded: refused, or cut off before the ack
        assert answer["ok"] is False and answer["error"]["code"] == "not_joined", answer
    await old.wait_disconnected()
    await asyncio.sleep(0.2)
    live = inproc.hub.sessions[inproc.session_id]
    assert new.client is not None and new.connected
    assert live.seats["partner_a"] == new.client.get_sid("/")
    assert [n["code"] for n in old.notices] == ["superseded"]
    assert new.notices == []
    assert await new.ok("timeout.call")  # the newer device holds the seat


async def test_an_invite_revoked_while_its_connect_loads_the_session_is_refused(
    inproc: InProcess,
) -> None:
    a = inproc.seat("partner_a")
    inproc.store.hold()  # nobody joined yet: the connect loads the session from the log
    connecting = asyncio.ensure_future(a.connect())
    await asyncio.wait_for(inproc.store.waiting.wait(), WAIT_S)
    invite = await inproc.store.revoke_invite(inproc.invites["partner_a"].id, time.time())
    assert invite is not None
    await inproc.hub.revoke(invite)  # what the API does: it finds no connection yet
    inproc.store.release()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connecting
    assert a.connect_error is not None and a.connect_error["code"] == "token_revoked"
    assert not any(c.seat == "partner_a" for c in inproc.hub.connections.values())


async def test_joining_again_on_one_connection_is_quiet_and_limited(inproc: InProcess) -> None:
    m = await inproc.joined("mediator")
    a = await inproc.joined("partner_a")
    await m.until(lambda _: "joined" in statuses(m, "partner_a"))
    codes = []
    for _ in range(60):
        ack = await a.emit("join", {"last_seq": a.last_seq, "epoch": a.epoch})
        codes.append("ok" if ack["ok"] else ack["error"]["code"])
    assert codes.count("ok") >= 20
    assert "rate_limited" in codes  # the same budget as commands: 20/s, bursts of 40
    await m.ok("note", text="A marker after the joins.")
    assert statuses(m, "partner_a") == ["joined"]  # the re-joins told nobody anything


async def test_a_store_failure_while_loading_answers_unavailable(inproc: InProcess) -> None:
    a = inproc.seat("partner_a")
    await a.connect()  # loads the session; nobody joins it, so it leaves memory
    hub = inproc.hub
    await hub._evict(hub.sessions[inproc.session_id])
    inproc.store.failing = True
    ack = await a.emit("join", {})
    assert ack == {
        "ok": False,
        "error": {"code": "unavailable", "message": ack["error"]["message"]},
    }
    inproc.store.failing = False
    assert (await a.join())["ok"] is True  # the same connection, once the disk is back
    m = await inproc.joined("mediator")
    await start_dialogue(m)
    assert await a.ok("floor.request")


async def test_a_join_that_loses_its_connection_keeps_the_grace_period(
    inproc: InProcess,
) -> None:
    m = await inproc.joined("mediator")
    await m.ok("note", text="History to read on join.")
    a = await inproc.joined("partner_a")
    await a.close()  # the phone drops: reconnecting, for the grace period (0.5 s)
    await m.until(lambda _: statuses(m, "partner_a")[-1:] == ["reconnecting"])
    again = inproc.seat("partner_a")
    await again.connect()
    assert again.client is not None
    inproc.store.hold()
    join = asyncio.ensure_future(again.client.call("join", {"last_seq": 0}, timeout=WAIT_S))
    await asyncio.wait_for(inproc.store.waiting.wait(), WAIT_S)
    await again.close()  # and drops again while its history is read
    await asyncio.sleep(0.1)
    inproc.store.release()
    with contextlib.suppress(Exception):
        await join
    # The grace period was not spent by the join that failed: the seat leaves.
    await m.until(lambda _: statuses(m, "partner_a")[-1:] == ["left"])
    assert "partner_a" not in inproc.hub.sessions[inproc.session_id].seats


async def test_a_session_made_under_older_rules_still_opens(inproc: InProcess) -> None:
    """A playbook rule added later (`break_interval`) does not lock a session
    out of its own record: its stored playbook is read back, not re-judged."""
    source = (inproc.store.path.parent.parent / "protocols" / "open-floor.toml").read_text()
    source = source.replace("max_minutes = 1", "max_minutes = 1\nevery_minutes = 0.001")
    info = SessionInfo(
        id="olderrulesxxxxxx",
        title="From last year",
        playbook_name="open-floor",
        playbook_source=source,
        created_by=None,
        created_at=time.time(),
        status="open",
    )
    await inproc.store.add_session(info)
    _, token, _ = await service.create_invite(
        inproc.app.settings, inproc.store, info, "mediator", None, time.time()
    )
    m = Seat(inproc.url, token, "mediator")
    inproc.seats.append(m)
    await m.connect()
    await m.join()
    assert m.snapshots[-1]["state"]["playbook"]["time_out"]["every_minutes"] == 0.001
    assert await m.ok("note", text="It opens.")
