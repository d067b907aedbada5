"""The dialogue: one floor, the paraphrase gate, and Imago's reflection steps.

Sources (DESIGN.md, "The dialogue rules"): the floor is BFCP's (RFC 8855:
request → queued → granted → released or revoked, a chair who decides, queue
positions); the gate is PREP's Speaker-Listener Technique (the listener
paraphrases each statement before anything else, the speaker confirms or
corrects, only a yield hands the floor on) and Imago's Intentional Dialogue
(the mirror — "did I get it? is there more?" —, clarifying questions, then
summary, validation and empathy before the roles swap).

What each role may do in each stage is data (`TABLE`, in the manner of h11's
`_state.py`); a command the table does not allow meets the refusal `_refusal`
names for that role and stage. Then come the guards that do not depend on a
command's fields (`_GUARDS`), and last the handlers, which may still refuse on
a field (a statement too long, a wrong step, an override without a reason).
Events carry what was decided (the stage a statement or a yield leads to,
what a waiver waived), so the evolvers only apply them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, get_args

import msgspec
from msgspec.structs import replace

from accord.core.base import (
    MEDIATOR,
    PARTNER,
    AdvancePhase,
    Command,
    Event,
    Name,
    PhaseEnded,
    PhaseState,
    Reason,
    Said,
    Spec,
    Stop,
    Take,
    Text,
    Title,
    always,
    as_partner,
    current_spec,
    refuse,
    require_reason,
)
from accord.core.kinds import Broken, Move, PhaseType, Prompt, SpecProblems, Transition
from accord.core.seats import PARTNERS, Actor, Partner, Seat, other

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState

Stage = Literal[
    "idle",
    "speaking",
    "awaiting_paraphrase",
    "awaiting_answer",
    "awaiting_confirmation",
    "confirmed",
    "reflecting",
]
STAGES: Final[tuple[Stage, ...]] = get_args(Stage)
#: A partner is "partner" while nobody holds the floor, else speaker or listener.
Role = Literal["partner", "speaker", "listener", "mediator"]
ListenerStep = Literal["summary", "validation", "empathy"]
#: What a waiver waived: the paraphrase gate, or the rest of the reflection steps.
Waived = Literal["paraphrase", "reflection"]


class DialogueSpec(Spec, tag="dialogue", tag_field="type", frozen=True):
    """Speaker-listener with the paraphrase gate (PREP; Imago Intentional Dialogue)."""

    title: Title = "Dialogue"
    statement_max_chars: Annotated[int, msgspec.Meta(ge=1, le=4000)] = 500
    paraphrase_required: bool = True
    clarifying_questions: bool = False
    auto_round_robin: bool = True
    first_speaker: Partner = "partner_a"
    #: How the phase ends: after `rounds` rounds (one turn per partner each),
    #: or when the mediator advances it. Ending a "rounds" phase early is an
    #: override and needs a reason.
    ends: Literal["rounds", "mediator"] = "mediator"
    rounds: Annotated[int, msgspec.Meta(ge=0, le=100)] = 0
    #: Imago: after the sender has no more, the receiver summarises,
    #: validates and empathises, in this order, before the roles swap.
    listener_steps: tuple[ListenerStep, ...] = ()


class DialoguePhase(PhaseState, tag="dialogue", frozen=True):
    speaker: Partner | None = None
    stage: Stage = "idle"
    queue: tuple[Partner, ...] = ()
    statement: int = 0  # id of the statement being mirrored (0: none yet)
    statement_text: str = ""
    attempts: int = 0  # paraphrase attempts for the current statement
    spoke: bool = False  # the speaker made a statement in this turn
    step: int = 0  # next listener step (Imago) while reflecting
    turns: int = 0  # completed turns in this phase


# -- commands: the floor (BFCP) ----------------------------------------------------------


class RequestFloor(Command, tag="floor.request", frozen=True):
    senders = PARTNER
    words = "request the floor"


class WithdrawRequest(Command, tag="floor.withdraw", frozen=True):
    senders = PARTNER
    words = "withdraw a floor request"


class GrantFloor(Command, tag="floor.grant", frozen=True):
    senders = MEDIATOR
    words = "grant the floor"
    seat: Partner
    reason: Reason = ""


class RevokeFloor(Command, tag="floor.revoke", frozen=True):
    senders = MEDIATOR
    words = "revoke the floor"
    reason: Reason = ""


class ReorderQueue(Command, tag="floor.reorder", frozen=True):
    senders = MEDIATOR
    words = "reorder the floor queue"
    queue: tuple[Partner, ...]
    reason: Reason = ""


class Yield(Command, tag="yield", frozen=True):
    senders = PARTNER
    words = "yield the floor"


# -- commands: speaker and listener (PREP, Imago) ------------------------------------------


class MakeStatement(Command, tag="statement", frozen=True):
    senders = PARTNER
    words = "make a statement"
    text: Said


class Paraphrase(Command, tag="paraphrase", frozen=True):
    senders = PARTNER
    words = "paraphrase"
    text: Said


class AskQuestion(Command, tag="question", frozen=True):
    senders = PARTNER
    words = "ask a clarifying question"
    text: Said


class AnswerQuestion(Command, tag="answer", frozen=True):
    senders = PARTNER
    words = "answer a clarifying question"
    text: Said


class ConfirmParaphrase(Command, tag="paraphrase.confirm", frozen=True):
    senders = PARTNER
    words = "confirm a paraphrase"


class CorrectParaphrase(Command, tag="paraphrase.correct", frozen=True):
    senders = PARTNER
    words = "correct a paraphrase"
    note: Text = ""


class WaiveParaphrase(Command, tag="paraphrase.waive", frozen=True):
    senders = MEDIATOR
    words = "waive a paraphrase"
    reason: Reason = ""


class Reflect(Command, tag="reflect", frozen=True):
    senders = PARTNER
    words = "offer a reflection"
    step: Name
    text: Said


DialogueCommand = (
    RequestFloor
    | WithdrawRequest
    | GrantFloor
    | RevokeFloor
    | ReorderQueue
    | Yield
    | MakeStatement
    | Paraphrase
    | AskQuestion
    | AnswerQuestion
    | ConfirmParaphrase
    | CorrectParaphrase
    | WaiveParaphrase
    | Reflect
)

# -- events ------------------------------------------------------------------------------


class FloorRequested(Event, tag="floor.requested", frozen=True):
    seat: Partner
    queue: tuple[Partner, ...]


class FloorRequestWithdrawn(Event, tag="floor.withdrawn", frozen=True):
    seat: Partner
    queue: tuple[Partner, ...]


class FloorGranted(Event, tag="floor.granted", frozen=True):
    seat: Partner
    by: Actor
    queue: tuple[Partner, ...]
    reason: str = ""


class FloorRevoked(Event, tag="floor.revoked", frozen=True):
    seat: Partner
    reason: str


class QueueReordered(Event, tag="floor.reordered", frozen=True):
    queue: tuple[Partner, ...]
    reason: str


class FloorYielded(Event, tag="floor.yielded", frozen=True):
    seat: Partner
    #: The floor's stage after the yield: "reflecting" when the listener's
    #: reflection steps come first (Imago), else the stage it was in (a
    #: `turn.ended` follows). Unset in logs of protocol v1.
    stage: Stage | msgspec.UnsetType = msgspec.UNSET


class TurnEnded(Event, tag="turn.ended", frozen=True):
    seat: Partner
    turn: int  # turns completed in this phase, this one included


class StatementMade(Event, tag="statement.made", frozen=True):
    seat: Partner
    statement: int
    text: str
    #: The stage it leads to: "awaiting_paraphrase", or "confirmed" where the
    #: playbook needs no paraphrase. Unset in logs of protocol v1.
    stage: Stage | msgspec.UnsetType = msgspec.UNSET


class ParaphraseOffered(Event, tag="paraphrase.offered", frozen=True):
    seat: Partner
    statement: int
    attempt: int
    text: str


class QuestionAsked(Event, tag="question.asked", frozen=True):
    seat: Partner
    statement: int
    text: str


class QuestionAnswered(Event, tag="question.answered", frozen=True):
    seat: Partner
    statement: int
    text: str


class ParaphraseConfirmed(Event, tag="paraphrase.confirmed", frozen=True):
    seat: Partner
    statement: int
    attempt: int


class ParaphraseCorrected(Event, tag="paraphrase.corrected", frozen=True):
    seat: Partner
    statement: int
    attempt: int
    note: str


class ParaphraseWaived(Event, tag="paraphrase.waived", frozen=True):
    statement: int
    reason: str
    #: "paraphrase": the statement counts as confirmed; "reflection": the
    #: listener's remaining steps are waived and a `turn.ended` follows.
    #: Unset in logs of protocol v1.
    waived: Waived | msgspec.UnsetType = msgspec.UNSET


class ReflectionOffered(Event, tag="reflection.offered", frozen=True):
    seat: Partner
    step: str
    text: str


DialogueEvent = (
    FloorRequested
    | FloorRequestWithdrawn
    | FloorGranted
    | FloorRevoked
    | QueueReordered
    | FloorYielded
    | TurnEnded
    | StatementMade
    | ParaphraseOffered
    | QuestionAsked
    | QuestionAnswered
    | ParaphraseConfirmed
    | ParaphraseCorrected
    | ParaphraseWaived
    | ReflectionOffered
)

CODES: Final = {
    "no_floor": "Nobody holds the floor; request it (or, mediator, grant it) first.",
    "not_your_turn": "Another partner holds the floor.",
    "floor_taken": "The floor is held; the mediator must revoke it before granting it.",
    "already_holds_floor": "The seat already holds the floor.",
    "already_queued": "The seat has already requested the floor.",
    "not_queued": "The seat has no pending floor request.",
    "invalid_queue": "A reordered queue must contain exactly the pending requests.",
    "paraphrase_required": "The listener must paraphrase the statement before anything else.",
    "awaiting_paraphrase": "The speaker must wait for the listener's paraphrase.",
    "awaiting_answer": "The listener must wait for the speaker's answer to the question.",
    "answer_required": "The speaker must answer the listener's clarifying question first.",
    "awaiting_confirmation": "The speaker must confirm or correct the paraphrase first.",
    "awaiting_reflection": "The listener's reflection steps (summary, validation…) come first.",
    "nothing_to_paraphrase": "There is no statement waiting for a paraphrase.",
    "nothing_to_confirm": "There is no paraphrase waiting for confirmation.",
    "no_question": "No clarifying question awaits an answer.",
    "questions_not_allowed": "This playbook does not allow clarifying questions here.",
    "wrong_step": "The reflection step is not the one expected next.",
    "statement_too_long": "The statement exceeds the playbook's length limit.",
}

# -- the table: what each role may do in each stage ----------------------------------------

Acts = frozenset[type[Command]]


def _acts(*kinds: type[Command]) -> Acts:
    return frozenset(kinds)


_NONE: Final = _acts()
_QUEUE: Final = _acts(RequestFloor, WithdrawRequest)
_SPEAK: Final = _acts(MakeStatement, Yield)
_CHAIR: Final = _acts(ReorderQueue, AdvancePhase)
_HELD: Final = _CHAIR | _acts(RevokeFloor)
_GATE_HELD: Final = _HELD | _acts(WaiveParaphrase)

#: {role: {stage: the command types the role may send in that stage}}. While a
#: statement awaits its paraphrase the listener may only paraphrase (or ask);
#: the speaker waits (DESIGN.md, rules 2–4; invariants 1 and 2). The mediator
#: chairs: grants a free floor, revokes a held one, waives a pending gate.
TABLE: Final[dict[Role, dict[Stage, Acts]]] = {
    "partner": {"idle": _QUEUE},
    "speaker": {
        "speaking": _SPEAK,
        "awaiting_paraphrase": _NONE,
        "awaiting_answer": _acts(AnswerQuestion),
        "awaiting_confirmation": _acts(ConfirmParaphrase, CorrectParaphrase),
        "confirmed": _SPEAK,  # "is there more?": another statement, or yield
        "reflecting": _NONE,
    },
    "listener": {
        "speaking": _QUEUE,
        "awaiting_paraphrase": _acts(Paraphrase, AskQuestion),
        "awaiting_answer": _NONE,
        "awaiting_confirmation": _NONE,
        "confirmed": _QUEUE,
        "reflecting": _acts(Reflect),
    },
    "mediator": {
        "idle": _CHAIR | _acts(GrantFloor),
        "speaking": _HELD,
        "awaiting_paraphrase": _GATE_HELD,
        "awaiting_answer": _GATE_HELD,
        "awaiting_confirmation": _GATE_HELD,
        "confirmed": _HELD,
        "reflecting": _GATE_HELD,
    },
}

#: The table by (role, stage), for the gate's one lookup.
_ALLOWED: Final = {
    (role, stage): acts for role, row in TABLE.items() for stage, acts in row.items()
}

#: The refusal when a speaker or listener tries what a gated stage does not allow.
_GATED_REFUSALS: Final[dict[tuple[Stage, Role], tuple[str, str]]] = {
    ("awaiting_paraphrase", "speaker"): ("awaiting_paraphrase", "until {listener} has paraphrased"),
    ("awaiting_paraphrase", "listener"): (
        "paraphrase_required",
        "before paraphrasing {speaker}'s statement",
    ),
    ("awaiting_answer", "speaker"): ("answer_required", "before answering {listener}'s question"),
    ("awaiting_answer", "listener"): ("awaiting_answer", "until {speaker} has answered"),
    ("awaiting_confirmation", "speaker"): (
        "awaiting_confirmation",
        "before confirming or correcting {listener}'s paraphrase",
    ),
    ("awaiting_confirmation", "listener"): (
        "awaiting_confirmation",
        "until {speaker} has confirmed or corrected the paraphrase",
    ),
    ("reflecting", "speaker"): ("awaiting_reflection", "while {listener} reflects"),
    ("reflecting", "listener"): ("awaiting_reflection", "before finishing the reflection steps"),
}


def _named(template: str) -> Callable[[SessionState, Any], str]:
    """Refusal words that name the speaker and the listener."""

    def why(state: SessionState, command: Any) -> str:
        speaker = _dialogue(state).speaker
        assert speaker is not None
        return template.format(speaker=speaker, listener=other(speaker))

    return why


def _floor_taken(state: SessionState, c: GrantFloor) -> str:
    return f"to {c.seat}: {_dialogue(state).speaker} holds it; revoke it first"


def _nothing_to_waive(state: SessionState, c: object) -> str:
    return _describe(_dialogue(state))


def _refusal(role: Role, stage: Stage, kind: type[Command]) -> Stop:
    """The refusal of a command the table does not allow `role` in `stage`."""
    if role == "partner":
        return Stop("no_floor", "now: nobody holds the floor; request it first")
    if role == "mediator":
        if kind is GrantFloor:
            return Stop("floor_taken", _floor_taken)
        if kind is RevokeFloor:
            return Stop("no_floor", "now: nobody holds the floor")
        return Stop("nothing_to_paraphrase", _nothing_to_waive)
    if (stage, role) in _GATED_REFUSALS:
        code, why = _GATED_REFUSALS[stage, role]
        return Stop(code, _named(why))
    # The floor is at rest (speaking or confirmed): no gate is pending.
    if role == "listener":
        if kind in (Paraphrase, AskQuestion):
            return Stop("nothing_to_paraphrase", "now: no statement awaits it")
        return Stop("not_your_turn", _named("while {speaker} holds the floor"))
    if kind in _QUEUE:
        return Stop("already_holds_floor", "now: you hold the floor")
    if kind in (ConfirmParaphrase, CorrectParaphrase):
        return Stop("nothing_to_confirm", "now: no paraphrase awaits it")
    if kind is AnswerQuestion:
        return Stop("no_question", "now: no question was asked")
    return Stop("not_your_turn", _named("while holding the floor: {listener} does that"))


# -- the guards: refusals that do not depend on a command's fields -------------------------

_NOT_QUEUED: Final = Stop("not_queued", "now: no request is pending")
_NO_QUESTIONS: Final = Stop("questions_not_allowed", "in this dialogue: paraphrase")


def _request_guard(state: SessionState, d: DialoguePhase, actor: Actor) -> Stop | None:
    if actor in d.queue:
        position = d.queue.index(as_partner(actor)) + 1
        return Stop("already_queued", f"again: already queued ({position})")
    return None


def _withdraw_guard(state: SessionState, d: DialoguePhase, actor: Actor) -> Stop | None:
    return None if actor in d.queue else _NOT_QUEUED


def _question_guard(state: SessionState, d: DialoguePhase, actor: Actor) -> Stop | None:
    return None if _spec(state).clarifying_questions else _NO_QUESTIONS


Guard = Callable[["SessionState", DialoguePhase, Actor], "Stop | None"]
_GUARDS: Final[dict[type[Command], Guard]] = {
    RequestFloor: _request_guard,
    WithdrawRequest: _withdraw_guard,
    AskQuestion: _question_guard,
}


def _gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    """The table, then the guards (permissions.route rules (d) and (e)), in
    one lookup: `may` asks this for every command of every seat."""
    d = _dialogue(state)
    verdict = _VERDICTS[_role(d, actor), d.stage][kind]
    if verdict is None or isinstance(verdict, Stop):
        return verdict
    return verdict(state, d, actor)


def _role(d: DialoguePhase, seat: str) -> Role:
    if seat == "mediator":
        return "mediator"
    if d.speaker is None:
        return "partner"
    return "speaker" if seat == d.speaker else "listener"


def _dialogue(state: SessionState) -> DialoguePhase:
    phase = state.phase
    assert isinstance(phase, DialoguePhase)
    return phase


def _spec(state: SessionState) -> DialogueSpec:
    return current_spec(state, DialogueSpec)


# -- handlers: the floor -------------------------------------------------------------------


def _request(state: SessionState, c: RequestFloor, actor: Actor, now: float) -> list[Event]:
    partner = as_partner(actor)
    return [FloorRequested(seat=partner, queue=(*_dialogue(state).queue, partner))]


def _withdraw(state: SessionState, c: WithdrawRequest, actor: Actor, now: float) -> list[Event]:
    partner = as_partner(actor)
    queue = tuple(p for p in _dialogue(state).queue if p != partner)
    return [FloorRequestWithdrawn(seat=partner, queue=queue)]


def _grant(state: SessionState, c: GrantFloor, actor: Actor, now: float) -> list[Event]:
    """BFCP: the chair grants the floor, first come first served unless overridden."""
    d = _dialogue(state)
    reason = c.reason.strip()
    if not (d.queue and d.queue[0] == c.seat):
        reason = require_reason(c.reason, actor, c, f"to {c.seat}, who is not first in the queue,")
    queue = tuple(p for p in d.queue if p != c.seat)
    return [FloorGranted(seat=c.seat, by=actor, queue=queue, reason=reason)]


def _revoke(state: SessionState, c: RevokeFloor, actor: Actor, now: float) -> list[Event]:
    d = _dialogue(state)
    reason = require_reason(c.reason, actor, c, "revoking the floor")
    assert d.speaker is not None
    return [FloorRevoked(seat=d.speaker, reason=reason)]


def _reorder(state: SessionState, c: ReorderQueue, actor: Actor, now: float) -> list[Event]:
    d = _dialogue(state)
    reason = require_reason(c.reason, actor, c, "reordering the queue")
    if sorted(c.queue) != sorted(d.queue) or len(set(c.queue)) != len(c.queue):
        raise refuse(
            "invalid_queue",
            actor,
            c,
            f"to {list(c.queue)}: the pending requests are {list(d.queue)}",
        )
    return [QueueReordered(queue=c.queue, reason=reason)]


def _end_turn(state: SessionState, d: DialoguePhase, speaker: Partner) -> list[Event]:
    """The turn is over: the phase ends after its rounds, else the floor passes
    by itself (round robin) or waits for the chair."""
    spec = _spec(state)
    turn = d.turns + 1
    events: list[Event] = [TurnEnded(seat=speaker, turn=turn)]
    if spec.ends == "rounds" and spec.rounds and turn >= 2 * spec.rounds:
        return [*events, PhaseEnded(index=state.index, by="system")]
    if spec.auto_round_robin:
        nxt = other(speaker)
        queue = tuple(p for p in d.queue if p != nxt)
        events.append(FloorGranted(seat=nxt, by="system", queue=queue))
    return events


def _yield(state: SessionState, c: Yield, actor: Actor, now: float) -> list[Event]:
    """Rule 4: only a yield hands the floor on, so the listener replies after it.
    Imago: a speaker who made a statement is first reflected by the listener."""
    d = _dialogue(state)
    speaker = as_partner(actor)
    if d.spoke and _spec(state).listener_steps:
        return [FloorYielded(seat=speaker, stage="reflecting")]
    return [FloorYielded(seat=speaker, stage=d.stage), *_end_turn(state, d, speaker)]


def _advance_is_override(state: SessionState) -> bool:
    """Ending a dialogue before its rounds, or while a statement awaits its
    paraphrase, is an override."""
    stage = _dialogue(state).stage
    return _spec(state).ends == "rounds" or stage not in ("idle", "speaking", "confirmed")


def _advance(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> list[Event]:
    if _advance_is_override(state):
        require_reason(c.reason, actor, c, "ending this dialogue before its end")
    return [PhaseEnded(index=state.index, by=actor, reason=c.reason.strip())]


# -- handlers: speaker and listener --------------------------------------------------------


def _statement(state: SessionState, c: MakeStatement, actor: Actor, now: float) -> list[Event]:
    """Invariant 1: only the floor holder's statements are accepted (the table)."""
    spec = _spec(state)
    if len(c.text) > spec.statement_max_chars:
        raise refuse(
            "statement_too_long",
            actor,
            c,
            f"of {len(c.text)} characters: this dialogue allows {spec.statement_max_chars}",
        )
    stage: Stage = "awaiting_paraphrase" if spec.paraphrase_required else "confirmed"
    seat = as_partner(actor)
    return [StatementMade(seat=seat, statement=state.next_statement, text=c.text, stage=stage)]


def _paraphrase(state: SessionState, c: Paraphrase, actor: Actor, now: float) -> list[Event]:
    d = _dialogue(state)
    seat = as_partner(actor)
    return [
        ParaphraseOffered(seat=seat, statement=d.statement, attempt=d.attempts + 1, text=c.text)
    ]


def _question(state: SessionState, c: AskQuestion, actor: Actor, now: float) -> list[Event]:
    seat = as_partner(actor)
    return [QuestionAsked(seat=seat, statement=_dialogue(state).statement, text=c.text)]


def _answer(state: SessionState, c: AnswerQuestion, actor: Actor, now: float) -> list[Event]:
    seat = as_partner(actor)
    return [QuestionAnswered(seat=seat, statement=_dialogue(state).statement, text=c.text)]


def _confirm(state: SessionState, c: ConfirmParaphrase, actor: Actor, now: float) -> list[Event]:
    d = _dialogue(state)
    return [ParaphraseConfirmed(seat=as_partner(actor), statement=d.statement, attempt=d.attempts)]


def _correct(state: SessionState, c: CorrectParaphrase, actor: Actor, now: float) -> list[Event]:
    d = _dialogue(state)
    seat = as_partner(actor)
    return [ParaphraseCorrected(seat=seat, statement=d.statement, attempt=d.attempts, note=c.note)]


def _waive(state: SessionState, c: WaiveParaphrase, actor: Actor, now: float) -> list[Event]:
    """Rule 5: the mediator may waive the gate, with a logged reason. During the
    reflection steps the waiver ends the turn."""
    d = _dialogue(state)
    reason = require_reason(c.reason, actor, c, "waiving a paraphrase")
    if d.stage == "reflecting":
        assert d.speaker is not None
        waived = ParaphraseWaived(statement=d.statement, reason=reason, waived="reflection")
        return [waived, *_end_turn(state, d, d.speaker)]
    return [ParaphraseWaived(statement=d.statement, reason=reason, waived="paraphrase")]


def _reflect(state: SessionState, c: Reflect, actor: Actor, now: float) -> list[Event]:
    """Imago: summary, validation, empathy, in the playbook's order."""
    d = _dialogue(state)
    steps = _spec(state).listener_steps
    expected = steps[d.step]
    if c.step != expected:
        raise refuse("wrong_step", actor, c, f"'{c.step}' now: the next step is '{expected}'")
    events: list[Event] = [ReflectionOffered(seat=as_partner(actor), step=c.step, text=c.text)]
    if d.step + 1 == len(steps):
        assert d.speaker is not None
        events += _end_turn(state, d, d.speaker)
    return events


# -- evolvers ------------------------------------------------------------------------------


def _on_floor(state: SessionState, **changes: Any) -> SessionState:
    return replace(state, phase=replace(_dialogue(state), **changes))


def _queued(
    state: SessionState, e: FloorRequested | FloorRequestWithdrawn | QueueReordered
) -> SessionState:
    return _on_floor(state, queue=e.queue)


def _granted(state: SessionState, e: FloorGranted) -> SessionState:
    return _on_floor(
        state, speaker=e.seat, stage="speaking", queue=e.queue, spoke=False, step=0, attempts=0
    )


def _revoked(state: SessionState, e: FloorRevoked) -> SessionState:
    return _on_floor(state, speaker=None, stage="idle", spoke=False, step=0, attempts=0)


def _yielded(state: SessionState, e: FloorYielded) -> SessionState:
    stage = _v1_yielded_stage(state) if e.stage is msgspec.UNSET else e.stage
    return _on_floor(state, stage=stage, step=0)


def _turn_ended(state: SessionState, e: TurnEnded) -> SessionState:
    return _on_floor(
        state, speaker=None, stage="idle", turns=e.turn, spoke=False, step=0, attempts=0
    )


def _stated(state: SessionState, e: StatementMade) -> SessionState:
    stage = _v1_statement_stage(state) if e.stage is msgspec.UNSET else e.stage
    phase = replace(
        _dialogue(state),
        statement=e.statement,
        statement_text=e.text,
        attempts=0,
        spoke=True,
        stage=stage,
    )
    return replace(state, next_statement=e.statement + 1, phase=phase)


def _offered(state: SessionState, e: ParaphraseOffered) -> SessionState:
    return _on_floor(state, stage="awaiting_confirmation", attempts=e.attempt)


def _asked(state: SessionState, e: QuestionAsked) -> SessionState:
    return _on_floor(state, stage="awaiting_answer")


def _back_to_paraphrase(
    state: SessionState, e: QuestionAnswered | ParaphraseCorrected
) -> SessionState:
    return _on_floor(state, stage="awaiting_paraphrase")


def _confirmed(state: SessionState, e: ParaphraseConfirmed) -> SessionState:
    return _on_floor(state, stage="confirmed")


def _waived(state: SessionState, e: ParaphraseWaived) -> SessionState:
    waived = _v1_waived(state) if e.waived is msgspec.UNSET else e.waived
    if waived == "reflection":
        return state  # the turn-end event after it closes the turn
    return _on_floor(state, stage="confirmed")


def _reflected(state: SessionState, e: ReflectionOffered) -> SessionState:
    return _on_floor(state, step=_dialogue(state).step + 1)


# -- logs of protocol v1: events written before they carried their outcome -----------------
#
# Sessions are clinical records: a log written by an earlier release folds to
# exactly the state it folded to then. These are that release's rules, frozen;
# events decided now always carry the outcome, so nothing else reads them.


def _v1_yielded_stage(state: SessionState) -> Stage:
    d = _dialogue(state)
    return "reflecting" if d.spoke and _spec(state).listener_steps else d.stage


def _v1_statement_stage(state: SessionState) -> Stage:
    return "awaiting_paraphrase" if _spec(state).paraphrase_required else "confirmed"


def _v1_waived(state: SessionState) -> Waived:
    return "reflection" if _dialogue(state).stage == "reflecting" else "paraphrase"


# -- what each seat is told and shown ------------------------------------------------------


def _describe(d: DialoguePhase) -> str:
    if d.speaker is None:
        return "while nobody holds the floor"
    return f"while {d.speaker} holds the floor ({d.stage.replace('_', ' ')})"


_SPEAKER_TEXT: Final[dict[Stage, str]] = {
    "speaking": "You have the floor: say one thing about yourself, briefly; then yield.",
    "awaiting_paraphrase": "Wait while your partner paraphrases what you said.",
    "awaiting_answer": "Your partner asked a question: answer it.",
    "awaiting_confirmation": "Did your partner get it? Confirm, or correct the paraphrase.",
    "confirmed": "Your partner got it. Is there more? Say more, or yield the floor.",
    "reflecting": "Listen: your partner reflects what they heard.",
}
_LISTENER_TEXT: Final[dict[Stage, str]] = {
    "speaking": "Listen: your partner has the floor.",
    "awaiting_paraphrase": "Your turn: paraphrase what your partner said.",
    "awaiting_answer": "Wait for your partner's answer.",
    "awaiting_confirmation": "Wait: your partner is checking your paraphrase.",
    "confirmed": "Your partner may say more, or yield the floor to you.",
}
_STEP_TEXT: Final[dict[str, str]] = {
    "summary": "Your turn: sum up what your partner said.",
    "validation": "Your turn: say what makes sense to you in it, and why.",
    "empathy": "Your turn: say how you imagine your partner feels.",
}
_CHAIR_TEXT: Final[dict[Stage, str]] = {
    "speaking": "{speaker} has the floor.",
    "awaiting_paraphrase": "{listener} is to paraphrase {speaker}'s statement.",
    "awaiting_answer": "{speaker} is to answer {listener}'s question.",
    "awaiting_confirmation": "{speaker} is to confirm or correct the paraphrase.",
    "confirmed": "{speaker} was heard: more, or a yield.",
    "reflecting": "{listener} reflects what {speaker} said.",
}


def _prompt(state: SessionState, seat: Seat) -> Prompt:
    d = _dialogue(state)
    role = _role(d, seat)
    speaker = d.speaker
    if speaker is None:
        if role == "mediator":
            first = f" {d.queue[0]} asked first." if d.queue else ""
            return Prompt(role, "idle", f"Nobody holds the floor: grant it.{first}")
        if seat in d.queue:
            place = d.queue.index(as_partner(seat)) + 1
            return Prompt(role, "idle", f"You asked for the floor (place {place}).")
        return Prompt(role, "idle", "Nobody holds the floor: ask for it when you want to speak.")
    if role == "mediator":
        text = _CHAIR_TEXT[d.stage].format(speaker=speaker, listener=other(speaker))
    elif role == "speaker":
        text = _SPEAKER_TEXT[d.stage]
    elif d.stage == "reflecting":
        text = _STEP_TEXT[_spec(state).listener_steps[d.step]]
    else:
        text = _LISTENER_TEXT[d.stage]
        if d.stage == "awaiting_paraphrase" and _spec(state).clarifying_questions:
            text += " You may ask a clarifying question first."
    return Prompt(role, d.stage, text)


def _view(data: dict[str, Any], seat: Seat) -> None:
    speaker = data["phase"]["speaker"]
    if speaker is not None:
        data["listener"] = other(speaker)


def _statement_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    return {"max_chars": _spec(state).statement_max_chars}


def _reflect_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    return {"step": _spec(state).listener_steps[_dialogue(state).step]}


def _grant_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    """The seats the floor may be granted to without a reason: the first in
    the queue (BFCP: the chair grants in order; out of order is an override)."""
    queue = _dialogue(state).queue
    return {"free": [queue[0]] if queue else []}


def _grant_is_override(state: SessionState) -> bool:
    return not _dialogue(state).queue  # every grant would be out of turn


# -- the model checker ---------------------------------------------------------------------


def _steps(playbook: Playbook) -> list[str]:
    steps: list[str] = []
    for spec in playbook.phases:
        if isinstance(spec, DialogueSpec):
            steps += [s for s in spec.listener_steps if s not in steps]
    return steps


def _moves(playbook: Playbook, now: float) -> list[Move]:
    moves: list[Move] = []
    for p in PARTNERS:
        moves += [
            (p, RequestFloor(), False),
            (p, WithdrawRequest(), False),
            (p, MakeStatement(text="I felt alone when you left early."), False),
            (p, Paraphrase(text="You felt alone when I left early."), False),
            (p, AskQuestion(text="Which evening do you mean?"), False),
            (p, AnswerQuestion(text="Last Friday."), False),
            (p, ConfirmParaphrase(), False),
            (p, CorrectParaphrase(note="Not quite: alone, not angry."), False),
            (p, Yield(), False),
        ]
        moves += [(p, Reflect(step=s, text="I hear that."), False) for s in _steps(playbook)]
        moves += [
            ("mediator", GrantFloor(seat=p), False),
            ("mediator", GrantFloor(seat=p, reason="Out of order, to rebalance."), True),
        ]
    moves += [
        ("mediator", RevokeFloor(reason="Tone."), True),
        ("mediator", ReorderQueue(queue=("partner_b", "partner_a"), reason="Balance."), True),
        ("mediator", WaiveParaphrase(reason="Close enough."), True),
    ]
    return moves


def _abstract(spec: DialogueSpec, d: DialoguePhase) -> Hashable:
    rounds = spec.rounds if spec.ends == "rounds" else 0
    attempts = min(d.attempts, 2)
    return (d.speaker, d.stage, d.queue, attempts, d.spoke, d.step, min(d.turns, 2 * rounds))


_GATED: Final = ("awaiting_paraphrase", "awaiting_answer", "awaiting_confirmation")
#: The events of the floor: none may happen while an overlay stands (invariant 3).
_FLOOR_EVENTS: Final = frozenset(
    {
        StatementMade,
        ParaphraseOffered,
        QuestionAsked,
        QuestionAnswered,
        ParaphraseConfirmed,
        ParaphraseCorrected,
        ReflectionOffered,
        FloorGranted,
        FloorYielded,
        TurnEnded,
        FloorRequested,
        FloorRequestWithdrawn,
    }
)


def _invariants(t: Transition) -> Broken:
    """Invariants 1 and 2 (the floor and the gate), and 3 for dialogue acts."""
    where = t.where
    broken: Broken = []
    phase, overlay = t.before.phase, t.before.overlay
    d = phase if isinstance(phase, DialoguePhase) else None
    types = {type(e) for e in t.events}
    for e in t.events:
        if isinstance(e, StatementMade) and (
            d is None or overlay is not None or not d.speaker == e.seat == t.actor
        ):
            broken.append(("invariant_1", f"{where}: a statement from {e.seat} without the floor"))
        if isinstance(e, FloorRevoked | ParaphraseWaived) and not e.reason:
            broken.append(("invariant_2", f"{where}: an override without a reason"))
    if d is not None and d.speaker is not None and overlay is None:
        if (
            d.stage in _GATED
            and t.actor == other(d.speaker)
            and t.kind not in ("paraphrase", "question", "timeout.call")
        ):
            broken.append(("invariant_2", f"{where}: the listener acted before paraphrasing"))
        if FloorYielded in types and d.stage not in ("speaking", "confirmed"):
            broken.append(("invariant_2", f"{where}: a yield before the paraphrase was confirmed"))
    if TurnEnded in types and not types & {FloorYielded, ReflectionOffered, ParaphraseWaived}:
        broken.append(("invariant_2", f"{where}: a turn ended without a yield or a waiver"))
    if overlay is not None and (type(t.command) in _TAKES or types & _FLOOR_EVENTS):
        broken.append(("invariant_3", f"{where}: a dialogue act during a time-out or its debrief"))
    return broken


def _problems(spec: DialogueSpec) -> SpecProblems:
    if spec.ends == "mediator" and spec.rounds:
        return [
            (
                "rounds",
                "rounds_unused",
                f"rounds = {spec.rounds} has no effect with ends = 'mediator'; "
                "set ends = 'rounds' or remove it",
            )
        ]
    return []


def _start(spec: DialogueSpec, state: SessionState | None) -> tuple[DialoguePhase, list[Event]]:
    """Round robin: the playbook's first speaker holds the floor at once.

    Logs of protocol v1 (whose `phase.started` does not carry the state) are
    folded with this function too (session._v1_started_phase): to change how a
    dialogue starts, keep today's rule there for them."""
    if spec.auto_round_robin:
        return DialoguePhase(speaker=spec.first_speaker, stage="speaking"), []
    return DialoguePhase(), []


_TAKES: Final[dict[type[Command], Take]] = {
    RequestFloor: Take(_request, _gate),
    WithdrawRequest: Take(_withdraw, _gate),
    GrantFloor: Take(_grant, _gate, _grant_is_override, _grant_hint),
    RevokeFloor: Take(_revoke, _gate, always),
    ReorderQueue: Take(_reorder, _gate, always),
    Yield: Take(_yield, _gate),
    MakeStatement: Take(_statement, _gate, hint=_statement_hint),
    Paraphrase: Take(_paraphrase, _gate),
    AskQuestion: Take(_question, _gate),
    AnswerQuestion: Take(_answer, _gate),
    ConfirmParaphrase: Take(_confirm, _gate),
    CorrectParaphrase: Take(_correct, _gate),
    WaiveParaphrase: Take(_waive, _gate, always),
    Reflect: Take(_reflect, _gate, hint=_reflect_hint),
    AdvancePhase: Take(_advance, _gate, _advance_is_override),
}

#: Every (role, stage, command) the table refuses, with its refusal.
_REFUSALS: Final[dict[tuple[Role, Stage, type[Command]], Stop]] = {
    (role, stage, kind): _refusal(role, stage, kind)
    for role in TABLE
    for stage in STAGES
    for kind in _TAKES
    if kind not in TABLE[role].get(stage, _NONE)
}
#: The table and the guards together, by (role, stage) then command: its
#: refusal, its guard, or None (allowed).
_VERDICTS: Final[dict[tuple[Role, Stage], dict[type[Command], Stop | Guard | None]]] = {
    (role, stage): {
        kind: _REFUSALS.get((role, stage, kind)) or _GUARDS.get(kind) for kind in _TAKES
    }
    for role in TABLE
    for stage in STAGES
}

TYPE: Final = PhaseType(
    name="dialogue",
    spec=DialogueSpec,
    state=DialoguePhase,
    commands=DialogueCommand.__args__,
    evolvers={
        FloorRequested: _queued,
        FloorRequestWithdrawn: _queued,
        FloorGranted: _granted,
        FloorRevoked: _revoked,
        QueueReordered: _queued,
        FloorYielded: _yielded,
        TurnEnded: _turn_ended,
        StatementMade: _stated,
        ParaphraseOffered: _offered,
        QuestionAsked: _asked,
        QuestionAnswered: _back_to_paraphrase,
        ParaphraseConfirmed: _confirmed,
        ParaphraseCorrected: _back_to_paraphrase,
        ParaphraseWaived: _waived,
        ReflectionOffered: _reflected,
    },
    takes=_TAKES,
    codes=CODES,
    start=_start,
    describe=_describe,
    prompt=_prompt,
    view=_view,
    moves=_moves,
    invariants=_invariants,
    abstract=_abstract,
    problems=_problems,
    scheduled_breaks=True,
)
