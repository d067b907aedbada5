"""The session state: a fold of the event log (DESIGN.md, "The core: a decider").

Frozen structs, replaced never mutated. Private texts are not kept here: the
time-out reasons, debrief answers, notes and what shaped a value live only in
events, whose audiences keep them where they belong. What a phase must keep of
a partner's private answers to decide (a values card's place, a yes / maybe /
no before the reveal) is in its phase state, and that phase type's `view`
strips it from every other partner's view: the state itself is never sent,
only `view.seat_view` / `seat_update` of it (tests/core/test_machine.py checks
each seat's view, invariant 9).

The phase is one of the registered phase types' states (or `ended`), the
overlay one of the overlays' states; the structs themselves live in the
modules of their types and are re-exported here.
"""

from __future__ import annotations

from typing import cast

import msgspec

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
    "Names",
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


class Names(State, frozen=True):
    """The partners' display names, as everyone sees them (DESIGN.md, "Cases").

    Empty until set: a page then says "Partner A" and "Partner B". A session
    created in a case starts with the case's names (session.py, `names.changed`).
    """

    partner_a: str = ""
    partner_b: str = ""


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
    names: Names = msgspec.field(default_factory=Names)
    #: A phase that takes scheduled breaks (a dialogue) has started.
    dialogue_started: bool = False

    @property
    def ended(self) -> bool:
        return self.phase.__class__ is EndedPhase


def initial_state(playbook: Playbook) -> SessionState:
    """The state before the first event: the lobby (every playbook opens with one)."""
    first = playbook.phases[0]
    phase, _ = phase_type(first).start(first, None)
    return SessionState(playbook=playbook, phase=cast("Phase", phase))
