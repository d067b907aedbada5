"""The session's own rules: its phases in order, its end, notes, and timers.

A phase ends itself (its handler's last event is `phase.ended`); what follows
is the session's (`following`): the next phase of the playbook, started with
its initial state in the event, or the end of the session after the last.
The mediator can end the session from every state (invariant 5) and keep
notes after it. Timers are deadlines in the state (DESIGN.md); the hub fires
them with `timer.fire`, accepted once and only when due, and the overlay that
owns the timer's kind says what its deadline means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

import msgspec
from msgspec.structs import replace

from accord.core.base import (
    MEDIATOR,
    MEDIATOR_ONLY,
    SYSTEM,
    AdvancePhase,
    Command,
    Event,
    Name,
    PhaseEnded,
    Reason,
    Said,
    Stop,
    Take,
    always,
    refuse,
    require_reason,
)
from accord.core.kinds import Broken, Move, Part, Transition
from accord.core.overlays import ON_PHASE_START, TIMERS
from accord.core.phases import BY_STATE, AnyPhase, phase_type
from accord.core.seats import Actor
from accord.core.state import EndedPhase

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import Phase, SessionState


class AddNote(Command, tag="note", frozen=True):
    senders = MEDIATOR
    words = "add a note"
    text: Said


class EndSession(Command, tag="session.end", frozen=True):
    senders = MEDIATOR
    words = "end the session"
    reason: Reason = ""


class FireTimer(Command, tag="timer.fire", frozen=True):
    senders = SYSTEM
    words = "fire a timer"
    timer: Name


SessionCommand = AdvancePhase | AddNote | EndSession | FireTimer


class PhaseStarted(Event, tag="phase.started", frozen=True):
    index: int
    phase_type: str
    title: str
    #: The state the phase starts in (who holds the floor, …), so that a client
    #: applying events knows it. Unset in logs of protocol v1.
    phase: AnyPhase | msgspec.UnsetType = msgspec.UNSET


class SessionEnded(Event, tag="session.ended", frozen=True):
    by: Actor
    reason: str = ""


class NoteAdded(Event, tag="note.added", frozen=True):
    text: str


SessionEvent = PhaseStarted | PhaseEnded | SessionEnded | NoteAdded

CODES: Final = {
    "unknown_timer": "No such timer is pending (it fired already or was cancelled).",
    "timer_not_due": "The timer's deadline has not been reached.",
}

# -- the phases in order -------------------------------------------------------------------


def following(state: SessionState, now: float) -> list[Event]:
    """What follows the end of the current phase: the next phase, or the end."""
    nxt = state.index + 1
    specs = state.playbook.phases
    if nxt >= len(specs):
        return [SessionEnded(by="system")]
    spec = specs[nxt]
    kind = phase_type(spec)
    phase, opening = kind.start(spec)
    started = PhaseStarted(
        index=nxt, phase_type=kind.name, title=spec.title, phase=cast("AnyPhase", phase)
    )
    events: list[Event] = [started]
    for hook in ON_PHASE_START:
        events += hook(state, kind, now)
    return events + opening


# -- handlers ------------------------------------------------------------------------------


def _end(state: SessionState, c: EndSession, actor: Actor, now: float) -> list[Event]:
    """The mediator can always end the session (invariant 5), with a reason."""
    reason = require_reason(c.reason, actor, c, "ending the session early")
    return [SessionEnded(by=actor, reason=reason)]


def _note(state: SessionState, c: AddNote, actor: Actor, now: float) -> list[Event]:
    return [NoteAdded(text=c.text, audience=MEDIATOR_ONLY)]


_NO_TIMERS: Final = Stop("unknown_timer", lambda state, c: f"{c.timer}: it is not pending")


def _timers_gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    return None if state.timers else _NO_TIMERS


def _fire(state: SessionState, c: FireTimer, actor: Actor, now: float) -> list[Event]:
    """A deadline: accepted once, only when due; late fires change nothing more."""
    timer = next((t for t in state.timers if t.id == c.timer), None)
    if timer is None:
        raise refuse("unknown_timer", actor, c, f"{c.timer}: it is not pending")
    if now < timer.due:
        raise refuse("timer_not_due", actor, c, f"{c.timer}: due at {timer.due}")
    return TIMERS[timer.kind](state, timer, now)


#: What is taken after the session ended: the mediator's notes, nothing else.
AFTER_END: Final[dict[type[Command], Take]] = {AddNote: Take(_note)}
ENDED: Final = Stop("session_ended", "after the session ended")

# -- evolvers ------------------------------------------------------------------------------


def _started(state: SessionState, e: PhaseStarted) -> SessionState:
    phase = _v1_started_phase(state, e.index) if e.phase is msgspec.UNSET else e.phase
    breaks = BY_STATE[type(phase)].scheduled_breaks
    return replace(
        state, index=e.index, phase=phase, dialogue_started=state.dialogue_started or breaks
    )


def _ended(state: SessionState, e: SessionEnded) -> SessionState:
    return replace(
        state,
        index=len(state.playbook.phases),
        phase=EndedPhase(),
        overlay=None,
        timers=(),
        schedule=None,
    )


def _unchanged(state: SessionState, e: Event) -> SessionState:
    return state


def _v1_started_phase(state: SessionState, index: int) -> Phase:
    """A log of protocol v1: `phase.started` did not carry the state, which was
    then the phase type's start state from its spec."""
    spec = state.playbook.phases[index]
    return cast("Phase", phase_type(spec).start(spec)[0])


# -- the model checker ---------------------------------------------------------------------


def _moves(playbook: Playbook, now: float) -> list[Move]:
    return [
        ("mediator", AdvancePhase(), False),
        ("mediator", AdvancePhase(reason="We are out of time."), True),
        ("mediator", EndSession(reason="Emergency."), True),
    ]


def _invariants(t: Transition) -> Broken:
    return [
        ("invariant_7", f"{t.where}: a private event reaches {e.audience}")
        for e in t.events
        if isinstance(e, NoteAdded) and e.audience != MEDIATOR_ONLY
    ]


PART: Final = Part(
    name="session",
    commands=SessionCommand.__args__,
    evolvers={
        PhaseStarted: _started,
        PhaseEnded: _unchanged,
        SessionEnded: _ended,
        NoteAdded: _unchanged,
    },
    always={
        EndSession: Take(_end, override=always),
        AddNote: Take(_note),
        FireTimer: Take(_fire, _timers_gate),
    },
    codes=CODES,
    moves=_moves,
    invariants=_invariants,
)
