"""The yes / maybe / no list (phases/mutual_reveal.py): private answers, done,
the reveal of what neither said no to, the lock, and a no shown only by its
author's consent."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from coretest import Session

from accord.core import check
from accord.core.base import EVERYONE, MEDIATOR_ONLY, Event
from accord.core.check import explore
from accord.core.commands import AdvancePhase, CallTimeOut, EndTimeOut, parse_command
from accord.core.decide import decide
from accord.core.errors import Rejected
from accord.core.fold import fold
from accord.core.permissions import may
from accord.core.phases import mutual_reveal
from accord.core.phases.mutual_reveal import (
    AnswerItems,
    DiscloseNo,
    FinishList,
    Given,
    MutualAnswered,
    MutualDisclosed,
    MutualFinished,
    MutualLocked,
    MutualRevealed,
    MutualRevealPhase,
    Reply,
    RevealList,
    SharedItem,
)
from accord.core.playbook import Playbook, PlaybookError, load_playbook, parse_playbook
from accord.core.seats import Actor, Partner
from accord.core.state import SessionState
from accord.core.view import seat_update, seat_view

ITEMS = {
    "check-in": "A weekly check-in about our intimacy",
    "plan-new": "Trying something new that we plan together",
    "signal": "A safe word or signal",
    "affection": "More physical affection outside sex",
}


def source(items: dict[str, str] = ITEMS, extra: str = "") -> str:
    """lobby → mutual_reveal → debrief; `extra` adds lines to the list's table."""
    rows = "\n".join(f'  {{ id = "{i}", text = "{t}" }},' for i, t in items.items())
    return (
        'name = "yes-maybe-no"\n'
        'title = "Yes, maybe, no"\n'
        "\n"
        "[[phases]]\n"
        'type = "lobby"\n'
        "\n"
        "[[phases]]\n"
        'type = "mutual_reveal"\n'
        f"items = [\n{rows}\n]\n"
        f"{extra}\n"
        "\n"
        "[[phases]]\n"
        'type = "debrief"\n'
    )


def playbook(extra: str = "") -> Playbook:
    return load_playbook(source(extra=extra), "yes-maybe-no.toml")


def started(extra: str = "") -> Session:
    s = Session(playbook(extra))
    s.start()
    assert isinstance(s.state.phase, MutualRevealPhase)
    return s


def answer(s: Session, seat: Actor, **answers: str) -> list[Any]:
    """Answers as `item="yes"` or `item="maybe:the condition"` (underscores for dashes)."""
    replies = []
    for item, value in answers.items():
        choice, _, condition = value.partition(":")
        replies.append({"item": item.replace("_", "-"), "answer": choice, "condition": condition})
    return s.do(seat, {"type": "mutual.answer", "answers": replies})


def phase(s: Session) -> MutualRevealPhase:
    p = s.state.phase
    assert isinstance(p, MutualRevealPhase)
    return p


#: partner_a says no to `signal`; partner_b says no to `affection`; both are open to the rest.
def both_answered(s: Session) -> None:
    answer(
        s,
        "partner_a",
        check_in="yes",
        plan_new="maybe:If we plan it a week ahead.",
        signal="no",
        affection="yes",
    )
    answer(s, "partner_b", check_in="yes", plan_new="yes", signal="yes", affection="no")


def revealed(extra: str = "") -> Session:
    s = started(extra)
    both_answered(s)
    s.do("partner_a", FinishList())
    s.do("partner_b", FinishList())
    s.do("mediator", RevealList())
    return s


def seen_by(s: Session, seat: Partner) -> str:
    """What `seat` was sent but its own answers (and the playbook, which lists
    every item): the events of its audience and its view now."""
    events = [
        msgspec.json.encode(e).decode()
        for e in s.log
        if seat in e.audience and not (isinstance(e, MutualAnswered) and e.seat == seat)
    ]
    view = seat_update(s.state, seat)
    assert all(a["seat"] == seat for a in view["phase"]["answers"])
    view["phase"] = {**view["phase"], "answers": []}
    return "\n".join([*events, msgspec.json.encode(view).decode()])


# -- the playbook --------------------------------------------------------------------------


def test_items_have_unique_ids_and_bounds() -> None:
    twice = source(items={"a": "One", "b": "Two"}).replace('id = "b"', 'id = "a"')
    with pytest.raises(PlaybookError) as info:
        parse_playbook(twice, "twice.toml")
    (problem,) = info.value.problems
    assert problem.rule == "duplicate_item"
    assert "['a']" in problem.message
    assert twice.splitlines()[problem.line - 1].startswith("items = [")
    bad_id = source(items={"Not An Id": "x"})
    with pytest.raises(PlaybookError) as info:
        parse_playbook(bad_id, "bad.toml")
    assert info.value.problems[0].rule == "bad_value"
    with pytest.raises(PlaybookError) as info:
        parse_playbook(source(items={}), "empty.toml")
    assert info.value.problems[0].rule == "bad_value"
    missing = source().replace(source().split("items = [")[1].split("]\n")[0], "")
    missing = missing.replace("items = []\n", "")
    with pytest.raises(PlaybookError) as info:
        parse_playbook(missing, "missing.toml")
    assert info.value.problems[0].rule == "missing_key"


def test_the_list_starts_with_nothing_answered() -> None:
    s = started()
    assert phase(s) == MutualRevealPhase()
    assert s.types()[-1] == "phase.started"
    view = seat_view(s.state, "partner_a")
    assert view["prompt"]["stage"] == "answering"
    assert "(4 left)" in view["prompt"]["text"]
    assert "Only what neither of you said no to is shown." in view["prompt"]["text"]
    assert set(view["may"]) >= {"mutual.answer", "timeout.call"}
    assert "mutual.done" not in view["may"]
    assert view["hints"]["mutual.answer"] == {"max_condition": mutual_reveal.MAX_CONDITION}


# -- answering -----------------------------------------------------------------------------


def test_an_answer_is_private_to_its_author_and_the_mediator() -> None:
    s = started()
    events = answer(s, "partner_a", check_in="maybe:  If the kids are asleep. ")
    assert events == [
        MutualAnswered(
            seat="partner_a",
            answers=(Reply(item="check-in", answer="maybe", condition="If the kids are asleep."),),
            audience=("mediator", "partner_a"),
        )
    ]


def test_an_answer_may_change_until_the_reveal() -> None:
    s = started()
    answer(s, "partner_a", check_in="no")
    answer(s, "partner_a", check_in="yes", signal="maybe:With a hand squeeze.")
    answer(s, "partner_a", signal="yes")
    mine = {a.item: (a.answer, a.condition) for a in phase(s).answers}
    assert mine == {"check-in": ("yes", ""), "signal": ("yes", "")}


def test_bad_answers_are_refused_on_their_fields() -> None:
    s = started()
    message = s.refuse(
        "partner_a",
        {"type": "mutual.answer", "answers": [{"item": "skydiving", "answer": "yes"}]},
        "unknown_list_item",
    )
    assert (
        message == "partner_a may not answer the list with 'skydiving': no such item on this list"
    )
    s.refuse(
        "partner_a",
        {
            "type": "mutual.answer",
            "answers": [{"item": "signal", "answer": "yes"}, {"item": "signal", "answer": "no"}],
        },
        "item_answered_twice",
    )
    s.refuse(
        "partner_a",
        {
            "type": "mutual.answer",
            "answers": [{"item": "signal", "answer": "no", "condition": "x"}],
        },
        "condition_without_maybe",
    )
    for bad in (
        {"answers": []},
        {"answers": [{"item": "signal", "answer": "perhaps"}]},
        {"answers": [{"item": "signal", "answer": "maybe", "condition": "x" * 301}]},
        {"answers": [{"item": "signal"}]},
        {"answers": [{"item": "signal", "answer": "yes", "extra": 1}]},
    ):
        with pytest.raises(Rejected) as info:
            parse_command({"type": "mutual.answer", **bad})
        assert info.value.code == "invalid_command"
    s.refuse(
        "mediator", AnswerItems(answers=(Reply(item="signal", answer="yes"),)), "forbidden_for_seat"
    )
    assert phase(s).answers == ()


def test_answering_outside_the_list_is_the_wrong_phase() -> None:
    s = Session(playbook())
    message = s.refuse(
        "partner_a", AnswerItems(answers=(Reply(item="signal", answer="yes"),)), "wrong_phase"
    )
    assert message == "partner_a may not answer the list in the lobby"


# -- done ----------------------------------------------------------------------------------


def test_done_needs_every_item_answered_and_is_said_once() -> None:
    s = started()
    answer(s, "partner_a", check_in="yes", signal="no")
    message = s.refuse("partner_a", FinishList(), "list_incomplete")
    assert (
        message == "partner_a may not say done with the list before answering every item (2 left)"
    )
    assert "mutual.done" not in may(s.state, "partner_a")
    answer(s, "partner_a", plan_new="yes", affection="yes")
    assert "mutual.done" in may(s.state, "partner_a")
    assert seat_view(s.state, "partner_a")["prompt"]["stage"] == "answered"
    events = s.do("partner_a", FinishList())
    assert events == [MutualFinished(seat="partner_a", audience=("mediator", "partner_a"))]
    s.refuse("partner_a", FinishList(), "list_already_done")
    # Done is not locked: an answer may still change until the reveal.
    answer(s, "partner_a", signal="maybe:Slowly.")
    assert phase(s).done == ("partner_a",)


def test_done_is_private_unless_the_playbook_shows_it() -> None:
    s = started()
    both_answered(s)
    before = seat_view(s.state, "partner_b")
    s.do("partner_a", FinishList())
    after = seat_view(s.state, "partner_b")
    assert before == after  # nothing in partner_b's view moved
    assert after["phase"]["done"] == []
    assert list(seat_view(s.state, "mediator")["phase"]["done"]) == ["partner_a"]
    s.do("partner_b", FinishList())
    assert seat_view(s.state, "partner_b")["phase"]["done"] == ["partner_b"]
    assert "partner is" not in seat_view(s.state, "partner_b")["prompt"]["text"]

    shown = started("show_partner_done = true")
    both_answered(shown)
    (event,) = shown.do("partner_a", FinishList())
    assert event.audience == EVERYONE
    b = seat_view(shown.state, "partner_b")
    assert list(b["phase"]["done"]) == ["partner_a"]
    a = seat_view(shown.state, "partner_a")
    assert a["prompt"]["stage"] == "done"
    assert a["prompt"]["text"].endswith("Your partner is still answering.")
    shown.do("partner_b", FinishList())
    assert seat_view(shown.state, "partner_a")["prompt"]["text"].endswith(
        "Your partner is done too."
    )


# -- the reveal ----------------------------------------------------------------------------


def test_the_reveal_waits_for_both_partners() -> None:
    s = started()
    both_answered(s)
    message = s.refuse("mediator", RevealList(), "list_not_done")
    assert message == "mediator may not reveal the list yet: partner_a and partner_b not done"
    s.do("partner_a", FinishList())
    s.refuse("mediator", RevealList(), "list_not_done")
    s.refuse("partner_a", RevealList(), "forbidden_for_seat")
    s.do("partner_b", FinishList())
    assert seat_view(s.state, "mediator")["prompt"]["stage"] == "ready"
    assert "mutual.reveal" in may(s.state, "mediator")


def test_the_reveal_shows_only_what_neither_said_no_to() -> None:
    s = started()
    both_answered(s)
    s.do("partner_a", FinishList())
    s.do("partner_b", FinishList())
    events = s.do("mediator", RevealList())
    shared = (
        SharedItem(
            item="check-in",
            text=ITEMS["check-in"],
            partner_a=Given(answer="yes"),
            partner_b=Given(answer="yes"),
        ),
        SharedItem(
            item="plan-new",
            text=ITEMS["plan-new"],
            partner_a=Given(answer="maybe", condition="If we plan it a week ahead."),
            partner_b=Given(answer="yes"),
        ),
    )
    assert events[0] == MutualRevealed(shared=shared)
    assert events[0].audience == EVERYONE
    locked = events[1]
    assert isinstance(locked, MutualLocked)
    assert locked.audience == MEDIATOR_ONLY
    assert [(a.seat, a.item, a.answer) for a in locked.answers] == [
        ("partner_a", "check-in", "yes"),
        ("partner_a", "plan-new", "maybe"),
        ("partner_a", "signal", "no"),
        ("partner_a", "affection", "yes"),
        ("partner_b", "check-in", "yes"),
        ("partner_b", "plan-new", "yes"),
        ("partner_b", "signal", "yes"),
        ("partner_b", "affection", "no"),
    ]
    assert phase(s).revealed and phase(s).shared == shared
    for p in ("partner_a", "partner_b"):
        view = seat_view(s.state, p)
        assert view["prompt"]["stage"] == "revealed"
        assert view["phase"]["shared"] == msgspec.to_builtins(shared)


def test_a_maybe_and_a_maybe_are_shared_with_both_conditions() -> None:
    s = started()
    answer(
        s,
        "partner_a",
        check_in="maybe:Sunday evenings.",
        plan_new="no",
        signal="no",
        affection="no",
    )
    answer(
        s,
        "partner_b",
        check_in="maybe:Not on work nights.",
        plan_new="no",
        signal="no",
        affection="no",
    )
    s.do("partner_a", FinishList())
    s.do("partner_b", FinishList())
    (shown, _) = s.do("mediator", RevealList())
    assert isinstance(shown, MutualRevealed)
    assert [(x.item, x.partner_a.condition, x.partner_b.condition) for x in shown.shared] == [
        ("check-in", "Sunday evenings.", "Not on work nights.")
    ]


def test_the_answers_lock_at_the_reveal() -> None:
    s = revealed()
    message = s.refuse(
        "partner_a", AnswerItems(answers=(Reply(item="signal", answer="yes"),)), "answers_locked"
    )
    assert message == "partner_a may not answer the list after the reveal: the answers are locked"
    s.refuse("partner_b", FinishList(), "answers_locked")
    s.refuse("mediator", RevealList(), "list_already_revealed")
    for p in ("partner_a", "partner_b"):
        assert "mutual.answer" not in may(s.state, p)


# -- disclosing a no -----------------------------------------------------------------------


def test_a_no_is_shown_only_when_its_author_discloses_it() -> None:
    s = started()
    both_answered(s)
    s.refuse("partner_a", DiscloseNo(item="signal"), "list_not_revealed")
    s.do("partner_a", FinishList())
    s.do("partner_b", FinishList())
    s.do("mediator", RevealList())
    assert seat_view(s.state, "partner_a")["hints"]["mutual.disclose"] == {"items": ["signal"]}
    assert seat_view(s.state, "partner_b")["hints"]["mutual.disclose"] == {"items": ["affection"]}
    assert "signal" not in seen_by(s, "partner_b")
    s.refuse("partner_b", DiscloseNo(item="signal"), "not_your_no")
    s.refuse("partner_a", DiscloseNo(item="check-in"), "not_your_no")
    s.refuse("partner_a", DiscloseNo(item="nope"), "unknown_list_item")
    events = s.do("partner_a", DiscloseNo(item="signal"))
    assert events == [MutualDisclosed(seat="partner_a", item="signal", text=ITEMS["signal"])]
    assert events[0].audience == EVERYONE
    assert "signal" in seen_by(s, "partner_b")
    # partner_b's own no stays private: nothing of it reached partner_a.
    assert "affection" not in seen_by(s, "partner_a")
    assert "mutual.disclose" not in may(s.state, "partner_a")
    message = s.refuse("partner_a", DiscloseNo(item="signal"), "nothing_to_disclose")
    assert message == "partner_a may not disclose a no now: you have no undisclosed no"


def test_disclosing_the_same_no_twice_is_refused() -> None:
    s = started()
    answer(s, "partner_a", check_in="no", plan_new="no", signal="yes", affection="yes")
    answer(s, "partner_b", check_in="yes", plan_new="yes", signal="yes", affection="yes")
    s.do("partner_a", FinishList())
    s.do("partner_b", FinishList())
    s.do("mediator", RevealList())
    s.do("partner_a", DiscloseNo(item="check-in"))
    s.refuse("partner_a", DiscloseNo(item="check-in"), "already_disclosed")
    assert seat_view(s.state, "partner_a")["hints"]["mutual.disclose"] == {"items": ["plan-new"]}
    s.refuse("partner_b", DiscloseNo(item="check-in"), "nothing_to_disclose")


# -- privacy -------------------------------------------------------------------------------


def test_before_the_reveal_the_other_partner_learns_nothing() -> None:
    """partner_b's view, hints, prompt and events are the same whatever partner_a does."""
    s = started()
    quiet = started()
    for session in (s, quiet):
        answer(session, "partner_b", check_in="yes")
    b_before = seat_view(s.state, "partner_b")
    answer(
        s, "partner_a", check_in="no", plan_new="maybe:«a's condition»", signal="no", affection="no"
    )
    s.do("partner_a", FinishList())
    assert seat_view(s.state, "partner_b") == b_before == seat_view(quiet.state, "partner_b")
    assert seat_update(s.state, "partner_b") == seat_update(quiet.state, "partner_b")
    assert [e for e in s.log if "partner_b" in e.audience] == [
        e for e in quiet.log if "partner_b" in e.audience
    ]
    assert "«a's condition»" not in seen_by(s, "partner_b")
    mediator = seat_view(s.state, "mediator")
    assert {a["seat"] for a in mediator["phase"]["answers"]} == {"partner_a", "partner_b"}
    assert list(mediator["phase"]["done"]) == ["partner_a"]


def test_after_the_reveal_an_undisclosed_no_leaves_no_trace() -> None:
    """partner_a's no to `signal` and its conditions on held-back items reach
    partner_b in no form: not the id, not the text, not a count."""
    s = started()
    answer(
        s, "partner_a", check_in="yes", plan_new="maybe:«held back»", signal="no", affection="yes"
    )
    answer(s, "partner_b", check_in="yes", plan_new="no", signal="yes", affection="yes")
    s.do("partner_a", FinishList())
    s.do("partner_b", FinishList())
    s.do("mediator", RevealList())
    seen = seen_by(s, "partner_b")
    assert "signal" not in seen and ITEMS["signal"] not in seen
    assert "«held back»" not in seen
    b = seat_view(s.state, "partner_b")
    assert [x["item"] for x in b["phase"]["shared"]] == ["check-in", "affection"]
    assert all(a["seat"] == "partner_b" for a in b["phase"]["answers"])
    assert "hidden" not in seen and "not shown" not in seen
    # The mediator sees all of it.
    assert "«held back»" in "".join(
        msgspec.json.encode(e).decode() for e in s.log if "mediator" in e.audience
    )


def test_the_mediator_sees_every_answer_live() -> None:
    s = started()
    answer(s, "partner_a", signal="no")
    answer(s, "partner_b", signal="maybe:If it is a word we pick.")
    view = seat_view(s.state, "mediator")
    assert [
        (a["seat"], a["item"], a["answer"], a["condition"]) for a in view["phase"]["answers"]
    ] == [
        ("partner_a", "signal", "no", ""),
        ("partner_b", "signal", "maybe", "If it is a word we pick."),
    ]
    assert view["prompt"]["text"] == "The partners answer privately (partner_a 1/4, partner_b 1/4)."


# -- leaving, time-outs, replay ------------------------------------------------------------


def test_leaving_before_the_reveal_is_an_override() -> None:
    s = started()
    assert "phase.advance" in seat_view(s.state, "mediator")["overrides"]
    message = s.refuse("mediator", AdvancePhase(), "reason_required")
    assert "leaving the list before the reveal is an override" in message
    s.do("mediator", AdvancePhase(reason="They asked to stop."))
    assert s.types()[-3:] == ["phase.ended", "phase.started", "debrief.started"]

    after = revealed()
    assert "phase.advance" not in seat_view(after.state, "mediator")["overrides"]
    after.do("mediator", AdvancePhase())
    assert after.state.index == 2


def test_a_time_out_stops_the_list_and_keeps_its_answers() -> None:
    s = started()
    answer(s, "partner_a", signal="no")
    s.do("partner_b", CallTimeOut())
    s.refuse("partner_a", AnswerItems(answers=(Reply(item="signal", answer="yes"),)), "in_time_out")
    s.do("mediator", EndTimeOut())
    s.do("partner_a", {"type": "debrief.answer", "rating": 3})
    s.do("partner_b", {"type": "debrief.answer", "rating": 3})
    assert [(a.item, a.answer) for a in phase(s).answers] == [("signal", "no")]
    answer(s, "partner_a", signal="yes")


def test_the_log_folds_back_to_the_state() -> None:
    s = revealed()
    s.do("partner_a", DiscloseNo(item="signal"))
    assert fold(s.playbook, s.log) == s.state


# -- the model checker ---------------------------------------------------------------------


def test_the_checker_explores_the_list_and_finds_it_sound() -> None:
    text = source()
    book, lines = parse_playbook(text, "list.toml")
    result = explore(book, lines, "list.toml")
    assert result.problems == []
    assert 1 in result.phases_reached and 2 in result.phases_reached
    assert any(isinstance(s.phase, MutualRevealPhase) and s.phase.disclosed for s in result.reached)
    assert result.states < 5000


def _leak_answers(state: SessionState, command: Any, actor: Actor, now: float) -> list[Event]:
    events = decide(state, command, actor, now)
    return [
        msgspec.structs.replace(e, audience=EVERYONE) if isinstance(e, MutualAnswered) else e
        for e in events
    ]


def _show_nos(state: SessionState, command: Any, actor: Actor, now: float) -> list[Event]:
    events = decide(state, command, actor, now)
    phase = state.phase
    if not any(isinstance(e, MutualRevealed) for e in events):
        return events
    assert isinstance(phase, MutualRevealPhase)
    everything = tuple(
        SharedItem(
            item=a.item, text="", partner_a=Given(answer=a.answer), partner_b=Given(answer=a.answer)
        )
        for a in phase.answers
    )
    return [
        MutualRevealed(shared=everything) if isinstance(e, MutualRevealed) else e for e in events
    ]


def _disclose_for_the_author(
    state: SessionState, command: Any, actor: Actor, now: float
) -> list[Event]:
    """The mediator's reveal also 'discloses' every no: nobody consented."""
    events = decide(state, command, actor, now)
    phase = state.phase
    if isinstance(command, RevealList) and isinstance(phase, MutualRevealPhase):
        nos = [a for a in phase.answers if a.answer == "no"]
        events += [MutualDisclosed(seat=a.seat, item=a.item, text="") for a in nos]
    return events


@pytest.mark.parametrize(
    ("mutant", "rule"),
    [
        pytest.param(_leak_answers, "invariant_9", id="answers-to-everyone"),
        pytest.param(_show_nos, "consent_to_disclose", id="reveal-shows-nos"),
        pytest.param(_disclose_for_the_author, "consent_to_disclose", id="disclosed-unasked"),
    ],
)
def test_the_checker_catches_a_leaking_list(
    monkeypatch: pytest.MonkeyPatch, mutant: Any, rule: str
) -> None:
    monkeypatch.setattr(check, "decide", mutant)
    book, lines = parse_playbook(source(), "mutant.toml")
    found = {p.rule for p in explore(book, lines, "mutant.toml").problems}
    assert rule in found, found


def test_a_partner_view_that_keeps_the_other_s_answers_is_caught(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mutual_reveal, "_view", lambda data, seat: None)
    book, lines = parse_playbook(source(), "mutant.toml")
    found = {p.rule for p in explore(book, lines, "mutant.toml").problems}
    assert "invariant_9" in found
