"""A session held in memory: its state, its head, and the one lock that orders it.

Every command for a session runs under `LiveSession.lock`: decide against the
state, append durably, then evolve and hand the records to the fan-out, all
before the next command is looked at. python-socketio runs handlers
concurrently; this lock is what keeps a session's handlers from racing.

If the log moved underneath us (another process or node appended: a
`SeqConflict`), the session catches up from the log and decides again. If the
store failed, nothing was acknowledged and the session re-reads its log before
the next command, so a write that did land is never decided twice.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from array import array
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Final

from accord.core import AnyCommand, Playbook, Rejected, decide, evolve, fold
from accord.core.codec import decode_event, encode_event
from accord.core.commands import CallTimeOut, FireTimer, command_type
from accord.core.events import SessionEnded
from accord.core.seats import SEATS, Actor, Seat
from accord.core.state import SessionState, TimeOutOverlay
from accord.hub.errors import error_ack
from accord.hub.metrics import HubMetrics
from accord.store.base import (
    CommandKey,
    DuplicateCommand,
    EventLog,
    LogHead,
    NewRecord,
    Record,
    SeqConflict,
    SessionInfo,
    StoreError,
    audience_mask,
    seat_in,
)

logger = logging.getLogger(__name__)

#: How often a command is decided again when other writers keep moving the log.
MAX_CONFLICT_RETRIES = 5
#: Refusals kept per session for idempotent retries. Accepted commands are not
#: kept: the log records each one's cid, and a retry is answered from there
#: (DuplicateCommand, or command_result when decide refuses the repeat). Keeping
#: every ack cost up to ~600 KiB per busy session, and the growth made the
#: collector's young generation scans take 60-170 ms (docs/BENCHMARKS.md).
RESULT_CACHE = 2048
#: While a time-out runs, the same partner's repeated safe signal (without a
#: new reason) within this many seconds is acknowledged without a new event:
#: the mediator already has it, and a flood must not fill the record.
SIGNAL_COALESCE_S = 10.0
#: Appended to the log's epoch to make the epoch clients see. Protocol 3
#: numbers each seat's events by the seat's own count; protocol 2 sent the
#: log's seqs. A client that kept a position from before gives back an epoch
#: without this suffix, which differs, and starts over (`reset: true`) instead
#: of resuming from a seq in the other numbering. The epoch is opaque to
#: clients (docs/PROTOCOL.md); change the suffix if the numbering ever changes.
WIRE_SUFFIX: Final = ".s3"

Fanout = Callable[["LiveSession", list[Record]], Awaitable[None]]


def earliest(state: SessionState) -> float | None:
    """The session's next deadline, if it has one."""
    return min((t.due for t in state.timers), default=None)


class LiveSession:
    def __init__(
        self,
        info: SessionInfo,
        playbook: Playbook,
        log: EventLog,
        fanout: Fanout,
        clock: Callable[[], float],
        metrics: HubMetrics,
        on_ended: Callable[[str], Awaitable[None]],
    ) -> None:
        self.id = info.id
        self.info = info
        self.playbook = playbook
        self.log = log
        self.state: SessionState = fold(playbook, ())
        self.head = 0
        #: The log's seqs each seat may see, in order. A seat is told its own
        #: count of these, never a log seq (`count`; invariant 9: private
        #: events of other seats leave no trace, not even a gap, in its seqs).
        #: Every node builds it from the log's audience masks, so every node
        #: numbers a seat's events alike.
        self.visible: dict[Seat, array[int]] = {seat: array("q") for seat in SEATS}
        self.epoch = ""
        self.lock = asyncio.Lock()
        self.seats: dict[Seat, str] = {}  # seat -> sid of its one live connection
        self.presence: dict[Seat, str] = {}
        #: Partners' refused commands by code, for the mediator's balance panel
        #: (loaded from and counted in the store by the hub).
        self.refusals: dict[str, dict[str, int]] = {}
        #: Each partner's last recorded safe signal: (the time-out's timer, when).
        self._signals: dict[str, tuple[str, float]] = {}
        self._fanout = fanout
        self._clock = clock
        self._metrics = metrics
        self._on_ended = on_ended
        self._results: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._stale = False
        self._timers_changed = asyncio.Event()
        self._timer_task: asyncio.Task[None] | None = None
        self._closed = False

    # -- loading ------------------------------------------------------------------

    async def load(self) -> None:
        """Fold the whole log (a 10,000-event session folds in well under 100 ms)."""
        head = await self.log.head(self.id)
        records = await self.log.read(self.id, 0)
        self.state = fold(self.playbook, (decode_event(r.body) for r in records))
        self.head = records[-1].seq if records else 0
        self.visible = {seat: array("q") for seat in SEATS}
        self._saw(records)
        self.epoch = head.epoch
        self._arm_timers()

    async def _catch_up(self) -> list[Record]:
        """Apply what other writers appended since our head (caller holds the lock)."""
        head = await self.log.head(self.id)
        if head.epoch != self.epoch:
            logger.warning("session %s: log epoch changed; reloading", self.id)
            await self.load()
            return []
        records = await self.log.read(self.id, self.head)
        for record in records:
            self.state = evolve(self.state, decode_event(record.body))
            self.head = record.seq
        self._saw(records)
        self._stale = False
        return records

    def _saw(self, records: list[Record]) -> None:
        for record in records:
            for seat in SEATS:
                if seat_in(record.audience, seat):
                    self.visible[seat].append(record.seq)

    def count(self, seat: Seat, upto: int | None = None) -> int:
        """How many events of the log up to `upto` (the head if None) `seat`
        may see: the seq the seat knows the log's position by (invariant 9).

        A seat numbers the events it may see 1, 2, 3 … without holes
        (docs/PROTOCOL.md, "Events"): the n-th has seq n. So a partner cannot
        tell from its seqs whether, or how often, the other partner wrote
        something private, or the mediator a note."""
        seqs = self.visible[seat]
        if upto is None or not seqs or seqs[-1] <= upto:
            return len(seqs)
        if len(seqs) == self.head:
            # A seat that may see every event (the mediator, as the core's
            # audiences stand; checked here, not assumed): its seqs are the log's.
            return max(upto, 0)
        return bisect.bisect_right(seqs, upto)

    def log_seq(self, seat: Seat, count: int) -> int | None:
        """The log's seq of the `count`-th event `seat` may see (0 for none);
        None if the seat may see fewer events than that."""
        seqs = self.visible[seat]
        if count > len(seqs):
            return None
        return seqs[count - 1] if count > 0 else 0

    @property
    def wire_epoch(self) -> str:
        """The epoch clients are given and give back: the log's, with WIRE_SUFFIX."""
        return self.epoch + WIRE_SUFFIX

    def log_head(self) -> LogHead:
        return LogHead(self.head, self.epoch)

    # -- commands -------------------------------------------------------------------

    async def execute(self, actor: Actor, command: AnyCommand, cid: str | None) -> dict[str, Any]:
        """Decide, append durably, evolve, fan out; return the acknowledgement."""
        ack, _ = await self.execute_once(actor, command, cid)
        return ack

    async def execute_once(
        self,
        actor: Actor,
        command: AnyCommand,
        cid: str | None,
        still: Callable[[], bool] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """`execute`, and whether this call decided the command: False when the
        acknowledgement is a remembered refusal given again to a retry.

        `still`, checked once the session's lock is held, says whether the
        sender's connection may still act (not revoked meanwhile). An accepted
        command's `seq` is the sender's count of the events it may see as of
        the command (`count`): events private to others do not move it
        (invariant 9)."""
        key = (actor, cid) if cid else None
        if key is not None and key in self._results:
            return self._results[key], False
        async with self.lock:
            if still is not None and not still():
                return error_ack("not_joined", "This connection was closed; connect again."), False
            if key is not None and key in self._results:
                return self._results[key], False
            ack, coalesced = await self._execute_locked(actor, command, cid)
            if ack["ok"] and actor != "system":
                # The log's seq as of the command, in the sender's numbering.
                ack = {"ok": True, "seq": self.count(actor, ack["seq"])}
            if coalesced and key is not None:
                # In no log: a retry of it is answered the same, even once the
                # time-out ended.
                self._remember(key, ack)
            kind = command_type(command)
            self._metrics.commands.labels(kind, "ok" if ack["ok"] else ack["error"]["code"]).inc()
            retryable = ("unavailable", "conflict", "internal_error")
            if key is not None and not ack["ok"] and ack["error"]["code"] not in retryable:
                self._remember(key, ack)
            return ack, True

    def _remember(self, key: tuple[str, str], ack: dict[str, Any]) -> None:
        """An answer that is in no log (a refusal, a coalesced signal), for retries."""
        self._results[key] = ack
        if len(self._results) > RESULT_CACHE:
            self._results.popitem(last=False)

    async def _execute_locked(
        self, actor: Actor, command: AnyCommand, cid: str | None
    ) -> tuple[dict[str, Any], bool]:
        """The acknowledgement, with the log's seq; and whether it is a
        coalesced safe signal (acknowledged without an event)."""
        new: list[Record] = []
        try:
            if self._stale:
                new += await self._catch_up()
            if self._repeated_signal(actor, command):
                return {"ok": True, "seq": self.head}, True
            return await self._decide_and_append(actor, command, cid, new), False
        except StoreError as exc:
            self._stale = True
            self._metrics.store_errors.inc()
            logger.warning("session %s: store unavailable: %s", self.id, type(exc).__name__)
            return error_ack(
                "unavailable",
                "The session's record could not be confirmed as written. Retry in a moment "
                "with the same cid: a retry records it once, or answers the first result.",
            ), False
        except Exception:
            self._stale = True
            logger.exception("session %s: command failed", self.id)
            return error_ack(
                "internal_error", "The server failed on this command; retry with the same cid."
            ), False
        finally:
            if new:
                await self._delivered(new)

    async def _decide_and_append(
        self, actor: Actor, command: AnyCommand, cid: str | None, new: list[Record]
    ) -> dict[str, Any]:
        """Decide against the latest state and append, again on a conflict;
        what was read or written meanwhile goes into `new` (for the fan-out)."""
        for _ in range(MAX_CONFLICT_RETRIES):
            now = self._clock()
            try:
                events = decide(self.state, command, actor, now)
            except Rejected as refusal:
                if cid and (seq := await self.log.command_result(self.id, CommandKey(actor, cid))):
                    if seq > self.head:
                        new += await self._catch_up()  # its events before its ack
                    return {"ok": True, "seq": seq}  # a retry of a command from before
                if (await self.log.head(self.id)).seq != self.head:
                    # Decided on a stale state: another node appended since.
                    # Refuse only what the latest state refuses.
                    new += await self._catch_up()
                    continue
                return error_ack(refusal.code, refusal.message)
            records = [
                NewRecord(now, actor, audience_mask(e.audience), encode_event(e)) for e in events
            ]
            after = self.state
            for event in events:
                after = evolve(after, event)
            try:
                head = await self.log.append(
                    self.id,
                    self.head,
                    records,
                    CommandKey(actor, cid) if cid else None,
                    deadline=earliest(after),
                )
            except DuplicateCommand as duplicate:
                if duplicate.last_seq > self.head:
                    new += await self._catch_up()  # its events before its ack
                return {"ok": True, "seq": duplicate.last_seq}
            except SeqConflict:
                new += await self._catch_up()
                continue
            new += self._commit(records, after, head)
            if isinstance(command, CallTimeOut) and isinstance(self.state.overlay, TimeOutOverlay):
                self._signals[actor] = (self.state.overlay.timer, now)
            return {"ok": True, "seq": head}
        return error_ack(
            "conflict", f"{actor}'s {command_type(command)} met concurrent changes; retry"
        )

    def _repeated_signal(self, actor: Actor, command: AnyCommand) -> bool:
        """A safe signal given again, without a new reason, while the time-out it
        asks for runs and soon after the last one (SIGNAL_COALESCE_S)."""
        if not isinstance(command, CallTimeOut) or command.reason.strip():
            return False
        overlay = self.state.overlay
        if not isinstance(overlay, TimeOutOverlay):
            return False
        last = self._signals.get(actor)
        return (
            last is not None
            and last[0] == overlay.timer  # this time-out, not an earlier one
            and self._clock() - last[1] < SIGNAL_COALESCE_S
        )

    def _commit(self, records: list[NewRecord], after: SessionState, head: int) -> list[Record]:
        first = head - len(records) + 1
        stored = [
            Record(first + i, r.at, r.actor, r.audience, r.body) for i, r in enumerate(records)
        ]
        self.state = after
        self.head = head
        self._saw(stored)
        self._metrics.events.inc(len(records))
        return stored

    async def _delivered(self, records: list[Record]) -> None:
        await self._fanout(self, records)
        self._arm_timers()
        if self.state.ended and any(
            isinstance(decode_event(r.body), SessionEnded) for r in records
        ):
            await self._on_ended(self.id)

    async def apply_remote(self, records: list[Record]) -> None:
        """Records appended elsewhere (another node), delivered in seq order."""
        async with self.lock:
            fresh = [r for r in records if r.seq > self.head]
            if fresh and fresh[0].seq != self.head + 1:
                fresh = await self._catch_up()  # a gap: fill it from the log
            else:
                for record in fresh:
                    self.state = evolve(self.state, decode_event(record.body))
                    self.head = record.seq
                self._saw(fresh)
            if fresh:
                await self._delivered(fresh)

    # -- timers -----------------------------------------------------------------------

    def _arm_timers(self) -> None:
        if self._closed:
            return
        self._timers_changed.set()
        if self.state.timers and (self._timer_task is None or self._timer_task.done()):
            self._timer_task = asyncio.get_running_loop().create_task(
                self._run_timers(), name=f"timers {self.id}"
            )

    async def _run_timers(self) -> None:
        """Fire each deadline when due. Late or repeated fires are refused by the core."""
        while not self._closed and self.state.timers:
            self._timers_changed.clear()
            timer = min(self.state.timers, key=lambda t: t.due)
            delay = timer.due - self._clock()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._timers_changed.wait(), timeout=delay)
                continue  # deadlines may have changed; look again
            ack = await self.execute("system", FireTimer(timer=timer.id), None)
            if ack["ok"]:
                self._metrics.timers_fired.inc()
            elif ack["error"]["code"] in ("unavailable", "internal_error", "conflict"):
                await asyncio.sleep(1.0)  # the store is down: try again shortly

    @property
    def idle(self) -> bool:
        return not self.seats and not self.state.timers

    async def close(self) -> None:
        self._closed = True
        task = self._timer_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
