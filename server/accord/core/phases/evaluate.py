"""Evaluate each option through a fairness lens, privately, then side by side
(DESIGN.md, "Phases and overlays"; issue 12).

Source: the seed article (domain/seed-article.txt): after brainstorming
without judging feasibility, the partners "evaluate each option through a
fairness lens: who benefits, who bears risk, and how it would be carried out
with consent". For each option of the brainstorm just before, each partner
fills the three short texts of the lens and marks it *acceptable*,
*acceptable if …* (with a condition) or *not acceptable*
(`evaluate.answer`). An answer may change until the other partner has
answered that option too; the second answer reveals it (`evaluate.revealed`,
to everyone): both answers side by side, and the outcome. Options both find
acceptable become proposed clauses; an "acceptable if" makes a proposed
clause with its condition, for discussion; a "not acceptable" proposes
nothing. (The agreement phase that takes the proposed clauses comes later.)

Privacy (invariant 9): until an option is revealed a partner's answer to it
reaches only that partner and the mediator (`evaluate.evaluated` is private
to its author), and the phase state keeps it in `answers`, which a partner's
view strips of the other's. Whether the other has answered an option is not
told either: the reveal is the first a partner hears of it. The reveal moves
the option's answers out of `answers` into `revealed`.

The options come from the brainstorm phase that ended just before (its state,
with the authors, now the brainstorm is over): `start` gets the session state
as the previous phase left it. This module defines the option (`Option`) and
its commands; the brainstorm refuses them ("no judgement in a brainstorm").
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import msgspec
from msgspec.structs import replace

from accord.core.base import (
    EVERYONE,
    PARTNER,
    AdvancePhase,
    Command,
    Event,
    PhaseEnded,
    PhaseState,
    Spec,
    State,
    Stop,
    Take,
    Title,
    as_partner,
    current,
    private_to,
    refuse,
    require_reason,
)
from accord.core.kinds import Broken, Move, PhaseType, Prompt, Transition
from accord.core.seats import PARTNERS, Actor, Partner, Seat, other

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState

Verdict = Literal["acceptable", "acceptable_if", "not_acceptable"]
Outcome = Literal["proposed", "proposed_with_condition", "not_proposed"]
Stage = Literal["evaluating", "evaluated"]
MAX_LENS: Final = 300
LensText = Annotated[str, msgspec.Meta(max_length=MAX_LENS)]
OptionId = Annotated[str, msgspec.Meta(pattern=r"^o[0-9]{1,3}$", max_length=4)]


class Option(State, frozen=True):
    """One option of a brainstorm: its id ("o1", …), its words, what it cites
    (a value card's id, a "maybe, if …" of the assessment: free and bounded),
    and its author ("" while a brainstorm keeps authors anonymous)."""

    id: str
    text: str
    author: str = ""
    value_card: str = ""
    condition: str = ""


class EvaluateSpec(Spec, tag="evaluate", tag_field="type", frozen=True):
    """Each option of the brainstorm before, through the fairness lens."""

    title: Title = "Evaluate the options"


class Evaluation(State, frozen=True):
    """One partner's answer to one option: the three lenses and the verdict."""

    benefits: str
    risks: str
    consent: str
    verdict: Verdict
    condition: str = ""


class Answer(State, frozen=True):
    seat: Partner
    option: str
    evaluation: Evaluation


class Revealed(State, frozen=True):
    """An option both partners answered, side by side, and its outcome."""

    option: str
    partner_a: Evaluation
    partner_b: Evaluation
    outcome: Outcome


class EvaluatePhase(PhaseState, tag="evaluate", frozen=True):
    """The options, the answers not yet revealed (the view strips the other
    partner's), and the revealed options with their outcomes."""

    options: tuple[Option, ...] = ()
    answers: tuple[Answer, ...] = ()
    revealed: tuple[Revealed, ...] = ()


# -- commands ------------------------------------------------------------------------------


class EvaluateOption(Command, tag="evaluate.answer", frozen=True):
    """One option through the lens, with a verdict; it replaces the partner's
    earlier answer to that option until the option is revealed."""

    senders = PARTNER
    words = "evaluate an option"
    option: OptionId
    benefits: LensText
    risks: LensText
    consent: LensText
    verdict: Verdict
    condition: LensText = ""


# -- events --------------------------------------------------------------------------------


class OptionEvaluated(Event, tag="evaluate.evaluated", frozen=True):
    """A partner's answer to an option: its author and the mediator only."""

    seat: Partner
    option: str
    evaluation: Evaluation


class OptionRevealed(Event, tag="evaluate.revealed", frozen=True):
    """Both answers to an option, side by side, and its outcome: to everyone,
    when the second partner answers it."""

    option: str
    partner_a: Evaluation
    partner_b: Evaluation
    outcome: Outcome


EvaluateEvent = OptionEvaluated | OptionRevealed

CODES: Final = {
    "unknown_option": "The brainstorm has no option with this id.",
    "lens_incomplete": "Each lens (who benefits, who bears risk, with what consent) needs words.",
    "condition_without_if": "Only 'acceptable if' carries a condition.",
    "condition_required": "An 'acceptable if' needs its condition.",
    "option_already_revealed": "Both partners answered this option: its answers are shown.",
    "evaluation_complete": "Every option has been answered by both partners.",
}

# -- reading the state ---------------------------------------------------------------------


def _phase(state: SessionState) -> EvaluatePhase:
    return current(state, EvaluatePhase)


def _revealed_ids(phase: EvaluatePhase) -> set[str]:
    return {r.option for r in phase.revealed}


def _open(phase: EvaluatePhase) -> list[str]:
    """The options not yet revealed, in order."""
    shown = _revealed_ids(phase)
    return [o.id for o in phase.options if o.id not in shown]


def _own(phase: EvaluatePhase, seat: Partner) -> dict[str, Answer]:
    return {a.option: a for a in phase.answers if a.seat == seat}


def _stage(phase: EvaluatePhase) -> Stage:
    return "evaluating" if _open(phase) else "evaluated"


def outcome(a: Evaluation, b: Evaluation) -> Outcome:
    """Both acceptable: a proposed clause; an "acceptable if" (and no "not
    acceptable"): a proposed clause with its condition; else nothing."""
    verdicts = {a.verdict, b.verdict}
    if "not_acceptable" in verdicts:
        return "not_proposed"
    return "proposed" if verdicts == {"acceptable"} else "proposed_with_condition"


# -- the table and the gate ----------------------------------------------------------------

Role = Literal["partner", "mediator"]
TABLE: Final[dict[Role, dict[Stage, frozenset[type[Command]]]]] = {
    "partner": {"evaluating": frozenset({EvaluateOption}), "evaluated": frozenset()},
    "mediator": {
        "evaluating": frozenset({AdvancePhase}),
        "evaluated": frozenset({AdvancePhase}),
    },
}
_COMPLETE: Final = Stop("evaluation_complete", "now: every option is answered and shown")


def _gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    stage = _stage(_phase(state))
    role: Role = "mediator" if actor == "mediator" else "partner"
    return None if kind in TABLE[role][stage] else _COMPLETE


# -- handlers ------------------------------------------------------------------------------


def _evaluation(c: EvaluateOption, actor: Actor) -> Evaluation:
    lens = (c.benefits.strip(), c.risks.strip(), c.consent.strip())
    if not all(lens):
        raise refuse(
            "lens_incomplete",
            actor,
            c,
            "without all three lenses: who benefits, who bears risk, how with consent",
        )
    condition = c.condition.strip()
    if c.verdict == "acceptable_if" and not condition:
        raise refuse("condition_required", actor, c, "as 'acceptable if' without the condition")
    if c.verdict != "acceptable_if" and condition:
        raise refuse("condition_without_if", actor, c, "with a condition: only 'acceptable if'")
    return Evaluation(
        benefits=lens[0], risks=lens[1], consent=lens[2], verdict=c.verdict, condition=condition
    )


def _answer(state: SessionState, c: EvaluateOption, actor: Actor, now: float) -> list[Event]:
    seat = as_partner(actor)
    phase = _phase(state)
    if c.option not in {o.id for o in phase.options}:
        raise refuse("unknown_option", actor, c, f"'{c.option}': no such option")
    if c.option in _revealed_ids(phase):
        raise refuse("option_already_revealed", actor, c, f"'{c.option}' again: it is shown")
    mine = _evaluation(c, actor)
    events: list[Event] = [
        OptionEvaluated(seat=seat, option=c.option, evaluation=mine, audience=private_to(seat))
    ]
    theirs = _own(phase, other(seat)).get(c.option)
    if theirs is not None:
        both = {seat: mine, other(seat): theirs.evaluation}
        a, b = both["partner_a"], both["partner_b"]
        events.append(
            OptionRevealed(option=c.option, partner_a=a, partner_b=b, outcome=outcome(a, b))
        )
    return events


def _advance_is_override(state: SessionState) -> bool:
    return bool(_open(_phase(state)))


def _advance(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> list[Event]:
    reason = c.reason.strip()
    if _advance_is_override(state):
        reason = require_reason(c.reason, actor, c, "leaving before every option is evaluated")
    return [PhaseEnded(index=state.index, by=actor, reason=reason)]


# -- evolvers ------------------------------------------------------------------------------


def _evaluated(state: SessionState, e: OptionEvaluated) -> SessionState:
    phase = _phase(state)
    kept = [a for a in phase.answers if not (a.seat == e.seat and a.option == e.option)]
    new = Answer(seat=e.seat, option=e.option, evaluation=e.evaluation)
    return replace(state, phase=replace(phase, answers=(*kept, new)))


def _revealed(state: SessionState, e: OptionRevealed) -> SessionState:
    phase = _phase(state)
    shown = Revealed(
        option=e.option, partner_a=e.partner_a, partner_b=e.partner_b, outcome=e.outcome
    )
    left = tuple(a for a in phase.answers if a.option != e.option)
    return replace(state, phase=replace(phase, answers=left, revealed=(*phase.revealed, shown)))


# -- the page ------------------------------------------------------------------------------


def _start(spec: EvaluateSpec, state: SessionState | None) -> tuple[EvaluatePhase, list[Event]]:
    """The options of the brainstorm that just ended (none after any other
    phase: the mediator then moves on), with their authors."""
    from accord.core.phases.brainstorm import options_of  # brainstorm imports this module

    return EvaluatePhase(options=options_of(None if state is None else state.phase)), []


def _describe(phase: EvaluatePhase) -> str:
    return "while the partners evaluate the options" if _open(phase) else "after the evaluation"


def _prompt(state: SessionState, seat: Seat) -> Prompt:
    phase = _phase(state)
    left = _open(phase)
    if seat == "mediator":
        if not left:
            return Prompt("mediator", "evaluated", "Every option is shown: discuss, then move on.")
        return Prompt(
            "mediator",
            "evaluating",
            f"The partners evaluate privately; {len(phase.revealed)} of "
            f"{len(phase.options)} options shown so far.",
        )
    if not left:
        return Prompt("partner", "evaluated", "Every option is shown side by side.")
    todo = [o for o in left if o not in _own(phase, as_partner(seat))]
    return Prompt(
        "partner",
        "evaluating",
        f"For each option: who benefits, who bears risk, how with consent; then your verdict "
        f"({len(todo)} to answer). Your answers stay private until you have both answered it.",
    )


def _view(data: dict[str, Any], seat: Seat) -> None:
    """A partner sees only its own answers before an option's reveal."""
    if seat == "mediator":
        return
    part = data["phase"]
    part["answers"] = [a for a in part["answers"] if a["seat"] == seat]


def _hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    """The options still to answer (open ones), and the bound of each text."""
    return {"options": _open(_phase(state)), "max_text": MAX_LENS}


# -- the model checker ---------------------------------------------------------------------


def _moves(playbook: Playbook, now: float) -> list[Move]:
    """Each verdict on each option the brainstorm's three moves can add."""
    if not any(isinstance(s, EvaluateSpec) for s in playbook.phases):
        return []
    lens = {"benefits": "Both of us.", "risks": "Tiredness.", "consent": "We ask first."}
    templates = [
        EvaluateOption(
            option=o, verdict=v, condition="If we plan it." if v == "acceptable_if" else "", **lens
        )
        for o in ("o1", "o2", "o3")
        for v in ("acceptable", "acceptable_if", "not_acceptable")
    ]
    return [(p, c, False) for p in PARTNERS for c in templates]


def _abstract(spec: EvaluateSpec, phase: EvaluatePhase) -> Hashable:
    """Per option: who has answered it, or that it is revealed. The verdicts
    and texts change the outcome, not what may happen next."""
    answered = tuple(sorted((a.seat, a.option) for a in phase.answers))
    return (len(phase.options), answered, tuple(sorted(r.option for r in phase.revealed)))


def _invariants(t: Transition) -> Broken:
    """Invariant 9 here: an answer reaches only its author and the mediator, a
    reveal only follows both answers, and a partner's view holds only its own
    unrevealed answers."""
    broken: Broken = []
    before = t.before.phase
    if not isinstance(before, EvaluatePhase):
        return broken
    for e in t.events:
        if isinstance(e, OptionEvaluated) and set(e.audience) != {"mediator", e.seat}:
            broken.append(("invariant_9", f"{t.where}: an evaluation reaches {e.audience}"))
        if isinstance(e, OptionRevealed):
            who = {a.seat for a in before.answers if a.option == e.option}
            if t.actor not in PARTNERS or who | {t.actor} != set(PARTNERS):
                broken.append(("invariant_9", f"{t.where}: {e.option} revealed before both"))
            if e.audience != EVERYONE:
                broken.append(("invariant_9", f"{t.where}: a reveal reaches {e.audience}"))
    after = t.after.phase
    if isinstance(after, EvaluatePhase):
        data = msgspec.to_builtins(after)
        for p in PARTNERS:
            part: dict[str, Any] = {"phase": dict(data)}
            _view(part, p)
            if any(a["seat"] != p for a in part["phase"]["answers"]):
                broken.append(("invariant_9", f"{t.where}: {p}'s view shows the other's answer"))
    return broken


TYPE: Final = PhaseType(
    name="evaluate",
    spec=EvaluateSpec,
    state=EvaluatePhase,
    commands=(EvaluateOption,),
    evolvers={OptionEvaluated: _evaluated, OptionRevealed: _revealed},
    takes={
        EvaluateOption: Take(_answer, _gate, hint=_hint),
        AdvancePhase: Take(_advance, _gate, _advance_is_override),
    },
    codes=CODES,
    start=_start,
    describe=_describe,
    prompt=_prompt,
    view=_view,
    moves=_moves,
    invariants=_invariants,
    abstract=_abstract,
)

#: The commands that judge an option: the brainstorm refuses them.
JUDGEMENTS: Final[tuple[type[Command], ...]] = (EvaluateOption,)
