"""decide(state, command, actor, now) -> events, or raise Rejected.

The rules of the session, in three layers checked in order, like h11's
`_state.py`: who may ever send a command (`SENDERS`), what an overlay lets
through (`TIME_OUT_BUSINESS`, `DEBRIEF_BUSINESS`), and what each phase accepts
(`PHASE_COMMANDS`); then the command's own handler, which knows the floor.

Sources: the floor is BFCP (RFC 8855: request → queued → granted → released or
revoked, a chair, queue positions); the paraphrase gate is PREP's
Speaker-Listener Technique and Imago's mirror ("did I get it? is there
more?"); time-outs and their debriefs are Gottman's break for flooding and
"aftermath of a fight". Invariants are numbered as in DESIGN.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

from accord.core.commands import (
    AddNote,
    Admit,
    AdvancePhase,
    AnswerDebrief,
    AnswerQuestion,
    AnyCommand,
    AskQuestion,
    CallTimeOut,
    CancelSchedule,
    ConfirmParaphrase,
    CorrectParaphrase,
    EndSession,
    EndTimeOut,
    ExtendTimeOut,
    FireTimer,
    GrantFloor,
    MakeStatement,
    Paraphrase,
    Reflect,
    ReorderQueue,
    RequestFloor,
    RevokeFloor,
    ScheduleTimeOut,
    SkipDebrief,
    StartTimeOut,
    WaiveParaphrase,
    WithdrawRequest,
    Yield,
    command_type,
)
from accord.core.errors import Rejected
from accord.core.events import (
    MEDIATOR_ONLY,
    AnyEvent,
    DebriefAnswered,
    DebriefCompleted,
    DebriefStarted,
    FloorGranted,
    FloorRequested,
    FloorRequestWithdrawn,
    FloorRevoked,
    FloorYielded,
    NoteAdded,
    ParaphraseConfirmed,
    ParaphraseCorrected,
    ParaphraseOffered,
    ParaphraseWaived,
    PartnerAdmitted,
    PhaseEnded,
    PhaseStarted,
    QuestionAnswered,
    QuestionAsked,
    QueueReordered,
    ReflectionOffered,
    ScheduleCancelled,
    SessionEnded,
    StatementMade,
    TimeOutEnded,
    TimeOutExtended,
    TimeOutReason,
    TimeOutScheduled,
    TimeOutSignalled,
    TimeOutStarted,
    TimerFired,
    TurnEnded,
    private_to,
)
from accord.core.playbook import DebriefSpec, DialogueSpec
from accord.core.seats import PARTNERS, Actor, Partner, other
from accord.core.state import (
    DebriefOverlay,
    DebriefPhase,
    DialoguePhase,
    LobbyPhase,
    SessionState,
    TimeOutOverlay,
    dialogue_spec,
)

Events = list[AnyEvent]

#: What each command asks, in words, for refusals ("partner_b may not …").
ACTS: Final[dict[str, str]] = {
    "admit": "admit a partner",
    "phase.advance": "advance the phase",
    "floor.request": "request the floor",
    "floor.withdraw": "withdraw a floor request",
    "floor.grant": "grant the floor",
    "floor.revoke": "revoke the floor",
    "floor.reorder": "reorder the floor queue",
    "yield": "yield the floor",
    "statement": "make a statement",
    "paraphrase": "paraphrase",
    "question": "ask a clarifying question",
    "answer": "answer a clarifying question",
    "paraphrase.confirm": "confirm a paraphrase",
    "paraphrase.correct": "correct a paraphrase",
    "paraphrase.waive": "waive a paraphrase",
    "reflect": "offer a reflection",
    "timeout.call": "call a time-out",
    "timeout.start": "start a time-out",
    "timeout.end": "end the time-out",
    "timeout.extend": "extend the time-out",
    "timeout.schedule": "schedule a time-out",
    "timeout.unschedule": "cancel the scheduled time-out",
    "debrief.answer": "answer the debrief",
    "debrief.skip": "skip the debrief",
    "note": "add a note",
    "session.end": "end the session",
    "timer.fire": "fire a timer",
}

_MEDIATOR: Final = frozenset({"mediator"})
_PARTNER: Final = frozenset(PARTNERS)
_SYSTEM: Final = frozenset({"system"})

#: The senders, in words, for refusals ("only a partner may").
_WHO: Final[dict[frozenset[str], str]] = {
    _MEDIATOR: "the mediator",
    _PARTNER: "a partner",
    _SYSTEM: "the server's timers",
}

#: Who may ever send each command.
SENDERS: Final[dict[str, frozenset[str]]] = {
    "admit": _MEDIATOR,
    "phase.advance": _MEDIATOR,
    "floor.request": _PARTNER,
    "floor.withdraw": _PARTNER,
    "floor.grant": _MEDIATOR,
    "floor.revoke": _MEDIATOR,
    "floor.reorder": _MEDIATOR,
    "yield": _PARTNER,
    "statement": _PARTNER,
    "paraphrase": _PARTNER,
    "question": _PARTNER,
    "answer": _PARTNER,
    "paraphrase.confirm": _PARTNER,
    "paraphrase.correct": _PARTNER,
    "paraphrase.waive": _MEDIATOR,
    "reflect": _PARTNER,
    "timeout.call": _PARTNER,
    "timeout.start": _MEDIATOR,
    "timeout.end": _MEDIATOR,
    "timeout.extend": _MEDIATOR,
    "timeout.schedule": _MEDIATOR,
    "timeout.unschedule": _MEDIATOR,
    "debrief.answer": _PARTNER,
    "debrief.skip": _MEDIATOR,
    "note": _MEDIATOR,
    "session.end": _MEDIATOR,
    "timer.fire": _SYSTEM,
}

#: Accepted in every state but `ended`, whatever the phase or overlay
#: (invariants 4 and 5: the safe signal and the mediator's end).
ALWAYS: Final = frozenset(
    {
        "timeout.call",
        "timeout.start",
        "session.end",
        "note",
        "timer.fire",
        "timeout.schedule",
        "timeout.unschedule",
    }
)
#: During a time-out nothing but time-out business (invariant 3).
TIME_OUT_BUSINESS: Final = ALWAYS | {"timeout.end", "timeout.extend"}
#: During the debrief after a time-out: the debrief, and the always-available acts.
DEBRIEF_BUSINESS: Final = ALWAYS | {"debrief.answer", "debrief.skip"}

#: What each phase type accepts (besides ALWAYS).
PHASE_COMMANDS: Final[dict[str, frozenset[str]]] = {
    "lobby": frozenset({"admit", "phase.advance"}),
    "dialogue": frozenset(
        {
            "phase.advance",
            "floor.request",
            "floor.withdraw",
            "floor.grant",
            "floor.revoke",
            "floor.reorder",
            "yield",
            "statement",
            "paraphrase",
            "question",
            "answer",
            "paraphrase.confirm",
            "paraphrase.correct",
            "paraphrase.waive",
            "reflect",
        }
    ),
    "debrief": frozenset({"phase.advance", "debrief.answer", "debrief.skip"}),
}

#: Dialogue acts: what invariant 3 forbids during a time-out.
DIALOGUE_ACTS: Final = PHASE_COMMANDS["dialogue"]

#: In each stage of the floor, what the speaker and the listener may do
#: (the mediator's overrides are checked by their handlers).
STAGE_ACTS: Final[dict[str, dict[str, frozenset[str]]]] = {
    "idle": {"speaker": frozenset(), "listener": frozenset()},
    "speaking": {
        "speaker": frozenset({"statement", "yield"}),
        "listener": frozenset({"floor.request", "floor.withdraw"}),
    },
    "awaiting_paraphrase": {
        "speaker": frozenset(),
        "listener": frozenset({"paraphrase", "question"}),
    },
    "awaiting_answer": {"speaker": frozenset({"answer"}), "listener": frozenset()},
    "awaiting_confirmation": {
        "speaker": frozenset({"paraphrase.confirm", "paraphrase.correct"}),
        "listener": frozenset(),
    },
    "confirmed": {
        "speaker": frozenset({"statement", "yield"}),
        "listener": frozenset({"floor.request", "floor.withdraw"}),
    },
    "reflecting": {"speaker": frozenset(), "listener": frozenset({"reflect"})},
}

#: The refusal when a speaker or listener tries something the stage does not allow.
STAGE_REFUSALS: Final[dict[tuple[str, str], tuple[str, str]]] = {
    ("awaiting_paraphrase", "speaker"): ("awaiting_paraphrase", "until {listener} has paraphrased"),
    ("awaiting_paraphrase", "listener"): (
        "paraphrase_required",
        "before paraphrasing {speaker}'s statement",
    ),
    ("awaiting_answer", "speaker"): ("answer_required", "before answering {listener}'s question"),
    ("awaiting_answer", "listener"): ("awaiting_answer", "until {speaker} has answered"),
    ("awaiting_confirmation", "speaker"): (
        "awaiting_confirmation",
        "before confirming or correcting {listener}'s paraphrase",
    ),
    ("awaiting_confirmation", "listener"): (
        "awaiting_confirmation",
        "until {speaker} has confirmed or corrected the paraphrase",
    ),
    ("reflecting", "speaker"): ("awaiting_reflection", "while {listener} reflects"),
    ("reflecting", "listener"): ("awaiting_reflection", "before finishing the reflection steps"),
}


def describe(state: SessionState) -> str:
    """Where the session is, in words, for refusal messages."""
    if state.ended:
        return "after the session ended"
    overlay = state.overlay
    if isinstance(overlay, TimeOutOverlay):
        return "during a time-out"
    if isinstance(overlay, DebriefOverlay):
        return "before the debrief after the time-out is completed"
    phase = state.phase
    if isinstance(phase, LobbyPhase):
        return "in the lobby"
    if isinstance(phase, DebriefPhase):
        return "during the debrief"
    assert isinstance(phase, DialoguePhase)
    if phase.speaker is None:
        return "while nobody holds the floor"
    return f"while {phase.speaker} holds the floor ({phase.stage.replace('_', ' ')})"


def _refuse(code: str, actor: str, kind: str, why: str) -> Rejected:
    return Rejected(code, f"{actor} may not {ACTS[kind]} {why}".rstrip())


def _require_reason(reason: str, actor: str, kind: str, what: str) -> str:
    reason = reason.strip()
    if not reason:
        raise _refuse("reason_required", actor, kind, f"without a reason: {what} is an override")
    return reason


def decide(state: SessionState, command: AnyCommand, actor: Actor, now: float) -> Events:
    """Decide what happens when `actor` sends `command` at time `now`."""
    kind = command_type(command)
    if actor not in SENDERS[kind]:
        raise _refuse("forbidden_for_seat", actor, kind, f"at all: only {_WHO[SENDERS[kind]]} may")
    if state.ended:
        if isinstance(command, AddNote):
            return [NoteAdded(text=command.text, audience=MEDIATOR_ONLY)]
        raise _refuse("session_ended", actor, kind, describe(state))
    overlay = state.overlay
    if isinstance(overlay, TimeOutOverlay) and kind not in TIME_OUT_BUSINESS:
        raise _refuse("in_time_out", actor, kind, describe(state))
    if isinstance(overlay, DebriefOverlay) and kind not in DEBRIEF_BUSINESS:
        raise _refuse("debrief_pending", actor, kind, describe(state))
    if kind not in ALWAYS and kind not in TIME_OUT_BUSINESS and kind not in DEBRIEF_BUSINESS:
        phase_kind = str(state.phase.__struct_config__.tag)
        if kind not in PHASE_COMMANDS[phase_kind]:
            raise _refuse("wrong_phase", actor, kind, describe(state))
    handler = _HANDLERS[type(command)]
    return handler(state, command, actor, now)


# -- ids ------------------------------------------------------------------------


def _timer_ids(state: SessionState) -> Iterator[str]:
    n = state.next_timer
    while True:
        yield f"t{n}"
        n += 1


# -- always available -----------------------------------------------------------


def _call_time_out(state: SessionState, c: CallTimeOut, actor: Actor, now: float) -> Events:
    """The safe signal: never refused (invariant 4); the reason is the mediator's."""
    assert actor in PARTNERS
    partner: Partner = "partner_a" if actor == "partner_a" else "partner_b"
    events: Events
    if isinstance(state.overlay, TimeOutOverlay):
        events = [TimeOutSignalled(by=partner)]
    else:
        minutes = state.playbook.time_out.default_minutes
        timer = next(_timer_ids(state))
        events = [TimeOutStarted(timer=timer, by=actor, started_at=now, ends_at=now + minutes * 60)]
    if c.reason.strip():
        events.append(TimeOutReason(by=partner, reason=c.reason.strip(), audience=MEDIATOR_ONLY))
    return events


def _minutes_in_range(state: SessionState, minutes: float, actor: str, kind: str) -> None:
    t = state.playbook.time_out
    if not t.min_minutes <= minutes <= t.max_minutes:
        raise _refuse(
            "out_of_range",
            actor,
            kind,
            f"for {minutes:g} minutes: this playbook allows {t.min_minutes:g} to "
            f"{t.max_minutes:g} minutes",
        )


def _start_time_out(state: SessionState, c: StartTimeOut, actor: Actor, now: float) -> Events:
    if isinstance(state.overlay, TimeOutOverlay):
        raise _refuse("in_time_out", actor, "timeout.start", "now: one is already running")
    minutes = c.minutes if c.minutes is not None else state.playbook.time_out.default_minutes
    _minutes_in_range(state, minutes, actor, "timeout.start")
    timer = next(_timer_ids(state))
    return [TimeOutStarted(timer=timer, by=actor, started_at=now, ends_at=now + minutes * 60)]


def _time_out(state: SessionState, actor: str, kind: str) -> TimeOutOverlay:
    overlay = state.overlay
    if not isinstance(overlay, TimeOutOverlay):
        raise _refuse("not_in_time_out", actor, kind, describe(state) + ": none is running")
    return overlay


def _after_time_out(state: SessionState, timer: str, by: Actor, reason: str) -> Events:
    """Every time-out ends in a debrief (invariant 3)."""
    return [
        TimeOutEnded(timer=timer, by=by, reason=reason),
        DebriefStarted(prompts=state.playbook.time_out.debrief_prompts, after="time_out"),
    ]


def _end_time_out(state: SessionState, c: EndTimeOut, actor: Actor, now: float) -> Events:
    overlay = _time_out(state, actor, "timeout.end")
    return _after_time_out(state, overlay.timer, actor, c.reason.strip())


def _extend_time_out(state: SessionState, c: ExtendTimeOut, actor: Actor, now: float) -> Events:
    overlay = _time_out(state, actor, "timeout.extend")
    ends_at = overlay.ends_at + c.minutes * 60
    total = (ends_at - overlay.started_at) / 60
    limit = state.playbook.time_out.max_minutes
    if total > limit + 1e-9:
        raise _refuse(
            "out_of_range",
            actor,
            "timeout.extend",
            f"by {c.minutes:g} minutes: the time-out would last {total:g} minutes, "
            f"more than the playbook's {limit:g}",
        )
    return [TimeOutExtended(timer=overlay.timer, ends_at=ends_at)]


def _schedule_time_out(state: SessionState, c: ScheduleTimeOut, actor: Actor, now: float) -> Events:
    kind = "timeout.schedule"
    if c.at is None and c.every_minutes is None:
        raise _refuse("invalid_command", actor, kind, "without `at` or `every_minutes`")
    if c.at is not None and c.at <= now:
        raise _refuse("out_of_range", actor, kind, "in the past")
    minutes = c.minutes if c.minutes is not None else state.playbook.time_out.default_minutes
    _minutes_in_range(state, minutes, actor, kind)
    if c.every_minutes is not None and c.every_minutes < minutes:
        raise _refuse(
            "out_of_range",
            actor,
            kind,
            f"every {c.every_minutes:g} minutes: breaks of {minutes:g} minutes need at least "
            f"that long between their starts",
        )
    at = c.at if c.at is not None else now + (c.every_minutes or 0) * 60
    events: Events = []
    if state.schedule is not None:
        events.append(ScheduleCancelled(timer=state.schedule.timer))
    events.append(
        TimeOutScheduled(
            timer=next(_timer_ids(state)), due=at, every_minutes=c.every_minutes, minutes=minutes
        )
    )
    return events


def _cancel_schedule(state: SessionState, c: CancelSchedule, actor: Actor, now: float) -> Events:
    if state.schedule is None:
        raise _refuse("no_schedule", actor, "timeout.unschedule", "now: none is scheduled")
    return [ScheduleCancelled(timer=state.schedule.timer)]


def _fire_timer(state: SessionState, c: FireTimer, actor: Actor, now: float) -> Events:
    """A deadline: accepted once, only when due; late fires change nothing more."""
    timer = next((t for t in state.timers if t.id == c.timer), None)
    if timer is None:
        raise _refuse("unknown_timer", actor, "timer.fire", f"{c.timer}: it is not pending")
    if now < timer.due:
        raise _refuse("timer_not_due", actor, "timer.fire", f"{c.timer}: due at {timer.due}")
    events: Events = [TimerFired(timer=timer.id)]
    if timer.kind == "time_out_end":
        return events + _after_time_out(state, timer.id, "system", "")
    schedule = state.schedule
    assert schedule is not None and schedule.timer == timer.id
    ids = _timer_ids(state)
    # A scheduled break interrupts a dialogue. One that comes due during a
    # time-out or its debrief, in the lobby or in a debrief phase is not
    # taken (the partners are not talking); a recurring one re-arms below.
    if state.overlay is None and isinstance(state.phase, DialoguePhase):
        events.append(
            TimeOutStarted(
                timer=next(ids), by="system", started_at=now, ends_at=now + schedule.minutes * 60
            )
        )
    if schedule.every_minutes:
        # Never closer than a break lasts (a schedule made before that rule).
        every = max(schedule.every_minutes, schedule.minutes)
        events.append(
            TimeOutScheduled(
                timer=next(ids),
                due=now + every * 60,
                every_minutes=schedule.every_minutes,
                minutes=schedule.minutes,
            )
        )
    return events


def _end_session(state: SessionState, c: EndSession, actor: Actor, now: float) -> Events:
    """The mediator can always end the session (invariant 5), with a reason."""
    reason = _require_reason(c.reason, actor, "session.end", "ending the session early")
    return [SessionEnded(by=actor, reason=reason)]


def _note(state: SessionState, c: AddNote, actor: Actor, now: float) -> Events:
    return [NoteAdded(text=c.text, audience=MEDIATOR_ONLY)]


# -- phases ------------------------------------------------------------------------


def _advance(state: SessionState, by: Actor, reason: str, now: float) -> Events:
    """End the current phase and start the next, or end the session after the last."""
    events: Events = [PhaseEnded(index=state.index, by=by, reason=reason)]
    nxt = state.index + 1
    phases = state.playbook.phases
    if nxt >= len(phases):
        return [*events, SessionEnded(by="system")]
    spec = phases[nxt]
    events.append(
        PhaseStarted(index=nxt, phase_type=str(spec.__struct_config__.tag), title=spec.title)
    )
    every = state.playbook.time_out.every_minutes
    if (
        isinstance(spec, DialogueSpec)
        and not state.dialogue_started
        and every
        and (state.schedule is None)
    ):
        # Never closer than a break lasts (a playbook from before that rule).
        interval = max(every, state.playbook.time_out.default_minutes)
        events.append(
            TimeOutScheduled(
                timer=next(_timer_ids(state)),
                due=now + interval * 60,
                every_minutes=every,
                minutes=state.playbook.time_out.default_minutes,
            )
        )
    if isinstance(spec, DebriefSpec):
        events.append(DebriefStarted(prompts=spec.prompts, after="phase"))
    return events


def _admit(state: SessionState, c: Admit, actor: Actor, now: float) -> Events:
    if c.seat in state.admitted:
        raise _refuse("already_admitted", actor, "admit", f"{c.seat}: already admitted")
    return [PartnerAdmitted(seat=c.seat)]


def _advance_phase(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> Events:
    kind = "phase.advance"
    phase = state.phase
    if isinstance(phase, LobbyPhase):
        missing = [p for p in PARTNERS if p not in state.admitted]
        if missing:
            raise _refuse(
                "not_admitted",
                actor,
                kind,
                f"in the lobby: {' and '.join(missing)} not admitted yet",
            )
        return _advance(state, actor, c.reason.strip(), now)
    if isinstance(phase, DialoguePhase):
        spec = dialogue_spec(state)
        if spec.ends == "rounds" or phase.stage not in ("idle", "speaking", "confirmed"):
            _require_reason(c.reason, actor, kind, "ending this dialogue before its end")
        return _advance(state, actor, c.reason.strip(), now)
    reason = _require_reason(c.reason, actor, kind, "skipping the debrief")
    return _advance(state, actor, reason, now)


# -- the floor --------------------------------------------------------------------


def _dialogue(state: SessionState) -> DialoguePhase:
    phase = state.phase
    assert isinstance(phase, DialoguePhase)
    return phase


def _as_partner(actor: Actor) -> Partner:
    assert actor == "partner_a" or actor == "partner_b"
    return actor


def _role_check(state: SessionState, actor: Actor, kind: str) -> DialoguePhase:
    """Refuse a partner's dialogue act the current stage does not allow them."""
    d = _dialogue(state)
    if d.speaker is None:
        if kind in ("floor.request", "floor.withdraw"):
            return d
        raise _refuse("no_floor", actor, kind, "now: nobody holds the floor; request it first")
    role = "speaker" if actor == d.speaker else "listener"
    if kind in STAGE_ACTS[d.stage][role]:
        return d
    names = {"speaker": d.speaker, "listener": other(d.speaker)}
    if (d.stage, role) in STAGE_REFUSALS:
        code, why = STAGE_REFUSALS[d.stage, role]
        raise _refuse(code, actor, kind, why.format(**names))
    # The floor is at rest (speaking or confirmed): no gate is pending.
    if role == "listener":
        if kind in ("paraphrase", "question"):
            raise _refuse("nothing_to_paraphrase", actor, kind, "now: no statement awaits it")
        raise _refuse(
            "not_your_turn", actor, kind, "while {speaker} holds the floor".format(**names)
        )
    if kind in ("floor.request", "floor.withdraw"):
        raise _refuse("already_holds_floor", actor, kind, "now: you hold the floor")
    if kind in ("paraphrase.confirm", "paraphrase.correct"):
        raise _refuse("nothing_to_confirm", actor, kind, "now: no paraphrase awaits it")
    if kind == "answer":
        raise _refuse("no_question", actor, kind, "now: no question was asked")
    raise _refuse(
        "not_your_turn",
        actor,
        kind,
        "while holding the floor: {listener} does that".format(**names),
    )


def _request_floor(state: SessionState, c: RequestFloor, actor: Actor, now: float) -> Events:
    d = _role_check(state, actor, "floor.request")
    partner = _as_partner(actor)
    if partner in d.queue:
        position = d.queue.index(partner) + 1
        raise _refuse(
            "already_queued", actor, "floor.request", f"again: already queued ({position})"
        )
    return [FloorRequested(seat=partner, queue=(*d.queue, partner))]


def _withdraw(state: SessionState, c: WithdrawRequest, actor: Actor, now: float) -> Events:
    d = _role_check(state, actor, "floor.withdraw")
    partner = _as_partner(actor)
    if partner not in d.queue:
        raise _refuse("not_queued", actor, "floor.withdraw", "now: no request is pending")
    return [FloorRequestWithdrawn(seat=partner, queue=tuple(p for p in d.queue if p != partner))]


def _grant(state: SessionState, c: GrantFloor, actor: Actor, now: float) -> Events:
    d = _dialogue(state)
    if d.speaker is not None:
        raise _refuse(
            "floor_taken",
            actor,
            "floor.grant",
            f"to {c.seat}: {d.speaker} holds it; revoke it first",
        )
    reason = c.reason.strip()
    if not (d.queue and d.queue[0] == c.seat):
        reason = _require_reason(
            c.reason, actor, "floor.grant", f"to {c.seat}, who is not first in the queue,"
        )
    queue = tuple(p for p in d.queue if p != c.seat)
    return [FloorGranted(seat=c.seat, by=actor, queue=queue, reason=reason)]


def _revoke(state: SessionState, c: RevokeFloor, actor: Actor, now: float) -> Events:
    d = _dialogue(state)
    if d.speaker is None:
        raise _refuse("no_floor", actor, "floor.revoke", "now: nobody holds the floor")
    reason = _require_reason(c.reason, actor, "floor.revoke", "revoking the floor")
    return [FloorRevoked(seat=d.speaker, reason=reason)]


def _reorder(state: SessionState, c: ReorderQueue, actor: Actor, now: float) -> Events:
    d = _dialogue(state)
    reason = _require_reason(c.reason, actor, "floor.reorder", "reordering the queue")
    if sorted(c.queue) != sorted(d.queue) or len(set(c.queue)) != len(c.queue):
        raise _refuse(
            "invalid_queue",
            actor,
            "floor.reorder",
            f"to {list(c.queue)}: the pending requests are {list(d.queue)}",
        )
    return [QueueReordered(queue=c.queue, reason=reason)]


def _end_turn(state: SessionState, d: DialoguePhase, speaker: Partner, now: float) -> Events:
    spec = dialogue_spec(state)
    turn = d.turns + 1
    events: Events = [TurnEnded(seat=speaker, turn=turn)]
    if spec.ends == "rounds" and spec.rounds and turn >= 2 * spec.rounds:
        return events + _advance(state, "system", "", now)
    if spec.auto_round_robin:
        nxt = other(speaker)
        events.append(
            FloorGranted(seat=nxt, by="system", queue=tuple(p for p in d.queue if p != nxt))
        )
    return events


def _yield(state: SessionState, c: Yield, actor: Actor, now: float) -> Events:
    """Rule 4: only a yield hands the floor on, so the listener replies after it."""
    d = _role_check(state, actor, "yield")
    speaker = _as_partner(actor)
    events: Events = [FloorYielded(seat=speaker)]
    if d.spoke and dialogue_spec(state).listener_steps:
        return events  # the listener reflects (Imago) before the roles swap
    return events + _end_turn(state, d, speaker, now)


# -- speaker-listener ------------------------------------------------------------


def _statement(state: SessionState, c: MakeStatement, actor: Actor, now: float) -> Events:
    """Invariant 1: only the floor holder's statements are accepted."""
    _role_check(state, actor, "statement")
    limit = dialogue_spec(state).statement_max_chars
    if len(c.text) > limit:
        raise _refuse(
            "statement_too_long",
            actor,
            "statement",
            f"of {len(c.text)} characters: this dialogue allows {limit}",
        )
    return [StatementMade(seat=_as_partner(actor), statement=state.next_statement, text=c.text)]


def _paraphrase(state: SessionState, c: Paraphrase, actor: Actor, now: float) -> Events:
    d = _role_check(state, actor, "paraphrase")
    return [
        ParaphraseOffered(
            seat=_as_partner(actor), statement=d.statement, attempt=d.attempts + 1, text=c.text
        )
    ]


def _question(state: SessionState, c: AskQuestion, actor: Actor, now: float) -> Events:
    d = _role_check(state, actor, "question")
    if not dialogue_spec(state).clarifying_questions:
        raise _refuse("questions_not_allowed", actor, "question", "in this dialogue: paraphrase")
    return [QuestionAsked(seat=_as_partner(actor), statement=d.statement, text=c.text)]


def _answer(state: SessionState, c: AnswerQuestion, actor: Actor, now: float) -> Events:
    d = _role_check(state, actor, "answer")
    return [QuestionAnswered(seat=_as_partner(actor), statement=d.statement, text=c.text)]


def _confirm(state: SessionState, c: ConfirmParaphrase, actor: Actor, now: float) -> Events:
    d = _role_check(state, actor, "paraphrase.confirm")
    return [ParaphraseConfirmed(seat=_as_partner(actor), statement=d.statement, attempt=d.attempts)]


def _correct(state: SessionState, c: CorrectParaphrase, actor: Actor, now: float) -> Events:
    d = _role_check(state, actor, "paraphrase.correct")
    return [
        ParaphraseCorrected(
            seat=_as_partner(actor), statement=d.statement, attempt=d.attempts, note=c.note
        )
    ]


def _waive(state: SessionState, c: WaiveParaphrase, actor: Actor, now: float) -> Events:
    d = _dialogue(state)
    gated = ("awaiting_paraphrase", "awaiting_answer", "awaiting_confirmation", "reflecting")
    if d.speaker is None or d.stage not in gated:
        raise _refuse("nothing_to_paraphrase", actor, "paraphrase.waive", describe(state))
    reason = _require_reason(c.reason, actor, "paraphrase.waive", "waiving a paraphrase")
    events: Events = [ParaphraseWaived(statement=d.statement, reason=reason)]
    if d.stage == "reflecting":
        events += _end_turn(state, d, d.speaker, now)
    return events


def _reflect(state: SessionState, c: Reflect, actor: Actor, now: float) -> Events:
    d = _role_check(state, actor, "reflect")
    steps = dialogue_spec(state).listener_steps
    expected = steps[d.step]
    if c.step != expected:
        raise _refuse(
            "wrong_step", actor, "reflect", f"'{c.step}' now: the next step is '{expected}'"
        )
    events: Events = [ReflectionOffered(seat=_as_partner(actor), step=c.step, text=c.text)]
    if d.step + 1 == len(steps):
        assert d.speaker is not None
        events += _end_turn(state, d, d.speaker, now)
    return events


# -- debriefs ---------------------------------------------------------------------


def _debrief_answered(
    state: SessionState, actor: str, kind: str
) -> tuple[tuple[Partner, ...], str]:
    overlay = state.overlay
    if isinstance(overlay, DebriefOverlay):
        return overlay.answered, "time_out"
    if isinstance(state.phase, DebriefPhase) and overlay is None:
        return state.phase.answered, "phase"
    raise _refuse("no_debrief", actor, kind, describe(state))


def _answer_debrief(state: SessionState, c: AnswerDebrief, actor: Actor, now: float) -> Events:
    answered, after = _debrief_answered(state, actor, "debrief.answer")
    partner = _as_partner(actor)
    if partner in answered:
        raise _refuse("already_answered", actor, "debrief.answer", "twice")
    events: Events = [
        DebriefAnswered(seat=partner, rating=c.rating, text=c.text, audience=private_to(partner))
    ]
    if len(answered) + 1 == len(PARTNERS):
        events.append(DebriefCompleted(after="time_out" if after == "time_out" else "phase"))
        if after == "phase":
            events += _advance(state, "system", "", now)
    return events


def _skip_debrief(state: SessionState, c: SkipDebrief, actor: Actor, now: float) -> Events:
    _, after = _debrief_answered(state, actor, "debrief.skip")
    reason = _require_reason(c.reason, actor, "debrief.skip", "skipping a debrief")
    events: Events = [
        DebriefCompleted(
            after="time_out" if after == "time_out" else "phase", skipped=True, reason=reason
        )
    ]
    if after == "phase":
        events += _advance(state, actor, reason, now)
    return events


_HANDLERS: Final[dict[type[Any], Callable[[SessionState, Any, Actor, float], Events]]] = {
    Admit: _admit,
    AdvancePhase: _advance_phase,
    RequestFloor: _request_floor,
    WithdrawRequest: _withdraw,
    GrantFloor: _grant,
    RevokeFloor: _revoke,
    ReorderQueue: _reorder,
    Yield: _yield,
    MakeStatement: _statement,
    Paraphrase: _paraphrase,
    AskQuestion: _question,
    AnswerQuestion: _answer,
    ConfirmParaphrase: _confirm,
    CorrectParaphrase: _correct,
    WaiveParaphrase: _waive,
    Reflect: _reflect,
    CallTimeOut: _call_time_out,
    StartTimeOut: _start_time_out,
    EndTimeOut: _end_time_out,
    ExtendTimeOut: _extend_time_out,
    ScheduleTimeOut: _schedule_time_out,
    CancelSchedule: _cancel_schedule,
    AnswerDebrief: _answer_debrief,
    SkipDebrief: _skip_debrief,
    AddNote: _note,
    EndSession: _end_session,
    FireTimer: _fire_timer,
}
