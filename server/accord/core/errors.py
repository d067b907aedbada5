"""Refusals: every command the core declines raises `Rejected(code, message)`.

The code is a stable snake_case word (clients branch on it; docs/PROTOCOL.md
lists them all); the message is a sentence naming the seat, the state and the
command, in the spirit of h11's LocalProtocolError.
"""

from __future__ import annotations

from typing import Final

#: Every refusal code the core can produce, with what it means. The protocol
#: documentation is generated from (and tested against) this table.
CODES: Final[dict[str, str]] = {
    "invalid_command": "The command is malformed: unknown type, missing or mistyped field.",
    "forbidden_for_seat": "This seat may never send this command (e.g. a partner waiving).",
    "session_ended": "The session has ended; only mediator notes are accepted.",
    "wrong_phase": "The command does not belong to the current phase.",
    "in_time_out": "A time-out is running; only time-out business is accepted.",
    "debrief_pending": "A debrief must be completed before the session goes on.",
    "not_admitted": "The mediator has not admitted both partners yet.",
    "already_admitted": "That partner is already admitted.",
    "no_floor": "Nobody holds the floor; request it (or, mediator, grant it) first.",
    "not_your_turn": "Another partner holds the floor.",
    "floor_taken": "The floor is held; the mediator must revoke it before granting it.",
    "already_holds_floor": "The seat already holds the floor.",
    "already_queued": "The seat has already requested the floor.",
    "not_queued": "The seat has no pending floor request.",
    "invalid_queue": "A reordered queue must contain exactly the pending requests.",
    "paraphrase_required": "The listener must paraphrase the statement before anything else.",
    "awaiting_paraphrase": "The speaker must wait for the listener's paraphrase.",
    "awaiting_answer": "The listener must wait for the speaker's answer to the question.",
    "answer_required": "The speaker must answer the listener's clarifying question first.",
    "awaiting_confirmation": "The speaker must confirm or correct the paraphrase first.",
    "awaiting_reflection": "The listener's reflection steps (summary, validation…) come first.",
    "nothing_to_paraphrase": "There is no statement waiting for a paraphrase.",
    "nothing_to_confirm": "There is no paraphrase waiting for confirmation.",
    "no_question": "No clarifying question awaits an answer.",
    "questions_not_allowed": "This playbook does not allow clarifying questions here.",
    "wrong_step": "The reflection step is not the one expected next.",
    "statement_too_long": "The statement exceeds the playbook's length limit.",
    "reason_required": "Mediator overrides must carry a reason.",
    "not_in_time_out": "There is no time-out running.",
    "out_of_range": "The duration is outside the playbook's minimum and maximum.",
    "already_answered": "This partner has already answered the debrief.",
    "no_debrief": "There is no debrief in progress.",
    "no_schedule": "No time-out is scheduled.",
    "unknown_timer": "No such timer is pending (it fired already or was cancelled).",
    "timer_not_due": "The timer's deadline has not been reached.",
}


class Rejected(Exception):
    """The core declined a command. Nothing happened."""

    def __init__(self, code: str, message: str) -> None:
        assert code in CODES, code
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
