"""Commands: the intents a seat (or the timer) sends, validated from plain data.

A command arrives as whatever msgpack decoded (a dict with a ``type``). It is
converted with msgspec into the one frozen struct its type names; every bad
field gets a precise message (``Expected `str`, got `int` - at `$.text` ``).
Each command struct lives with the part of the core that owns it (a phase
type, an overlay, the session) and declares who may ever send it; this module
is the catalogue of all of them.
"""

from __future__ import annotations

from typing import Any, Final, cast

import msgspec

from accord.core.base import MAX_TEXT, AdvancePhase, Command
from accord.core.errors import Rejected
from accord.core.overlays import OverlayCommand
from accord.core.overlays.time_out import (
    CallTimeOut,
    CancelSchedule,
    EndTimeOut,
    ExtendTimeOut,
    ScheduleTimeOut,
    StartTimeOut,
)
from accord.core.parts import COMMANDS
from accord.core.phases import PhaseCommand
from accord.core.phases.comfort_scale import FinishRating, RateScenario
from accord.core.phases.debrief import AnswerDebrief, SkipDebrief
from accord.core.phases.dialogue import (
    AnswerQuestion,
    AskQuestion,
    ConfirmParaphrase,
    CorrectParaphrase,
    GrantFloor,
    MakeStatement,
    Paraphrase,
    Reflect,
    ReorderQueue,
    RequestFloor,
    RevokeFloor,
    WaiveParaphrase,
    WithdrawRequest,
    Yield,
)
from accord.core.phases.lobby import Admit
from accord.core.phases.measure import SubmitMeasure
from accord.core.phases.mutual_reveal import AnswerItems, DiscloseNo, FinishList, RevealList
from accord.core.session import AddNote, EndSession, FireTimer, SessionCommand

__all__ = [
    "COMMAND_TYPES",
    "MAX_TEXT",
    "AddNote",
    "Admit",
    "AdvancePhase",
    "AnswerDebrief",
    "AnswerItems",
    "AnswerQuestion",
    "AnyCommand",
    "AskQuestion",
    "CallTimeOut",
    "CancelSchedule",
    "Command",
    "ConfirmParaphrase",
    "CorrectParaphrase",
    "DiscloseNo",
    "EndSession",
    "EndTimeOut",
    "ExtendTimeOut",
    "FinishList",
    "FinishRating",
    "FireTimer",
    "GrantFloor",
    "MakeStatement",
    "Paraphrase",
    "RateScenario",
    "Reflect",
    "ReorderQueue",
    "RequestFloor",
    "RevealList",
    "RevokeFloor",
    "ScheduleTimeOut",
    "SkipDebrief",
    "StartTimeOut",
    "SubmitMeasure",
    "WaiveParaphrase",
    "WithdrawRequest",
    "Yield",
    "command_type",
    "parse_command",
]

AnyCommand = PhaseCommand | OverlayCommand | SessionCommand

#: Every command type, in the order `may` lists them.
COMMAND_TYPES: Final[tuple[str, ...]] = tuple(COMMANDS)


def parse_command(data: Any) -> AnyCommand:
    """Validate plain data into a command, or raise Rejected('invalid_command').

    It converts to the one struct the `type` names: msgspec derives a union's
    type info again on every `convert` call, ~14 µs for the union of all
    commands against ~0.1 µs for one struct."""
    if not isinstance(data, dict):
        raise Rejected("invalid_command", f"a command must be a map, not {type(data).__name__}")
    kind = data.get("type")
    if not isinstance(kind, str):
        raise Rejected("invalid_command", "a command needs a 'type' string")
    struct = COMMANDS.get(kind)
    if struct is None:
        raise Rejected("invalid_command", f"unknown command type {kind!r}")
    try:
        return cast("AnyCommand", msgspec.convert(data, struct))
    except msgspec.ValidationError as exc:
        raise Rejected("invalid_command", f"{kind}: {exc}") from None


def command_type(command: Command) -> str:
    return str(command.__struct_config__.tag)
