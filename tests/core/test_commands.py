"""parse_command: plain data in, a command out, or `invalid_command` saying exactly why."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accord.core.base import WHO
from accord.core.commands import (
    COMMAND_TYPES,
    MAX_TEXT,
    AnswerDebrief,
    CallTimeOut,
    Command,
    MakeStatement,
    ReorderQueue,
    ScheduleTimeOut,
    command_type,
    parse_command,
)
from accord.core.errors import Rejected
from accord.core.parts import COMMANDS

#: One valid instance of every command type (the smallest that parses).
VALID: dict[str, dict[str, Any]] = {
    "admit": {"seat": "partner_a"},
    "phase.advance": {},
    "floor.request": {},
    "floor.withdraw": {},
    "floor.grant": {"seat": "partner_b"},
    "floor.revoke": {},
    "floor.reorder": {"queue": ["partner_b", "partner_a"]},
    "yield": {},
    "statement": {"text": "I felt alone."},
    "paraphrase": {"text": "You felt alone."},
    "question": {"text": "When?"},
    "answer": {"text": "Friday."},
    "paraphrase.confirm": {},
    "paraphrase.correct": {},
    "paraphrase.waive": {},
    "reflect": {"step": "summary", "text": "So…"},
    "timeout.call": {},
    "timeout.start": {},
    "timeout.end": {},
    "timeout.extend": {"minutes": 5},
    "timeout.schedule": {"every_minutes": 30},
    "timeout.unschedule": {},
    "debrief.answer": {"rating": 3},
    "debrief.skip": {},
    "note": {"text": "Calmer today."},
    "session.end": {},
    "timer.fire": {"timer": "t1"},
    "names.set": {"seat": "partner_b", "name": "Robin"},
    "comfort.rate": {"scenario": "hold-hands-in-public", "value": 2},
    "comfort.done": {},
    "measure.submit": {"answers": {"close": 3}},
    "values.sort": {"cards": {"connection": "core", "novelty": "negotiable"}},
    "values.move": {"card": "connection", "place": "not_important"},
    "values.add": {"title": "Laughing together", "text": "Play and humour."},
    "values.note": {"card": "connection", "text": "How my parents were."},
    "values.done": {},
    "values.reveal": {},
    "mutual.answer": {"answers": [{"item": "signal", "answer": "maybe", "condition": "If slow."}]},
    "mutual.done": {},
    "mutual.reveal": {},
    "mutual.disclose": {"item": "signal"},
    "brainstorm.add": {"text": "A walk on Sunday", "value_card": "connection"},
    "evaluate.answer": {
        "option": "o1",
        "benefits": "Both of us.",
        "risks": "Tiredness.",
        "consent": "We ask first.",
        "verdict": "acceptable_if",
        "condition": "If it is short.",
    },
}


def rejected(data: Any) -> str:
    with pytest.raises(Rejected) as info:
        parse_command(data)
    assert info.value.code == "invalid_command"
    return info.value.message


def test_every_command_type_is_covered_everywhere() -> None:
    assert set(VALID) == set(COMMAND_TYPES)
    assert set(COMMANDS) == set(COMMAND_TYPES)
    for kind, struct in COMMANDS.items():
        # Each declares who may ever send it, in words too, and what it asks.
        assert struct.senders in WHO, kind
        assert struct.words and struct.words == struct.words.strip(), kind


@pytest.mark.parametrize("kind", COMMAND_TYPES)
def test_valid_commands_parse_and_round_trip(kind: str) -> None:
    command = parse_command({"type": kind, **VALID[kind]})
    assert isinstance(command, Command)
    assert command_type(command) == kind
    assert parse_command(msgspec.to_builtins(command)) == command


def test_parsed_values() -> None:
    assert parse_command({"type": "statement", "text": "x" * MAX_TEXT}) == MakeStatement(
        text="x" * MAX_TEXT
    )
    assert parse_command({"type": "floor.reorder", "queue": ["partner_b"]}) == ReorderQueue(
        queue=("partner_b",)
    )
    # Integers are accepted where minutes (floats) are expected.
    assert parse_command({"type": "timeout.schedule", "at": 1_700_000_000}) == ScheduleTimeOut(
        at=1_700_000_000.0
    )
    assert parse_command({"type": "timeout.call"}) == CallTimeOut(reason="")
    assert parse_command({"type": "debrief.answer", "rating": 10}) == AnswerDebrief(rating=10)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "a command must be a map, not list"),
        ("statement", "a command must be a map, not str"),
        (None, "a command must be a map, not NoneType"),
        (b"\x81", "a command must be a map, not bytes"),
    ],
)
def test_not_a_map(data: Any, message: str) -> None:
    assert rejected(data) == message


@pytest.mark.parametrize("data", [{}, {"type": 3}, {"type": None}, {"kind": "statement"}])
def test_missing_or_mistyped_type(data: Any) -> None:
    assert rejected(data) == "a command needs a 'type' string"


@pytest.mark.parametrize("kind", ["", "shout", "Statement", "statement ", "timer.fired"])
def test_unknown_type(kind: str) -> None:
    assert rejected({"type": kind}) == f"unknown command type {kind!r}"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "statement", "text": 3}, "statement: Expected `str`, got `int` - at `$.text`"),
        (
            {"type": "paraphrase", "text": None},
            "paraphrase: Expected `str`, got `null` - at `$.text`",
        ),
        ({"type": "admit", "seat": 1}, "admit: Expected `str`, got `int` - at `$.seat`"),
        (
            {"type": "debrief.answer", "rating": True},
            "debrief.answer: Expected `int`, got `bool` - at `$.rating`",
        ),
        (
            {"type": "debrief.answer", "rating": 4.5},
            "debrief.answer: Expected `int`, got `float` - at `$.rating`",
        ),
        (
            {"type": "debrief.answer", "rating": "4"},
            "debrief.answer: Expected `int`, got `str` - at `$.rating`",
        ),
        (
            {"type": "timeout.extend", "minutes": "5"},
            "timeout.extend: Expected `float`, got `str` - at `$.minutes`",
        ),
        (
            {"type": "floor.reorder", "queue": "partner_a"},
            "floor.reorder: Expected `array`, got `str` - at `$.queue`",
        ),
        (
            {"type": "floor.reorder", "queue": [1]},
            "floor.reorder: Expected `str`, got `int` - at `$.queue[0]`",
        ),
        ({"type": "note", "text": ["a"]}, "note: Expected `str`, got `array` - at `$.text`"),
        (
            {"type": "timer.fire", "timer": 1},
            "timer.fire: Expected `str`, got `int` - at `$.timer`",
        ),
        (
            {"type": "session.end", "reason": {"why": "x"}},
            "session.end: Expected `str`, got `object` - at `$.reason`",
        ),
        ({"type": "note", "text": "a", 1: "b"}, "note: Expected `str` - at `key` in `$`"),
    ],
)
def test_wrong_types(data: dict[str, Any], message: str) -> None:
    assert rejected(data) == message


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "admit"}, "seat"),
        ({"type": "floor.grant"}, "seat"),
        ({"type": "floor.reorder"}, "queue"),
        ({"type": "statement"}, "text"),
        ({"type": "paraphrase"}, "text"),
        ({"type": "question"}, "text"),
        ({"type": "answer"}, "text"),
        ({"type": "reflect", "text": "x"}, "step"),
        ({"type": "reflect", "step": "summary"}, "text"),
        ({"type": "timeout.extend"}, "minutes"),
        ({"type": "debrief.answer"}, "rating"),
        ({"type": "note"}, "text"),
        ({"type": "timer.fire"}, "timer"),
    ],
)
def test_missing_fields(data: dict[str, Any], field: str) -> None:
    assert rejected(data) == f"{data['type']}: Object missing required field `{field}`"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"type": "floor.request", "reason": "x"}, "reason"),
        ({"type": "statement", "text": "hi", "to": "partner_b"}, "to"),
        ({"type": "timeout.call", "minutes": 5}, "minutes"),
        ({"type": "yield", "seq": 3}, "seq"),
        ({"type": "paraphrase.confirm", "attempt": 1}, "attempt"),
        ({"type": "note", "text": "x", "audience": ["partner_a"]}, "audience"),
    ],
)
def test_unknown_fields(data: dict[str, Any], field: str) -> None:
    assert rejected(data) == f"{data['type']}: Object contains unknown field `{field}`"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"type": "admit", "seat": "mediator"},
            "admit: Invalid enum value 'mediator' - at `$.seat`",
        ),
        (
            {"type": "floor.grant", "seat": "partner_c"},
            "floor.grant: Invalid enum value 'partner_c' - at `$.seat`",
        ),
        (
            {"type": "floor.reorder", "queue": ["partner_a", "x"]},
            "floor.reorder: Invalid enum value 'x' - at `$.queue[1]`",
        ),
        (
            {"type": "debrief.answer", "rating": 11},
            "debrief.answer: Expected `int` <= 10 - at `$.rating`",
        ),
        (
            {"type": "debrief.answer", "rating": -1},
            "debrief.answer: Expected `int` >= 0 - at `$.rating`",
        ),
        (
            {"type": "timeout.extend", "minutes": 0},
            "timeout.extend: Expected `float` > 0.0 - at `$.minutes`",
        ),
        (
            {"type": "timeout.extend", "minutes": -5},
            "timeout.extend: Expected `float` > 0.0 - at `$.minutes`",
        ),
        (
            {"type": "timeout.extend", "minutes": 1441},
            "timeout.extend: Expected `float` <= 1440.0 - at `$.minutes`",
        ),
        (
            {"type": "timeout.extend", "minutes": float("nan")},
            "timeout.extend: Expected `float` > 0.0 - at `$.minutes`",
        ),
        (
            {"type": "timeout.start", "minutes": float("inf")},
            "timeout.start: Expected `float` <= 1440.0 - at `$.minutes`",
        ),
        (
            {"type": "timeout.schedule", "every_minutes": 0},
            "timeout.schedule: Expected `float` > 0.0 - at `$.every_minutes`",
        ),
        # A deadline must be a finite time: NaN would fire at once and break replay.
        (
            {"type": "timeout.schedule", "at": float("nan")},
            "timeout.schedule: Expected `float` >= 0.0 - at `$.at`",
        ),
        (
            {"type": "timeout.schedule", "at": float("inf")},
            "timeout.schedule: Expected `float` <= 253402300799.0 - at `$.at`",
        ),
        (
            {"type": "timeout.schedule", "at": -1},
            "timeout.schedule: Expected `float` >= 0.0 - at `$.at`",
        ),
    ],
)
def test_out_of_range_values(data: dict[str, Any], message: str) -> None:
    assert rejected(data) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"type": "statement", "text": ""},
            "statement: Expected `str` of length >= 1 - at `$.text`",
        ),
        (
            {"type": "paraphrase", "text": ""},
            "paraphrase: Expected `str` of length >= 1 - at `$.text`",
        ),
        ({"type": "note", "text": ""}, "note: Expected `str` of length >= 1 - at `$.text`"),
        (
            {"type": "statement", "text": "x" * (MAX_TEXT + 1)},
            "statement: Expected `str` of length <= 4000 - at `$.text`",
        ),
        (
            {"type": "question", "text": "?" * (MAX_TEXT + 1)},
            "question: Expected `str` of length <= 4000 - at `$.text`",
        ),
        (
            {"type": "paraphrase.correct", "note": "n" * (MAX_TEXT + 1)},
            "paraphrase.correct: Expected `str` of length <= 4000 - at `$.note`",
        ),
        (
            {"type": "debrief.answer", "rating": 1, "text": "t" * (MAX_TEXT + 1)},
            "debrief.answer: Expected `str` of length <= 4000 - at `$.text`",
        ),
        (
            {"type": "timeout.call", "reason": "r" * 1001},
            "timeout.call: Expected `str` of length <= 1000 - at `$.reason`",
        ),
        (
            {"type": "session.end", "reason": "r" * 1001},
            "session.end: Expected `str` of length <= 1000 - at `$.reason`",
        ),
        (
            {"type": "reflect", "step": "s" * 65, "text": "x"},
            "reflect: Expected `str` of length <= 64 - at `$.step`",
        ),
        (
            {"type": "timer.fire", "timer": "t" * 65},
            "timer.fire: Expected `str` of length <= 64 - at `$.timer`",
        ),
    ],
)
def test_over_long_or_empty_text(data: dict[str, Any], message: str) -> None:
    assert rejected(data) == message


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_values = st.recursive(
    _scalars | st.binary(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(COMMAND_TYPES) | st.text(max_size=12),
    fields=st.dictionaries(
        st.sampled_from(["text", "seat", "reason", "minutes", "rating", "queue", "step", "at"])
        | st.text(max_size=8),
        _values,
        max_size=4,
    ),
)
def test_garbage_is_refused_or_parsed_never_crashes(kind: str, fields: dict[str, Any]) -> None:
    data = {**fields, "type": kind}
    try:
        command = parse_command(data)
    except Rejected as exc:
        assert exc.code == "invalid_command"
        assert exc.message
    else:
        assert command_type(command) == kind
