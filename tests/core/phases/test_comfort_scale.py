"""The comfort scale (phases/comfort_scale.py): private five-point ratings per
scenario, final once a partner is done, tracked by scenario id."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from coretest import Session, shipped

from accord.core import permissions
from accord.core.base import Event, Take, as_partner
from accord.core.check import explore
from accord.core.codec import decode_event, encode_event
from accord.core.commands import AdvancePhase, CallTimeOut, parse_command
from accord.core.errors import Rejected
from accord.core.events import PhaseEnded
from accord.core.permissions import may
from accord.core.phases import comfort_scale
from accord.core.phases.comfort_scale import (
    SCALE,
    SCENARIOS,
    ComfortScalePhase,
    FinishRating,
    RateScenario,
    RatingFinished,
    ScenarioRated,
)
from accord.core.phases.measure import SubmitMeasure
from accord.core.playbook import Playbook, PlaybookError, parse_playbook
from accord.core.schema import LineMap
from accord.core.seats import PARTNERS, Actor
from accord.core.state import SessionState
from accord.core.view import seat_update, seat_view


def source(keys: str = "") -> str:
    return (
        'name = "comfort"\ntitle = "Comfort"\n\n'
        '[[phases]]\ntype = "lobby"\n\n'
        '[[phases]]\ntype = "comfort_scale"\n'
        f"{keys}\n\n"
        '[[phases]]\ntype = "debrief"\n'
    )


TWO = 'scenarios = [{ id = "walks", text = "Evening walks" }, { id = "hold-hands-in-public" }]'


def book(keys: str = TWO) -> Playbook:
    return parse_playbook(source(keys), "comfort.toml")[0]


def rating(keys: str = TWO) -> Session:
    s = Session(book(keys))
    s.start()
    assert isinstance(s.state.phase, ComfortScalePhase)
    return s


def phase(s: Session) -> ComfortScalePhase:
    assert isinstance(s.state.phase, ComfortScalePhase)
    return s.state.phase


def wire(view: dict[str, object]) -> dict[str, Any]:
    """A seat's view as the client decodes it (tuples are arrays)."""
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(view))
    return decoded


def rate_all(s: Session, partner: str, value: int = 2) -> None:
    for scenario in phase(s).scenarios:
        s.do(partner, RateScenario(scenario=scenario.id, value=value))


# -- the scale and the scenarios -----------------------------------------------------------


def test_five_labelled_points_from_fully_comfortable_to_not_comfortable() -> None:
    assert len(SCALE) == 5
    assert SCALE[0] == "Fully comfortable"
    assert SCALE[-1] == "Uncertain / not comfortable"
    assert phase(rating()).scale == SCALE


def test_scenarios_named_by_id_take_accords_text_and_inline_ones_their_own() -> None:
    scenarios = phase(rating()).scenarios
    assert [(x.id, x.text) for x in scenarios] == [
        ("walks", "Evening walks"),
        ("hold-hands-in-public", "Holding hands in public"),
    ]


def test_by_default_every_one_of_accords_scenarios() -> None:
    s = rating(keys="")
    assert phase(s).scenarios == SCENARIOS
    assert len({x.id for x in SCENARIOS}) == len(SCENARIOS) >= 8


@pytest.mark.parametrize(
    ("keys", "rule"),
    [
        ('scenarios = [{ id = "no-such-one" }]', "unknown_scenario"),
        (
            'scenarios = [{ id = "walks", text = "A" }, { id = "walks", text = "B" }]',
            "duplicate_scenario",
        ),
        ("scenarios = []", "bad_value"),
        ('scenarios = [{ id = "Bad Id", text = "x" }]', "bad_value"),
    ],
)
def test_a_bad_scenario_list_does_not_load(keys: str, rule: str) -> None:
    with pytest.raises(PlaybookError) as info:
        parse_playbook(source(keys), "comfort.toml")
    assert [p.rule for p in info.value.problems] == [rule]
    assert info.value.problems[0].line > 1


# -- rating ---------------------------------------------------------------------------------


def test_a_rating_reaches_only_its_author_and_the_mediator() -> None:
    s = rating()
    events = s.do("partner_a", RateScenario(scenario="walks", value=4))
    assert events == [
        ScenarioRated(
            seat="partner_a", scenario="walks", value=4, audience=("mediator", "partner_a")
        )
    ]
    assert phase(s).rated == {"partner_a": ("walks",)}  # nobody else named, not even empty


def test_the_rating_event_carries_the_scenario_and_the_value_through_the_log() -> None:
    s = rating()
    (event,) = s.do("partner_b", RateScenario(scenario="hold-hands-in-public", value=5))
    stored = decode_event(encode_event(event))
    assert stored == event
    assert msgspec.to_builtins(stored)["scenario"] == "hold-hands-in-public"
    assert msgspec.to_builtins(stored)["value"] == 5


def test_a_rating_may_change_until_done() -> None:
    s = rating()
    s.do("partner_a", RateScenario(scenario="walks", value=4))
    s.do("partner_a", RateScenario(scenario="walks", value=1))
    assert phase(s).rated["partner_a"] == ("walks",)
    s.refuse("partner_a", FinishRating(), "not_all_rated")
    s.do("partner_a", RateScenario(scenario="hold-hands-in-public", value=3))
    s.do("partner_a", FinishRating())
    message = s.refuse("partner_a", RateScenario(scenario="walks", value=2), "ratings_final")
    assert message == "partner_a may not rate a scenario now: you said you are done"
    s.refuse("partner_a", FinishRating(), "ratings_final")
    # the other partner still rates
    s.do("partner_b", RateScenario(scenario="walks", value=2))


@pytest.mark.parametrize("value", [0, 6, -1, 100])
def test_a_rating_off_the_scale_is_refused_with_its_own_code(value: int) -> None:
    s = rating()
    message = s.refuse("partner_a", RateScenario(scenario="walks", value=value), "off_scale")
    assert message == (
        f"partner_a may not rate a scenario at {value}: the scale runs from 1 "
        "(fully comfortable) to 5 (uncertain / not comfortable)"
    )


def test_a_rating_that_is_not_a_number_is_an_invalid_command() -> None:
    with pytest.raises(Rejected) as info:
        parse_command({"type": "comfort.rate", "scenario": "walks", "value": "very"})
    assert info.value.code == "invalid_command"


def test_an_unknown_scenario_is_refused() -> None:
    s = rating()
    message = s.refuse(
        "partner_b", RateScenario(scenario="kiss-hello-goodbye", value=1), "unknown_scenario"
    )
    assert "'kiss-hello-goodbye': it is not on this scale" in message


def test_only_partners_rate() -> None:
    s = rating()
    s.refuse("mediator", RateScenario(scenario="walks", value=1), "forbidden_for_seat")
    s.refuse("mediator", FinishRating(), "forbidden_for_seat")


def test_rating_outside_the_phase_is_the_wrong_phase() -> None:
    s = Session(book())
    s.refuse("partner_a", RateScenario(scenario="walks", value=1), "wrong_phase")


def test_done_is_offered_only_with_every_scenario_rated() -> None:
    s = rating()
    assert "comfort.rate" in may(s.state, "partner_a")
    assert "comfort.done" not in may(s.state, "partner_a")
    rate_all(s, "partner_a")
    assert "comfort.done" in may(s.state, "partner_a")
    s.do("partner_a", FinishRating())
    assert {"comfort.rate", "comfort.done"}.isdisjoint(may(s.state, "partner_a"))
    assert "timeout.call" in may(s.state, "partner_a")


# -- advancing ------------------------------------------------------------------------------


def test_advancing_before_both_are_done_is_an_override_with_a_reason() -> None:
    s = rating()
    rate_all(s, "partner_a")
    s.do("partner_a", FinishRating())
    assert "phase.advance" in seat_view(s.state, "mediator")["overrides"]
    message = s.refuse("mediator", AdvancePhase(), "reason_required")
    assert "before both are done" in message
    events = s.do("mediator", AdvancePhase(reason="We ran out of time."))
    assert events[0] == PhaseEnded(index=1, by="mediator", reason="We ran out of time.")


def test_advancing_when_both_are_done_needs_no_reason() -> None:
    s = rating()
    for p in PARTNERS:
        rate_all(s, p)
        s.do(p, FinishRating())
    assert "phase.advance" not in seat_view(s.state, "mediator")["overrides"]
    assert seat_view(s.state, "mediator")["prompt"]["stage"] == "done"
    s.do("mediator", AdvancePhase())
    assert s.state.index == 2


def test_a_time_out_during_the_scale_keeps_the_ratings() -> None:
    s = rating()
    s.do("partner_a", RateScenario(scenario="walks", value=3))
    s.do("partner_b", CallTimeOut())
    s.refuse("partner_a", RateScenario(scenario="walks", value=2), "in_time_out")
    assert phase(s).rated["partner_a"] == ("walks",)


# -- privacy (invariant 9) --------------------------------------------------------------------


def test_a_partner_sees_nothing_of_the_others_progress() -> None:
    s = rating()
    s.do("partner_a", RateScenario(scenario="walks", value=5))
    rate_all(s, "partner_b")
    s.do("partner_b", FinishRating())
    for view in map(wire, (seat_view(s.state, "partner_a"), seat_update(s.state, "partner_a"))):
        assert view["phase"]["rated"] == {"partner_a": ["walks"]}
        assert view["phase"]["done"] == []
        assert "partner_b" not in view["prompt"]["text"]
        assert "too" not in view["prompt"]["text"]
    b_done = [e for e in s.log if isinstance(e, RatingFinished)]
    assert [e.audience for e in b_done] == [("mediator", "partner_b")]
    mediator = wire(seat_view(s.state, "mediator"))
    assert mediator["phase"]["rated"] == {
        "partner_a": ["walks"],
        "partner_b": ["walks", "hold-hands-in-public"],
    }
    assert mediator["phase"]["done"] == ["partner_b"]


def test_the_playbook_may_show_that_the_other_is_done_but_never_the_ratings() -> None:
    s = rating(TWO + "\nshow_partner_done = true")
    rate_all(s, "partner_b", value=5)
    (done,) = s.do("partner_b", FinishRating())
    assert set(done.audience) == {"mediator", "partner_a", "partner_b"}
    ratings = [e for e in s.log if isinstance(e, ScenarioRated)]
    assert all(e.audience == ("mediator", "partner_b") for e in ratings)
    view = wire(seat_view(s.state, "partner_a"))
    assert view["phase"]["done"] == ["partner_b"]
    assert view["phase"]["rated"] == {}
    rate_all(s, "partner_a")
    s.do("partner_a", FinishRating())
    assert "Your partner is done too." in seat_view(s.state, "partner_a")["prompt"]["text"]


def test_a_shared_scale_shows_every_rating_to_both() -> None:
    s = rating(TWO + "\nshare = true")
    (event,) = s.do("partner_a", RateScenario(scenario="walks", value=1))
    assert set(event.audience) == {"mediator", "partner_a", "partner_b"}
    assert wire(seat_view(s.state, "partner_b"))["phase"]["rated"]["partner_a"] == ["walks"]
    assert "your partner and the mediator" in seat_view(s.state, "partner_b")["prompt"]["text"]


def test_the_partner_prompt_says_who_sees_the_ratings() -> None:
    s = rating()
    text = seat_view(s.state, "partner_a")["prompt"]["text"]
    assert "Only the mediator sees your ratings." in text
    assert "2 left" in text


# -- the model checker --------------------------------------------------------------------------


def test_the_checker_explores_the_scale_by_counts_and_finds_a_way_out() -> None:
    playbook, lines = parse_playbook(source(TWO), "comfort.toml")
    result = explore(playbook, lines, "comfort.toml")
    assert result.problems == []
    assert 1 in result.phases_reached and 2 in result.phases_reached
    rated = {
        tuple(len(s.phase.rated.get(p, ())) for p in PARTNERS)
        for s in result.reached
        if isinstance(s.phase, ComfortScalePhase)
    }
    assert rated == {(a, b) for a in range(3) for b in range(3)}


def test_the_checker_catches_a_rating_that_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Invariant 9 is not vacuous: a handler that tells the other partner is caught."""

    def leaky(state: SessionState, c: RateScenario, actor: Actor, now: float) -> list[Event]:
        return [ScenarioRated(seat=as_partner(actor), scenario=c.scenario, value=c.value)]

    for routes in permissions._ROUTES.values():
        take = routes[RateScenario]
        if isinstance(take, Take) and take.handler is comfort_scale._rate:
            monkeypatch.setitem(routes, RateScenario, take._replace(handler=leaky))
    playbook = book()
    result = explore(playbook, LineMap(source(TWO)), "comfort.toml")
    assert "invariant_9" in {p.rule for p in result.problems}


def test_the_shipped_follow_up_rates_accords_scenarios() -> None:
    playbook = shipped("follow-up")
    specs = [p for p in playbook.phases if isinstance(p, comfort_scale.ComfortScaleSpec)]
    assert specs and all(x.id in {y.id for y in SCENARIOS} for x in specs[0].scenarios)


def test_a_partners_view_is_the_same_whatever_the_other_rates_or_answers() -> None:
    """Invariant 9 on every reachable state of the follow-up playbook (comfort
    scale and questionnaire): whatever the other partner rates, finishes or
    submits, a partner's view (state, prompt, may, hints, overrides) does not
    change, and none of the events reaches them."""
    from accord.core.check import _moves, reachable
    from accord.core.decide import decide
    from accord.core.evolve import evolve
    from accord.core.seats import other

    playbook = shipped("follow-up")
    private = [
        (actor, command)
        for actor, command, _ in _moves(playbook)
        if actor in PARTNERS and isinstance(command, RateScenario | FinishRating | SubmitMeasure)
    ]
    tried = 0
    for state in reachable(playbook):
        for actor, command in private:
            try:
                events = decide(state, command, actor, 1_000_000.0)
            except Rejected:
                continue
            after = state
            for e in events:
                after = evolve(after, e)
            watcher = other(as_partner(actor))
            assert seat_view(after, watcher) == seat_view(state, watcher), (command, state)
            assert all("mediator" in e.audience and watcher not in e.audience for e in events)
            tried += 1
    assert tried > 100
