"""What each part of the core declares: a phase type, an overlay, the session.

A phase type (one module under `core/phases/`) is one `PhaseType`: its
playbook spec, its state, its commands and events, what it takes in each of
its stages (its table and guards), its handlers and evolvers, how it starts,
what each seat is told and shown of it, and what the model checker needs. An
overlay (`core/overlays/`) is one `OverlayType`: what it takes while it
stands and what it refuses meanwhile. A `Part` is what any module contributes
to the registries: command and event types, evolvers, the commands it takes
in every phase, refusal codes, checker moves and invariants.

The registries (`phases.REGISTRY`, `overlays.OVERLAYS`, `parts.PARTS`) are
built from these; `decide`, `evolve`, `permissions` and `check` only look
things up in them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from accord.core.base import (
    Command,
    Event,
    Evolver,
    OverlayState,
    PhaseState,
    Spec,
    Stop,
    Take,
)
from accord.core.seats import Actor, Seat

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState


class Prompt(NamedTuple):
    """What a seat is told now: its role, the stage it is in, and a headline."""

    role: str  # "mediator", "speaker", "listener" or "partner"
    stage: str
    text: str


class SessionLog(NamedTuple):
    """One session of a case, for its report: its facts and its events in log
    order, each with the time it was recorded. `playbook` is the playbook it
    was created with (None when it cannot be read back)."""

    id: str
    title: str
    playbook_name: str
    created_at: float
    status: str
    playbook: Playbook | None
    events: Sequence[tuple[float, Event]]


#: The label on everything in a case report that only the mediator ever saw.
REPORT_PRIVATE = "private: mediator only"


class Segment(NamedTuple):
    """One phase of a session as a reader saw it: its index and title, its
    state as it started (None before the first phase, or for a log older than
    protocol 2), and the events the reader was sent while it ran."""

    phase_index: int
    title: str
    phase: PhaseState | None
    events: Sequence[Event]


class Reporter(NamedTuple):
    """What a phase type adds to a case's report (core/report.py): under `key`,
    `build(sessions, seen, reader)`, where `seen[i]` is `sessions[i]` cut into
    its phases, holding only the events whose audience holds `reader`."""

    key: str
    build: Callable[[Sequence[SessionLog], Sequence[Sequence[Segment]], Seat], Any]


#: A command template for the model checker: (actor, command, is_override).
Move = tuple[Actor, Command, bool]


@dataclass(frozen=True, slots=True)
class Transition:
    """One accepted command, as the model checker saw it (for invariants)."""

    before: SessionState
    after: SessionState
    actor: Actor
    command: Command
    kind: str
    events: Sequence[Event]
    where: str  # "<actor> could <kind> <where the session was>", for messages


#: (rule, message) for each invariant a transition breaks.
Broken = list[tuple[str, str]]
#: (key, rule, message) for each cross-field problem of a spec; the key locates it.
SpecProblems = list[tuple[str, str, str]]


def _no_moves(playbook: Playbook, now: float) -> list[Move]:
    return []


def _unbroken(t: Transition) -> Broken:
    return []


def _no_problems(spec: Any) -> SpecProblems:
    return []


@dataclass(frozen=True, kw_only=True)
class Part:
    """What one module contributes to the core's registries."""

    name: str
    #: Its command types (each declares its senders and words).
    commands: tuple[type[Command], ...] = ()
    #: Its event types, each with the evolver that applies it.
    evolvers: Mapping[type[Event], Evolver] = field(default_factory=dict)
    #: Commands it takes in every phase, and under every overlay (the safe
    #: signal, the mediator's end, time-out business: invariants 4 and 5).
    always: Mapping[type[Command], Take] = field(default_factory=dict)
    #: Its refusal codes and what they mean (docs/ERRORS.md documents each).
    codes: Mapping[str, str] = field(default_factory=dict)
    #: For the model checker: command templates to try in every state …
    moves: Callable[[Playbook, float], list[Move]] = _no_moves
    #: … and the invariants of DESIGN.md it checks on every accepted transition.
    invariants: Callable[[Transition], Broken] = _unbroken


@dataclass(frozen=True, kw_only=True)
class PhaseType(Part):
    """A phase type: a playbook's `type = "<name>"`. Its spec, its state and
    its name are one (the spec's tag, the state's kind)."""

    spec: type[Spec]
    state: type[PhaseState]
    #: What it takes while it is the current phase (no overlay standing).
    takes: Mapping[type[Command], Take]
    #: The state it starts in, and the events that open it, from its spec and
    #: the session as the previous phase left it (None for the first phase,
    #: before any event: `state.initial_state`). A phase that works on what an
    #: earlier one produced reads it there (evaluate: the brainstorm's options).
    start: Callable[[Any, SessionState | None], tuple[PhaseState, list[Event]]]
    #: Where the session is, for refusals: "in the lobby", "while … holds the floor".
    describe: Callable[[Any], str]
    #: Each seat's role, stage and headline in this phase.
    prompt: Callable[[SessionState, Seat], Prompt]
    #: The model checker's abstraction: (spec, state) without what cannot
    #: change what may happen next (texts, counters past what matters).
    abstract: Callable[[Any, Any], Hashable]
    #: What a seat may see of the phase state: edits the seat's view in place.
    view: Callable[[dict[str, Any], Seat], None] | None = None
    #: Rules across the spec's fields, checked when a playbook loads.
    problems: Callable[[Any], SpecProblems] = _no_problems
    #: Its part of a case's report across sessions (comfort over time, scores…).
    report: Reporter | None = None
    #: A scheduled time-out interrupts this phase, and the first such phase
    #: starts the playbook's break schedule (Gottman: planned breaks in talk).
    scheduled_breaks: bool = False

    def __post_init__(self) -> None:
        tags = (self.spec.__struct_config__.tag, self.state.__struct_config__.tag)
        assert tags == (self.name, self.name), (self.name, tags)


@dataclass(frozen=True, kw_only=True)
class OverlayType:
    """An overlay: it stands over any phase, which waits until it is gone.

    While it stands it takes its own commands (`takes`), lets the commands
    taken in every phase through (`Part.always`), and refuses everything else
    with `code`, "<actor> may not <act> <where>" (invariant 3)."""

    name: str
    state: type[OverlayState]
    takes: Mapping[type[Command], Take]
    code: str
    where: str
    #: Each seat's stage and headline while it stands (the role is the phase's).
    prompt: Callable[[SessionState, Seat, str], Prompt]
    abstract: Callable[[Any], Hashable]
    view: Callable[[dict[str, Any], Seat], None] | None = None
    refusal: Stop = field(init=False)

    def __post_init__(self) -> None:
        assert self.state.__struct_config__.tag == self.name, self.name
        object.__setattr__(self, "refusal", Stop(self.code, self.where))
