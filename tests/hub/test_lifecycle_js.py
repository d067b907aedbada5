"""How a connection ends, as the official JS client sees it (issue 9).

tests/js/lifecycle.mjs drives socket.io-client 4 with socket.io-msgpack-parser
3, configured like a page (automatic reconnection on). When the server ends a
connection for good (a newer connection took the seat, the invite was
revoked) the client must report `io server disconnect`, must have handed the
`notice` to the application before that, and must not reconnect by itself.
Before the packet fix, the DISCONNECT packet carried `data: nil`, the parser
called it a parse error, the notice was often lost and the client came back:
two devices of one partner took the seat from each other in a loop.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hubtest import JS_DIR, Api, Server

TRIES = 100
#: How long a client is watched for a reconnection it must not make.
QUIET_S = 0.3


class Driver:
    """lifecycle.mjs under node: open and close JS clients, read what they report."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.reports: dict[str, list[dict[str, Any]]] = {}
        #: A client's id as last opened (open_joined may have retried it).
        self.aliases: dict[str, str] = {}
        self._changed = asyncio.Event()
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            report = json.loads(line)
            self.reports.setdefault(report["id"], []).append(report)
            self._changed.set()

    async def send(self, **command: Any) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def open_joined(self, client: str, url: str, token: str) -> None:
        """Open a client and wait for its join's ack. A handshake draws on the
        seat's rate limit: one refused `rate_limited` is opened again a moment
        later (the next try under a suffixed id)."""
        name = client
        for attempt in range(50):
            await self.send(op="open", id=name, url=url, token=token)
            report = await self.until_any(name, ("joined", "connect_error"))
            if report["event"] == "joined" and report["ack"]["ok"]:
                self.aliases[client] = name
                return
            refusal = report["ack"]["error"] if report["event"] == "joined" else report["data"]
            assert refusal["code"] == "rate_limited", report
            await self.send(op="close", id=name)
            await asyncio.sleep(0.1)
            name = f"{client}~{attempt + 1}"
        raise AssertionError(f"{client} never joined")

    async def until_any(self, client: str, events: tuple[str, ...]) -> dict[str, Any]:
        for _ in range(100):
            for report in self.reports.get(client, []):
                if report["event"] in events:
                    return report
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 5.0)
            except TimeoutError:
                break
        raise AssertionError(f"{client}: none of {events} in {self.reports.get(client)}")

    def events(self, client: str) -> list[str]:
        return [r["event"] for r in self.reports.get(client, [])]

    async def until(self, client: str, event: str, timeout: float = 5.0) -> dict[str, Any]:
        async def found() -> dict[str, Any]:
            while True:
                for report in self.reports.get(client, []):
                    if report["event"] == event:
                        return report
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(found(), timeout)
        except TimeoutError:
            raise AssertionError(f"{client}: no {event} in {self.reports.get(client)}") from None

    async def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        finally:
            self._reader.cancel()


@pytest.fixture
async def driver(node: str) -> AsyncIterator[Driver]:
    process = await asyncio.create_subprocess_exec(
        node,
        str(JS_DIR / "lifecycle.mjs"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    driver = Driver(process)
    try:
        yield driver
    finally:
        await driver.close()


def assert_ended_for_good(driver: Driver, client: str, code: str) -> None:
    reports = driver.reports[client]
    notices = [r["notice"]["code"] for r in reports if r["event"] == "notice"]
    disconnects = [r for r in reports if r["event"] == "disconnect"]
    assert notices == [code], reports
    assert [d["reason"] for d in disconnects] == ["io server disconnect"], reports
    assert disconnects[0]["notices"] == 1, "the notice must reach the app before the disconnect"
    assert "reconnected" not in driver.events(client), reports


async def test_a_superseded_js_client_ends_cleanly_and_does_not_come_back(
    server: Server, driver: Driver
) -> None:
    keys = await server.create_session()
    token = keys.tokens["partner_a"]
    await driver.open_joined("c0", server.url, token)
    for i in range(1, TRIES + 1):
        await driver.open_joined(f"c{i}", server.url, token)
        old = driver.aliases[f"c{i - 1}"]
        await driver.until(old, "disconnect")
        await asyncio.sleep(QUIET_S if i % 10 == 0 else 0.02)
        assert_ended_for_good(driver, old, "superseded")
        await driver.send(op="close", id=old)
    # The last one holds the seat, undisturbed: no device took it back.
    assert driver.events(driver.aliases[f"c{TRIES}"]) == ["joined"]


async def test_two_devices_of_one_seat_do_not_take_it_from_each_other(
    server: Server, driver: Driver
) -> None:
    keys = await server.create_session()
    token = keys.tokens["partner_b"]
    await driver.send(op="open", id="phone", url=server.url, token=token)
    await driver.until("phone", "joined")
    await driver.send(op="open", id="laptop", url=server.url, token=token)
    await driver.until("laptop", "joined")
    await driver.until("phone", "disconnect")
    await asyncio.sleep(2.0)  # time enough for several rounds of reconnection
    assert_ended_for_good(driver, "phone", "superseded")
    assert driver.events("laptop") == ["joined"]


async def test_a_revoked_js_client_ends_cleanly_and_does_not_come_back(
    server: Server, api: Api, driver: Driver
) -> None:
    keys = await server.create_session()
    for i in range(TRIES):
        invite = await api.invite(keys.id, "partner_a")
        await driver.open_joined(f"r{i}", server.url, invite["token"])
        client = driver.aliases[f"r{i}"]
        await api.revoke(keys.id, invite["invite_id"])
        await driver.until(client, "disconnect")
        await asyncio.sleep(QUIET_S if i % 10 == 0 else 0.02)
        assert_ended_for_good(driver, client, "token_revoked")
        await driver.send(op="close", id=client)
