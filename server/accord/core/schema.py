"""The playbook format: a session's script as data (TOML), parsed and checked field by field.

A playbook is an ordered list of phases with parameters; the phase *types* are
code (`accord.core.phases`), a playbook only composes and parameterises them
(DESIGN.md, "Phases and overlays"). Its `[[phases]]` tables are the phase
types' specs, its `[time_out]` table the time-out overlay's. Every problem is
reported with the file, the line and the rule broken, like a compiler error.
See docs/PLAYBOOKS.md. Loading a playbook for sessions also explores it:
that is `accord.core.playbook.load_playbook`, above the decider.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec

from accord.core.base import Spec, Title
from accord.core.overlays.time_out import TimeOutSpec, spec_problems
from accord.core.phases import PhaseSpec, phase_type


class Playbook(Spec, frozen=True):
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
    """The rules across fields: the `[time_out]` table's, each phase type's, and
    the playbook's shape (DESIGN.md: a lobby first, a debrief last)."""
    problems: list[Problem] = []

    def at(key: str) -> int:
        return lines.keys.get(("time_out", 0, key), lines.tables.get(("time_out", 0), 1))

    for key, rule, message in spec_problems(playbook.time_out):
        problems.append(Problem(filename, at(key), rule, message))
    last = len(playbook.phases) - 1
    if phase_type(playbook.phases[last]).name != "debrief":
        problems.append(
            Problem(
                filename,
                lines.phase_line(last),
                "debrief_at_end",
                "the last phase must be a debrief: every session ends with one",
            )
        )
    for i, spec in enumerate(playbook.phases):
        kind = phase_type(spec)
        if (kind.name == "lobby") != (i == 0):
            problems.append(
                Problem(
                    filename,
                    lines.phase_line(i),
                    "lobby_first",
                    "a playbook opens with exactly one lobby, where the mediator admits "
                    "the partners",
                )
            )
        for key, rule, message in kind.problems(spec):
            line = lines.keys.get(("phases", i, key), lines.phase_line(i))
            problems.append(Problem(filename, line, rule, message))
    return problems
