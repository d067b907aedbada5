"""The overlays: what can stand over any phase, which waits until it is gone.

Today the time-out (Gottman) and the debrief that always follows it; the
caucus comes next. The session state holds at most one overlay (`overlay`);
while it stands, `permissions.route` asks it first (DESIGN.md, invariant 3).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from accord.core.base import Event, OverlayState, Timer
from accord.core.kinds import OverlayType, Part, PhaseType
from accord.core.overlays import time_out
from accord.core.phases.debrief import DebriefOverlay

if TYPE_CHECKING:
    from accord.core.state import SessionState

# registry: each overlay, and each module that declares overlays.
OVERLAYS: Final[dict[str, OverlayType]] = {t.name: t for t in (time_out.TIME_OUT, time_out.DEBRIEF)}
PARTS: Final[tuple[Part, ...]] = (time_out.PART,)

#: Each overlay by the class of its state, for the dispatchers.
BY_STATE: Final[dict[type[OverlayState], OverlayType]] = {t.state: t for t in OVERLAYS.values()}

# registry: the same, spelt out for msgspec and mypy.
AnyOverlay = time_out.TimeOutOverlay | DebriefOverlay
OverlayCommand = time_out.TimeOutCommand
OverlayEvent = time_out.TimeOutEvent

#: What happens when a timer of each kind fires (`timer.fire`, session.py).
TIMERS: Final[dict[str, Callable[[SessionState, Timer, float], list[Event]]]] = {**time_out.TIMERS}
#: What the overlays add when a phase starts (the playbook's break schedule).
ON_PHASE_START: Final[tuple[Callable[[SessionState, PhaseType, float], list[Event]], ...]] = (
    time_out.on_phase_start,
)
