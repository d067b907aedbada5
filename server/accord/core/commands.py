"""Commands: the intents a seat (or the timer) sends, validated from plain data.

A command arrives as whatever msgpack decoded (a dict with a ``type``). It is
converted with msgspec into one of the frozen structs below; every bad field
gets a precise message (``Expected `str`, got `int` - at `$.text` ``).
"""

from __future__ import annotations

from typing import Annotated, Any, Final, cast

import msgspec

from accord.core.errors import Rejected
from accord.core.seats import Partner

#: Free text anywhere in a command is bounded; statements have a tighter,
#: per-playbook limit checked by the decider.
MAX_TEXT: Final = 4000

Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Reason = Annotated[str, msgspec.Meta(max_length=1000)]
Minutes = Annotated[float, msgspec.Meta(gt=0, le=1440)]
#: Unix seconds, finite (NaN or infinity would fire at once or never, and a NaN
#: in the log makes the replayed state differ from the live one: invariant 6).
#: The bound is 9999-12-31T23:59:59Z.
Timestamp = Annotated[float, msgspec.Meta(ge=0, le=253_402_300_799)]
#: Short identifiers (a reflection step, a timer id): bounded like free text.
Name = Annotated[str, msgspec.Meta(max_length=64)]


class Command(msgspec.Struct, frozen=True, tag_field="type", forbid_unknown_fields=True):
    """Base of all commands."""


# -- lobby ------------------------------------------------------------------


class Admit(Command, tag="admit", frozen=True):
    seat: Partner


class AdvancePhase(Command, tag="phase.advance", frozen=True):
    reason: Reason = ""


# -- floor (BFCP-like: request → queued → granted → released/revoked) ---------


class RequestFloor(Command, tag="floor.request", frozen=True):
    pass


class WithdrawRequest(Command, tag="floor.withdraw", frozen=True):
    pass


class GrantFloor(Command, tag="floor.grant", frozen=True):
    seat: Partner
    reason: Reason = ""


class RevokeFloor(Command, tag="floor.revoke", frozen=True):
    reason: Reason = ""


class ReorderQueue(Command, tag="floor.reorder", frozen=True):
    queue: tuple[Partner, ...]
    reason: Reason = ""


class Yield(Command, tag="yield", frozen=True):
    pass


# -- speaker-listener ----------------------------------------------------------


class MakeStatement(Command, tag="statement", frozen=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]


class Paraphrase(Command, tag="paraphrase", frozen=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]


class AskQuestion(Command, tag="question", frozen=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]


class AnswerQuestion(Command, tag="answer", frozen=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]


class ConfirmParaphrase(Command, tag="paraphrase.confirm", frozen=True):
    pass


class CorrectParaphrase(Command, tag="paraphrase.correct", frozen=True):
    note: Text = ""


class WaiveParaphrase(Command, tag="paraphrase.waive", frozen=True):
    reason: Reason = ""


class Reflect(Command, tag="reflect", frozen=True):
    step: Name
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]


# -- time-outs and debriefs ----------------------------------------------------


class CallTimeOut(Command, tag="timeout.call", frozen=True):
    """The safe signal. The reason, if any, reaches the mediator only."""

    reason: Reason = ""


class StartTimeOut(Command, tag="timeout.start", frozen=True):
    minutes: Minutes | None = None


class EndTimeOut(Command, tag="timeout.end", frozen=True):
    reason: Reason = ""


class ExtendTimeOut(Command, tag="timeout.extend", frozen=True):
    minutes: Minutes


class ScheduleTimeOut(Command, tag="timeout.schedule", frozen=True):
    """At a time (unix seconds), or every N minutes from now, or both."""

    at: Timestamp | None = None
    every_minutes: Minutes | None = None
    minutes: Minutes | None = None


class CancelSchedule(Command, tag="timeout.unschedule", frozen=True):
    pass


class AnswerDebrief(Command, tag="debrief.answer", frozen=True):
    rating: Annotated[int, msgspec.Meta(ge=0, le=10)]
    text: Text = ""


class SkipDebrief(Command, tag="debrief.skip", frozen=True):
    reason: Reason = ""


# -- mediator ------------------------------------------------------------------


class AddNote(Command, tag="note", frozen=True):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]


class EndSession(Command, tag="session.end", frozen=True):
    reason: Reason = ""


# -- system --------------------------------------------------------------------


class FireTimer(Command, tag="timer.fire", frozen=True):
    timer: Name


AnyCommand = (
    Admit
    | AdvancePhase
    | RequestFloor
    | WithdrawRequest
    | GrantFloor
    | RevokeFloor
    | ReorderQueue
    | Yield
    | MakeStatement
    | Paraphrase
    | AskQuestion
    | AnswerQuestion
    | ConfirmParaphrase
    | CorrectParaphrase
    | WaiveParaphrase
    | Reflect
    | CallTimeOut
    | StartTimeOut
    | EndTimeOut
    | ExtendTimeOut
    | ScheduleTimeOut
    | CancelSchedule
    | AnswerDebrief
    | SkipDebrief
    | AddNote
    | EndSession
    | FireTimer
)

#: Each command's struct by its type. parse_command converts to the one struct
#: its type names: msgspec derives a union's type info again on every
#: `convert` call, ~14 µs for this union against ~0.1 µs for one struct.
_STRUCTS: Final[dict[str, type[Command]]] = {
    str(c.__struct_config__.tag): c for c in AnyCommand.__args__
}
COMMAND_TYPES: Final[tuple[str, ...]] = tuple(_STRUCTS)


def parse_command(data: Any) -> AnyCommand:
    """Validate plain data into a command, or raise Rejected('invalid_command')."""
    if not isinstance(data, dict):
        raise Rejected("invalid_command", f"a command must be a map, not {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise Rejected("invalid_command", "a command needs a 'type' string")
    struct = _STRUCTS.get(kind)
    if struct is None:
        raise Rejected("invalid_command", f"unknown command type {kind!r}")
    try:
        return cast("AnyCommand", msgspec.convert(data, struct))
    except msgspec.ValidationError as exc:
        raise Rejected("invalid_command", f"{kind}: {exc}") from None


def command_type(command: Command) -> str:
    return str(command.__struct_config__.tag)
