"""The comfort scale: each partner rates scenarios on five labelled points,
privately, and the ratings are tracked across a case's sessions.

Source: the seed article's assessment (domain/seed-article.txt): "a comfort
scale across scenarios, from fully comfortable to uncertain, tracks progress
over time". The scale runs from 1, *fully comfortable*, to 5, *uncertain /
not comfortable*: a higher number is more unease, as the debrief's 0–10
runs from calm to overwhelmed, so a falling line is progress on every chart.

A partner rates each scenario (`comfort.rate`) and may change a rating until
they say they are done (`comfort.done`), which needs every scenario rated
and makes the ratings final for the session. The mediator advances; leaving
before both are done is an override with a reason.

Privacy (DESIGN.md, invariant 9): a rating reaches only its author and the
mediator, and so does the fact that a partner is done, unless the playbook
says otherwise (`share`, `show_partner_done`). The phase state holds no
rating: it lists the scenarios each partner has rated and who is done, and
the view strips the other partner's. A rating event carries the scenario's
id and the value, so a case report reads a partner's ratings per scenario
from the logs of all the case's sessions; ids are stable across playbooks.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final

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
    PromptText,
    Spec,
    Stop,
    Take,
    Title,
    as_partner,
    current,
    current_spec,
    private_to,
    refuse,
    repeated,
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
from accord.core.seats import PARTNERS, Actor, Partner, Seat, other

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState

ScenarioId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
ScenarioText = Annotated[str, msgspec.Meta(max_length=300)]

#: The five points, each labelled: 1 is fully comfortable, 5 uncertain or not.
SCALE: Final = (
    "Fully comfortable",
    "Mostly comfortable",
    "Partly comfortable",
    "Hesitant",
    "Uncertain / not comfortable",
)
LOWEST: Final = 1
HIGHEST: Final = len(SCALE)


class Scenario(Spec, frozen=True):
    """A scenario to rate. Without `text`, `id` names one of Accord's own
    (`SCENARIOS`), whose text is used."""

    id: ScenarioId
    text: ScenarioText = ""


#: Accord's own scenarios, respectful and non-explicit. Their ids are stable:
#: reports match ratings across sessions (and playbooks) by id.
SCENARIOS: Final = (
    Scenario(id="hold-hands-in-public", text="Holding hands in public"),
    Scenario(id="kiss-hello-goodbye", text="A kiss when one of us leaves or comes home"),
    Scenario(id="cuddle-no-expectation", text="Cuddling on the sofa without it leading anywhere"),
    Scenario(id="affection-in-company", text="Showing affection in front of family or friends"),
    Scenario(id="say-what-i-enjoy", text="Telling my partner what I enjoy"),
    Scenario(id="say-not-tonight", text="Saying “not tonight” when I am not in the mood"),
    Scenario(id="hear-not-tonight", text="Hearing “not tonight” without feeling rejected"),
    Scenario(id="suggest-intimacy", text="Being the one who suggests being intimate"),
    Scenario(id="talk-about-frequency", text="Talking about how often we are intimate"),
    Scenario(id="suggest-something-new", text="Suggesting something new to try together"),
)
_SHIPPED: Final = {s.id: s.text for s in SCENARIOS}


class ComfortScaleSpec(Spec, tag="comfort_scale", tag_field="type", frozen=True):
    """Scenarios each partner rates on five points, privately (seed article)."""

    title: Title = "Comfort scale"
    instructions: PromptText = (
        "How comfortable are you with each of these, today? There are no right answers."
    )
    scenarios: Annotated[tuple[Scenario, ...], msgspec.Meta(min_length=1, max_length=40)] = (
        SCENARIOS
    )
    #: The partners see each other's ratings as they are made (an open
    #: exercise). Default: only the mediator and the author see a rating.
    share: bool = False
    #: A partner is told when the other is done (never what they rated).
    show_partner_done: bool = False


class ComfortScalePhase(PhaseState, tag="comfort_scale", frozen=True):
    """The scenarios (texts resolved) and the five labels; per partner, the
    ids rated so far (no values) and who is done. The view strips the other
    partner's (invariant 9)."""

    scenarios: tuple[Scenario, ...]
    scale: tuple[str, ...] = SCALE
    #: A partner appears once they rated something: the phase's first state
    #: (in `phase.started`, to everyone) names nobody.
    rated: dict[Partner, tuple[str, ...]] = msgspec.field(default_factory=dict)
    done: tuple[Partner, ...] = ()
    #: The playbook's sharing keys, for the views (a seat's update carries no playbook).
    share: bool = False
    show_partner_done: bool = False


class RateScenario(Command, tag="comfort.rate", frozen=True):
    senders = PARTNER
    words = "rate a scenario"
    scenario: ScenarioId
    #: Checked by the phase (`off_scale`), so the refusal names the scale.
    value: int


class FinishRating(Command, tag="comfort.done", frozen=True):
    senders = PARTNER
    words = "finish the comfort scale"


class ScenarioRated(Event, tag="comfort.rated", frozen=True):
    """A rating (a later one for the same scenario replaces it): the mediator
    and its author only, unless the playbook shares ratings."""

    seat: Partner
    scenario: str
    value: int


class RatingFinished(Event, tag="comfort.finished", frozen=True):
    """A partner is done: their ratings are final for this session."""

    seat: Partner


CODES: Final = {
    "unknown_scenario": "The scenario is not on this comfort scale.",
    "off_scale": "A comfort rating runs from 1 (fully comfortable) to 5 (not comfortable).",
    "not_all_rated": "Every scenario needs a rating before the partner is done.",
    "ratings_final": "This partner is done: their ratings are final for this session.",
}

# -- the gate -----------------------------------------------------------------------------

_FINAL: Final = Stop("ratings_final", "now: you said you are done")


def _phase(state: SessionState) -> ComfortScalePhase:
    return current(state, ComfortScalePhase)


def _spec(state: SessionState) -> ComfortScaleSpec:
    return current_spec(state, ComfortScaleSpec)


def _left(phase: ComfortScalePhase, partner: Partner) -> int:
    return len(phase.scenarios) - len(phase.rated.get(partner, ()))


def _not_all_rated(state: SessionState, command: object) -> str:
    return "yet: some scenarios have no rating"


def _gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    """A partner who is done is done; done needs every scenario rated."""
    if kind is AdvancePhase:
        return None
    phase = _phase(state)
    partner = as_partner(actor)
    if partner in phase.done:
        return _FINAL
    if kind is FinishRating and _left(phase, partner):
        return Stop("not_all_rated", _not_all_rated)
    return None


# -- handlers -----------------------------------------------------------------------------


def _audience(partner: Partner, shown: bool) -> tuple[Seat, ...]:
    return EVERYONE if shown else private_to(partner)


def _rate(state: SessionState, c: RateScenario, actor: Actor, now: float) -> list[Event]:
    phase = _phase(state)
    if c.scenario not in {s.id for s in phase.scenarios}:
        raise refuse("unknown_scenario", actor, c, f"'{c.scenario}': it is not on this scale")
    if not LOWEST <= c.value <= HIGHEST:
        raise refuse(
            "off_scale",
            actor,
            c,
            f"at {c.value}: the scale runs from {LOWEST} ({SCALE[0].lower()}) "
            f"to {HIGHEST} ({SCALE[-1].lower()})",
        )
    partner = as_partner(actor)
    audience = _audience(partner, _spec(state).share)
    return [ScenarioRated(seat=partner, scenario=c.scenario, value=c.value, audience=audience)]


def _finish(state: SessionState, c: FinishRating, actor: Actor, now: float) -> list[Event]:
    spec = _spec(state)
    partner = as_partner(actor)
    audience = _audience(partner, spec.share or spec.show_partner_done)
    return [RatingFinished(seat=partner, audience=audience)]


def _advance_is_override(state: SessionState) -> bool:
    return len(_phase(state).done) < len(PARTNERS)


def _advance(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> list[Event]:
    if _advance_is_override(state):
        require_reason(c.reason, actor, c, "leaving the comfort scale before both are done")
    return [PhaseEnded(index=state.index, by=actor, reason=c.reason.strip())]


# -- evolvers -----------------------------------------------------------------------------


def _rated(state: SessionState, e: ScenarioRated) -> SessionState:
    phase = _phase(state)
    mine = phase.rated.get(e.seat, ())
    if e.scenario in mine:
        return state  # a changed rating: the same scenarios are rated
    rated = {**phase.rated, e.seat: (*mine, e.scenario)}
    return replace(state, phase=replace(phase, rated=rated))


def _finished(state: SessionState, e: RatingFinished) -> SessionState:
    phase = _phase(state)
    return replace(state, phase=replace(phase, done=(*phase.done, e.seat)))


# -- what each seat is told and shown -----------------------------------------------------


def resolve(spec: ComfortScaleSpec) -> tuple[Scenario, ...]:
    """The spec's scenarios with their texts (Accord's own where it names one)."""
    return tuple(Scenario(id=s.id, text=s.text or _SHIPPED.get(s.id, s.id)) for s in spec.scenarios)


def _start(
    spec: ComfortScaleSpec, state: SessionState | None
) -> tuple[ComfortScalePhase, list[Event]]:
    phase = ComfortScalePhase(
        scenarios=resolve(spec), share=spec.share, show_partner_done=spec.show_partner_done
    )
    return phase, []


def _describe(phase: ComfortScalePhase) -> str:
    return "during the comfort scale"


def _prompt(state: SessionState, seat: Seat) -> Prompt:
    phase, spec = _phase(state), _spec(state)
    if seat == "mediator":
        done = len(phase.done)
        if done == len(PARTNERS):
            return Prompt("mediator", "done", "Both partners are done: go on when you are ready.")
        total = len(phase.scenarios)
        counts = ", ".join(
            f"{p} {'done' if p in phase.done else f'{total - _left(phase, p)}/{total}'}"
            for p in PARTNERS
        )
        return Prompt("mediator", "rating", f"The partners rate each scenario ({counts}).")
    partner = as_partner(seat)
    who = "your partner and the mediator" if spec.share else "the mediator"
    if partner in phase.done:
        text = f"Thank you: your ratings are in. Only {who} sees them."
        if (spec.share or spec.show_partner_done) and other(partner) in phase.done:
            text += " Your partner is done too."
        return Prompt("partner", "done", text)
    left = _left(phase, partner)
    if left:
        return Prompt(
            "partner",
            "rating",
            f"Rate each scenario from 1 (fully comfortable) to 5 (uncertain / not comfortable): "
            f"{left} left. Only {who} sees your ratings.",
        )
    return Prompt(
        "partner",
        "rated",
        f"All rated. Change any rating you like, then say you are done. Only {who} sees them.",
    )


def _view(data: dict[str, Any], seat: Seat) -> None:
    """A partner sees its own progress; the other's only where the playbook
    shares ratings, and that the other is done only where it says so."""
    part = data["phase"]
    if seat == "mediator" or part["share"]:
        return
    part["rated"] = {seat: part["rated"][seat]} if seat in part["rated"] else {}
    if not part["show_partner_done"]:
        part["done"] = [p for p in part["done"] if p == seat]


def _moves(playbook: Playbook, now: float) -> list[Move]:
    """Each partner rates each scenario once (the value cannot change what may
    happen next), says done, and the mediator leaves early with a reason."""
    ids: list[str] = []
    for spec in playbook.phases:
        if isinstance(spec, ComfortScaleSpec):
            ids += [s.id for s in spec.scenarios if s.id not in ids]
    moves: list[Move] = []
    for p in PARTNERS:
        moves += [(p, RateScenario(scenario=i, value=2), False) for i in ids or [SCENARIOS[0].id]]
        moves.append((p, FinishRating(), False))
    return moves


def _abstract(spec: ComfortScaleSpec, phase: ComfortScalePhase) -> Hashable:
    """By counts: which scenarios are rated does not matter, only how many."""
    return (*(len(phase.rated.get(p, ())) for p in PARTNERS), tuple(sorted(phase.done)))


def _invariants(t: Transition) -> Broken:
    """Invariant 9: before sharing, a rating and the fact that a partner is done
    reach only that partner and the mediator; done only with all rated."""
    broken: Broken = []
    phase = t.before.phase
    if not isinstance(phase, ComfortScalePhase):
        return broken
    spec = t.before.playbook.phases[t.before.index]
    assert isinstance(spec, ComfortScaleSpec)
    for e in t.events:
        if isinstance(e, ScenarioRated):
            allowed = set(EVERYONE) if spec.share else set(private_to(e.seat))
            if set(e.audience) != allowed:
                broken.append(("invariant_9", f"{t.where}: a rating reaches {e.audience}"))
        if isinstance(e, RatingFinished):
            shown = spec.share or spec.show_partner_done
            if not shown and set(e.audience) != set(private_to(e.seat)):
                broken.append(("invariant_9", f"{t.where}: 'done' reaches {e.audience}"))
            if _left(phase, e.seat):
                broken.append(("comfort_done", f"{t.where}: done with scenarios unrated"))
    after = t.after.phase
    if isinstance(after, ComfortScalePhase) and not spec.share:
        for p in PARTNERS:
            part: dict[str, Any] = {"phase": msgspec.to_builtins(after)}
            _view(part, p)
            seen = part["phase"]
            shows_done = other(p) in seen["done"] and not spec.show_partner_done
            if set(seen["rated"]) - {p} or shows_done:
                broken.append(("invariant_9", f"{t.where}: {p}'s view shows the other's progress"))
    return broken


def _problems(spec: ComfortScaleSpec) -> SpecProblems:
    found: SpecProblems = []
    ids = [s.id for s in spec.scenarios]
    twice = repeated(ids)
    if twice:
        found.append(("scenarios", "duplicate_scenario", f"scenario ids used twice: {twice}"))
    unknown = [s.id for s in spec.scenarios if not s.text and s.id not in _SHIPPED]
    if unknown:
        found.append(
            (
                "scenarios",
                "unknown_scenario",
                f"scenarios {unknown} have no text and are not Accord's own; give each a text",
            )
        )
    return found


# -- the case report -----------------------------------------------------------------------


def _report(
    sessions: Sequence[SessionLog], seen: Sequence[Sequence[Segment]], reader: Seat
) -> dict[str, Any]:
    """Per scenario, each partner's last rating in each session that has one
    (a later `comfort.rated` replaces an earlier one; none follows
    `comfort.finished`), as far as `reader` was sent them."""
    texts: dict[str, str] = {}
    ratings: list[dict[tuple[Partner, str], int]] = []
    for session in seen:
        last: dict[tuple[Partner, str], int] = {}
        for segment in session:
            if isinstance(segment.phase, ComfortScalePhase):
                for shown in segment.phase.scenarios:
                    texts.setdefault(shown.id, shown.text)
            for e in segment.events:
                if isinstance(e, ScenarioRated):
                    last[(e.seat, e.scenario)] = e.value
                    texts.setdefault(e.scenario, e.scenario)
        ratings.append(last)
    rated = [i for i, last in enumerate(ratings) if last]
    scenarios = []
    for scenario, text in texts.items():
        entry: dict[str, Any] = {"id": scenario, "text": text}
        for p in PARTNERS:
            entry[p] = [ratings[i].get((p, scenario)) for i in rated]
        if any(v is not None for p in PARTNERS for v in entry[p]):
            scenarios.append(entry)
    return {"scale": list(SCALE), "sessions": rated, "scenarios": scenarios}


TYPE: Final = PhaseType(
    name="comfort_scale",
    report=Reporter("comfort", _report),
    spec=ComfortScaleSpec,
    state=ComfortScalePhase,
    commands=(RateScenario, FinishRating),
    evolvers={ScenarioRated: _rated, RatingFinished: _finished},
    takes={
        RateScenario: Take(_rate, _gate),
        FinishRating: Take(_finish, _gate),
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
    problems=_problems,
)
