"""One source of permission: `may` lists a command type iff `decide` takes it.

For every state the checker's exploration reaches (`check.reachable`), in
every playbook of protocols/ and in the test playbooks of coretest.py, for
every seat and the system, and for every command type, `decide` is tried on
templates of that type with valid field values: the checker's own (every
part's `moves`, so a new phase type is tried by itself), and the ones below
that cover the cases where a field decides (`FIELD_CASES`). Then, in both
directions:

- `may` lists the type  ⇒  `decide` accepts at least one of its templates;
- `may` does not list it ⇒  `decide` refuses every template, with the code of
  the refusal `permissions.route` gives before any handler runs.

And where `may` lists the type, a template `decide` refuses is refused on a
field value only (`FIELD_CODES`).

Which commands depend on a field value, and how (so a page must still fill
the field in right; `seat_view`'s `overrides` and `hints` tell it):

- an override's `reason` (phase.advance out of turn, floor.grant to anyone
  but the first in the queue, floor.revoke, floor.reorder, paraphrase.waive,
  debrief.skip, session.end) → `reason_required` without one;
- admit's `seat` → `already_admitted` for a partner already in;
- floor.reorder's `queue` → `invalid_queue` unless it is the pending requests;
- statement's `text` → `statement_too_long` over the dialogue's limit;
- reflect's `step` → `wrong_step` unless the next one;
- minutes of timeout.start, .extend and .schedule, and schedule's `at` →
  `out_of_range` (`invalid_command` without `at` or `every_minutes`);
- timer.fire's `timer` (and the clock) → `unknown_timer`, `timer_not_due`;
  each pending timer is fired at its deadline.
- mutual.answer's `answers` → `unknown_list_item` for an item not on the
  list, `item_answered_twice`, `condition_without_maybe`; mutual.disclose's
  `item` → `unknown_list_item`, `not_your_no` (the sender's answer was not
  no), `already_disclosed`.
- comfort.rate's `scenario` and `value` → `unknown_scenario` for a scenario
  not on the scale, `off_scale` off the five points;
- measure.submit's `answers` → `unknown_item`, `incomplete_answers`,
  `not_an_anchor` (an answer off its item's values).
- names.set's `seat` and `name` → `not_your_name` for a partner naming the
  other, `name_empty` and `name_too_long` for what the name is once trimmed.
- values.sort's `cards` → `unknown_card` (not in the deck nor the sender's
  own), `already_sorted` for a card placed already (move it instead);
  values.move's `card` and `place` → `unknown_card`, `not_sorted`,
  `same_place`; values.add's `title` → `empty_card` once trimmed;
  values.note's `card` and `text` → `unknown_card`, `empty_note`.
- brainstorm.add's `text` → `option_empty` once trimmed, `option_repeated`;
  evaluate.answer's `option` → `unknown_option`, `option_already_revealed`,
  its lenses → `lens_incomplete`, its condition → `condition_required`,
  `condition_without_if`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Final

import pytest
from coretest import (
    CHAIRED_TWO_DIALOGUES,
    MUTUAL_REVEAL_PHASE,
    PROTOCOLS,
    STEPS,
    playbook_source,
    shipped,
)

from accord.core import permissions
from accord.core.base import Command, Event, Stop, Take
from accord.core.check import _moves, reachable
from accord.core.commands import (
    COMMAND_TYPES,
    AddNote,
    Admit,
    AdvancePhase,
    EndSession,
    ExtendTimeOut,
    FireTimer,
    GrantFloor,
    MakeStatement,
    Reflect,
    ReorderQueue,
    RevokeFloor,
    ScheduleTimeOut,
    SkipDebrief,
    StartTimeOut,
    WaiveParaphrase,
    command_type,
)
from accord.core.decide import decide
from accord.core.errors import Rejected
from accord.core.parts import COMMANDS
from accord.core.permissions import may, route
from accord.core.phases import dialogue
from accord.core.phases.brainstorm import AddOption
from accord.core.phases.comfort_scale import RateScenario
from accord.core.phases.evaluate import EvaluateOption
from accord.core.phases.measure import SubmitMeasure
from accord.core.phases.mutual_reveal import AnswerItems, DiscloseNo, FinishList, Reply, RevealList
from accord.core.phases.values_sort import (
    AddCard,
    DoneSorting,
    MoveCard,
    NoteValue,
    RevealValues,
    SortCards,
)
from accord.core.playbook import Playbook, load_playbook
from accord.core.seats import ACTORS, PARTNERS, Actor
from accord.core.session import SetName
from accord.core.state import SessionState, initial_state

PROTOCOL_FILES: Final = tuple(sorted(p.stem for p in PROTOCOLS.glob("*.toml")))
#: The clock of the exploration (check._NOW): the states' deadlines are set from it.
NOW: Final = 1_000_000.0
REASON: Final = "A reason."
#: The refusals a command `may` lists can still meet: each depends on a field value.
FIELD_CODES: Final = frozenset(
    {
        "reason_required",
        "option_empty",
        "option_repeated",
        "unknown_option",
        "lens_incomplete",
        "condition_required",
        "condition_without_if",
        "option_already_revealed",
        "already_admitted",
        "invalid_queue",
        "statement_too_long",
        "wrong_step",
        "out_of_range",
        "invalid_command",
        "unknown_timer",
        "timer_not_due",
        "unknown_list_item",
        "item_answered_twice",
        "condition_without_maybe",
        "not_your_no",
        "already_disclosed",
        "unknown_scenario",
        "off_scale",
        "unknown_item",
        "incomplete_answers",
        "not_an_anchor",
        "not_your_name",
        "name_empty",
        "name_too_long",
        "unknown_card",
        "already_sorted",
        "not_sorted",
        "same_place",
        "empty_card",
        "empty_note",
    }
)

Templates = Callable[[Playbook, SessionState], list[tuple[Command, float]]]


def _at_now(*commands: Command) -> list[tuple[Command, float]]:
    return [(c, NOW) for c in commands]


def _with_and_without_reason(make: Callable[..., Command]) -> Templates:
    return lambda playbook, state: _at_now(make(), make(reason=REASON))


def _queues() -> list[tuple[str, ...]]:
    a, b = PARTNERS
    return [(), (a,), (b,), (a, b), (b, a)]


def _minutes(playbook: Playbook) -> list[float]:
    t = playbook.time_out
    return [t.min_minutes, t.default_minutes, t.max_minutes, min(t.max_minutes + 1, 1440)]


def _timers(playbook: Playbook, state: SessionState) -> list[tuple[Command, float]]:
    fires: list[tuple[Command, float]] = [(FireTimer(timer=t.id), t.due) for t in state.timers]
    return [*fires, (FireTimer(timer="t999"), NOW)]


#: Templates for the cases where a field decides, and for the commands the
#: checker does not try (notes; timers, which it fires at their deadlines).
FIELD_CASES: Final[dict[str, Templates]] = {
    "admit": lambda playbook, state: _at_now(*(Admit(seat=p) for p in PARTNERS)),
    "phase.advance": _with_and_without_reason(AdvancePhase),
    "floor.grant": lambda playbook, state: _at_now(
        *(GrantFloor(seat=p, reason=r) for p in PARTNERS for r in ("", REASON))
    ),
    "floor.revoke": _with_and_without_reason(RevokeFloor),
    "floor.reorder": lambda playbook, state: _at_now(
        *(ReorderQueue(queue=q, reason=r) for q in _queues() for r in ("", REASON))  # type: ignore[arg-type]
    ),
    "statement": lambda playbook, state: _at_now(
        MakeStatement(text="I felt alone."), MakeStatement(text="x" * 4000)
    ),
    "paraphrase.waive": _with_and_without_reason(WaiveParaphrase),
    "reflect": lambda playbook, state: _at_now(
        *(Reflect(step=s, text="I hear you.") for s in (*STEPS, "advice"))
    ),
    "timeout.start": lambda playbook, state: _at_now(
        StartTimeOut(), *(StartTimeOut(minutes=m) for m in _minutes(playbook))
    ),
    "timeout.extend": lambda playbook, state: _at_now(
        *(ExtendTimeOut(minutes=m) for m in (1 / 60, playbook.time_out.min_minutes, 1440))
    ),
    "timeout.schedule": lambda playbook, state: _at_now(
        ScheduleTimeOut(at=NOW + 600),
        ScheduleTimeOut(every_minutes=playbook.time_out.max_minutes),
        ScheduleTimeOut(at=NOW - 1),
        ScheduleTimeOut(),
    ),
    "debrief.skip": _with_and_without_reason(SkipDebrief),
    "note": lambda playbook, state: _at_now(AddNote(text="Follow up.")),
    "session.end": _with_and_without_reason(EndSession),
    "timer.fire": _timers,
    "mutual.answer": lambda playbook, state: _at_now(
        AnswerItems(answers=(Reply(item="not-on-the-list", answer="yes"),))
    ),
    "mutual.done": lambda playbook, state: _at_now(FinishList()),
    "mutual.reveal": lambda playbook, state: _at_now(RevealList()),
    "mutual.disclose": lambda playbook, state: _at_now(DiscloseNo(item="not-on-the-list")),
    "comfort.rate": lambda playbook, state: _at_now(
        RateScenario(scenario="hold-hands-in-public", value=6),
        RateScenario(scenario="not-on-any-scale", value=1),
    ),
    "measure.submit": lambda playbook, state: _at_now(
        SubmitMeasure(answers={}), SubmitMeasure(answers={"close": 9, "nope": 0})
    ),
    "values.sort": lambda playbook, state: _at_now(
        SortCards(cards={"connection": "core"}), SortCards(cards={"not-a-card": "core"})
    ),
    "values.move": lambda playbook, state: _at_now(
        MoveCard(card="connection", place="negotiable"), MoveCard(card="nope", place="core")
    ),
    "values.add": lambda playbook, state: _at_now(AddCard(title="Walks"), AddCard(title=" ")),
    "values.note": lambda playbook, state: _at_now(
        NoteValue(card="connection", text="From home."), NoteValue(card="nope", text=" ")
    ),
    "values.done": lambda playbook, state: _at_now(DoneSorting()),
    "values.reveal": lambda playbook, state: _at_now(RevealValues()),
    "names.set": lambda playbook, state: _at_now(
        *(SetName(seat=p, name=n) for p in PARTNERS for n in ("Sam", " ", "x" * 41))
    ),
    "brainstorm.add": lambda playbook, state: _at_now(
        AddOption(text="An option nobody had yet"), AddOption(text=" ")
    ),
    "evaluate.answer": lambda playbook, state: _at_now(
        *(
            EvaluateOption(
                option=o, benefits="Us.", risks=r, consent="Asked.", verdict="acceptable"
            )
            for o in ("o1", "o9")
            for r in ("Time.", " ")
        )
    ),
}


@functools.cache
def _moves_by_kind(name: str) -> dict[str, list[Command]]:
    by_kind: dict[str, list[Command]] = {}
    for _, command, _ in _moves(playbook(name)):
        by_kind.setdefault(command_type(command), []).append(command)
    return by_kind


def templates(name: str, state: SessionState, kind: str) -> list[tuple[Command, float]]:
    """The templates of `kind` tried in `state` of the playbook `name`."""
    cases = FIELD_CASES.get(kind)
    extra = cases(playbook(name), state) if cases else []
    return [(c, NOW) for c in _moves_by_kind(name).get(kind, [])] + extra


def test_every_command_type_has_templates() -> None:
    for kind in COMMAND_TYPES:
        assert templates("test", initial_state(playbook("test")), kind), kind


@functools.cache
def playbook(name: str) -> Playbook:
    if name in PROTOCOL_FILES:
        return shipped(name)
    test_playbooks = {
        "chaired-two-dialogues": CHAIRED_TWO_DIALOGUES,
        "test": playbook_source(),
        # Two of the three steps, and a first speaker who is partner_b.
        "two-steps": playbook_source(
            dialogue='ends = "rounds"\nrounds = 1\nfirst_speaker = "partner_b"\n'
            'listener_steps = ["summary", "empathy"]'
        ),
        # A yes / maybe / no list after the dialogue.
        "mutual-reveal": playbook_source(extra_phases=MUTUAL_REVEAL_PHASE),
    }
    return load_playbook(test_playbooks[name], f"{name}.toml")


#: Every playbook of protocols/, and beyond them: a chaired floor with
#: questions, scheduled breaks and a dialogue without the gate
#: (CHAIRED_TWO_DIALOGUES); other listener steps and first speaker.
PLAYBOOKS: Final = (*PROTOCOL_FILES, "chaired-two-dialogues", "two-steps", "mutual-reveal")


def outcomes(
    name: str, state: SessionState, actor: Actor, kind: str
) -> Iterator[tuple[Command, str | None]]:
    """Each template of `kind`, with the code `decide` refuses it with (None: accepted)."""
    for command, now in templates(name, state, kind):
        assert command_type(command) == kind
        try:
            decide(state, command, actor, now)
        except Rejected as refusal:
            yield command, refusal.code
        else:
            yield command, None


def check(name: str) -> None:
    """The property on every reachable state of the playbook `name`."""
    book = playbook(name)
    states = reachable(book)
    assert len(states) > 100
    offered: set[str] = set()
    for state in states:
        for actor in ACTORS:
            listed = may(state, actor)
            accepted_kinds = []
            for kind in COMMAND_TYPES:
                results = list(outcomes(name, state, actor, kind))
                if kind in listed:
                    assert any(code is None for _, code in results), (kind, actor, state)
                    refused = {code for _, code in results if code is not None}
                    assert refused <= FIELD_CODES, (kind, actor, refused, state)
                    accepted_kinds.append(kind)
                else:
                    stop = route(state, actor, COMMANDS[kind])
                    assert isinstance(stop, Stop), (kind, actor, state)
                    assert {code for _, code in results} == {stop.code}, (kind, actor, state)
            assert listed == accepted_kinds
            offered.update(listed)
    # The exploration offers every command type of a session somewhere.
    expected = {"debrief.answer", "timer.fire"}
    if any(isinstance(spec, dialogue.DialogueSpec) for spec in book.phases):
        expected |= {"statement", "paraphrase"}
    assert expected <= offered


@pytest.mark.parametrize("name", PLAYBOOKS)
def test_may_lists_exactly_what_decide_accepts(name: str) -> None:
    check(name)


def test_the_property_is_not_vacuous(monkeypatch: pytest.MonkeyPatch) -> None:
    """A handler that refuses, whatever the fields, what the table allows is caught."""

    def never(state: SessionState, c: Command, actor: Actor, now: float) -> list[Event]:
        raise Rejected("statement_too_long", f"{actor} may not make a statement ever")

    for routes in permissions._ROUTES.values():
        take = routes[MakeStatement]
        if isinstance(take, Take) and take.handler is dialogue._statement:
            monkeypatch.setitem(routes, MakeStatement, take._replace(handler=never))
    with pytest.raises(AssertionError):
        check("test")
