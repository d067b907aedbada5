"""Brainstorm: options, and nothing else (DESIGN.md, "Phases and overlays";
issue 12).

Source: the seed article (domain/seed-article.txt): once disputes are joint
problems, the partners "brainstorm options without judging feasibility".
Partners and the mediator add options (`brainstorm.add`); an option may cite
a value card (its id) or a "maybe, if …" condition from the assessment (free
reference fields, bounded). Every option is shown to every seat as it is
added. Judging comes after, in the evaluation: any judgement sent now (the
evaluation's commands) is refused with `no_judgement_in_brainstorm`, not with
the generic `wrong_phase`, and the message says when judging comes.

Anonymous options (`anonymous = true`): the author is left out of the option
everyone receives (`brainstorm.added` has `author = ""`) and out of the
partners' view of the state; the authorship goes to its author and the
mediator only (`brainstorm.authored`; the mediator sees everything), and at
the end of the phase one event tells everyone who wrote what
(`brainstorm.authors`), so the evaluation that follows shows the authors.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec
from msgspec.structs import replace

from accord.core.base import (
    MEDIATOR_ONLY,
    SEAT,
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
    current_spec,
    private_to,
    refuse,
    require_reason,
)
from accord.core.kinds import Broken, Move, PhaseType, Prompt, SpecProblems, Transition
from accord.core.phases.evaluate import JUDGEMENTS, Option
from accord.core.seats import PARTNERS, Actor, Seat

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState

MAX_OPTION: Final = 300
MAX_REFERENCE: Final = 300
LIMIT_OPTIONS: Final = 60
OptionText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_OPTION)]
CardRef = Annotated[str, msgspec.Meta(max_length=64)]
Reference = Annotated[str, msgspec.Meta(max_length=MAX_REFERENCE)]


class BrainstormSpec(Spec, tag="brainstorm", tag_field="type", frozen=True):
    """Options without judgement; `anonymous` hides authors until the end."""

    title: Title = "Brainstorm"
    anonymous: bool = False
    max_options: Annotated[int, msgspec.Meta(ge=1, le=LIMIT_OPTIONS)] = 30


class Authorship(State, frozen=True):
    option: str
    seat: Seat


class BrainstormPhase(PhaseState, tag="brainstorm", frozen=True):
    """The options in order (authors "" while anonymous) and, while anonymous,
    who wrote each (a partner's view keeps only its own)."""

    anonymous: bool = False
    options: tuple[Option, ...] = ()
    authors: tuple[Authorship, ...] = ()


# -- commands ------------------------------------------------------------------------------


class AddOption(Command, tag="brainstorm.add", frozen=True):
    """One option, with what it may cite: a value card, a "maybe, if …"."""

    senders = SEAT
    words = "add an option"
    text: OptionText
    value_card: CardRef = ""
    condition: Reference = ""


# -- events --------------------------------------------------------------------------------


class OptionAdded(Event, tag="brainstorm.added", frozen=True):
    """An option, to everyone (its author "" while anonymous)."""

    option: Option


class OptionAuthored(Event, tag="brainstorm.authored", frozen=True):
    """Who wrote an anonymous option: its author and the mediator only."""

    option: str
    seat: Seat


class AuthorsRevealed(Event, tag="brainstorm.authors", frozen=True):
    """At the end of an anonymous brainstorm: who wrote each option."""

    authors: tuple[Authorship, ...]


BrainstormEvent = OptionAdded | OptionAuthored | AuthorsRevealed

CODES: Final = {
    "no_judgement_in_brainstorm": (
        "A brainstorm takes options only: judging comes in the evaluation, after it."
    ),
    "option_empty": "An option needs at least one character that is not a space.",
    "option_repeated": "This option is already on the board.",
    "too_many_options": "The brainstorm holds as many options as the playbook allows.",
}

# -- reading the state ---------------------------------------------------------------------


def _phase(state: SessionState) -> BrainstormPhase:
    return current(state, BrainstormPhase)


def _spec(state: SessionState) -> BrainstormSpec:
    return current_spec(state, BrainstormSpec)


def options_of(phase: PhaseState | None) -> tuple[Option, ...]:
    """The options of a brainstorm phase with their authors (the evaluation
    starts from them); none from any other phase."""
    if not isinstance(phase, BrainstormPhase):
        return ()
    by = {a.option: a.seat for a in phase.authors}
    return tuple(replace(o, author=by.get(o.id, o.author)) for o in phase.options)


# -- the gate ------------------------------------------------------------------------------

#: What every judgement sent during the brainstorm meets.
JUDGING: Final = Stop(
    "no_judgement_in_brainstorm",
    "during the brainstorm: add options only; judging comes in the evaluation, after it",
)


def _judging(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    return JUDGING


def _gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    if kind is AddOption and len(_phase(state).options) >= _spec(state).max_options:
        return Stop("too_many_options", f"now: the board holds {_spec(state).max_options}")
    return None


def _refuse_judgement(state: SessionState, c: Command, actor: Actor, now: float) -> list[Event]:
    raise AssertionError("the gate refuses every judgement")  # pragma: no cover


# -- handlers ------------------------------------------------------------------------------


def _add(state: SessionState, c: AddOption, actor: Actor, now: float) -> list[Event]:
    phase = _phase(state)
    text = " ".join(c.text.split())
    if not text:
        raise refuse("option_empty", actor, c, "without words")
    if text.casefold() in {o.text.casefold() for o in phase.options}:
        raise refuse("option_repeated", actor, c, "twice: it is on the board")
    seat: Seat = "mediator" if actor == "mediator" else as_partner(actor)
    option = Option(
        id=f"o{len(phase.options) + 1}",
        text=text,
        author="" if phase.anonymous else seat,
        value_card=c.value_card.strip(),
        condition=c.condition.strip(),
    )
    events: list[Event] = [OptionAdded(option=option)]
    if phase.anonymous:
        audience = MEDIATOR_ONLY if seat == "mediator" else private_to(as_partner(seat))
        events.append(OptionAuthored(option=option.id, seat=seat, audience=audience))
    return events


def _advance(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> list[Event]:
    """Ending with no option on the board is an override; an anonymous
    brainstorm ends by telling everyone who wrote what."""
    phase = _phase(state)
    reason = c.reason.strip()
    if _advance_is_override(state):
        reason = require_reason(c.reason, actor, c, "ending a brainstorm with no option")
    events: list[Event] = []
    if phase.anonymous and phase.authors:
        events.append(AuthorsRevealed(authors=phase.authors))
    return [*events, PhaseEnded(index=state.index, by=actor, reason=reason)]


def _advance_is_override(state: SessionState) -> bool:
    return not _phase(state).options


# -- evolvers ------------------------------------------------------------------------------


def _added(state: SessionState, e: OptionAdded) -> SessionState:
    phase = _phase(state)
    return replace(state, phase=replace(phase, options=(*phase.options, e.option)))


def _authored(state: SessionState, e: OptionAuthored) -> SessionState:
    phase = _phase(state)
    mark = Authorship(option=e.option, seat=e.seat)
    return replace(state, phase=replace(phase, authors=(*phase.authors, mark)))


def _authors(state: SessionState, e: AuthorsRevealed) -> SessionState:
    phase = _phase(state)
    return replace(state, phase=replace(phase, options=options_of(phase), anonymous=False))


# -- the page ------------------------------------------------------------------------------


def _start(spec: BrainstormSpec, state: SessionState | None) -> tuple[BrainstormPhase, list[Event]]:
    return BrainstormPhase(anonymous=spec.anonymous), []


def _describe(phase: BrainstormPhase) -> str:
    return "during the brainstorm"


def _prompt(state: SessionState, seat: Seat) -> Prompt:
    count = len(_phase(state).options)
    if seat == "mediator":
        return Prompt(
            "mediator",
            "brainstorming",
            f"Options only, no judging ({count} on the board). Move on when the ideas run out.",
        )
    return Prompt(
        "partner",
        "brainstorming",
        "Add any option that comes to mind, without judging it: "
        "you will weigh each one together in the next step.",
    )


def _view(data: dict[str, Any], seat: Seat) -> None:
    """While anonymous a partner sees only its own authorship."""
    if seat == "mediator":
        return
    part = data["phase"]
    part["authors"] = [a for a in part["authors"] if a["seat"] == seat]


def _hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    return {
        "max_text": MAX_OPTION,
        "max_reference": MAX_REFERENCE,
        "left": _spec(state).max_options - len(_phase(state).options),
    }


# -- the model checker ---------------------------------------------------------------------


def _moves(playbook: Playbook, now: float) -> list[Move]:
    if not any(isinstance(s, BrainstormSpec) for s in playbook.phases):
        return []
    moves: list[Move] = [
        ("partner_a", AddOption(text="A walk every Sunday", value_card="connection"), False),
        ("partner_b", AddOption(text="A weekly check-in", condition="Maybe, if short."), False),
        ("mediator", AddOption(text="A safe signal"), False),
    ]
    return moves


def _abstract(spec: BrainstormSpec, phase: BrainstormPhase) -> Hashable:
    """Which texts are on the board (a repeat is refused), not in what order."""
    return (phase.anonymous, tuple(sorted(o.text for o in phase.options)), len(phase.authors))


def _invariants(t: Transition) -> Broken:
    """`no_judgement_in_brainstorm`: no judgement is accepted in a brainstorm.
    Anonymity: before the end no event that reaches the other partner, and no
    partner's view, names another seat as an author."""
    broken: Broken = []
    before = t.before.phase
    if not isinstance(before, BrainstormPhase) or t.before.overlay is not None:
        return broken
    if t.kind in {k.__struct_config__.tag for k in JUDGEMENTS}:
        broken.append(("no_judgement_in_brainstorm", f"{t.where}: a judgement was accepted"))
    if not before.anonymous:
        return broken
    for e in t.events:
        if isinstance(e, OptionAdded) and e.option.author:
            broken.append(("anonymous_options", f"{t.where}: an option names its author"))
        if isinstance(e, OptionAuthored) and set(e.audience) - {"mediator", e.seat}:
            broken.append(("anonymous_options", f"{t.where}: authorship reaches {e.audience}"))
    after = t.after.phase
    if isinstance(after, BrainstormPhase) and after.anonymous:
        data = msgspec.to_builtins(after)
        for p in PARTNERS:
            part: dict[str, Any] = {"phase": dict(data)}
            _view(part, p)
            if any(a["seat"] != p for a in part["phase"]["authors"]):
                broken.append(("anonymous_options", f"{t.where}: {p}'s view shows an author"))
            if any(o["author"] for o in part["phase"]["options"]):
                broken.append(("anonymous_options", f"{t.where}: {p}'s view shows an author"))
    return broken


def _problems(spec: BrainstormSpec) -> SpecProblems:
    return []


TYPE: Final = PhaseType(
    name="brainstorm",
    spec=BrainstormSpec,
    state=BrainstormPhase,
    commands=(AddOption,),
    evolvers={OptionAdded: _added, OptionAuthored: _authored, AuthorsRevealed: _authors},
    takes={
        AddOption: Take(_add, _gate, hint=_hint),
        AdvancePhase: Take(_advance, None, _advance_is_override),
        **{kind: Take(_refuse_judgement, _judging) for kind in JUDGEMENTS},
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
