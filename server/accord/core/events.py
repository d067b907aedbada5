"""Events: the facts of a session, each with its audience (DESIGN.md, invariant 7).

An event never says anything its audience may not know. Facts with a private
part are split in two: the public fact to everyone, the private detail to the
mediator (and, where it is theirs, the partner who wrote it).
"""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from accord.core.seats import Actor, Partner, Seat

EVERYONE: Final[tuple[Seat, ...]] = ("mediator", "partner_a", "partner_b")
MEDIATOR_ONLY: Final[tuple[Seat, ...]] = ("mediator",)

Stage = Literal[
    "idle",
    "speaking",
    "awaiting_paraphrase",
    "awaiting_answer",
    "awaiting_confirmation",
    "confirmed",
    "reflecting",
]


class Event(msgspec.Struct, frozen=True, tag_field="type", kw_only=True):
    """Base of all events. `audience` lists the seats that may receive it."""

    audience: tuple[Seat, ...] = EVERYONE


def private_to(partner: Partner) -> tuple[Seat, ...]:
    return ("mediator", partner)


# -- session and phases ----------------------------------------------------------


class PartnerAdmitted(Event, tag="partner.admitted", frozen=True):
    seat: Partner


class PhaseStarted(Event, tag="phase.started", frozen=True):
    index: int
    phase_type: str
    title: str


class PhaseEnded(Event, tag="phase.ended", frozen=True):
    index: int
    by: Actor
    reason: str = ""  # non-empty when the mediator ended the phase early (an override)


class SessionEnded(Event, tag="session.ended", frozen=True):
    by: Actor
    reason: str = ""


# -- floor -----------------------------------------------------------------------


class FloorRequested(Event, tag="floor.requested", frozen=True):
    seat: Partner
    queue: tuple[Partner, ...]


class FloorRequestWithdrawn(Event, tag="floor.withdrawn", frozen=True):
    seat: Partner
    queue: tuple[Partner, ...]


class FloorGranted(Event, tag="floor.granted", frozen=True):
    seat: Partner
    by: Actor
    queue: tuple[Partner, ...]
    reason: str = ""


class FloorRevoked(Event, tag="floor.revoked", frozen=True):
    seat: Partner
    reason: str


class QueueReordered(Event, tag="floor.reordered", frozen=True):
    queue: tuple[Partner, ...]
    reason: str


class FloorYielded(Event, tag="floor.yielded", frozen=True):
    seat: Partner


class TurnEnded(Event, tag="turn.ended", frozen=True):
    seat: Partner
    turn: int  # turns completed in this phase, this one included


# -- speaker-listener -----------------------------------------------------------


class StatementMade(Event, tag="statement.made", frozen=True):
    seat: Partner
    statement: int
    text: str


class ParaphraseOffered(Event, tag="paraphrase.offered", frozen=True):
    seat: Partner
    statement: int
    attempt: int
    text: str


class QuestionAsked(Event, tag="question.asked", frozen=True):
    seat: Partner
    statement: int
    text: str


class QuestionAnswered(Event, tag="question.answered", frozen=True):
    seat: Partner
    statement: int
    text: str


class ParaphraseConfirmed(Event, tag="paraphrase.confirmed", frozen=True):
    seat: Partner
    statement: int
    attempt: int


class ParaphraseCorrected(Event, tag="paraphrase.corrected", frozen=True):
    seat: Partner
    statement: int
    attempt: int
    note: str


class ParaphraseWaived(Event, tag="paraphrase.waived", frozen=True):
    statement: int
    reason: str


class ReflectionOffered(Event, tag="reflection.offered", frozen=True):
    seat: Partner
    step: str
    text: str


# -- time-outs and debriefs -------------------------------------------------------


class TimeOutStarted(Event, tag="timeout.started", frozen=True):
    timer: str
    by: Actor  # the partner who called it, the mediator, or "system" (schedule)
    started_at: float
    ends_at: float


class TimeOutReason(Event, tag="timeout.reason", frozen=True):
    """The caller's private reason: the mediator only, never the other partner."""

    by: Partner
    reason: str


class TimeOutSignalled(Event, tag="timeout.signalled", frozen=True):
    """The safe signal given again while a time-out already runs."""

    by: Partner


class TimeOutExtended(Event, tag="timeout.extended", frozen=True):
    timer: str
    ends_at: float


class TimeOutEnded(Event, tag="timeout.ended", frozen=True):
    timer: str
    by: Actor
    reason: str = ""


class TimeOutScheduled(Event, tag="timeout.scheduled", frozen=True):
    timer: str
    due: float  # when the break starts (not `at`: every event's envelope has an `at`)
    every_minutes: float | None
    minutes: float


class ScheduleCancelled(Event, tag="timeout.unscheduled", frozen=True):
    timer: str


class TimerFired(Event, tag="timer.fired", frozen=True):
    timer: str


class DebriefStarted(Event, tag="debrief.started", frozen=True):
    prompts: tuple[str, ...]
    after: Literal["time_out", "phase"]


class DebriefAnswered(Event, tag="debrief.answered", frozen=True):
    """A partner's answer: the mediator and its author only."""

    seat: Partner
    rating: int
    text: str


class DebriefCompleted(Event, tag="debrief.completed", frozen=True):
    after: Literal["time_out", "phase"]
    skipped: bool = False
    reason: str = ""


# -- mediator --------------------------------------------------------------------


class NoteAdded(Event, tag="note.added", frozen=True):
    text: str


AnyEvent = (
    PartnerAdmitted
    | PhaseStarted
    | PhaseEnded
    | SessionEnded
    | FloorRequested
    | FloorRequestWithdrawn
    | FloorGranted
    | FloorRevoked
    | QueueReordered
    | FloorYielded
    | TurnEnded
    | StatementMade
    | ParaphraseOffered
    | QuestionAsked
    | QuestionAnswered
    | ParaphraseConfirmed
    | ParaphraseCorrected
    | ParaphraseWaived
    | ReflectionOffered
    | TimeOutStarted
    | TimeOutReason
    | TimeOutSignalled
    | TimeOutExtended
    | TimeOutEnded
    | TimeOutScheduled
    | ScheduleCancelled
    | TimerFired
    | DebriefStarted
    | DebriefAnswered
    | DebriefCompleted
    | NoteAdded
)

EVENT_TYPES: Final[tuple[str, ...]] = tuple(str(c.__struct_config__.tag) for c in AnyEvent.__args__)


def event_type(event: Event) -> str:
    return str(event.__struct_config__.tag)
