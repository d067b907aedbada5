"""Helpers for the hub tests (conftest.py holds the fixtures): a real `accord serve`
subprocess, the real CLI, the HTTP API, and a Python Socket.IO seat that checks
the delivery rules (DESIGN.md, "The log, delivery and resume") as events arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import socketio

import accord
from accord.core import AnyEvent, fold, load_playbook, seat_update, seat_view

ACCORD = Path(sys.executable).parent / "accord"
REPO_PROTOCOLS = Path(accord.__file__).resolve().parents[2] / "protocols"
#: The official JS client's test seats (tests/js; `npm ci` there installs them).
JS_DIR = Path(__file__).resolve().parents[1] / "js"
SEATS = ("mediator", "partner_a", "partner_b")
PASSWORD = "correct horse battery staple"
MEDIATOR_EMAIL = "hub-tests@example.org"
#: How long a helper waits for something the server should do at once.
WAIT_S = 5.0

#: The shipped speaker-listener, with time-outs short enough that the server's
#: own timer ends one in about 1.2 s.
QUICK_PLAYBOOK = """\
name = "quick-dialogue"
title = "Quick speaker-listener (tests)"
version = 1

[time_out]
default_minutes = 0.02
min_minutes = 0.01
max_minutes = 1

[[phases]]
type = "lobby"

[[phases]]
type = "dialogue"
title = "Speaker-listener"
statement_max_chars = 500
paraphrase_required = true
auto_round_robin = true
first_speaker = "partner_a"
ends = "mediator"

[[phases]]
type = "debrief"
title = "Closing debrief"
"""

#: A dialogue where nobody holds the floor until the mediator grants it, so
#: both partners may request and withdraw the floor.
OPEN_FLOOR_PLAYBOOK = """\
name = "open-floor"
title = "Open floor (tests)"
version = 1

[time_out]
default_minutes = 0.02
min_minutes = 0.01
max_minutes = 1

[[phases]]
type = "lobby"

[[phases]]
type = "dialogue"
title = "Chaired dialogue"
auto_round_robin = false
ends = "mediator"

[[phases]]
type = "debrief"
title = "Closing debrief"
"""


def write_protocols(directory: Path) -> Path:
    """The shipped playbooks plus the test ones, in a folder for ACCORD_PROTOCOLS_DIR."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in REPO_PROTOCOLS.glob("*.toml"):
        shutil.copy(path, directory / path.name)
    (directory / "quick-dialogue.toml").write_text(QUICK_PLAYBOOK, encoding="utf-8")
    (directory / "open-floor.toml").write_text(OPEN_FLOOR_PLAYBOOK, encoding="utf-8")
    return directory


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env.update(extra)
    return env


# --- the server process -----------------------------------------------------------


class Server:
    """`accord serve` in a subprocess, on a fixed port and data dir across restarts."""

    def __init__(self, data_dir: Path, protocols_dir: Path, log_path: Path, **env: str) -> None:
        self.data_dir = data_dir
        self.protocols_dir = protocols_dir
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = clean_env(
            **{
                "ACCORD_PROTOCOLS_DIR": str(protocols_dir),
                "ACCORD_GRACE_PERIOD_S": "0.5",
                "ACCORD_PUBLIC_URL": self.url,
                **env,
            }
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    async def start(self) -> None:
        assert self.process is None, "already running"
        self.starts += 1
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts} ---\n".encode())
            log.flush()
            where = ["--data-dir", str(self.data_dir), "--port", str(self.port)]
            self.process = subprocess.Popen(
                [str(ACCORD), "serve", "--host", "127.0.0.1", *where],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await self._wait_ready()

    async def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        async with aiohttp.ClientSession() as http:
            while True:
                assert self.process is not None
                if self.process.poll() is not None:
                    raise AssertionError(f"accord serve exited early:\n{self.log()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            return
                if time.monotonic() > deadline:
                    raise AssertionError(f"accord serve did not answer /healthz:\n{self.log()}")
                await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush; only what was durable survives."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    async def restart(self) -> None:
        self.kill()
        await self.start()

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    async def metric(self, name: str) -> float:
        """One unlabelled value from /metrics (Prometheus text)."""
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.url}/metrics") as response,
        ):
            text = await response.text()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"no metric {name} in /metrics")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_errors(self) -> list[str]:
        """Tracebacks and errors in the server's log, but for the foreign-origin
        refusal engine.io logs at ERROR level the first time it happens."""
        return [
            line
            for line in self.log().splitlines()
            if ("Traceback" in line or " ERROR " in line) and "not an accepted origin" not in line
        ]

    async def cli(self, *args: str, stdin: str | None = None) -> str:
        """Run `accord ARGS --data-dir DIR` as an operator would; its stdout."""
        process = await asyncio.create_subprocess_exec(
            str(ACCORD),
            *args,
            "--data-dir",
            str(self.data_dir),
            env=self.env,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(
            process.communicate(stdin.encode() if stdin is not None else None), 60
        )
        assert process.returncode == 0, f"accord {' '.join(args)} failed: {err.decode()}"
        return out.decode()

    async def create_session(self, playbook: str = "quick-dialogue") -> SessionKeys:
        out = await self.cli("session", "create", "--playbook", playbook, "--json")
        data = json.loads(out)
        return SessionKeys(
            id=data["session_id"],
            tokens={seat: data["seats"][seat]["token"] for seat in SEATS},
            invites={seat: data["seats"][seat]["invite_id"] for seat in SEATS},
        )


@dataclass(frozen=True)
class SessionKeys:
    """A session made with `accord session create`: its id and one invite per seat."""

    id: str
    tokens: dict[str, str]
    invites: dict[str, str]


# --- the HTTP API (a logged-in mediator) -----------------------------------------------


class Api:
    def __init__(self, url: str) -> None:
        # aiohttp keeps no cookies for IP addresses unless told to.
        self.http = aiohttp.ClientSession(base_url=url, cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def login(self, email: str, password: str) -> None:
        async with self.http.post(
            "/api/login", json={"email": email, "password": password}
        ) as response:
            assert response.status == 200, await response.text()

    async def export(self, session_id: str) -> dict[str, Any]:
        async with self.http.get(f"/api/sessions/{session_id}/export") as response:
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
            return body

    async def revoke(self, session_id: str, invite_id: str) -> dict[str, Any]:
        async with self.http.delete(f"/api/sessions/{session_id}/invites/{invite_id}") as response:
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
            return body

    async def invite(self, session_id: str, seat: str) -> dict[str, Any]:
        async with self.http.post(
            f"/api/sessions/{session_id}/invites", json={"seat": seat}
        ) as response:
            assert response.status == 201, await response.text()
            body: dict[str, Any] = await response.json()
            return body

    async def close(self) -> None:
        await self.http.close()


# --- a seat ----------------------------------------------------------------------------


class Seat:
    """One seat's Socket.IO client (websocket, msgpack), recording what it receives.

    Every delivery rule a single seat can see is checked as events arrive and
    reported by `check()` (and by `until`): events only after a snapshot, one
    epoch, and seqs 1, 2, 3 … across batches and reconnects, with no
    duplicate and no gap for any seat: each seat numbers the events it may see
    by its own count (PROTOCOL.md, "Events"), so no seq shows that another
    seat had a private event.
    """

    def __init__(self, url: str, token: str | None, seat: str = "?") -> None:
        self.url = url
        self.token = token
        self.seat = seat
        self.events: list[dict[str, Any]] = []
        self.batches: list[list[dict[str, Any]]] = []
        self.snapshots: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []  # the `state` of each events batch
        self.presence: list[dict[str, Any]] = []
        self.notices: list[dict[str, Any]] = []
        self.refusals: list[dict[str, Any]] = []  # `refused` messages (mediator only)
        self.problems: list[str] = []
        self.connect_error: Any = None
        self.headers: dict[str, str] = {}  # e.g. an Origin, as a browser would send
        self.client: socketio.AsyncClient | None = None
        self.connections = 0
        self._snapshot_seen = False
        self._join_batch = False
        self._base = 0
        self._changed = asyncio.Event()
        self._disconnected = asyncio.Event()

    def __repr__(self) -> str:
        return f"Seat({self.seat}, last_seq={self.last_seq})"

    # -- what has been seen

    @property
    def epoch(self) -> str | None:
        return self.snapshots[-1]["epoch"] if self.snapshots else None

    @property
    def last_seq(self) -> int:
        """The resume point: the last event seen, or the head at the last join."""
        seen = self.events[-1]["seq"] if self.events else 0
        return max(seen, self.snapshots[-1]["seq"] if self.snapshots else 0)

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.connected

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    def check(self) -> None:
        assert not self.problems, f"{self.seat}: {self.problems}"

    # -- connecting

    async def connect(self) -> None:
        """Open a new connection (no join). Raises socketio ConnectionError if refused.

        A handshake draws on the seat's rate limit; one refused `rate_limited`
        is tried again a moment later, as PROTOCOL.md asks of a client."""
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                await self._connect_once()
                return
            except socketio.exceptions.ConnectionError:
                error = self.connect_error
                code = error.get("code") if isinstance(error, dict) else None
                if code != "rate_limited" or time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def _connect_once(self) -> None:
        client = socketio.AsyncClient(serializer="msgpack", reconnection=False)
        client.on("connect_error", self._on_connect_error)
        client.on("disconnect", self._on_disconnect)
        client.on("snapshot", self._on_snapshot)
        client.on("events", self._on_events)
        client.on("presence", self._on_presence)
        client.on("notice", self._on_notice)
        client.on("refused", self._on_refused)
        self._snapshot_seen = False
        self._disconnected.clear()
        self.client = client
        auth = {"token": self.token} if self.token is not None else None
        try:
            await client.connect(
                self.url,
                transports=["websocket"],
                auth=auth,
                headers=self.headers,
                wait_timeout=WAIT_S,
            )
        except socketio.exceptions.ConnectionError:
            await client.disconnect()
            self.client = None
            raise
        self.connections += 1

    async def join(self, last_seq: int | None = None, epoch: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if last_seq is not None:
            body["last_seq"] = last_seq
        if epoch is not None:
            body["epoch"] = epoch
        # Where its events go on from when it has none yet (a join from a given seq).
        self._base = last_seq or 0
        deadline = time.monotonic() + WAIT_S
        while True:
            ack = await self.emit("join", body)
            # A seat's rate limit outlives its connections: a seat that just
            # sent a burst waits its turn to join again, as PROTOCOL.md says.
            limited = not ack.get("ok") and ack["error"]["code"] == "rate_limited"
            if not limited or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert ack.get("ok"), f"{self.seat}: join refused: {ack}"
        return ack

    async def reconnect(self, resume: bool = True) -> dict[str, Any]:
        """A new connection, joined from where this seat left off (or from scratch)."""
        await self.close()
        await self.connect()
        if resume:
            return await self.join(self.last_seq, self.epoch)
        self.events.clear()
        return await self.join()

    async def cut(self) -> None:
        """Drop the TCP connection without a goodbye, as a lost network would."""
        assert self.client is not None
        ws = self.client.eio.ws
        assert ws is not None
        ws._conn.transport.abort()  # no Socket.IO or websocket close is sent
        await asyncio.wait_for(self._disconnected.wait(), WAIT_S)
        await self.close()

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            await client.disconnect()

    async def wait_disconnected(self) -> None:
        await asyncio.wait_for(self._disconnected.wait(), WAIT_S)
        await self.close()

    # -- sending

    async def emit(self, event: str, data: Any = None, timeout: float = WAIT_S) -> dict[str, Any]:
        """Emit and await the ack."""
        assert self.client is not None, f"{self.seat} is not connected"
        ack: dict[str, Any] = await self.client.call(event, data, timeout=timeout)
        return ack

    async def send(self, data: Any) -> dict[str, Any]:
        """A raw `command` emit: whatever `data` is."""
        return await self.emit("command", data)

    async def cmd(
        self, type: str, *, cid: str | None = None, retry_rate_limited: bool = True, **fields: Any
    ) -> dict[str, Any]:
        """Send one command with a fresh (or the given) cid; the ack.

        A `rate_limited` refusal is retried with the same cid: the hub allows 20
        commands a second per connection, and the bursts here are bigger.
        """
        command = {"cid": cid or uuid.uuid4().hex, "type": type, **fields}
        deadline = time.monotonic() + WAIT_S
        while True:
            ack = await self.send(command)
            code = ack.get("error", {}).get("code")
            if code != "rate_limited" or not retry_rate_limited or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.06)
        # A command's events reach the seat before its ack, and the ack's seq
        # is the seat's own count: nothing it names may be missing.
        if ack.get("ok") and self.last_seq < ack["seq"]:
            self.problems.append(f"ack {ack} before its events (last seq {self.last_seq})")
        return ack

    async def ok(self, type: str, **fields: Any) -> int:
        """Send a command that must be accepted; its seq."""
        ack = await self.cmd(type, **fields)
        assert ack.get("ok"), f"{self.seat} {type} {fields}: {ack}"
        seq: int = ack["seq"]
        return seq

    async def refused(self, type: str, **fields: Any) -> str:
        """Send a command that must be refused; its code."""
        ack = await self.cmd(type, **fields)
        assert not ack.get("ok"), f"{self.seat} {type} {fields} was accepted: {ack}"
        assert set(ack["error"]) == {"code", "message"}, ack
        code: str = ack["error"]["code"]
        return code

    # -- waiting

    async def until(
        self, predicate: Callable[[list[dict[str, Any]]], Any], timeout: float = WAIT_S
    ) -> None:
        """Wait until `predicate(events)` holds (it may look at other fields too)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.check()
            if predicate(self.events):
                return
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(
                    f"{self.seat}: timed out; events {self.types()}, presence "
                    f"{[(p['seat'], p['status']) for p in self.presence]}, notices {self.notices}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def until_type(self, type: str, count: int = 1, timeout: float = WAIT_S) -> None:
        await self.until(lambda events: count_type(events, type) >= count, timeout)

    # -- handlers

    def _touch(self) -> None:
        self._changed.set()

    def _on_connect_error(self, error: Any = None) -> None:
        # python-socketio hands over the whole packet, {message, data}; `data` is what
        # the JS client calls `err.data`: the hub's {code, message}.
        self.connect_error = error.get("data") if isinstance(error, dict) else error
        self._touch()

    def _on_disconnect(self, *args: Any) -> None:
        self._disconnected.set()
        self._touch()

    def _on_snapshot(self, snapshot: dict[str, Any]) -> None:
        if snapshot.get("seat") != self.seat and self.seat != "?":
            self.problems.append(f"snapshot for {snapshot.get('seat')}")
        if snapshot["reset"]:
            self.events.clear()
            self._base = 0
        elif self.snapshots and snapshot["epoch"] != self.snapshots[-1]["epoch"]:
            self.problems.append("the epoch changed without a reset")
        self.snapshots.append(snapshot)
        self._snapshot_seen = True
        self._join_batch = True
        self._touch()

    def _on_events(self, batch: dict[str, Any]) -> None:
        if not self._snapshot_seen:
            self.problems.append(f"events before the snapshot: {batch}")
        if batch.get("epoch") != self.epoch:
            self.problems.append(f"batch epoch {batch.get('epoch')} != {self.epoch}")
        events = batch["events"]
        self.batches.append(events)
        if "state" not in batch:
            self.problems.append("a batch without the seat's state")
        else:
            self.states.append(batch["state"])
        head = self.snapshots[-1]["seq"] if self.snapshots else 0
        # The join's batches hold what was missed up to the snapshot; live ones
        # what followed: once a batch past the snapshot came, no earlier one may.
        history = [e["seq"] <= head for e in events]
        if any(history) and (not all(history) or not self._join_batch):
            self.problems.append(f"batch {[e['seq'] for e in events]} vs snapshot seq {head}")
        if not all(history):
            self._join_batch = False
        for event in events:
            last = self.events[-1]["seq"] if self.events else self._base
            if event["seq"] <= last:
                self.problems.append(f"seq {event['seq']} after {last} (duplicate or reordered)")
            elif event["seq"] != last + 1:
                self.problems.append(f"gap: seq {event['seq']} after {last}")
            if self.seat in SEATS and self.seat not in event.get("audience", ()):
                self.problems.append(f"{self.seat} received {event['type']} {event['audience']}")
            self.events.append(event)
        self._touch()

    def _on_presence(self, presence: dict[str, Any]) -> None:
        self.presence.append(presence)
        self._touch()

    def _on_refused(self, refused: dict[str, Any]) -> None:
        self.refusals.append(refused)
        self._touch()

    def _on_notice(self, notice: dict[str, Any]) -> None:
        self.notices.append(notice)
        self._touch()


class Seats:
    """Opens seats on the server and closes every one of them at teardown."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.opened: list[Seat] = []

    def new(self, token: str | None, seat: str = "?") -> Seat:
        client = Seat(self.server.url, token, seat)
        self.opened.append(client)
        return client

    async def open(self, keys: SessionKeys, seat: str, *, join: bool = True) -> Seat:
        client = self.new(keys.tokens[seat], seat)
        await client.connect()
        if join:
            await client.join()
        return client

    async def trio(self, keys: SessionKeys) -> tuple[Seat, Seat, Seat]:
        """The mediator, partner_a and partner_b, connected and joined."""
        return (
            await self.open(keys, "mediator"),
            await self.open(keys, "partner_a"),
            await self.open(keys, "partner_b"),
        )

    async def close(self) -> None:
        for client in self.opened:
            await client.close()


# --- the record ------------------------------------------------------------------------


def count_type(events: Iterable[dict[str, Any]], type: str) -> int:
    return sum(1 for e in events if e["type"] == type)


def of_type(events: Iterable[dict[str, Any]], type: str) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type]


def visible_to(seat: str, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the whole record (the mediator's, or the export) a seat may
    receive (invariant 7), as the seat receives them: numbered 1, 2, 3 … by
    the seat's own count (PROTOCOL.md, "Events")."""
    record = list(events)
    assert_consecutive(record)
    mine = [e for e in record if seat in e["audience"]]
    return [{**e, "seq": n} for n, e in enumerate(mine, 1)]


def logged(record: list[dict[str, Any]], seat: str, seq: int) -> dict[str, Any]:
    """The event of the whole record that `seat` knows by `seq` (its own count),
    with the record's seq."""
    assert seq >= 1, seq
    mine = [e for e in record if seat in e["audience"]]
    assert seq <= len(mine), (seat, seq, len(mine))
    return mine[seq - 1]


def assert_consecutive(events: list[dict[str, Any]], head: int | None = None) -> None:
    """The whole record: seqs 1, 2, …, head (invariant 6)."""
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), seqs
    if head is not None:
        assert len(seqs) == head


def decode(event: dict[str, Any]) -> AnyEvent:
    """A wire (or export) event back into the core's event."""
    fields = {k: v for k, v in event.items() if k not in ("seq", "at", "actor")}
    decoded: AnyEvent = msgspec.convert(fields, AnyEvent)
    return decoded


def plain(value: Any) -> Any:
    """Tuples to lists and so on, as a value looks after a trip over the wire."""
    return msgspec.json.decode(msgspec.json.encode(value))


def folded_update(
    playbook_source: str, events: Iterable[dict[str, Any]], seat: str
) -> dict[str, Any]:
    """What a batch after these events should carry as the seat's state."""
    playbook = load_playbook(playbook_source, "session.toml")
    state = fold(playbook, (decode(e) for e in events))
    return plain(seat_update(state, seat))  # type: ignore[arg-type]


def folded_view(
    playbook_source: str, events: Iterable[dict[str, Any]], seat: str
) -> dict[str, Any]:
    """What a fresh join's snapshot should show: the fold of the record (invariant 6)."""
    playbook = load_playbook(playbook_source, "session.toml")
    state = fold(playbook, (decode(e) for e in events))
    return plain(seat_view(state, seat))  # type: ignore[arg-type]


async def start_dialogue(mediator: Seat) -> int:
    """Admit both partners and open the dialogue; the head seq after it."""
    await mediator.ok("admit", seat="partner_a")
    await mediator.ok("admit", seat="partner_b")
    return await mediator.ok("phase.advance")
