"""The debrief: each partner answers the prompts, a 0–10 rating and free text
(Gottman, "aftermath of a fight"; DESIGN.md, "Time-outs and debriefs").

A debrief stands in two places: as a phase of the playbook (every playbook
ends with one), and as the overlay that follows every time-out
(`overlays/time_out.py` declares when it stands and what passes meanwhile).
Both are answered the same way, so this module owns the answering, both
states and the three debrief events wherever the debrief stands; each event
says which debrief it is (`after`: "time_out" or "phase").

An answer is private to the mediator and its author (invariant 7), and so is
the fact that there is one: a partner's view shows only its own answer counted.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import msgspec
from msgspec.structs import replace

from accord.core.base import (
    MEDIATOR,
    PARTNER,
    AdvancePhase,
    Command,
    Event,
    OverlayState,
    PhaseEnded,
    PhaseState,
    PromptText,
    Reason,
    Spec,
    Stop,
    Take,
    Text,
    Title,
    always,
    as_partner,
    current,
    current_spec,
    private_to,
    require_reason,
)
from accord.core.kinds import Broken, Move, PhaseType, Prompt, Transition
from accord.core.seats import PARTNERS, Actor, Partner, Seat

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState

DEFAULT_DEBRIEF_PROMPTS: Final = (
    "How are you feeling right now, from 0 (calm) to 10 (overwhelmed)?",
    "What do you need to go on?",
)

After = Literal["time_out", "phase"]


class DebriefSpec(Spec, tag="debrief", tag_field="type", frozen=True):
    """Prompts each partner answers: a 0–10 rating and free text (Gottman, aftermath)."""

    title: Title = "Debrief"
    prompts: tuple[PromptText, ...] = DEFAULT_DEBRIEF_PROMPTS


class DebriefPhase(PhaseState, tag="debrief", frozen=True):
    answered: tuple[Partner, ...] = ()


class DebriefOverlay(OverlayState, tag="debrief", frozen=True):
    """The debrief that must follow every time-out before the phase resumes."""

    prompts: tuple[str, ...]
    answered: tuple[Partner, ...] = ()


class AnswerDebrief(Command, tag="debrief.answer", frozen=True):
    senders = PARTNER
    words = "answer the debrief"
    elsewhere = ("no_debrief", "")
    rating: Annotated[int, msgspec.Meta(ge=0, le=10)]
    text: Text = ""


class SkipDebrief(Command, tag="debrief.skip", frozen=True):
    senders = MEDIATOR
    words = "skip the debrief"
    elsewhere = ("no_debrief", "")
    reason: Reason = ""


class DebriefStarted(Event, tag="debrief.started", frozen=True):
    prompts: tuple[str, ...]
    after: After


class DebriefAnswered(Event, tag="debrief.answered", frozen=True):
    """A partner's answer: the mediator and its author only."""

    seat: Partner
    rating: int
    text: str


class DebriefCompleted(Event, tag="debrief.completed", frozen=True):
    after: After
    skipped: bool = False
    reason: str = ""


CODES: Final = {
    "already_answered": "This partner has already answered the debrief.",
    "no_debrief": "There is no debrief in progress.",
}

# -- the answering, wherever the debrief stands --------------------------------------------

_ANSWERED: Final = Stop("already_answered", "twice")


def answer_gate(answered: tuple[Partner, ...], actor: Actor) -> Stop | None:
    """Each partner answers once."""
    return _ANSWERED if actor in answered else None


def answer(
    answered: tuple[Partner, ...], c: AnswerDebrief, actor: Actor, after: After
) -> list[Event]:
    """The answer, private to its author and the mediator; and the completion
    when it is the last one."""
    partner = as_partner(actor)
    events: list[Event] = [
        DebriefAnswered(seat=partner, rating=c.rating, text=c.text, audience=private_to(partner))
    ]
    if len(answered) + 1 == len(PARTNERS):
        events.append(DebriefCompleted(after=after))
    return events


def skip(c: SkipDebrief, actor: Actor, after: After) -> DebriefCompleted:
    """The mediator may skip a debrief, with a reason (an override, logged)."""
    reason = require_reason(c.reason, actor, c, "skipping a debrief")
    return DebriefCompleted(after=after, skipped=True, reason=reason)


def prompt(answered: tuple[Partner, ...], seat: Seat, role: str, after: After) -> Prompt:
    """A seat's headline in a debrief. A partner's never says whether the other
    answered (their answer is private, and so is its existence)."""
    if seat == "mediator":
        return Prompt(role, "answering", "The partners answer the debrief; you may skip it.")
    if seat in answered:
        return Prompt(role, "answered", "Thank you. The session goes on once the debrief is done.")
    if after == "time_out":
        return Prompt(role, "answering", "Before the session goes on: answer the debrief.")
    return Prompt(role, "answering", "Your turn: answer the debrief.")


def hide_answers(part: dict[str, Any], seat: Seat) -> None:
    """A partner's view counts only its own answer (invariant 9's spirit: no trace)."""
    if seat != "mediator":
        part["answered"] = [s for s in part["answered"] if s == seat]


def prompts_hint(prompts: tuple[str, ...]) -> dict[str, Any]:
    return {"prompts": list(prompts)}


# -- the debrief phase ---------------------------------------------------------------------


def _phase(state: SessionState) -> DebriefPhase:
    return current(state, DebriefPhase)


def _spec(state: SessionState) -> DebriefSpec:
    return current_spec(state, DebriefSpec)


def _gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    return answer_gate(_phase(state).answered, actor) if kind is AnswerDebrief else None


def _answer(state: SessionState, c: AnswerDebrief, actor: Actor, now: float) -> list[Event]:
    events = answer(_phase(state).answered, c, actor, "phase")
    if isinstance(events[-1], DebriefCompleted):
        events.append(PhaseEnded(index=state.index, by="system"))
    return events


def _skip(state: SessionState, c: SkipDebrief, actor: Actor, now: float) -> list[Event]:
    completed = skip(c, actor, "phase")
    return [completed, PhaseEnded(index=state.index, by=actor, reason=completed.reason)]


def _advance(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> list[Event]:
    reason = require_reason(c.reason, actor, c, "skipping the debrief")
    return [PhaseEnded(index=state.index, by=actor, reason=reason)]


def _start(spec: DebriefSpec, state: SessionState | None) -> tuple[DebriefPhase, list[Event]]:
    return DebriefPhase(), [DebriefStarted(prompts=spec.prompts, after="phase")]


def _describe(phase: DebriefPhase) -> str:
    return "during the debrief"


def _prompt(state: SessionState, seat: Seat) -> Prompt:
    role = "mediator" if seat == "mediator" else "partner"
    return prompt(_phase(state).answered, seat, role, "phase")


def _view(data: dict[str, Any], seat: Seat) -> None:
    hide_answers(data["phase"], seat)


def _hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    return prompts_hint(_spec(state).prompts)


# -- evolvers: wherever the debrief stands -------------------------------------------------


def _started(state: SessionState, e: DebriefStarted) -> SessionState:
    if e.after == "time_out":
        return replace(state, overlay=DebriefOverlay(prompts=e.prompts))
    return state  # the phase's state was set when the phase started


def _answered(state: SessionState, e: DebriefAnswered) -> SessionState:
    overlay = state.overlay
    if isinstance(overlay, DebriefOverlay):
        return replace(state, overlay=replace(overlay, answered=(*overlay.answered, e.seat)))
    phase = _phase(state)
    return replace(state, phase=replace(phase, answered=(*phase.answered, e.seat)))


def _completed(state: SessionState, e: DebriefCompleted) -> SessionState:
    if e.after == "time_out":
        return replace(state, overlay=None)
    return state  # the `phase.ended` after it moves on


# -- the model checker ---------------------------------------------------------------------


def _moves(playbook: Playbook, now: float) -> list[Move]:
    moves: list[Move] = [(p, AnswerDebrief(rating=4, text="Calmer."), False) for p in PARTNERS]
    return [*moves, ("mediator", SkipDebrief(reason="Both are settled."), True)]


def _abstract(spec: DebriefSpec, phase: DebriefPhase) -> Hashable:
    return tuple(sorted(phase.answered))


def _invariants(t: Transition) -> Broken:
    return [
        ("invariant_7", f"{t.where}: a debrief answer reaches {e.audience}")
        for e in t.events
        if isinstance(e, DebriefAnswered) and set(e.audience) != {"mediator", e.seat}
    ]


TYPE: Final = PhaseType(
    name="debrief",
    spec=DebriefSpec,
    state=DebriefPhase,
    commands=(AnswerDebrief, SkipDebrief),
    evolvers={
        DebriefStarted: _started,
        DebriefAnswered: _answered,
        DebriefCompleted: _completed,
    },
    takes={
        AnswerDebrief: Take(_answer, _gate, hint=_hint),
        SkipDebrief: Take(_skip, override=always),
        AdvancePhase: Take(_advance, override=always),
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
