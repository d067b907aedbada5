"""The session state: a fold of the event log (DESIGN.md, "The core: a decider").

Frozen structs, replaced never mutated. The state holds nothing private: the
time-out reasons, debrief answers and mediator notes live only in events, whose
audiences keep them where they belong. A snapshot of the state is therefore
safe to show any seat.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from accord.core.events import Stage
from accord.core.playbook import DebriefSpec, DialogueSpec, LobbySpec, Playbook
from accord.core.seats import Actor, Partner


class _State(msgspec.Struct, frozen=True, kw_only=True):
    pass


class Timer(_State, frozen=True):
    """A deadline. The hub fires it with `timer.fire`; it is accepted once, when due."""

    id: str
    kind: Literal["time_out_end", "scheduled_time_out"]
    due: float


class Schedule(_State, frozen=True):
    timer: str
    every_minutes: float | None
    minutes: float


class LobbyPhase(_State, tag="lobby", tag_field="kind", frozen=True):
    pass


class DialoguePhase(_State, tag="dialogue", tag_field="kind", frozen=True):
    speaker: Partner | None = None
    stage: Stage = "idle"
    queue: tuple[Partner, ...] = ()
    statement: int = 0  # id of the statement being mirrored (0: none yet)
    statement_text: str = ""
    attempts: int = 0  # paraphrase attempts for the current statement
    spoke: bool = False  # the speaker made a statement in this turn
    step: int = 0  # next listener step (Imago) while reflecting
    turns: int = 0  # completed turns in this phase


class DebriefPhase(_State, tag="debrief", tag_field="kind", frozen=True):
    answered: tuple[Partner, ...] = ()


class EndedPhase(_State, tag="ended", tag_field="kind", frozen=True):
    pass


Phase = LobbyPhase | DialoguePhase | DebriefPhase | EndedPhase


class TimeOutOverlay(_State, tag="time_out", tag_field="kind", frozen=True):
    timer: str
    by: Actor
    started_at: float
    ends_at: float


class DebriefOverlay(_State, tag="debrief", tag_field="kind", frozen=True):
    """The debrief that must follow every time-out before the phase resumes."""

    prompts: tuple[str, ...]
    answered: tuple[Partner, ...] = ()


Overlay = TimeOutOverlay | DebriefOverlay


class SessionState(_State, kw_only=True, frozen=True):
    playbook: Playbook
    index: int = 0  # current phase index; len(phases) once ended
    phase: Phase
    overlay: Overlay | None = None
    timers: tuple[Timer, ...] = ()
    schedule: Schedule | None = None
    next_timer: int = 1
    next_statement: int = 1
    admitted: tuple[Partner, ...] = ()
    dialogue_started: bool = False

    @property
    def ended(self) -> bool:
        return isinstance(self.phase, EndedPhase)


def fresh_phase(playbook: Playbook, index: int) -> Phase:
    """The state a phase starts in."""
    if index >= len(playbook.phases):
        return EndedPhase()
    spec = playbook.phases[index]
    if isinstance(spec, LobbySpec):
        return LobbyPhase()
    if isinstance(spec, DialogueSpec):
        if spec.auto_round_robin:
            return DialoguePhase(speaker=spec.first_speaker, stage="speaking")
        return DialoguePhase()
    assert isinstance(spec, DebriefSpec)
    return DebriefPhase()


def initial_state(playbook: Playbook) -> SessionState:
    """The state before the first event: the lobby (every playbook opens with one)."""
    return SessionState(playbook=playbook, phase=fresh_phase(playbook, 0))


def dialogue_spec(state: SessionState) -> DialogueSpec:
    """The parameters of the current phase, which must be a dialogue."""
    spec = state.playbook.phases[state.index]
    assert isinstance(spec, DialogueSpec)
    return spec
