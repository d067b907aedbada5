"""The dispatcher's rules (decide.py, permissions.route): who may ever send
a command, nothing but notes after the end, what an overlay lets through, and
the session's own acts — the mediator's end and the safe signal from every
phase, notes. The rules of each part are tested with it: tests/core/phases/,
tests/core/overlays/.

Every refusal is checked for its stable code, and (by `Session.refuse`) for a
message that starts with the seat and the act.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from coretest import (
    Session,
    custom,
    in_debrief_after_time_out,
    mirrored,
    shipped,
    started,
)

from accord.core.commands import (
    AddNote,
    Admit,
    AdvancePhase,
    AnswerDebrief,
    AnyCommand,
    AskQuestion,
    CallTimeOut,
    EndSession,
    EndTimeOut,
    FireTimer,
    GrantFloor,
    MakeStatement,
    Paraphrase,
    ScheduleTimeOut,
    StartTimeOut,
    WaiveParaphrase,
    Yield,
)
from accord.core.events import (
    MEDIATOR_ONLY,
    NoteAdded,
    PhaseEnded,
    SessionEnded,
)
from accord.core.seats import Actor
from accord.core.state import (
    TimeOutOverlay,
)

SPEAKER_LISTENER = shipped("speaker-listener")  # time-outs: default 20, 5..60 minutes
IMAGO = shipped("imago-dialogue")
#: The chair grants every turn (no round robin).
CHAIRED = custom(dialogue='auto_round_robin = false\nends = "mediator"')


def _lobby() -> Session:
    return Session(SPEAKER_LISTENER)


def _floor_idle() -> Session:
    return started(CHAIRED)


def _awaiting_paraphrase() -> Session:
    s = started()
    s.do("partner_a", MakeStatement(text="x"))
    return s


def _awaiting_answer() -> Session:
    s = started(IMAGO)
    s.do("partner_a", MakeStatement(text="x"))
    s.do("partner_b", AskQuestion(text="?"))
    return s


def _reflecting() -> Session:
    s = started(IMAGO)
    mirrored(s, "partner_a")
    s.do("partner_a", Yield())
    return s


def _in_time_out() -> Session:
    s = _awaiting_paraphrase()
    s.do("partner_b", CallTimeOut())
    return s


def _closing_debrief() -> Session:
    s = started()
    s.do("mediator", AdvancePhase())
    return s


SITUATIONS: dict[str, Callable[[], Session]] = {
    "lobby": _lobby,
    "floor idle": _floor_idle,
    "awaiting paraphrase": _awaiting_paraphrase,
    "awaiting answer": _awaiting_answer,
    "reflecting": _reflecting,
    "time-out": _in_time_out,
    "debrief after time-out": in_debrief_after_time_out,
    "closing debrief": _closing_debrief,
}


@pytest.mark.parametrize("situation", SITUATIONS)
def test_the_mediator_ends_the_session_from_every_phase(situation: str) -> None:
    s = SITUATIONS[situation]()
    s.refuse("mediator", EndSession(), "reason_required")
    s.refuse("partner_a", EndSession(reason="x"), "forbidden_for_seat")
    assert s.do("mediator", EndSession(reason="Safety first.")) == [
        SessionEnded(by="mediator", reason="Safety first.")
    ]
    assert s.state.ended
    assert (s.state.overlay, s.state.timers, s.state.schedule) == (None, (), None)


@pytest.mark.parametrize("situation", SITUATIONS)
def test_either_partner_calls_a_time_out_in_every_phase(situation: str) -> None:
    for partner in ("partner_a", "partner_b"):
        s = SITUATIONS[situation]()
        events = s.do(partner, CallTimeOut(reason="Stop."))
        assert s.types(events)[-1] == "timeout.reason"
        assert isinstance(s.state.overlay, TimeOutOverlay)


@pytest.mark.parametrize(
    ("actor", "command"),
    [
        ("partner_a", CallTimeOut()),
        ("partner_b", MakeStatement(text="x")),
        ("partner_a", AnswerDebrief(rating=1)),
        ("mediator", EndSession(reason="again")),
        ("mediator", StartTimeOut()),
        ("mediator", ScheduleTimeOut(every_minutes=5)),
        ("mediator", AdvancePhase(reason="x")),
        ("mediator", Admit(seat="partner_a")),
        ("system", FireTimer(timer="t1")),
    ],
)
def test_nothing_but_notes_after_the_session_ended(actor: Actor, command: AnyCommand) -> None:
    s = _awaiting_paraphrase()
    s.do("partner_a", CallTimeOut())
    s.do("mediator", EndSession(reason="Done."))
    message = s.refuse(actor, command, "session_ended")
    assert message.endswith("after the session ended")
    assert s.do("mediator", AddNote(text="Follow up next week.")) == [
        NoteAdded(text="Follow up next week.", audience=("mediator",))
    ]


def test_notes_are_the_mediators_and_private() -> None:
    s = _in_time_out()
    assert s.do("mediator", AddNote(text="A flooded.")) == [
        NoteAdded(text="A flooded.", audience=MEDIATOR_ONLY)
    ]
    s.refuse("partner_a", AddNote(text="x"), "forbidden_for_seat")
    assert "flooded" not in repr(s.state)


def test_a_seat_forbidden_a_command_is_told_who_may() -> None:
    s = started()
    assert (
        s.refuse("partner_b", WaiveParaphrase(reason="x"), "forbidden_for_seat")
        == "partner_b may not waive a paraphrase at all: only the mediator may"
    )
    assert (
        s.refuse("mediator", Paraphrase(text="x"), "forbidden_for_seat")
        == "mediator may not paraphrase at all: only a partner may"
    )


# -- the order of the rules (permissions.route) --------------------------------------------


def test_who_may_ever_send_comes_first() -> None:
    s = _in_time_out()
    s.do("mediator", EndSession(reason="Done."))
    # After the end, a partner's admission is still "not yours", not "ended".
    s.refuse("partner_a", Admit(seat="partner_a"), "forbidden_for_seat")
    s.refuse("partner_a", CallTimeOut(), "session_ended")


def test_an_overlay_refuses_before_the_phase_looks() -> None:
    s = _in_time_out()
    # The floor is held (floor_taken), but the time-out refuses first.
    assert s.refuse("mediator", GrantFloor(seat="partner_b", reason="x"), "in_time_out") == (
        "mediator may not grant the floor during a time-out"
    )
    assert s.refuse("partner_a", AnswerDebrief(rating=1), "in_time_out").endswith(
        "during a time-out"
    )


def test_a_command_no_part_takes_here_is_refused_where_the_session_is() -> None:
    s = _floor_idle()
    assert s.refuse("mediator", Admit(seat="partner_a"), "wrong_phase") == (
        "mediator may not admit a partner while nobody holds the floor"
    )
    assert s.refuse("partner_a", AnswerDebrief(rating=1), "no_debrief") == (
        "partner_a may not answer the debrief while nobody holds the floor"
    )
    assert s.refuse("mediator", EndTimeOut(), "not_in_time_out") == (
        "mediator may not end the time-out while nobody holds the floor: none is running"
    )


def test_a_phase_that_ends_hands_over_to_the_session() -> None:
    s = _awaiting_paraphrase()
    events = s.do("mediator", AdvancePhase(reason="Out of time."))
    assert s.types(events) == ["phase.ended", "phase.started", "debrief.started"]
    assert events[0] == PhaseEnded(index=1, by="mediator", reason="Out of time.")
