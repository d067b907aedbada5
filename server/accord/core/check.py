"""Checking a playbook: its schema, then an exhaustive (bounded) exploration.

Like python-statemachine validating a machine when it is defined, a playbook is
explored before any session uses it: from the initial state, every command of
every seat (and every due timer) is tried, breadth first, over an abstraction
of the state that forgets texts, clocks and counters that do not change what
may happen next. On every transition the invariants of DESIGN.md are checked:

1. a statement is accepted only from the floor holder;
2. while a statement awaits its paraphrase the listener's only accepted acts
   are a paraphrase or an allowed question (and the safe signal); a turn ends
   only by a yield or a waiver with a reason, a revocation carries a reason;
3. no dialogue act during a time-out or its debrief; every time-out ends in a
   debrief;
4. each partner's time-out is accepted in every state but `ended`;
5. the mediator's `session.end` is accepted in every state and ends it;
7. private events (a time-out's reason, a debrief answer, a note) have the
   audience they must have.

And liveness: every reachable state can reach `ended` by the playbook's normal
flow, without the mediator's overrides (an ended session, a skipped debrief, a
waived paraphrase, a revoked floor, an early advance). A phase that only an
override can leave has no way out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from accord.core.commands import (
    Admit,
    AdvancePhase,
    AnswerDebrief,
    AnswerQuestion,
    AnyCommand,
    AskQuestion,
    CallTimeOut,
    CancelSchedule,
    ConfirmParaphrase,
    CorrectParaphrase,
    EndSession,
    EndTimeOut,
    ExtendTimeOut,
    FireTimer,
    GrantFloor,
    MakeStatement,
    Paraphrase,
    Reflect,
    ReorderQueue,
    RequestFloor,
    RevokeFloor,
    ScheduleTimeOut,
    SkipDebrief,
    StartTimeOut,
    WaiveParaphrase,
    WithdrawRequest,
    Yield,
    command_type,
)
from accord.core.decide import DIALOGUE_ACTS, decide, describe
from accord.core.errors import Rejected
from accord.core.events import (
    MEDIATOR_ONLY,
    AnyEvent,
    DebriefAnswered,
    DebriefCompleted,
    DebriefStarted,
    FloorRevoked,
    FloorYielded,
    NoteAdded,
    ParaphraseWaived,
    ReflectionOffered,
    SessionEnded,
    StatementMade,
    TimeOutEnded,
    TimeOutReason,
    event_type,
)
from accord.core.evolve import evolve
from accord.core.playbook import (
    DialogueSpec,
    LineMap,
    Playbook,
    PlaybookError,
    Problem,
    parse_playbook,
)
from accord.core.seats import PARTNERS, Actor, other
from accord.core.state import (
    DebriefOverlay,
    DebriefPhase,
    DialoguePhase,
    SessionState,
    TimeOutOverlay,
    initial_state,
)

MAX_STATES: Final = 60_000
_NOW: Final = 1_000_000.0
_GATED: Final = ("awaiting_paraphrase", "awaiting_answer", "awaiting_confirmation")
_DIALOGUE_EVENTS: Final = frozenset(
    {
        "statement.made",
        "paraphrase.offered",
        "question.asked",
        "question.answered",
        "paraphrase.confirmed",
        "paraphrase.corrected",
        "reflection.offered",
        "floor.granted",
        "floor.yielded",
        "turn.ended",
        "floor.requested",
        "floor.withdrawn",
    }
)


@dataclass
class Exploration:
    """What an exploration saw; `problems` is empty for a sound playbook."""

    states: int = 0
    transitions: int = 0
    phases_reached: set[int] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)


Move = tuple[Actor, AnyCommand, bool]  # (actor, command, is_override)


def _moves(playbook: Playbook) -> list[Move]:
    """Every command template, with whether it is a mediator override."""
    moves: list[Move] = []
    for p in PARTNERS:
        moves += [
            (p, RequestFloor(), False),
            (p, WithdrawRequest(), False),
            (p, MakeStatement(text="I felt alone when you left early."), False),
            (p, Paraphrase(text="You felt alone when I left early."), False),
            (p, AskQuestion(text="Which evening do you mean?"), False),
            (p, AnswerQuestion(text="Last Friday."), False),
            (p, ConfirmParaphrase(), False),
            (p, CorrectParaphrase(note="Not quite: alone, not angry."), False),
            (p, Yield(), False),
            (p, CallTimeOut(reason="I am flooded."), False),
            (p, AnswerDebrief(rating=4, text="Calmer."), False),
        ]
        moves += [(p, Reflect(step=s, text="I hear that."), False) for s in _steps(playbook)]
        moves += [
            ("mediator", Admit(seat=p), False),
            ("mediator", GrantFloor(seat=p), False),
            ("mediator", GrantFloor(seat=p, reason="Out of order, to rebalance."), True),
        ]
    moves += [
        ("mediator", AdvancePhase(), False),
        ("mediator", AdvancePhase(reason="We are out of time."), True),
        ("mediator", RevokeFloor(reason="Tone."), True),
        ("mediator", ReorderQueue(queue=("partner_b", "partner_a"), reason="Balance."), True),
        ("mediator", WaiveParaphrase(reason="Close enough."), True),
        ("mediator", StartTimeOut(), False),
        ("mediator", EndTimeOut(), False),
        ("mediator", ExtendTimeOut(minutes=playbook.time_out.min_minutes), False),
        ("mediator", ScheduleTimeOut(at=_NOW + 600), False),
        ("mediator", CancelSchedule(), False),
        ("mediator", SkipDebrief(reason="Both are settled."), True),
        ("mediator", EndSession(reason="Emergency."), True),
    ]
    return moves


def _steps(playbook: Playbook) -> list[str]:
    steps: list[str] = []
    for phase in playbook.phases:
        if isinstance(phase, DialogueSpec):
            steps += [s for s in phase.listener_steps if s not in steps]
    return steps


def abstract(state: SessionState) -> Hashable:
    """The state without what cannot change the future: texts, times, ids."""
    phase = state.phase
    phase_key: Hashable
    if isinstance(phase, DialoguePhase):
        spec = state.playbook.phases[state.index]
        rounds = spec.rounds if isinstance(spec, DialogueSpec) and spec.ends == "rounds" else 0
        phase_key = (
            phase.speaker,
            phase.stage,
            phase.queue,
            min(phase.attempts, 2),
            phase.spoke,
            phase.step,
            min(phase.turns, 2 * rounds),
        )
    elif isinstance(phase, DebriefPhase):
        phase_key = tuple(sorted(phase.answered))
    else:
        phase_key = str(phase.__struct_config__.tag)
    overlay = state.overlay
    overlay_key: Hashable = None
    if isinstance(overlay, TimeOutOverlay):
        overlay_key = ("time_out", overlay.by)
    elif isinstance(overlay, DebriefOverlay):
        overlay_key = ("debrief", tuple(sorted(overlay.answered)))
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


def _invariant_problems(
    state: SessionState,
    after: SessionState,
    actor: Actor,
    command: AnyCommand,
    events: Sequence[AnyEvent],
) -> list[tuple[str, str]]:
    """(rule, message) for each invariant this accepted transition breaks."""
    kind = command_type(command)
    where = f"{actor} could {kind} {describe(state)}"
    broken: list[tuple[str, str]] = []
    types = {event_type(e) for e in events}
    phase, overlay = state.phase, state.overlay
    dialogue = phase if isinstance(phase, DialoguePhase) else None
    for e in events:
        if isinstance(e, StatementMade) and (
            dialogue is None or overlay is not None or not dialogue.speaker == e.seat == actor
        ):
            broken.append(("invariant_1", f"{where}: a statement from {e.seat} without the floor"))
        if isinstance(e, FloorRevoked | ParaphraseWaived) and not e.reason:
            broken.append(("invariant_2", f"{where}: an override without a reason"))
        if isinstance(e, TimeOutReason | NoteAdded) and e.audience != MEDIATOR_ONLY:
            broken.append(("invariant_7", f"{where}: a private event reaches {e.audience}"))
        if isinstance(e, DebriefAnswered) and set(e.audience) != {"mediator", e.seat}:
            broken.append(("invariant_7", f"{where}: a debrief answer reaches {e.audience}"))
    if dialogue is not None and dialogue.speaker is not None and overlay is None:
        listener = other(dialogue.speaker)
        if (
            dialogue.stage in _GATED
            and actor == listener
            and kind not in ("paraphrase", "question", "timeout.call")
        ):
            broken.append(("invariant_2", f"{where}: the listener acted before paraphrasing"))
        if "floor.yielded" in types and dialogue.stage not in ("speaking", "confirmed"):
            broken.append(("invariant_2", f"{where}: a yield before the paraphrase was confirmed"))
    if "turn.ended" in types and not any(
        isinstance(e, FloorYielded | ReflectionOffered | ParaphraseWaived) for e in events
    ):
        broken.append(("invariant_2", f"{where}: a turn ended without a yield or a waiver"))
    if overlay is not None and (kind in DIALOGUE_ACTS or types & _DIALOGUE_EVENTS):
        broken.append(("invariant_3", f"{where}: a dialogue act during a time-out or its debrief"))
    ended_time_out = any(isinstance(e, TimeOutEnded) for e in events)
    debriefed = any(isinstance(e, DebriefStarted) and e.after == "time_out" for e in events)
    if ended_time_out and not debriefed and not any(isinstance(e, SessionEnded) for e in events):
        broken.append(("invariant_3", f"{where}: a time-out ended without a debrief"))
    if (
        isinstance(overlay, DebriefOverlay)
        and after.overlay is None
        and not any(isinstance(e, DebriefCompleted | SessionEnded) for e in events)
    ):
        broken.append(("invariant_3", f"{where}: the debrief after a time-out was bypassed"))
    return broken


def explore(
    playbook: Playbook, lines: LineMap, filename: str, max_states: int = MAX_STATES
) -> Exploration:
    """Breadth-first over the abstract state graph, checking invariants on the way."""
    result = Exploration()
    moves = _moves(playbook)
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
        result.phases_reached.add(state.index)
        targets = normal_edges.setdefault(key, set())
        if state.ended:
            continue
        candidates: list[tuple[Actor, AnyCommand, bool, float]] = [
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
            for rule, message in _invariant_problems(state, after, actor, command, events):
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
