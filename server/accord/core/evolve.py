"""evolve(state, event) -> state: pure, total, no validation.

Everything was decided when the event was (events carry their outcome); here
each event's one evolver, declared by the part that owns it, only applies it,
so that replaying a log always reproduces the same state (invariant 6).
"""

from __future__ import annotations

from accord.core.base import Event
from accord.core.parts import EVOLVERS
from accord.core.state import SessionState


def evolve(state: SessionState, event: Event) -> SessionState:
    return EVOLVERS[event.__class__](state, event)
