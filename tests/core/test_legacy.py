"""Logs written by protocol v1 fold to exactly the state they folded to then.

Sessions are clinical records on disk. Protocol v2 added the outcome to four
events — `phase.started.phase`, `statement.made.stage`, `floor.yielded.stage`
and `paraphrase.waived.waived` — so that `evolve` applies and never decides
again. A v1 record has none of them; its evolver derives the outcome the way
v1 did (`_v1_…` in phases/dialogue.py and session.py). Here v1 records are
written as v1 wrote them, by hand and by stripping the new fields from the
events decided now, and folded: the state is the same as the new events give.
"""

from __future__ import annotations

import random
from typing import Any, Final

import msgspec
import pytest
from coretest import CHAIRED_TWO_DIALOGUES, FLOW, SHIPPED, T0, accepted, moves, shipped

from accord.core.codec import decode_event, encode_event
from accord.core.commands import FireTimer, command_type
from accord.core.decide import decide
from accord.core.events import AnyEvent, FloorYielded, ParaphraseWaived, PhaseStarted, StatementMade
from accord.core.evolve import evolve
from accord.core.fold import fold
from accord.core.playbook import Playbook, load_playbook
from accord.core.seats import Seat
from accord.core.state import SessionState, initial_state

#: What protocol v2 added, by event type.
ADDED: Final = {
    "phase.started": "phase",
    "statement.made": "stage",
    "floor.yielded": "stage",
    "paraphrase.waived": "waived",
}
IMAGO: Final = shipped("imago-dialogue")


def as_v1(event: AnyEvent) -> bytes:
    """The record v1 would have written for this event: the same map, without
    the fields v2 added."""
    data: dict[str, Any] = msgspec.msgpack.decode(encode_event(event))
    data.pop(ADDED.get(data["type"], ""), None)
    return msgspec.msgpack.encode(data)


def v1(*records: dict[str, Any]) -> list[AnyEvent]:
    """A log of v1 records, written by hand, decoded as the store decodes them."""
    events = []
    for record in records:
        # As v1 wrote them: the tag, the fields in order, then the audience.
        body = msgspec.msgpack.encode(
            {**record, "audience": ["mediator", "partner_a", "partner_b"]}
        )
        event = decode_event(body)
        assert encode_event(event) == body  # kept as written, byte for byte
        events.append(event)
    return events


def test_a_v1_record_decodes_as_old_and_keeps_its_bytes() -> None:
    [started, stated, yielded, waived] = v1(
        {"type": "phase.started", "index": 1, "phase_type": "dialogue", "title": "Dialogue"},
        {"type": "statement.made", "seat": "partner_a", "statement": 1, "text": "I felt alone."},
        {"type": "floor.yielded", "seat": "partner_a"},
        {"type": "paraphrase.waived", "statement": 1, "reason": "Close enough."},
    )
    assert isinstance(started, PhaseStarted) and started.phase is msgspec.UNSET
    assert isinstance(stated, StatementMade) and stated.stage is msgspec.UNSET
    assert isinstance(yielded, FloorYielded) and yielded.stage is msgspec.UNSET
    assert isinstance(waived, ParaphraseWaived) and waived.waived is msgspec.UNSET


def test_a_v1_imago_log_written_by_hand_folds_as_the_new_one() -> None:
    """Imago (reflection after a yield: evolve once read the spec's steps) with
    a statement, a question, a waiver of the reflection steps and a turn."""
    everyone: list[Seat] = ["mediator", "partner_a", "partner_b"]
    old = v1(
        {"type": "partner.admitted", "seat": "partner_a"},
        {"type": "partner.admitted", "seat": "partner_b"},
        {"type": "phase.ended", "index": 0, "by": "mediator", "reason": ""},
        {
            "type": "phase.started",
            "index": 1,
            "phase_type": "dialogue",
            "title": "Intentional dialogue",
        },
        {"type": "statement.made", "seat": "partner_a", "statement": 1, "text": "I felt alone."},
        {"type": "question.asked", "seat": "partner_b", "statement": 1, "text": "When?"},
        {"type": "question.answered", "seat": "partner_a", "statement": 1, "text": "Friday."},
        {
            "type": "paraphrase.offered",
            "seat": "partner_b",
            "statement": 1,
            "attempt": 1,
            "text": "You felt alone on Friday.",
        },
        {"type": "paraphrase.confirmed", "seat": "partner_a", "statement": 1, "attempt": 1},
        {"type": "floor.yielded", "seat": "partner_a"},
        {"type": "reflection.offered", "seat": "partner_b", "step": "summary", "text": "So…"},
        {"type": "paraphrase.waived", "statement": 1, "reason": "Short of time."},
        {"type": "turn.ended", "seat": "partner_a", "turn": 1},
        {"type": "floor.granted", "seat": "partner_b", "by": "system", "queue": [], "reason": ""},
        {"type": "statement.made", "seat": "partner_b", "statement": 2, "text": "I was scared."},
        {"type": "paraphrase.waived", "statement": 2, "reason": "Heard."},
    )
    assert all(e.audience == tuple(everyone) for e in old)
    s = _replay(IMAGO, [(actor, data) for actor, data in _IMAGO_SCRIPT])
    assert [e.__struct_config__.tag for e in s] == [e.__struct_config__.tag for e in old]
    assert fold(IMAGO, old) == fold(IMAGO, s)
    assert fold(IMAGO, old).phase == fold(IMAGO, s).phase  # and the floor in particular


_IMAGO_SCRIPT: Final[list[tuple[Any, dict[str, Any]]]] = [
    ("mediator", {"type": "admit", "seat": "partner_a"}),
    ("mediator", {"type": "admit", "seat": "partner_b"}),
    ("mediator", {"type": "phase.advance"}),
    ("partner_a", {"type": "statement", "text": "I felt alone."}),
    ("partner_b", {"type": "question", "text": "When?"}),
    ("partner_a", {"type": "answer", "text": "Friday."}),
    ("partner_b", {"type": "paraphrase", "text": "You felt alone on Friday."}),
    ("partner_a", {"type": "paraphrase.confirm"}),
    ("partner_a", {"type": "yield"}),
    ("partner_b", {"type": "reflect", "step": "summary", "text": "So…"}),
    ("mediator", {"type": "paraphrase.waive", "reason": "Short of time."}),
    ("partner_b", {"type": "statement", "text": "I was scared."}),
    ("mediator", {"type": "paraphrase.waive", "reason": "Heard."}),
]


def _replay(playbook: Playbook, script: list[tuple[Any, dict[str, Any]]]) -> list[AnyEvent]:
    from accord.core.commands import parse_command

    state, log = initial_state(playbook), []
    for actor, data in script:
        for event in decide(state, parse_command(data), actor, T0):
            state = evolve(state, event)
            log.append(event)
    return log


def _random_log(
    playbook: Playbook, seed: int, steps: int = 400
) -> tuple[SessionState, list[AnyEvent]]:
    """A random valid session decided now (as in test_replay.py)."""
    rng = random.Random(seed)
    state, now, log = initial_state(playbook), T0, []

    def secret(readers: tuple[Seat, ...]) -> str:
        return "private"

    for _ in range(steps):
        if state.ended:
            break
        roll = rng.random()
        if roll < 0.08:
            now += rng.choice([30.0, 300.0, 1200.0])
            continue
        due = [t for t in state.timers if t.due <= now]
        if roll < 0.15 and due:
            options = [("system", FireTimer(timer=rng.choice(due).id))]
        else:
            options = accepted(state, moves(playbook, now, secret, end=False), now)
            flow = [(a, c) for a, c in options if command_type(c) in FLOW]
            options = flow if flow and rng.random() < 0.8 else options
        actor, command = rng.choice(options)
        for event in decide(state, command, actor, now):  # type: ignore[arg-type]
            state = evolve(state, event)
            log.append(event)
    return state, log


@pytest.mark.parametrize("name", [*SHIPPED, "chaired"])
def test_v1_records_of_every_kind_fold_to_the_same_state(name: str) -> None:
    playbook = (
        load_playbook(CHAIRED_TWO_DIALOGUES, "chaired.toml") if name == "chaired" else shipped(name)
    )
    changed: set[str] = set()
    for seed in range(6):
        live, log = _random_log(playbook, seed)
        old = [decode_event(as_v1(e)) for e in log]
        changed |= {str(e.__struct_config__.tag) for e, o in zip(log, old, strict=True) if e != o}
        assert fold(playbook, old) == fold(playbook, log) == live
        # Prefix by prefix, too: the state after every event is the same.
        a, b = initial_state(playbook), initial_state(playbook)
        for new_event, old_event in zip(log, old, strict=True):
            a, b = evolve(a, new_event), evolve(b, old_event)
            assert a == b
    # The walks wrote every event whose record changed in v2.
    assert changed >= {"phase.started", "statement.made", "floor.yielded"}
