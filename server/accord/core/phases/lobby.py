"""The lobby: partners wait until the mediator admits them (DESIGN.md, "Phases").

Every playbook opens with one. The mediator admits each partner (`admit`),
then advances; leaving before both are admitted is refused (`not_admitted`).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING, Any, Final

from msgspec.structs import replace

from accord.core.base import (
    MEDIATOR,
    AdvancePhase,
    Command,
    Event,
    PhaseEnded,
    PhaseState,
    Spec,
    Stop,
    Take,
    Title,
    refuse,
)
from accord.core.kinds import Move, PhaseType, Prompt
from accord.core.seats import PARTNERS, Actor, Partner, Seat

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState


class LobbySpec(Spec, tag="lobby", tag_field="type", frozen=True):
    """Partners wait until the mediator admits them."""

    title: Title = "Waiting room"


class LobbyPhase(PhaseState, tag="lobby", frozen=True):
    pass


class Admit(Command, tag="admit", frozen=True):
    senders = MEDIATOR
    words = "admit a partner"
    seat: Partner


class PartnerAdmitted(Event, tag="partner.admitted", frozen=True):
    seat: Partner


CODES: Final = {
    "not_admitted": "The mediator has not admitted both partners yet.",
    "already_admitted": "That partner is already admitted.",
}


# -- the gate: who may do what in the lobby ----------------------------------------------

_ALL_ADMITTED: Final = Stop("already_admitted", lambda s, c: f"{c.seat}: already admitted")


def _missing(state: SessionState) -> list[Partner]:
    return [p for p in PARTNERS if p not in state.admitted]


def _not_admitted(state: SessionState, command: object) -> str:
    return f"in the lobby: {' and '.join(_missing(state))} not admitted yet"


def _gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    if kind is AdvancePhase and len(state.admitted) < len(PARTNERS):
        return Stop("not_admitted", _not_admitted)
    if kind is Admit and len(state.admitted) == len(PARTNERS):
        return _ALL_ADMITTED  # nobody is left to admit, whichever seat it names
    return None


# -- handlers -----------------------------------------------------------------------------


def _admit(state: SessionState, c: Admit, actor: Actor, now: float) -> list[Event]:
    if c.seat in state.admitted:
        raise refuse("already_admitted", actor, c, f"{c.seat}: already admitted")
    return [PartnerAdmitted(seat=c.seat)]


def _advance(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> list[Event]:
    return [PhaseEnded(index=state.index, by=actor, reason=c.reason.strip())]


# -- evolvers -----------------------------------------------------------------------------


def _admitted(state: SessionState, e: PartnerAdmitted) -> SessionState:
    return replace(state, admitted=(*state.admitted, e.seat))


# -- the page and the checker ------------------------------------------------------------


def _start(spec: LobbySpec, state: SessionState | None) -> tuple[LobbyPhase, list[Event]]:
    return LobbyPhase(), []


def _describe(phase: LobbyPhase) -> str:
    return "in the lobby"


def _prompt(state: SessionState, seat: Seat) -> Prompt:
    if seat == "mediator":
        if _missing(state):
            return Prompt("mediator", "admitting", "Admit both partners, then start the session.")
        return Prompt("mediator", "ready", "Both partners are in: start when you are ready.")
    if seat in state.admitted:
        return Prompt("partner", "admitted", "You are in. The session starts soon.")
    return Prompt("partner", "waiting", "Please wait: the mediator will let you in.")


def _admit_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    """The partners still to admit (another seat is `already_admitted`)."""
    return {"seats": _missing(state)}


def _moves(playbook: Playbook, now: float) -> list[Move]:
    return [("mediator", Admit(seat=p), False) for p in PARTNERS]


def _abstract(spec: LobbySpec, phase: LobbyPhase) -> Hashable:
    return "lobby"


TYPE: Final = PhaseType(
    name="lobby",
    spec=LobbySpec,
    state=LobbyPhase,
    commands=(Admit,),
    evolvers={PartnerAdmitted: _admitted},
    takes={Admit: Take(_admit, _gate, hint=_admit_hint), AdvancePhase: Take(_advance, _gate)},
    codes=CODES,
    start=_start,
    describe=_describe,
    prompt=_prompt,
    moves=_moves,
    abstract=_abstract,
)
