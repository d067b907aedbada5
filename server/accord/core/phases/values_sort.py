"""Values cards: each partner sorts the deck privately into core, negotiable and
not important; the mediator reveals both sorts side by side when both are done.

Source (docs/PLAYBOOKS.md, `values_sort`; the seed article): an assessment
where each partner says what intimacy means and affords to them, with "values
cards that help partners articulate priorities clearly", and where the
mediator helps them tell "primary values — core beliefs that should remain
nonnegotiable — [from] negotiable preferences", and what shaped them ("past
experiences or cultural messaging").

The rules, each decided here once:

- A card is placed once (`values.sort`, one card or several); sorting a placed
  card again is refused `already_sorted`: a double tap or a retried request
  never rewrites a choice silently. A partner who changes their mind says so
  (`values.move`), and the mediator sees the move as a move.
- A partner may add a few cards of their own (`values.add`, the playbook's
  `max_own_cards`), which they sort like any other, and may note for the
  mediator what shaped a value (`values.note`): a note never reaches the other
  partner, not even after the reveal.
- `values.done` once every card (their own included) is sorted
  (`not_all_sorted` before); it locks the sort (`values_done`).
- Only the mediator reveals (`values.reveal`), once both are done
  (`not_both_done` before). The reveal's event carries the comparison, to
  everyone: the shared core values, the cards core for one and not important
  to the other (where the work is), the negotiable overlap, and each
  partner's own cards with their place.

Privacy (DESIGN.md, invariant 9): every sort, move, own card and note is an
event private to its author and the mediator, and so is `values.done` unless
the playbook shows it (`show_partner_done`). The decider needs each
partner's places to refuse and to reveal, so they are in the phase state;
the seat's view (`_view`) keeps only the seat's own sort there, for a
partner, before and after the reveal (the reveal shows the comparison,
which tells much of the other's sort but not card by card: PLAYBOOKS.md
says what a partner can infer), and the prompt, `may` and hints of a partner depend on
their own sort alone. The notes are in no state at all.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, get_args

import msgspec
from msgspec.structs import replace

from accord.core.base import (
    EVERYONE,
    MEDIATOR,
    PARTNER,
    AdvancePhase,
    Command,
    Event,
    Name,
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
from accord.core.phases.values_deck import ACCORD_DECK
from accord.core.seats import PARTNERS, Actor, Partner, Seat, other

if TYPE_CHECKING:
    from accord.core.schema import Playbook
    from accord.core.state import SessionState

Place = Literal["core", "negotiable", "not_important"]
PLACES: Final[tuple[Place, ...]] = get_args(Place)
#: What each place is called on a page and in refusals.
PLACE_WORDS: Final[dict[Place, str]] = {
    "core": "core (non-negotiable)",
    "negotiable": "negotiable",
    "not_important": "not important",
}

#: A deck card's id: lower case, no dots (a partner's own cards are
#: `partner_a.1`, `partner_a.2`, …, so they never meet a deck card's id).
CardId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
MAX_TITLE: Final = 60
MAX_CARD_TEXT: Final = 200
MAX_NOTE: Final = 1000
CardTitle = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TITLE)]
CardText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_CARD_TEXT)]
OwnText = Annotated[str, msgspec.Meta(max_length=MAX_CARD_TEXT)]
NoteText = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NOTE)]
#: At most this many cards in a deck (the shipped deck and a playbook's own).
MAX_DECK: Final = 100


class ValueCard(Spec, frozen=True):
    """One card of a playbook's deck: `{id, title, text}`."""

    id: CardId
    title: CardTitle
    text: CardText


class ValuesSortSpec(Spec, tag="values_sort", tag_field="type", frozen=True):
    """Values cards sorted privately, revealed side by side (seed article: values cards)."""

    title: Title = "Values cards"
    #: "accord": the cards that ship with Accord (values_deck.py), followed by
    #: `cards`; "none": only `cards`.
    deck: Literal["accord", "none"] = "accord"
    cards: Annotated[tuple[ValueCard, ...], msgspec.Meta(max_length=MAX_DECK)] = ()
    #: How many cards of their own each partner may add.
    max_own_cards: Annotated[int, msgspec.Meta(ge=0, le=10)] = 3
    #: Whether a partner is told that the other is done (else that is private too).
    show_partner_done: bool = False


class OwnCard(State, frozen=True):
    """A card a partner added: private to its author and the mediator until the reveal."""

    id: str
    title: str
    text: str = ""


class PartnerSort(State, frozen=True):
    """One partner's sort: card id → place, their own cards, and whether they are done."""

    places: dict[str, Place] = msgspec.field(default_factory=dict)
    own: tuple[OwnCard, ...] = ()
    done: bool = False


class Split(State, frozen=True):
    """A card core for one partner and not important to the other."""

    card: str
    core_for: Partner


class RevealedCard(State, frozen=True):
    """A partner's own card, as the reveal shows it."""

    seat: Partner
    id: str
    title: str
    text: str
    place: Place


class Comparison(State, frozen=True):
    """What the reveal shows both partners, side by side (deck cards by id)."""

    shared_core: tuple[str, ...] = ()
    core_and_not_important: tuple[Split, ...] = ()
    negotiable_both: tuple[str, ...] = ()
    own: tuple[RevealedCard, ...] = ()


def _fresh_sorts() -> dict[Partner, PartnerSort]:
    return {p: PartnerSort() for p in PARTNERS}


class ValuesSortPhase(PhaseState, tag="values_sort", frozen=True):
    #: The deck as the phase started (the log keeps the cards a session showed,
    #: whatever a later release ships).
    cards: tuple[ValueCard, ...] = ()
    #: The playbook's `show_partner_done`, for the seat's view.
    show_partner_done: bool = False
    #: Each partner's sort: a partner's view holds only its own (`_view`).
    sorts: dict[Partner, PartnerSort] = msgspec.field(default_factory=_fresh_sorts)
    revealed: Comparison | None = None


# -- commands ------------------------------------------------------------------------------


class SortCards(Command, tag="values.sort", frozen=True):
    senders = PARTNER
    words = "sort a card"
    #: card id → place: one card, or several at once.
    cards: Annotated[dict[Name, Place], msgspec.Meta(min_length=1, max_length=MAX_DECK + 10)]


class MoveCard(Command, tag="values.move", frozen=True):
    senders = PARTNER
    words = "move a card"
    card: Name
    place: Place


class AddCard(Command, tag="values.add", frozen=True):
    senders = PARTNER
    words = "add a card of their own"
    title: CardTitle
    text: OwnText = ""


class NoteValue(Command, tag="values.note", frozen=True):
    senders = PARTNER
    words = "note what shaped a value"
    card: Name
    text: NoteText


class DoneSorting(Command, tag="values.done", frozen=True):
    senders = PARTNER
    words = "say they are done sorting"


class RevealValues(Command, tag="values.reveal", frozen=True):
    senders = MEDIATOR
    words = "reveal the values cards"


ValuesCommand = SortCards | MoveCard | AddCard | NoteValue | DoneSorting | RevealValues

# -- events --------------------------------------------------------------------------------


class CardsSorted(Event, tag="values.sorted", frozen=True):
    """Cards placed: the mediator and their author only."""

    seat: Partner
    cards: dict[str, Place]


class CardMoved(Event, tag="values.moved", frozen=True):
    """A card re-sorted (`was` its place before): the mediator and its author only."""

    seat: Partner
    card: str
    place: Place
    was: Place


class CardAdded(Event, tag="values.added", frozen=True):
    """A partner's own card: the mediator and its author only."""

    seat: Partner
    card: OwnCard


class ValueNoted(Event, tag="values.noted", frozen=True):
    """What shaped a value, for the mediator: the mediator and its author, always."""

    seat: Partner
    card: str
    text: str


class SortingDone(Event, tag="values.done", frozen=True):
    """A partner is done: private to them and the mediator unless the playbook shows it."""

    seat: Partner


class ValuesRevealed(Event, tag="values.revealed", frozen=True):
    """The comparison, to everyone."""

    comparison: Comparison


ValuesEvent = CardsSorted | CardMoved | CardAdded | ValueNoted | SortingDone | ValuesRevealed

CODES: Final = {
    "unknown_card": "There is no such card in this deck (or among the partner's own).",
    "already_sorted": "The card is already sorted; move it to change its place.",
    "not_sorted": "The card is not sorted yet; sort it before moving it.",
    "same_place": "The card is already in that place.",
    "too_many_cards": "The partner has added as many cards of their own as the playbook allows.",
    "empty_card": "A card of one's own needs a title.",
    "empty_note": "A note needs some words.",
    "not_all_sorted": "Every card must be sorted before the partner is done.",
    "values_done": "The partner said they are done: their sort is locked.",
    "not_both_done": "Both partners must be done sorting before the reveal.",
    "values_revealed": "The values cards have been revealed already.",
}

# -- the deck and each partner's sort ------------------------------------------------------

_ACCORD: Final[tuple[ValueCard, ...]] = tuple(
    ValueCard(id=i, title=title, text=text) for i, title, text in ACCORD_DECK
)


def deck(spec: ValuesSortSpec) -> tuple[ValueCard, ...]:
    """The cards a phase deals: the shipped deck (unless "none"), then the playbook's."""
    return (_ACCORD if spec.deck == "accord" else ()) + spec.cards


@functools.lru_cache(maxsize=64)
def _ids(cards: tuple[ValueCard, ...]) -> frozenset[str]:
    return frozenset(c.id for c in cards)


def _phase(state: SessionState) -> ValuesSortPhase:
    return current(state, ValuesSortPhase)


def _spec(state: SessionState) -> ValuesSortSpec:
    return current_spec(state, ValuesSortSpec)


def _own_ids(sort: PartnerSort) -> frozenset[str]:
    return frozenset(c.id for c in sort.own)


def _unsorted(phase: ValuesSortPhase, sort: PartnerSort) -> list[str]:
    """The cards a partner has still to sort, the deck's first, then their own."""
    ids = [c.id for c in phase.cards] + [c.id for c in sort.own]
    return [i for i in ids if i not in sort.places]


def _known(phase: ValuesSortPhase, sort: PartnerSort, card: str) -> bool:
    return card in _ids(phase.cards) or card in _own_ids(sort)


def _sort_of(state: SessionState, actor: Actor) -> PartnerSort:
    return _phase(state).sorts[as_partner(actor)]


# -- the gate: what a seat may do whatever the fields say ----------------------------------

_DONE: Final = Stop("values_done", "now: they said they are done, and their sort is locked")
_ALL_SORTED: Final = Stop("already_sorted", "now: every card is sorted (move one instead)")
_NONE_SORTED: Final = Stop("not_sorted", "now: no card is sorted yet")
_REVEALED: Final = Stop("values_revealed", "again: the cards are revealed")
_NOT_BOTH: Final = Stop("not_both_done", "yet: both partners must be done sorting")


def _not_all_sorted(state: SessionState, command: object) -> str:
    return "yet: some cards are not sorted"  # the count is the seat's own (prompt)


def _too_many(state: SessionState, command: object) -> str:
    n = _spec(state).max_own_cards
    return f"now: at most {n} of their own" if n else "in this playbook: it offers none"


def _partner_gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    """The partner's own sort decides; never the other partner's (invariant 9)."""
    sort = _sort_of(state, actor)
    if kind is NoteValue:
        return None  # a note for the mediator is welcome until the phase ends
    if sort.done:
        return _DONE
    phase = _phase(state)
    if kind is SortCards and not _unsorted(phase, sort):
        return _ALL_SORTED
    if kind is MoveCard and not sort.places:
        return _NONE_SORTED
    if kind is AddCard and len(sort.own) >= _spec(state).max_own_cards:
        return Stop("too_many_cards", _too_many)
    if kind is DoneSorting and _unsorted(phase, sort):
        return Stop("not_all_sorted", _not_all_sorted)
    return None


def _reveal_gate(state: SessionState, actor: Actor, kind: type[Command]) -> Stop | None:
    phase = _phase(state)
    if phase.revealed is not None:
        return _REVEALED
    if not all(s.done for s in phase.sorts.values()):
        return _NOT_BOTH
    return None


def _early(state: SessionState) -> bool:
    """Leaving before the reveal is an override (the partners' work would go unseen)."""
    return _phase(state).revealed is None


# -- handlers: they refuse on field values only --------------------------------------------


def _sort(state: SessionState, c: SortCards, actor: Actor, now: float) -> list[Event]:
    partner = as_partner(actor)
    phase = _phase(state)
    sort = phase.sorts[partner]
    for card in c.cards:
        if not _known(phase, sort, card):
            raise refuse("unknown_card", actor, c, f"'{card}': no such card")
        if card in sort.places:
            where = PLACE_WORDS[sort.places[card]]
            raise refuse("already_sorted", actor, c, f"'{card}' again: it is {where}; move it")
    return [CardsSorted(seat=partner, cards=dict(c.cards), audience=private_to(partner))]


def _move(state: SessionState, c: MoveCard, actor: Actor, now: float) -> list[Event]:
    partner = as_partner(actor)
    phase = _phase(state)
    sort = phase.sorts[partner]
    if not _known(phase, sort, c.card):
        raise refuse("unknown_card", actor, c, f"'{c.card}': no such card")
    was = sort.places.get(c.card)
    if was is None:
        raise refuse("not_sorted", actor, c, f"'{c.card}': it is not sorted yet")
    if was == c.place:
        raise refuse("same_place", actor, c, f"'{c.card}': it is {PLACE_WORDS[was]} already")
    return [
        CardMoved(seat=partner, card=c.card, place=c.place, was=was, audience=private_to(partner))
    ]


def _add(state: SessionState, c: AddCard, actor: Actor, now: float) -> list[Event]:
    partner = as_partner(actor)
    title = c.title.strip()
    if not title:
        raise refuse("empty_card", actor, c, "without a title")
    sort = _phase(state).sorts[partner]
    card = OwnCard(id=f"{partner}.{len(sort.own) + 1}", title=title, text=c.text.strip())
    return [CardAdded(seat=partner, card=card, audience=private_to(partner))]


def _note(state: SessionState, c: NoteValue, actor: Actor, now: float) -> list[Event]:
    partner = as_partner(actor)
    phase = _phase(state)
    if not _known(phase, phase.sorts[partner], c.card):
        raise refuse("unknown_card", actor, c, f"'{c.card}': no such card")
    text = c.text.strip()
    if not text:
        raise refuse("empty_note", actor, c, "without any words")
    return [ValueNoted(seat=partner, card=c.card, text=text, audience=private_to(partner))]


def _done(state: SessionState, c: DoneSorting, actor: Actor, now: float) -> list[Event]:
    partner = as_partner(actor)
    shown = _phase(state).show_partner_done
    return [SortingDone(seat=partner, audience=EVERYONE if shown else private_to(partner))]


def compare(phase: ValuesSortPhase) -> Comparison:
    """The reveal: both sorts side by side, in the deck's order."""
    a, b = (phase.sorts[p].places for p in PARTNERS)
    shared, split, negotiable = [], [], []
    for card in phase.cards:
        pair = (a.get(card.id), b.get(card.id))
        if pair == ("core", "core"):
            shared.append(card.id)
        elif pair == ("negotiable", "negotiable"):
            negotiable.append(card.id)
        elif set(pair) == {"core", "not_important"}:
            split.append(Split(card=card.id, core_for=PARTNERS[pair.index("core")]))
    own = [
        RevealedCard(seat=p, id=o.id, title=o.title, text=o.text, place=phase.sorts[p].places[o.id])
        for p in PARTNERS
        for o in phase.sorts[p].own
        if o.id in phase.sorts[p].places
    ]
    return Comparison(
        shared_core=tuple(shared),
        core_and_not_important=tuple(split),
        negotiable_both=tuple(negotiable),
        own=tuple(own),
    )


def _reveal(state: SessionState, c: RevealValues, actor: Actor, now: float) -> list[Event]:
    return [ValuesRevealed(comparison=compare(_phase(state)))]


def _advance(state: SessionState, c: AdvancePhase, actor: Actor, now: float) -> list[Event]:
    if _early(state):
        reason = require_reason(c.reason, actor, c, "leaving before the reveal")
        return [PhaseEnded(index=state.index, by=actor, reason=reason)]
    return [PhaseEnded(index=state.index, by=actor, reason=c.reason.strip())]


# -- evolvers: they only apply -------------------------------------------------------------


def _with_sort(state: SessionState, partner: Partner, sort: PartnerSort) -> SessionState:
    phase = _phase(state)
    return replace(state, phase=replace(phase, sorts={**phase.sorts, partner: sort}))


def _sorted(state: SessionState, e: CardsSorted) -> SessionState:
    sort = _phase(state).sorts[e.seat]
    return _with_sort(state, e.seat, replace(sort, places={**sort.places, **e.cards}))


def _moved(state: SessionState, e: CardMoved) -> SessionState:
    sort = _phase(state).sorts[e.seat]
    return _with_sort(state, e.seat, replace(sort, places={**sort.places, e.card: e.place}))


def _added(state: SessionState, e: CardAdded) -> SessionState:
    sort = _phase(state).sorts[e.seat]
    return _with_sort(state, e.seat, replace(sort, own=(*sort.own, e.card)))


def _noted(state: SessionState, e: ValueNoted) -> SessionState:
    return state  # a note lives in its event only: the mediator reads it there


def _done_sorting(state: SessionState, e: SortingDone) -> SessionState:
    sort = _phase(state).sorts[e.seat]
    return _with_sort(state, e.seat, replace(sort, done=True))


def _revealed(state: SessionState, e: ValuesRevealed) -> SessionState:
    return replace(state, phase=replace(_phase(state), revealed=e.comparison))


# -- what each seat is told and shown ------------------------------------------------------


def _start(spec: ValuesSortSpec, state: SessionState | None) -> tuple[ValuesSortPhase, list[Event]]:
    return ValuesSortPhase(cards=deck(spec), show_partner_done=spec.show_partner_done), []


def _describe(phase: ValuesSortPhase) -> str:
    if phase.revealed is not None:
        return "after the values cards were revealed"
    return "while the partners sort the values cards"


def _progress(phase: ValuesSortPhase, partner: Partner) -> str:
    sort = phase.sorts[partner]
    if sort.done:
        return f"{partner} is done"
    total = len(phase.cards) + len(sort.own)
    return f"{partner} has sorted {len(sort.places)} of {total}"


def _prompt(state: SessionState, seat: Seat) -> Prompt:
    phase = _phase(state)
    if seat == "mediator":
        if phase.revealed is not None:
            return Prompt("mediator", "revealed", "The cards are revealed: go on when ready.")
        if all(s.done for s in phase.sorts.values()):
            return Prompt("mediator", "ready", "Both partners are done: reveal the cards.")
        progress = "; ".join(_progress(phase, p) for p in PARTNERS)
        return Prompt("mediator", "sorting", f"The partners sort their cards ({progress}).")
    sort = phase.sorts[as_partner(seat)]
    if phase.revealed is not None:
        return Prompt("partner", "revealed", "Your cards and your partner's, side by side.")
    if sort.done:
        text = "Thank you. The mediator will reveal this when you are both done."
        if phase.show_partner_done and phase.sorts[other(as_partner(seat))].done:
            text = "You are both done. The mediator will reveal the cards soon."
        return Prompt("partner", "done", text)
    left = len(_unsorted(phase, sort))
    if left:
        text = f"Sort each card: core, negotiable or not important ({left} to go)."
    else:
        text = "Every card is sorted. Say you are done when you are happy with it."
    return Prompt("partner", "sorting", text)


def _view(data: dict[str, Any], seat: Seat) -> None:
    """A partner sees only its own sort, before and after the reveal (the reveal
    shows the comparison), and whether the other is done only where the
    playbook says so."""
    if seat == "mediator":
        return
    phase = data["phase"]
    sorts = phase["sorts"]
    if phase["show_partner_done"]:
        phase["partner_done"] = sorts[other(seat)]["done"]
    phase["sorts"] = {seat: sorts[seat]}


def _sort_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    return {"places": list(PLACES), "unsorted": _unsorted(_phase(state), _sort_of(state, seat))}


def _add_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    left = _spec(state).max_own_cards - len(_sort_of(state, seat).own)
    return {"left": left, "max_title": MAX_TITLE, "max_text": MAX_CARD_TEXT}


def _note_hint(state: SessionState, seat: Seat) -> dict[str, Any]:
    return {"max_chars": MAX_NOTE}


def _problems(spec: ValuesSortSpec) -> SpecProblems:
    problems: SpecProblems = []
    cards = deck(spec)
    if not cards:
        problems.append(("deck", "empty_deck", 'deck = "none" needs cards of its own'))
    ids = [c.id for c in cards]
    twice = repeated(ids)
    if twice:
        problems.append(
            ("cards", "duplicate_card", f"card ids must differ: {', '.join(twice)} twice")
        )
    if len(cards) > MAX_DECK:
        problems.append(("cards", "deck_too_large", f"{len(cards)} cards; at most {MAX_DECK}"))
    return problems


# -- the model checker ---------------------------------------------------------------------
#
# The abstraction counts: for each partner, whether a card is sorted, whether
# none, one or more are left to sort, whether they added a card (and reached
# the limit), and whether they are done; and whether the cards are revealed.
# The templates name a few cards only: the first, the second, the rest at
# once and a partner's own cards, so a session reaches "every card sorted" in
# a few steps whatever the deck's size (a representative state with one card
# left has a template for that card).

#: Each partner's places in the templates: the first card, the second, the rest.
_PATTERN: Final[dict[Partner, tuple[Place, Place, Place]]] = {
    "partner_a": ("core", "negotiable", "negotiable"),
    "partner_b": ("core", "not_important", "core"),
}


def _moves(playbook: Playbook, now: float) -> list[Move]:
    moves: list[Move] = []
    specs = [s for s in playbook.phases if isinstance(s, ValuesSortSpec) and deck(s)]
    for spec in specs:
        ids = [c.id for c in deck(spec)]
        for p in PARTNERS:
            first, second, rest = _PATTERN[p]
            own = f"{p}.1"
            templates: list[Command] = [
                SortCards(cards={ids[0]: first}),
                *(SortCards(cards={f"{p}.{n}": "core"}) for n in range(1, spec.max_own_cards + 1)),
                AddCard(title="Morning walks together", text="Time side by side."),
                NoteValue(card=ids[0], text="From my parents' marriage."),
                DoneSorting(),
            ]
            if len(ids) > 1:
                templates += [
                    SortCards(cards={ids[1]: second}),
                    SortCards(cards=dict.fromkeys(ids[1:], rest)),
                ]
            templates += [
                MoveCard(card=card, place=place)
                for card in (*ids[:2], own)
                for place in ("negotiable", "not_important")
            ]
            moves += [(p, c, False) for c in templates]
        moves.append(("mediator", RevealValues(), False))
    return moves


def _abstract(spec: ValuesSortSpec, phase: ValuesSortPhase) -> Hashable:
    def partner(p: Partner) -> Hashable:
        sort = phase.sorts[p]
        left = len(_unsorted(phase, sort))
        full = len(sort.own) >= spec.max_own_cards
        return (bool(sort.places), min(left, 2), min(len(sort.own), 1), full, sort.done)

    return (partner("partner_a"), partner("partner_b"), phase.revealed is not None)


#: The events about one partner's sort: never to the other partner (invariant 9).
_PRIVATE: Final = (CardsSorted, CardMoved, CardAdded, ValueNoted)


def _invariants(t: Transition) -> Broken:
    """Invariant 9: nothing of a partner's sort reaches the other before the
    reveal (the notes never); the reveal only once both are done."""
    broken: Broken = []
    phase = t.before.phase
    shown = isinstance(phase, ValuesSortPhase) and phase.show_partner_done
    for e in t.events:
        if isinstance(e, _PRIVATE) and set(e.audience) != {"mediator", e.seat}:
            broken.append(("invariant_9", f"{t.where}: {e.seat}'s sort reaches {e.audience}"))
        if isinstance(e, SortingDone) and other(e.seat) in e.audience and not shown:
            broken.append(("invariant_9", f"{t.where}: {e.seat}'s 'done' reaches {e.audience}"))
        if isinstance(e, ValuesRevealed) and not (
            isinstance(phase, ValuesSortPhase) and all(s.done for s in phase.sorts.values())
        ):
            broken.append(("invariant_9", f"{t.where}: a reveal before both were done"))
    return broken


# -- the case report -----------------------------------------------------------------------


def _report(
    sessions: Sequence[SessionLog], seen: Sequence[Sequence[Segment]], reader: Seat
) -> dict[str, Any] | None:
    """The latest values reveal of the case, with the cards' titles."""
    latest: dict[str, Any] | None = None
    for i, session in enumerate(seen):
        titles: dict[str, str] = {}
        for segment in session:
            if isinstance(segment.phase, ValuesSortPhase):
                titles.update({card.id: card.title for card in segment.phase.cards})
            for e in segment.events:
                if isinstance(e, ValuesRevealed):
                    latest = _reveal_report(i, e.comparison, titles)
    return latest


def _reveal_report(session: int, c: Comparison, titles: dict[str, str]) -> dict[str, Any]:
    names = {**titles, **{card.id: card.title for card in c.own}}

    def card(card_id: str) -> dict[str, str]:
        return {"id": card_id, "title": names.get(card_id, card_id)}

    return {
        "session": session,
        "shared_core": [card(x) for x in c.shared_core],
        "core_and_not_important": [
            {**card(s.card), "core_for": s.core_for} for s in c.core_and_not_important
        ],
        "negotiable_both": [card(x) for x in c.negotiable_both],
        "own": [
            {"seat": o.seat, "id": o.id, "title": o.title, "text": o.text, "place": o.place}
            for o in c.own
        ],
    }


TYPE: Final = PhaseType(
    name="values_sort",
    report=Reporter("values", _report),
    spec=ValuesSortSpec,
    state=ValuesSortPhase,
    commands=ValuesCommand.__args__,
    evolvers={
        CardsSorted: _sorted,
        CardMoved: _moved,
        CardAdded: _added,
        ValueNoted: _noted,
        SortingDone: _done_sorting,
        ValuesRevealed: _revealed,
    },
    takes={
        SortCards: Take(_sort, _partner_gate, hint=_sort_hint),
        MoveCard: Take(_move, _partner_gate),
        AddCard: Take(_add, _partner_gate, hint=_add_hint),
        NoteValue: Take(_note, _partner_gate, hint=_note_hint),
        DoneSorting: Take(_done, _partner_gate),
        RevealValues: Take(_reveal, _reveal_gate),
        AdvancePhase: Take(_advance, override=_early),
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
