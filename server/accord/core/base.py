"""The building blocks every part of the core is made of (DESIGN.md, "The shape in code").

Structs: commands and events (tag field `type`), playbook specs, and states
(phase and overlay states are tagged by `kind`); the deadlines a session
keeps; and the one command and the one event every phase type shares
(`phase.advance`, `phase.ended`). Declarations: a command struct says who may
ever send it and the words its refusals use; `Stop` is a refusal decided
before any handler runs; `Take` is how a part of the core takes a command
where it stands. Nothing here knows a phase type.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Final, NamedTuple, TypeVar

import msgspec

from accord.core.errors import Rejected
from accord.core.seats import PARTNERS, Actor, Partner, Seat

if TYPE_CHECKING:
    from accord.core.state import SessionState

# -- audiences (invariant 7) ------------------------------------------------------

EVERYONE: Final[tuple[Seat, ...]] = ("mediator", "partner_a", "partner_b")
MEDIATOR_ONLY: Final[tuple[Seat, ...]] = ("mediator",)


def private_to(partner: Partner) -> tuple[Seat, ...]:
    """The mediator and one partner: what that partner wrote for the mediator."""
    return ("mediator", partner)


# -- who may ever send a command (rule (a) of permissions.py) --------------------

MEDIATOR: Final = frozenset({"mediator"})
PARTNER: Final = frozenset(PARTNERS)
SYSTEM: Final = frozenset({"system"})
#: Any of the three seats (not the timers): e.g. naming a partner.
SEAT: Final = MEDIATOR | PARTNER
#: The senders, in words, for refusals ("only a partner may").
WHO: Final[dict[frozenset[str], str]] = {
    MEDIATOR: "the mediator",
    PARTNER: "a partner",
    SYSTEM: "the server's timers",
    SEAT: "a seat of the session",
}

# -- field types ------------------------------------------------------------------

#: Free text anywhere in a command is bounded; statements have a tighter,
#: per-playbook limit checked by the decider.
MAX_TEXT: Final = 4000

Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
#: Free text that must say something (a statement, a paraphrase, a note).
Said = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
Reason = Annotated[str, msgspec.Meta(max_length=1000)]
Minutes = Annotated[float, msgspec.Meta(gt=0, le=1440)]
#: Unix seconds, finite (NaN or infinity would fire at once or never, and a NaN
#: in the log makes the replayed state differ from the live one: invariant 6).
#: The bound is 9999-12-31T23:59:59Z.
Timestamp = Annotated[float, msgspec.Meta(ge=0, le=253_402_300_799)]
#: Short identifiers (a reflection step, a timer id): bounded like free text.
Name = Annotated[str, msgspec.Meta(max_length=64)]
#: A playbook's titles and prompts.
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
PromptText = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]

# -- structs ------------------------------------------------------------------------


class Command(msgspec.Struct, frozen=True, tag_field="type", forbid_unknown_fields=True):
    """Base of all commands: an intent from a seat, or from the system (a timer).

    Each command type declares, as class attributes, who may ever send it
    (`senders`), what it asks in words, for refusals ("partner_b may not make a
    statement …": `words`), and the refusal when nothing where the session
    stands takes it (`elsewhere`: a code, and words after where the session is).
    """

    senders: ClassVar[frozenset[str]]
    words: ClassVar[str]
    elsewhere: ClassVar[tuple[str, str]] = ("wrong_phase", "")


class Event(msgspec.Struct, frozen=True, tag_field="type", kw_only=True):
    """Base of all events: a fact. `audience` lists the seats that may receive it."""

    audience: tuple[Seat, ...] = EVERYONE


class Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Base of a playbook's tables: unknown keys are errors, not silent defaults."""


class State(msgspec.Struct, frozen=True, kw_only=True):
    """Base of the session state's parts: frozen, replaced never mutated."""


class PhaseState(State, frozen=True, tag_field="kind"):
    """Base of a phase type's state, tagged by the phase type's name."""


class OverlayState(State, frozen=True, tag_field="kind"):
    """Base of an overlay's state, tagged by the overlay's name."""


class Timer(State, frozen=True):
    """A deadline. The hub fires it with `timer.fire`; it is accepted once, when due.

    `kind` names the overlay rule it belongs to (`overlays.TIMERS`)."""

    id: str
    kind: str
    due: float


# -- the phase life cycle every phase type shares -----------------------------------


class AdvancePhase(Command, tag="phase.advance", frozen=True):
    """The mediator ends the current phase; each phase type says when that is
    an override that needs a reason."""

    senders = MEDIATOR
    words = "advance the phase"
    reason: Reason = ""


class PhaseEnded(Event, tag="phase.ended", frozen=True):
    """A phase is over. A phase's handler ends it with this event; the session
    (session.following) appends what comes next: the next phase, or the end."""

    index: int
    by: Actor
    reason: str = ""  # non-empty when the mediator ended the phase early (an override)


# -- declarations ---------------------------------------------------------------------

#: The words after "<actor> may not <act>": fixed, or made from the state and
#: the command when they name a seat, a step or a count.
Why = Callable[["SessionState", Any], str]


class Stop(NamedTuple):
    """A refusal decided before any handler runs, whatever the command's fields
    say: by its sender, the end of the session, an overlay, a phase's table or
    a guard. `permissions.may` lists exactly the commands that meet no Stop."""

    code: str
    why: str | Why

    def words(self, state: SessionState, command: Any) -> str:
        return self.why if isinstance(self.why, str) else self.why(state, command)


#: A handler decides one accepted command's events; it may still refuse on the
#: command's field values (a missing reason, a statement too long, a wrong step).
Handler = Callable[["SessionState", Any, Actor, float], list[Event]]
#: A gate is the table and the guards of one part: a Stop, or None to go on.
Gate = Callable[["SessionState", Actor, type[Command]], "Stop | None"]
#: An evolver applies one event (pure, total, no validation).
Evolver = Callable[["SessionState", Any], "SessionState"]


class Take(NamedTuple):
    """How a part of the core takes one command type where the session stands.

    `gate` refuses whatever the fields say (the table by stage and role, the
    field-independent guards); `handler` decides. For the page: `override`
    says that every accepted instance needs a reason now, `hint` what a client
    needs to fill the command in (a length limit, the next step)."""

    handler: Handler
    gate: Gate | None = None
    override: Callable[[SessionState], bool] | None = None
    hint: Callable[[SessionState, Seat], dict[str, Any]] | None = None


def always(state: SessionState) -> bool:
    """An `override` for commands that always need a reason."""
    return True


def refuse(code: str, actor: str, command: Command, why: str) -> Rejected:
    """The refusal of `actor`'s `command`: "<actor> may not <words> <why>"."""
    return Rejected(code, f"{actor} may not {command.words} {why}".rstrip())


def require_reason(reason: str, actor: str, command: Command, what: str) -> str:
    """The mediator's overrides carry a reason that is logged (DESIGN.md, rule 5)."""
    reason = reason.strip()
    if not reason:
        raise refuse("reason_required", actor, command, f"without a reason: {what} is an override")
    return reason


def as_partner(actor: Actor) -> Partner:
    """The actor of a partner-only command (its senders say so)."""
    assert actor == "partner_a" or actor == "partner_b"
    return actor


_Phase = TypeVar("_Phase", bound=PhaseState)
_Spec = TypeVar("_Spec", bound=Spec)


def current(state: SessionState, kind: type[_Phase]) -> _Phase:
    """The current phase's state, in a handler of its own type (where it is one)."""
    phase = state.phase
    assert isinstance(phase, kind)
    return phase


def current_spec(state: SessionState, kind: type[_Spec]) -> _Spec:
    """The current phase's playbook entry, in a handler of its own type."""
    spec = state.playbook.phases[state.index]
    assert isinstance(spec, kind)
    return spec


def repeated(ids: Iterable[str]) -> list[str]:
    """The ids given more than once, sorted (a playbook's problems)."""
    return sorted(i for i, n in Counter(ids).items() if n > 1)
