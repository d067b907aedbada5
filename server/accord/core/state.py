"""The session state: a fold of the event log (DESIGN.md, "The core: a decider").

Frozen structs, replaced never mutated. The state holds nothing private: the
time-out reasons, debrief answers and mediator notes live only in events, whose
audiences keep them where they belong. A snapshot of the state is therefore
safe to show any seat (each phase type's `view` hides what it must).

The phase is one of the registered phase types' states (or `ended`), the
overlay one of the overlays' states; the structs themselves live in the
modules of their types and are re-exported here.
"""

from __future__ import annotations

from typing import cast

from accord.core.base import PhaseState, State, Timer
from accord.core.overlays import AnyOverlay
from accord.core.overlays.time_out import Schedule, TimeOutOverlay
from accord.core.phases import AnyPhase, phase_type
from accord.core.phases.debrief import DebriefOverlay, DebriefPhase
from accord.core.phases.dialogue import DialoguePhase
from accord.core.phases.lobby import LobbyPhase
from accord.core.schema import Playbook
from accord.core.seats import Partner

__all__ = [
    "DebriefOverlay",
    "DebriefPhase",
    "DialoguePhase",
    "EndedPhase",
    "LobbyPhase",
    "Overlay",
    "Phase",
    "Schedule",
    "SessionState",
    "TimeOutOverlay",
    "Timer",
    "initial_state",
]


class EndedPhase(PhaseState, tag="ended", frozen=True):
    """After the session ended: only the mediator's notes are accepted."""


Phase = AnyPhase | EndedPhase
Overlay = AnyOverlay


class SessionState(State, kw_only=True, frozen=True):
    playbook: Playbook
    index: int = 0  # current phase index; len(phases) once ended
    phase: Phase
    overlay: Overlay | None = None
    timers: tuple[Timer, ...] = ()
    schedule: Schedule | None = None
    next_timer: int = 1
    next_statement: int = 1
    admitted: tuple[Partner, ...] = ()
    #: A phase that takes scheduled breaks (a dialogue) has started.
    dialogue_started: bool = False

    @property
    def ended(self) -> bool:
        return self.phase.__class__ is EndedPhase


def initial_state(playbook: Playbook) -> SessionState:
    """The state before the first event: the lobby (every playbook opens with one)."""
    first = playbook.phases[0]
    phase, _ = phase_type(first).start(first)
    return SessionState(playbook=playbook, phase=cast("Phase", phase))
