"""Helpers shared by the core tests: playbooks, a fake clock and a session driver.

The core is pure, so a "session" here is only a state, a log and a clock: every
command goes through the real `decide` and every event through the real
`evolve`, exactly as the hub will drive them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest

import accord
from accord.core.commands import (
    Admit,
    AdvancePhase,
    AnyCommand,
    CallTimeOut,
    ConfirmParaphrase,
    EndTimeOut,
    MakeStatement,
    Paraphrase,
    parse_command,
)
from accord.core.decide import decide
from accord.core.errors import Rejected
from accord.core.events import AnyEvent
from accord.core.evolve import evolve
from accord.core.phases.comfort_scale import ComfortScaleSpec
from accord.core.phases.measure import MeasureSpec, definition
from accord.core.phases.mutual_reveal import MutualRevealSpec
from accord.core.phases.values_sort import ValuesSortSpec, deck
from accord.core.playbook import Playbook, load_playbook, parse_playbook
from accord.core.seats import PARTNERS, Actor, Partner, Seat, other
from accord.core.state import DialoguePhase, SessionState, initial_state

PROTOCOLS: Final = Path(accord.__file__).resolve().parents[2] / "protocols"
SHIPPED: Final = ("check-in", "imago-dialogue", "speaker-listener")
#: Every Imago listener step, in order.
STEPS: Final = ("summary", "validation", "empathy")
#: The fake clock starts here (unix seconds, Nov 2023): far from 0 on purpose.
T0: Final = 1_700_000_000.0


def shipped(name: str) -> Playbook:
    """A shipped playbook, loaded (and explored) the way the server loads it."""
    path = PROTOCOLS / f"{name}.toml"
    return load_playbook(path.read_text(encoding="utf-8"), str(path))


def playbook_source(
    *,
    dialogue: str = 'ends = "mediator"',
    time_out: str = "default_minutes = 20\nmin_minutes = 5\nmax_minutes = 60",
    extra_phases: str = "",
) -> str:
    """A small lobby → dialogue → debrief playbook; the arguments are TOML lines."""
    return (
        'name = "test"\n'
        'title = "Test"\n'
        "\n"
        "[time_out]\n"
        f"{time_out}\n"
        "\n"
        "[[phases]]\n"
        'type = "lobby"\n'
        "\n"
        "[[phases]]\n"
        'type = "dialogue"\n'
        f"{dialogue}\n"
        f"{extra_phases}"
        "\n"
        "[[phases]]\n"
        'type = "debrief"\n'
        'prompts = ["How do you feel, 0 to 10?"]\n'
    )


#: A test playbook with what the shipped ones lack: a chaired floor (no round
#: robin), scheduled breaks every 20 minutes, and a second dialogue without
#: the paraphrase gate.
CHAIRED_TWO_DIALOGUES: Final = """\
name = "chaired"
title = "Chaired, then free"

[time_out]
default_minutes = 15
min_minutes = 5
max_minutes = 45
every_minutes = 20

[[phases]]
type = "lobby"

[[phases]]
type = "dialogue"
title = "Chaired dialogue"
auto_round_robin = false
clarifying_questions = true
statement_max_chars = 200
ends = "mediator"

[[phases]]
type = "dialogue"
title = "Free round"
paraphrase_required = false
first_speaker = "partner_b"
ends = "rounds"
rounds = 1

[[phases]]
type = "debrief"
"""


#: A yes / maybe / no list of three items, for `playbook_source(extra_phases=…)`
#: (after the dialogue).
MUTUAL_REVEAL_PHASE: Final = """
[[phases]]
type = "mutual_reveal"
items = [
  { id = "check-in", text = "A weekly check-in about our intimacy" },
  { id = "signal", text = "A safe word or signal" },
  { id = "affection", text = "More physical affection outside sex" },
]
"""


def custom(**kwargs: str) -> Playbook:
    """A test playbook, schema-checked but not explored (fast)."""
    return parse_playbook(playbook_source(**kwargs), "test.toml")[0]


class Session:
    """One session driven by hand with a fake clock."""

    def __init__(self, playbook: Playbook, now: float = T0) -> None:
        self.playbook = playbook
        self.state: SessionState = initial_state(playbook)
        self.now = now
        self.log: list[AnyEvent] = []

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60

    def do(self, actor: Actor, command: AnyCommand | dict[str, Any]) -> list[AnyEvent]:
        """Send a command that must be accepted; apply and return its events."""
        if isinstance(command, dict):
            command = parse_command(command)
        events = decide(self.state, command, actor, self.now)
        assert events, "an accepted command always records at least one event"
        for event in events:
            self.state = evolve(self.state, event)
        self.log += events
        return events

    def refuse(self, actor: Actor, command: AnyCommand | dict[str, Any], code: str) -> str:
        """Send a command that must be refused with `code`; return the message.

        A refusal changes nothing, and its message names the seat and the act.
        """
        if isinstance(command, dict):
            command = parse_command(command)
        before = self.state
        with pytest.raises(Rejected) as info:
            decide(self.state, command, actor, self.now)
        assert info.value.code == code, info.value
        assert self.state is before
        message = info.value.message
        assert message.startswith(f"{actor} may not {command.words}"), message
        return message

    def types(self, events: list[AnyEvent] | None = None) -> list[str]:
        from accord.core.events import event_type

        return [event_type(e) for e in (self.log if events is None else events)]

    def start(self) -> None:
        """Admit both partners and open the first phase after the lobby."""
        self.do("mediator", Admit(seat="partner_a"))
        self.do("mediator", Admit(seat="partner_b"))
        self.do("mediator", AdvancePhase())


def d(s: Session) -> DialoguePhase:
    """The session's dialogue phase (it must be in one)."""
    phase = s.state.phase
    assert isinstance(phase, DialoguePhase)
    return phase


def started(playbook: Playbook | None = None) -> Session:
    """A session of `playbook` (speaker-listener) past its lobby."""
    s = Session(playbook or shipped("speaker-listener"))
    s.start()
    return s


def mirrored(s: Session, speaker: Partner, text: str = "I felt alone on Friday.") -> None:
    """A statement, its paraphrase and the speaker's confirmation."""
    s.do(speaker, MakeStatement(text=text))
    s.do(other(speaker), Paraphrase(text="You felt alone on Friday."))
    s.do(speaker, ConfirmParaphrase())


def in_debrief_after_time_out() -> Session:
    """Speaker-listener, a statement awaiting its paraphrase, then a time-out
    that has ended: its debrief stands."""
    s = started()
    s.do("partner_a", MakeStatement(text="I felt alone."))
    s.do("partner_b", CallTimeOut(reason="Too much."))
    s.do("mediator", EndTimeOut())
    return s


Secret = Callable[[tuple[Seat, ...]], str]

#: The commands of a session's normal flow: no new time-out, override, note or end.
FLOW: Final = frozenset(
    {
        "admit",
        "phase.advance",
        "floor.request",
        "floor.grant",
        "statement",
        "paraphrase",
        "question",
        "answer",
        "paraphrase.confirm",
        "paraphrase.correct",
        "yield",
        "reflect",
        "debrief.answer",
        "timeout.end",
        "mutual.answer",
        "mutual.done",
        "mutual.reveal",
        "mutual.disclose",
        "values.sort",
        "values.add",
        "values.move",
        "values.done",
        "values.reveal",
        "comfort.rate",
        "comfort.done",
        "measure.submit",
    }
)


def moves(
    playbook: Playbook, now: float, secret: Secret, *, end: bool = True
) -> list[tuple[Actor, dict[str, Any]]]:
    """Plausible commands of every seat, as plain data: what a real session sends.

    Most are refused in any given state; callers keep those `decide` accepts.
    Private texts (a time-out's reason, a debrief answer, a note) come from
    `secret`, called with the seats allowed to read them, so tests can follow
    where they go. `end=False` leaves out `session.end`.
    """
    t = playbook.time_out
    result: list[tuple[Actor, dict[str, Any]]] = []
    for p in PARTNERS:
        result += [
            (p, {"type": "floor.request"}),
            (p, {"type": "floor.withdraw"}),
            (p, {"type": "statement", "text": "I felt alone when you left early."}),
            (p, {"type": "statement", "text": "And another thing. " * 60}),  # too long
            (p, {"type": "paraphrase", "text": "You felt alone when I left early."}),
            (p, {"type": "question", "text": "Which evening do you mean?"}),
            (p, {"type": "answer", "text": "Last Friday."}),
            (p, {"type": "paraphrase.confirm"}),
            (p, {"type": "paraphrase.correct", "note": "Alone, not angry."}),
            (p, {"type": "yield"}),
            (p, {"type": "timeout.call"}),
            (p, {"type": "timeout.call", "reason": secret(("mediator",))}),
            (p, {"type": "debrief.answer", "rating": 4, "text": secret(("mediator", p))}),
        ]
        result += [(p, {"type": "reflect", "step": s, "text": "I hear you."}) for s in STEPS]
        result.append((p, {"type": "reflect", "step": "advice", "text": "You should…"}))
        result += [
            ("mediator", {"type": "admit", "seat": p}),
            ("mediator", {"type": "floor.grant", "seat": p}),
            ("mediator", {"type": "floor.grant", "seat": p, "reason": "To rebalance."}),
        ]
    result += [
        ("mediator", {"type": "phase.advance"}),
        ("mediator", {"type": "phase.advance", "reason": "We are out of time."}),
        ("mediator", {"type": "floor.revoke", "reason": "Blame, not a feeling."}),
        (
            "mediator",
            {"type": "floor.reorder", "queue": list(PARTNERS[::-1]), "reason": "Balance."},
        ),
        ("mediator", {"type": "paraphrase.waive", "reason": "Close enough."}),
        # Overrides without their reason: refused, unless the core is broken.
        ("mediator", {"type": "paraphrase.waive"}),
        ("mediator", {"type": "floor.revoke", "reason": " "}),
        ("mediator", {"type": "debrief.skip"}),
        ("mediator", {"type": "timeout.start"}),
        ("mediator", {"type": "timeout.start", "minutes": t.min_minutes}),
        ("mediator", {"type": "timeout.end", "reason": "Both are calm."}),
        ("mediator", {"type": "timeout.extend", "minutes": t.min_minutes}),
        ("mediator", {"type": "timeout.schedule", "at": now + 600}),
        ("mediator", {"type": "timeout.schedule", "every_minutes": 30, "minutes": t.min_minutes}),
        ("mediator", {"type": "timeout.unschedule"}),
        ("mediator", {"type": "debrief.skip", "reason": "Both are settled."}),
        ("mediator", {"type": "note", "text": secret(("mediator",))}),
    ]
    result += _list_moves(playbook)
    result += _values_moves(playbook, secret)
    result += _assessment_moves(playbook)
    result += _problem_moves(playbook, secret)
    if end:
        result.append(("mediator", {"type": "session.end", "reason": "Safety first."}))
    return result


def _list_moves(playbook: Playbook) -> list[tuple[Actor, dict[str, Any]]]:
    """A yes / maybe / no list's answers (all at once, or the first item
    alone, a no or a maybe), done, the reveal and a disclosure, per list."""
    result: list[tuple[Actor, dict[str, Any]]] = []
    for spec in playbook.phases:
        if not isinstance(spec, MutualRevealSpec):
            continue
        ids = [i.id for i in spec.items]
        every = [{"item": i, "answer": "yes"} for i in ids]
        for p in PARTNERS:
            result += [
                (p, {"type": "mutual.answer", "answers": every}),
                (p, {"type": "mutual.answer", "answers": [{"item": ids[0], "answer": "no"}]}),
                (
                    p,
                    {
                        "type": "mutual.answer",
                        "answers": [{"item": ids[-1], "answer": "maybe", "condition": "If slow."}],
                    },
                ),
                (p, {"type": "mutual.done"}),
                (p, {"type": "mutual.disclose", "item": ids[0]}),
            ]
        result.append(("mediator", {"type": "mutual.reveal"}))
    return result


def _values_moves(playbook: Playbook, secret: Secret) -> list[tuple[Actor, dict[str, Any]]]:
    """Values cards: the first card, the rest at once, one's own first card
    (added and sorted), a move, a note (private to its author and the
    mediator), done, and the reveal, per values phase."""
    result: list[tuple[Actor, dict[str, Any]]] = []
    for spec in playbook.phases:
        if not isinstance(spec, ValuesSortSpec) or not deck(spec):
            continue
        ids = [c.id for c in deck(spec)]
        for p in PARTNERS:
            result += [
                (p, {"type": "values.sort", "cards": {ids[0]: "core"}}),
                (p, {"type": "values.sort", "cards": dict.fromkeys(ids, "negotiable")}),
                (p, {"type": "values.sort", "cards": dict.fromkeys(ids[1:], "core")}),
                *(
                    (p, {"type": "values.sort", "cards": {f"{p}.{n}": "not_important"}})
                    for n in range(1, spec.max_own_cards + 1)
                ),
                (p, {"type": "values.add", "title": "Walks", "text": "Side by side."}),
                (p, {"type": "values.move", "card": ids[0], "place": "not_important"}),
                (p, {"type": "values.note", "card": ids[0], "text": secret(("mediator", p))}),
                (p, {"type": "values.done"}),
            ]
        result.append(("mediator", {"type": "values.reveal"}))
    return result


def _assessment_moves(playbook: Playbook) -> list[tuple[Actor, dict[str, Any]]]:
    """Comfort scales: each scenario rated (and one off the scale), done;
    questionnaires: every item answered (and one left out); per phase."""
    result: list[tuple[Actor, dict[str, Any]]] = []
    for spec in playbook.phases:
        if isinstance(spec, ComfortScaleSpec):
            for p in PARTNERS:
                result += [
                    (p, {"type": "comfort.rate", "scenario": s.id, "value": 1 + i % 5})
                    for i, s in enumerate(spec.scenarios)
                ]
                result += [
                    (p, {"type": "comfort.rate", "scenario": spec.scenarios[0].id, "value": 6}),
                    (p, {"type": "comfort.done"}),
                ]
        if isinstance(spec, MeasureSpec):
            items = [item.id for item in definition(spec).items]
            for p in PARTNERS:
                result += [
                    (p, {"type": "measure.submit", "answers": dict.fromkeys(items, 1)}),
                    (p, {"type": "measure.submit", "answers": dict.fromkeys(items[1:], 1)}),
                ]
    return result


def _problem_moves(playbook: Playbook, secret: Secret) -> list[tuple[Actor, dict[str, Any]]]:
    """Problem solving: two options (a third from the mediator), a judgement
    sent during the brainstorm (refused), and each option evaluated."""
    kinds = {spec.__struct_config__.tag for spec in playbook.phases}
    result: list[tuple[Actor, dict[str, Any]]] = []
    if "brainstorm" in kinds:
        result += [
            ("partner_a", {"type": "brainstorm.add", "text": "A walk every Sunday"}),
            ("partner_b", {"type": "brainstorm.add", "text": "A check-in", "value_card": "play"}),
            (
                "partner_a",
                {
                    "type": "evaluate.answer",
                    "option": "o1",
                    "benefits": "Us.",
                    "risks": "x",
                    "consent": "y",
                    "verdict": "acceptable",
                },
            ),
            ("mediator", {"type": "brainstorm.add", "text": "A safe signal"}),
        ]
    if "evaluate" in kinds:
        for p in PARTNERS:
            for option in ("o1", "o2", "o3"):
                # Fixed texts: the lens is kept in the state until its reveal
                # (the view strips the other's); tests/core/phases/test_evaluate.py
                # follows where it goes.
                lens = {"benefits": f"Good for {p}.", "risks": "x", "consent": "y"}
                result.append(
                    (
                        p,
                        {
                            "type": "evaluate.answer",
                            "option": option,
                            "verdict": "acceptable",
                            **lens,
                        },
                    )
                )
    return result


def accepted(
    state: SessionState, candidates: list[tuple[Actor, dict[str, Any]]], now: float
) -> list[tuple[Actor, AnyCommand]]:
    """The candidates `decide` would accept now."""
    result: list[tuple[Actor, AnyCommand]] = []
    for actor, data in candidates:
        command = parse_command(data)
        try:
            decide(state, command, actor, now)
        except Rejected:
            continue
        result.append((actor, command))
    return result
