"""Refusals: every command the core declines raises `Rejected(code, message)`.

The code is a stable snake_case word (clients branch on it; docs/PROTOCOL.md
and docs/ERRORS.md list them all); the message is a sentence naming the seat,
the state and the command, in the spirit of h11's LocalProtocolError.

`CODES` is the one table of every code. The codes any part of the core may
raise are here; each phase type and overlay declares its own next to the
refusals that use them (`PhaseType.codes`), and `accord.core.parts` adds them
with `contribute` when the core loads. Importing anything under `accord.core`
loads the whole package first, so `CODES` is complete wherever it is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

#: Every refusal code the core can produce, with what it means.
CODES: Final[dict[str, str]] = {
    "invalid_command": "The command is malformed: unknown type, missing or mistyped field.",
    "forbidden_for_seat": "This seat may never send this command (e.g. a partner waiving).",
    "session_ended": "The session has ended; only mediator notes are accepted.",
    "wrong_phase": "The command does not belong to the current phase.",
    "reason_required": "Mediator overrides must carry a reason.",
}


def contribute(codes: Mapping[str, str]) -> None:
    """Add one part's refusal codes to `CODES` (a code has one meaning)."""
    for code, meaning in codes.items():
        assert CODES.setdefault(code, meaning) == meaning, f"{code} has two meanings"


class Rejected(Exception):
    """The core declined a command. Nothing happened."""

    def __init__(self, code: str, message: str) -> None:
        assert code in CODES, code
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
