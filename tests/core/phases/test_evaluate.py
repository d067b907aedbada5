"""The evaluation (phases/evaluate.py): each option through the fairness lens,
private until both partners answered it, then shown side by side with its
outcome; the options come from the brainstorm before."""

from __future__ import annotations

from typing import Any

import msgspec
from coretest import Session, shipped

from accord.core.commands import AdvancePhase
from accord.core.fold import fold
from accord.core.permissions import may
from accord.core.phases.brainstorm import AddOption
from accord.core.phases.evaluate import (
    EvaluateOption,
    EvaluatePhase,
    OptionEvaluated,
    OptionRevealed,
)
from accord.core.seats import Partner
from accord.core.view import seat_update

SECRET_A = "Mostly me, I think"
SECRET_B = "Risky for my sleep"


def evaluating() -> Session:
    """problem-solving.toml, past a brainstorm of three options."""
    s = Session(shipped("problem-solving"))
    s.start()
    s.do("partner_a", AddOption(text="A walk every Sunday", value_card="connection"))
    s.do("partner_b", AddOption(text="A weekly check-in", condition="Maybe, if short."))
    s.do("mediator", AddOption(text="A safe signal"))
    s.do("mediator", AdvancePhase())
    assert isinstance(s.state.phase, EvaluatePhase)
    return s


def phase(s: Session) -> EvaluatePhase:
    p = s.state.phase
    assert isinstance(p, EvaluatePhase)
    return p


def lens(option: str, verdict: str, benefits: str = "Both of us.", **more: Any) -> EvaluateOption:
    return msgspec.convert(
        {
            "type": "evaluate.answer",
            "option": option,
            "benefits": benefits,
            "risks": "Tiredness.",
            "consent": "We ask each time.",
            "verdict": verdict,
            **more,
        },
        EvaluateOption,
    )


def seen_by(s: Session, seat: Partner) -> str:
    """What `seat` was sent of the evaluation but its own answers, and its view
    without its own answers."""
    events = [
        msgspec.json.encode(e).decode()
        for e in s.log
        if seat in e.audience and not (isinstance(e, OptionEvaluated) and e.seat == seat)
    ]
    view = seat_update(s.state, seat)
    assert all(a["seat"] == seat for a in view["phase"]["answers"])
    view["phase"] = {**view["phase"], "answers": []}
    return "\n".join([*events, msgspec.json.encode(view).decode()])


def test_the_options_come_from_the_brainstorm_with_their_citations() -> None:
    s = evaluating()
    options = phase(s).options
    assert [o.id for o in options] == ["o1", "o2", "o3"]
    assert options[0].value_card == "connection"
    assert options[1].condition == "Maybe, if short."
    assert "evaluate.answer" in may(s.state, "partner_a")
    assert "evaluate.answer" not in may(s.state, "mediator")


def test_an_answer_is_private_until_both_answered_that_option() -> None:
    s = evaluating()
    (mine,) = s.do("partner_a", lens("o1", "acceptable", benefits=SECRET_A))
    assert isinstance(mine, OptionEvaluated)
    assert mine.audience == ("mediator", "partner_a")
    # partner_a changes its mind: still private, still one answer.
    s.do("partner_a", lens("o1", "acceptable_if", benefits=SECRET_A, condition="If at noon."))
    assert SECRET_A not in seen_by(s, "partner_b")
    assert "o1" not in {a["option"] for a in seat_update(s.state, "partner_b")["phase"]["answers"]}
    assert SECRET_A in msgspec.json.encode(seat_update(s.state, "mediator")).decode()
    s.do("partner_b", lens("o2", "acceptable", benefits=SECRET_B))
    assert SECRET_B not in seen_by(s, "partner_a")
    assert phase(s).revealed == ()
    events = s.do("partner_b", lens("o1", "acceptable"))
    reveal = events[-1]
    assert isinstance(reveal, OptionRevealed)
    assert reveal.audience == ("mediator", "partner_a", "partner_b")
    assert reveal.partner_a.benefits == SECRET_A
    assert reveal.partner_a.condition == "If at noon."
    assert reveal.outcome == "proposed_with_condition"
    assert SECRET_A in seen_by(s, "partner_b")
    assert SECRET_B not in seen_by(s, "partner_a")  # o2 is not revealed yet
    s.refuse("partner_a", lens("o1", "acceptable"), "option_already_revealed")
    assert fold(s.playbook, s.log) == s.state


def test_outcomes_per_option_and_the_end() -> None:
    s = evaluating()
    s.refuse("mediator", AdvancePhase(), "reason_required")
    for option, a, b in (
        ("o1", "acceptable", "acceptable"),
        ("o2", "acceptable_if", "acceptable"),
        ("o3", "acceptable", "not_acceptable"),
    ):
        extra = {"condition": "If short."} if a == "acceptable_if" else {}
        s.do("partner_a", lens(option, a, **extra))
        s.do("partner_b", lens(option, b))
    assert [r.outcome for r in phase(s).revealed] == [
        "proposed",
        "proposed_with_condition",
        "not_proposed",
    ]
    assert phase(s).answers == ()
    s.refuse("partner_a", lens("o1", "acceptable"), "evaluation_complete")
    assert "evaluate.answer" not in may(s.state, "partner_b")
    s.do("mediator", AdvancePhase())
    assert s.state.phase.__struct_config__.tag == "debrief"


def test_field_refusals() -> None:
    s = evaluating()
    s.refuse("partner_a", lens("o9", "acceptable"), "unknown_option")
    s.refuse("partner_a", lens("o1", "acceptable", benefits="  "), "lens_incomplete")
    s.refuse("partner_a", lens("o1", "acceptable_if"), "condition_required")
    s.refuse("partner_a", lens("o1", "acceptable", condition="If."), "condition_without_if")
    s.refuse("mediator", lens("o1", "acceptable"), "forbidden_for_seat")
