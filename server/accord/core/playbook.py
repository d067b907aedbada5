"""Playbooks: a session's script as data (TOML), loaded and checked.

A playbook is an ordered list of phases with parameters; the phase *types* are
code in this package, a playbook only composes and parameterises them
(DESIGN.md, "Phases and overlays"). Every problem is reported with the file,
the line and the rule broken, like a compiler error. See docs/PLAYBOOKS.md.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from typing import Annotated, Any, Final, Literal

import msgspec

from accord.core.seats import Partner

DEFAULT_DEBRIEF_PROMPTS: Final = (
    "How are you feeling right now, from 0 (calm) to 10 (overwhelmed)?",
    "What do you need to go on?",
)

#: Gottman: a break for flooding lasts about twenty minutes and never more
#: than a day.
MAX_TIME_OUT_MINUTES: Final = 24 * 60

ListenerStep = Literal["summary", "validation", "empathy"]
Title = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Prompt = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]


class _Spec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class LobbySpec(_Spec, tag="lobby", tag_field="type", frozen=True):
    """Partners wait until the mediator admits them."""

    title: Title = "Waiting room"


class DialogueSpec(_Spec, tag="dialogue", tag_field="type", frozen=True):
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


class DebriefSpec(_Spec, tag="debrief", tag_field="type", frozen=True):
    """Prompts each partner answers: a 0–10 rating and free text (Gottman, aftermath)."""

    title: Title = "Debrief"
    prompts: tuple[Prompt, ...] = DEFAULT_DEBRIEF_PROMPTS


PhaseSpec = LobbySpec | DialogueSpec | DebriefSpec


class TimeOutSpec(_Spec, frozen=True):
    """Time-out lengths (Gottman: about 20 minutes, at most 24 hours)."""

    default_minutes: Annotated[float, msgspec.Meta(gt=0)] = 20.0
    min_minutes: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    max_minutes: Annotated[float, msgspec.Meta(gt=0)] = 60.0
    #: Scheduled breaks every N minutes once the first dialogue starts (0: none).
    every_minutes: Annotated[float, msgspec.Meta(ge=0)] = 0.0
    debrief_prompts: tuple[Prompt, ...] = DEFAULT_DEBRIEF_PROMPTS


class Playbook(_Spec, frozen=True):
    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
    title: Title
    phases: Annotated[tuple[PhaseSpec, ...], msgspec.Meta(min_length=1, max_length=50)]
    description: str = ""
    source: str = ""
    version: Literal[1] = 1
    time_out: TimeOutSpec = TimeOutSpec()


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.rule}: {self.message}"


class PlaybookError(Exception):
    """A playbook that does not load; `problems` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


class LineMap:
    """Where things are in a playbook's TOML text, so errors can name a line.

    tomllib gives values without positions; playbooks are small and regular, so
    scanning the text for table headers and `key =` lines is exact enough.
    """

    _HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.-]+)\s*\]\]?")
    _KEY = re.compile(r"^\s*([A-Za-z0-9_-]+)\s*=")

    def __init__(self, source: str) -> None:
        self.keys: dict[tuple[str, int, str], int] = {}
        self.tables: dict[tuple[str, int], int] = {}
        table, index = "", 0
        counts: dict[str, int] = {}
        for number, line in enumerate(source.splitlines(), start=1):
            header = self._HEADER.match(line)
            if header:
                table = header.group(2)
                if header.group(1) == "[[":
                    index = counts.get(table, -1) + 1
                    counts[table] = index
                else:
                    index = 0
                self.tables.setdefault((table, index), number)
                continue
            key = self._KEY.match(line)
            if key:
                self.keys.setdefault((table, index, key.group(1)), number)

    def phase_line(self, index: int) -> int:
        return self.tables.get(("phases", index), 1)

    def locate(self, path: str) -> int:
        """The line of a msgspec error path such as ``$.phases[2].rounds``."""
        match = re.match(r"^\$(?:\.(\w+))?(?:\[(\d+)\])?(?:\.(\w+))?", path)
        if not match:
            return 1
        table, index, key = match.group(1) or "", match.group(2), match.group(3)
        if table and index is None and key is None:
            return self.keys.get(("", 0, table), self.tables.get((table, 0), 1))
        if table == "phases" and index is not None:
            i = int(index)
            if key:
                return self.keys.get(("phases", i, key), self.phase_line(i))
            return self.phase_line(i)
        if table and key:
            return self.keys.get((table, 0, key), self.tables.get((table, 0), 1))
        return 1


_PATH = re.compile(r" - at `(\$[^`]*)`$")


def _schema_rule(message: str) -> str:
    if "unknown field" in message:
        return "unknown_key"
    if "missing required field" in message:
        return "missing_key"
    if "Invalid value" in message and message.rstrip("`").endswith(".type"):
        return "unknown_phase_type"
    return "bad_value"


def parse_playbook(source: str, filename: str) -> tuple[Playbook, LineMap]:
    """Parse and validate the schema and the cross-field rules (no exploration)."""
    playbook, lines = _parse_schema(source, filename)
    problems = _cross_field_problems(playbook, lines, filename)
    if problems:
        raise PlaybookError(problems)
    return playbook, lines


@functools.lru_cache(maxsize=256)
def stored_playbook(source: str, filename: str) -> Playbook:
    """The playbook a session was created with, read back (schema only).

    It was checked in full when the session was created; a rule added in a
    later release must not lock an existing session out of its own record."""
    return _parse_schema(source, filename)[0]


def _parse_schema(source: str, filename: str) -> tuple[Playbook, LineMap]:
    try:
        raw: dict[str, Any] = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise PlaybookError(
            [Problem(filename, int(line.group(1)) if line else 1, "toml_syntax", str(exc))]
        ) from None
    lines = LineMap(source)
    try:
        playbook = msgspec.convert(raw, Playbook)
    except msgspec.ValidationError as exc:
        text = str(exc)
        where = _PATH.search(text)
        path = where.group(1) if where else "$"
        message = _PATH.sub("", text)
        if message.startswith("Object contains unknown field"):
            # msgspec names the unknown key in the message; the path is its table.
            key = re.search(r"`([^`]+)`", message)
            if key:
                path = f"{path}.{key.group(1)}"
        elif message.startswith("Object missing required field"):
            pass
        raise PlaybookError(
            [Problem(filename, lines.locate(path), _schema_rule(text), f"{message} (at {path})")]
        ) from None
    return playbook, lines


def _cross_field_problems(playbook: Playbook, lines: LineMap, filename: str) -> list[Problem]:
    problems: list[Problem] = []
    t = playbook.time_out

    def at(key: str) -> int:
        return lines.keys.get(("time_out", 0, key), lines.tables.get(("time_out", 0), 1))

    if t.max_minutes > MAX_TIME_OUT_MINUTES:
        problems.append(
            Problem(
                filename,
                at("max_minutes"),
                "time_out_too_long",
                f"max_minutes = {t.max_minutes:g}: a time-out never lasts more than 24 hours "
                f"({MAX_TIME_OUT_MINUTES} minutes; Gottman)",
            )
        )
    if not t.min_minutes <= t.default_minutes <= t.max_minutes:
        problems.append(
            Problem(
                filename,
                at("default_minutes"),
                "time_out_range",
                f"default_minutes = {t.default_minutes:g} must lie between min_minutes "
                f"({t.min_minutes:g}) and max_minutes ({t.max_minutes:g})",
            )
        )
    if 0 < t.every_minutes < t.default_minutes:
        problems.append(
            Problem(
                filename,
                at("every_minutes"),
                "break_interval",
                f"every_minutes = {t.every_minutes:g} is shorter than a break "
                f"(default_minutes = {t.default_minutes:g}): breaks would follow one another",
            )
        )
    if not isinstance(playbook.phases[-1], DebriefSpec):
        problems.append(
            Problem(
                filename,
                lines.phase_line(len(playbook.phases) - 1),
                "debrief_at_end",
                "the last phase must be a debrief: every session ends with one",
            )
        )
    for i, phase in enumerate(playbook.phases):
        if isinstance(phase, LobbySpec) != (i == 0):
            problems.append(
                Problem(
                    filename,
                    lines.phase_line(i),
                    "lobby_first",
                    "a playbook opens with exactly one lobby, where the mediator admits "
                    "the partners",
                )
            )
        if isinstance(phase, DialogueSpec) and phase.ends == "mediator" and phase.rounds:
            problems.append(
                Problem(
                    filename,
                    lines.keys.get(("phases", i, "rounds"), lines.phase_line(i)),
                    "rounds_unused",
                    f"rounds = {phase.rounds} has no effect with ends = 'mediator'; "
                    "set ends = 'rounds' or remove it",
                )
            )
    return problems


def load_playbook(source: str, filename: str) -> Playbook:
    """Load a playbook: schema, cross-field rules and the exhaustive check.

    Results are cached by source text, so loading the same playbook for each
    new session costs nothing after the first time.
    """
    from accord.core.check import check_source  # the checker builds on the decider

    problems, playbook = check_source(source, filename)
    if problems or playbook is None:
        raise PlaybookError(problems)
    return playbook
