"""The session's own rules: its phases in order, its end, notes, timers, and names.

A phase ends itself (its handler's last event is `phase.ended`); what follows
is the session's (`following`): the next phase of the playbook, started with
its initial state in the event, or the end of the session after the last.
The mediator can end the session from every state (invariant 5) and keep
notes after it. Timers are deadlines in the state (DESIGN.md); the hub fires
them with `timer.fire`, accepted once and only when due, and the overlay that
owns the timer's kind says what its deadline means.

The partners' display names (`names.set`, `names.changed`) are the session's
too: any seat may be named in any live state, the mediator names either
partner, a partner only themselves, and not while a time-out or its debrief
stands (the partner's page shows only those then).
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Annotated, Final, cast

import msgspec
from msgspec.structs import replace

from accord.core.base import (
    MEDIATOR,
    MEDIATOR_ONLY,
    SEAT,
    SYSTEM,
    AdvancePhase,
    Command,
    Event,
    Name,
    PhaseEnded,
    Reason,
    Said,
    Stop,
    Take,
    always,
    refuse,
    require_reason,
)
from accord.core.kinds import Broken, Move, Part, Transition
from accord.core.overlays import BY_STATE as OVERLAY_OF
from accord.core.overlays import ON_PHASE_START, TIMERS
from accord.core.phases import BY_STATE, AnyPhase, phase_type
from accord.core.seats import Actor, Partner, Seat
from accord.core.state import EndedPhase, Names

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import Phase, SessionState


class AddNote(Command, tag="note", frozen=True):
    senders = MEDIATOR
    words = "add a note"
    text: Said


class EndSession(Command, tag="session.end", frozen=True):
    senders = MEDIATOR
    words = "end the session"
    reason: Reason = ""


class FireTimer(Command, tag="timer.fire", frozen=True):
    senders = SYSTEM
    words = "fire a timer"
    timer: Name


#: A display name's length once trimmed: enough for a first name or a
#: pseudonym, short enough for a button ("Give the floor to …").
MAX_NAME: Final = 40
#: A display name as sent, before it is trimmed: bounded so a flood of spaces
#: is an invalid command, not work.
NameText = Annotated[str, msgspec.Meta(max_length=200)]


#: The zero-width joiner stays: emoji sequences are made with it.
_JOINER: Final = "\u200d"


def clean_name(name: str) -> str:
    """A display name as it is kept: control and format characters dropped
    (line breaks, bidirectional overrides that would make a name read as
    another's, zero-width spaces), runs of spaces one space, trimmed. Empty
    if nothing visible is left."""
    name = unicodedata.normalize("NFC", name)  # "é" is one character, however typed
    kept = "".join(
        ch for ch in name if ch == _JOINER or unicodedata.category(ch) not in ("Cc", "Cf")
    )
    cleaned = " ".join(kept.split())
    return cleaned if any(_shows(ch) for ch in cleaned) else ""


#: Letters that render as nothing (Hangul fillers, the braille blank).
_BLANKS: Final = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _shows(ch: str) -> bool:
    """A character that shows on its own: a letter, digit, symbol or mark of
    punctuation (not a combining mark alone, not a blank-looking letter)."""
    return unicodedata.category(ch)[0] in "LNSP" and ch not in _BLANKS


class SetName(Command, tag="names.set", frozen=True):
    """Name a partner. The mediator sets either name (a case's names are the
    mediator's to give, pseudonyms are fine); each partner may change their own."""

    senders = SEAT
    words = "rename"
    seat: Partner
    name: NameText


SessionCommand = AdvancePhase | AddNote | EndSession | FireTimer | SetName


class PhaseStarted(Event, tag="phase.started", frozen=True):
    index: int
    phase_type: str
    title: str
    #: The state the phase starts in (who holds the floor, …), so that a client
    #: applying events knows it. Unset in logs of protocol v1.
    phase: AnyPhase | msgspec.UnsetType = msgspec.UNSET


class SessionEnded(Event, tag="session.ended", frozen=True):
    by: Actor
    reason: str = ""


class NoteAdded(Event, tag="note.added", frozen=True):
    text: str


class NamesChanged(Event, tag="names.changed", frozen=True):
    """The partners' display names as they are now, to everyone.

    `seat` is the partner renamed by `by`; a session created in a case opens
    with this event from the "system" (no `seat`), carrying the case's names.
    Why an event and not a field of the session's registry entry folded in
    at load: the log is the record (an export shows what each seat was called,
    and when), replay needs nothing but the log and the playbook to give the
    same state (invariant 6), and a later rename is an event anyway, so the
    first naming is one more of the same kind. The case follows the session
    (the hub copies a rename back to the registry); the core knows no case.
    """

    names: Names
    by: Actor
    seat: Partner | None = None


SessionEvent = PhaseStarted | PhaseEnded | SessionEnded | NoteAdded | NamesChanged

CODES: Final = {
    "unknown_timer": "No such timer is pending (it fired already or was cancelled).",
    "timer_not_due": "The timer's deadline has not been reached.",
    "not_your_name": "A partner may change only their own display name.",
    "name_empty": "A display name needs at least one character that is not a space.",
    "name_too_long": f"A display name is at most {MAX_NAME} characters, once trimmed.",
}

# -- the phases in order -------------------------------------------------------------------


def following(state: SessionState, now: float) -> list[Event]:
    """What follows the end of the current phase: the next phase, or the end."""
    nxt = state.index + 1
    specs = state.playbook.phases
    if nxt >= len(specs):
        return [SessionEnded(by="system")]
    spec = specs[nxt]
    kind = phase_type(spec)
    phase, opening = kind.start(spec, state)
    started = PhaseStarted(
        index=nxt, phase_type=kind.name, title=spec.title, phase=cast("AnyPhase", phase)
    )
    events: list[Event] = [started]
    for hook in ON_PHASE_START:
        events += hook(state, kind, now)
    return events + opening


# -- handlers ------------------------------------------------------------------------------


def _end(state: SessionState, c: EndSession, actor: Actor, now: float) -> list[Event]:
    """The mediator can always end the session (invariant 5), with a reason."""
    reason = require_reason(c.reason, actor, c, "ending the session early")
    return [SessionEnded(by=actor, reason=reason)]


def _note(state: SessionState, c: AddNote, actor: Actor, now: float) -> list[Event]:
    return [NoteAdded(text=c.text, audience=MEDIATOR_ONLY)]


def _rename(state: SessionState, c: SetName, actor: Actor, now: float) -> list[Event]:
    """A name is cleaned (`clean_name`) and must say something, within
    MAX_NAME; a partner names only themselves."""
    if actor != "mediator" and c.seat != actor:
        raise refuse("not_your_name", actor, c, f"{c.seat}: each partner sets only their own name")
    name = clean_name(c.name)
    if not name:
        raise refuse("name_empty", actor, c, f"{c.seat} to nothing: give a name or a pseudonym")
    if len(name) > MAX_NAME:
        raise refuse(
            "name_too_long",
            actor,
            c,
            f"{c.seat} to a name of {len(name)} characters: the limit is {MAX_NAME}",
        )
    names = replace(state.names, **{c.seat: name})
    return [NamesChanged(names=names, by=actor, seat=c.seat)]


def _name_hint(state: SessionState, seat: Seat) -> dict[str, object]:
    """Which names this seat may set (the page offers only those), and the limit."""
    seats = ["partner_a", "partner_b"] if seat == "mediator" else [seat]
    return {"seats": seats, "max_chars": MAX_NAME}


def _name_gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    """A partner renames themselves in any live state but under an overlay: a
    partner's page during a time-out and its debrief shows only those (the
    mediator may still correct a name then)."""
    overlay = state.overlay
    if overlay is None or actor == "mediator":
        return None
    return OVERLAY_OF[overlay.__class__].refusal


def named(names: Names) -> NamesChanged:
    """The first event of a session created in a case: the case's names."""
    return NamesChanged(names=names, by="system")


_NO_TIMERS: Final = Stop("unknown_timer", lambda state, c: f"{c.timer}: it is not pending")


def _timers_gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    return None if state.timers else _NO_TIMERS


def _fire(state: SessionState, c: FireTimer, actor: Actor, now: float) -> list[Event]:
    """A deadline: accepted once, only when due; late fires change nothing more."""
    timer = next((t for t in state.timers if t.id == c.timer), None)
    if timer is None:
        raise refuse("unknown_timer", actor, c, f"{c.timer}: it is not pending")
    if now < timer.due:
        raise refuse("timer_not_due", actor, c, f"{c.timer}: due at {timer.due}")
    return TIMERS[timer.kind](state, timer, now)


#: What is taken after the session ended: the mediator's notes, nothing else.
AFTER_END: Final[dict[type[Command], Take]] = {AddNote: Take(_note)}
ENDED: Final = Stop("session_ended", "after the session ended")

# -- evolvers ------------------------------------------------------------------------------


def _started(state: SessionState, e: PhaseStarted) -> SessionState:
    phase = _v1_started_phase(state, e.index) if e.phase is msgspec.UNSET else e.phase
    breaks = BY_STATE[type(phase)].scheduled_breaks
    return replace(
        state, index=e.index, phase=phase, dialogue_started=state.dialogue_started or breaks
    )


def _ended(state: SessionState, e: SessionEnded) -> SessionState:
    return replace(
        state,
        index=len(state.playbook.phases),
        phase=EndedPhase(),
        overlay=None,
        timers=(),
        schedule=None,
    )


def _renamed(state: SessionState, e: NamesChanged) -> SessionState:
    return replace(state, names=e.names)


def _unchanged(state: SessionState, e: Event) -> SessionState:
    return state


def _v1_started_phase(state: SessionState, index: int) -> Phase:
    """A log of protocol v1: `phase.started` did not carry the state, which was
    then the phase type's start state from its spec."""
    spec = state.playbook.phases[index]
    return cast("Phase", phase_type(spec).start(spec, state)[0])


# -- the model checker ---------------------------------------------------------------------


def _moves(playbook: Playbook, now: float) -> list[Move]:
    return [
        ("mediator", AdvancePhase(), False),
        ("mediator", AdvancePhase(reason="We are out of time."), True),
        ("mediator", EndSession(reason="Emergency."), True),
    ]


def _invariants(t: Transition) -> Broken:
    return [
        ("invariant_7", f"{t.where}: a private event reaches {e.audience}")
        for e in t.events
        if isinstance(e, NoteAdded) and e.audience != MEDIATOR_ONLY
    ]


PART: Final = Part(
    name="session",
    commands=SessionCommand.__args__,
    evolvers={
        PhaseStarted: _started,
        PhaseEnded: _unchanged,
        SessionEnded: _ended,
        NoteAdded: _unchanged,
        NamesChanged: _renamed,
    },
    always={
        EndSession: Take(_end, override=always),
        AddNote: Take(_note),
        FireTimer: Take(_fire, _timers_gate),
        SetName: Take(_rename, _name_gate, hint=_name_hint),
    },
    codes=CODES,
    moves=_moves,
    invariants=_invariants,
)
