"""One node of many: the Hub, plus what makes N nodes over one Redis a single system.

`accord serve --redis URL` runs a `DistributedHub` over a RedisStore
(store/redis.py); docs/SCALING.md draws the picture. Any node serves any seat;
a node may die at any moment. What this module adds to the Hub:

- **Fan-out across nodes.** The append script publishes every batch of new
  records on the session's channel in the same step that stores them, so the
  channel carries the log's one total order. A node subscribes to the channel
  of every session it holds live, *before* loading it (no publish can slip in
  between), and hands what arrives to `LiveSession.apply_remote`, one session
  at a time and in order. A node that appended got its own records back and
  apply_remote ignores them (seq <= head).
- **Catching up.** Pub/sub drops messages while a subscriber is away. After
  every (re)connection of its subscriber, and every `CHECK_S` seconds, a node
  compares each live session's head with Redis and reads what it missed from
  the log. A changed epoch (Redis lost the log) reloads the session and sends
  every seat a fresh snapshot with `reset: true`.
- **Timers.** Each node that holds a session fires its deadlines itself
  (LiveSession's timer task), and records the session's earliest deadline in
  a shared sorted set. Every node polls that set for sessions past due that it
  does not hold (a node that scheduled a time-out may have died), claims one
  with a short lease, loads it and lets it fire. When several nodes fire the
  same deadline, the expected-head check lets exactly one append; the others
  catch up and are refused with `unknown_timer`, which changes nothing.
- **Seats across nodes.** A join claims the seat in Redis; the claim is
  published, and the node holding an older connection of that seat
  supersedes it, as one node does for its own connections. Presence changes,
  partners' refused commands (for the mediator's balance panel) and invite
  revocations are relayed the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Final

import msgpack

from accord.core.seats import SEATS, Seat
from accord.hub.live import LiveSession
from accord.hub.metrics import HubMetrics
from accord.hub.server import Connection, Hub
from accord.settings import Settings
from accord.store.base import Invite, Record, StoreError
from accord.store.redis import (
    REDIS_DOWN,
    RedisStore,
    channel,
    decode_published,
    session_of_channel,
)

logger = logging.getLogger(__name__)

#: How often every live session's head is compared with Redis. Only a lost
#: publish makes a node fall behind, and a reconnect already triggers a full
#: check, so this is a backstop and can be slow.
CHECK_S: Final = 5.0
#: A node's heartbeat lasts this long; it is renewed every CHECK_S. Seats last
#: seen on a node without one count as gone (docs/SCALING.md).
NODE_TTL_S: Final = 3 * CHECK_S
#: How often a node looks for deadlines past due in sessions it does not hold.
TIMER_POLL_S: Final = 0.25
#: A deadline is left to the nodes holding its session for this long.
TIMER_GRACE_S: Final = 0.5
#: A claimed deadline belongs to its claimer this long; then anyone may retry.
TIMER_LEASE_S: Final = 5.0
#: The subscriber pings Redis when it heard nothing for this long.
FEED_PING_S: Final = 5.0
FEED_RECONNECT_S: Final = 0.5
#: What a (un)subscribe may raise when Redis is down or when the subscriber
#: closed the connection under it (redis-py then fails with AttributeError on
#: the dropped writer). Either way the next connection subscribes what is wanted.
FEED_CLOSED: Final[tuple[type[BaseException], ...]] = (*REDIS_DOWN, AttributeError)
SUBSCRIBE_TIMEOUT_S: Final = 2.0

# What a session's channel carries (the append script sends `r`).
_RECORDS: Final = b"r"  # r:<epoch>:<msgpack [first seq, rows]>
_SEAT: Final = b"s"  # s:<seat>:<claim>:<node>
_PRESENCE: Final = b"p"  # p:<msgpack [seat, status, node]>
_REVOKED: Final = b"v"  # v:<invite id>
_REFUSED: Final = b"f"  # f:<msgpack [seat, command type, code, node]>
_RESYNC: Final = b"!"  # local only: compare with Redis and catch up


class _Feed:
    """The node's one pub/sub connection, carrying the channels of its live sessions.

    `run()` keeps it connected. After each (re)connection it calls `on_up`:
    whatever was published while it was away is lost, so the node must catch
    every live session up from the logs.
    """

    def __init__(
        self,
        store: RedisStore,
        node: str,
        on_message: Callable[[str, bytes], None],
        on_up: Callable[[], None],
    ) -> None:
        self._store = store
        self._on_message = on_message
        self._on_up = on_up
        # A channel of this node alone keeps the connection reading (and so
        # noticing a dead Redis) even when no session is live.
        self._own = f"accord:{{node-{node}}}:notices"
        self.wanted: set[str] = set()
        self._pubsub: Any = None
        self._pending: dict[str, asyncio.Future[None]] = {}
        self.connected = asyncio.Event()

    async def run(self) -> None:
        down_since: float | None = None
        while True:
            pubsub: Any = self._store.pubsub()
            try:
                await pubsub.ssubscribe(self._own)
                # Sessions may become wanted while this runs; none may be left out.
                subscribed: set[str] = set()
                while missing := self.wanted - subscribed:
                    await pubsub.ssubscribe(*(channel(s) for s in missing))
                    subscribed |= missing
                self._pubsub = pubsub
                self.connected.set()
                if down_since is not None:
                    logger.warning(
                        "pub/sub to Redis is back after %.1f s; catching every live session up",
                        time.monotonic() - down_since,
                    )
                    down_since = None
                self._on_up()
                await self._read(pubsub)
            except REDIS_DOWN as exc:
                if down_since is None:
                    down_since = time.monotonic()
                    logger.warning("pub/sub to Redis lost: %s: %s", type(exc).__name__, exc)
            except Exception:
                # Never let the subscriber die: without it this node goes deaf.
                logger.exception("the pub/sub subscriber failed; reconnecting")
                down_since = down_since or time.monotonic()
            finally:
                self._pubsub = None
                self.connected.clear()
                for future in self._pending.values():
                    if not future.done():
                        future.set_result(None)  # the next connection subscribes it
                self._pending.clear()
                with contextlib.suppress(*REDIS_DOWN):
                    await pubsub.aclose()
            await asyncio.sleep(FEED_RECONNECT_S)

    async def _read(self, pubsub: Any) -> None:
        heard = time.monotonic()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=1.0)
            now = time.monotonic()
            if message is None:
                if now - heard > 2 * FEED_PING_S:
                    raise TimeoutError("Redis did not answer the subscriber's ping")
                if now - heard > FEED_PING_S and not pinged:
                    await pubsub.ping()
                    pinged = True
                continue
            heard, pinged = now, False
            kind = message["type"]
            if kind == "smessage":
                name = message["channel"]
                if name == self._own.encode():
                    continue
                try:
                    self._on_message(session_of_channel(name), message["data"])
                except Exception:
                    logger.exception("a message on %r could not be read", name)
            elif kind == "ssubscribe":
                future = self._pending.pop(message["channel"].decode(), None)
                if future is not None and not future.done():
                    future.set_result(None)

    async def subscribe(self, session_id: str) -> None:
        """Subscribe to a session's channel and wait until Redis confirms it.

        If the feed is down, return at once: the next connection subscribes
        every wanted channel and then catches every live session up."""
        name = channel(session_id)
        pending = self._pending.get(name)
        if pending is None:
            if session_id in self.wanted:
                return
            self.wanted.add(session_id)
            pubsub = self._pubsub
            if pubsub is None:
                return
            pending = self._pending[name] = asyncio.get_running_loop().create_future()
            try:
                await pubsub.ssubscribe(name)
            except FEED_CLOSED:
                self._pending.pop(name, None)
                return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(pending), SUBSCRIBE_TIMEOUT_S)

    async def unsubscribe(self, session_id: str) -> None:
        self.wanted.discard(session_id)
        pubsub = self._pubsub
        if pubsub is not None:
            with contextlib.suppress(*FEED_CLOSED):
                await pubsub.sunsubscribe(channel(session_id))


class DistributedHub(Hub):
    """A Hub whose sessions are shared with other nodes through a RedisStore."""

    def __init__(
        self,
        settings: Settings,
        store: RedisStore,
        metrics: HubMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(settings, store, store, metrics, clock)
        self.store = store
        self.node = secrets.token_hex(4)
        self.feed = _Feed(store, self.node, self._on_message, self._resync_all)
        self._inbox: dict[str, deque[tuple[bytes, Any]]] = {}
        self._draining: dict[str, asyncio.Task[None]] = {}
        self._firing: dict[str, asyncio.Task[None]] = {}
        self._loaders: dict[str, int] = {}
        self._tasks: list[asyncio.Task[None]] = []
        #: The earliest deadline this node last recorded for each live session.
        self._timer_marks: dict[str, float | None] = {}
        #: The epoch each live session's seats last had a snapshot of.
        self._epochs: dict[str, str] = {}
        #: Connection sid -> the number of its seat claim (the highest one holds the seat).
        self._claims: dict[str, int] = {}
        #: (session, seat) -> the other node whose presence report for it came last.
        self._remote_seats: dict[tuple[str, Seat], str] = {}
        self._heartbeat_lapsed = False

    # -- life cycle --------------------------------------------------------------------

    async def start(self) -> None:
        """Start the subscriber, the timer poller and the periodic check.

        Unlike Hub.start this loads no sessions: deadlines of sessions nobody
        holds are found in the shared timer set, on whichever node polls first.
        """
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self.feed.run(), name="accord feed"),
            loop.create_task(self._poll_timers(), name="accord timer poll"),
            loop.create_task(self._check_loop(), name="accord check"),
        ]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.feed.connected.wait(), SUBSCRIBE_TIMEOUT_S)
        with contextlib.suppress(StoreError):
            await self.store.heartbeat(self.node, NODE_TTL_S)

    async def close(self) -> None:
        # Grace periods and disconnects first: they may still unsubscribe,
        # which needs the feed that is cancelled next.
        await self._stop_background()
        tasks = [*self._tasks, *self._draining.values(), *self._firing.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await super().close()

    # -- sessions ----------------------------------------------------------------------

    async def session(self, session_id: str) -> LiveSession | None:
        live = self.sessions.get(session_id)
        if live is not None:
            return live
        self._loaders[session_id] = self._loaders.get(session_id, 0) + 1
        try:
            await self.feed.subscribe(session_id)  # before the load reads the log
            live = await super().session(session_id)
        finally:
            self._loaders[session_id] -= 1
            if not self._loaders[session_id]:
                del self._loaders[session_id]
                if session_id not in self.sessions:
                    await self.feed.unsubscribe(session_id)
        if live is not None and session_id not in self._epochs:
            self._epochs[session_id] = live.epoch
            await self._load_presence(live)
            await self._note_timers(live, loading=True)
        return live

    async def _evict(self, live: LiveSession) -> None:
        await super()._evict(live)
        if live.id not in self.sessions and live.id not in self._loaders:
            self._timer_marks.pop(live.id, None)
            self._epochs.pop(live.id, None)
            for key in [k for k in self._remote_seats if k[0] == live.id]:
                del self._remote_seats[key]
            await self.feed.unsubscribe(live.id)

    async def _fanout(self, live: LiveSession, records: list[Record]) -> None:
        if self._epochs.get(live.id, live.epoch) != live.epoch:
            # The session reloaded a new log (Redis lost the old one): the
            # seats' history is void, and a snapshot starts them over.
            await self._restart_seats(live)
        else:
            await super()._fanout(live, records)
        await self._note_timers(live)

    async def _restart_seats(self, live: LiveSession) -> None:
        """Send every local seat a snapshot with `reset: true` and its whole history.

        The history is the new log's, which starts after the old one was lost:
        short by construction, so it goes out at once. A seat whose join was
        streaming the old log's history is closed instead (its client
        reconnects and joins the new log). The caller holds the session's lock."""
        try:
            records = await self.log.read(live.id, 0, live.head)
        except StoreError:
            return  # the periodic check tries again
        for seat, sid in list(live.seats.items()):
            conn = self.connections.get(sid)
            if conn is None or conn.ended is not None:
                continue
            if conn.streaming:
                self._background(self.sio.drop(conn.eio_sid))
                continue
            await self.sio.emit("snapshot", self._snapshot(live, seat, True), to=sid)
            await self._send_events(live, conn, records, always=True)
            conn.sent_seq = live.head
        self._epochs[live.id] = live.epoch

    # -- what arrives on the channels ---------------------------------------------------

    def _on_message(self, session_id: str, data: bytes) -> None:
        kind, _, rest = data.partition(b":")
        if kind == _RECORDS:
            epoch, _, payload = rest.partition(b":")
            item: Any = (epoch.decode(), decode_published(payload))
        elif kind == _SEAT:
            seat, claim, node = rest.decode().split(":")
            item = (seat, int(claim), node)
        elif kind in (_PRESENCE, _REFUSED):
            item = tuple(msgpack.unpackb(rest, raw=False))
        elif kind == _REVOKED:
            # Not queued behind the session: its connections may not have
            # joined (or it may not be loaded here) yet, and must close anyway.
            self._background(self._revoked_elsewhere(rest.decode()))
            return
        else:
            logger.warning("session %s: unknown message %r on its channel", session_id, kind)
            return
        self._post(session_id, kind, item)

    def _post(self, session_id: str, kind: bytes, item: Any) -> None:
        """Queue work for a session; one task per session works through it in order."""
        if session_id not in self.sessions:
            return
        self._inbox.setdefault(session_id, deque()).append((kind, item))
        if session_id not in self._draining:
            self._draining[session_id] = asyncio.get_running_loop().create_task(
                self._drain(session_id), name=f"inbox {session_id}"
            )

    def _resync_all(self) -> None:
        for session_id in list(self.sessions):
            self._post(session_id, _RESYNC, None)
        self._background(self._recheck_invites())
        self._background(self._announce_seats())

    async def _announce_seats(self) -> None:
        """Tell the other nodes again which seats are here. After this node was
        cut off from Redis they may have counted them as gone (its heartbeat
        ran out), and they may have missed presence changes meanwhile."""
        for live in list(self.sessions.values()):
            for seat in list(live.seats):
                try:
                    await self._share_presence(live, seat, "joined")
                except StoreError:
                    return  # cut off again; the next reconnection announces them

    async def _drain(self, session_id: str) -> None:
        try:
            box = self._inbox.get(session_id)
            while box:
                kind, item = box.popleft()
                if kind == _RECORDS:
                    # Take the whole run of record batches of one epoch at once.
                    epoch, records = item
                    while box and box[0][0] == _RECORDS and box[0][1][0] == epoch:
                        records = records + box.popleft()[1][1]
                    item = (epoch, records)
                live = self.sessions.get(session_id)
                if live is None:
                    continue
                try:
                    await self._handle(live, kind, item)
                except StoreError as exc:
                    # The next check (or reconnection) catches the session up.
                    logger.warning("session %s: %s while catching up", session_id, exc)
                except Exception:
                    logger.exception("session %s: handling %r failed", session_id, kind)
        finally:
            self._inbox.pop(session_id, None)
            self._draining.pop(session_id, None)

    async def _handle(self, live: LiveSession, kind: bytes, item: Any) -> None:
        if kind == _RECORDS:
            epoch, records = item
            if epoch != live.epoch:
                await self._resync(live)
            else:
                await live.apply_remote(records)
        elif kind == _RESYNC:
            await self._resync(live)
        elif kind == _SEAT:
            await self._seat_claimed(live, *item)
        elif kind == _PRESENCE:
            seat, status, node = item
            if node != self.node:
                self._remote_seats[(live.id, seat)] = node
                await Hub._presence(self, live, seat, status)  # relay, do not publish again
        elif kind == _REFUSED:
            seat, command, code, node = item
            if node != self.node:
                await self._relay_refused(live, seat, command, code)

    async def _revoked_elsewhere(self, invite_id: str) -> None:
        try:
            invite = await self.registry.get_invite(invite_id)
        except StoreError as exc:
            # The next reconnection of the subscriber checks every invite again.
            logger.warning("invite %s revoked elsewhere, not yet read: %s", invite_id, exc)
            return
        if invite is not None:
            await Hub.revoke(self, invite)

    async def _recheck_invites(self) -> None:
        """Close connections whose invite was revoked while this node may have
        missed the notice (the subscriber was cut off from Redis)."""
        for invite_id in {c.invite_id for c in self.connections.values()}:
            try:
                invite = await self.registry.get_invite(invite_id)
            except StoreError:
                return  # Redis went away again; the next reconnection retries
            if invite is not None and invite.revoked_at is not None:
                await Hub.revoke(self, invite)

    async def _resync(self, live: LiveSession) -> None:
        """Compare the session with Redis and catch it up (or start it over)."""
        head = await self.store.head(live.id)
        if head.epoch == live.epoch and head.seq < live.head:
            # Seqs only grow, and this node saw live.head stored: Redis came
            # back with an older copy of the log. That is a lost log too.
            logger.error(
                "session %s: Redis has the log up to %d, this node saw %d; starting a new epoch",
                live.id,
                head.seq,
                live.head,
            )
            await self.store.renew_epoch(live.id, live.epoch)
            head = await self.store.head(live.id)
        if head.epoch != live.epoch:
            logger.warning("session %s: the log's epoch changed; reloading it", live.id)
            async with live.lock:
                await live.load()
                await self._restart_seats(live)
            await self._note_timers(live)
        elif head.seq > live.head:
            await live.apply_remote(await self.log.read(live.id, live.head))
        elif self._epochs.get(live.id) != live.epoch:
            async with live.lock:
                await self._restart_seats(live)

    # -- the periodic check -------------------------------------------------------------

    async def _check_loop(self) -> None:
        while True:
            await asyncio.sleep(CHECK_S)
            try:
                try:
                    await self.store.heartbeat(self.node, NODE_TTL_S)
                except StoreError:
                    self._heartbeat_lapsed = True
                    raise
                if self._heartbeat_lapsed:
                    self._heartbeat_lapsed = False
                    await self._announce_seats()  # others may have counted our seats gone
                await self._check()
            except StoreError:
                pass  # Redis is down; the subscriber's reconnection triggers a full check
            except Exception:
                logger.exception("the periodic check failed")

    async def _check(self) -> None:
        ids = list(self.sessions)
        for session_id in ids:
            if session_id not in self.feed.wanted:
                await self.feed.subscribe(session_id)
        heads = await self.store.heads(ids)
        for session_id in ids:
            live = self.sessions.get(session_id)
            head = heads.get(session_id)
            if live is None:
                continue
            if (
                head is None
                or (head.seq, head.epoch) != (live.head, live.epoch)
                or self._epochs.get(session_id) != live.epoch
            ):
                self._post(session_id, _RESYNC, None)
            elif session_id not in self._timer_marks:
                await self._note_timers(live)  # an earlier write failed
        await self._forget_dead_nodes()
        await self._evict_unused()

    async def _forget_dead_nodes(self) -> None:
        """Seats present through a node that died are gone: its clients reconnect
        elsewhere, and that node says they joined. Each node tells its own seats."""
        nodes = sorted(set(self._remote_seats.values()))
        if not nodes:
            return
        alive = await self.store.alive(nodes)
        for (session_id, seat), node in list(self._remote_seats.items()):
            if node in alive:
                continue
            del self._remote_seats[(session_id, seat)]
            live = self.sessions.get(session_id)
            if live is not None and seat not in live.seats and live.presence.get(seat) != "left":
                await Hub._presence(self, live, seat, "left")

    async def _evict_unused(self) -> None:
        """Drop sessions nobody here uses (`Hub._unused`), and that no deadline
        firing or message being handled here needs either."""
        for session_id, live in list(self.sessions.items()):
            if (
                self._unused(live)
                and session_id not in self._firing
                and session_id not in self._draining
                and session_id not in self._idle
            ):
                await self._evict(live)

    # -- timers -------------------------------------------------------------------------

    async def _note_timers(self, live: LiveSession, *, loading: bool = False) -> None:
        """Record the session's earliest deadline in the shared set, if it changed."""
        due = min((t.due for t in live.state.timers), default=None)
        if loading and due is not None and due <= self.clock():
            return  # it fires now, and the firing records the next one
        if live.id in self._timer_marks and self._timer_marks[live.id] == due:
            return
        try:
            await self.store.set_timer(live.id, live.epoch, live.head, due)
        except StoreError:
            self._timer_marks.pop(live.id, None)  # the periodic check writes it again
            return
        self._timer_marks[live.id] = due

    async def _poll_timers(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(TIMER_POLL_S)
            cutoff = self.clock() - TIMER_GRACE_S
            try:
                due = await self.store.due_timers(cutoff)
                for session_id in due:
                    if session_id in self.sessions or session_id in self._firing:
                        continue  # held here: its own timer task fires it
                    if await self.store.claim_timer(
                        session_id, cutoff, self.clock() + TIMER_LEASE_S
                    ):
                        self._firing[session_id] = loop.create_task(
                            self._fire(session_id), name=f"fire {session_id}"
                        )
            except StoreError:
                continue
            except Exception:
                logger.exception("the timer poll failed")

    async def _fire(self, session_id: str) -> None:
        """Load a session whose deadline passed with no node holding it, and let it fire."""
        try:
            live = await self.session(session_id)
            if live is None:
                await self.store.set_timer(session_id, "", 0, None)  # the session is gone
                return
            logger.info("session %s: firing a deadline no node held", session_id)
            # Loading armed its timer task, which fires what is due now.
            give_up = time.monotonic() + TIMER_LEASE_S
            while any(t.due <= self.clock() for t in live.state.timers):
                if time.monotonic() > give_up:
                    return  # the lease runs out and some node tries again
                await asyncio.sleep(0.05)
            self._timer_marks.pop(session_id, None)
            await self._note_timers(live)
        except StoreError as exc:
            logger.warning("session %s: could not fire its deadline: %s", session_id, exc)
        finally:
            self._firing.pop(session_id, None)

    # -- seats, presence and revocations across nodes ---------------------------------------

    async def _claim(self, conn: Connection) -> None:
        """Claim the seat in Redis once the join is valid (not refused for its
        fields, its rate or an expired invite), before it takes the seat: the
        claim's number orders this join against joins of the same seat on
        other nodes, whichever finishes first. If Redis is down, the join
        itself says so."""
        if conn.sid not in self._claims:
            with contextlib.suppress(StoreError):
                self._claims[conn.sid] = await self.store.claim_seat(
                    conn.session_id, conn.seat, self.node
                )

    async def _on_disconnect(self, sid: str, reason: Any = None) -> None:
        await super()._on_disconnect(sid, reason)
        self._claims.pop(sid, None)

    async def _seat_claimed(self, live: LiveSession, seat: Seat, claim: int, node: str) -> None:
        if node == self.node:
            return
        grace = self._grace.pop((live.id, seat), None)
        if grace is not None:
            grace.cancel()  # the seat went on elsewhere; it has not left
        async with live.lock:
            local = live.seats.get(seat)
            if local is None or self._claims.get(local, 0) > claim:
                return
            # Forget the seat first, so its disconnect announces no departure.
            del live.seats[seat]
        await self._supersede(local)

    async def _presence(self, live: LiveSession, seat: Seat, status: str) -> None:
        await super()._presence(live, seat, status)
        try:
            await self._share_presence(live, seat, status)
        except StoreError as exc:
            logger.warning("session %s: presence not shared with other nodes: %s", live.id, exc)

    async def _share_presence(self, live: LiveSession, seat: Seat, status: str) -> None:
        """Record a seat's presence in Redis and tell the other nodes, in one step."""
        message = _PRESENCE + b":" + msgpack.packb([seat, status, self.node])
        await self.store.set_presence(live.id, seat, status, self.node, self.clock(), message)

    async def _load_presence(self, live: LiveSession) -> None:
        """Seats present through other nodes, for the snapshots of this node's seats.

        A seat last seen on a node that stopped renewing its heartbeat is gone:
        its client reconnects elsewhere (and says so) or has left."""
        try:
            found = await self.store.presence(live.id)
            alive = await self.store.alive(sorted({node for _, node, _ in found.values()}))
        except StoreError as exc:
            logger.warning("session %s: presence on other nodes unknown: %s", live.id, exc)
            return
        for seat in SEATS:
            if seat in live.seats or seat not in found:
                continue
            status, node, _at = found[seat]
            live.presence[seat] = status if node in alive else "left"
            if node in alive and node != self.node and status != "left":
                self._remote_seats[(live.id, seat)] = node

    async def _relay_refused(self, live: LiveSession, seat: Seat, kind: str, code: str) -> None:
        """Another node refused a partner here and counted it in Redis: take the
        counts from there (they may already include it if this node just loaded
        the session) and tell this node's mediator."""
        try:
            live.refusals = await self.store.refusal_counts(live.id)
        except StoreError:
            await self._tell_refused(live, seat, kind, code)  # count it here, then
            return
        await self._send_refused(live, seat, kind, code)

    async def _refused(self, live: LiveSession, seat: Seat, kind: str, code: str) -> None:
        await super()._refused(live, seat, kind, code)
        with contextlib.suppress(StoreError):
            payload = msgpack.packb([seat, kind, code, self.node])
            await self.store.publish(live.id, _REFUSED + b":" + payload)

    async def revoke(self, invite: Invite) -> None:
        """Close the invite's connections here, and tell the other nodes.

        If the notice cannot be published, say so (the API answers
        `unavailable`, and the mediator's retry publishes it again): the invite
        is revoked in the store already, so no new connection gets in, and
        every node checks its connections' invites when its subscriber
        reconnects."""
        await super().revoke(invite)
        await self.store.publish(invite.session_id, _REVOKED + b":" + invite.id.encode())
