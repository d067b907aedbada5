"""Checking a playbook: its schema, then an exhaustive (bounded) exploration.

Like python-statemachine validating a machine when it is defined, a playbook is
explored before any session uses it: from the initial state, every command
template of every part of the core (and every due timer) is tried, breadth
first, over an abstraction of the state that forgets texts, clocks and
counters that do not change what may happen next (each phase type and
overlay gives its own). On every transition each part checks the invariants
of DESIGN.md it owns:

1. a statement is accepted only from the floor holder;
2. while a statement awaits its paraphrase the listener's only accepted acts
   are a paraphrase or an allowed question (and the safe signal); a turn ends
   only by a yield or a waiver with a reason, a revocation carries a reason;
3. no dialogue act during a time-out or its debrief; every time-out ends in a
   debrief;
7. private events (a time-out's reason, a debrief answer, a note) have the
   audience they must have;

and here, for the whole core:

4. each partner's time-out is accepted in every state but `ended`;
5. the mediator's `session.end` is accepted in every state and ends it.

And liveness: every reachable state can reach `ended` by the playbook's normal
flow, without the mediator's overrides (an ended session, a skipped debrief, a
waived paraphrase, a revoked floor, an early advance). A phase that only an
override can leave has no way out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from accord.core.base import Command
from accord.core.commands import FireTimer, command_type
from accord.core.decide import decide
from accord.core.errors import Rejected
from accord.core.evolve import evolve
from accord.core.kinds import Move, Transition
from accord.core.overlays import BY_STATE as OVERLAY_OF
from accord.core.parts import PARTS
from accord.core.permissions import describe
from accord.core.phases import BY_STATE as PHASE_OF
from accord.core.schema import LineMap, Playbook, PlaybookError, Problem, parse_playbook
from accord.core.seats import Actor
from accord.core.state import SessionState, initial_state

MAX_STATES: Final = 60_000
_NOW: Final = 1_000_000.0


@dataclass
class Exploration:
    """What an exploration saw; `problems` is empty for a sound playbook."""

    states: int = 0
    transitions: int = 0
    phases_reached: set[int] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    #: One concrete state for each abstract state reached, in the order reached.
    reached: list[SessionState] = field(default_factory=list)


def _moves(playbook: Playbook, now: float = _NOW) -> list[Move]:
    """Every command template of every part, with whether it is a mediator override."""
    return [move for part in PARTS for move in part.moves(playbook, now)]


def abstract(state: SessionState) -> Hashable:
    """The state without what cannot change the future: texts, times, ids."""
    phase = state.phase
    kind = PHASE_OF.get(phase.__class__)
    phase_key = (
        "ended" if kind is None else kind.abstract(state.playbook.phases[state.index], phase)
    )
    overlay = state.overlay
    overlay_key = None if overlay is None else OVERLAY_OF[overlay.__class__].abstract(overlay)
    schedule = state.schedule
    return (
        state.index,
        phase_key,
        overlay_key,
        tuple(sorted(t.kind for t in state.timers)),
        None if schedule is None else bool(schedule.every_minutes),
        tuple(sorted(state.admitted)),
        state.dialogue_started,
    )


def explore(
    playbook: Playbook, lines: LineMap, filename: str, max_states: int = MAX_STATES
) -> Exploration:
    """Breadth-first over the abstract state graph, checking invariants on the way."""
    result = Exploration()
    moves = _moves(playbook)
    invariants = [part.invariants for part in PARTS]
    start = initial_state(playbook)
    seen: dict[Hashable, SessionState] = {abstract(start): start}
    normal_edges: dict[Hashable, set[Hashable]] = {}
    queue: deque[Hashable] = deque(seen)
    reported: set[tuple[str, int]] = set()

    def report(state: SessionState, rule: str, message: str) -> None:
        line = lines.phase_line(min(state.index, len(playbook.phases) - 1))
        if (rule, line) not in reported:  # one report per rule and phase is enough
            reported.add((rule, line))
            result.problems.append(Problem(filename, line, rule, message))

    while queue:
        key = queue.popleft()
        state = seen[key]
        result.states += 1
        result.reached.append(state)
        result.phases_reached.add(state.index)
        targets = normal_edges.setdefault(key, set())
        if state.ended:
            continue
        candidates: list[tuple[Actor, Command, bool, float]] = [
            (a, c, o, _NOW) for a, c, o in moves
        ]
        candidates += [("system", FireTimer(timer=t.id), False, t.due) for t in state.timers]
        for actor, command, override, now in candidates:
            kind = command_type(command)
            try:
                events = decide(state, command, actor, now)
            except Rejected as rejected:
                if kind == "timeout.call":
                    report(
                        state,
                        "invariant_4",
                        f"{actor}'s time-out was refused {describe(state)}: {rejected}",
                    )
                if kind == "session.end":
                    report(
                        state,
                        "invariant_5",
                        f"the mediator could not end the session {describe(state)}",
                    )
                continue
            result.transitions += 1
            after = state
            for event in events:
                after = evolve(after, event)
            t = Transition(
                state,
                after,
                actor,
                command,
                kind,
                events,
                f"{actor} could {kind} {describe(state)}",
            )
            for check in invariants:
                for rule, message in check(t):
                    report(state, rule, message)
            if kind == "session.end" and not after.ended:
                report(
                    state, "invariant_5", f"session.end did not end the session {describe(state)}"
                )
            nxt = abstract(after)
            if not override:
                targets.add(nxt)
            if nxt not in seen:
                if len(seen) >= max_states:
                    report(
                        state,
                        "state_space_too_large",
                        f"more than {max_states} distinct states; simplify the playbook",
                    )
                    return result
                seen[nxt] = after
                queue.append(nxt)

    _check_liveness(playbook, seen, normal_edges, report)
    for i in range(len(playbook.phases)):
        if i not in result.phases_reached:
            result.problems.append(
                Problem(
                    filename,
                    lines.phase_line(i),
                    "unreachable_phase",
                    f"phase {i + 1} can never start",
                )
            )
    return result


def reachable(playbook: Playbook) -> list[SessionState]:
    """One concrete state for every abstract state a session of `playbook` can reach."""
    return explore(playbook, LineMap(""), f"{playbook.name}.toml").reached


def _backward(
    reverse: dict[Hashable, list[Hashable]], targets: Iterable[Hashable]
) -> set[Hashable]:
    """Every state from which one of `targets` can be reached."""
    reached = set(targets)
    frontier = list(reached)
    while frontier:
        node = frontier.pop()
        for src in reverse.get(node, ()):
            if src not in reached:
                reached.add(src)
                frontier.append(src)
    return reached


def _check_liveness(
    playbook: Playbook,
    seen: dict[Hashable, SessionState],
    edges: dict[Hashable, set[Hashable]],
    report: Callable[[SessionState, str, str], None],
) -> None:
    reverse: dict[Hashable, list[Hashable]] = {}
    for src, targets in edges.items():
        for dst in targets:
            reverse.setdefault(dst, []).append(src)
    alive = _backward(reverse, (k for k, s in seen.items() if s.ended))
    dead = [k for k in seen if k not in alive]
    # Blame the phase that traps, not the earlier phases that merely lead to it.
    for index in sorted({seen[k].index for k in dead}):
        leaves = _backward(reverse, (k for k, s in seen.items() if s.index > index))
        trapped = [k for k in dead if seen[k].index == index and k not in leaves]
        if trapped:
            state = seen[trapped[0]]
            spec = playbook.phases[index]
            report(
                state,
                "no_way_out",
                f"phase {index + 1} ({spec.__struct_config__.tag} '{spec.title}') has no way "
                f"out {describe(state)}: only a mediator override can end it",
            )


@lru_cache(maxsize=64)
def check_source(source: str, filename: str) -> tuple[list[Problem], Playbook | None]:
    """All problems of a playbook's text; the playbook itself when there are none."""
    try:
        playbook, lines = parse_playbook(source, filename)
    except PlaybookError as exc:
        return exc.problems, None
    problems = explore(playbook, lines, filename).problems
    return problems, None if problems else playbook


def check_files(paths: Iterable[str], read: Callable[[str], str]) -> list[Problem]:
    """`accord protocols check`: every problem in every file.

    `read` does the I/O (the CLI passes a file reader), so the core stays pure;
    an OSError it raises is reported as the file's problem.
    """
    problems: list[Problem] = []
    for name in paths:
        try:
            source = read(name)
        except OSError as exc:
            problems.append(Problem(name, 0, "unreadable", str(exc)))
            continue
        problems += check_source(source, name)[0]
    return problems
