"""The session core: sans-I/O, synchronous, pure (DESIGN.md, "The core: a decider").

    decide(state, command, actor, now) -> list[Event]   # or raise Rejected
    evolve(state, event) -> state
    initial_state(playbook) -> state

Nothing here touches a socket, a file, a clock or an event loop: the hub feeds
commands in and carries events out. docs/ARCHITECTURE.md draws the rooms:
the phase types (`phases/`), the overlays (`overlays/`) and the session
(`session.py`) declare the rules; `decide`, `evolve` and `permissions`
dispatch to them.
"""

from accord.core.commands import AnyCommand, parse_command
from accord.core.decide import decide
from accord.core.errors import CODES, Rejected
from accord.core.events import AnyEvent
from accord.core.evolve import evolve
from accord.core.fold import fold
from accord.core.playbook import Playbook, PlaybookError, Problem, load_playbook
from accord.core.state import SessionState, initial_state
from accord.core.view import seat_update, seat_view

__all__ = [
    "CODES",
    "AnyCommand",
    "AnyEvent",
    "Playbook",
    "PlaybookError",
    "Problem",
    "Rejected",
    "SessionState",
    "decide",
    "evolve",
    "fold",
    "initial_state",
    "load_playbook",
    "parse_command",
    "seat_update",
    "seat_view",
]
