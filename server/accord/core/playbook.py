"""Loading a playbook: its schema and cross-field rules (`schema.py`), then
the exhaustive exploration (`check.py`), as the server does before any
session uses it (DESIGN.md: "Loading a playbook checks it").

This module sits above the checker, which sits above the decider; the format
itself (`schema.py`) is below them all, so nothing imports in a circle. The
format's names are re-exported here, where the rest of the server has always
imported them from.
"""

from __future__ import annotations

from accord.core.check import check_source
from accord.core.overlays.time_out import MAX_TIME_OUT_MINUTES, TimeOutSpec
from accord.core.phases import PhaseSpec
from accord.core.phases.debrief import DEFAULT_DEBRIEF_PROMPTS, DebriefSpec
from accord.core.phases.dialogue import DialogueSpec, ListenerStep
from accord.core.phases.lobby import LobbySpec
from accord.core.schema import (
    LineMap,
    Playbook,
    PlaybookError,
    Problem,
    parse_playbook,
    stored_playbook,
)

__all__ = [
    "DEFAULT_DEBRIEF_PROMPTS",
    "MAX_TIME_OUT_MINUTES",
    "DebriefSpec",
    "DialogueSpec",
    "LineMap",
    "ListenerStep",
    "LobbySpec",
    "PhaseSpec",
    "Playbook",
    "PlaybookError",
    "Problem",
    "TimeOutSpec",
    "load_playbook",
    "parse_playbook",
    "stored_playbook",
]


def load_playbook(source: str, filename: str) -> Playbook:
    """Load a playbook: schema, cross-field rules and the exhaustive check.

    Results are cached by source text, so loading the same playbook for each
    new session costs nothing after the first time.
    """
    problems, playbook = check_source(source, filename)
    if problems or playbook is None:
        raise PlaybookError(problems)
    return playbook
