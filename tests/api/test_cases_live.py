"""Cases against a real `accord serve`: names from the case in the live session,
renames in the session that come back to the case, and a case renamed over
HTTP that renames its open sessions (api/cases.py, hub `rename`, core `names.set`).

The server is the hub tests' `Server` (tests/hub/hubtest.py) and the seats its
Python Socket.IO clients, which check the delivery rules as events arrive.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hub"))
from hubtest import (
    ACCORD,
    MEDIATOR_EMAIL,
    PASSWORD,
    SEATS,
    Api,
    Seat,
    Server,
    SessionKeys,
    clean_env,
    count_type,
    write_protocols,
)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[Server]:
    data_dir = tmp_path / "data"
    where = ["--data-dir", str(data_dir)]
    subprocess.run(
        [str(ACCORD), "mediator", "add", MEDIATOR_EMAIL, "--password-stdin", *where],
        input=PASSWORD + "\n",
        env=clean_env(),
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    process = Server(data_dir, write_protocols(tmp_path / "protocols"), tmp_path / "server.log")
    await process.start()
    try:
        yield process
    finally:
        process.stop()
    assert not process.log_errors(), process.log()


@pytest.fixture
async def api(server: Server) -> AsyncIterator[Api]:
    client = Api(server.url)
    try:
        await client.login(MEDIATOR_EMAIL, PASSWORD)
        yield client
    finally:
        await client.close()


async def call(api: Api, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    async with api.http.request(method, path, json=body) as response:
        return response.status, await response.json()


async def session_in(api: Api, case_id: str) -> SessionKeys:
    status, session = await call(
        api, "POST", f"/api/cases/{case_id}/sessions", {"playbook": "quick-dialogue"}
    )
    assert status == 201, session
    tokens, invites = {}, {}
    for seat in SEATS:
        invite = await api.invite(session["id"], seat)
        tokens[seat], invites[seat] = invite["token"], invite["invite_id"]
    return SessionKeys(id=session["id"], tokens=tokens, invites=invites)


async def joined(server: Server, keys: SessionKeys) -> list[Seat]:
    seats = []
    for seat in SEATS:
        client = Seat(server.url, keys.tokens[seat], seat)
        await client.connect()
        await client.join()
        seats.append(client)
    return seats


def names_of(seat: Seat) -> dict[str, str]:
    state = seat.states[-1] if seat.states else seat.snapshots[-1]["state"]
    names: dict[str, str] = state["names"]
    return names


async def test_names_follow_the_case_into_its_sessions_and_back(server: Server, api: Api) -> None:
    status, case = await call(api, "POST", "/api/cases", {"name_a": "Sam", "name_b": "Alex"})
    assert status == 201, case
    keys = await session_in(api, case["id"])
    seats = await joined(server, keys)
    mediator, a, b = seats
    try:
        # Every seat starts with the case's names, from the session's first event.
        for seat in seats:
            assert seat.snapshots[-1]["state"]["names"] == {"partner_a": "Sam", "partner_b": "Alex"}
            assert seat.events[0]["type"] == "names.changed"
            assert seat.events[0]["actor"] == "system"
        assert b.snapshots[-1]["state"]["hints"]["names.set"] == {
            "seats": ["partner_b"],
            "max_chars": 40,
        }

        # A partner renames themselves: everyone is told, and the case follows.
        await b.ok("names.set", seat="partner_b", name="  Robin ")
        for seat in seats:
            await seat.until_type("names.changed", 2)
            assert names_of(seat) == {"partner_a": "Sam", "partner_b": "Robin"}
        status, found = await call(api, "GET", f"/api/cases/{case['id']}")
        assert found["names"] == {"partner_a": "Sam", "partner_b": "Robin"}

        # Never the other partner's name; nor an empty or a long one.
        assert await b.refused("names.set", seat="partner_a", name="Nobody") == "not_your_name"
        assert await a.refused("names.set", seat="partner_a", name="   ") == "name_empty"
        assert await a.refused("names.set", seat="partner_a", name="x" * 41) == "name_too_long"
        assert await a.refused("names.set", seat="partner_a", name="x" * 201) == "invalid_command"
        assert count_type(a.events, "names.changed") == 2

        # The mediator renames the case over HTTP: its open session follows.
        status, renamed = await call(api, "PATCH", f"/api/cases/{case['id']}", {"name_a": "Kai"})
        assert status == 200, renamed
        assert renamed["renamed_in"] == [keys.id]
        for seat in seats:
            await seat.until_type("names.changed", 3)
            assert names_of(seat) == {"partner_a": "Kai", "partner_b": "Robin"}
        assert a.events[-1]["actor"] == "mediator" and a.events[-1]["seat"] == "partner_a"

        # The mediator in the session: names either partner, and the case follows.
        await mediator.ok("names.set", seat="partner_a", name="Kai L.")
        await a.until_type("names.changed", 4)
        status, found = await call(api, "GET", f"/api/cases/{case['id']}")
        assert found["names"] == {"partner_a": "Kai L.", "partner_b": "Robin"}

        # The next session of the case starts with the names as they are now.
        second = await session_in(api, case["id"])
        later = Seat(server.url, second.tokens["partner_a"], "partner_a")
        seats.append(later)
        await later.connect()
        await later.join()
        assert later.snapshots[-1]["state"]["names"] == {
            "partner_a": "Kai L.",
            "partner_b": "Robin",
        }
        status, found = await call(api, "GET", f"/api/cases/{case['id']}")
        assert [s["id"] for s in found["sessions"]] == [keys.id, second.id]

        # An ended session keeps its names when the case is renamed again.
        await mediator.ok("session.end", reason="Out of time.")
        await a.until_type("session.ended")
        status, renamed = await call(api, "PATCH", f"/api/cases/{case['id']}", {"name_b": "Rob"})
        assert renamed["renamed_in"] == [second.id]
        assert names_of(a)["partner_b"] == "Robin"
        for seat in seats:
            seat.check()
    finally:
        for seat in seats:
            await seat.close()


async def test_a_session_on_its_own_names_nobody_but_may_be_named(server: Server, api: Api) -> None:
    status, session = await call(api, "POST", "/api/sessions", {"playbook": "quick-dialogue"})
    assert status == 201 and session["case_id"] is None
    tokens = {seat: (await api.invite(session["id"], seat))["token"] for seat in SEATS}
    keys = SessionKeys(id=session["id"], tokens=tokens, invites={})
    seats = await joined(server, keys)
    try:
        for seat in seats:
            assert seat.snapshots[-1]["state"]["names"] == {"partner_a": "", "partner_b": ""}
            assert seat.events == []
        await seats[1].ok("names.set", seat="partner_a", name="Sam")
        await seats[2].until_type("names.changed")
        assert names_of(seats[2]) == {"partner_a": "Sam", "partner_b": ""}
    finally:
        for seat in seats:
            await seat.close()
