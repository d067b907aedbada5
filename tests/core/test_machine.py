"""The invariants of DESIGN.md, checked while Hypothesis drives a whole session.

Three seats and the timer send anything at all (valid commands, commands of the
wrong seat or phase, garbage) while the clock moves; accepted events are applied
with evolve. After every step the invariants 1–7 are checked, on the current
state and on the log of transitions (state before, actor, command, events).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec
from coretest import (
    CHAIRED_TWO_DIALOGUES,
    FLOW,
    MUTUAL_REVEAL_PHASE,
    SHIPPED,
    T0,
    accepted,
    moves,
    playbook_source,
    shipped,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from accord.core.codec import decode_event, encode_event
from accord.core.commands import (
    COMMAND_TYPES,
    AnyCommand,
    CallTimeOut,
    EndSession,
    FireTimer,
    command_type,
    parse_command,
)
from accord.core.decide import decide
from accord.core.errors import CODES, Rejected
from accord.core.events import (
    EVERYONE,
    MEDIATOR_ONLY,
    AnyEvent,
    DebriefAnswered,
    DebriefCompleted,
    DebriefStarted,
    FloorGranted,
    FloorRevoked,
    FloorYielded,
    NoteAdded,
    ParaphraseConfirmed,
    ParaphraseCorrected,
    ParaphraseWaived,
    PhaseEnded,
    PhaseStarted,
    ReflectionOffered,
    SessionEnded,
    StatementMade,
    TimeOutEnded,
    TimeOutExtended,
    TimeOutReason,
    TimeOutScheduled,
    TimeOutStarted,
    TurnEnded,
    event_type,
)
from accord.core.evolve import evolve
from accord.core.fold import fold
from accord.core.permissions import may
from accord.core.phases import REGISTRY
from accord.core.phases.brainstorm import OptionAuthored
from accord.core.phases.comfort_scale import ComfortScaleSpec, RatingFinished, ScenarioRated
from accord.core.phases.evaluate import OptionEvaluated
from accord.core.phases.measure import MeasurePhase, MeasureScored, MeasureSubmitted
from accord.core.phases.mutual_reveal import (
    MutualAnswered,
    MutualFinished,
    MutualLocked,
    MutualRevealSpec,
)
from accord.core.phases.values_sort import (
    CardAdded,
    CardMoved,
    CardsSorted,
    SortingDone,
    ValueNoted,
    ValuesSortPhase,
)
from accord.core.playbook import DialogueSpec, Playbook, load_playbook
from accord.core.seats import ACTORS, PARTNERS, SEATS, Actor, Partner, Seat, other
from accord.core.state import (
    DialoguePhase,
    SessionState,
    TimeOutOverlay,
    initial_state,
)
from accord.core.view import seat_view

#: What the dialogue phase takes: its acts, none of which a time-out lets through.
DIALOGUE_ACTS = frozenset(str(k.__struct_config__.tag) for k in REGISTRY["dialogue"].takes)

#: The events that are dialogue: none may happen during a time-out or before
#: its debrief is done (invariant 3).
DIALOGUE_EVENTS = frozenset(
    {
        "statement.made",
        "paraphrase.offered",
        "question.asked",
        "question.answered",
        "paraphrase.confirmed",
        "paraphrase.corrected",
        "paraphrase.waived",
        "reflection.offered",
        "floor.requested",
        "floor.withdrawn",
        "floor.granted",
        "floor.revoked",
        "floor.reordered",
        "floor.yielded",
        "turn.ended",
        "phase.ended",
        "phase.started",
    }
)
#: Where private events may go (invariant 7); every other event goes to everyone.
PRIVATE = {"timeout.reason", "note.added", "debrief.answered"}
#: The yes / maybe / no list: answers and the locked record are private; done is, unless shown.
PRIVATE |= {"mutual.answered", "mutual.finished", "mutual.locked"}
#: Values cards: a sort, a move, one's own card and a note are private; done is, unless shown.
PRIVATE |= {"values.sorted", "values.moved", "values.added", "values.noted", "values.done"}
#: Comfort ratings and questionnaires: ratings, done and submitted unless shared; scores.
#: Problem solving: an anonymous option's author, and an evaluation before its reveal.
PRIVATE |= {"brainstorm.authored", "evaluate.evaluated"}
PRIVATE |= {"comfort.rated", "comfort.finished", "measure.submitted", "measure.scored"}
# -- what the seats send ---------------------------------------------------------------

_texts = st.one_of(
    st.sampled_from(["I felt alone.", "You felt alone.", "When?", "Friday."]),
    st.text(max_size=12),
    st.just("x" * 501),
    st.just("y" * 4001),
)
_reasons = st.one_of(st.sampled_from(["", "   ", "Because."]), st.text(max_size=8))
_seats = st.sampled_from(["partner_a", "partner_b", "mediator", "nobody"])
_minutes = st.one_of(
    st.sampled_from([1, 5, 10, 20, 30, 60, 61, 0, -1, 1440, 1441]),
    st.floats(allow_nan=True, allow_infinity=True),
)
#: `("+", s)` means "now + s seconds", resolved when sent; plain floats are garbage.
_at = st.one_of(
    st.tuples(st.just("+"), st.sampled_from([-60.0, 0.0, 60.0, 600.0, 1800.0])),
    st.floats(allow_nan=True, allow_infinity=True),
)
FIELDS: dict[str, dict[str, st.SearchStrategy[Any]]] = {
    "admit": {"seat": _seats},
    "phase.advance": {"reason": _reasons},
    "floor.request": {},
    "floor.withdraw": {},
    "floor.grant": {"seat": _seats, "reason": _reasons},
    "floor.revoke": {"reason": _reasons},
    "floor.reorder": {"queue": st.lists(_seats, max_size=3), "reason": _reasons},
    "yield": {},
    "statement": {"text": _texts},
    "paraphrase": {"text": _texts},
    "question": {"text": _texts},
    "answer": {"text": _texts},
    "paraphrase.confirm": {},
    "paraphrase.correct": {"note": _texts},
    "paraphrase.waive": {"reason": _reasons},
    "reflect": {
        "step": st.sampled_from(["summary", "validation", "empathy", "hug"]),
        "text": _texts,
    },
    "timeout.call": {"reason": _reasons},
    "timeout.start": {"minutes": _minutes},
    "timeout.end": {"reason": _reasons},
    "timeout.extend": {"minutes": _minutes},
    "timeout.schedule": {"at": _at, "every_minutes": _minutes, "minutes": _minutes},
    "timeout.unschedule": {},
    "debrief.answer": {"rating": st.integers(-1, 11), "text": _texts},
    "debrief.skip": {"reason": _reasons},
    "note": {"text": _texts},
    "session.end": {"reason": _reasons},
    "timer.fire": {"timer": st.sampled_from(["t1", "t2", "t3", "nope"])},
    "comfort.rate": {
        "scenario": st.sampled_from(["hold-hands-in-public", "say-not-tonight", "nope", "Bad"]),
        "value": st.integers(-1, 7),
    },
    "comfort.done": {},
    "measure.submit": {
        "answers": st.dictionaries(
            st.sampled_from(["close", "heard", "on-guard", "hopeful", "nope"]), st.integers(-1, 5)
        )
    },
    "names.set": {"seat": _seats, "name": st.sampled_from(["Sam", "  Alex ", "", "x" * 41])},
    "values.sort": {
        "cards": st.dictionaries(
            st.sampled_from(["connection", "play", "partner_a.1", "partner_b.1", "nope", ""]),
            st.sampled_from(["core", "negotiable", "not_important", "maybe"]),
            max_size=3,
        )
    },
    "values.move": {
        "card": st.sampled_from(["connection", "play", "partner_a.1", "nope"]),
        "place": st.sampled_from(["core", "negotiable", "not_important", "maybe"]),
    },
    "values.add": {"title": _texts, "text": _texts},
    "values.note": {"card": st.sampled_from(["connection", "partner_b.1", "nope"]), "text": _texts},
    "values.done": {},
    "values.reveal": {},
    "mutual.answer": {
        "answers": st.lists(
            st.fixed_dictionaries(
                {
                    "item": st.sampled_from(["check-in", "signal", "affection", "nope", "Bad"]),
                    "answer": st.sampled_from(["yes", "maybe", "no", "never"]),
                },
                optional={"condition": _texts},
            ),
            max_size=4,
        )
    },
    "mutual.done": {},
    "mutual.reveal": {},
    "mutual.disclose": {"item": st.sampled_from(["check-in", "signal", "affection", "nope"])},
    "brainstorm.add": {
        "text": st.sampled_from(["A walk on Sunday", "a walk  on sunday", " ", "A check-in"]),
        "value_card": st.sampled_from(["", "connection"]),
        "condition": st.sampled_from(["", "Maybe, if we plan it."]),
    },
    "evaluate.answer": {
        "option": st.sampled_from(["o1", "o2", "o9", "x"]),
        "benefits": st.sampled_from(["Both of us.", " "]),
        "risks": st.sampled_from(["Tiredness.", ""]),
        "consent": st.just("We ask first."),
        "verdict": st.sampled_from(["acceptable", "acceptable_if", "not_acceptable", "maybe"]),
        "condition": st.sampled_from(["", "If it is short."]),
    },
}
assert set(FIELDS) == set(COMMAND_TYPES)
_garbage_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6), st.lists(st.none())
)


@st.composite
def command_data(draw: st.DrawFn) -> dict[str, Any]:
    """Any command type, its fields usually well typed, sometimes missing or junk."""
    kind = draw(st.sampled_from(COMMAND_TYPES))
    data: dict[str, Any] = {"type": kind}
    for name, values in FIELDS[kind].items():
        if draw(st.integers(0, 9)) < 8:
            data[name] = draw(values)
    if draw(st.integers(0, 19)) == 0:
        data[draw(st.sampled_from(["text", "seat", "extra", "minutes"]))] = draw(_garbage_values)
    return data


garbage = st.one_of(
    st.dictionaries(st.text(max_size=6), _garbage_values, max_size=3),
    st.lists(st.integers(), max_size=2),
    st.text(max_size=5),
    st.none(),
)


# -- the log of transitions ---------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    before: SessionState
    after: SessionState
    actor: Actor
    command: AnyCommand | None  # None: it did not parse
    events: tuple[AnyEvent, ...]  # () when refused
    refusal: Rejected | None
    now: float

    @property
    def kind(self) -> str:
        return "" if self.command is None else command_type(self.command)


@dataclass
class Gate:
    """The paraphrase gate as the listener lives it (invariant 2)."""

    speaker: Partner
    listener: Partner
    confirmed: bool
    first_act_done: bool


@dataclass
class Tracks:
    """What the invariants remember between steps."""

    gate: Gate | None = None
    debrief_owed: bool = False
    cursors: dict[str, int] = field(default_factory=dict)


class SessionMachine(RuleBasedStateMachine):
    playbook: ClassVar[Playbook]

    def __init__(self) -> None:
        super().__init__()
        self.state = initial_state(self.playbook)
        self.now = T0
        self.steps: list[Step] = []
        self.stored: list[tuple[int, bytes]] = []  # (seq, encoded event): the log as stored
        self.replayed = initial_state(self.playbook)
        self.timer_ids: set[str] = set()
        self.secrets: dict[str, tuple[Seat, ...]] = {}
        self.tracks = Tracks()

    # -- helpers

    def secret(self, readers: tuple[Seat, ...]) -> str:
        marker = f"«secret {len(self.secrets)}»"
        self.secrets[marker] = readers
        return marker

    def send(self, actor: Actor, data: Any) -> None:
        if isinstance(data, dict) and isinstance(data.get("at"), tuple):
            data = {**data, "at": self.now + data["at"][1]}
        before = self.state
        try:
            command = parse_command(data)
        except Rejected as refusal:
            assert refusal.code == "invalid_command"
            self.steps.append(Step(before, before, actor, None, (), refusal, self.now))
            return
        try:
            events = decide(before, command, actor, self.now)
        except Rejected as refusal:
            self.steps.append(Step(before, before, actor, command, (), refusal, self.now))
            return
        after = before
        for event in events:
            after = evolve(after, event)
            self.stored.append((len(self.stored) + 1, encode_event(event)))
        self.state = after
        self.steps.append(Step(before, after, actor, command, tuple(events), None, self.now))

    def new_steps(self, reader: str) -> list[Step]:
        """The steps `reader` has not looked at yet (each invariant has its cursor)."""
        start = self.tracks.cursors.get(reader, 0)
        self.tracks.cursors[reader] = len(self.steps)
        return self.steps[start:]

    def dialogue_spec(self, state: SessionState) -> DialogueSpec | None:
        if not isinstance(state.phase, DialoguePhase):
            return None
        spec = state.playbook.phases[state.index]
        assert isinstance(spec, DialogueSpec)
        return spec

    # -- rules: the seats, the clock and the timer

    @initialize(where=st.sampled_from(["lobby", "admitted", "dialogue", "dialogue"]))
    def the_session_opens(self, where: str) -> None:
        """Start in the lobby, or let the mediator open the dialogue first."""
        if where != "lobby":
            self.send("mediator", {"type": "admit", "seat": "partner_a"})
            self.send("mediator", {"type": "admit", "seat": "partner_b"})
        if where == "dialogue":
            self.send("mediator", {"type": "phase.advance"})

    @rule(seat=st.sampled_from(SEATS), data=command_data())
    def seat_sends_a_command(self, seat: Seat, data: dict[str, Any]) -> None:
        self.send(seat, data)

    @rule(actor=st.sampled_from(ACTORS), data=garbage)
    def seat_sends_garbage(self, actor: Actor, data: Any) -> None:
        self.send(actor, data)

    @rule(data=st.data())
    def a_seat_plays_along(self, data: st.DataObject) -> None:
        """A plausible command that is accepted: drives the session deep."""
        options = accepted(
            self.state, moves(self.playbook, self.now, self.secret, end=False), self.now
        )
        if not options:
            return
        actor, command = data.draw(st.sampled_from(options))
        self.send(actor, msgspec.to_builtins(command))

    @rule(data=st.data())
    def a_seat_tries_something_plausible(self, data: st.DataObject) -> None:
        """A sensible command, often at the wrong moment: exercises the precise refusals."""
        candidates = moves(self.playbook, self.now, self.secret, end=False)
        actor, command = data.draw(st.sampled_from(candidates))
        self.send(actor, command)

    @rule(data=st.data(), n=st.integers(1, 6))
    def the_session_goes_on(self, data: st.DataObject, n: int) -> None:
        """A few steps of the normal flow: no new time-out, override, note or end."""
        for _ in range(n):
            candidates = [
                (a, c)
                for a, c in moves(self.playbook, self.now, self.secret, end=False)
                if c["type"] in FLOW and ("reason" not in c or c["type"] == "timeout.end")
            ]
            options = accepted(self.state, candidates, self.now)
            if not options:
                return
            actor, command = data.draw(st.sampled_from(options))
            self.send(actor, msgspec.to_builtins(command))

    @rule(seconds=st.sampled_from([1.0, 59.0, 300.0, 600.0, 1200.0, 3600.0]) | st.floats(0, 7200))
    def the_clock_moves(self, seconds: float) -> None:
        self.now += seconds

    @rule(data=st.data())
    def a_timer_fires_now(self, data: st.DataObject) -> None:
        """Any timer: pending, early, already fired, cancelled or made up."""
        ids = sorted({t.id for t in self.state.timers} | self.timer_ids | {"t0", "nope"})
        self.send("system", {"type": "timer.fire", "timer": data.draw(st.sampled_from(ids))})

    @precondition(lambda self: bool(self.state.timers))
    @rule(data=st.data(), late=st.sampled_from([0.0, 0.0, 1.0, 900.0]))
    def a_timer_fires_when_due(self, data: st.DataObject, late: float) -> None:
        timer = data.draw(st.sampled_from(self.state.timers))
        self.now = max(self.now, timer.due + late)
        self.send("system", {"type": "timer.fire", "timer": timer.id})
        if data.draw(st.booleans()):  # and again: the hub may fire twice
            self.send("system", {"type": "timer.fire", "timer": timer.id})

    # -- invariants on each transition

    @invariant()
    def refusals_are_precise_and_change_nothing(self) -> None:
        for step in self.new_steps("refusals"):
            if step.refusal is None:
                assert step.events, "an accepted command records at least one event"
                continue
            assert step.refusal.code in CODES
            assert step.after is step.before
            if step.command is not None:
                # The message names the seat and the act.
                prefix = f"{step.actor} may not {step.command.words}"
                assert step.refusal.message.startswith(prefix), step.refusal.message

    @invariant()
    def invariant_1_statements_only_from_the_floor_holder(self) -> None:
        for step in self.new_steps("1"):
            for e in step.events:
                if isinstance(e, StatementMade):
                    phase = step.before.phase
                    assert isinstance(phase, DialoguePhase)
                    assert step.before.overlay is None
                    assert phase.speaker == e.seat == step.actor
                    assert phase.stage in ("speaking", "confirmed")

    @invariant()
    def invariant_2_paraphrase_before_reply(self) -> None:
        tracks = self.tracks
        for step in self.new_steps("2"):
            if step.refusal is not None:
                continue
            gate, kind = tracks.gate, step.kind
            if gate is not None and step.actor == gate.listener and kind in DIALOGUE_ACTS:
                gated = {"paraphrase", "question"}
                if not gate.first_act_done:
                    assert kind in gated, f"the listener's first act after a statement: {kind}"
                    gate.first_act_done = True
                if not gate.confirmed:
                    assert kind in gated, f"the listener did {kind} before a confirmed paraphrase"
                assert kind in gated | {"floor.request", "floor.withdraw", "reflect"}, kind
            spec = self.dialogue_spec(step.before)
            for e in step.events:
                match e:
                    case StatementMade(seat=seat):
                        assert spec is not None
                        free = not spec.paraphrase_required
                        tracks.gate = gate = Gate(seat, other(seat), free, free)
                    case ParaphraseConfirmed():
                        assert gate is not None
                        gate.confirmed = True
                    case ParaphraseCorrected():
                        assert gate is not None
                        gate.confirmed = False
                    case ParaphraseWaived(reason=reason):
                        assert reason.strip() and step.actor == "mediator"
                        assert gate is not None
                        gate.confirmed = gate.first_act_done = True
                    case FloorRevoked(reason=reason):
                        assert reason.strip() and step.actor == "mediator"
                        tracks.gate = gate = None
                    case FloorYielded():
                        assert gate is None or gate.confirmed, "a yield before confirmation"
                    case TurnEnded():
                        assert gate is None or gate.confirmed, "a turn ended unconfirmed"
                        assert any(
                            isinstance(x, FloorYielded | ParaphraseWaived | ReflectionOffered)
                            for x in step.events
                        ), "a turn ends only by a yield, a reflection or a waiver"
                        tracks.gate = gate = None
                    case FloorGranted():
                        assert gate is None, "the floor changed hands during a statement"
                    case PhaseEnded(by=by, reason=reason):
                        if gate is not None and not gate.confirmed:
                            assert by == "mediator" and reason.strip(), "gate left without reason"
                    case PhaseStarted() | SessionEnded():
                        tracks.gate = gate = None
                    case _:
                        pass

    @invariant()
    def invariant_3_time_outs_stop_dialogue_until_debriefed(self) -> None:
        tracks, t = self.tracks, self.playbook.time_out
        for step in self.new_steps("3"):
            if step.refusal is not None:
                if tracks.debrief_owed and step.kind in DIALOGUE_ACTS:
                    assert step.refusal.code in (
                        "in_time_out",
                        "debrief_pending",
                        "forbidden_for_seat",
                    )
                continue
            if tracks.debrief_owed or step.before.overlay is not None:
                assert step.kind not in DIALOGUE_ACTS, f"{step.kind} during a time-out"
                assert not {event_type(e) for e in step.events} & DIALOGUE_EVENTS
            types = [event_type(e) for e in step.events]
            for i, e in enumerate(step.events):
                match e:
                    case TimeOutStarted(started_at=start, ends_at=end):
                        assert t.min_minutes - 1e-9 <= (end - start) / 60 <= t.max_minutes + 1e-9
                        tracks.debrief_owed = True
                    case TimeOutExtended(ends_at=end):
                        overlay = step.before.overlay
                        assert isinstance(overlay, TimeOutOverlay)
                        assert (end - overlay.started_at) / 60 <= t.max_minutes + 1e-9
                    case TimeOutEnded():
                        assert step.events[i + 1] == DebriefStarted(
                            prompts=t.debrief_prompts, after="time_out"
                        )
                    case DebriefCompleted(after="time_out", skipped=skipped, reason=reason):
                        if skipped:
                            assert step.actor == "mediator" and reason.strip()
                        tracks.debrief_owed = False
                    case SessionEnded():
                        tracks.debrief_owed = False
                    case _:
                        pass
            if "session.ended" in types:
                assert types[-1] == "session.ended"
        state = self.state
        if not state.ended:
            assert tracks.debrief_owed == (state.overlay is not None)
        if isinstance(state.overlay, TimeOutOverlay):
            timer = next(x for x in state.timers if x.id == state.overlay.timer)
            assert (timer.kind, timer.due) == ("time_out_end", state.overlay.ends_at)

    @invariant()
    def timers_fire_once_and_only_when_due(self) -> None:
        for step in self.new_steps("timers"):
            for e in step.events:
                if isinstance(e, TimeOutStarted | TimeOutScheduled):
                    assert e.timer not in self.timer_ids, "timer ids are never reused"
                    self.timer_ids.add(e.timer)
            if not isinstance(step.command, FireTimer) or step.actor != "system":
                continue
            timer_id = step.command.timer
            pending = {t.id: t for t in step.before.timers}
            if step.refusal is None:
                assert pending[timer_id].due <= step.now
                assert timer_id not in {t.id for t in step.after.timers}
            elif step.refusal.code != "session_ended":
                expected = "unknown_timer" if timer_id not in pending else "timer_not_due"
                assert step.refusal.code == expected

    # -- invariants on the current state

    @invariant()
    def invariant_4_either_partner_can_always_call_a_time_out(self) -> None:
        for partner in PARTNERS:
            command = CallTimeOut(reason="I need a break.")
            if self.state.ended:
                try:
                    decide(self.state, command, partner, self.now)
                except Rejected as refusal:
                    assert refusal.code == "session_ended"
                else:
                    raise AssertionError("a time-out after the session ended")
                continue
            events = decide(self.state, command, partner, self.now)
            after = self.state
            for e in events:
                after = evolve(after, e)
            assert isinstance(after.overlay, TimeOutOverlay)
            assert events[-1] == TimeOutReason(
                by=partner, reason="I need a break.", audience=MEDIATOR_ONLY
            )

    @invariant()
    def invariant_5_the_mediator_can_always_end_the_session(self) -> None:
        if self.state.ended:
            for step in self.new_steps("5"):
                if step.before.ended and step.refusal is None:
                    assert step.kind == "note", "only notes after the session ended"
            return
        self.new_steps("5")
        after = self.state
        for e in decide(self.state, EndSession(reason="Time."), "mediator", self.now):
            after = evolve(after, e)
        assert after.ended
        assert (after.overlay, after.timers, after.schedule) == (None, (), None)

    @invariant()
    def invariant_6_the_log_replays_to_the_state(self) -> None:
        seqs = [seq for seq, _ in self.stored]
        assert seqs == list(range(1, len(seqs) + 1))
        done = self.tracks.cursors.get("6-events", 0)
        for _, body in self.stored[done:]:
            event = decode_event(body)
            assert encode_event(event) == body
            self.replayed = evolve(self.replayed, event)
        self.tracks.cursors["6-events"] = len(self.stored)
        assert self.replayed == self.state

    @invariant()
    def invariant_7_audiences(self) -> None:
        for step in self.new_steps("7"):
            for e in step.events:
                kind = event_type(e)
                if isinstance(e, TimeOutReason | NoteAdded):
                    assert e.audience == MEDIATOR_ONLY
                elif isinstance(e, DebriefAnswered | MutualAnswered):
                    assert e.audience == ("mediator", e.seat)
                elif isinstance(e, MutualFinished):
                    spec = step.before.playbook.phases[step.before.index]
                    assert isinstance(spec, MutualRevealSpec)
                    shown = EVERYONE if spec.show_partner_done else ("mediator", e.seat)
                    assert e.audience == shown
                elif isinstance(e, MutualLocked | MeasureScored):
                    assert e.audience == MEDIATOR_ONLY
                elif isinstance(e, ScenarioRated | RatingFinished):
                    spec = step.before.playbook.phases[step.before.index]
                    assert isinstance(spec, ComfortScaleSpec)
                    open_ = spec.share or (isinstance(e, RatingFinished) and spec.show_partner_done)
                    assert e.audience == (EVERYONE if open_ else ("mediator", e.seat))
                elif isinstance(e, MeasureSubmitted):
                    phase = step.before.phase
                    assert isinstance(phase, MeasurePhase)
                    shown = EVERYONE if phase.show_partner_done else ("mediator", e.seat)
                    assert e.audience == shown
                elif isinstance(
                    e, CardsSorted | CardMoved | CardAdded | ValueNoted | OptionEvaluated
                ):
                    assert e.audience == ("mediator", e.seat)
                elif isinstance(e, OptionAuthored):
                    assert set(e.audience) == {"mediator", e.seat}
                elif isinstance(e, SortingDone):
                    phase = step.before.phase
                    assert isinstance(phase, ValuesSortPhase)
                    shown = EVERYONE if phase.show_partner_done else ("mediator", e.seat)
                    assert e.audience == shown
                else:
                    assert kind not in PRIVATE and e.audience == EVERYONE
                # A private text reaches only the seats allowed to read it.
                body = encode_event(e).decode("utf-8", "replace")
                for marker, readers in self.secrets.items():
                    if marker in body:
                        assert set(e.audience) <= set(readers), (marker, e)
        # No private text is kept in the state (reasons, answers' texts and
        # notes live only in events) …
        snapshot = msgspec.json.encode(self.state).decode()
        assert "«secret" not in snapshot
        # … and what a phase does keep there of a partner's answers (their
        # places, for the decider), each seat's view strips (invariant 9).
        for seat in SEATS:
            shown = msgspec.json.encode(seat_view(self.state, seat)).decode()
            for marker, readers in self.secrets.items():
                assert marker not in shown or seat in readers, (marker, seat)

    @invariant()
    def the_view_offers_every_accepted_act(self) -> None:
        for step in self.new_steps("view"):
            if step.refusal is None and step.actor != "system":
                assert step.kind in may(step.before, step.actor), (step.kind, step.actor)
        for seat in SEATS:
            view = seat_view(self.state, seat)
            assert view["ended"] == self.state.ended

    def teardown(self) -> None:
        if self.stored:
            log = [decode_event(body) for _, body in self.stored]
            assert fold(self.playbook, log) == self.state


MACHINE_SETTINGS = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def machine_for(playbook: Playbook) -> type[SessionMachine]:
    return type(f"Machine_{playbook.name}", (SessionMachine,), {"playbook": playbook})


TestSpeakerListener = machine_for(shipped("speaker-listener")).TestCase
TestSpeakerListener.settings = MACHINE_SETTINGS
TestImagoDialogue = machine_for(shipped("imago-dialogue")).TestCase
TestImagoDialogue.settings = MACHINE_SETTINGS
TestCheckIn = machine_for(shipped("check-in")).TestCase
TestCheckIn.settings = MACHINE_SETTINGS
assert len(SHIPPED) == 3
#: Beyond the shipped playbooks: a chaired floor, scheduled breaks, no gate.
TestChairedTwoDialogues = machine_for(load_playbook(CHAIRED_TWO_DIALOGUES, "chaired.toml")).TestCase
TestChairedTwoDialogues.settings = settings(MACHINE_SETTINGS, max_examples=75)
#: A yes / maybe / no list after the dialogue (answers, done, reveal, disclosures).
TestMutualReveal = machine_for(
    load_playbook(playbook_source(extra_phases=MUTUAL_REVEAL_PHASE), "mutual.toml")
).TestCase
TestMutualReveal.settings = settings(MACHINE_SETTINGS, max_examples=50)
#: Values cards: sorts, moves, one's own cards, notes, done and the reveal.
TestValuesAssessment = machine_for(shipped("values-assessment")).TestCase
TestValuesAssessment.settings = settings(MACHINE_SETTINGS, max_examples=50)
#: A follow-up: the comfort scale (ratings changed, done) and a questionnaire.
TestFollowUp = machine_for(shipped("follow-up")).TestCase
TestFollowUp.settings = settings(MACHINE_SETTINGS, max_examples=50)
#: Problem solving: options (judgements refused), evaluations, reveals per option.
TestProblemSolving = machine_for(shipped("problem-solving")).TestCase
TestProblemSolving.settings = settings(MACHINE_SETTINGS, max_examples=50)
