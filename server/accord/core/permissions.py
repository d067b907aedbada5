"""What a seat may do now: the one source of permission (DESIGN.md, "Permissions
come from the server").

`route` decides, for an actor and a command type in a state, in this order:

  (a) who may ever send the type (the command's `senders`) → `forbidden_for_seat`;
  (b) after the end, only the mediator's notes → `session_ended`;
  (c) while an overlay stands, only what it takes and what every state takes
      (the safe signal, the mediator's end, time-out business: invariants 3–5)
      → the overlay's code (`in_time_out`, `debrief_pending`);
  (d) otherwise what every state takes, then what the current phase takes,
      else the type's `elsewhere` refusal (`wrong_phase`, `no_debrief`, …);
  (e) the taker's gate: its table by stage and role, and the guards that do
      not depend on the command's fields (`floor_taken`, `already_queued`, …).

It returns the refusal (a `Stop`) or the `Take` whose handler decides (f),
where only a field value may still refuse (a missing reason, a statement too
long, a wrong step). `decide` calls `route`; `may` lists every command type
the same rules let through, so a seat is offered exactly what `decide` would
take (tests/core/test_permissions.py checks it on every reachable state).
"""

from __future__ import annotations

from typing import Final

from accord.core.base import WHO, Command, OverlayState, PhaseState, Stop, Take
from accord.core.kinds import OverlayType, PhaseType, Prompt
from accord.core.overlays import BY_STATE as OVERLAY_OF
from accord.core.parts import ALWAYS, COMMANDS
from accord.core.phases import BY_STATE as PHASE_OF
from accord.core.seats import ACTORS, Actor, Seat
from accord.core.session import AFTER_END, ENDED
from accord.core.state import EndedPhase, SessionState


def describe(state: SessionState) -> str:
    """Where the session is, in words, for refusal messages."""
    if state.ended:
        return "after the session ended"
    overlay = state.overlay
    if overlay is not None:
        return OVERLAY_OF[overlay.__class__].where
    return PHASE_OF[state.phase.__class__].describe(state.phase)


def _elsewhere(kind: type[Command]) -> Stop:
    code, words = kind.elsewhere
    return Stop(code, lambda state, command: describe(state) + words)


_FORBIDDEN: Final = {
    kind: Stop("forbidden_for_seat", f"at all: only {WHO[kind.senders]} may")
    for kind in COMMANDS.values()
}
_ELSEWHERE: Final = {kind: _elsewhere(kind) for kind in COMMANDS.values()}


_Routes = dict[type[Command], Stop | Take]


def _resolve(
    phase: PhaseType | None, overlay: OverlayType | None, kind: type[Command]
) -> Stop | Take:
    """Rules (b) to (d): what takes `kind` in a phase of type `phase` (None:
    the session ended) under `overlay`, or the refusal it meets there."""
    if phase is None:
        return AFTER_END.get(kind) or ENDED
    if overlay is not None:
        return overlay.takes.get(kind) or ALWAYS.get(kind) or overlay.refusal
    return ALWAYS.get(kind) or phase.takes.get(kind) or _ELSEWHERE[kind]


#: Every phase state there can be: each phase type's, and the end.
_PHASES: Final[tuple[type[PhaseState], ...]] = (*PHASE_OF, EndedPhase)
#: Rules (b) to (d) resolved once for every phase type (or the end) and
#: overlay (or none): {(phase state class, overlay state class or None):
#: {command type: what takes it, or its refusal}}.
_ROUTES: Final[dict[tuple[type[PhaseState], type[OverlayState] | None], _Routes]] = {
    (phase, overlay): {
        kind: _resolve(PHASE_OF.get(phase), OVERLAY_OF.get(overlay) if overlay else None, kind)
        for kind in COMMANDS.values()
    }
    for phase in _PHASES
    for overlay in (*OVERLAY_OF, None)
}


def _routes(state: SessionState) -> _Routes:
    overlay = state.overlay
    return _ROUTES[state.phase.__class__, None if overlay is None else overlay.__class__]


def _gated(
    found: Stop | Take, state: SessionState, actor: Actor, kind: type[Command]
) -> Stop | Take:
    """Rule (e): the taker's gate, its table and field-independent guards."""
    if isinstance(found, Take) and found.gate is not None:
        stop = found.gate(state, actor, kind)
        if stop is not None:
            return stop
    return found


def route(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | Take:
    """The refusal of `actor`'s command of type `kind` now, or what takes it."""
    if actor not in kind.senders:  # rule (a)
        return _FORBIDDEN[kind]
    return _gated(_routes(state)[kind], state, actor, kind)


#: The command types each actor could ever send, in the catalogue's order.
_SENDABLE: Final[dict[Actor, tuple[tuple[str, type[Command]], ...]]] = {
    actor: tuple((name, kind) for name, kind in COMMANDS.items() if actor in kind.senders)
    for actor in ACTORS
}


_Candidates = tuple[tuple[str, type[Command], Take], ...]

#: For each (phase state class, overlay state class or None) and actor, the
#: command types rules (a) to (d) let through, with what takes them: all that
#: is left to `allowed` is each one's gate, rule (e). (The hub asks this for
#: every seat with every batch of events.)
_CANDIDATES: Final[
    dict[tuple[type[PhaseState], type[OverlayState] | None], dict[Actor, _Candidates]]
] = {
    place: {
        actor: tuple(
            (name, kind, found)
            for name, kind in _SENDABLE[actor]
            if isinstance(found := routes[kind], Take)
        )
        for actor in ACTORS
    }
    for place, routes in _ROUTES.items()
}


def allowed(state: SessionState, actor: Actor) -> list[tuple[str, Take]]:
    """Each command type `actor` may send now, with what takes it: `route`'s
    rules, (a) to (d) looked up once for the place the session is in, (e) the
    same gates `route` calls."""
    overlay = state.overlay
    place = (state.phase.__class__, None if overlay is None else overlay.__class__)
    return [
        (name, take)
        for name, kind, take in _CANDIDATES[place][actor]
        if take.gate is None or take.gate(state, actor, kind) is None
    ]


def may(state: SessionState, actor: Actor) -> list[str]:
    """The command types `actor` may send now: those `decide` would take from
    it with some field values (where a field still matters, `seat_view`'s
    `overrides` and `hints` say how). For "system": the timer, when one is pending."""
    return [name for name, _ in allowed(state, actor)]


def prompt(state: SessionState, seat: Seat) -> Prompt:
    """What `seat` is told now: its role in the phase, the stage it is in (the
    overlay's while one stands) and a short headline."""
    if state.ended:
        if seat == "mediator":
            return Prompt("mediator", "ended", "The session has ended. You may still add notes.")
        return Prompt("partner", "ended", "The session has ended. Thank you.")
    told = PHASE_OF[state.phase.__class__].prompt(state, seat)
    overlay = state.overlay
    if overlay is not None:
        return OVERLAY_OF[overlay.__class__].prompt(state, seat, told.role)
    return told


def role_of(state: SessionState, seat: Seat) -> str:
    """ "mediator", "speaker", "listener", or "partner" (nobody holds the floor)."""
    return prompt(state, seat).role
