"""A case's report: what its sessions' records say, across sessions, for one reader.

The console's case page draws its progress from this (docs/API.md, "GET
/api/cases/{id}/report"): each partner's comfort per scenario over the
sessions, each partner's questionnaire score per session with the gap between
them and reliable change, the latest values reveal, and every list reveal.

Why one function for every reader: "reports meant for partners carry only what
partners saw" (issue 11). The report is built only from events whose audience
holds the reader, so a partner's report cannot carry what never reached that
partner: not the other's ratings or scores (unless the playbook shared them),
not a no that was not disclosed. The mediator's report adds the locked list
answers, marked private. Pure: the API reads the logs and hands them here.

Reading the records, not the state: a rating is "the last one before done"
(a later `comfort.rated` for the same scenario replaces an earlier one, and
none can follow `comfort.finished`), and a score is the core's own
`measure.scored`, with the measure's range and reliable-change threshold.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Final, NamedTuple

from accord.core.base import Event
from accord.core.phases.comfort_scale import SCALE, ComfortScalePhase, ScenarioRated
from accord.core.phases.measure import MeasurePhase, MeasureScored
from accord.core.phases.mutual_reveal import (
    MutualDisclosed,
    MutualLocked,
    MutualRevealed,
    MutualRevealSpec,
)
from accord.core.phases.values_sort import ValuesRevealed, ValuesSortPhase
from accord.core.schema import Playbook
from accord.core.seats import PARTNERS, Partner, Seat
from accord.core.session import PhaseStarted

#: The label on everything in a report that only the mediator ever saw.
PRIVATE: Final = "private: mediator only"

#: Measures whose higher scores are worse. Accord's own measure is scored so
#: that a higher score is better (its reverse items are flipped), and so is a
#: measure not named here: a rise is an improvement.
LOWER_IS_BETTER: Final[frozenset[str]] = frozenset()


class SessionLog(NamedTuple):
    """One session of the case: its facts and its events in log order, each
    with the time it was recorded. `playbook` is the playbook it was created
    with (None when it cannot be read back): the list items' texts."""

    id: str
    title: str
    playbook_name: str
    created_at: float
    status: str
    playbook: Playbook | None
    events: Sequence[tuple[float, Event]]


def build(sessions: Sequence[SessionLog], reader: Seat) -> dict[str, Any]:
    """The report of `sessions` (the case's, oldest first) for `reader`."""
    seen = [[e for _, e in s.events if reader in e.audience] for s in sessions]
    report: dict[str, Any] = {
        "for": reader,
        "sessions": [
            {
                "index": i,
                "session_id": s.id,
                "title": s.title,
                "playbook": s.playbook_name,
                "created_at": s.created_at,
                "status": s.status,
            }
            for i, s in enumerate(sessions)
        ],
        "comfort": _comfort(seen),
        "measures": _measures(seen),
        "values": _values(seen),
        "lists": [],
    }
    for i, (s, events) in enumerate(zip(sessions, seen, strict=True)):
        report["lists"] += _lists(i, s.playbook, events, reader)
    return report


def _nobody() -> dict[str, Any]:
    return dict.fromkeys(PARTNERS)


# -- comfort --------------------------------------------------------------------------------


def _comfort(seen: list[list[Event]]) -> dict[str, Any]:
    """Per scenario, each partner's last rating in each session that has one."""
    texts: dict[str, str] = {}
    ratings: list[dict[tuple[Partner, str], int]] = []
    for events in seen:
        last: dict[tuple[Partner, str], int] = {}
        for e in events:
            if isinstance(e, PhaseStarted) and isinstance(e.phase, ComfortScalePhase):
                for shown in e.phase.scenarios:
                    texts.setdefault(shown.id, shown.text)
            elif isinstance(e, ScenarioRated):
                last[(e.seat, e.scenario)] = e.value
                texts.setdefault(e.scenario, e.scenario)
        ratings.append(last)
    rated = [i for i, last in enumerate(ratings) if last]
    scenarios = []
    for scenario, text in texts.items():
        entry: dict[str, Any] = {"id": scenario, "text": text}
        for p in PARTNERS:
            entry[p] = [ratings[i].get((p, scenario)) for i in rated]
        if any(v is not None for p in PARTNERS for v in entry[p]):
            scenarios.append(entry)
    return {"scale": list(SCALE), "sessions": rated, "scenarios": scenarios}


# -- measures -------------------------------------------------------------------------------


def _measures(seen: list[list[Event]]) -> list[dict[str, Any]]:
    """Per measure: the sessions with a score, each partner's score and band,
    the gap, and reliable change from one scored session to the next."""
    titles: dict[str, str] = {}
    found: dict[str, dict[str, Any]] = {}
    for i, events in enumerate(seen):
        for e in events:
            if isinstance(e, PhaseStarted) and isinstance(e.phase, MeasurePhase):
                titles.setdefault(e.phase.definition.id, e.phase.definition.title)
            elif isinstance(e, MeasureScored):
                measure = found.setdefault(
                    e.measure,
                    {"measure": e.measure, "low": e.low, "high": e.high, "rows": {}},
                )
                measure["reliable_change"] = e.reliable_change
                row = measure["rows"].setdefault(i, {"session": i, **_nobody()})
                row[e.seat] = {"score": e.score, "band": e.band}
    result = []
    for measure_id, measure in found.items():
        rows = [measure["rows"][i] for i in sorted(measure["rows"])]
        for row in rows:
            a, b = row["partner_a"], row["partner_b"]
            row["gap"] = abs(a["score"] - b["score"]) if a and b else None
        higher = measure_id not in LOWER_IS_BETTER
        result.append(
            {
                "measure": measure_id,
                "title": titles.get(measure_id, measure_id),
                "low": measure["low"],
                "high": measure["high"],
                "reliable_change": measure["reliable_change"],
                "higher_is_better": higher,
                "rows": rows,
                "changes": _changes(rows, measure["reliable_change"], higher),
            }
        )
    return result


def _changes(
    rows: list[dict[str, Any]], threshold: float | None, higher_is_better: bool
) -> list[dict[str, Any]]:
    """Each partner's change between consecutive sessions with a score."""
    changes = []
    for p in PARTNERS:
        scored = [(row["session"], row[p]["score"]) for row in rows if row[p]]
        for (before, old), (after, new) in itertools.pairwise(scored):
            delta = new - old
            if threshold is None:
                verdict = "no reliable-change threshold"
            elif abs(delta) < threshold:
                verdict = "no reliable change"
            elif (delta > 0) == higher_is_better:
                verdict = "reliable improvement"
            else:
                verdict = "reliable deterioration"
            changes.append(
                {"seat": p, "from": before, "to": after, "delta": delta, "verdict": verdict}
            )
    return changes


# -- values and lists -----------------------------------------------------------------------


def _values(seen: list[list[Event]]) -> dict[str, Any] | None:
    """The latest values reveal, with the cards' titles."""
    latest: dict[str, Any] | None = None
    for i, events in enumerate(seen):
        titles: dict[str, str] = {}
        for e in events:
            if isinstance(e, PhaseStarted) and isinstance(e.phase, ValuesSortPhase):
                titles.update({card.id: card.title for card in e.phase.cards})
            elif isinstance(e, ValuesRevealed):
                c = e.comparison
                titles.update({card.id: card.title for card in c.own})

                def card(card_id: str, names: dict[str, str] = titles) -> dict[str, str]:
                    return {"id": card_id, "title": names.get(card_id, card_id)}

                latest = {
                    "session": i,
                    "shared_core": [card(x) for x in c.shared_core],
                    "core_and_not_important": [
                        {**card(s.card), "core_for": s.core_for} for s in c.core_and_not_important
                    ],
                    "negotiable_both": [card(x) for x in c.negotiable_both],
                    "own": [
                        {
                            "seat": o.seat,
                            "id": o.id,
                            "title": o.title,
                            "text": o.text,
                            "place": o.place,
                        }
                        for o in c.own
                    ],
                }
    return latest


def _list_texts(playbook: Playbook | None, index: int) -> dict[str, str]:
    if playbook is None or not 0 <= index < len(playbook.phases):
        return {}
    spec = playbook.phases[index]
    return {item.id: item.text for item in spec.items} if isinstance(spec, MutualRevealSpec) else {}


def _lists(
    session: int, playbook: Playbook | None, events: list[Event], reader: Seat
) -> list[dict[str, Any]]:
    """Each revealed list of one session: what both were shown, the nos their
    authors disclosed, and (the mediator's only) every locked answer."""
    found: list[dict[str, Any]] = []
    index, title = -1, ""
    for e in events:
        if isinstance(e, PhaseStarted):
            index, title = e.index, e.title
        elif isinstance(e, MutualRevealed):
            found.append(
                {
                    "session": session,
                    "phase": index,
                    "title": title,
                    "shared": [
                        {
                            "item": s.item,
                            "text": s.text,
                            "partner_a": {
                                "answer": s.partner_a.answer,
                                "condition": s.partner_a.condition,
                            },
                            "partner_b": {
                                "answer": s.partner_b.answer,
                                "condition": s.partner_b.condition,
                            },
                        }
                        for s in e.shared
                    ],
                    "disclosed": [],
                }
            )
        elif isinstance(e, MutualDisclosed) and found:
            found[-1]["disclosed"].append({"seat": e.seat, "item": e.item, "text": e.text})
        elif isinstance(e, MutualLocked) and found and reader == "mediator":
            found[-1]["private"] = _locked(e, _list_texts(playbook, index))
    for entry in found:
        if "private" in entry:
            shown = {(d["seat"], d["item"]) for d in entry["disclosed"]}
            private = entry["private"]
            private["undisclosed_nos"] = [
                no for no in private["nos"] if (no["seat"], no["item"]) not in shown
            ]
    return found


def _locked(e: MutualLocked, texts: dict[str, str]) -> dict[str, Any]:
    """Every answer as the reveal locked it, per item, and every no."""
    items: dict[str, dict[str, Any]] = {}
    nos = []
    for answer in e.answers:
        text = texts.get(answer.item, answer.item)
        row = items.setdefault(answer.item, {"item": answer.item, "text": text, **_nobody()})
        row[answer.seat] = {"answer": answer.answer, "condition": answer.condition}
        if answer.answer == "no":
            nos.append({"seat": answer.seat, "item": answer.item, "text": text})
    return {"label": PRIVATE, "answers": list(items.values()), "nos": nos}
