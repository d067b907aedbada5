"""A measure: a short questionnaire each partner answers privately, scored
by the core, the score seen only by the mediator.

Source: the seed article's assessment tracks progress over time; routine
outcome measures at a session's start or end are how a clinic sees it
(DESIGN.md, "Phases": `measure`). The questionnaire is data (`measures.py`):
inline in the playbook, or one shipped by name (`accord-how-are-we-doing`).

A partner submits every answer at once (`measure.submit`): the page keeps
the choices until then, so nothing of a half-answered questionnaire exists
anywhere but on the partner's own device, and the score is computed once,
from the answers in the command. The partner learns only that they
submitted (`measure.submitted`, to them and the mediator); the answers, the
score and its band go to the mediator only (`measure.scored`), with the
measure's id, range and reliable-change threshold, so a report across a
case's sessions reads everything it needs from the logs. The state lists
who submitted; the view strips the other partner (invariant 9) unless the
playbook shows it. The mediator advances; before both have submitted that
is an override with a reason.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec
from msgspec.structs import replace

from accord.core import measures
from accord.core.base import (
    EVERYONE,
    MEDIATOR_ONLY,
    PARTNER,
    AdvancePhase,
    Command,
    Event,
    Name,
    PhaseEnded,
    PhaseState,
    Spec,
    Stop,
    Take,
    Title,
    as_partner,
    current,
    private_to,
    refuse,
    require_reason,
)
from accord.core.kinds import (
    Broken,
    Move,
    PhaseType,
    Prompt,
    Reporter,
    Segment,
    SessionLog,
    SpecProblems,
    Transition,
)
from accord.core.measures import Definition, MeasureId, Value
from accord.core.seats import PARTNERS, Actor, Partner, Seat, other

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState


class MeasureSpec(Spec, tag="measure", tag_field="type", frozen=True):
    """A questionnaire: `measure` names a shipped one, `definition` gives one
    inline (a clinic's licensed instrument); neither: Accord's own."""

    title: Title = "How are we doing?"
    measure: Name = ""
    definition: Definition | None = None
    #: A partner is told when the other has submitted (never what).
    show_partner_done: bool = False


class MeasurePhase(PhaseState, tag="measure", frozen=True):
    """The questionnaire (for the pages) and who submitted (stripped per seat)."""

    definition: Definition
    submitted: tuple[Partner, ...] = ()
    show_partner_done: bool = False


class SubmitMeasure(Command, tag="measure.submit", frozen=True):
    senders = PARTNER
    words = "submit the questionnaire"
    #: Every item's answer, by item id.
    answers: Annotated[dict[MeasureId, Value], msgspec.Meta(max_length=50)]


class MeasureSubmitted(Event, tag="measure.submitted", frozen=True):
    """That a partner submitted: to them and the mediator (to everyone where
    the playbook shows it)."""

    seat: Partner
    measure: str


class MeasureScored(Event, tag="measure.scored", frozen=True):
    """A partner's answers and score: the mediator only."""

    seat: Partner
    measure: str
    answers: dict[str, int]
    score: int
    band: str
    low: int
    high: int
    reliable_change: float | None = None
    #: The measure's `higher_is_better`, so a report judges change without the playbook.
    higher_is_better: bool = True


CODES: Final = {
    "already_submitted": "This partner has already submitted the questionnaire.",
    "unknown_item": "An answer names an item the questionnaire does not have.",
    "not_an_anchor": "An answer is not one of its item's answer values.",
    "incomplete_answers": "The questionnaire is submitted with every item answered.",
}

_SUBMITTED: Final = Stop("already_submitted", "twice")


def definition(spec: MeasureSpec) -> Definition:
    """The spec's questionnaire: inline, shipped by name, or Accord's own."""
    if spec.definition is not None:
        return spec.definition
    return measures.SHIPPED[spec.measure or measures.DEFAULT]


def _phase(state: SessionState) -> MeasurePhase:
    return current(state, MeasurePhase)


def _gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    if kind is SubmitMeasure and actor in _phase(state).submitted:
        return _SUBMITTED
    return None


def _submit(state: SessionState, c: SubmitMeasure, actor: Actor, now: float) -> list[Event]:
    """Check every answer, then score: one event for the partner, one for the mediator."""
    d = _phase(state).definition
    items = {item.id: item for item in d.items}
    unknown = sorted(set(c.answers) - set(items))
    if unknown:
        raise refuse("unknown_item", actor, c, f"with answers to {unknown}: no such items")
    missing = [i for i in items if i not in c.answers]
    if missing:
        raise refuse("incomplete_answers", actor, c, f"without answers to {missing}")
    for item_id, value in c.answers.items():
        values = measures.item_values(d, items[item_id])
        if value not in values:
            raise refuse(
                "not_an_anchor",
                actor,
                c,
                f"with {value} for '{item_id}': its answers run from {values[0]} to {values[-1]}",
            )
    partner = as_partner(actor)
    scored = measures.score(d, c.answers)
    shown = _phase(state).show_partner_done
    return [
        MeasureSubmitted(
            seat=partner, measure=d.id, audience=EVERYONE if shown else private_to(partner)
        ),
        MeasureScored(
            seat=partner,
            measure=d.id,
            answers={item.id: c.answers[item.id] for item in d.items},
            score=scored.score,
            band=scored.band,
            low=scored.low,
            high=scored.high,
            reliable_change=d.reliable_change,
            higher_is_better=d.higher_is_better,
            audience=MEDIATOR_ONLY,
        ),
    ]


def _advance_is_override(state: SessionState) -> bool:
    return len(_phase(state).submitted) < len(PARTNERS)


def _advance(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> list[Event]:
    if _advance_is_override(state):
        require_reason(c.reason, actor, c, "leaving the questionnaire before both submitted")
    return [PhaseEnded(index=state.index, by=actor, reason=c.reason.strip())]


# -- evolvers -----------------------------------------------------------------------------


def _submitted(state: SessionState, e: MeasureSubmitted) -> SessionState:
    phase = _phase(state)
    return replace(state, phase=replace(phase, submitted=(*phase.submitted, e.seat)))


def _scored(state: SessionState, e: MeasureScored) -> SessionState:
    return state  # the mediator's record; `measure.submitted` moves the phase on


# -- what each seat is told and shown -----------------------------------------------------


def _start(spec: MeasureSpec, state: SessionState | None) -> tuple[MeasurePhase, list[Event]]:
    phase = MeasurePhase(definition=definition(spec), show_partner_done=spec.show_partner_done)
    return phase, []


def _describe(phase: MeasurePhase) -> str:
    return f"during the questionnaire '{phase.definition.title}'"


def _prompt(state: SessionState, seat: Seat) -> Prompt:
    phase = _phase(state)
    if seat == "mediator":
        if len(phase.submitted) == len(PARTNERS):
            return Prompt("mediator", "done", "Both partners submitted: go on when you are ready.")
        waiting = " and ".join(p for p in PARTNERS if p not in phase.submitted)
        return Prompt("mediator", "answering", f"Waiting for {waiting} to submit.")
    partner = as_partner(seat)
    if partner in phase.submitted:
        text = "Thank you: your answers are in. Only the mediator sees them."
        if phase.show_partner_done and other(partner) in phase.submitted:
            text += " Your partner has submitted too."
        return Prompt("partner", "submitted", text)
    return Prompt(
        "partner", "answering", "Answer each question, then submit. Only the mediator sees them."
    )


#: What a partner's view keeps of the definition: what answering needs. The
#: scoring details would let a partner work out a score and its band, which
#: are the mediator's.
_ANSWERING: Final = ("id", "title", "instructions", "anchors", "start", "scoring")


def _view(data: dict[str, Any], seat: Seat) -> None:
    part = data["phase"]
    if seat == "mediator":
        return
    if not part["show_partner_done"]:
        part["submitted"] = [p for p in part["submitted"] if p == seat]
    d = part["definition"]
    shown = {key: d[key] for key in _ANSWERING if key in d}
    shown["items"] = [{k: v for k, v in item.items() if k != "reverse"} for item in d["items"]]
    part["definition"] = shown


def _moves(playbook: Playbook, now: float) -> list[Move]:
    """Each partner submits each questionnaire of the playbook (lowest answers)."""
    defs: dict[str, Definition] = {}
    for spec in playbook.phases:
        if isinstance(spec, MeasureSpec):
            defs.setdefault(definition(spec).id, definition(spec))
    moves: list[Move] = []
    for d in defs.values() or [measures.HOW_ARE_WE_DOING]:
        answers = {item.id: measures.item_values(d, item)[0] for item in d.items}
        moves += [(p, SubmitMeasure(answers=answers), False) for p in PARTNERS]
    return moves


def _abstract(spec: MeasureSpec, phase: MeasurePhase) -> Hashable:
    return tuple(sorted(phase.submitted))


def _invariants(t: Transition) -> Broken:
    """Invariant 9: answers and scores reach the mediator only; that a partner
    submitted reaches the other partner only where the playbook shows it."""
    broken: Broken = []
    phase = t.before.phase
    shown = isinstance(phase, MeasurePhase) and phase.show_partner_done
    for e in t.events:
        if isinstance(e, MeasureScored) and e.audience != MEDIATOR_ONLY:
            broken.append(("invariant_9", f"{t.where}: a score reaches {e.audience}"))
        private = set(private_to(e.seat)) if isinstance(e, MeasureSubmitted) else set()
        if private and not shown and set(e.audience) != private:
            broken.append(("invariant_9", f"{t.where}: 'submitted' reaches {e.audience}"))
    return broken


def _problems(spec: MeasureSpec) -> SpecProblems:
    if spec.definition is not None:
        found: SpecProblems = [("definition", r, m) for r, m in measures.problems(spec.definition)]
        if spec.measure:
            found.append(("measure", "measure_twice", "give `measure` or `definition`, not both"))
        return found
    if spec.measure and spec.measure not in measures.SHIPPED:
        shipped = sorted(measures.SHIPPED)
        return [
            (
                "measure",
                "unknown_measure",
                f"no measure '{spec.measure}' ships with Accord ({shipped}); "
                "give its definition inline",
            )
        ]
    return []


# -- the case report -----------------------------------------------------------------------


def _nobody() -> dict[str, Any]:
    return dict.fromkeys(PARTNERS)


def _report(
    sessions: Sequence[SessionLog], seen: Sequence[Sequence[Segment]], reader: Seat
) -> list[dict[str, Any]]:
    """Per measure: the sessions with a score, each partner's score and band,
    the gap, and reliable change from one scored session to the next (the
    mediator's only: scores are never sent to a partner)."""
    titles: dict[str, str] = {}
    found: dict[str, dict[str, Any]] = {}
    for i, session in enumerate(seen):
        for segment in session:
            if isinstance(segment.phase, MeasurePhase):
                d = segment.phase.definition
                titles.setdefault(d.id, d.title)
            for e in segment.events:
                if not isinstance(e, MeasureScored):
                    continue
                measure = found.setdefault(
                    e.measure,
                    {"measure": e.measure, "low": e.low, "high": e.high, "rows": {}},
                )
                measure["reliable_change"] = e.reliable_change
                measure["higher_is_better"] = e.higher_is_better
                row = measure["rows"].setdefault(i, {"session": i, **_nobody()})
                row[e.seat] = {"score": e.score, "band": e.band}
    result = []
    for measure_id, measure in found.items():
        rows = [measure["rows"][i] for i in sorted(measure["rows"])]
        for row in rows:
            a, b = row["partner_a"], row["partner_b"]
            row["gap"] = abs(a["score"] - b["score"]) if a and b else None
        higher = measure["higher_is_better"]
        result.append(
            {
                "measure": measure_id,
                "title": titles.get(measure_id, measure_id),
                "low": measure["low"],
                "high": measure["high"],
                "reliable_change": measure["reliable_change"],
                "higher_is_better": higher,
                "rows": rows,
                "changes": _changes(rows, measure["reliable_change"], higher),
            }
        )
    return result


def _changes(
    rows: list[dict[str, Any]], threshold: float | None, higher_is_better: bool
) -> list[dict[str, Any]]:
    """Each partner's change between consecutive sessions with a score."""
    changes = []
    for p in PARTNERS:
        scored = [(row["session"], row[p]["score"]) for row in rows if row[p]]
        for (before, old), (after, new) in itertools.pairwise(scored):
            delta = new - old
            if threshold is None:
                verdict = "no reliable-change threshold"
            elif abs(delta) < threshold:
                verdict = "no reliable change"
            elif (delta > 0) == higher_is_better:
                verdict = "reliable improvement"
            else:
                verdict = "reliable deterioration"
            changes.append(
                {"seat": p, "from": before, "to": after, "delta": delta, "verdict": verdict}
            )
    return changes


TYPE: Final = PhaseType(
    name="measure",
    report=Reporter("measures", _report),
    spec=MeasureSpec,
    state=MeasurePhase,
    commands=(SubmitMeasure,),
    evolvers={MeasureSubmitted: _submitted, MeasureScored: _scored},
    takes={
        SubmitMeasure: Take(_submit, _gate),
        AdvancePhase: Take(_advance, override=_advance_is_override),
    },
    codes=CODES,
    start=_start,
    describe=_describe,
    prompt=_prompt,
    view=_view,
    moves=_moves,
    invariants=_invariants,
    abstract=_abstract,
    problems=_problems,
)
