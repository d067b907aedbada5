"""decide(state, command, actor, now) -> events, or raise Rejected.

The decider of DESIGN.md ("The core: a decider"), as a dispatcher: the
permission (`permissions.route`: sender, end, overlay, phase, table, guards)
refuses or names what takes the command; that part's handler decides its
events. When a phase's handler ends its phase (its last event is
`phase.ended`), the session says what follows (`session.following`): the next
phase or the end. The rules themselves live in the parts: `core/phases/`,
`core/overlays/`, `core/session.py`.
"""

from __future__ import annotations

from typing import cast

from accord.core.base import Command, PhaseEnded, Stop, refuse
from accord.core.events import AnyEvent
from accord.core.permissions import route
from accord.core.seats import Actor
from accord.core.session import following
from accord.core.state import SessionState


def decide(state: SessionState, command: Command, actor: Actor, now: float) -> list[AnyEvent]:
    """Decide what happens when `actor` sends `command` at time `now`."""
    found = route(state, actor, command.__class__)
    if isinstance(found, Stop):
        raise refuse(found.code, actor, command, found.words(state, command))
    events = found.handler(state, command, actor, now)
    if events[-1].__class__ is PhaseEnded:
        events += following(state, now)
    return cast("list[AnyEvent]", events)
