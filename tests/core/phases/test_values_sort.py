"""Values cards (phases/values_sort.py): a private sort, a reveal side by side.

Each rule and refusal through a real session (`coretest.Session`), and
invariant 9 from the other partner's side: before the reveal, partner_b's
view, prompt, `may` and hints are the same whatever partner_a did, and no
event about partner_a's sort is addressed to partner_b.
"""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from coretest import PROTOCOLS, Session, shipped

from accord.core.base import EVERYONE, AdvancePhase
from accord.core.check import explore
from accord.core.commands import CallTimeOut, EndTimeOut, parse_command
from accord.core.events import PhaseEnded, PhaseStarted
from accord.core.fold import fold
from accord.core.kinds import Transition
from accord.core.phases import values_sort
from accord.core.phases.values_deck import ACCORD_DECK
from accord.core.phases.values_sort import (
    AddCard,
    CardAdded,
    CardMoved,
    CardsSorted,
    Comparison,
    DoneSorting,
    MoveCard,
    NoteValue,
    RevealedCard,
    RevealValues,
    SortCards,
    SortingDone,
    Split,
    ValueNoted,
    ValuesRevealed,
    ValuesSortPhase,
    ValuesSortSpec,
)
from accord.core.playbook import PlaybookError, parse_playbook
from accord.core.seats import SEATS, Partner
from accord.core.view import seat_view

CARDS = """
[[phases.cards]]
id = "touch"
title = "Touch"
text = "Everyday touch matters to me."

[[phases.cards]]
id = "talk"
title = "Talk"
text = "Talking about it matters to me."

[[phases.cards]]
id = "time"
title = "Time"
text = "Time set aside matters to me."
"""


def source(keys: str = 'deck = "none"\nmax_own_cards = 2', cards: str = CARDS) -> str:
    """lobby → values_sort (three cards of its own by default) → debrief."""
    return (
        'name = "values"\ntitle = "Values"\n\n'
        '[[phases]]\ntype = "lobby"\n\n'
        f'[[phases]]\ntype = "values_sort"\n{keys}\n{cards}\n'
        '[[phases]]\ntype = "debrief"\n'
    )


def session(keys: str = 'deck = "none"\nmax_own_cards = 2', cards: str = CARDS) -> Session:
    s = Session(parse_playbook(source(keys, cards), "values.toml")[0])
    s.start()
    assert isinstance(s.state.phase, ValuesSortPhase)
    return s


def phase(s: Session) -> ValuesSortPhase:
    p = s.state.phase
    assert isinstance(p, ValuesSortPhase)
    return p


def sort_all(s: Session, partner: Partner, places: dict[str, Any]) -> None:
    s.do(partner, SortCards(cards=places))


def both_done(s: Session) -> None:
    sort_all(s, "partner_a", {"touch": "core", "talk": "core", "time": "negotiable"})
    s.do("partner_a", DoneSorting())
    sort_all(s, "partner_b", {"touch": "core", "talk": "not_important", "time": "negotiable"})
    s.do("partner_b", DoneSorting())


def view(s: Session, seat: str) -> dict[str, Any]:
    return seat_view(s.state, seat)  # type: ignore[arg-type]


# -- the deck and the playbook keys -----------------------------------------------------------


def test_the_shipped_deck_is_our_own_forty_plain_cards() -> None:
    ids = [card[0] for card in ACCORD_DECK]
    assert 30 <= len(ids) <= 50
    assert len(set(ids)) == len(ids)
    for card_id, title, text in ACCORD_DECK:
        msgspec.convert({"id": card_id, "title": title, "text": text}, values_sort.ValueCard)
        assert text.endswith(".") and len(text) <= 80, card_id
    needed = {"connection", "reassurance", "play", "novelty", "autonomy", "frequency"}
    assert needed | {"tenderness", "spontaneity", "exclusivity"} <= set(ids)


def test_the_defaults_deal_the_shipped_deck() -> None:
    spec = ValuesSortSpec()
    assert (spec.deck, spec.cards, spec.max_own_cards, spec.show_partner_done) == (
        "accord",
        (),
        3,
        False,
    )
    assert [c.id for c in values_sort.deck(spec)] == [c[0] for c in ACCORD_DECK]


def test_a_playbook_extends_the_deck() -> None:
    s = session(keys='deck = "accord"')
    ids = [c.id for c in phase(s).cards]
    assert len(ids) == len(ACCORD_DECK) + 3
    assert ids[-3:] == ["touch", "talk", "time"]


def test_a_playbook_replaces_the_deck_and_the_phase_started_event_keeps_it() -> None:
    s = session()
    started = next(e for e in s.log if isinstance(e, PhaseStarted) and e.index == 1)
    assert isinstance(started.phase, ValuesSortPhase)
    assert [c.id for c in started.phase.cards] == ["touch", "talk", "time"]
    assert started.audience == EVERYONE


@pytest.mark.parametrize(
    ("keys", "cards", "rule"),
    [
        ('deck = "none"', "", "empty_deck"),
        ('deck = "accord"', CARDS.replace('"talk"', '"connection"'), "duplicate_card"),
        ('deck = "none"', CARDS.replace('"talk"', '"touch"'), "duplicate_card"),
        ('deck = "none"', CARDS.replace('"talk"', '"Talk about it"'), "bad_value"),
        ('deck = "mine"', CARDS, "bad_value"),
        ("max_own_cards = 11", "", "bad_value"),
        ('deck = "none"\ncolour = "blue"', CARDS, "unknown_key"),
    ],
)
def test_bad_playbook_keys_are_reported_with_their_line(keys: str, cards: str, rule: str) -> None:
    with pytest.raises(PlaybookError) as info:
        parse_playbook(source(keys, cards), "values.toml")
    problems = info.value.problems
    assert [p.rule for p in problems] == [rule]
    assert problems[0].line > 5


def test_the_values_assessment_playbook_checks_and_reaches_every_phase() -> None:
    playbook = shipped("values-assessment")
    path = PROTOCOLS / "values-assessment.toml"
    lines = parse_playbook(path.read_text(encoding="utf-8"), str(path))[1]
    result = explore(playbook, lines, str(path))
    assert result.problems == []
    assert result.phases_reached == set(range(len(playbook.phases) + 1))
    # The abstraction counts, so the 40-card deck stays a small state space.
    assert 200 <= result.states <= 10_000
    assert any(isinstance(s.phase, ValuesSortPhase) and s.phase.revealed for s in result.reached)


# -- sorting ------------------------------------------------------------------------------------


def test_a_sort_is_private_to_its_author_and_the_mediator() -> None:
    s = session()
    events = s.do("partner_a", SortCards(cards={"touch": "core"}))
    assert events == [
        CardsSorted(seat="partner_a", cards={"touch": "core"}, audience=("mediator", "partner_a"))
    ]
    assert phase(s).sorts["partner_a"].places == {"touch": "core"}
    assert phase(s).sorts["partner_b"].places == {}


def test_several_cards_at_once_and_from_plain_data() -> None:
    s = session()
    s.do("partner_b", {"type": "values.sort", "cards": {"touch": "negotiable", "talk": "core"}})
    assert phase(s).sorts["partner_b"].places == {"touch": "negotiable", "talk": "core"}


def test_sorting_a_card_twice_is_refused_move_it_instead() -> None:
    s = session()
    s.do("partner_a", SortCards(cards={"touch": "core"}))
    message = s.refuse("partner_a", SortCards(cards={"touch": "negotiable"}), "already_sorted")
    assert message == (
        "partner_a may not sort a card 'touch' again: it is core (non-negotiable); move it"
    )
    # The same place again is refused too: a retry never records a second sort.
    s.refuse("partner_a", SortCards(cards={"touch": "core"}), "already_sorted")
    # Nothing of a batch with one sorted card is recorded.
    s.refuse("partner_a", SortCards(cards={"talk": "core", "touch": "core"}), "already_sorted")
    assert "talk" not in phase(s).sorts["partner_a"].places
    # The other partner's sort is theirs: the same card is free for partner_b.
    s.do("partner_b", SortCards(cards={"touch": "not_important"}))


def test_once_every_card_is_sorted_the_gate_refuses_any_sort() -> None:
    s = session()
    sort_all(s, "partner_a", {"touch": "core", "talk": "core", "time": "core"})
    message = s.refuse("partner_a", SortCards(cards={"nope": "core"}), "already_sorted")
    assert message.endswith("now: every card is sorted (move one instead)")
    assert "values.sort" not in view(s, "partner_a")["may"]


def test_an_unknown_card_and_a_bad_place_are_refused() -> None:
    s = session()
    message = s.refuse("partner_a", SortCards(cards={"kissing": "core"}), "unknown_card")
    assert message == "partner_a may not sort a card 'kissing': no such card"
    with pytest.raises(Exception, match="invalid_command"):
        parse_command({"type": "values.sort", "cards": {"touch": "maybe"}})
    with pytest.raises(Exception, match="invalid_command"):
        parse_command({"type": "values.sort", "cards": {}})


def test_moving_a_card_is_recorded_as_a_move() -> None:
    s = session()
    s.refuse("partner_a", MoveCard(card="touch", place="core"), "not_sorted")
    s.do("partner_a", SortCards(cards={"touch": "core"}))
    events = s.do("partner_a", MoveCard(card="touch", place="negotiable"))
    assert events == [
        CardMoved(
            seat="partner_a",
            card="touch",
            place="negotiable",
            was="core",
            audience=("mediator", "partner_a"),
        )
    ]
    assert phase(s).sorts["partner_a"].places == {"touch": "negotiable"}
    message = s.refuse("partner_a", MoveCard(card="touch", place="negotiable"), "same_place")
    assert message == "partner_a may not move a card 'touch': it is negotiable already"
    assert s.refuse("partner_a", MoveCard(card="talk", place="core"), "not_sorted").endswith(
        "'talk': it is not sorted yet"
    )
    s.refuse("partner_a", MoveCard(card="nope", place="core"), "unknown_card")
    # partner_b has sorted nothing: the gate says so whatever the card.
    assert s.refuse("partner_b", MoveCard(card="touch", place="core"), "not_sorted").endswith(
        "now: no card is sorted yet"
    )


# -- cards of one's own, and notes ----------------------------------------------------------------


def test_a_partner_adds_cards_of_their_own_and_sorts_them() -> None:
    s = session()
    events = s.do("partner_b", AddCard(title=" Morning walks ", text="Side by side."))
    card = values_sort.OwnCard(id="partner_b.1", title="Morning walks", text="Side by side.")
    assert events == [CardAdded(seat="partner_b", card=card, audience=("mediator", "partner_b"))]
    assert view(s, "partner_b")["hints"]["values.add"] == {
        "left": 1,
        "max_title": 60,
        "max_text": 200,
    }
    s.do("partner_b", AddCard(title="Music"))
    message = s.refuse("partner_b", AddCard(title="One more"), "too_many_cards")
    assert message.endswith("now: at most 2 of their own")
    # An own card must be sorted like any other before the partner is done.
    sort_all(s, "partner_b", {"touch": "core", "talk": "core", "time": "core"})
    s.refuse("partner_b", DoneSorting(), "not_all_sorted")
    s.do("partner_b", SortCards(cards={"partner_b.1": "core", "partner_b.2": "negotiable"}))
    s.do("partner_b", DoneSorting())


def test_another_partners_card_is_no_card_at_all() -> None:
    s = session()
    s.do("partner_b", AddCard(title="Music"))
    # The same refusal as for a card that does not exist: nothing tells
    # partner_a whether partner_b added one.
    message = s.refuse("partner_a", SortCards(cards={"partner_b.1": "core"}), "unknown_card")
    assert message == "partner_a may not sort a card 'partner_b.1': no such card"
    assert s.refuse("partner_a", SortCards(cards={"partner_b.7": "core"}), "unknown_card") == (
        message.replace("partner_b.1", "partner_b.7")
    )
    s.refuse("partner_a", NoteValue(card="partner_b.1", text="Hm."), "unknown_card")


def test_own_cards_are_bounded_and_need_a_title() -> None:
    s = session()
    s.refuse("partner_a", AddCard(title="   "), "empty_card")
    with pytest.raises(Exception, match="invalid_command"):
        parse_command({"type": "values.add", "title": "x" * 61})
    with pytest.raises(Exception, match="invalid_command"):
        parse_command({"type": "values.add", "title": "Walks", "text": "y" * 201})
    none = session(keys='deck = "none"\nmax_own_cards = 0')
    message = none.refuse("partner_a", AddCard(title="Walks"), "too_many_cards")
    assert message.endswith("in this playbook: it offers none")
    assert "values.add" not in view(none, "partner_a")["may"]


def test_a_note_reaches_the_mediator_only_and_stays_out_of_the_state() -> None:
    s = session()
    secret = "My first partner laughed at me."
    events = s.do("partner_a", NoteValue(card="touch", text=f"  {secret} "))
    assert events == [
        ValueNoted(seat="partner_a", card="touch", text=secret, audience=("mediator", "partner_a"))
    ]
    assert secret not in msgspec.json.encode(s.state).decode()
    s.refuse("partner_a", NoteValue(card="touch", text="  "), "empty_note")
    s.refuse("partner_a", NoteValue(card="kissing", text="Why."), "unknown_card")
    # Still private after both are done and the reveal.
    both_done(s)
    s.do("partner_a", NoteValue(card="talk", text="Church, as a child."))
    s.do("mediator", RevealValues())
    late = s.do("partner_b", NoteValue(card="talk", text="My parents never talked."))
    assert late[0].audience == ("mediator", "partner_b")


# -- done, and the reveal -----------------------------------------------------------------------


def test_done_only_when_every_card_is_sorted_and_then_the_sort_is_locked() -> None:
    s = session()
    s.do("partner_a", SortCards(cards={"touch": "core"}))
    message = s.refuse("partner_a", DoneSorting(), "not_all_sorted")
    assert message == "partner_a may not say they are done sorting yet: some cards are not sorted"
    s.do("partner_a", SortCards(cards={"talk": "core", "time": "negotiable"}))
    events = s.do("partner_a", DoneSorting())
    assert events == [SortingDone(seat="partner_a", audience=("mediator", "partner_a"))]
    for command in (
        SortCards(cards={"touch": "core"}),
        MoveCard(card="touch", place="negotiable"),
        AddCard(title="Walks"),
        DoneSorting(),
    ):
        assert s.refuse("partner_a", command, "values_done").endswith(
            "now: they said they are done, and their sort is locked"
        )
    offered = view(s, "partner_a")["may"]
    assert [k for k in offered if k.startswith("values.")] == ["values.note"]
    assert "timeout.call" in offered


def test_the_reveal_waits_for_both_and_shows_the_comparison_to_everyone() -> None:
    s = session()
    s.refuse("mediator", RevealValues(), "not_both_done")
    s.refuse("partner_a", RevealValues(), "forbidden_for_seat")
    s.do("partner_a", AddCard(title="Walks", text="Side by side."))
    s.do("partner_a", SortCards(cards={"partner_a.1": "core"}))
    sort_all(s, "partner_a", {"touch": "core", "talk": "core", "time": "negotiable"})
    s.do("partner_a", DoneSorting())
    message = s.refuse("mediator", RevealValues(), "not_both_done")
    assert (
        message
        == "mediator may not reveal the values cards yet: both partners must be done sorting"
    )
    sort_all(s, "partner_b", {"touch": "core", "talk": "not_important", "time": "negotiable"})
    s.do("partner_b", DoneSorting())
    assert "values.reveal" in view(s, "mediator")["may"]
    events = s.do("mediator", RevealValues())
    comparison = Comparison(
        shared_core=("touch",),
        core_and_not_important=(Split(card="talk", core_for="partner_a"),),
        negotiable_both=("time",),
        own=(
            RevealedCard(
                seat="partner_a",
                id="partner_a.1",
                title="Walks",
                text="Side by side.",
                place="core",
            ),
        ),
    )
    assert events == [ValuesRevealed(comparison=comparison)]
    assert events[0].audience == EVERYONE
    assert phase(s).revealed == comparison
    s.refuse("mediator", RevealValues(), "values_revealed")
    for seat in ("partner_a", "partner_b"):
        shown = view(s, seat)
        assert shown["phase"]["revealed"] == msgspec.to_builtins(comparison)
        assert shown["prompt"]["stage"] == "revealed"
        # After the reveal too, a partner's view holds only its own sort.
        assert list(shown["phase"]["sorts"]) == [seat]


def test_leaving_before_the_reveal_is_an_override() -> None:
    s = session()
    assert "phase.advance" in view(s, "mediator")["overrides"]
    message = s.refuse("mediator", AdvancePhase(), "reason_required")
    assert message.endswith("without a reason: leaving before the reveal is an override")
    both_done(s)
    s.refuse("mediator", AdvancePhase(reason=" "), "reason_required")
    s.do("mediator", RevealValues())
    assert "phase.advance" not in view(s, "mediator")["overrides"]
    events = s.do("mediator", AdvancePhase())
    assert events[0] == PhaseEnded(index=1, by="mediator")
    assert s.types(events)[1:] == ["phase.started", "debrief.started"]


def test_the_mediator_may_leave_early_with_a_reason() -> None:
    s = session()
    events = s.do("mediator", AdvancePhase(reason="They asked to stop."))
    assert events[0] == PhaseEnded(index=1, by="mediator", reason="They asked to stop.")


def test_nothing_is_sorted_during_a_time_out() -> None:
    s = session()
    s.do("partner_b", CallTimeOut())
    s.refuse("partner_a", SortCards(cards={"touch": "core"}), "in_time_out")
    s.do("mediator", EndTimeOut())
    s.refuse("partner_a", SortCards(cards={"touch": "core"}), "debrief_pending")


# -- privacy: what the other partner is told and shown (invariant 9) ---------------------------


def _told(s: Session, seat: str) -> dict[str, Any]:
    shown = view(s, seat)
    return {key: shown[key] for key in ("phase", "prompt", "may", "hints", "overrides")}


def test_partner_b_learns_nothing_of_partner_as_sort_before_the_reveal() -> None:
    s = session()
    fresh = _told(s, "partner_b")
    s.do("partner_a", AddCard(title="Secret garden", text="A place of our own."))
    s.do("partner_a", SortCards(cards={"touch": "core", "partner_a.1": "core"}))
    s.do("partner_a", MoveCard(card="touch", place="not_important"))
    s.do("partner_a", NoteValue(card="touch", text="An old hurt."))
    s.do("partner_a", SortCards(cards={"talk": "core", "time": "negotiable"}))
    s.do("partner_a", DoneSorting())
    assert _told(s, "partner_b") == fresh
    # No event about partner_a's sort was addressed to partner_b.
    private = (CardsSorted, CardMoved, CardAdded, ValueNoted, SortingDone)
    assert all("partner_b" not in e.audience for e in s.log if isinstance(e, private))
    text = msgspec.json.encode(view(s, "partner_b")).decode()
    for word in ("Secret garden", "partner_a.1", "An old hurt"):
        assert word not in text
    assert list(view(s, "partner_b")["phase"]["sorts"]) == ["partner_b"]
    # The mediator sees everything, live.
    mediator = view(s, "mediator")["phase"]["sorts"]
    assert mediator["partner_a"]["places"]["touch"] == "not_important"
    assert mediator["partner_a"]["done"] is True
    assert "sorted 0 of 3" in view(s, "mediator")["prompt"]["text"]


def test_a_partners_view_keeps_its_own_sort() -> None:
    s = session()
    s.do("partner_a", SortCards(cards={"touch": "core"}))
    s.do("partner_b", SortCards(cards={"talk": "negotiable"}))
    shown = view(s, "partner_a")["phase"]
    assert shown["sorts"] == {"partner_a": {"places": {"touch": "core"}, "own": (), "done": False}}
    assert "partner_done" not in shown
    assert view(s, "partner_a")["hints"]["values.sort"] == {
        "places": ["core", "negotiable", "not_important"],
        "unsorted": ["talk", "time"],
    }
    assert view(s, "partner_a")["prompt"]["text"] == (
        "Sort each card: core, negotiable or not important (2 to go)."
    )


def test_a_playbook_may_show_that_the_partner_is_done() -> None:
    s = session(keys='deck = "none"\nshow_partner_done = true')
    assert view(s, "partner_b")["phase"]["partner_done"] is False
    sort_all(s, "partner_a", {"touch": "core", "talk": "core", "time": "core"})
    events = s.do("partner_a", DoneSorting())
    assert events[0].audience == EVERYONE
    assert view(s, "partner_b")["phase"]["partner_done"] is True
    assert "partner_a" not in view(s, "partner_b")["phase"]["sorts"]
    sort_all(s, "partner_b", {"touch": "core", "talk": "core", "time": "core"})
    s.do("partner_b", DoneSorting())
    assert view(s, "partner_b")["prompt"]["text"] == (
        "You are both done. The mediator will reveal the cards soon."
    )


def test_prompts_for_each_seat() -> None:
    s = session()
    assert view(s, "mediator")["prompt"] == {
        "role": "mediator",
        "stage": "sorting",
        "text": "The partners sort their cards "
        "(partner_a has sorted 0 of 3; partner_b has sorted 0 of 3).",
    }
    sort_all(s, "partner_a", {"touch": "core", "talk": "core", "time": "core"})
    assert view(s, "partner_a")["prompt"]["text"] == (
        "Every card is sorted. Say you are done when you are happy with it."
    )
    s.do("partner_a", DoneSorting())
    assert view(s, "partner_a")["prompt"] == {
        "role": "partner",
        "stage": "done",
        "text": "Thank you. The mediator will reveal this when you are both done.",
    }
    assert "partner_a is done" in view(s, "mediator")["prompt"]["text"]
    sort_all(s, "partner_b", {"touch": "core", "talk": "core", "time": "core"})
    s.do("partner_b", DoneSorting())
    assert view(s, "mediator")["prompt"]["stage"] == "ready"
    # partner_a, not shown partner_b's "done", is told the same as before.
    assert view(s, "partner_a")["prompt"]["text"].startswith("Thank you.")
    s.do("mediator", RevealValues())
    assert {view(s, seat)["prompt"]["stage"] for seat in SEATS} == {"revealed"}


# -- the log, and the model checker's invariant ---------------------------------------------------


def test_the_log_folds_to_the_state() -> None:
    s = session()
    s.do("partner_a", AddCard(title="Walks"))
    s.do("partner_a", SortCards(cards={"partner_a.1": "negotiable"}))
    both_done(s)
    s.do("mediator", RevealValues())
    assert fold(s.playbook, s.log) == s.state


def test_the_checker_catches_a_sort_that_reaches_the_other_partner() -> None:
    s = session()
    before = s.state
    leaked = CardsSorted(seat="partner_a", cards={"touch": "core"}, audience=EVERYONE)
    t = Transition(
        before,
        before,
        "partner_a",
        SortCards(cards={"touch": "core"}),
        "values.sort",
        [leaked],
        "partner_a could values.sort here",
    )
    assert [rule for rule, _ in values_sort.TYPE.invariants(t)] == ["invariant_9"]
    done = SortingDone(seat="partner_a", audience=EVERYONE)
    t = Transition(before, before, "partner_a", DoneSorting(), "values.done", [done], "here")
    assert [rule for rule, _ in values_sort.TYPE.invariants(t)] == ["invariant_9"]
    early = ValuesRevealed(comparison=Comparison())
    t = Transition(before, before, "mediator", RevealValues(), "values.reveal", [early], "here")
    assert [rule for rule, _ in values_sort.TYPE.invariants(t)] == ["invariant_9"]
