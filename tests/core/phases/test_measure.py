"""Measures (core/measures.py, phases/measure.py): a questionnaire as data,
answered privately, scored by the core, the score for the mediator only."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from coretest import Session, shipped

from accord.core import measures, permissions
from accord.core.base import Event, Take, as_partner
from accord.core.check import explore
from accord.core.codec import decode_event, encode_event
from accord.core.commands import AdvancePhase, parse_command
from accord.core.errors import Rejected
from accord.core.events import PhaseEnded
from accord.core.kinds import SessionLog
from accord.core.measures import HOW_ARE_WE_DOING, Band, Definition, Item
from accord.core.permissions import may
from accord.core.phases import measure
from accord.core.phases.measure import MeasurePhase, MeasureScored, MeasureSubmitted, SubmitMeasure
from accord.core.playbook import Playbook, PlaybookError, parse_playbook
from accord.core.report import build
from accord.core.schema import LineMap
from accord.core.seats import PARTNERS, Actor
from accord.core.state import SessionState
from accord.core.view import seat_update, seat_view

#: A clinic's own instrument, inline: three items, one on a longer scale,
#: one reverse-scored, bands and a reliable-change threshold.
INLINE = """
[phases.definition]
id = "clinic-check"
title = "Clinic check"
anchors = ["Never", "Sometimes", "Often", "Always"]
start = 0
reliable_change = 2.5
source = "Our clinic, licensed"

[[phases.definition.items]]
id = "warm"
text = "We were warm to each other."

[[phases.definition.items]]
id = "tense"
text = "Things felt tense."
reverse = true

[[phases.definition.items]]
id = "overall"
text = "Overall, how happy were you?"
anchors = ["Very unhappy", "Unhappy", "Neutral", "Happy", "Very happy", "Perfect"]

[[phases.definition.bands]]
min = 0
max = 5
label = "Low"

[[phases.definition.bands]]
min = 6
max = 11
label = "High"
"""


def source(keys: str = "", definition: str = "") -> str:
    return (
        'name = "measured"\ntitle = "Measured"\n\n'
        '[[phases]]\ntype = "lobby"\n\n'
        '[[phases]]\ntype = "measure"\n'
        f"{keys}\n{definition}\n\n"
        '[[phases]]\ntype = "debrief"\n'
    )


def book(keys: str = "", definition: str = "") -> Playbook:
    return parse_playbook(source(keys, definition), "measured.toml")[0]


def answering(keys: str = "", definition: str = "") -> Session:
    s = Session(book(keys, definition))
    s.start()
    assert isinstance(s.state.phase, MeasurePhase)
    return s


def all_answers(d: Definition, value: int = 0) -> dict[str, int]:
    return {item.id: value for item in d.items}


def wire(view: dict[str, Any]) -> dict[str, Any]:
    decoded: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(view))
    return decoded


# -- the definition and its scoring ---------------------------------------------------------


def test_accords_own_check_is_short_and_scores_a_sum_with_reverse_items() -> None:
    d = HOW_ARE_WE_DOING
    assert 5 <= len(d.items) <= 8
    assert len(d.anchors) == 5
    assert measures.score_range(d) == (0, 4 * len(d.items))
    reversed_items = {i.id for i in d.items if i.reverse}
    assert reversed_items == {"on-guard", "let-down"}
    best = {i.id: 0 if i.reverse else 4 for i in d.items}
    assert measures.score(d, best) == (28, "Doing well", 0, 28)
    worst = {i.id: 4 if i.reverse else 0 for i in d.items}
    assert measures.score(d, worst) == (0, "Struggling", 0, 28)
    assert measures.score(d, all_answers(d, 2)).score == 14
    assert measures.problems(d) == []


def test_an_item_may_have_its_own_anchors() -> None:
    d = book(definition=INLINE).phases[1].definition  # type: ignore[union-attr]
    assert d is not None
    assert measures.item_values(d, d.items[0]) == range(0, 4)
    assert measures.item_values(d, d.items[2]) == range(0, 6)
    assert measures.score_range(d) == (0, 11)
    # warm 3, tense 0 (reversed: 3), overall 5
    assert measures.score(d, {"warm": 3, "tense": 0, "overall": 5}) == (11, "High", 0, 11)


@pytest.mark.parametrize(
    ("bands", "rule"),
    [
        ((Band(min=0, max=3, label="A"), Band(min=5, max=8, label="B")), "bad_bands"),
        ((Band(min=0, max=3, label="A"), Band(min=3, max=8, label="B")), "bad_bands"),
        ((Band(min=0, max=3, label="A"),), "bad_bands"),
        ((Band(min=1, max=8, label="A"),), "bad_bands"),
    ],
)
def test_bands_cover_the_range_in_order(bands: tuple[Band, ...], rule: str) -> None:
    items = (Item(id="a", text="A?"), Item(id="b", text="B?"))
    d = Definition(id="x", title="X", anchors=("0", "1", "2", "3", "4"), items=items, bands=bands)
    assert [r for r, _ in measures.problems(d)] == [rule]


@pytest.mark.parametrize(
    ("keys", "definition", "rule"),
    [
        ('measure = "no-such-measure"', "", "unknown_measure"),
        ('measure = "accord-how-are-we-doing"', INLINE, "measure_twice"),
        ("", INLINE.replace('id = "tense"', 'id = "warm"'), "duplicate_item"),
        ("", INLINE.replace("max = 11", "max = 12"), "bad_bands"),
        ("", INLINE.replace('anchors = ["Very', 'answers = ["Very'), "unknown_key"),
        (
            "",
            INLINE.replace('"Very unhappy", "Unhappy", "Neutral", "Happy", "Very happy", ', ""),
            "bad_anchors",
        ),
        ("", INLINE.replace("start = 0", "start = 0\nscoring = 'mean'"), "bad_value"),
    ],
)
def test_a_bad_measure_does_not_load(keys: str, definition: str, rule: str) -> None:
    with pytest.raises(PlaybookError) as info:
        parse_playbook(source(keys, definition), "measured.toml")
    assert rule in [p.rule for p in info.value.problems]


def test_a_measure_is_shipped_by_name_or_by_default() -> None:
    for keys in ('measure = "accord-how-are-we-doing"', ""):
        s = answering(keys)
        assert s.state.phase.definition == HOW_ARE_WE_DOING


# -- submitting ----------------------------------------------------------------------------


def test_a_submission_is_scored_for_the_mediator_and_acknowledged_to_its_author() -> None:
    s = answering(definition=INLINE)
    answers = {"warm": 2, "tense": 1, "overall": 4}
    events = s.do("partner_a", SubmitMeasure(answers=answers))
    assert events == [
        MeasureSubmitted(
            seat="partner_a", measure="clinic-check", audience=("mediator", "partner_a")
        ),
        MeasureScored(
            seat="partner_a",
            measure="clinic-check",
            answers=answers,
            score=2 + 2 + 4,
            band="High",
            low=0,
            high=11,
            reliable_change=2.5,
            audience=("mediator",),
        ),
    ]
    for e in events:
        assert decode_event(encode_event(e)) == e


def test_a_score_without_bands_has_an_empty_band() -> None:
    s = answering(definition=INLINE.split("[[phases.definition.bands]]")[0])
    events = s.do("partner_b", SubmitMeasure(answers={"warm": 0, "tense": 3, "overall": 0}))
    scored = events[1]
    assert isinstance(scored, MeasureScored)
    assert (scored.score, scored.band) == (0, "")


def test_each_partner_submits_once() -> None:
    s = answering()
    s.do("partner_a", SubmitMeasure(answers=all_answers(HOW_ARE_WE_DOING)))
    message = s.refuse(
        "partner_a", SubmitMeasure(answers=all_answers(HOW_ARE_WE_DOING)), "already_submitted"
    )
    assert message == "partner_a may not submit the questionnaire twice"
    assert "measure.submit" not in may(s.state, "partner_a")
    assert "measure.submit" in may(s.state, "partner_b")


def test_every_item_is_answered_on_its_own_scale() -> None:
    s = answering(definition=INLINE)
    message = s.refuse(
        "partner_a", SubmitMeasure(answers={"warm": 1, "overall": 1}), "incomplete_answers"
    )
    assert message == "partner_a may not submit the questionnaire without answers to ['tense']"
    message = s.refuse(
        "partner_a",
        SubmitMeasure(answers={"warm": 1, "tense": 1, "overall": 1, "extra": 1}),
        "unknown_item",
    )
    assert "['extra']" in message
    message = s.refuse(
        "partner_a", SubmitMeasure(answers={"warm": 4, "tense": 1, "overall": 5}), "not_an_anchor"
    )
    assert message.endswith("with 4 for 'warm': its answers run from 0 to 3")
    s.refuse(
        "partner_a", SubmitMeasure(answers={"warm": -1, "tense": 1, "overall": 1}), "not_an_anchor"
    )
    # 5 is on the longer scale of 'overall'
    s.do("partner_a", SubmitMeasure(answers={"warm": 3, "tense": 1, "overall": 5}))


def test_answers_that_are_not_numbers_are_an_invalid_command() -> None:
    for answers in ({"warm": "often"}, [1, 2, 3], {"warm": 10**6}):
        with pytest.raises(Rejected) as info:
            parse_command({"type": "measure.submit", "answers": answers})
        assert info.value.code == "invalid_command"


def test_the_mediator_does_not_answer() -> None:
    s = answering()
    s.refuse("mediator", SubmitMeasure(answers={}), "forbidden_for_seat")


def test_advancing_before_both_submitted_is_an_override() -> None:
    s = answering()
    s.do("partner_b", SubmitMeasure(answers=all_answers(HOW_ARE_WE_DOING)))
    assert "phase.advance" in seat_view(s.state, "mediator")["overrides"]
    s.refuse("mediator", AdvancePhase(), "reason_required")
    s.do("partner_a", SubmitMeasure(answers=all_answers(HOW_ARE_WE_DOING)))
    assert "phase.advance" not in seat_view(s.state, "mediator")["overrides"]
    assert s.do("mediator", AdvancePhase())[0] == PhaseEnded(index=1, by="mediator")


# -- privacy (invariant 9) --------------------------------------------------------------------


def test_a_partner_learns_only_that_they_submitted() -> None:
    s = answering()
    s.do("partner_b", SubmitMeasure(answers=all_answers(HOW_ARE_WE_DOING, 3)))
    for view in map(wire, (seat_view(s.state, "partner_a"), seat_update(s.state, "partner_a"))):
        assert view["phase"]["submitted"] == []
        assert view["prompt"]["stage"] == "answering"
    b = wire(seat_view(s.state, "partner_b"))
    assert b["phase"]["submitted"] == ["partner_b"]
    assert "Only the mediator sees them" in b["prompt"]["text"]
    assert wire(seat_view(s.state, "mediator"))["phase"]["submitted"] == ["partner_b"]
    for e in s.log:
        if isinstance(e, MeasureScored):
            assert e.audience == ("mediator",)
        if isinstance(e, MeasureSubmitted):
            assert "partner_a" not in e.audience


def test_a_partners_view_of_the_questionnaire_has_no_scoring_details() -> None:
    # Enough to answer; not enough to work out a score or its band (the mediator's).
    s = answering()
    d = wire(seat_update(s.state, "partner_a"))["phase"]["definition"]
    assert set(d) == {"id", "title", "instructions", "anchors", "start", "scoring", "items"}
    assert all(set(item) == {"id", "text", "anchors"} for item in d["items"])
    full = wire(seat_update(s.state, "mediator"))["phase"]["definition"]
    assert full["bands"] and full["reliable_change"] == 5
    assert any(item["reverse"] for item in full["items"])


def test_the_playbook_may_show_that_the_other_submitted() -> None:
    s = answering("show_partner_done = true")
    (submitted, scored) = s.do("partner_b", SubmitMeasure(answers=all_answers(HOW_ARE_WE_DOING)))
    assert set(submitted.audience) == {"mediator", "partner_a", "partner_b"}
    assert scored.audience == ("mediator",)
    assert wire(seat_view(s.state, "partner_a"))["phase"]["submitted"] == ["partner_b"]


# -- the model checker --------------------------------------------------------------------------


def test_the_checker_explores_an_inline_measure() -> None:
    playbook, lines = parse_playbook(source(definition=INLINE), "measured.toml")
    result = explore(playbook, lines, "measured.toml")
    assert result.problems == []
    assert {0, 1, 2} <= result.phases_reached


def test_the_checker_catches_a_score_that_reaches_a_partner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def leaky(state: SessionState, c: SubmitMeasure, actor: Actor, now: float) -> list[Event]:
        events = measure._submit(state, c, actor, now)
        scored = events[1]
        assert isinstance(scored, MeasureScored)
        return [
            events[0],
            msgspec.structs.replace(scored, audience=("mediator", as_partner(actor))),
        ]

    for routes in permissions._ROUTES.values():
        take = routes[SubmitMeasure]
        if isinstance(take, Take) and take.handler is measure._submit:
            monkeypatch.setitem(routes, SubmitMeasure, take._replace(handler=leaky))
    result = explore(book(), LineMap(source()), "measured.toml")
    assert "invariant_9" in {p.rule for p in result.problems}


def test_the_shipped_follow_up_ends_with_a_measure_before_its_debrief() -> None:
    playbook = shipped("follow-up")
    kinds = [p.__struct_config__.tag for p in playbook.phases]
    assert kinds == ["lobby", "comfort_scale", "measure", "debrief"]
    assert PARTNERS == ("partner_a", "partner_b")


def test_a_measure_where_higher_is_worse_reports_a_rise_as_deterioration() -> None:
    # A clinic's instrument says so in its definition (`higher_is_better`); the
    # score event carries it, so the case report judges change without the playbook.
    def scored(score: int, higher_is_better: bool) -> MeasureScored:
        return MeasureScored(
            seat="partner_a",
            measure="clinic-distress",
            answers={},
            score=score,
            band="",
            low=0,
            high=40,
            reliable_change=5.0,
            higher_is_better=higher_is_better,
            audience=("mediator",),
        )

    for higher_is_better, verdict in (
        (False, "reliable deterioration"),
        (True, "reliable improvement"),
    ):
        sessions = [
            SessionLog(
                str(i),
                "",
                "follow-up",
                float(i),
                "ended",
                None,
                [(0.0, scored(s, higher_is_better))],
            )
            for i, s in enumerate((10, 20))
        ]
        (measure,) = build(sessions, "mediator")["measures"]
        assert measure["higher_is_better"] is higher_is_better
        assert [c["verdict"] for c in measure["changes"]] == [verdict]
        # A partner is never sent a score: nothing of it in their report.
        assert build(sessions, "partner_a")["measures"] == []
