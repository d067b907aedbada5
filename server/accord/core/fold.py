"""Folding a log into a state (invariant 6: replay reproduces the state)."""

from __future__ import annotations

from collections.abc import Iterable

from accord.core.events import AnyEvent
from accord.core.evolve import evolve
from accord.core.playbook import Playbook
from accord.core.state import SessionState, initial_state


def fold(playbook: Playbook, events: Iterable[AnyEvent]) -> SessionState:
    state = initial_state(playbook)
    for event in events:
        state = evolve(state, event)
    return state
