"""evolve(state, event) -> state: pure, total, no validation.

Everything was checked when the event was decided; here we only apply it, so
that replaying a log always reproduces the same state (invariant 6).
"""

from __future__ import annotations

from msgspec.structs import replace

from accord.core.events import (
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
)
from accord.core.state import (
    DebriefOverlay,
    DebriefPhase,
    DialoguePhase,
    EndedPhase,
    Schedule,
    SessionState,
    TimeOutOverlay,
    Timer,
    dialogue_spec,
    fresh_phase,
)


def _dialogue(state: SessionState) -> DialoguePhase:
    phase = state.phase
    assert isinstance(phase, DialoguePhase)
    return phase


def _without_timer(state: SessionState, timer: str) -> tuple[Timer, ...]:
    return tuple(t for t in state.timers if t.id != timer)


def evolve(state: SessionState, event: AnyEvent) -> SessionState:
    match event:
        # -- session and phases
        case PartnerAdmitted(seat=seat):
            return replace(state, admitted=(*state.admitted, seat))
        case PhaseStarted(index=index):
            phase = fresh_phase(state.playbook, index)
            return replace(
                state,
                index=index,
                phase=phase,
                dialogue_started=state.dialogue_started or isinstance(phase, DialoguePhase),
            )
        case PhaseEnded():
            return state
        case SessionEnded():
            return replace(
                state,
                index=len(state.playbook.phases),
                phase=EndedPhase(),
                overlay=None,
                timers=(),
                schedule=None,
            )
        # -- floor
        case (
            FloorRequested(queue=queue)
            | FloorRequestWithdrawn(queue=queue)
            | QueueReordered(queue=queue)
        ):
            return replace(state, phase=replace(_dialogue(state), queue=queue))
        case FloorGranted(seat=seat, queue=queue):
            return replace(
                state,
                phase=replace(
                    _dialogue(state),
                    speaker=seat,
                    stage="speaking",
                    queue=queue,
                    spoke=False,
                    step=0,
                    attempts=0,
                ),
            )
        case FloorRevoked():
            return replace(
                state,
                phase=replace(
                    _dialogue(state), speaker=None, stage="idle", spoke=False, step=0, attempts=0
                ),
            )
        case FloorYielded():
            d = _dialogue(state)
            reflecting = d.spoke and bool(dialogue_spec(state).listener_steps)
            return replace(
                state, phase=replace(d, stage="reflecting" if reflecting else d.stage, step=0)
            )
        case TurnEnded(turn=turn):
            return replace(
                state,
                phase=replace(
                    _dialogue(state),
                    speaker=None,
                    stage="idle",
                    turns=turn,
                    spoke=False,
                    step=0,
                    attempts=0,
                ),
            )
        # -- speaker-listener
        case StatementMade(statement=statement, text=text):
            required = dialogue_spec(state).paraphrase_required
            return replace(
                state,
                next_statement=statement + 1,
                phase=replace(
                    _dialogue(state),
                    statement=statement,
                    statement_text=text,
                    attempts=0,
                    spoke=True,
                    stage="awaiting_paraphrase" if required else "confirmed",
                ),
            )
        case ParaphraseOffered(attempt=attempt):
            return replace(
                state,
                phase=replace(_dialogue(state), stage="awaiting_confirmation", attempts=attempt),
            )
        case QuestionAsked():
            return replace(state, phase=replace(_dialogue(state), stage="awaiting_answer"))
        case QuestionAnswered() | ParaphraseCorrected():
            return replace(state, phase=replace(_dialogue(state), stage="awaiting_paraphrase"))
        case ParaphraseConfirmed():
            return replace(state, phase=replace(_dialogue(state), stage="confirmed"))
        case ParaphraseWaived():
            d = _dialogue(state)
            if d.stage == "reflecting":
                # The waiver ends the steps; the turn-end event after it closes the turn.
                return state
            return replace(state, phase=replace(d, stage="confirmed"))
        case ReflectionOffered():
            d = _dialogue(state)
            return replace(state, phase=replace(d, step=d.step + 1))
        # -- time-outs and debriefs
        case TimeOutStarted(timer=timer, by=by, started_at=started_at, ends_at=ends_at):
            return replace(
                state,
                overlay=TimeOutOverlay(timer=timer, by=by, started_at=started_at, ends_at=ends_at),
                timers=(*state.timers, Timer(id=timer, kind="time_out_end", due=ends_at)),
                next_timer=state.next_timer + 1,
            )
        case TimeOutExtended(timer=timer, ends_at=ends_at):
            overlay = state.overlay
            assert isinstance(overlay, TimeOutOverlay)
            return replace(
                state,
                overlay=replace(overlay, ends_at=ends_at),
                timers=tuple(replace(t, due=ends_at) if t.id == timer else t for t in state.timers),
            )
        case TimeOutEnded(timer=timer):
            return replace(state, overlay=None, timers=_without_timer(state, timer))
        case TimeOutScheduled(timer=timer, due=due, every_minutes=every, minutes=minutes):
            return replace(
                state,
                schedule=Schedule(timer=timer, every_minutes=every, minutes=minutes),
                timers=(*state.timers, Timer(id=timer, kind="scheduled_time_out", due=due)),
                next_timer=state.next_timer + 1,
            )
        case ScheduleCancelled(timer=timer):
            return replace(state, schedule=None, timers=_without_timer(state, timer))
        case TimerFired(timer=timer):
            schedule = state.schedule
            if schedule is not None and schedule.timer == timer:
                schedule = None  # a recurring schedule re-arms with its own event
            return replace(state, timers=_without_timer(state, timer), schedule=schedule)
        case DebriefStarted(prompts=prompts, after=after):
            if after == "time_out":
                return replace(state, overlay=DebriefOverlay(prompts=prompts))
            return state
        case DebriefAnswered(seat=seat):
            overlay = state.overlay
            if isinstance(overlay, DebriefOverlay):
                return replace(state, overlay=replace(overlay, answered=(*overlay.answered, seat)))
            phase = state.phase
            assert isinstance(phase, DebriefPhase)
            return replace(state, phase=replace(phase, answered=(*phase.answered, seat)))
        case DebriefCompleted(after=after):
            if after == "time_out":
                return replace(state, overlay=None)
            return state
        case TimeOutReason() | TimeOutSignalled() | NoteAdded():
            return state
    raise AssertionError(f"unhandled event {event!r}")  # pragma: no cover
