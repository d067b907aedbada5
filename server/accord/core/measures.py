"""Measures: short questionnaires defined as data, and how they are scored.

A measure is a list of items answered on a scale of labelled anchors,
scored as a sum (reverse-scored items flipped), with optional bands (cut-offs
with labels) and an optional reliable-change threshold, so that a clinic can
write any instrument it is licensed to use into its playbook without code
(DESIGN.md, "Phases": `measure`; docs/PLAYBOOKS.md says how). One measure
ships with Accord, written for it: `accord-how-are-we-doing`. No published
instrument's item texts ship here.

Pure: the `measure` phase (`phases/measure.py`) asks this module for a
playbook phase's definition and for a submission's score.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Final, Literal, NamedTuple

import msgspec

from accord.core.base import PromptText, Spec, Title, repeated

#: An item's or a measure's id: stable, because reports across a case's
#: sessions match answers by it.
MeasureId = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
AnchorText = Annotated[str, msgspec.Meta(min_length=1, max_length=80)]
Anchors = Annotated[tuple[AnchorText, ...], msgspec.Meta(min_length=2, max_length=11)]
#: An answer's value, in any measure (its anchors narrow it).
Value = Annotated[int, msgspec.Meta(ge=-100, le=100)]


class Item(Spec, frozen=True):
    """One question. `anchors` replaces the measure's own for this item (some
    instruments answer one item on a longer scale)."""

    id: MeasureId
    text: PromptText
    reverse: bool = False
    anchors: tuple[AnchorText, ...] = ()


class Band(Spec, frozen=True):
    """A cut-off: scores from `min` to `max` (both included) read as `label`."""

    min: int
    max: int
    label: Title


class Definition(Spec, frozen=True):
    """A questionnaire: items, answer anchors, scoring, bands, reliable change.

    The anchors' values run from `start` upwards, one per anchor: with
    `start = 0` and five anchors an item is answered 0 to 4. A reverse-scored
    item counts `lowest + highest - answer`. The score is the sum; its range
    runs from every item's lowest to every item's highest."""

    id: MeasureId
    title: Title
    anchors: Anchors
    items: Annotated[tuple[Item, ...], msgspec.Meta(min_length=1, max_length=50)]
    instructions: str = ""
    start: Annotated[int, msgspec.Meta(ge=-10, le=10)] = 0
    scoring: Literal["sum"] = "sum"
    bands: tuple[Band, ...] = ()
    #: The change between two sessions' scores that counts as reliable, in points.
    reliable_change: Annotated[float, msgspec.Meta(gt=0, le=1000)] | None = None
    #: Whether a higher score means things are better (Accord's own measure:
    #: yes). A case report calls a reliable rise an improvement when true, a
    #: reliable fall when false.
    higher_is_better: bool = True
    #: Where the instrument comes from, and under what licence: for reports.
    source: str = ""


class Score(NamedTuple):
    score: int
    band: str  # "" when the measure has no bands
    low: int
    high: int


def item_values(d: Definition, item: Item) -> range:
    """The values an item may be answered with."""
    return range(d.start, d.start + len(item.anchors or d.anchors))


def score_range(d: Definition) -> tuple[int, int]:
    values = [item_values(d, item) for item in d.items]
    return sum(v[0] for v in values), sum(v[-1] for v in values)


def score(d: Definition, answers: Mapping[str, int]) -> Score:
    """The score of a complete, valid set of answers (the phase checks them first)."""
    total = 0
    for item in d.items:
        values, value = item_values(d, item), answers[item.id]
        total += values[0] + values[-1] - value if item.reverse else value
    low, high = score_range(d)
    band = next((b.label for b in d.bands if b.min <= total <= b.max), "")
    return Score(total, band, low, high)


def problems(d: Definition) -> list[tuple[str, str]]:
    """(rule, message) for each inconsistency of a definition, at playbook load."""
    found: list[tuple[str, str]] = []
    ids = [item.id for item in d.items]
    twice = repeated(ids)
    if twice:
        found.append(("duplicate_item", f"measure '{d.id}': item ids used twice: {twice}"))
    for item in d.items:
        if len(item.anchors) == 1:
            found.append(("bad_anchors", f"item '{item.id}': give two anchors or more, or none"))
    low, high = score_range(d)
    edge = low - 1
    for band in sorted(d.bands, key=lambda b: b.min):
        if band.min > band.max or band.min != edge + 1:
            found.append(
                (
                    "bad_bands",
                    f"measure '{d.id}': bands must cover {low}–{high} in order, without gaps "
                    f"or overlaps; '{band.label}' starts at {band.min}",
                )
            )
            break
        edge = band.max
    else:
        if d.bands and edge != high:
            found.append(
                ("bad_bands", f"measure '{d.id}': the bands end at {edge}, the scores at {high}")
            )
    return found


# -- the measure that ships with Accord ------------------------------------------------------

#: Written for Accord, not taken from any published instrument; its bands and
#: its reliable-change threshold are working values for orientation, not
#: validated cut-offs (docs/PLAYBOOKS.md says so to clinicians).
HOW_ARE_WE_DOING: Final = Definition(
    id="accord-how-are-we-doing",
    title="How are we doing?",
    instructions="Thinking of the time since your last session, how true is each of these "
    "for you? Only the mediator sees your answers.",
    anchors=("Not at all true", "A little true", "Somewhat true", "Mostly true", "Completely true"),
    items=(
        Item(id="close", text="I felt close to my partner."),
        Item(id="heard", text="When we disagreed, I felt heard."),
        Item(id="on-guard", text="I felt tense or on guard around my partner.", reverse=True),
        Item(id="time-together", text="We made time for each other."),
        Item(id="ask-for-needs", text="I could say what I need without it turning into a fight."),
        Item(id="let-down", text="I felt let down by my partner.", reverse=True),
        Item(id="hopeful", text="I feel hopeful about where we are heading."),
    ),
    bands=(
        Band(min=0, max=11, label="Struggling"),
        Band(min=12, max=19, label="Mixed"),
        Band(min=20, max=28, label="Doing well"),
    ),
    reliable_change=5.0,
    source="Accord (written for Accord; not a validated instrument)",
)

#: The measures a playbook may name (`measure = "…"`).
SHIPPED: Final[dict[str, Definition]] = {HOW_ARE_WE_DOING.id: HOW_ARE_WE_DOING}
DEFAULT: Final = HOW_ARE_WE_DOING.id
