"""Folding a log into a state (invariant 6: replay reproduces the state)."""

from __future__ import annotations

from collections.abc import Iterable

from accord.core.base import Event
from accord.core.evolve import evolve
from accord.core.schema import Playbook
from accord.core.state import SessionState, initial_state


def fold(playbook: Playbook, events: Iterable[Event]) -> SessionState:
    state = initial_state(playbook)
    for event in events:
        state = evolve(state, event)
    return state
