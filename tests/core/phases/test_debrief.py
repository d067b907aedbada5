"""The debrief phase (phases/debrief.py): each partner answers; the last one closes the phase."""

from __future__ import annotations

from coretest import (
    started,
)

from accord.core.commands import (
    AdvancePhase,
    AnswerDebrief,
    CallTimeOut,
    EndTimeOut,
    MakeStatement,
    SkipDebrief,
)
from accord.core.events import (
    DebriefAnswered,
    DebriefCompleted,
    DebriefStarted,
    PhaseEnded,
    PhaseStarted,
    SessionEnded,
)
from accord.core.seats import SEATS
from accord.core.state import (
    DebriefPhase,
)
from accord.core.view import seat_view


def test_answer_without_a_debrief() -> None:
    s = started()
    s.refuse("partner_a", AnswerDebrief(rating=1), "no_debrief")
    s.refuse("mediator", SkipDebrief(reason="x"), "no_debrief")


# -- ending --------------------------------------------------------------------------------


def test_the_closing_debrief_ends_the_session() -> None:
    s = started()
    s.do("mediator", AdvancePhase())
    assert isinstance(s.state.phase, DebriefPhase)
    s.refuse("mediator", AdvancePhase(), "reason_required")
    s.refuse("partner_a", MakeStatement(text="x"), "wrong_phase")
    s.do("partner_a", AnswerDebrief(rating=2, text="Heard."))
    s.refuse("partner_a", AnswerDebrief(rating=2), "already_answered")
    events = s.do("partner_b", AnswerDebrief(rating=3, text="Relieved."))
    assert events == [
        DebriefAnswered(
            seat="partner_b", rating=3, text="Relieved.", audience=("mediator", "partner_b")
        ),
        DebriefCompleted(after="phase"),
        PhaseEnded(index=2, by="system"),
        SessionEnded(by="system"),
    ]
    assert s.state.ended
    assert s.state.index == 3


def test_skipping_the_closing_debrief_ends_the_session() -> None:
    s = started()
    s.do("mediator", AdvancePhase())
    events = s.do("mediator", SkipDebrief(reason="They left."))
    assert events == [
        DebriefCompleted(after="phase", skipped=True, reason="They left."),
        PhaseEnded(index=2, by="mediator", reason="They left."),
        SessionEnded(by="system"),
    ]


def test_a_time_out_in_the_closing_debrief_keeps_its_answers() -> None:
    s = started()
    s.do("mediator", AdvancePhase())
    s.do("partner_a", AnswerDebrief(rating=5))
    s.do("partner_b", CallTimeOut())
    s.do("mediator", EndTimeOut())
    s.do("partner_a", AnswerDebrief(rating=4))  # the time-out's own debrief
    s.do("partner_b", AnswerDebrief(rating=4))
    assert s.state.overlay is None
    assert s.state.phase == DebriefPhase(answered=("partner_a",))
    assert s.types(s.do("partner_b", AnswerDebrief(rating=3)))[-1] == "session.ended"


def test_the_closing_debrief_opens_with_its_prompts() -> None:
    s = started()
    events = s.do("mediator", AdvancePhase())
    prompts = s.playbook.phases[2].prompts  # type: ignore[union-attr]
    assert events[1:] == [
        PhaseStarted(index=2, phase_type="debrief", title="Closing debrief", phase=DebriefPhase()),
        DebriefStarted(prompts=prompts, after="phase"),
    ]
    assert seat_view(s.state, "partner_a")["hints"] == {
        "debrief.answer": {"prompts": list(prompts)},
        "names.set": {"seats": ["partner_a"], "max_chars": 40},
    }


def test_a_partner_sees_only_its_own_answer_in_the_closing_debrief() -> None:
    s = started()
    s.do("mediator", AdvancePhase())
    fresh = seat_view(s.state, "partner_b")
    s.do("partner_a", AnswerDebrief(rating=2))
    views = {seat: seat_view(s.state, seat) for seat in SEATS}
    answered = [list(views[seat]["phase"]["answered"]) for seat in SEATS]
    assert answered == [["partner_a"], ["partner_a"], []]
    # partner_b is told and offered exactly what it was before partner_a answered.
    for key in ("prompt", "may", "hints", "overrides"):
        assert views["partner_b"][key] == fresh[key]
    assert views["partner_a"]["prompt"]["stage"] == "answered"
    assert "debrief.answer" not in views["partner_a"]["may"]
    assert views["mediator"]["overrides"] == ["debrief.skip", "phase.advance", "session.end"]
