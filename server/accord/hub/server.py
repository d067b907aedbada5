"""The Socket.IO side: handshake, join and resume, commands, fan-out, presence.

docs/PROTOCOL.md is the contract this module implements. In short: a client
connects with `auth: {token}`; sends `join` with its last seen `seq` and
`epoch`, and receives a `snapshot` then `events` batches of what it missed;
sends each `command` with a `cid` and gets an ack after the command's events
are durable and have been emitted to every seat whose audience they are in.

A connection's life is guarded for its whole length (issue 9): the invite is
re-checked when it expires or is revoked (every socket of that invite ends,
whatever it sent before); a seat's rate limit outlives its connections;
what waits to be sent to one connection is bounded (a client that stops
reading is cut off and resumes later from its last seq); a socket that never
authenticates is closed at a deadline; and bad input is answered with a
stable code and logged once, never with a traceback (hub/faults.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn, TypeVar

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

import accord
from accord.core import CODES, Playbook, Rejected, parse_command, seat_update, seat_view
from accord.core.commands import CallTimeOut, command_type
from accord.core.playbook import PlaybookError, stored_playbook
from accord.core.seats import SEATS, Partner, Seat
from accord.core.session import SetName
from accord.core.state import TimeOutOverlay
from accord.core.view import seat_updates
from accord.hub.admission import client_address
from accord.hub.errors import NOTICE_CODES, error_ack
from accord.hub.faults import ClientFaults
from accord.hub.limits import Bucket
from accord.hub.live import LiveSession, earliest
from accord.hub.metrics import HubMetrics
from accord.hub.packet import MALFORMED, RESERVED, AccordPacket, TooLarge
from accord.hub.transport import AccordServer, OutboundQueue
from accord.hub.wire import encode_state, events_packet, wire_event, wire_head, with_seq
from accord.security import TokenError, verify_invite_token
from accord.settings import Settings
from accord.store.base import EventLog, Invite, Record, Registry, StoreError, seat_in

logger = logging.getLogger(__name__)

REVOKED: Final = "The mediator revoked this invite; ask for a new link."
MAX_CID: Final = 64
#: Refused handshakes a socket may try before it is closed (a wrong token,
#: twice, is a typo), and handshakes of any outcome over its life.
MAX_REFUSED_HANDSHAKES: Final = 3
MAX_HANDSHAKES: Final = 10
#: A connection with more than SLOW_HARD_FACTOR × its budget waiting is a slow
#: consumer at once; over its budget (or with its join's history waiting on
#: it) it is one when its client took nothing for `stall_timeout_s`.
SLOW_HARD_FACTOR: Final = 8
#: A join's history goes out in batches of about this many bytes, the next
#: when at most one waits: little ever waits ahead of a heartbeat or a live
#: event, and even a very slow link shows progress every few seconds.
HISTORY_BATCH_BYTES: Final = 16 * 1024
#: What the first page of history may put in the queue at once, under the lock.
HISTORY_ROOM: Final = 4 * HISTORY_BATCH_BYTES
HISTORY_PAGE: Final = 500
#: A session nobody uses stays in memory this much longer than the grace
#: period: a client that connects and leaves in a loop must not make the
#: server read and fold the whole log each time.
KEEP_IDLE_S: Final = 2.0

Handler = Callable[..., Awaitable[Any]]
K = TypeVar("K")


def _set_event() -> asyncio.Event:
    event = asyncio.Event()
    event.set()
    return event


@dataclass
class Connection:
    """One authenticated Socket.IO connection: the seat its invite names."""

    sid: str
    eio_sid: str
    session_id: str
    seat: Seat
    invite_id: str
    expires_at: float
    bucket: Bucket
    joined: bool = False
    #: Why the server is ending it (`superseded`, `token_revoked`, `token_expired`…).
    ended: str | None = None
    #: Every event up to this seq that the seat may see was queued to this connection.
    sent_seq: int = 0
    #: A join streams its history: live events are not sent meanwhile; the
    #: join sends them from the log once the history is out.
    streaming: bool = False
    join_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: Clear while a join runs: a safe signal sent meanwhile is acknowledged
    #: only after the join's history, which holds its events.
    caught_up: asyncio.Event = field(default_factory=_set_event)
    expiry: asyncio.TimerHandle | None = None

    @property
    def seat_key(self) -> tuple[str, Seat]:
        return (self.session_id, self.seat)


@dataclass
class Pending:
    """An Engine.IO socket without an authenticated Socket.IO connection."""

    address: str
    deadline: asyncio.TimerHandle
    refused: int = 0


def _answers(handler: Handler) -> Handler:
    """Answer an ack even when our own code fails (and log that: it is our bug)."""

    @functools.wraps(handler)
    async def answered(*args: Any) -> Any:
        try:
            return await handler(*args)
        except Exception:
            logger.exception("%s failed", handler.__name__)
            return error_ack("internal_error", "The server failed; retry with the same cid.")

    return answered


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
        self.faults = ClientFaults(metrics.registry)
        self.sio = AccordServer(
            admit=self._admit,
            gone=self._gone,
            async_mode="asgi",
            serializer=AccordPacket.limited(settings.max_frame_bytes),
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
        #: The same connections by invite, by seat, and by Engine.IO socket.
        self._by_invite: dict[str, set[str]] = {}
        self._by_seat: dict[tuple[str, Seat], set[str]] = {}
        self._by_eio: dict[str, Connection] = {}
        self._buckets: dict[tuple[str, Seat], Bucket] = {}
        self._pending: dict[str, Pending] = {}
        self._pending_by_address: dict[str, int] = {}
        #: Handshakes per Engine.IO socket over its life, and new sockets per address.
        self._handshakes: dict[str, int] = {}
        self._address_buckets: dict[str, Bucket] = {}
        self._pruned_at = 0.0
        self._idle: dict[str, asyncio.TimerHandle] = {}
        self._slow_checks: dict[str, asyncio.TimerHandle] = {}
        self._loading: dict[str, asyncio.Lock] = {}
        self._grace: dict[tuple[str, Seat], asyncio.TimerHandle] = {}
        self._secret = settings.secret_key
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("join", _answers(self._on_join))
        self.sio.on("command", _answers(self._on_command))
        self.sio.on(MALFORMED, self._on_malformed)
        self.sio.on(RESERVED, self._on_reserved)
        self.sio.on("*", self._on_unknown)
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
        for handle in [*self._grace.values(), *self._slow_checks.values(), *self._idle.values()]:
            handle.cancel()
        for pending in self._pending.values():
            pending.deadline.cancel()
        for conn in self.connections.values():
            if conn.expiry is not None:
                conn.expiry.cancel()
        self._grace.clear()
        self._slow_checks.clear()
        self._idle.clear()
        tasks = list(self._background_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- sockets before (and after) a handshake ------------------------------------

    async def _admit(self, eio_sid: str, environ: dict[str, Any]) -> bool:
        """A new Engine.IO socket: open it if the caps allow, with a handshake deadline."""
        address = client_address(environ.get("asgi.scope", {}))
        s = self.settings
        if not self._address_bucket(address).allow():
            self.faults.report(f"address {address}", "too many new sockets")
            self.metrics.refused_connections.labels("address_rate").inc()
            return False
        if (
            len(self._pending) >= s.max_unauthenticated
            or self._pending_by_address.get(address, 0) >= s.max_unauthenticated_per_address
        ):
            self.faults.report(f"address {address}", "too many sockets waiting for a handshake")
            self.metrics.refused_connections.labels("unauthenticated_cap").inc()
            return False
        self._pend(eio_sid, address)
        queue = self.sio.queue_of(eio_sid)
        if queue is not None:
            queue.watch = functools.partial(self._watch_queue, eio_sid)
        guard = environ.get("asgi.scope", {}).get("accord.guard")
        if guard is not None:
            # A write that stalls (the door's guard) is a slow consumer too.
            guard.on_stall = functools.partial(self._slow, eio_sid)
        return True

    def _address_bucket(self, address: str) -> Bucket:
        """New sockets per client address: the seats' rate, per address."""
        bucket = self._address_buckets.get(address)
        if bucket is None:
            now = time.monotonic()
            if len(self._address_buckets) >= 10_000 and now - self._pruned_at > 1.0:
                # Forget addresses whose budget is full again (quiet for 2 s),
                # at most once a second.
                self._pruned_at = now
                stale = now - 2.0
                for key in [k for k, b in self._address_buckets.items() if b.refilled < stale]:
                    del self._address_buckets[key]
            rate = self.settings.socket_rate_per_address
            bucket = self._address_buckets[address] = Bucket(rate=rate, burst=2 * rate)
        return bucket

    def _pend(self, eio_sid: str, address: str) -> None:
        """Count a socket as unauthenticated; it is closed unless it authenticates in time."""
        if eio_sid in self._pending:
            return
        deadline = asyncio.get_running_loop().call_later(
            self.settings.handshake_timeout_s, self._handshake_over, eio_sid
        )
        self._pending[eio_sid] = Pending(address, deadline)
        self._pending_by_address[address] = self._pending_by_address.get(address, 0) + 1

    def _unpend(self, eio_sid: str) -> Pending | None:
        pending = self._pending.pop(eio_sid, None)
        if pending is not None:
            pending.deadline.cancel()
            left = self._pending_by_address[pending.address] - 1
            if left:
                self._pending_by_address[pending.address] = left
            else:
                del self._pending_by_address[pending.address]
        return pending

    def _gone(self, eio_sid: str) -> None:
        """An Engine.IO socket closed (any side, any reason)."""
        conn = self._by_eio.get(eio_sid)
        if conn is not None and not conn.joined:
            # Its disconnect handler never ran (it closed mid-handshake, or
            # before it joined): nothing else would forget it.
            self._forget(conn)
            live = self.sessions.get(conn.session_id)
            if live is not None:
                self._background(self._evict_if_unused(live))
        self._unpend(eio_sid)
        self._handshakes.pop(eio_sid, None)
        check = self._slow_checks.pop(eio_sid, None)
        if check is not None:
            check.cancel()
        self.faults.forget(eio_sid)

    def _handshake_over(self, eio_sid: str) -> None:
        if eio_sid in self._pending:
            self.faults.report(eio_sid, "no handshake in time")
            self.metrics.refused_connections.labels("handshake_timeout").inc()
            self._background(self.sio.drop(eio_sid))

    def _watch_queue(self, eio_sid: str, queue: OutboundQueue) -> None:
        """Called whenever something is queued for a socket: is its client keeping up?"""
        budget = self.settings.max_queued_bytes
        if queue.bytes <= budget:
            return
        if queue.bytes > SLOW_HARD_FACTOR * budget:
            self._slow(eio_sid)
        elif eio_sid not in self._slow_checks:
            self._slow_checks[eio_sid] = asyncio.get_running_loop().call_later(
                self.settings.stall_timeout_s, self._check_slow, eio_sid, queue.taken
            )

    def _check_slow(self, eio_sid: str, taken: int) -> None:
        self._slow_checks.pop(eio_sid, None)
        queue = self.sio.queue_of(eio_sid)
        if queue is None or queue.bytes <= self.settings.max_queued_bytes:
            return
        if queue.taken == taken:
            self._slow(eio_sid)  # over budget, and nothing taken since
        else:  # it reads, slowly: look again
            self._slow_checks[eio_sid] = asyncio.get_running_loop().call_later(
                self.settings.stall_timeout_s, self._check_slow, eio_sid, queue.taken
            )

    def _slow(self, eio_sid: str) -> None:
        """Cut off a connection that does not read what it is sent. The log keeps
        everything; the client reconnects and resumes from its last seq."""
        queue = self.sio.queue_of(eio_sid)
        if queue is None or queue.watch is None:
            return  # already being cut
        queue.watch = None
        self.faults.report(eio_sid, "slow consumer cut off", f"{queue.bytes} bytes waiting")
        self.metrics.slow_consumers.inc()
        notice = _notice_packet("slow_consumer")
        self._background(self.sio.drop(eio_sid, last=notice))

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
            for seat in SEATS:
                # Unused for KEEP_IDLE_S and more: a bucket is full again by then.
                self._buckets.pop((live.id, seat), None)
            await live.close()
            self.metrics.live_sessions.set(len(self.sessions))

    async def _ended(self, session_id: str) -> None:
        with contextlib.suppress(StoreError):
            await self.registry.set_session_status(session_id, "ended")

    # -- fan-out ---------------------------------------------------------------------

    async def _fanout(self, live: LiveSession, records: list[Record]) -> None:
        """Emit each seat the records its audience includes (invariant 7), in seq order,
        with the seat's view of the state after them (what it may do now, its prompt).

        Each seat numbers its events by its own count (`LiveSession.count`):
        seats that see the same records by the same numbers share one encoded
        batch (the mediator's numbers are the log's; the partners' agree with
        each other until one writes something private). Each record's shared
        part is encoded once (`wire_head`), and the packets are handed straight
        to Engine.IO: `sio.emit` per seat would encode them again and make a
        task per seat. A seat that sees none of the records gets nothing, not
        even its state: a private event leaves no trace in another seat's view.
        A seat whose join is still streaming its history gets them from the
        log afterwards."""
        heads: list[bytes | None] = [None] * len(records)
        batches: dict[tuple[int, int], list[bytes]] = {}
        last = records[-1].seq
        before = records[0].seq - 1
        sending: list[tuple[Seat, str, int, int]] = []
        for seat, sid in list(live.seats.items()):
            conn = self.connections.get(sid)
            if conn is None or conn.ended is not None or conn.streaming:
                continue  # being ended, or its join sends these after the history
            conn.sent_seq = last
            visible = 0
            for i, record in enumerate(records):
                if seat_in(record.audience, seat):
                    visible |= 1 << i
            if visible:
                sending.append((seat, sid, visible, live.count(seat, before) + 1))
        if not sending:
            return
        views = seat_updates(live.state, [seat for seat, *_ in sending])
        for seat, sid, visible, first in sending:
            batch = batches.get((visible, first))
            if batch is None:
                batch = batches[(visible, first)] = []
                for i, record in enumerate(records):
                    if visible >> i & 1:
                        head = heads[i]
                        if head is None:
                            head = heads[i] = wire_head(record)
                        batch.append(with_seq(head, first + len(batch)))
            state = encode_state(views[seat])
            packet = eio_packet.Packet(
                eio_packet.MESSAGE, events_packet(live.wire_epoch, batch, state)
            )
            await self._send(sid, packet)

    async def _send(self, sid: str, packet: eio_packet.Packet) -> None:
        """Queue an encoded packet on a connection, as `sio.emit(..., to=sid)` does."""
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        if eio_sid is not None:
            await self.sio.eio.send_packet(eio_sid, packet)

    async def _send_events(
        self,
        live: LiveSession,
        conn: Connection,
        records: list[Record],
        *,
        room: int = 0,
        always: bool = False,
    ) -> int:
        """Send a seat the records it may see, in batches of about HISTORY_BATCH_BYTES
        (and, with `always`, an empty batch when it may see none: a join's
        answer). With `room`, stop once more than that many bytes wait for the
        connection. The seq of the last record covered."""
        batch: list[bytes] = []
        size = batches = 0
        covered = records[0].seq - 1 if records else 0
        # The seat's seq of the last event it may see before these.
        number = live.count(conn.seat, covered)
        epoch = live.wire_epoch
        queue = self.sio.queue_of(conn.eio_sid) if room else None
        state = encode_state(seat_update(live.state, conn.seat))
        for record in records:
            if queue is not None and queue.bytes > room:
                break
            covered = record.seq
            if not seat_in(record.audience, conn.seat):
                continue
            number += 1
            encoded = wire_event(record, number)
            batch.append(encoded)
            size += len(encoded)
            if size >= HISTORY_BATCH_BYTES:
                await self._send(conn.sid, _events_message(epoch, batch, state))
                batches += 1
                batch, size = [], 0
        if batch or (always and not batches):
            await self._send(conn.sid, _events_message(epoch, batch, state))
        return covered

    # -- connect ---------------------------------------------------------------------

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/") or ""
        handshakes = self._handshakes[eio_sid] = self._handshakes.get(eio_sid, 0) + 1
        try:
            if handshakes > MAX_HANDSHAKES:
                self._refuse("rate_limited", "Too many handshakes on one socket; open a new one.")
            conn = await self._authenticate(sid, eio_sid, auth)
        except socketio.exceptions.ConnectionRefusedError as refusal:
            code = refusal.error_args.get("data", {}).get("code", "refused")
            self.faults.report(eio_sid, f"handshake refused: {code}")
            self.metrics.refused_connections.labels(code).inc()
            pending = self._pending.get(eio_sid)
            if pending is not None:
                pending.refused += 1
            if handshakes > MAX_HANDSHAKES or (
                pending is not None and pending.refused >= MAX_REFUSED_HANDSHAKES
            ):
                self._background(self._drop_later(eio_sid))
            raise
        self._unpend(eio_sid)
        delay = max(0.0, conn.expires_at - self.clock())
        conn.expiry = asyncio.get_running_loop().call_later(
            delay, lambda: self._background(self._expire(sid))
        )
        logger.debug("connect session=%s seat=%s sid=%s", conn.session_id, conn.seat, sid)

    async def _authenticate(self, sid: str, eio_sid: str, auth: Any) -> Connection:
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            self._refuse("token_missing", "Connect with auth: {token: <your invite token>}.")
        try:
            claims = verify_invite_token(self._secret, token, self.clock())
        except TokenError as exc:
            self._refuse(exc.code, exc.message)
        seat: Seat = claims.seat  # type: ignore[assignment]
        try:
            invite = await self.registry.get_invite(claims.invite_id)
        except StoreError:
            self._refuse("unavailable", "The server cannot reach its store; retry shortly.")
        if invite is None or invite.session_id != claims.session_id:
            self._refuse("token_invalid", "This invite is unknown to the server.")
        if invite.revoked_at is not None:
            self._refuse("token_revoked", REVOKED)
        if self.clock() >= invite.expires_at:
            self._refuse("token_expired", NOTICE_CODES["token_expired"])
        # Only a valid invite spends the seat's budget (a revoked one looping
        # must not keep the seat's new device waiting), and only then may the
        # session be loaded: a handshake may read and fold the whole log.
        bucket = self._bucket(claims.session_id, seat)
        if not bucket.allow():
            self._refuse("rate_limited", "Too many connections in a row; wait a moment.")
        try:
            live = await self.session(claims.session_id)
        except StoreError:
            self._refuse("unavailable", "The server cannot reach its store; retry shortly.")
        if live is None:
            self._refuse("session_not_found", "The session of this invite no longer exists.")
        try:
            same_seat = self._by_seat.get((live.id, seat), ())
            if len(same_seat) >= self.settings.max_connections_per_seat:
                self._refuse(
                    "too_many_connections",
                    "This seat is open on too many devices or tabs; close one and try again.",
                )
            if eio_sid not in self.sio.environ:
                # The socket closed while this handshake waited: python-socketio
                # calls no disconnect handler for a handshake in progress.
                self._refuse("unavailable", "The connection closed during the handshake.")
            conn = Connection(
                sid, eio_sid, claims.session_id, seat, invite.id, invite.expires_at, bucket
            )
            self._register(conn)
            # A revocation that landed while the session loaded found no
            # connection to close; now that this one is registered, a later one
            # will find it.
            try:
                invite = await self.registry.get_invite(claims.invite_id)
            except StoreError:
                invite = None
            if (
                invite is None
                or invite.revoked_at is not None
                or conn.ended is not None
                or eio_sid not in self.sio.environ
            ):
                self._forget(conn)
                if invite is None or eio_sid not in self.sio.environ:
                    self._refuse("unavailable", "The server cannot reach its store; retry shortly.")
                self._refuse("token_revoked", REVOKED)
            return conn
        except socketio.exceptions.ConnectionRefusedError:
            await self._evict_if_unused(live)  # loaded for nothing
            raise

    async def _drop_later(self, eio_sid: str) -> None:
        """Let a refusal reach the client, then close its socket."""
        await asyncio.sleep(0.5)
        await self.sio.drop(eio_sid)

    def _register(self, conn: Connection) -> None:
        self.connections[conn.sid] = conn
        self._by_invite.setdefault(conn.invite_id, set()).add(conn.sid)
        self._by_seat.setdefault((conn.session_id, conn.seat), set()).add(conn.sid)
        self._by_eio[conn.eio_sid] = conn
        self.metrics.connections.set(len(self.connections))

    def _bucket(self, session_id: str, seat: Seat) -> Bucket:
        """The seat's rate limit: every connection of the seat draws on it."""
        bucket = self._buckets.get((session_id, seat))
        if bucket is None:
            bucket = self._buckets[(session_id, seat)] = Bucket()
        return bucket

    @staticmethod
    def _refuse(code: str, message: str) -> NoReturn:
        raise socketio.exceptions.ConnectionRefusedError(
            message, {"code": code, "message": message}
        )

    def _forget(self, conn: Connection) -> None:
        if self.connections.get(conn.sid) is conn:
            del self.connections[conn.sid]
        _unindex(self._by_invite, conn.invite_id, conn.sid)
        _unindex(self._by_seat, conn.seat_key, conn.sid)
        if self._by_eio.get(conn.eio_sid) is conn:
            del self._by_eio[conn.eio_sid]
        if conn.expiry is not None:
            conn.expiry.cancel()
        self.metrics.connections.set(len(self.connections))

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self.connections.get(sid)
        if conn is None:
            return
        self._forget(conn)
        socket = self.sio.eio.sockets.get(conn.eio_sid)
        if socket is not None and not (socket.closed or socket.closing):
            # The server ended the Socket.IO connection (superseded, revoked,
            # expired); the Engine.IO socket stays open until its client closes
            # it, which a hostile one never does: it gets a deadline.
            environ = self.sio.environ.get(conn.eio_sid, {})
            self._pend(conn.eio_sid, client_address(environ.get("asgi.scope", {})))
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
        self._start_grace(live, conn.seat)

    def _start_grace(self, live: LiveSession, seat: Seat) -> None:
        """The seat counts as briefly away until the grace period ends (then `left`)."""
        key = (live.id, seat)
        if key in self._grace:
            self._grace[key].cancel()
        self._grace[key] = asyncio.get_running_loop().call_later(
            self.settings.grace_period_s,
            lambda: self._background(self._grace_over(live, seat)),
        )

    async def _grace_over(self, live: LiveSession, seat: Seat) -> None:
        self._grace.pop((live.id, seat), None)
        async with live.lock:
            if seat in live.seats:
                return
            await self._presence(live, seat, "left")
        await self._evict_if_unused(live)

    def _unused(self, live: LiveSession) -> bool:
        """Nothing here uses the session: no seat, no deadline, no connection
        (joined or joining), no grace period, no lock."""
        return (
            live.idle
            and not live.lock.locked()
            and not any((live.id, seat) in self._grace for seat in SEATS)
            and not any((live.id, seat) in self._by_seat for seat in SEATS)
        )

    async def _evict_if_unused(self, live: LiveSession) -> None:
        """Drop an unused session from memory, KEEP_IDLE_S from now if it is
        still unused then."""
        if not self._unused(live):
            return
        old = self._idle.pop(live.id, None)
        if old is not None:
            old.cancel()
        self._idle[live.id] = asyncio.get_running_loop().call_later(
            KEEP_IDLE_S, lambda: self._background(self._evict_idle(live))
        )

    async def _evict_idle(self, live: LiveSession) -> None:
        self._idle.pop(live.id, None)
        if self._unused(live):
            await self._evict(live)

    async def _presence(self, live: LiveSession, seat: Seat, status: str) -> None:
        """Presence is not part of the record: it never changes the protocol state."""
        live.presence[seat] = status
        payload = {"seat": seat, "status": status, "at": self.clock()}
        for other_sid in list(live.seats.values()):
            other = self.connections.get(other_sid)
            if other is not None and other.ended is None:
                await self.sio.emit("presence", payload, to=other_sid)

    # -- join and resume ---------------------------------------------------------------

    async def _on_join(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        conn = self.connections.get(sid)
        if conn is None:
            return error_ack("not_joined", "This connection is not authenticated.")
        if extra:
            return error_ack("invalid_command", "join takes one argument, a map.")
        if isinstance(data, TooLarge):
            return error_ack(
                "frame_too_large", f"A frame may be at most {self.settings.max_frame_bytes} bytes."
            )
        data = data if isinstance(data, dict) else {}
        last_seq, epoch = data.get("last_seq"), data.get("epoch")
        if last_seq is not None and (
            not isinstance(last_seq, int) or isinstance(last_seq, bool) or last_seq < 0
        ):
            return error_ack("invalid_command", "join: last_seq must be a non-negative integer")
        if epoch is not None and not isinstance(epoch, str):
            return error_ack("invalid_command", "join: epoch must be a string")
        if (expired := await self._check_expiry(conn)) is not None:
            return expired
        if not conn.bucket.allow():
            return error_ack("rate_limited", "Too many requests; wait a moment and retry.")
        async with conn.join_lock:
            conn.caught_up.clear()
            try:
                await self._claim(conn)
                return await self._join(conn, last_seq, epoch)
            finally:
                conn.caught_up.set()

    async def _claim(self, conn: Connection) -> None:
        """Before a join takes its seat (distributed mode claims it across nodes)."""

    async def _join(
        self, conn: Connection, last_seq: int | None, epoch: str | None
    ) -> dict[str, Any]:
        """The join proper, under the connection's join lock."""
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
                if conn.joined:
                    return await self._rejoin_locked(live, conn)
                start = await self._join_locked(live, conn, last_seq, epoch)
            if isinstance(start, dict):
                return start  # refused
            return await self._stream_history(live, conn, *start)
        return error_ack("unavailable", "The session is being reloaded; retry shortly.")

    async def _join_locked(
        self, live: LiveSession, conn: Connection, last_seq: int | None, epoch: str | None
    ) -> dict[str, Any] | tuple[int, int]:
        """Take the seat, send the snapshot and the first page of history; what is
        left to stream, (after, upto)."""
        sid = conn.sid
        if self._overtaken(conn):
            # Closed, taken over or revoked while the join waited: it must not
            # take the seat back from the connection that replaced it.
            return error_ack("not_joined", "This connection was closed; connect again.")
        # `last_seq` is the seat's own count (docs/PROTOCOL.md): the log's seq
        # it stands for is the one of the seat's `last_seq`-th event. Start
        # over on a different epoch (a lost log, or a position kept in protocol
        # 2's numbering), on a seq beyond the seat's count, or on a seq without
        # an epoch (which numbering it is in cannot be told).
        known = live.log_seq(conn.seat, last_seq or 0)
        reset = (
            (epoch is not None and epoch != live.wire_epoch)
            or known is None
            or (bool(last_seq) and epoch is None)
        )
        after = 0 if reset or known is None else known
        upto = live.head
        try:
            # Up to the head only: later records (another node's) come by fan-out.
            # One page here, under the lock; a longer history streams afterwards.
            first = (
                await self.log.read(live.id, after, min(HISTORY_PAGE, upto - after))
                if after < upto
                else []
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
        live.seats[conn.seat] = sid
        # Live events are not sent to it until its history is out.
        conn.streaming = True
        # The snapshot shows the seat as it is now (joined), not as it was left.
        live.presence[conn.seat] = "joined"
        await self.sio.emit("snapshot", self._snapshot(live, conn.seat, reset), to=sid)
        if self._overtaken(conn):
            # Revoked or closed while the snapshot went out: its end (waiting
            # for this lock) must find the seat as it was.
            if live.seats.get(conn.seat) == sid:
                del live.seats[conn.seat]
            return error_ack("not_joined", "This connection was closed; connect again.")
        # A few batches now; the rest streams, each batch as the last is taken.
        covered = await self._send_events(live, conn, first, room=HISTORY_ROOM, always=True)
        await self._presence(live, conn.seat, "joined")
        logger.info("join session=%s seat=%s from=%s", live.id, conn.seat, after)
        conn.sent_seq = covered if first else upto
        if conn.sent_seq >= upto:
            conn.streaming = False
            conn.joined = True
        return conn.sent_seq, upto

    async def _stream_history(
        self, live: LiveSession, conn: Connection, after: int, upto: int
    ) -> dict[str, Any]:
        """Send the rest of what the seat missed up to its snapshot, a page at a
        time, each when the connection has taken the last (a client that does
        not read is cut off, not fed); then what happened meanwhile; then the ack.

        The session's lock is not held while the history goes out: commands
        go on, and their events are read from the log at the end. If the
        connection is cut off meanwhile it stays `streaming`: it is sent
        nothing more."""
        if conn.joined:
            return {"ok": True, "seq": live.count(conn.seat), "epoch": live.wire_epoch}
        page: list[Record] = []
        while after < upto:
            if not page:
                try:
                    page = await self.log.read(live.id, after, min(HISTORY_PAGE, upto - after))
                except StoreError:
                    await self._release_seat(live, conn)
                    return error_ack("unavailable", "The session's record cannot be read.")
                if not page:
                    break
            if not await self._drained(conn):
                return error_ack("not_joined", "This connection was cut off; reconnect.")
            after = conn.sent_seq = await self._send_events(live, conn, page, room=HISTORY_ROOM)
            page = [r for r in page if r.seq > after]
        async with live.lock:
            if self._overtaken(conn) or live.seats.get(conn.seat) != conn.sid:
                return error_ack("not_joined", "This connection was closed; connect again.")
            if conn.sent_seq < live.head:
                # What happened while the history went out.
                try:
                    tail = await self.log.read(live.id, conn.sent_seq, live.head - conn.sent_seq)
                except StoreError:
                    await self._release_seat(live, conn, locked=True)
                    return error_ack("unavailable", "The session's record cannot be read.")
                await self._send_events(live, conn, tail)
            conn.sent_seq = live.head
            conn.streaming = False
            conn.joined = True
            return {"ok": True, "seq": live.count(conn.seat), "epoch": live.wire_epoch}

    async def _release_seat(
        self, live: LiveSession, conn: Connection, locked: bool = False
    ) -> None:
        """A join that failed half-way gives the seat up, as a disconnect would;
        the connection stays open and may join again."""
        if not locked:
            async with live.lock:
                await self._release_seat(live, conn, locked=True)
            return
        conn.streaming = False
        if live.seats.get(conn.seat) == conn.sid:
            del live.seats[conn.seat]
            await self._presence(live, conn.seat, "reconnecting")
            self._start_grace(live, conn.seat)

    async def _drained(self, conn: Connection) -> bool:
        """Wait until at most one batch waits for the connection; False if it
        was cut off (or closed) meanwhile, or if its client took nothing for
        `stall_timeout_s` (then it is cut off as a slow consumer)."""
        stall = self.settings.stall_timeout_s
        while True:
            queue = self.sio.queue_of(conn.eio_sid)
            if queue is None or queue.watch is None or self._overtaken(conn):
                return False
            taken = queue.taken
            if await queue.drained(HISTORY_BATCH_BYTES, stall):
                return queue.watch is not None and not self._overtaken(conn)
            if queue.taken == taken:
                self._slow(conn.eio_sid)
                return False

    async def _rejoin_locked(self, live: LiveSession, conn: Connection) -> dict[str, Any]:
        """`join` on a joined connection: a fresh snapshot and only what this
        connection was not sent yet (never the whole history again)."""
        await self.sio.emit("snapshot", self._snapshot(live, conn.seat, False), to=conn.sid)
        fresh: list[Record] = []
        if conn.sent_seq < live.head:
            try:
                fresh = await self.log.read(live.id, conn.sent_seq, live.head - conn.sent_seq)
            except StoreError:
                return error_ack("unavailable", "The session's record cannot be read; retry.")
        await self._send_events(live, conn, fresh, always=True)
        conn.sent_seq = live.head
        return {"ok": True, "seq": live.count(conn.seat), "epoch": live.wire_epoch}

    def _overtaken(self, conn: Connection) -> bool:
        """The connection closed, was superseded or had its invite revoked or expire."""
        return self.connections.get(conn.sid) is not conn or conn.ended is not None

    def _snapshot(self, live: LiveSession, seat: Seat, reset: bool) -> dict[str, Any]:
        return {
            "protocol": accord.PROTOCOL_VERSION,
            "session": live.id,
            "title": live.info.title,
            "seat": seat,
            "epoch": live.wire_epoch,
            # The seat's own count, not the head: a private event of another
            # seat must not show, even as a number (invariant 9).
            "seq": live.count(seat),
            "reset": reset,
            "state": seat_view(live.state, seat),
            "presence": dict(live.presence),
            "now": self.clock(),
            **({"refusals": live.refusals} if seat == "mediator" else {}),
        }

    # -- the end of a connection -----------------------------------------------------------

    async def _end(self, conn: Connection, code: str) -> None:
        """End a connection for good (revoked, expired): a `notice` saying why,
        then Socket.IO's DISCONNECT, which the official clients report as `io
        server disconnect` and do not reconnect after (docs/PROTOCOL.md, "The
        end of a connection"). Not called under the session's lock: it takes it
        to release the seat, so that no join or command of the connection runs
        past this point."""
        if not self._ending(conn, code):
            return
        live = self.sessions.get(conn.session_id)
        if live is not None:
            async with live.lock:
                if live.seats.get(conn.seat) == conn.sid:
                    del live.seats[conn.seat]
                    await self._presence(live, conn.seat, "left")
        await self._farewell(conn, code)
        await self.sio.disconnect(conn.sid)

    async def _supersede(self, sid: str) -> None:
        """End a connection whose seat a newer one takes (the caller holds the
        session's lock, or the seat moved to another node)."""
        conn = self.connections.get(sid)
        if conn is not None and self._ending(conn, "superseded"):
            await self._farewell(conn, "superseded")
            # In the background: the disconnect handler takes the session's lock.
            self._background(self.sio.disconnect(sid))

    @staticmethod
    def _ending(conn: Connection, code: str) -> bool:
        """Mark a connection as ending; False if it already was. From here on it
        is sent nothing more (fan-out and presence skip it)."""
        if conn.ended is not None:
            return False
        conn.ended = code
        conn.joined = False
        return True

    async def _farewell(self, conn: Connection, code: str) -> None:
        await self.sio.emit("notice", {"code": code, "message": NOTICE_CODES[code]}, to=conn.sid)

    async def revoke(self, invite: Invite) -> None:
        """End every connection of a revoked invite."""
        for sid in list(self._by_invite.get(invite.id, ())):
            conn = self.connections.get(sid)
            if conn is not None:
                await self._end(conn, "token_revoked")

    async def _expire(self, sid: str) -> None:
        conn = self.connections.get(sid)
        if conn is not None:
            await self._end(conn, "token_expired")

    async def _check_expiry(self, conn: Connection) -> dict[str, Any] | None:
        """A connection whose invite expired is answered so, and ended."""
        if self.clock() < conn.expires_at:
            return None
        await self._end(conn, "token_expired")
        return error_ack("token_expired", NOTICE_CODES["token_expired"])

    # -- commands -----------------------------------------------------------------------

    async def _on_command(self, sid: str, data: Any = None, *extra: Any) -> dict[str, Any]:
        started = time.perf_counter()
        try:
            if extra:
                return error_ack("invalid_command", "command takes one argument, a map.")
            return await self._command(sid, data)
        finally:
            self.metrics.command_seconds.observe(time.perf_counter() - started)

    async def _command(self, sid: str, data: Any) -> dict[str, Any]:
        conn = self.connections.get(sid)
        signal = isinstance(data, dict) and data.get("type") == "timeout.call"
        if conn is None or conn.ended is not None or not (conn.joined or signal):
            # The safe signal goes through from any authenticated connection,
            # joined or not yet (invariant 4); while a join runs, its ack
            # waits for the join's history (see below).
            return error_ack("not_joined", "Send `join` before sending commands.")
        if (expired := await self._check_expiry(conn)) is not None:
            return expired
        if isinstance(data, TooLarge):
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
        live = self.sessions.get(conn.session_id)
        # The safe signal is never paced while the session is live (invariant 4).
        exempt = fields.get("type") == "timeout.call" and live is not None and not live.state.ended
        if not exempt and not conn.bucket.allow():
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
            and not await conn.bucket.wait_turn()
        ):
            # More reasons for a time-out that already runs are paced like any
            # other command, but waited for, never refused, unless a client
            # floods far beyond anything a person types.
            return error_ack("rate_limited", "Too many commands; wait a moment and retry.")
        ack, decided = await live.execute_once(
            conn.seat, command, cid, still=lambda: conn.ended is None
        )
        if ack["ok"] and isinstance(command, SetName):
            await self._name_in_case(live, command.seat)
        if not ack["ok"] and decided and conn.seat != "mediator":
            # A retry answered from memory was counted the first time.
            await self._refused(live, conn.seat, command_type(command), ack["error"]["code"])
        if not conn.caught_up.is_set():
            # Its events go out after the join's history: the ack comes
            # after them, as every ack does.
            await conn.caught_up.wait()
        return ack

    async def _name_in_case(self, live: LiveSession, seat: Partner) -> None:
        """A partner renamed in a session of a case is renamed in the case, so
        its next session starts with the name (DESIGN.md, "Cases"). The core
        knows no case: the hub, which did the I/O of the rename, copies it.
        The log holds the rename already; a failure here leaves the case
        behind the session, never the record."""
        case_id = live.info.case_id
        if case_id is None:
            return
        name = live.state.names.partner_a if seat == "partner_a" else live.state.names.partner_b
        try:
            if seat == "partner_a":
                await self.registry.update_case(case_id, name_a=name)
            else:
                await self.registry.update_case(case_id, name_b=name)
        except StoreError as exc:
            logger.warning("session %s: its case was not renamed: %s", live.id, exc)

    async def rename(self, session_id: str, seat: Partner, name: str) -> bool:
        """Rename a partner in a live session of a case, as its mediator (the
        case was renamed over HTTP). False if the session has ended, or
        refuses the name; the case keeps the name either way."""
        live = await self.session(session_id)
        if live is None or live.state.ended:
            return False
        ack = await live.execute("mediator", SetName(seat=seat, name=name), None)
        return bool(ack["ok"])

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

    # -- what a client may not send ---------------------------------------------------------

    def _label(self, sid: str) -> str:
        return self.sio.manager.eio_sid_from_sid(sid, "/") or sid

    async def _on_malformed(self, sid: str, reason: Any = None, *_: Any) -> dict[str, Any]:
        self.faults.report(self._label(sid), f"malformed frame ({reason})")
        return error_ack("invalid_command", "The frame is not a Socket.IO msgpack packet.")

    async def _on_reserved(self, sid: str, name: Any = None, *_: Any) -> dict[str, Any]:
        self.faults.report(self._label(sid), f"reserved event name {name!r}")
        return error_ack(
            "reserved_event",
            f"{name!r} is the name of a Socket.IO handshake event; a client may not emit it.",
        )

    async def _on_unknown(self, event: Any, sid: str, *_: Any) -> dict[str, Any]:
        self.faults.report(self._label(sid), "unknown event")
        return error_ack("unknown_event", "Accord knows the events `join` and `command` only.")


def _unindex(index: dict[K, set[str]], key: K, sid: str) -> None:
    sids = index.get(key)
    if sids is not None:
        sids.discard(sid)
        if not sids:
            del index[key]


def _notice_packet(code: str) -> bytes:
    """A `notice` as an encoded Socket.IO packet (for a socket about to be dropped)."""
    data = ["notice", {"code": code, "message": NOTICE_CODES[code]}]
    encoded: bytes = AccordPacket(sio_packet.EVENT, data=data, namespace="/").encode()
    return encoded


def _events_message(epoch: str, batch: list[bytes], state: bytes) -> eio_packet.Packet:
    return eio_packet.Packet(eio_packet.MESSAGE, events_packet(epoch, batch, state))
