"""The time-out: an overlay over any phase, always followed by a debrief.

Gottman's break for flooding (DESIGN.md, "Time-outs and debriefs"): either
partner may call one at any moment but after the end — the safe signal, never
refused (invariant 4), its optional reason private to the mediator; the
mediator may start, end, extend or schedule one, within the playbook's
`[time_out]` lengths (about twenty minutes, never more than a day). While it
runs no dialogue act is accepted; when it ends a debrief stands over the
phase, which resumes only once the debrief is completed or skipped
(invariant 3). The debrief's answering is the debrief phase's
(`phases/debrief.py`); this module declares when that debrief stands.

Timers are deadlines in the session state, fired by the hub; this module owns
both kinds: the end of a running time-out and a scheduled one.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec
from msgspec.structs import replace

from accord.core.base import (
    MEDIATOR,
    MEDIATOR_ONLY,
    PARTNER,
    Command,
    Event,
    Minutes,
    OverlayState,
    PromptText,
    Reason,
    Spec,
    State,
    Stop,
    Take,
    Timer,
    Timestamp,
    always,
    as_partner,
    refuse,
)
from accord.core.kinds import (
    Broken,
    Move,
    OverlayType,
    Part,
    PhaseType,
    Prompt,
    SpecProblems,
    Transition,
)
from accord.core.phases import BY_STATE as PHASES
from accord.core.phases import debrief
from accord.core.phases.debrief import (
    DEFAULT_DEBRIEF_PROMPTS,
    AnswerDebrief,
    DebriefCompleted,
    DebriefOverlay,
    DebriefStarted,
    SkipDebrief,
)
from accord.core.seats import PARTNERS, Actor, Partner, Seat

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState

#: Gottman: a break for flooding lasts about twenty minutes and never more
#: than a day.
MAX_TIME_OUT_MINUTES: Final = 24 * 60


class TimeOutSpec(Spec, frozen=True):
    """Time-out lengths (Gottman: about 20 minutes, at most 24 hours)."""

    default_minutes: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    min_minutes: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    max_minutes: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    #: Scheduled breaks every N minutes once the first dialogue starts (0: none).
    every_minutes: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    debrief_prompts: tuple[PromptText, ...] = DEFAULT_DEBRIEF_PROMPTS


class TimeOutOverlay(OverlayState, tag="time_out", frozen=True):
    timer: str
    by: Actor
    started_at: float
    ends_at: float


class Schedule(State, frozen=True):
    timer: str
    every_minutes: float | None
    minutes: float


# -- commands ------------------------------------------------------------------------------

_NONE_RUNNING: Final = ("not_in_time_out", ": none is running")


class CallTimeOut(Command, tag="timeout.call", frozen=True):
    """The safe signal. The reason, if any, reaches the mediator only."""

    senders = PARTNER
    words = "call a time-out"
    reason: Reason = ""


class StartTimeOut(Command, tag="timeout.start", frozen=True):
    senders = MEDIATOR
    words = "start a time-out"
    minutes: Minutes | None = None


class EndTimeOut(Command, tag="timeout.end", frozen=True):
    senders = MEDIATOR
    words = "end the time-out"
    elsewhere = _NONE_RUNNING
    reason: Reason = ""


class ExtendTimeOut(Command, tag="timeout.extend", frozen=True):
    senders = MEDIATOR
    words = "extend the time-out"
    elsewhere = _NONE_RUNNING
    minutes: Minutes


class ScheduleTimeOut(Command, tag="timeout.schedule", frozen=True):
    """At a time (unix seconds), or every N minutes from now, or both."""

    senders = MEDIATOR
    words = "schedule a time-out"
    at: Timestamp | None = None
    every_minutes: Minutes | None = None
    minutes: Minutes | None = None


class CancelSchedule(Command, tag="timeout.unschedule", frozen=True):
    senders = MEDIATOR
    words = "cancel the scheduled time-out"


TimeOutCommand = (
    CallTimeOut | StartTimeOut | EndTimeOut | ExtendTimeOut | ScheduleTimeOut | CancelSchedule
)

# -- events --------------------------------------------------------------------------------


class TimeOutStarted(Event, tag="timeout.started", frozen=True):
    timer: str
    by: Actor  # the partner who called it, the mediator, or "system" (schedule)
    started_at: float
    ends_at: float


class TimeOutReason(Event, tag="timeout.reason", frozen=True):
    """The caller's private reason: the mediator only, never the other partner."""

    by: Partner
    reason: str


class TimeOutSignalled(Event, tag="timeout.signalled", frozen=True):
    """The safe signal given again while a time-out already runs."""

    by: Partner


class TimeOutExtended(Event, tag="timeout.extended", frozen=True):
    timer: str
    ends_at: float


class TimeOutEnded(Event, tag="timeout.ended", frozen=True):
    timer: str
    by: Actor
    reason: str = ""


class TimeOutScheduled(Event, tag="timeout.scheduled", frozen=True):
    timer: str
    due: float  # when the break starts (not `at`: every event's envelope has an `at`)
    every_minutes: float | None
    minutes: float


class ScheduleCancelled(Event, tag="timeout.unscheduled", frozen=True):
    timer: str


class TimerFired(Event, tag="timer.fired", frozen=True):
    timer: str


TimeOutEvent = (
    TimeOutStarted
    | TimeOutReason
    | TimeOutSignalled
    | TimeOutExtended
    | TimeOutEnded
    | TimeOutScheduled
    | ScheduleCancelled
    | TimerFired
)

CODES: Final = {
    "in_time_out": "A time-out is running; only time-out business is accepted.",
    "debrief_pending": "A debrief must be completed before the session goes on.",
    "not_in_time_out": "There is no time-out running.",
    "out_of_range": "The duration is outside the playbook's minimum and maximum.",
    "no_schedule": "No time-out is scheduled.",
}


# -- handlers: in every phase --------------------------------------------------------------


def _timer_id(state: SessionState, offset: int = 0) -> str:
    return f"t{state.next_timer + offset}"


def _started(state: SessionState, by: Actor, now: float, minutes: float) -> TimeOutStarted:
    return TimeOutStarted(timer=_timer_id(state), by=by, started_at=now, ends_at=now + minutes * 60)


def _with_reason(events: list[Event], actor: Actor, reason: str) -> list[Event]:
    if reason.strip():
        events.append(
            TimeOutReason(by=as_partner(actor), reason=reason.strip(), audience=MEDIATOR_ONLY)
        )
    return events


def _call(state: SessionState, c: CallTimeOut, actor: Actor, now: float) -> list[Event]:
    """The safe signal: never refused (invariant 4); the reason is the mediator's."""
    minutes = state.playbook.time_out.default_minutes
    return _with_reason([_started(state, actor, now, minutes)], actor, c.reason)


def _in_range(state: SessionState, minutes: float, actor: Actor, c: Command) -> None:
    t = state.playbook.time_out
    if not t.min_minutes <= minutes <= t.max_minutes:
        raise refuse(
            "out_of_range",
            actor,
            c,
            f"for {minutes:g} minutes: this playbook allows {t.min_minutes:g} to "
            f"{t.max_minutes:g} minutes",
        )


def _start(state: SessionState, c: StartTimeOut, actor: Actor, now: float) -> list[Event]:
    minutes = c.minutes if c.minutes is not None else state.playbook.time_out.default_minutes
    _in_range(state, minutes, actor, c)
    return [_started(state, actor, now, minutes)]


def _schedule(state: SessionState, c: ScheduleTimeOut, actor: Actor, now: float) -> list[Event]:
    if c.at is None and c.every_minutes is None:
        raise refuse("invalid_command", actor, c, "without `at` or `every_minutes`")
    if c.at is not None and c.at <= now:
        raise refuse("out_of_range", actor, c, "in the past")
    minutes = c.minutes if c.minutes is not None else state.playbook.time_out.default_minutes
    _in_range(state, minutes, actor, c)
    if c.every_minutes is not None and c.every_minutes < minutes:
        raise refuse(
            "out_of_range",
            actor,
            c,
            f"every {c.every_minutes:g} minutes: breaks of {minutes:g} minutes need at least "
            f"that long between their starts",
        )
    due = c.at if c.at is not None else now + (c.every_minutes or 0) * 60
    events: list[Event] = []
    if state.schedule is not None:
        events.append(ScheduleCancelled(timer=state.schedule.timer))
    events.append(
        TimeOutScheduled(
            timer=_timer_id(state), due=due, every_minutes=c.every_minutes, minutes=minutes
        )
    )
    return events


_NO_SCHEDULE: Final = Stop("no_schedule", "now: none is scheduled")


def _schedule_gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    return _NO_SCHEDULE if state.schedule is None else None


def _unschedule(state: SessionState, c: CancelSchedule, actor: Actor, now: float) -> list[Event]:
    assert state.schedule is not None
    return [ScheduleCancelled(timer=state.schedule.timer)]


# -- handlers: while a time-out runs -------------------------------------------------------


def _time_out(state: SessionState) -> TimeOutOverlay:
    overlay = state.overlay
    assert isinstance(overlay, TimeOutOverlay)
    return overlay


def _signal(state: SessionState, c: CallTimeOut, actor: Actor, now: float) -> list[Event]:
    """The safe signal again: recorded, never refused."""
    return _with_reason([TimeOutSignalled(by=as_partner(actor))], actor, c.reason)


_RUNNING: Final = Stop("in_time_out", "now: one is already running")


def _running(state: SessionState, actor: Actor, kind: type[Command]) -> Stop:
    return _RUNNING


def _after(state: SessionState, timer: str, by: Actor, reason: str) -> list[Event]:
    """Every time-out ends in a debrief (invariant 3)."""
    prompts = state.playbook.time_out.debrief_prompts
    return [
        TimeOutEnded(timer=timer, by=by, reason=reason),
        DebriefStarted(prompts=prompts, after="time_out"),
    ]


def _end(state: SessionState, c: EndTimeOut, actor: Actor, now: float) -> list[Event]:
    return _after(state, _time_out(state).timer, actor, c.reason.strip())


def _extend(state: SessionState, c: ExtendTimeOut, actor: Actor, now: float) -> list[Event]:
    overlay = _time_out(state)
    ends_at = overlay.ends_at + c.minutes * 60
    total = (ends_at - overlay.started_at) / 60
    limit = state.playbook.time_out.max_minutes
    if total > limit + 1e-9:
        raise refuse(
            "out_of_range",
            actor,
            c,
            f"by {c.minutes:g} minutes: the time-out would last {total:g} minutes, "
            f"more than the playbook's {limit:g}",
        )
    return [TimeOutExtended(timer=overlay.timer, ends_at=ends_at)]


def _room(state: SessionState) -> float:
    """How many minutes longer the running time-out may still be made."""
    overlay = _time_out(state)
    used = (overlay.ends_at - overlay.started_at) / 60
    return max(0.0, state.playbook.time_out.max_minutes - used)


def _extend_gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    """At the playbook's maximum, no extension can be taken, whatever its length."""
    if _room(state) <= 1e-9:
        limit = state.playbook.time_out.max_minutes
        return Stop(
            "out_of_range", f"now: the time-out already lasts the playbook's {limit:g} minutes"
        )
    return None


def _extend_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    return {"max_minutes": _room(state)}


# -- handlers: the debrief after a time-out ------------------------------------------------


def _debrief(state: SessionState) -> DebriefOverlay:
    overlay = state.overlay
    assert isinstance(overlay, DebriefOverlay)
    return overlay


def _debrief_gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    return debrief.answer_gate(_debrief(state).answered, actor)


def _answer(state: SessionState, c: AnswerDebrief, actor: Actor, now: float) -> list[Event]:
    return debrief.answer(_debrief(state).answered, c, actor, "time_out")


def _skip(state: SessionState, c: SkipDebrief, actor: Actor, now: float) -> list[Event]:
    return [debrief.skip(c, actor, "time_out")]


def _prompts_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    return debrief.prompts_hint(_debrief(state).prompts)


# -- timers --------------------------------------------------------------------------------


def _time_out_ends(state: SessionState, timer: Timer, now: float) -> list[Event]:
    return [TimerFired(timer=timer.id), *_after(state, timer.id, "system", "")]


def _scheduled(state: SessionState, timer: Timer, now: float) -> list[Event]:
    """A scheduled break interrupts a phase that takes breaks (a dialogue).
    One that comes due during a time-out or its debrief, in the lobby or in a
    debrief phase is not taken (the partners are not talking); a recurring
    one re-arms all the same."""
    schedule = state.schedule
    assert schedule is not None and schedule.timer == timer.id
    events: list[Event] = [TimerFired(timer=timer.id)]
    offset = 0
    current = PHASES.get(type(state.phase))
    if state.overlay is None and current is not None and current.scheduled_breaks:
        events.append(
            TimeOutStarted(
                timer=_timer_id(state),
                by="system",
                started_at=now,
                ends_at=now + schedule.minutes * 60,
            )
        )
        offset = 1
    if schedule.every_minutes:
        # Never closer than a break lasts (a schedule made before that rule).
        every = max(schedule.every_minutes, schedule.minutes)
        events.append(
            TimeOutScheduled(
                timer=_timer_id(state, offset),
                due=now + every * 60,
                every_minutes=schedule.every_minutes,
                minutes=schedule.minutes,
            )
        )
    return events


def on_phase_start(state: SessionState, started: PhaseType, now: float) -> list[Event]:
    """The playbook's breaks (`every_minutes`) are scheduled when the first
    phase that takes breaks starts (Gottman: planned breaks, before anyone is
    flooded)."""
    t = state.playbook.time_out
    if not (started.scheduled_breaks and not state.dialogue_started and t.every_minutes):
        return []
    if state.schedule is not None:
        return []
    # Never closer than a break lasts (a playbook from before that rule).
    interval = max(t.every_minutes, t.default_minutes)
    return [
        TimeOutScheduled(
            timer=_timer_id(state),
            due=now + interval * 60,
            every_minutes=t.every_minutes,
            minutes=t.default_minutes,
        )
    ]


# -- evolvers ------------------------------------------------------------------------------


def _without(state: SessionState, timer: str) -> tuple[Timer, ...]:
    return tuple(t for t in state.timers if t.id != timer)


def _time_out_started(state: SessionState, e: TimeOutStarted) -> SessionState:
    return replace(
        state,
        overlay=TimeOutOverlay(timer=e.timer, by=e.by, started_at=e.started_at, ends_at=e.ends_at),
        timers=(*state.timers, Timer(id=e.timer, kind="time_out_end", due=e.ends_at)),
        next_timer=state.next_timer + 1,
    )


def _extended(state: SessionState, e: TimeOutExtended) -> SessionState:
    timers = tuple(replace(t, due=e.ends_at) if t.id == e.timer else t for t in state.timers)
    return replace(state, overlay=replace(_time_out(state), ends_at=e.ends_at), timers=timers)


def _ended(state: SessionState, e: TimeOutEnded) -> SessionState:
    return replace(state, overlay=None, timers=_without(state, e.timer))


def _scheduled_event(state: SessionState, e: TimeOutScheduled) -> SessionState:
    return replace(
        state,
        schedule=Schedule(timer=e.timer, every_minutes=e.every_minutes, minutes=e.minutes),
        timers=(*state.timers, Timer(id=e.timer, kind="scheduled_time_out", due=e.due)),
        next_timer=state.next_timer + 1,
    )


def _unscheduled(state: SessionState, e: ScheduleCancelled) -> SessionState:
    return replace(state, schedule=None, timers=_without(state, e.timer))


def _fired(state: SessionState, e: TimerFired) -> SessionState:
    schedule = state.schedule
    if schedule is not None and schedule.timer == e.timer:
        schedule = None  # a recurring schedule re-arms with its own event
    return replace(state, timers=_without(state, e.timer), schedule=schedule)


def _unchanged(state: SessionState, e: Event) -> SessionState:
    return state


# -- the page ------------------------------------------------------------------------------


def _time_out_prompt(state: SessionState, seat: Seat, role: str) -> Prompt:
    if seat == "mediator":
        return Prompt(role, "time_out", "Time-out: you may extend or end it; a debrief follows.")
    return Prompt(role, "time_out", "Time-out. Take a break and breathe slowly.")


def _debrief_prompt(state: SessionState, seat: Seat, role: str) -> Prompt:
    return debrief.prompt(_debrief(state).answered, seat, role, "time_out")


def _debrief_view(data: dict[str, Any], seat: Seat) -> None:
    debrief.hide_answers(data["overlay"], seat)


# -- the model checker ---------------------------------------------------------------------


def _moves(playbook: Playbook, now: float) -> list[Move]:
    moves: list[Move] = [(p, CallTimeOut(reason="I am flooded."), False) for p in PARTNERS]
    return [
        *moves,
        ("mediator", StartTimeOut(), False),
        ("mediator", EndTimeOut(), False),
        ("mediator", ExtendTimeOut(minutes=playbook.time_out.min_minutes), False),
        ("mediator", ScheduleTimeOut(at=now + 600), False),
        ("mediator", CancelSchedule(), False),
    ]


def _invariants(t: Transition) -> Broken:
    """Invariant 3 (every time-out ends in a debrief, which is not bypassed)
    and 7 for a time-out's private reason."""
    broken: Broken = [
        ("invariant_7", f"{t.where}: a private event reaches {e.audience}")
        for e in t.events
        if isinstance(e, TimeOutReason) and e.audience != MEDIATOR_ONLY
    ]
    ended = any(isinstance(e, TimeOutEnded) for e in t.events)
    debriefed = any(isinstance(e, DebriefStarted) and e.after == "time_out" for e in t.events)
    if ended and not debriefed and not t.after.ended:
        broken.append(("invariant_3", f"{t.where}: a time-out ended without a debrief"))
    if (
        isinstance(t.before.overlay, DebriefOverlay)
        and t.after.overlay is None
        and not t.after.ended
        and not any(isinstance(e, DebriefCompleted) for e in t.events)
    ):
        broken.append(("invariant_3", f"{t.where}: the debrief after a time-out was bypassed"))
    return broken


def _time_out_key(overlay: TimeOutOverlay) -> Hashable:
    return ("time_out", overlay.by)


def _debrief_key(overlay: DebriefOverlay) -> Hashable:
    return ("debrief", tuple(sorted(overlay.answered)))


# -- the playbook's [time_out] table -------------------------------------------------------


def spec_problems(t: TimeOutSpec) -> SpecProblems:
    """The rules across the `[time_out]` table's fields (key, rule, message)."""
    problems: SpecProblems = []
    if t.max_minutes > MAX_TIME_OUT_MINUTES:
        problems.append(
            (
                "max_minutes",
                "time_out_too_long",
                f"max_minutes = {t.max_minutes:g}: a time-out never lasts more than 24 hours "
                f"({MAX_TIME_OUT_MINUTES} minutes; Gottman)",
            )
        )
    if not t.min_minutes <= t.default_minutes <= t.max_minutes:
        problems.append(
            (
                "default_minutes",
                "time_out_range",
                f"default_minutes = {t.default_minutes:g} must lie between min_minutes "
                f"({t.min_minutes:g}) and max_minutes ({t.max_minutes:g})",
            )
        )
    if 0 < t.every_minutes < t.default_minutes:
        problems.append(
            (
                "every_minutes",
                "break_interval",
                f"every_minutes = {t.every_minutes:g} is shorter than a break "
                f"(default_minutes = {t.default_minutes:g}): breaks would follow one another",
            )
        )
    return problems


TIME_OUT: Final = OverlayType(
    name="time_out",
    state=TimeOutOverlay,
    takes={
        CallTimeOut: Take(_signal),
        StartTimeOut: Take(_start, _running),
        EndTimeOut: Take(_end),
        ExtendTimeOut: Take(_extend, _extend_gate, hint=_extend_hint),
    },
    code="in_time_out",
    where="during a time-out",
    prompt=_time_out_prompt,
    abstract=_time_out_key,
)

DEBRIEF: Final = OverlayType(
    name="debrief",
    state=DebriefOverlay,
    takes={
        AnswerDebrief: Take(_answer, _debrief_gate, hint=_prompts_hint),
        SkipDebrief: Take(_skip, override=always),
    },
    code="debrief_pending",
    where="before the debrief after the time-out is completed",
    prompt=_debrief_prompt,
    view=_debrief_view,
    abstract=_debrief_key,
)

#: The timer kinds this module owns, each with what happens when it fires.
TIMERS: Final = {"time_out_end": _time_out_ends, "scheduled_time_out": _scheduled}

PART: Final = Part(
    name="time_out",
    commands=TimeOutCommand.__args__,
    evolvers={
        TimeOutStarted: _time_out_started,
        TimeOutReason: _unchanged,
        TimeOutSignalled: _unchanged,
        TimeOutExtended: _extended,
        TimeOutEnded: _ended,
        TimeOutScheduled: _scheduled_event,
        ScheduleCancelled: _unscheduled,
        TimerFired: _fired,
    },
    always={
        CallTimeOut: Take(_call),
        StartTimeOut: Take(_start),
        ScheduleTimeOut: Take(_schedule),
        CancelSchedule: Take(_unschedule, _schedule_gate),
    },
    codes=CODES,
    moves=_moves,
    invariants=_invariants,
)
