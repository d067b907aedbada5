"""The yes / maybe / no list: each partner answers privately; the reveal shows
only what neither said no to (DESIGN.md, "Phases and overlays").

Source: the seed article's assessment (domain/seed-article.txt) and the
mutual-match lists couples already use ("yes / no / maybe" lists), held here
inside a mediated session. A playbook lists items (activities, scenarios,
rituals). Each partner answers each one privately (`mutual.answer`): *yes*,
*maybe* with an optional condition ("maybe, if we plan it together"), or
*no*; an answer may change until the reveal. A partner says done
(`mutual.done`) once every item is answered. When both are done the mediator
reveals (`mutual.reveal`): everyone is shown the items neither partner said
no to, with both answers and the conditions; the answers lock, so nobody can
probe the other's answers by changing their own (a new round is a new list,
that is a new phase). After the reveal the author of a *no* may show that one
item to the other partner (`mutual.disclose`): the consent is that command,
in that moment, and its event.

Privacy (invariant 9), and why the state holds the answers: the decider must
compute the reveal from the state, so the state keeps every answer with its
condition; the view strips the other partner's from a partner's view (a
partner sees its own answers, and that the other is done only where the
playbook says `show_partner_done`). Before the reveal an answer, and the
fact that a partner is done, reach only its author and the mediator. A *no*
reaches the other partner only through its author's `mutual.disclosed`: the
reveal's shared list holds no item with a no, says nothing of how many were
held back or whose they were, and the full locked answers (`mutual.locked`)
go to the mediator only. What no design can hide: a partner who said yes or
maybe to an item that is not shown can tell that the other said no to it
(docs/PLAYBOOKS.md says so, for the mediator to tell the partners first).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal

import msgspec
from msgspec.structs import replace

from accord.core.base import (
    EVERYONE,
    MEDIATOR,
    MEDIATOR_ONLY,
    PARTNER,
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
    repeated,
    require_reason,
)
from accord.core.kinds import (
    REPORT_PRIVATE,
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

Choice = Literal["yes", "maybe", "no"]
Stage = Literal["answering", "revealed"]
ItemId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
ItemText = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
MAX_CONDITION: Final = 300
Condition = Annotated[str, msgspec.Meta(max_length=MAX_CONDITION)]
MAX_ITEMS: Final = 60


class Item(Spec, frozen=True):
    """One item of the list: a stable id (the log and later phases name it)
    and the words the partners read."""

    id: ItemId
    text: ItemText


class MutualRevealSpec(Spec, tag="mutual_reveal", tag_field="type", frozen=True):
    """A private yes / maybe / no list, revealed where neither said no."""

    items: Annotated[tuple[Item, ...], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]
    title: Title = "Yes, maybe, no"
    #: A partner is told when the other is done (never what they answered).
    show_partner_done: bool = False


class Answer(State, frozen=True):
    """One partner's answer to one item (a condition only with a maybe)."""

    seat: Partner
    item: str
    answer: Choice
    condition: str = ""


class Given(State, frozen=True):
    """One partner's answer to a shared item, as the reveal shows it."""

    answer: Choice
    condition: str = ""


class SharedItem(State, frozen=True):
    """An item neither partner said no to, with both answers."""

    item: str
    text: str
    partner_a: Given
    partner_b: Given


class Disclosure(State, frozen=True):
    """A no its author chose to show the other partner."""

    seat: Partner
    item: str


class MutualRevealPhase(PhaseState, tag="mutual_reveal", frozen=True):
    """Every answer (the view strips the other partner's), who is done (the
    same, unless `show_partner_done`), and after the reveal what it showed."""

    show_partner_done: bool = False
    answers: tuple[Answer, ...] = ()
    done: tuple[Partner, ...] = ()
    revealed: bool = False
    shared: tuple[SharedItem, ...] = ()
    disclosed: tuple[Disclosure, ...] = ()


# -- commands ------------------------------------------------------------------------------


class Reply(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One item answered, in a `mutual.answer`."""

    item: ItemId
    answer: Choice
    condition: Condition = ""


class AnswerItems(Command, tag="mutual.answer", frozen=True):
    """Answers one item or more (a page sends one per tap); a later answer to
    the same item replaces the earlier one, until the reveal."""

    senders = PARTNER
    words = "answer the list"
    answers: Annotated[tuple[Reply, ...], msgspec.Meta(min_length=1, max_length=MAX_ITEMS)]


class FinishList(Command, tag="mutual.done", frozen=True):
    senders = PARTNER
    words = "say done with the list"


class RevealList(Command, tag="mutual.reveal", frozen=True):
    senders = MEDIATOR
    words = "reveal the list"


class DiscloseNo(Command, tag="mutual.disclose", frozen=True):
    """The author of a no shows that one item to the other partner: consent,
    given in the moment, for this item only."""

    senders = PARTNER
    words = "disclose a no"
    item: ItemId


MutualCommand = AnswerItems | FinishList | RevealList | DiscloseNo

# -- events --------------------------------------------------------------------------------


class MutualAnswered(Event, tag="mutual.answered", frozen=True):
    """A partner's answers: the mediator and their author only."""

    seat: Partner
    answers: tuple[Reply, ...]


class MutualFinished(Event, tag="mutual.finished", frozen=True):
    """A partner is done: private to them and the mediator unless the playbook
    shows it (`show_partner_done`); the audience says which."""

    seat: Partner


class MutualRevealed(Event, tag="mutual.revealed", frozen=True):
    """What both partners are shown: the items neither said no to, in the
    playbook's order, with both answers and the conditions (kept for the
    problem-solving phases that come later and the case report)."""

    shared: tuple[SharedItem, ...]


class MutualLocked(Event, tag="mutual.locked", frozen=True):
    """The mediator's record of every answer as the reveal locked it."""

    answers: tuple[Answer, ...]


class MutualDisclosed(Event, tag="mutual.disclosed", frozen=True):
    """Its author's consent to show one no to the other partner, and the no."""

    seat: Partner
    item: str
    text: str


MutualEvent = MutualAnswered | MutualFinished | MutualRevealed | MutualLocked | MutualDisclosed

CODES: Final = {
    "unknown_list_item": "The list has no item with this id.",
    "item_answered_twice": "One command answers each item at most once.",
    "condition_without_maybe": "Only a maybe carries a condition.",
    "answers_locked": "The list was revealed: its answers are locked (a new round is a new list).",
    "list_incomplete": "Every item must be answered before saying done.",
    "list_already_done": "This partner has already said done with the list.",
    "list_not_done": "A partner has not finished the list yet: it cannot be revealed.",
    "list_already_revealed": "The list has already been revealed.",
    "list_not_revealed": "The list has not been revealed yet.",
    "nothing_to_disclose": "This partner has no undisclosed no to show.",
    "not_your_no": "This partner did not answer no to that item.",
    "already_disclosed": "This partner has already shown that no.",
}

# -- reading the state ---------------------------------------------------------------------


def _phase(state: SessionState) -> MutualRevealPhase:
    return current(state, MutualRevealPhase)


def _spec(state: SessionState) -> MutualRevealSpec:
    return current_spec(state, MutualRevealSpec)


def _own(phase: MutualRevealPhase, seat: Partner) -> dict[str, Answer]:
    return {a.item: a for a in phase.answers if a.seat == seat}


def _undisclosed_nos(phase: MutualRevealPhase, seat: Partner) -> list[str]:
    shown = {d.item for d in phase.disclosed if d.seat == seat}
    return [
        a.item for a in phase.answers if a.seat == seat and a.answer == "no" and a.item not in shown
    ]


def _stage(phase: MutualRevealPhase) -> Stage:
    return "revealed" if phase.revealed else "answering"


# -- the table and the gate ----------------------------------------------------------------

Role = Literal["partner", "mediator"]
Acts = frozenset[type[Command]]

#: {role: {stage: the command types the role may send in that stage}}. Before
#: the reveal partners answer and say done; after it the answers are locked
#: and a partner may only show one of its own nos. The mediator reveals, and
#: may leave early with a reason (an override).
TABLE: Final[dict[Role, dict[Stage, Acts]]] = {
    "partner": {
        "answering": frozenset({AnswerItems, FinishList}),
        "revealed": frozenset({DiscloseNo}),
    },
    "mediator": {
        "answering": frozenset({RevealList, AdvancePhase}),
        "revealed": frozenset({AdvancePhase}),
    },
}

_LOCKED: Final = Stop("answers_locked", "after the reveal: the answers are locked")
#: The refusal of what the table does not allow, by stage.
_REFUSALS: Final[dict[tuple[Stage, type[Command]], Stop]] = {
    ("revealed", AnswerItems): _LOCKED,
    ("revealed", FinishList): _LOCKED,
    ("revealed", RevealList): Stop("list_already_revealed", "again: it is revealed"),
    ("answering", DiscloseNo): Stop("list_not_revealed", "before the reveal"),
}
#: For a command a later change adds to the table without its own refusal.
_NOT_NOW: Final = Stop("wrong_phase", "at this point of the list")
_ALREADY_DONE: Final = Stop("list_already_done", "again")
_NOTHING: Final = Stop("nothing_to_disclose", "now: you have no undisclosed no")


def _done_guard(state: SessionState, phase: MutualRevealPhase, actor: Actor) -> Stop | None:
    seat = as_partner(actor)
    if seat in phase.done:
        return _ALREADY_DONE
    left = len(_spec(state).items) - len(_own(phase, seat))
    if left:
        return Stop("list_incomplete", f"before answering every item ({left} left)")
    return None


def _reveal_guard(state: SessionState, phase: MutualRevealPhase, actor: Actor) -> Stop | None:
    waiting = [p for p in PARTNERS if p not in phase.done]
    if waiting:
        return Stop("list_not_done", f"yet: {' and '.join(waiting)} not done")
    return None


def _disclose_guard(state: SessionState, phase: MutualRevealPhase, actor: Actor) -> Stop | None:
    return None if _undisclosed_nos(phase, as_partner(actor)) else _NOTHING


Guard = Callable[["SessionState", MutualRevealPhase, Actor], "Stop | None"]
_GUARDS: Final[dict[type[Command], Guard]] = {
    FinishList: _done_guard,
    RevealList: _reveal_guard,
    DiscloseNo: _disclose_guard,
}


def _gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    """The table by stage, then the guards that do not look at the fields."""
    phase = _phase(state)
    stage = _stage(phase)
    role: Role = "mediator" if actor == "mediator" else "partner"
    if kind not in TABLE[role][stage]:
        return _REFUSALS.get((stage, kind), _NOT_NOW)
    guard = _GUARDS.get(kind)
    return None if guard is None else guard(state, phase, actor)


# -- handlers: they refuse only on a field's value ------------------------------------------


def _answer(state: SessionState, c: AnswerItems, actor: Actor, now: float) -> list[Event]:
    seat = as_partner(actor)
    known = {i.id for i in _spec(state).items}
    seen: set[str] = set()
    for r in c.answers:
        if r.item not in known:
            raise refuse(
                "unknown_list_item", actor, c, f"with '{r.item}': no such item on this list"
            )
        if r.item in seen:
            raise refuse("item_answered_twice", actor, c, f"with '{r.item}' twice in one command")
        seen.add(r.item)
        if r.condition.strip() and r.answer != "maybe":
            raise refuse(
                "condition_without_maybe",
                actor,
                c,
                f"with a condition on '{r.item}': only a maybe has one",
            )
    replies = tuple(replace(r, condition=r.condition.strip()) for r in c.answers)
    return [MutualAnswered(seat=seat, answers=replies, audience=private_to(seat))]


def _done_audience(state: SessionState, seat: Partner) -> tuple[Seat, ...]:
    return EVERYONE if _spec(state).show_partner_done else private_to(seat)


def _finish(state: SessionState, c: FinishList, actor: Actor, now: float) -> list[Event]:
    seat = as_partner(actor)
    return [MutualFinished(seat=seat, audience=_done_audience(state, seat))]


def _shared(spec: MutualRevealSpec, phase: MutualRevealPhase) -> tuple[SharedItem, ...]:
    """The items neither partner said no to, in the playbook's order."""
    a, b = (_own(phase, p) for p in PARTNERS)
    shared: list[SharedItem] = []
    for item in spec.items:
        x, y = a.get(item.id), b.get(item.id)
        if x is None or y is None or "no" in (x.answer, y.answer):
            continue
        shared.append(
            SharedItem(
                item=item.id,
                text=item.text,
                partner_a=Given(answer=x.answer, condition=x.condition),
                partner_b=Given(answer=y.answer, condition=y.condition),
            )
        )
    return tuple(shared)


def _reveal(state: SessionState, c: RevealList, actor: Actor, now: float) -> list[Event]:
    """Both are done: everyone sees what neither said no to; the mediator's
    record keeps every answer as it was locked."""
    phase = _phase(state)
    order = {item.id: i for i, item in enumerate(_spec(state).items)}
    locked = tuple(sorted(phase.answers, key=lambda a: (a.seat, order[a.item])))
    return [
        MutualRevealed(shared=_shared(_spec(state), phase)),
        MutualLocked(answers=locked, audience=MEDIATOR_ONLY),
    ]


def _disclose(state: SessionState, c: DiscloseNo, actor: Actor, now: float) -> list[Event]:
    seat = as_partner(actor)
    phase = _phase(state)
    texts = {i.id: i.text for i in _spec(state).items}
    if c.item not in texts:
        raise refuse("unknown_list_item", actor, c, f"on '{c.item}': no such item on this list")
    mine = _own(phase, seat).get(c.item)
    if mine is None or mine.answer != "no":
        answer = "no answer" if mine is None else f"'{mine.answer}'"
        raise refuse("not_your_no", actor, c, f"on '{c.item}': your answer was {answer}")
    if Disclosure(seat=seat, item=c.item) in phase.disclosed:
        raise refuse("already_disclosed", actor, c, f"on '{c.item}' again: it is shown")
    return [MutualDisclosed(seat=seat, item=c.item, text=texts[c.item])]


def _advance_is_override(state: SessionState) -> bool:
    return not _phase(state).revealed


def _advance(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> list[Event]:
    reason = c.reason.strip()
    if _advance_is_override(state):
        reason = require_reason(c.reason, actor, c, "leaving the list before the reveal")
    return [PhaseEnded(index=state.index, by=actor, reason=reason)]


# -- evolvers: they only apply -------------------------------------------------------------


def _answered(state: SessionState, e: MutualAnswered) -> SessionState:
    phase = _phase(state)
    new = {
        r.item: Answer(seat=e.seat, item=r.item, answer=r.answer, condition=r.condition)
        for r in e.answers
    }
    kept = [a for a in phase.answers if not (a.seat == e.seat and a.item in new)]
    return replace(state, phase=replace(phase, answers=(*kept, *new.values())))


def _finished(state: SessionState, e: MutualFinished) -> SessionState:
    phase = _phase(state)
    return replace(state, phase=replace(phase, done=(*phase.done, e.seat)))


def _revealed(state: SessionState, e: MutualRevealed) -> SessionState:
    return replace(state, phase=replace(_phase(state), revealed=True, shared=e.shared))


def _locked(state: SessionState, e: MutualLocked) -> SessionState:
    return state  # the mediator's record; the state has the answers already


def _disclosed(state: SessionState, e: MutualDisclosed) -> SessionState:
    phase = _phase(state)
    shown = Disclosure(seat=e.seat, item=e.item)
    return replace(state, phase=replace(phase, disclosed=(*phase.disclosed, shown)))


# -- the page ------------------------------------------------------------------------------


def _start(
    spec: MutualRevealSpec, state: SessionState | None
) -> tuple[MutualRevealPhase, list[Event]]:
    return MutualRevealPhase(show_partner_done=spec.show_partner_done), []


def _describe(phase: MutualRevealPhase) -> str:
    return "after the list was revealed" if phase.revealed else "while the partners answer the list"


_REVEAL_RULE: Final = (
    "The mediator will reveal this when you are both done. "
    "Only what neither of you said no to is shown."
)


def _prompt(state: SessionState, seat: Seat) -> Prompt:
    phase = _phase(state)
    if seat == "mediator":
        if phase.revealed:
            return Prompt("mediator", "revealed", "Revealed: talk through what both are open to.")
        if all(p in phase.done for p in PARTNERS):
            return Prompt("mediator", "ready", "Both partners are done: reveal when you are ready.")
        total = len(_spec(state).items)
        counts = ", ".join(
            f"{p} {'done' if p in phase.done else f'{len(_own(phase, p))}/{total}'}"
            for p in PARTNERS
        )
        return Prompt("mediator", "answering", f"The partners answer privately ({counts}).")
    partner = as_partner(seat)
    if phase.revealed:
        text = "Here is what you are both open to."
        if _undisclosed_nos(phase, partner):
            text += " Your own no answers stay private unless you choose to show one."
        return Prompt("partner", "revealed", text)
    if partner in phase.done:
        text = f"Thank you, you are done. {_REVEAL_RULE}"
        if phase.show_partner_done:
            done = other(partner) in phase.done
            text += " Your partner is done too." if done else " Your partner is still answering."
        return Prompt("partner", "done", text)
    left = len(_spec(state).items) - len(_own(phase, partner))
    if left:
        head = f"Answer each item privately: yes, maybe, or no ({left} left)."
        return Prompt("partner", "answering", f"{head} {_REVEAL_RULE}")
    return Prompt(
        "partner", "answered", f"All answered: change any answer, then say done. {_REVEAL_RULE}"
    )


def _view(data: dict[str, Any], seat: Seat) -> None:
    """A partner sees its own answers only, and who is done only where the
    playbook shows it (invariant 9); the mediator sees everything."""
    if seat == "mediator":
        return
    part = data["phase"]
    part["answers"] = [a for a in part["answers"] if a["seat"] == seat]
    if not part["show_partner_done"]:
        part["done"] = [p for p in part["done"] if p == seat]


def _answer_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    return {"max_condition": MAX_CONDITION}


def _disclose_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    """The seat's own nos not shown yet: the items it may disclose."""
    return {"items": _undisclosed_nos(_phase(state), as_partner(seat))}


# -- the model checker ---------------------------------------------------------------------


def _moves(playbook: Playbook, now: float) -> list[Move]:
    """A tiny list of moves: all yes at once, all yes but a no to the first
    item, a maybe with a condition to the first, done, disclose the first, and
    reveal. Which items and in what order does not change what may happen
    next; whether a no was said, and how many items are answered, does."""
    templates: list[Command] = []
    for spec in playbook.phases:
        if not isinstance(spec, MutualRevealSpec):
            continue
        ids = [i.id for i in spec.items]
        first = ids[0]
        templates += [
            AnswerItems(answers=tuple(Reply(item=i, answer="yes") for i in ids)),
            AnswerItems(
                answers=tuple(Reply(item=i, answer="no" if i == first else "yes") for i in ids)
            ),
            AnswerItems(answers=(Reply(item=first, answer="maybe", condition="If we plan it."),)),
            DiscloseNo(item=first),
        ]
    if not templates:
        return []
    unique = list(dict.fromkeys([*templates, FinishList()]))
    moves: list[Move] = [(p, c, False) for p in PARTNERS for c in unique]
    return [*moves, ("mediator", RevealList(), False)]


def _abstract(spec: MutualRevealSpec, phase: MutualRevealPhase) -> Hashable:
    """By counts: per partner none, some or all items answered, whether a no
    was said and is still undisclosed, and whether done."""

    def per(p: Partner) -> Hashable:
        own = _own(phase, p)
        answered = 0 if not own else 2 if len(own) == len(spec.items) else 1
        nos = any(a.answer == "no" for a in own.values())
        return (answered, nos, bool(_undisclosed_nos(phase, p)), p in phase.done)

    return (phase.revealed, per("partner_a"), per("partner_b"))


def _invariants(t: Transition) -> Broken:
    """The two privacy rules. Invariant 9: before the reveal, an answer and the
    fact that a partner is done reach only that partner and the mediator (done:
    unless the playbook shows it), and a partner's view holds only its own
    answers. `consent_to_disclose`: a no reaches the other partner only by its
    author's own `mutual.disclose` of that item."""
    broken: Broken = []
    before = t.before.phase
    if not isinstance(before, MutualRevealPhase):
        return broken
    spec = t.before.playbook.phases[t.before.index]
    assert isinstance(spec, MutualRevealSpec)
    where = t.where
    for e in t.events:
        if isinstance(e, MutualAnswered) and set(e.audience) != {"mediator", e.seat}:
            broken.append(("invariant_9", f"{where}: an answer reaches {e.audience}"))
        if isinstance(e, MutualFinished):
            allowed = set(EVERYONE) if spec.show_partner_done else {"mediator", e.seat}
            if set(e.audience) != allowed:
                broken.append(("invariant_9", f"{where}: 'done' reaches {e.audience}"))
        if isinstance(e, MutualLocked) and e.audience != MEDIATOR_ONLY:
            broken.append(
                ("consent_to_disclose", f"{where}: the locked answers reach {e.audience}")
            )
        if isinstance(e, MutualRevealed):
            nos = {a.item for a in before.answers if a.answer == "no"}
            if any(s.item in nos for s in e.shared):
                broken.append(("consent_to_disclose", f"{where}: the reveal shows a no"))
        if isinstance(e, MutualDisclosed):
            mine = _own(before, e.seat).get(e.item)
            consented = t.kind == "mutual.disclose" and t.actor == e.seat
            if not consented or mine is None or mine.answer != "no":
                broken.append(("consent_to_disclose", f"{where}: a no shown without its author"))
    after = t.after.phase
    if isinstance(after, MutualRevealPhase):
        data = msgspec.to_builtins(after)
        for p in PARTNERS:
            part: dict[str, Any] = {"phase": dict(data)}
            _view(part, p)
            seen = part["phase"]
            if any(a["seat"] != p for a in seen["answers"]):
                broken.append(("invariant_9", f"{where}: {p}'s view shows the other's answers"))
            if not spec.show_partner_done and other(p) in seen["done"]:
                broken.append(("invariant_9", f"{where}: {p}'s view shows that the other is done"))
            if any(
                "no" in (s["partner_a"]["answer"], s["partner_b"]["answer"]) for s in seen["shared"]
            ):
                broken.append(("consent_to_disclose", f"{where}: {p}'s view shows a no"))
    return broken


def _problems(spec: MutualRevealSpec) -> SpecProblems:
    ids = [i.id for i in spec.items]
    twice = repeated(ids)
    if twice:
        return [("items", "duplicate_item", f"item ids used twice: {twice}")]
    return []


# -- the case report -----------------------------------------------------------------------


def _report(
    sessions: Sequence[SessionLog], seen: Sequence[Sequence[Segment]], reader: Seat
) -> list[dict[str, Any]]:
    """Every revealed list of the case: what both were shown, the nos their
    authors disclosed, and (the mediator's only: `mutual.locked` reaches no
    partner) every locked answer, each no and the nos never disclosed."""
    found: list[dict[str, Any]] = []
    for i, (session, segments) in enumerate(zip(sessions, seen, strict=True)):
        for segment in segments:
            texts = _item_texts(session, segment.phase_index)
            for e in segment.events:
                if isinstance(e, MutualRevealed):
                    found.append(_shown(i, segment, e))
                elif isinstance(e, MutualDisclosed) and found:
                    found[-1]["disclosed"].append({"seat": e.seat, "item": e.item, "text": e.text})
                elif isinstance(e, MutualLocked) and found:
                    found[-1]["private"] = _locked_answers(e, texts)
    for entry in found:
        if "private" in entry:
            shown = {(d["seat"], d["item"]) for d in entry["disclosed"]}
            private = entry["private"]
            private["undisclosed_nos"] = [
                no for no in private["nos"] if (no["seat"], no["item"]) not in shown
            ]
    return found


def _item_texts(session: SessionLog, index: int) -> dict[str, str]:
    playbook = session.playbook
    if playbook is None or not 0 <= index < len(playbook.phases):
        return {}
    spec = playbook.phases[index]
    return {item.id: item.text for item in spec.items} if isinstance(spec, MutualRevealSpec) else {}


def _shown(session: int, segment: Segment, e: MutualRevealed) -> dict[str, Any]:
    return {
        "session": session,
        "phase": segment.phase_index,
        "title": segment.title,
        "shared": [
            {
                "item": s.item,
                "text": s.text,
                "partner_a": {"answer": s.partner_a.answer, "condition": s.partner_a.condition},
                "partner_b": {"answer": s.partner_b.answer, "condition": s.partner_b.condition},
            }
            for s in e.shared
        ],
        "disclosed": [],
    }


def _locked_answers(e: MutualLocked, texts: dict[str, str]) -> dict[str, Any]:
    """Every answer as the reveal locked it, per item, and every no."""
    items: dict[str, dict[str, Any]] = {}
    nos = []
    for answer in e.answers:
        text = texts.get(answer.item, answer.item)
        row = items.setdefault(
            answer.item, {"item": answer.item, "text": text, **dict.fromkeys(PARTNERS)}
        )
        row[answer.seat] = {"answer": answer.answer, "condition": answer.condition}
        if answer.answer == "no":
            nos.append({"seat": answer.seat, "item": answer.item, "text": text})
    return {"label": REPORT_PRIVATE, "answers": list(items.values()), "nos": nos}


TYPE: Final = PhaseType(
    name="mutual_reveal",
    report=Reporter("lists", _report),
    spec=MutualRevealSpec,
    state=MutualRevealPhase,
    commands=(AnswerItems, FinishList, RevealList, DiscloseNo),
    evolvers={
        MutualAnswered: _answered,
        MutualFinished: _finished,
        MutualRevealed: _revealed,
        MutualLocked: _locked,
        MutualDisclosed: _disclosed,
    },
    takes={
        AnswerItems: Take(_answer, _gate, hint=_answer_hint),
        FinishList: Take(_finish, _gate),
        RevealList: Take(_reveal, _gate),
        DiscloseNo: Take(_disclose, _gate, hint=_disclose_hint),
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
