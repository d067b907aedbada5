"""The brainstorm (phases/brainstorm.py): options from every seat, shown as
they are added, no judgement of any kind, bounds, and anonymous authors
revealed only at the end."""

from __future__ import annotations

import msgspec
import pytest
from coretest import Session

from accord.core.check import explore
from accord.core.commands import AdvancePhase
from accord.core.permissions import may
from accord.core.phases.brainstorm import (
    AddOption,
    AuthorsRevealed,
    BrainstormPhase,
    OptionAdded,
    OptionAuthored,
)
from accord.core.phases.evaluate import EvaluateOption, EvaluatePhase
from accord.core.playbook import Playbook, PlaybookError, load_playbook, parse_playbook
from accord.core.seats import Partner
from accord.core.view import seat_update


def source(extra: str = "") -> str:
    return (
        'name = "ps"\ntitle = "Problem solving"\n\n'
        '[[phases]]\ntype = "lobby"\n\n'
        f'[[phases]]\ntype = "brainstorm"\n{extra}\n\n'
        '[[phases]]\ntype = "evaluate"\n\n'
        '[[phases]]\ntype = "debrief"\n'
    )


def playbook(extra: str = "") -> Playbook:
    return load_playbook(source(extra), "ps.toml")


def started(extra: str = "") -> Session:
    s = Session(playbook(extra))
    s.start()
    assert isinstance(s.state.phase, BrainstormPhase)
    return s


def phase(s: Session) -> BrainstormPhase:
    p = s.state.phase
    assert isinstance(p, BrainstormPhase)
    return p


JUDGE = EvaluateOption(
    option="o1", benefits="Us.", risks="None.", consent="Asked.", verdict="not_acceptable"
)


def test_every_seat_adds_options_that_everyone_sees() -> None:
    s = started()
    (added,) = s.do(
        "partner_a", AddOption(text="  A walk   every Sunday ", value_card="connection")
    )
    assert isinstance(added, OptionAdded)
    assert added.audience == ("mediator", "partner_a", "partner_b")
    assert added.option.text == "A walk every Sunday"
    assert added.option.author == "partner_a"
    assert added.option.value_card == "connection"
    s.do("partner_b", AddOption(text="A weekly check-in", condition="Maybe, if it is short."))
    s.do("mediator", AddOption(text="A safe signal"))
    assert [o.id for o in phase(s).options] == ["o1", "o2", "o3"]
    assert [o.author for o in phase(s).options] == ["partner_a", "partner_b", "mediator"]
    for seat in ("partner_a", "partner_b", "mediator"):
        view = seat_update(s.state, seat)
        assert view["phase"]["options"][0]["text"] == "A walk every Sunday"
        assert "brainstorm.add" in may(s.state, seat)


def test_a_judgement_is_refused_with_when_judging_comes() -> None:
    s = started()
    s.do("partner_a", AddOption(text="A walk every Sunday"))
    for seat in ("partner_a", "partner_b"):
        message = s.refuse(seat, JUDGE, "no_judgement_in_brainstorm")
        assert "judging comes in the evaluation" in message
        assert "evaluate.answer" not in may(s.state, seat)
    # The mediator may never evaluate: forbidden for the seat, as anywhere.
    s.refuse("mediator", JUDGE, "forbidden_for_seat")


def test_bounds_empty_repeated_and_too_many() -> None:
    s = started("max_options = 2")
    s.refuse("partner_a", AddOption(text="   "), "option_empty")
    s.do("partner_a", AddOption(text="A walk"))
    s.refuse("partner_b", AddOption(text="a  WALK"), "option_repeated")
    s.do("partner_b", AddOption(text="A talk"))
    message = s.refuse("mediator", AddOption(text="A third"), "too_many_options")
    assert "2" in message
    assert "brainstorm.add" not in may(s.state, "partner_a")
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"type": "brainstorm.add", "text": "x" * 301}, AddOption)
    with pytest.raises(PlaybookError):
        parse_playbook(source("max_options = 0"), "zero.toml")
    with pytest.raises(PlaybookError):
        parse_playbook(source("judge = true"), "unknown.toml")


def test_ending_with_no_option_is_an_override() -> None:
    s = started()
    s.refuse("mediator", AdvancePhase(), "reason_required")
    s.do("mediator", AdvancePhase(reason="Nothing came up today."))
    assert isinstance(s.state.phase, EvaluatePhase)
    assert s.state.phase.options == ()


def seen_by(s: Session, seat: Partner) -> str:
    """The brainstorm's events `seat` was sent, and its view of the phase."""
    events = [
        msgspec.json.encode(e).decode()
        for e in s.log
        if seat in e.audience and isinstance(e, (OptionAdded, OptionAuthored, AuthorsRevealed))
    ]
    view = seat_update(s.state, seat)["phase"]
    return "\n".join([*events, msgspec.json.encode(view).decode()])


def test_anonymous_authors_reach_nobody_else_before_the_end() -> None:
    s = started("anonymous = true")
    events = s.do("partner_a", AddOption(text="A walk every Sunday"))
    assert [type(e) for e in events] == [OptionAdded, OptionAuthored]
    assert events[0].option.author == ""
    assert events[1].audience == ("mediator", "partner_a")
    s.do("partner_b", AddOption(text="A weekly check-in"))
    s.do("mediator", AddOption(text="A safe signal"))
    assert '"seat":"partner_a"' not in seen_by(s, "partner_b")
    assert '"seat":"partner_b"' not in seen_by(s, "partner_a")
    assert '"seat":"mediator"' not in seen_by(s, "partner_a")
    assert '"author":"partner' not in seen_by(s, "partner_a")
    mediator = seat_update(s.state, "mediator")["phase"]["authors"]
    assert [a["seat"] for a in mediator] == ["partner_a", "partner_b", "mediator"]
    ended = s.do("mediator", AdvancePhase())
    reveal = next(e for e in ended if isinstance(e, AuthorsRevealed))
    assert reveal.audience == ("mediator", "partner_a", "partner_b")
    assert [a.seat for a in reveal.authors] == ["partner_a", "partner_b", "mediator"]
    evaluate = s.state.phase
    assert isinstance(evaluate, EvaluatePhase)
    assert [o.author for o in evaluate.options] == ["partner_a", "partner_b", "mediator"]


def test_the_model_checker_finds_no_broken_rule() -> None:
    for extra in ("", "anonymous = true"):
        book, lines = parse_playbook(source(extra), "ps.toml")
        result = explore(book, lines, "ps.toml")
        assert result.problems == [], result.problems
        assert {1, 2, 3} <= set(result.phases_reached)
        assert any(
            isinstance(s.phase, EvaluatePhase) and len(s.phase.options) == 3 for s in result.reached
        )
