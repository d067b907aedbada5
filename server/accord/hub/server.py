"""The Socket.IO side: handshake, join and resume, commands, fan-out, presence.

docs/PROTOCOL.md is the contract this module implements. In short: a client
connects with `auth: {token}`; sends `join` with its last seen `seq` and
`epoch`, and receives a `snapshot` then an `events` batch of what it missed;
sends each `command` with a `cid` and gets an ack after the command's events
are durable and have been emitted to every seat whose audience they are in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

import msgpack
import socketio
from engineio import packet as eio_packet

import accord
from accord.core import CODES, Playbook, Rejected, parse_command, seat_view
from accord.core.commands import CallTimeOut, command_type
from accord.core.playbook import PlaybookError, stored_playbook
from accord.core.seats import Seat
from accord.core.state import TimeOutOverlay
from accord.hub.errors import error_ack
from accord.hub.live import LiveSession, earliest
from accord.hub.metrics import HubMetrics
from accord.hub.packet import MALFORMED, AccordPacket
from accord.hub.wire import events_packet, record_to_wire, wire_event
from accord.security import TokenError, verify_invite_token
from accord.settings import Settings
from accord.store.base import EventLog, Invite, Record, Registry, StoreError, seat_in

logger = logging.getLogger(__name__)

#: A connection may send this many commands per second on average, in bursts
#: of `RATE_BURST`; `timeout.call` is never limited (the safe signal).
RATE_PER_S: Final = 20.0
RATE_BURST: Final = 40.0
MAX_CID: Final = 64


@dataclass
class Connection:
    sid: str
    session_id: str
    seat: Seat
    invite_id: str
    joined: bool = False
    superseded: bool = False
    revoked: bool = False
    tokens: float = RATE_BURST
    waiting: int = 0  # calls waiting for a token (wait_turn)
    refilled: float = field(default_factory=time.monotonic)

    async def wait_turn(self) -> bool:
        """Wait for a token instead of refusing; False only when more than
        RATE_BURST calls are already waiting on this connection."""
        if self.allow():
            return True
        if self.waiting >= RATE_BURST:
            return False
        self.waiting += 1
        try:
            while not self.allow():
                await asyncio.sleep((1 - self.tokens) / RATE_PER_S)
        finally:
            self.waiting -= 1
        return True

    def allow(self) -> bool:
        now = time.monotonic()
        self.tokens = min(RATE_BURST, self.tokens + (now - self.refilled) * RATE_PER_S)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


class Hub:
    def __init__(
        self,
        settings: Settings,
        log: EventLog,
        registry: Registry,
        metrics: HubMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.log = log
        self.registry = registry
        self.metrics = metrics
        self.clock = clock
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            serializer=AccordPacket,
            transports=["websocket"],
            cors_allowed_origins="*" if "*" in settings.origins else list(settings.origins),
            # Engine.IO's hard limit closes the socket; ours (max_frame_bytes)
            # answers with `frame_too_large` and keeps the connection usable.
            max_http_buffer_size=max(1_000_000, settings.max_frame_bytes * 4),
            ping_interval=20,
            ping_timeout=20,
        )
        self.sessions: dict[str, LiveSession] = {}
        self.connections: dict[str, Connection] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._grace: dict[tuple[str, Seat], asyncio.TimerHandle] = {}
        self._secret = settings.secret_key
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("join", self._on_join)
        self.sio.on("command", self._on_command)
        self.sio.on(MALFORMED, self._on_malformed)
        self._background_tasks: set[asyncio.Task[Any]] = set()

    def _background(self, coro: Any) -> None:
        """Run a coroutine in the background, keeping a reference until it ends."""
        task = asyncio.get_running_loop().create_task(coro)
        self._background_tasks.add(task)
        task.add_done_callback(self._background_done)

    def _background_done(self, task: asyncio.Task[Any]) -> None:
        self._background_tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("background task %s failed", task.get_name(), exc_info=exc)

    async def _stop_background(self) -> None:
        """Cancel grace periods and background work, and wait for them to end.

        Runs first on shutdown: a grace period ending while the store closes
        would otherwise use a connection that is already gone."""
        for handle in self._grace.values():
            handle.cancel()
        self._grace.clear()
        tasks = list(self._background_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _on_malformed(self, sid: str, *args: Any) -> dict[str, Any]:
        return error_ack("invalid_command", "The frame could not be decoded as a msgpack packet.")

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Load the sessions with a pending deadline, so their timers fire after a
        restart. The log records each session's earliest deadline with its
        events, so sessions without one (most, and every ended one) stay on disk."""
        pending = await self.log.deadlines()
        started = time.perf_counter()
        for session_id, recorded in sorted(pending.items(), key=lambda item: item[1]):
            try:
                live = await self.session(session_id)
            except Exception:
                logger.exception("session %s could not be loaded at start", session_id)
                continue
            if live is None:
                continue
            due = earliest(live.state)
            if due != recorded:
                # Recorded before deadlines were (an upgraded store): record it now.
                with contextlib.suppress(StoreError):
                    await self.log.set_deadline(session_id, due, live.head)
            if live.idle:
                await self._evict(live)
        if pending:
            logger.info(
                "start: %d session(s) with deadlines loaded in %.2f s; %d with timers armed",
                len(pending),
                time.perf_counter() - started,
                len(self.sessions),
            )

    async def close(self) -> None:
        await self._stop_background()
        for live in list(self.sessions.values()):
            await live.close()
        self.sessions.clear()

    # -- sessions ---------------------------------------------------------------------

    async def session(self, session_id: str) -> LiveSession | None:
        live = self.sessions.get(session_id)
        if live is not None:
            return live
        lock = self._loading.setdefault(session_id, asyncio.Lock())
        async with lock:
            live = self.sessions.get(session_id)
            if live is not None:
                return live
            info = await self.registry.get_session(session_id)
            if info is None:
                return None
            refusals = await self.registry.refusal_counts(session_id)
            try:
                playbook = self._playbook(info.playbook_source, info.playbook_name)
            except PlaybookError as exc:
                # Not the client's doing, and not going away by itself: say so loudly.
                logger.error("session %s: its stored playbook does not load: %s", session_id, exc)
                raise StoreError(f"session {session_id} cannot be loaded") from exc
            live = LiveSession(
                info, playbook, self.log, self._fanout, self.clock, self.metrics, self._ended
            )
            try:
                await live.load()
            except BaseException:
                await live.close()  # no timer task may outlive a load that failed
                raise
            live.refusals = refusals
            self.sessions[session_id] = live
            self.metrics.live_sessions.set(len(self.sessions))
        self._loading.pop(session_id, None)
        return live

    @staticmethod
    def _playbook(source: str, name: str) -> Playbook:
        # Checked in full when the session was created; read back here.
        return stored_playbook(source, f"{name}.toml")

    async def _evict(self, live: LiveSession) -> None:
        if self.sessions.get(live.id) is live:
            del self.sessions[live.id]
            await live.close()
            self.metrics.live_sessions.set(len(self.sessions))

    async def _ended(self, session_id: str) -> None:
        with contextlib.suppress(StoreError):
            await self.registry.set_session_status(session_id, "ended")

    # -- fan-out ---------------------------------------------------------------------

    async def _fanout(self, live: LiveSession, records: list[Record]) -> None:
        """Emit each seat the records its audience includes (invariant 7), in seq order.

        Each distinct batch is encoded once, and the same packet goes to every
        seat that sees it (usually all three), handed straight to Engine.IO:
        `sio.emit` per seat would encode it again and make a task per seat."""
        wire: list[bytes] | None = None
        packets: dict[int, eio_packet.Packet] = {}
        for seat, sid in list(live.seats.items()):
            visible = 0
            for i, record in enumerate(records):
                if seat_in(record.audience, seat):
                    visible |= 1 << i
            if not visible:
                continue
            packet = packets.get(visible)
            if packet is None:
                if wire is None:
                    wire = [wire_event(r) for r in records]
                batch = [w for i, w in enumerate(wire) if visible >> i & 1]
                packet = packets[visible] = eio_packet.Packet(
                    eio_packet.MESSAGE, events_packet(live.epoch, batch)
                )
            await self._send(sid, packet)

    async def _send(self, sid: str, packet: eio_packet.Packet) -> None:
        """Queue an encoded packet on a connection, as `sio.emit(..., to=sid)` does."""
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            await self.sio.eio.send_packet(eio_sid, packet)

    # -- connect ---------------------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            self._refuse("token_missing", "Connect with auth: {token: <your invite token>}.")
        try:
            claims = verify_invite_token(self._secret, token, self.clock())
        except TokenError as exc:
            self._refuse(exc.code, exc.message)
        try:
            invite = await self.registry.get_invite(claims.invite_id)
            live = await self.session(claims.session_id)
        except StoreError:
            self._refuse("unavailable", "The server cannot reach its store; retry shortly.")
        if invite is None or invite.session_id != claims.session_id:
            self._refuse("token_invalid", "This invite is unknown to the server.")
        if invite.revoked_at is not None:
            self._refuse("token_revoked", "The mediator revoked this invite; ask for a new link.")
        if live is None:
            self._refuse("session_not_found", "The session of this invite no longer exists.")
        seat: Seat = claims.seat  # type: ignore[assignment]
        conn = self.connections[sid] = Connection(sid, claims.session_id, seat, invite.id)
        self.metrics.connections.set(len(self.connections))
        # A revocation that landed while the session loaded found no connection
        # to close; now that this one is registered, a later one will find it.
        try:
            invite = await self.registry.get_invite(claims.invite_id)
        except StoreError:
            invite = None
        if invite is None or invite.revoked_at is not None or conn.revoked:
            self.connections.pop(sid, None)
            self.metrics.connections.set(len(self.connections))
            if invite is None:
                self._refuse("unavailable", "The server cannot reach its store; retry shortly.")
            self._refuse("token_revoked", "The mediator revoked this invite; ask for a new link.")
        logger.info("connect session=%s seat=%s sid=%s", claims.session_id, seat, sid)

    @staticmethod
    def _refuse(code: str, message: str) -> NoReturn:
        raise socketio.exceptions.ConnectionRefusedError(
            message, {"code": code, "message": message}
        )

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self.connections.pop(sid, None)
        self.metrics.connections.set(len(self.connections))
        if conn is None:
            return
        live = self.sessions.get(conn.session_id)
        if live is None:
            return
        # Under the lock: a join of this connection still in flight either
        # finished (the seat is ours to release) or will see it is gone.
        async with live.lock:
            if live.seats.get(conn.seat) != sid:
                left = None  # superseded, or never joined
            else:
                del live.seats[conn.seat]
                await self._presence(live, conn.seat, "reconnecting")
                left = conn.seat
        if left is None:
            # A connection that only connected must not keep its session in memory.
            await self._evict_if_unused(live)
            return
        loop = asyncio.get_running_loop()
        key = (live.id, conn.seat)
        if key in self._grace:
            self._grace[key].cancel()
        self._grace[key] = loop.call_later(
            self.settings.grace_period_s,
            lambda: self._background(self._grace_over(live, conn.seat)),
        )

    async def _grace_over(self, live: LiveSession, seat: Seat) -> None:
        self._grace.pop((live.id, seat), None)
        async with live.lock:
            if seat in live.seats:
                return
            await self._presence(live, seat, "left")
        await self._evict_if_unused(live)

    async def _evict_if_unused(self, live: LiveSession) -> None:
        """Drop a session from memory when nothing here uses it: no seat, no
        deadline, no connection (joined or joining), no grace period, no lock."""
        if (
            live.idle
            and not live.lock.locked()
            and not any(key[0] == live.id for key in self._grace)
            and not any(c.session_id == live.id for c in self.connections.values())
        ):
            await self._evict(live)

    async def _presence(self, live: LiveSession, seat: Seat, status: str) -> None:
        """Presence is not part of the record: it never changes the protocol state."""
        live.presence[seat] = status
        payload = {"seat": seat, "status": status, "at": self.clock()}
        for other_sid in list(live.seats.values()):
            await self.sio.emit("presence", payload, to=other_sid)

    # -- join and resume ---------------------------------------------------------------

    async def _on_join(self, sid: str, data: Any = None) -> dict[str, Any]:
        conn = self.connections.get(sid)
        if conn is None:
            return error_ack("not_joined", "This connection is not authenticated.")
        data = data if isinstance(data, dict) else {}
        last_seq, epoch = data.get("last_seq"), data.get("epoch")
        if last_seq is not None and (not isinstance(last_seq, int) or last_seq < 0):
            return error_ack("invalid_command", "join: last_seq must be a non-negative integer")
        if epoch is not None and not isinstance(epoch, str):
            return error_ack("invalid_command", "join: epoch must be a string")
        if not conn.allow():
            return error_ack("rate_limited", "Too many requests; wait a moment and retry.")
        for _ in range(3):
            try:
                live = await self.session(conn.session_id)
            except StoreError:
                return error_ack("unavailable", "The session cannot be loaded; retry shortly.")
            if live is None:
                return error_ack("session_not_found", "The session no longer exists.")
            async with live.lock:
                if self.sessions.get(live.id) is not live:
                    continue  # evicted while this join waited: load it again
                return await self._join_locked(live, conn, last_seq, epoch)
        return error_ack("unavailable", "The session is being reloaded; retry shortly.")

    async def _join_locked(
        self, live: LiveSession, conn: Connection, last_seq: int | None, epoch: str | None
    ) -> dict[str, Any]:
        sid = conn.sid
        if self._overtaken(conn):
            # Closed, taken over or revoked while the join waited: it must not
            # take the seat back from the connection that replaced it.
            return error_ack("not_joined", "This connection was closed; connect again.")
        # A different epoch (a lost log) or a seq beyond the head: start over.
        reset = (epoch is not None and epoch != live.epoch) or (last_seq or 0) > live.head
        after = 0 if reset or last_seq is None else last_seq
        try:
            # Up to the head only: later records (another node's) come by fan-out.
            records = (
                await self.log.read(live.id, after, live.head - after) if after < live.head else []
            )
        except StoreError:
            return error_ack("unavailable", "The session's record cannot be read; retry.")
        if self._overtaken(conn):
            # Gone while its history was read: the seat stays as it was (and a
            # grace period running for it goes on).
            return error_ack("not_joined", "This connection was closed; connect again.")
        # From here on nothing waits on the store: the seat changes hands at once.
        old = live.seats.get(conn.seat)
        if old is not None and old != sid:
            await self._supersede(old)
        grace = self._grace.pop((live.id, conn.seat), None)
        if grace is not None:
            grace.cancel()
        rejoined = old == sid
        live.seats[conn.seat] = sid
        conn.joined = True
        # The snapshot shows the seat as it is now (joined), not as it was left.
        live.presence[conn.seat] = "joined"
        await self.sio.emit("snapshot", self._snapshot(live, conn.seat, reset), to=sid)
        visible = [record_to_wire(r) for r in records if seat_in(r.audience, conn.seat)]
        await self.sio.emit("events", {"epoch": live.epoch, "events": visible}, to=sid)
        if not rejoined:  # a second join on the same connection changes nobody's view
            await self._presence(live, conn.seat, "joined")
        logger.info("join session=%s seat=%s from=%s", live.id, conn.seat, after)
        return {"ok": True, "seq": live.head, "epoch": live.epoch}

    def _overtaken(self, conn: Connection) -> bool:
        """The connection closed, was superseded or had its invite revoked."""
        return self.connections.get(conn.sid) is not conn or conn.superseded or conn.revoked

    def _snapshot(self, live: LiveSession, seat: Seat, reset: bool) -> dict[str, Any]:
        return {
            "protocol": accord.PROTOCOL_VERSION,
            "session": live.id,
            "title": live.info.title,
            "seat": seat,
            "epoch": live.epoch,
            "seq": live.head,
            "reset": reset,
            "state": seat_view(live.state, seat),
            "presence": dict(live.presence),
            "now": self.clock(),
            **({"refusals": live.refusals} if seat == "mediator" else {}),
        }

    async def _supersede(self, sid: str) -> None:
        conn = self.connections.get(sid)
        if conn is not None:
            conn.superseded = True
            conn.joined = False
        await self.sio.emit(
            "notice",
            {"code": "superseded", "message": "This seat was opened on another device or tab."},
            to=sid,
        )
        self._background(self.sio.disconnect(sid))

    async def revoke(self, invite: Invite) -> None:
        """Disconnect every connection that used a revoked invite."""
        for conn in [c for c in self.connections.values() if c.invite_id == invite.id]:
            conn.revoked = True  # a join in flight must not go on
            await self.sio.emit(
                "notice",
                {"code": "token_revoked", "message": "The mediator revoked this invite."},
                to=conn.sid,
            )
            await self.sio.disconnect(conn.sid)

    # -- commands -----------------------------------------------------------------------

    async def _on_command(self, sid: str, data: Any = None) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            return await self._command(sid, data)
        finally:
            self.metrics.command_seconds.observe(time.perf_counter() - started)

    async def _command(self, sid: str, data: Any) -> dict[str, Any]:
        conn = self.connections.get(sid)
        if conn is None or not conn.joined:
            return error_ack("not_joined", "Send `join` before sending commands.")
        if len(msgpack.packb(data, use_bin_type=True)) > self.settings.max_frame_bytes:
            return error_ack(
                "frame_too_large",
                f"A command may be at most {self.settings.max_frame_bytes} bytes.",
            )
        if not isinstance(data, dict):
            return error_ack("invalid_command", "A command must be a map with a `type`.")
        fields = dict(data)
        cid = fields.pop("cid", None)
        session = fields.pop("session", None)
        if not isinstance(cid, str) or not 0 < len(cid) <= MAX_CID:
            return error_ack(
                "invalid_command", f"A command needs a `cid` string of 1 to {MAX_CID} characters."
            )
        if session is not None and session != conn.session_id:
            return error_ack(
                "wrong_session", "This connection belongs to another session than the command's."
            )
        if fields.get("type") != "timeout.call" and not conn.allow():
            return error_ack("rate_limited", "Too many commands; wait a moment and retry.")
        try:
            command = parse_command(fields)
        except Rejected as refusal:
            return error_ack(refusal.code, refusal.message)
        try:
            live = await self.session(conn.session_id)
        except StoreError:
            return error_ack("unavailable", "The session cannot be loaded; retry shortly.")
        if live is None:
            return error_ack("session_not_found", "The session no longer exists.")
        if (
            isinstance(command, CallTimeOut)
            and command.reason.strip()
            and isinstance(live.state.overlay, TimeOutOverlay)
            and not await conn.wait_turn()
        ):
            # More reasons for a time-out that already runs are paced like any
            # other command, but waited for, never refused, unless a client
            # floods far beyond anything a person types.
            return error_ack("rate_limited", "Too many commands; wait a moment and retry.")
        ack, decided = await live.execute_once(conn.seat, command, cid)
        if not ack["ok"] and decided and conn.seat != "mediator":
            # A retry answered from memory was counted the first time.
            await self._refused(live, conn.seat, command_type(command), ack["error"]["code"])
        return ack

    async def _refused(self, live: LiveSession, seat: Seat, kind: str, code: str) -> None:
        """Count a partner's refused command and tell the mediator (the balance
        monitor: who pushes against the structure). Transport failures are not
        the partner's doing. The count is kept in the store, so a mediator
        joining after a restart (or on another node) sees the same numbers."""
        if code not in CODES:
            return
        try:
            await self.registry.count_refusal(live.id, seat, code)
        except StoreError as exc:
            # A monitor, not the record: the command was refused either way.
            logger.warning("session %s: a refusal was not counted in the store: %s", live.id, exc)
        await self._tell_refused(live, seat, kind, code)

    async def _tell_refused(self, live: LiveSession, seat: Seat, kind: str, code: str) -> None:
        """Count a refusal in memory and send it to this process's mediator seat."""
        counts = live.refusals.setdefault(seat, {})
        counts[code] = counts.get(code, 0) + 1
        await self._send_refused(live, seat, kind, code)

    async def _send_refused(self, live: LiveSession, seat: Seat, kind: str, code: str) -> None:
        mediator = live.seats.get("mediator")
        if mediator is not None:
            payload = {"seat": seat, "type": kind, "code": code, "at": self.clock()}
            await self.sio.emit("refused", payload, to=mediator)
