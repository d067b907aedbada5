"""What a seat is shown of the state (the snapshot a joining client receives).

The state holds nothing private (see state.py), so every seat sees the same
state; what differs is derived help for the page: the seat's role and the
commands it may send now. Private facts travel only as events.
"""

from __future__ import annotations

from typing import Any

import msgspec

from accord.core.commands import COMMAND_TYPES
from accord.core.decide import PHASE_COMMANDS, SENDERS, STAGE_ACTS, TIME_OUT_BUSINESS
from accord.core.playbook import Playbook
from accord.core.seats import Seat, other
from accord.core.state import (
    DebriefOverlay,
    DebriefPhase,
    DialoguePhase,
    SessionState,
    TimeOutOverlay,
)


def playbook_summary(playbook: Playbook) -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(playbook)
    return data


def role_of(state: SessionState, seat: Seat) -> str:
    """ "mediator", "speaker", "listener", or "partner" (nobody holds the floor)."""
    if seat == "mediator":
        return "mediator"
    phase = state.phase
    if isinstance(phase, DialoguePhase) and phase.speaker is not None:
        return "speaker" if phase.speaker == seat else "listener"
    return "partner"


def may_send(state: SessionState, seat: Seat) -> list[str]:
    """A hint for clients: the command types this seat could send now.

    The decider stays the authority; this only saves a page from guessing.
    """
    if state.ended:
        return ["note"] if seat == "mediator" else []
    kinds = [k for k in COMMAND_TYPES if seat in SENDERS[k]]
    overlay = state.overlay
    if isinstance(overlay, TimeOutOverlay):
        return [
            k
            for k in kinds
            if k in TIME_OUT_BUSINESS
            and k != "timeout.start"
            and (k != "timeout.unschedule" or state.schedule is not None)
        ]
    always = {"timeout.call", "timeout.start", "session.end", "note", "timeout.schedule"}
    if state.schedule is not None:
        always.add("timeout.unschedule")
    if isinstance(overlay, DebriefOverlay):
        answered = seat in overlay.answered
        return [
            k
            for k in kinds
            if k in always or (k == "debrief.skip") or (k == "debrief.answer" and not answered)
        ]
    phase = state.phase
    phase_kind = str(phase.__struct_config__.tag)
    allowed = set(always) | PHASE_COMMANDS[phase_kind]
    if isinstance(phase, DialoguePhase) and seat != "mediator":
        role = role_of(state, seat)
        if role == "partner":
            allowed = always | {"floor.request", "floor.withdraw"}
        else:
            allowed = always | STAGE_ACTS[phase.stage][role]
        if seat in phase.queue:
            allowed.discard("floor.request")
        else:
            allowed.discard("floor.withdraw")
    if isinstance(phase, DebriefPhase) and seat in phase.answered:
        allowed.discard("debrief.answer")
    return [k for k in kinds if k in allowed]


def seat_view(state: SessionState, seat: Seat) -> dict[str, Any]:
    """The snapshot for one seat: the state, the seat's role and its possible acts."""
    data: dict[str, Any] = msgspec.to_builtins(state)
    data["ended"] = state.ended
    data["role"] = role_of(state, seat)
    data["may"] = may_send(state, seat)
    phase = state.phase
    if isinstance(phase, DialoguePhase) and phase.speaker is not None:
        data["listener"] = other(phase.speaker)
    if seat != "mediator":
        # Whether the other partner answered a debrief is theirs and the
        # mediator's (their `debrief.answered` is private): a partner's view is
        # exactly what its own events say.
        for part in ("phase", "overlay"):
            if isinstance(data[part], dict) and "answered" in data[part]:
                data[part]["answered"] = [s for s in data[part]["answered"] if s == seat]
    return data
