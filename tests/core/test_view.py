"""What each seat is shown: its role and the commands it may send now."""

from __future__ import annotations

from coretest import Session, shipped

from accord.core.commands import (
    AnswerDebrief,
    CallTimeOut,
    EndSession,
    EndTimeOut,
    MakeStatement,
)
from accord.core.seats import SEATS
from accord.core.view import may_send, role_of, seat_view

SPEAKER_LISTENER = shipped("speaker-listener")


def test_roles_follow_the_floor() -> None:
    s = Session(SPEAKER_LISTENER)
    assert [role_of(s.state, seat) for seat in ("mediator", "partner_a", "partner_b")] == [
        "mediator",
        "partner",
        "partner",
    ]
    s.start()
    assert role_of(s.state, "partner_a") == "speaker"
    assert role_of(s.state, "partner_b") == "listener"


def test_the_lobby() -> None:
    s = Session(SPEAKER_LISTENER)
    assert may_send(s.state, "partner_a") == ["timeout.call"]
    assert set(may_send(s.state, "mediator")) == {
        "admit",
        "phase.advance",
        "timeout.start",
        "timeout.schedule",
        "note",
        "session.end",
    }


def test_the_floor_and_the_gate() -> None:
    s = Session(SPEAKER_LISTENER)
    s.start()
    assert may_send(s.state, "partner_a") == ["yield", "statement", "timeout.call"]
    assert may_send(s.state, "partner_b") == ["floor.request", "timeout.call"]
    s.do("partner_a", MakeStatement(text="I felt alone."))
    assert may_send(s.state, "partner_a") == ["timeout.call"]
    assert may_send(s.state, "partner_b") == ["paraphrase", "question", "timeout.call"]


def test_a_time_out_and_its_debrief() -> None:
    s = Session(SPEAKER_LISTENER)
    s.start()
    s.do("partner_b", CallTimeOut())
    assert may_send(s.state, "partner_a") == ["timeout.call"]
    assert "timeout.end" in may_send(s.state, "mediator")
    assert "timeout.start" not in may_send(s.state, "mediator")
    s.do("mediator", EndTimeOut())
    assert may_send(s.state, "partner_a") == ["timeout.call", "debrief.answer"]
    assert "debrief.skip" in may_send(s.state, "mediator")


def test_after_the_end_only_notes() -> None:
    s = Session(SPEAKER_LISTENER)
    s.do("mediator", EndSession(reason="Cancelled."))
    assert may_send(s.state, "mediator") == ["note"]
    assert may_send(s.state, "partner_a") == []


def test_seat_view_is_the_state_with_role_and_acts() -> None:
    s = Session(SPEAKER_LISTENER)
    s.start()
    view = seat_view(s.state, "partner_b")
    assert view["role"] == "listener"
    assert view["listener"] == "partner_b"
    assert view["ended"] is False
    assert view["may"] == may_send(s.state, "partner_b")
    assert view["phase"]["speaker"] == "partner_a"
    assert view["playbook"]["name"] == "speaker-listener"


def test_a_partner_sees_only_its_own_debrief_answer_counted() -> None:
    s = Session(SPEAKER_LISTENER)
    s.start()
    s.do("partner_b", CallTimeOut())
    s.do("mediator", EndTimeOut())
    s.do("partner_b", AnswerDebrief(rating=7, text="Shaky."))
    # partner_b's answer is private to partner_b and the mediator; so is the
    # fact that there is one (partner_a never receives its event).
    answered = {seat: list(seat_view(s.state, seat)["overlay"]["answered"]) for seat in SEATS}
    assert answered == {"mediator": ["partner_b"], "partner_a": [], "partner_b": ["partner_b"]}
    assert "debrief.answer" in seat_view(s.state, "partner_a")["may"]
