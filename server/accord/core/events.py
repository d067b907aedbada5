"""Events: the facts of a session, each with its audience (DESIGN.md, invariant 7).

An event never says anything its audience may not know. Facts with a private
part are split in two: the public fact to everyone, the private detail to the
mediator (and, where it is theirs, the partner who wrote it). Events carry
what was decided (the stage a statement leads to, the state a phase starts
in), so `evolve` applies them and never decides again. Each event struct
lives with the part of the core that owns it; this module is the catalogue.
"""

from __future__ import annotations

from typing import Final

from accord.core.base import (
    EVERYONE,
    MEDIATOR_ONLY,
    Event,
    PhaseEnded,
    private_to,
)
from accord.core.overlays import OverlayEvent
from accord.core.overlays.time_out import (
    ScheduleCancelled,
    TimeOutEnded,
    TimeOutExtended,
    TimeOutReason,
    TimeOutScheduled,
    TimeOutSignalled,
    TimeOutStarted,
    TimerFired,
)
from accord.core.parts import EVOLVERS
from accord.core.phases import PhaseEvent
from accord.core.phases.comfort_scale import RatingFinished, ScenarioRated
from accord.core.phases.debrief import DebriefAnswered, DebriefCompleted, DebriefStarted
from accord.core.phases.dialogue import (
    FloorGranted,
    FloorRequested,
    FloorRequestWithdrawn,
    FloorRevoked,
    FloorYielded,
    ParaphraseConfirmed,
    ParaphraseCorrected,
    ParaphraseOffered,
    ParaphraseWaived,
    QuestionAnswered,
    QuestionAsked,
    QueueReordered,
    ReflectionOffered,
    Stage,
    StatementMade,
    TurnEnded,
)
from accord.core.phases.lobby import PartnerAdmitted
from accord.core.phases.measure import MeasureScored, MeasureSubmitted
from accord.core.phases.mutual_reveal import (
    MutualAnswered,
    MutualDisclosed,
    MutualFinished,
    MutualLocked,
    MutualRevealed,
)
from accord.core.session import NoteAdded, PhaseStarted, SessionEnded, SessionEvent

__all__ = [
    "EVENT_TYPES",
    "EVERYONE",
    "MEDIATOR_ONLY",
    "AnyEvent",
    "DebriefAnswered",
    "DebriefCompleted",
    "DebriefStarted",
    "Event",
    "FloorGranted",
    "FloorRequestWithdrawn",
    "FloorRequested",
    "FloorRevoked",
    "FloorYielded",
    "MeasureScored",
    "MeasureSubmitted",
    "MutualAnswered",
    "MutualDisclosed",
    "MutualFinished",
    "MutualLocked",
    "MutualRevealed",
    "NoteAdded",
    "ParaphraseConfirmed",
    "ParaphraseCorrected",
    "ParaphraseOffered",
    "ParaphraseWaived",
    "PartnerAdmitted",
    "PhaseEnded",
    "PhaseStarted",
    "QuestionAnswered",
    "QuestionAsked",
    "QueueReordered",
    "RatingFinished",
    "ReflectionOffered",
    "ScenarioRated",
    "ScheduleCancelled",
    "SessionEnded",
    "Stage",
    "StatementMade",
    "TimeOutEnded",
    "TimeOutExtended",
    "TimeOutReason",
    "TimeOutScheduled",
    "TimeOutSignalled",
    "TimeOutStarted",
    "TimerFired",
    "TurnEnded",
    "event_type",
    "private_to",
]

AnyEvent = PhaseEvent | OverlayEvent | SessionEvent

EVENT_TYPES: Final[tuple[str, ...]] = tuple(str(e.__struct_config__.tag) for e in EVOLVERS)


def event_type(event: Event) -> str:
    return str(event.__struct_config__.tag)
