"""The rules of a session, one by one, through decide and evolve with a fake clock.

Every refusal is checked for its stable code, and (by `Session.refuse`) for a
message that starts with the seat and the act: "partner_b may not make a
statement …".
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from coretest import T0, Session, custom, playbook_source, shipped

from accord.core.commands import (
    AddNote,
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
)
from accord.core.events import (
    EVERYONE,
    MEDIATOR_ONLY,
    DebriefAnswered,
    DebriefCompleted,
    DebriefStarted,
    FloorGranted,
    FloorRequested,
    FloorRequestWithdrawn,
    FloorRevoked,
    FloorYielded,
    NoteAdded,
    ParaphraseConfirmed,
    ParaphraseCorrected,
    ParaphraseOffered,
    ParaphraseWaived,
    PartnerAdmitted,
    PhaseEnded,
    PhaseStarted,
    QuestionAnswered,
    QuestionAsked,
    QueueReordered,
    ReflectionOffered,
    ScheduleCancelled,
    SessionEnded,
    StatementMade,
    TimeOutEnded,
    TimeOutExtended,
    TimeOutReason,
    TimeOutScheduled,
    TimeOutSignalled,
    TimeOutStarted,
    TimerFired,
    TurnEnded,
)
from accord.core.playbook import PlaybookError, parse_playbook, stored_playbook
from accord.core.seats import Actor, Partner, other
from accord.core.state import (
    DebriefOverlay,
    DebriefPhase,
    DialoguePhase,
    LobbyPhase,
    Schedule,
    TimeOutOverlay,
    Timer,
)

SPEAKER_LISTENER = shipped("speaker-listener")  # time-outs: default 20, 5..60 minutes
IMAGO = shipped("imago-dialogue")
CHECK_IN = shipped("check-in")
#: The chair grants every turn (no round robin).
CHAIRED = custom(dialogue='auto_round_robin = false\nends = "mediator"')


def d(s: Session) -> DialoguePhase:
    phase = s.state.phase
    assert isinstance(phase, DialoguePhase)
    return phase


def started(playbook: object = SPEAKER_LISTENER) -> Session:
    s = Session(playbook)  # type: ignore[arg-type]
    s.start()
    return s


def mirrored(s: Session, speaker: Partner, text: str = "I felt alone on Friday.") -> None:
    """A statement, its paraphrase and the speaker's confirmation."""
    s.do(speaker, MakeStatement(text=text))
    s.do(other(speaker), Paraphrase(text="You felt alone on Friday."))
    s.do(speaker, ConfirmParaphrase())


# -- lobby ----------------------------------------------------------------------------


def test_lobby_admits_then_advances_to_the_first_dialogue() -> None:
    s = Session(SPEAKER_LISTENER)
    assert isinstance(s.state.phase, LobbyPhase)
    assert s.do("mediator", Admit(seat="partner_b")) == [PartnerAdmitted(seat="partner_b")]
    message = s.refuse("mediator", AdvancePhase(), "not_admitted")
    assert message == "mediator may not advance the phase in the lobby: partner_a not admitted yet"
    s.do("mediator", Admit(seat="partner_a"))
    events = s.do("mediator", AdvancePhase())
    assert events == [
        PhaseEnded(index=0, by="mediator"),
        PhaseStarted(index=1, phase_type="dialogue", title="Speaker-listener"),
    ]
    assert s.state.index == 1
    # Round robin: the playbook's first speaker holds the floor at once.
    assert (d(s).speaker, d(s).stage) == ("partner_a", "speaking")
    assert s.state.dialogue_started


def test_lobby_refusals() -> None:
    s = Session(SPEAKER_LISTENER)
    s.refuse("mediator", AdvancePhase(), "not_admitted")
    s.do("mediator", Admit(seat="partner_a"))
    assert (
        s.refuse("mediator", Admit(seat="partner_a"), "already_admitted")
        == "mediator may not admit a partner partner_a: already admitted"
    )
    assert (
        s.refuse("partner_a", Admit(seat="partner_b"), "forbidden_for_seat")
        == "partner_a may not admit a partner at all: only the mediator may"
    )
    assert (
        s.refuse("partner_a", MakeStatement(text="hello"), "wrong_phase")
        == "partner_a may not make a statement in the lobby"
    )
    s.refuse("partner_a", RequestFloor(), "wrong_phase")
    s.refuse("mediator", GrantFloor(seat="partner_a"), "wrong_phase")
    s.refuse("partner_a", AnswerDebrief(rating=3), "no_debrief")


def test_admit_outside_the_lobby_is_the_wrong_phase() -> None:
    s = started()
    s.refuse("mediator", Admit(seat="partner_a"), "wrong_phase")


# -- the floor (BFCP: request → queued → granted → released or revoked) ---------------


def test_floor_requests_queue_first_come_first_served() -> None:
    s = started(CHAIRED)
    assert d(s).speaker is None
    assert s.do("partner_b", RequestFloor()) == [
        FloorRequested(seat="partner_b", queue=("partner_b",))
    ]
    assert s.do("partner_a", RequestFloor()) == [
        FloorRequested(seat="partner_a", queue=("partner_b", "partner_a"))
    ]
    assert (
        s.refuse("partner_a", RequestFloor(), "already_queued")
        == "partner_a may not request the floor again: already queued (2)"
    )
    assert s.do("partner_b", WithdrawRequest()) == [
        FloorRequestWithdrawn(seat="partner_b", queue=("partner_a",))
    ]
    s.refuse("partner_b", WithdrawRequest(), "not_queued")
    assert d(s).queue == ("partner_a",)


def test_grant_to_the_first_in_the_queue_needs_no_reason() -> None:
    s = started(CHAIRED)
    s.do("partner_a", RequestFloor())
    s.do("partner_b", RequestFloor())
    assert s.do("mediator", GrantFloor(seat="partner_a")) == [
        FloorGranted(seat="partner_a", by="mediator", queue=("partner_b",))
    ]
    assert (d(s).speaker, d(s).stage, d(s).queue) == ("partner_a", "speaking", ("partner_b",))


def test_grant_out_of_order_is_an_override_with_a_reason() -> None:
    s = started(CHAIRED)
    s.do("partner_a", RequestFloor())
    s.do("partner_b", RequestFloor())
    message = s.refuse("mediator", GrantFloor(seat="partner_b"), "reason_required")
    assert "partner_b, who is not first in the queue" in message
    s.refuse("mediator", GrantFloor(seat="partner_b", reason="   "), "reason_required")
    events = s.do("mediator", GrantFloor(seat="partner_b", reason=" To rebalance. "))
    assert events == [
        FloorGranted(seat="partner_b", by="mediator", queue=("partner_a",), reason="To rebalance.")
    ]


def test_grant_to_a_seat_that_never_asked_needs_a_reason() -> None:
    s = started(CHAIRED)
    s.refuse("mediator", GrantFloor(seat="partner_a"), "reason_required")
    s.do("mediator", GrantFloor(seat="partner_a", reason="Let us begin with you."))
    assert d(s).speaker == "partner_a"


def test_grant_while_the_floor_is_held_is_refused() -> None:
    s = started(CHAIRED)
    s.do("mediator", GrantFloor(seat="partner_a", reason="Start."))
    assert (
        s.refuse("mediator", GrantFloor(seat="partner_b", reason="x"), "floor_taken")
        == "mediator may not grant the floor to partner_b: partner_a holds it; revoke it first"
    )
    s.refuse("partner_a", RequestFloor(), "already_holds_floor")
    s.refuse("partner_a", WithdrawRequest(), "already_holds_floor")


def test_revoke_needs_a_reason_and_a_holder() -> None:
    s = started(CHAIRED)
    s.refuse("mediator", RevokeFloor(reason="Tone."), "no_floor")
    s.do("mediator", GrantFloor(seat="partner_a", reason="Start."))
    s.do("partner_a", MakeStatement(text="You never listen."))
    s.refuse("mediator", RevokeFloor(), "reason_required")
    assert s.do("mediator", RevokeFloor(reason=" Blame, not a feeling. ")) == [
        FloorRevoked(seat="partner_a", reason="Blame, not a feeling.")
    ]
    assert (d(s).speaker, d(s).stage, d(s).attempts, d(s).spoke) == (None, "idle", 0, False)
    s.refuse("partner_a", MakeStatement(text="But…"), "no_floor")


def test_reorder_the_queue() -> None:
    s = started(CHAIRED)
    s.do("partner_a", RequestFloor())
    s.do("partner_b", RequestFloor())
    s.refuse("mediator", ReorderQueue(queue=("partner_b", "partner_a")), "reason_required")
    message = s.refuse(
        "mediator", ReorderQueue(queue=("partner_b",), reason="Balance."), "invalid_queue"
    )
    assert message == (
        "mediator may not reorder the floor queue to ['partner_b']: "
        "the pending requests are ['partner_a', 'partner_b']"
    )
    s.refuse(
        "mediator",
        ReorderQueue(queue=("partner_b", "partner_b"), reason="Balance."),
        "invalid_queue",
    )
    s.refuse(
        "mediator",
        ReorderQueue(queue=("partner_b", "partner_a", "partner_a"), reason="Balance."),
        "invalid_queue",
    )
    assert s.do("mediator", ReorderQueue(queue=("partner_b", "partner_a"), reason="Balance.")) == [
        QueueReordered(queue=("partner_b", "partner_a"), reason="Balance.")
    ]
    # Now partner_b is first: granting them is no override.
    s.do("mediator", GrantFloor(seat="partner_b"))
    assert d(s).speaker == "partner_b"


def test_floor_commands_are_for_their_seats() -> None:
    s = started(CHAIRED)
    s.refuse("mediator", RequestFloor(), "forbidden_for_seat")
    s.refuse("partner_a", GrantFloor(seat="partner_a"), "forbidden_for_seat")
    s.refuse("partner_b", RevokeFloor(reason="x"), "forbidden_for_seat")
    s.refuse("partner_b", ReorderQueue(queue=(), reason="x"), "forbidden_for_seat")
    s.refuse("mediator", Yield(), "forbidden_for_seat")


def test_nobody_holds_the_floor() -> None:
    s = started(CHAIRED)
    cases: list[tuple[Actor, AnyCommand]] = [
        ("partner_a", MakeStatement(text="hi")),
        ("partner_b", Paraphrase(text="hi")),
        ("partner_a", Yield()),
        ("partner_b", ConfirmParaphrase()),
    ]
    for actor, command in cases:
        message = s.refuse(actor, command, "no_floor")
        assert message.endswith("now: nobody holds the floor; request it first")


# -- statements: only from the floor holder (invariant 1) -----------------------------


def test_statement_only_from_the_floor_holder() -> None:
    s = started()
    assert (
        s.refuse("partner_b", MakeStatement(text="Me first."), "not_your_turn")
        == "partner_b may not make a statement while partner_a holds the floor"
    )
    s.refuse("mediator", MakeStatement(text="Hello."), "forbidden_for_seat")
    events = s.do("partner_a", MakeStatement(text="I felt alone."))
    assert events == [StatementMade(seat="partner_a", statement=1, text="I felt alone.")]
    assert (d(s).stage, d(s).statement, d(s).statement_text) == (
        "awaiting_paraphrase",
        1,
        "I felt alone.",
    )


def test_statement_length_is_the_playbooks() -> None:
    s = started()
    message = s.refuse("partner_a", MakeStatement(text="x" * 501), "statement_too_long")
    assert message == (
        "partner_a may not make a statement of 501 characters: this dialogue allows 500"
    )
    s.do("partner_a", MakeStatement(text="x" * 500))
    s2 = started(CHECK_IN)
    s2.refuse("partner_a", MakeStatement(text="x" * 301), "statement_too_long")


# -- the paraphrase gate (PREP; invariant 2) ------------------------------------------


def test_after_a_statement_the_listener_may_only_paraphrase() -> None:
    s = started()
    s.refuse("partner_b", Paraphrase(text="Too early."), "nothing_to_paraphrase")
    s.do("partner_a", MakeStatement(text="I felt alone."))
    commands: list[AnyCommand] = [
        MakeStatement(text="Well, I…"),
        RequestFloor(),
        WithdrawRequest(),
        Yield(),
        ConfirmParaphrase(),
        Reflect(step="summary", text="x"),
    ]
    for command in commands:
        message = s.refuse("partner_b", command, "paraphrase_required")
        assert message.endswith("before paraphrasing partner_a's statement")
    s.refuse("partner_b", AskQuestion(text="When?"), "questions_not_allowed")
    # The speaker waits for the paraphrase.
    speaker_acts: list[AnyCommand] = [MakeStatement(text="And…"), Yield(), ConfirmParaphrase()]
    for command in speaker_acts:
        message = s.refuse("partner_a", command, "awaiting_paraphrase")
        assert message.endswith("until partner_b has paraphrased")
    events = s.do("partner_b", Paraphrase(text="You felt alone."))
    assert events == [
        ParaphraseOffered(seat="partner_b", statement=1, attempt=1, text="You felt alone.")
    ]
    assert d(s).stage == "awaiting_confirmation"


def test_correction_sends_the_listener_back_and_counts_attempts() -> None:
    s = started()
    s.do("partner_a", MakeStatement(text="I felt alone."))
    s.do("partner_b", Paraphrase(text="You were angry."))
    s.refuse("partner_b", Paraphrase(text="Again"), "awaiting_confirmation")
    s.refuse("partner_a", Yield(), "awaiting_confirmation")
    s.refuse("partner_a", MakeStatement(text="More."), "awaiting_confirmation")
    assert s.do("partner_a", CorrectParaphrase(note="Alone, not angry.")) == [
        ParaphraseCorrected(seat="partner_a", statement=1, attempt=1, note="Alone, not angry.")
    ]
    assert d(s).stage == "awaiting_paraphrase"
    s.refuse("partner_b", MakeStatement(text="Fine."), "paraphrase_required")
    assert s.do("partner_b", Paraphrase(text="You felt alone."))[0] == ParaphraseOffered(
        seat="partner_b", statement=1, attempt=2, text="You felt alone."
    )
    s.do("partner_a", CorrectParaphrase())
    s.do("partner_b", Paraphrase(text="You felt alone, on Friday."))
    assert d(s).attempts == 3
    assert s.do("partner_a", ConfirmParaphrase()) == [
        ParaphraseConfirmed(seat="partner_a", statement=1, attempt=3)
    ]
    assert d(s).stage == "confirmed"


def test_confirm_and_correct_need_a_paraphrase() -> None:
    s = started()
    s.refuse("partner_a", ConfirmParaphrase(), "nothing_to_confirm")
    s.refuse("partner_a", CorrectParaphrase(), "nothing_to_confirm")
    s.refuse("partner_a", AnswerQuestion(text="x"), "no_question")
    s.refuse("partner_b", ConfirmParaphrase(), "not_your_turn")


def test_is_there_more_a_confirmed_speaker_may_go_on() -> None:
    s = started()
    mirrored(s, "partner_a")
    # The listener still cannot reply: the speaker has not yielded.
    assert (
        s.refuse("partner_b", MakeStatement(text="My turn?"), "not_your_turn")
        == "partner_b may not make a statement while partner_a holds the floor"
    )
    s.refuse("partner_b", Paraphrase(text="again"), "nothing_to_paraphrase")
    s.do("partner_a", MakeStatement(text="And I missed you."))
    assert (d(s).statement, d(s).stage, d(s).attempts) == (2, "awaiting_paraphrase", 0)


def test_yield_hands_the_floor_to_the_listener_only_after_confirmation() -> None:
    s = started()
    s.do("partner_a", MakeStatement(text="I felt alone."))
    s.refuse("partner_a", Yield(), "awaiting_paraphrase")
    s.do("partner_b", Paraphrase(text="You felt alone."))
    s.refuse("partner_a", Yield(), "awaiting_confirmation")
    s.refuse("partner_b", Yield(), "awaiting_confirmation")
    s.do("partner_a", ConfirmParaphrase())
    s.refuse("partner_b", Yield(), "not_your_turn")
    events = s.do("partner_a", Yield())
    assert events == [
        FloorYielded(seat="partner_a"),
        TurnEnded(seat="partner_a", turn=1),
        FloorGranted(seat="partner_b", by="system", queue=()),
    ]
    assert (d(s).speaker, d(s).stage, d(s).turns) == ("partner_b", "speaking", 1)
    # Now the former listener replies, and the gate runs the other way.
    s.do("partner_b", MakeStatement(text="I was scared to stay."))
    s.refuse("partner_a", MakeStatement(text="But"), "paraphrase_required")


def test_yield_without_a_statement_passes_the_turn() -> None:
    s = started()
    s.do("partner_a", Yield())
    assert (d(s).speaker, d(s).turns) == ("partner_b", 1)


def test_chaired_dialogue_waits_for_the_mediator_after_a_yield() -> None:
    s = started(CHAIRED)
    s.do("partner_b", RequestFloor())
    s.do("mediator", GrantFloor(seat="partner_b"))
    s.do("partner_a", RequestFloor())  # the listener may queue while the speaker speaks
    mirrored(s, "partner_b")
    assert s.do("partner_b", Yield()) == [
        FloorYielded(seat="partner_b"),
        TurnEnded(seat="partner_b", turn=1),
    ]
    assert (d(s).speaker, d(s).queue) == (None, ("partner_a",))
    s.do("mediator", GrantFloor(seat="partner_a"))
    assert d(s).speaker == "partner_a"


# -- clarifying questions (Imago) -------------------------------------------------------


def test_clarifying_questions_where_allowed() -> None:
    s = started(IMAGO)
    s.do("partner_a", MakeStatement(text="I felt alone."))
    assert s.do("partner_b", AskQuestion(text="Which evening?")) == [
        QuestionAsked(seat="partner_b", statement=1, text="Which evening?")
    ]
    assert d(s).stage == "awaiting_answer"
    s.refuse("partner_b", Paraphrase(text="x"), "awaiting_answer")
    s.refuse("partner_b", AskQuestion(text="And?"), "awaiting_answer")
    s.refuse("partner_a", ConfirmParaphrase(), "answer_required")
    s.refuse("partner_a", MakeStatement(text="x"), "answer_required")
    assert s.do("partner_a", AnswerQuestion(text="Friday.")) == [
        QuestionAnswered(seat="partner_a", statement=1, text="Friday.")
    ]
    assert d(s).stage == "awaiting_paraphrase"
    s.do("partner_b", Paraphrase(text="On Friday you felt alone."))
    assert d(s).attempts == 1


def test_clarifying_questions_where_forbidden() -> None:
    s = started()
    s.do("partner_a", MakeStatement(text="I felt alone."))
    assert (
        s.refuse("partner_b", AskQuestion(text="When?"), "questions_not_allowed")
        == "partner_b may not ask a clarifying question in this dialogue: paraphrase"
    )
    assert d(s).stage == "awaiting_paraphrase"


# -- Imago: summary, validation, empathy, in order ------------------------------------


def test_imago_listener_steps_in_order_before_the_roles_swap() -> None:
    s = started(IMAGO)
    mirrored(s, "partner_a")
    assert s.do("partner_a", Yield()) == [FloorYielded(seat="partner_a")]
    assert (d(s).speaker, d(s).stage, d(s).step) == ("partner_a", "reflecting", 0)
    message = s.refuse("partner_b", Reflect(step="validation", text="x"), "wrong_step")
    assert (
        message
        == "partner_b may not offer a reflection 'validation' now: the next step is 'summary'"
    )
    s.refuse("partner_b", MakeStatement(text="My turn"), "awaiting_reflection")
    s.refuse("partner_a", MakeStatement(text="More"), "awaiting_reflection")
    s.refuse("partner_a", Reflect(step="summary", text="x"), "awaiting_reflection")
    assert s.do("partner_b", Reflect(step="summary", text="You felt alone.")) == [
        ReflectionOffered(seat="partner_b", step="summary", text="You felt alone.")
    ]
    s.refuse("partner_b", Reflect(step="empathy", text="x"), "wrong_step")
    s.refuse("partner_b", Reflect(step="summary", text="x"), "wrong_step")
    s.do("partner_b", Reflect(step="validation", text="That makes sense."))
    events = s.do("partner_b", Reflect(step="empathy", text="I imagine you felt sad."))
    assert events == [
        ReflectionOffered(seat="partner_b", step="empathy", text="I imagine you felt sad."),
        TurnEnded(seat="partner_a", turn=1),
        FloorGranted(seat="partner_b", by="system", queue=()),
    ]
    assert (d(s).speaker, d(s).stage, d(s).step) == ("partner_b", "speaking", 0)


def test_reflection_outside_its_stage() -> None:
    s = started(IMAGO)
    s.refuse("partner_b", Reflect(step="summary", text="x"), "not_your_turn")
    s.refuse("partner_a", Reflect(step="summary", text="x"), "not_your_turn")


def test_imago_rounds_end_the_phase_into_the_closing_debrief() -> None:
    s = started(IMAGO)
    for speaker in ("partner_a", "partner_b"):
        mirrored(s, speaker)
        s.do(speaker, Yield())
        s.do(other(speaker), Reflect(step="summary", text="s"))
        s.do(other(speaker), Reflect(step="validation", text="v"))
        events = s.do(other(speaker), Reflect(step="empathy", text="e"))
    assert events[1:] == [
        TurnEnded(seat="partner_b", turn=2),
        PhaseEnded(index=1, by="system"),
        PhaseStarted(index=2, phase_type="debrief", title="Closing debrief"),
        DebriefStarted(prompts=IMAGO.phases[2].prompts, after="phase"),  # type: ignore[union-attr]
    ]
    assert isinstance(s.state.phase, DebriefPhase)


def test_rounds_end_the_phase() -> None:
    s = started(CHECK_IN)
    mirrored(s, "partner_a")
    assert s.types(s.do("partner_a", Yield())) == ["floor.yielded", "turn.ended", "floor.granted"]
    mirrored(s, "partner_b")
    assert s.types(s.do("partner_b", Yield())) == [
        "floor.yielded",
        "turn.ended",
        "phase.ended",
        "phase.started",
        "debrief.started",
    ]
    assert s.state.index == 2


def test_two_rounds_make_four_turns() -> None:
    s = started(custom(dialogue='ends = "rounds"\nrounds = 2'))
    for turn in range(1, 5):
        speaker = d(s).speaker
        assert speaker is not None
        mirrored(s, speaker)
        s.do(speaker, Yield())
        if turn < 4:
            assert d(s).turns == turn
    assert isinstance(s.state.phase, DebriefPhase)


# -- the mediator's overrides: waive, advance early --------------------------------------


def test_waive_a_paraphrase_with_a_reason() -> None:
    s = started()
    s.refuse("mediator", WaiveParaphrase(reason="x"), "nothing_to_paraphrase")
    s.do("partner_a", MakeStatement(text="I felt alone."))
    s.refuse("partner_a", WaiveParaphrase(reason="x"), "forbidden_for_seat")
    s.refuse("mediator", WaiveParaphrase(), "reason_required")
    assert s.do("mediator", WaiveParaphrase(reason=" Close enough. ")) == [
        ParaphraseWaived(statement=1, reason="Close enough.")
    ]
    assert d(s).stage == "confirmed"
    s.do("partner_a", Yield())
    assert d(s).speaker == "partner_b"


def test_waive_during_the_reflection_steps_ends_the_turn() -> None:
    s = started(IMAGO)
    mirrored(s, "partner_a")
    s.do("partner_a", Yield())
    s.do("partner_b", Reflect(step="summary", text="s"))
    events = s.do("mediator", WaiveParaphrase(reason="We are short of time."))
    assert s.types(events) == ["paraphrase.waived", "turn.ended", "floor.granted"]
    assert (d(s).speaker, d(s).stage) == ("partner_b", "speaking")


def test_advance_from_a_dialogue() -> None:
    s = started()
    s.do("partner_a", MakeStatement(text="I felt alone."))
    # Leaving a statement unparaphrased is an override.
    message = s.refuse("mediator", AdvancePhase(), "reason_required")
    assert message == (
        "mediator may not advance the phase without a reason: "
        "ending this dialogue before its end is an override"
    )
    s.do("partner_b", Paraphrase(text="You felt alone."))
    s.do("partner_a", ConfirmParaphrase())
    # At rest, a dialogue that the mediator ends needs no reason.
    assert s.types(s.do("mediator", AdvancePhase())) == [
        "phase.ended",
        "phase.started",
        "debrief.started",
    ]


def test_ending_a_rounds_dialogue_early_needs_a_reason() -> None:
    s = started(CHECK_IN)
    s.refuse("mediator", AdvancePhase(), "reason_required")
    events = s.do("mediator", AdvancePhase(reason="Out of time."))
    assert events[0] == PhaseEnded(index=1, by="mediator", reason="Out of time.")


# -- time-outs (Gottman) ------------------------------------------------------------------


def test_time_out_called_in_the_lobby_with_a_private_reason() -> None:
    s = Session(SPEAKER_LISTENER)
    events = s.do("partner_a", CallTimeOut(reason="  I am flooded.  "))
    assert events == [
        TimeOutStarted(
            timer="t1", by="partner_a", started_at=T0, ends_at=T0 + 20 * 60, audience=EVERYONE
        ),
        TimeOutReason(by="partner_a", reason="I am flooded.", audience=("mediator",)),
    ]
    assert events[1].audience == ("mediator",)
    assert s.state.overlay == TimeOutOverlay(
        timer="t1", by="partner_a", started_at=T0, ends_at=T0 + 1200
    )
    assert s.state.timers == (Timer(id="t1", kind="time_out_end", due=T0 + 1200),)
    # The state holds nothing private.
    assert "flooded" not in repr(s.state)
    s.refuse("mediator", Admit(seat="partner_a"), "in_time_out")


def test_time_out_without_a_reason_has_no_private_event() -> None:
    s = started()
    assert s.types(s.do("partner_b", CallTimeOut(reason="   "))) == ["timeout.started"]


def test_the_safe_signal_during_a_time_out_is_never_refused() -> None:
    s = started()
    s.do("partner_a", CallTimeOut())
    assert s.do("partner_b", CallTimeOut()) == [TimeOutSignalled(by="partner_b")]
    events = s.do("partner_a", CallTimeOut(reason="Still flooded."))
    assert events == [
        TimeOutSignalled(by="partner_a"),
        TimeOutReason(by="partner_a", reason="Still flooded.", audience=MEDIATOR_ONLY),
    ]
    assert isinstance(s.state.overlay, TimeOutOverlay)
    assert s.state.overlay.timer == "t1"


def test_only_partners_call_the_safe_signal() -> None:
    s = started()
    s.refuse("mediator", CallTimeOut(), "forbidden_for_seat")


@pytest.mark.parametrize(
    ("actor", "command"),
    [
        ("partner_a", MakeStatement(text="x")),
        ("partner_a", Yield()),
        ("partner_b", Paraphrase(text="x")),
        ("partner_b", RequestFloor()),
        ("partner_a", ConfirmParaphrase()),
        ("partner_b", AskQuestion(text="x")),
        ("partner_b", Reflect(step="summary", text="x")),
        ("mediator", GrantFloor(seat="partner_b", reason="x")),
        ("mediator", RevokeFloor(reason="x")),
        ("mediator", WaiveParaphrase(reason="x")),
        ("mediator", AdvancePhase(reason="x")),
        ("partner_a", AnswerDebrief(rating=2)),
        ("mediator", SkipDebrief(reason="x")),
    ],
)
def test_no_dialogue_act_during_a_time_out(actor: Actor, command: AnyCommand) -> None:
    s = started()
    s.do("partner_a", MakeStatement(text="I felt alone."))
    s.do("partner_a", CallTimeOut())
    message = s.refuse(actor, command, "in_time_out")
    assert message.endswith("during a time-out")


def test_time_out_ends_when_its_timer_fires_once_and_not_early() -> None:
    s = started()
    s.do("partner_b", CallTimeOut())
    s.advance(19)
    message = s.refuse("system", FireTimer(timer="t1"), "timer_not_due")
    assert message == f"system may not fire a timer t1: due at {T0 + 1200}"
    s.advance(1)
    events = s.do("system", FireTimer(timer="t1"))
    assert events == [
        TimerFired(timer="t1"),
        TimeOutEnded(timer="t1", by="system"),
        DebriefStarted(prompts=SPEAKER_LISTENER.time_out.debrief_prompts, after="time_out"),
    ]
    assert s.state.timers == ()
    assert isinstance(s.state.overlay, DebriefOverlay)
    s.advance(60)
    s.refuse("system", FireTimer(timer="t1"), "unknown_timer")
    s.refuse("system", FireTimer(timer="t99"), "unknown_timer")


def test_timers_are_fired_by_the_system_only() -> None:
    s = started()
    s.do("partner_b", CallTimeOut())
    s.advance(30)
    s.refuse("partner_a", FireTimer(timer="t1"), "forbidden_for_seat")
    s.refuse("mediator", FireTimer(timer="t1"), "forbidden_for_seat")


def test_mediator_ends_a_time_out_early_and_the_late_timer_does_nothing() -> None:
    s = started()
    s.refuse("mediator", EndTimeOut(), "not_in_time_out")
    s.do("partner_a", CallTimeOut())
    s.advance(5)
    assert s.types(s.do("mediator", EndTimeOut(reason="Both calm."))) == [
        "timeout.ended",
        "debrief.started",
    ]
    assert s.log[-2] == TimeOutEnded(timer="t1", by="mediator", reason="Both calm.")
    s.advance(30)
    s.refuse("system", FireTimer(timer="t1"), "unknown_timer")
    s.refuse("partner_a", EndTimeOut(), "forbidden_for_seat")


def test_mediator_starts_a_time_out_within_the_playbooks_range() -> None:
    s = started()
    message = s.refuse("mediator", StartTimeOut(minutes=4), "out_of_range")
    assert message == (
        "mediator may not start a time-out for 4 minutes: this playbook allows 5 to 60 minutes"
    )
    s.refuse("mediator", StartTimeOut(minutes=61), "out_of_range")
    s.refuse("partner_a", StartTimeOut(), "forbidden_for_seat")
    events = s.do("mediator", StartTimeOut())
    assert events == [TimeOutStarted(timer="t1", by="mediator", started_at=T0, ends_at=T0 + 1200)]
    assert (
        s.refuse("mediator", StartTimeOut(minutes=10), "in_time_out")
        == "mediator may not start a time-out now: one is already running"
    )
    s2 = started()
    s2.do("mediator", StartTimeOut(minutes=60))
    assert s2.state.timers[0].due == T0 + 3600


def test_extend_up_to_the_maximum_and_no_further() -> None:
    s = started()
    s.refuse("mediator", ExtendTimeOut(minutes=5), "not_in_time_out")
    s.do("partner_a", CallTimeOut())  # 20 minutes; the maximum is 60
    assert s.do("mediator", ExtendTimeOut(minutes=30)) == [
        TimeOutExtended(timer="t1", ends_at=T0 + 50 * 60)
    ]
    assert s.state.timers == (Timer(id="t1", kind="time_out_end", due=T0 + 3000),)
    message = s.refuse("mediator", ExtendTimeOut(minutes=10.5), "out_of_range")
    assert message == (
        "mediator may not extend the time-out by 10.5 minutes: the time-out would last "
        "60.5 minutes, more than the playbook's 60"
    )
    s.do("mediator", ExtendTimeOut(minutes=10))
    assert s.state.overlay == TimeOutOverlay(
        timer="t1", by="partner_a", started_at=T0, ends_at=T0 + 3600
    )
    s.refuse("mediator", ExtendTimeOut(minutes=0.5), "out_of_range")
    # The old deadline no longer fires.
    s.advance(20)
    s.refuse("system", FireTimer(timer="t1"), "timer_not_due")
    s.advance(40)
    s.do("system", FireTimer(timer="t1"))


def test_the_maximum_is_never_more_than_a_day() -> None:
    long = custom(time_out="default_minutes = 20\nmin_minutes = 1\nmax_minutes = 1440")
    s = started(long)
    s.do("mediator", StartTimeOut(minutes=1440))
    s.refuse("mediator", ExtendTimeOut(minutes=1), "out_of_range")


# -- the debrief after a time-out -------------------------------------------------------


def in_debrief_after_time_out() -> Session:
    s = started()
    s.do("partner_a", MakeStatement(text="I felt alone."))
    s.do("partner_b", CallTimeOut(reason="Too much."))
    s.do("mediator", EndTimeOut())
    return s


@pytest.mark.parametrize(
    ("actor", "command"),
    [
        ("partner_b", Paraphrase(text="x")),
        ("partner_a", MakeStatement(text="x")),
        ("partner_a", RequestFloor()),
        ("mediator", AdvancePhase(reason="x")),
        ("mediator", WaiveParaphrase(reason="x")),
        ("mediator", RevokeFloor(reason="x")),
        ("mediator", ExtendTimeOut(minutes=5)),
    ],
)
def test_the_debrief_is_mandatory_before_dialogue_resumes(
    actor: Actor, command: AnyCommand
) -> None:
    s = in_debrief_after_time_out()
    message = s.refuse(actor, command, "debrief_pending")
    assert message.endswith("before the debrief after the time-out is completed")


def test_debrief_answers_are_private_to_the_mediator_and_their_author() -> None:
    s = in_debrief_after_time_out()
    assert s.do("partner_b", AnswerDebrief(rating=7, text="Still shaky.")) == [
        DebriefAnswered(
            seat="partner_b", rating=7, text="Still shaky.", audience=("mediator", "partner_b")
        )
    ]
    assert "shaky" not in repr(s.state)
    s.refuse("partner_b", AnswerDebrief(rating=3), "already_answered")
    s.refuse("mediator", AnswerDebrief(rating=3), "forbidden_for_seat")
    events = s.do("partner_a", AnswerDebrief(rating=2))
    assert events == [
        DebriefAnswered(seat="partner_a", rating=2, text="", audience=("mediator", "partner_a")),
        DebriefCompleted(after="time_out"),
    ]
    # The interrupted phase resumes exactly where it was.
    assert s.state.overlay is None
    assert (d(s).speaker, d(s).stage) == ("partner_a", "awaiting_paraphrase")
    s.do("partner_b", Paraphrase(text="You felt alone."))


def test_the_mediator_may_skip_the_debrief_with_a_reason() -> None:
    s = in_debrief_after_time_out()
    s.refuse("mediator", SkipDebrief(), "reason_required")
    s.refuse("partner_a", SkipDebrief(reason="x"), "forbidden_for_seat")
    assert s.do("mediator", SkipDebrief(reason=" Both said they are fine. ")) == [
        DebriefCompleted(after="time_out", skipped=True, reason="Both said they are fine.")
    ]
    assert s.state.overlay is None
    s.refuse("mediator", SkipDebrief(reason="again"), "no_debrief")


def test_a_time_out_during_the_debrief_starts_a_new_one() -> None:
    s = in_debrief_after_time_out()
    s.do("partner_a", AnswerDebrief(rating=8))
    events = s.do("partner_a", CallTimeOut())
    assert s.types(events) == ["timeout.started"]
    s.advance(20)
    s.do("system", FireTimer(timer="t2"))
    assert s.state.overlay == DebriefOverlay(prompts=SPEAKER_LISTENER.time_out.debrief_prompts)


def test_time_out_in_the_lobby_then_the_lobby_goes_on() -> None:
    s = Session(SPEAKER_LISTENER)
    s.do("mediator", Admit(seat="partner_a"))
    s.do("partner_b", CallTimeOut())
    s.do("mediator", EndTimeOut())
    s.refuse("mediator", Admit(seat="partner_b"), "debrief_pending")
    s.do("partner_a", AnswerDebrief(rating=1))
    s.do("partner_b", AnswerDebrief(rating=1))
    assert isinstance(s.state.phase, LobbyPhase)
    s.do("mediator", Admit(seat="partner_b"))


def test_answer_without_a_debrief() -> None:
    s = started()
    s.refuse("partner_a", AnswerDebrief(rating=1), "no_debrief")
    s.refuse("mediator", SkipDebrief(reason="x"), "no_debrief")


# -- scheduled time-outs ------------------------------------------------------------------


def test_a_time_out_scheduled_at_a_time_fires_when_due_and_once() -> None:
    s = started()
    assert s.do("mediator", ScheduleTimeOut(at=T0 + 600)) == [
        TimeOutScheduled(timer="t1", due=T0 + 600, every_minutes=None, minutes=20)
    ]
    assert s.state.schedule == Schedule(timer="t1", every_minutes=None, minutes=20)
    s.advance(9)
    s.refuse("system", FireTimer(timer="t1"), "timer_not_due")
    s.advance(1)
    assert s.do("system", FireTimer(timer="t1")) == [
        TimerFired(timer="t1"),
        TimeOutStarted(timer="t2", by="system", started_at=T0 + 600, ends_at=T0 + 1800),
    ]
    assert s.state.schedule is None
    s.refuse("system", FireTimer(timer="t1"), "unknown_timer")
    s.refuse("partner_a", MakeStatement(text="x"), "in_time_out")


def test_a_time_out_scheduled_every_n_minutes_rearms_itself() -> None:
    s = started()
    s.do("mediator", ScheduleTimeOut(every_minutes=30, minutes=5))
    assert s.log[-1] == TimeOutScheduled(timer="t1", due=T0 + 1800, every_minutes=30, minutes=5)
    s.advance(45)  # fired late: it counts from when it fired
    assert s.do("system", FireTimer(timer="t1")) == [
        TimerFired(timer="t1"),
        TimeOutStarted(timer="t2", by="system", started_at=T0 + 2700, ends_at=T0 + 3000),
        TimeOutScheduled(timer="t3", due=T0 + 4500, every_minutes=30, minutes=5),
    ]
    s.refuse("system", FireTimer(timer="t1"), "unknown_timer")
    s.refuse("system", FireTimer(timer="t3"), "timer_not_due")
    s.advance(5)
    s.do("system", FireTimer(timer="t2"))
    s.do("mediator", SkipDebrief(reason="Routine break."))
    s.advance(25)
    assert s.types(s.do("system", FireTimer(timer="t3"))) == [
        "timer.fired",
        "timeout.started",
        "timeout.scheduled",
    ]


def test_a_scheduled_time_out_does_not_stack_on_a_running_one() -> None:
    s = started()
    s.do("mediator", ScheduleTimeOut(every_minutes=10, minutes=5))
    s.advance(5)
    s.do("partner_a", CallTimeOut())  # t2, 20 minutes
    s.advance(5)
    events = s.do("system", FireTimer(timer="t1"))
    assert events == [
        TimerFired(timer="t1"),
        TimeOutScheduled(timer="t3", due=T0 + 1200, every_minutes=10, minutes=5),
    ]
    overlay = s.state.overlay
    assert isinstance(overlay, TimeOutOverlay)
    assert overlay.timer == "t2"


def test_a_scheduled_time_out_skips_the_lobby() -> None:
    s = Session(SPEAKER_LISTENER)
    s.do("mediator", ScheduleTimeOut(at=T0 + 60))
    s.advance(1)
    assert s.types(s.do("system", FireTimer(timer="t1"))) == ["timer.fired"]
    assert s.state.overlay is None


def test_scheduling_refusals_and_replacement() -> None:
    s = started()
    s.refuse("mediator", ScheduleTimeOut(at=T0), "out_of_range")
    assert (
        s.refuse("mediator", ScheduleTimeOut(at=T0 - 1), "out_of_range")
        == "mediator may not schedule a time-out in the past"
    )
    assert (
        s.refuse("mediator", ScheduleTimeOut(), "invalid_command")
        == "mediator may not schedule a time-out without `at` or `every_minutes`"
    )
    s.refuse("mediator", ScheduleTimeOut(at=T0 + 60, minutes=90), "out_of_range")
    s.refuse("partner_a", ScheduleTimeOut(at=T0 + 60), "forbidden_for_seat")
    s.refuse("mediator", CancelSchedule(), "no_schedule")
    s.do("mediator", ScheduleTimeOut(at=T0 + 60))
    # Breaks (20 minutes by default here) closer together than their length
    # would follow one another without end.
    refusal = s.refuse("mediator", ScheduleTimeOut(every_minutes=15), "out_of_range")
    assert "every 15 minutes: breaks of 20 minutes" in refusal
    s.refuse("mediator", ScheduleTimeOut(every_minutes=1e-6, minutes=5), "out_of_range")
    assert s.do("mediator", ScheduleTimeOut(every_minutes=25)) == [
        ScheduleCancelled(timer="t1"),
        TimeOutScheduled(timer="t2", due=T0 + 1500, every_minutes=25, minutes=20),
    ]
    assert [t.id for t in s.state.timers] == ["t2"]
    s.advance(1)
    s.refuse("system", FireTimer(timer="t1"), "unknown_timer")
    assert s.do("mediator", CancelSchedule()) == [ScheduleCancelled(timer="t2")]
    assert (s.state.schedule, s.state.timers) == (None, ())
    s.refuse("mediator", CancelSchedule(), "no_schedule")


def test_the_playbook_schedules_breaks_when_the_first_dialogue_starts() -> None:
    every = custom(
        time_out="default_minutes = 10\nmin_minutes = 5\nmax_minutes = 60\nevery_minutes = 15"
    )
    s = Session(every)
    s.do("mediator", Admit(seat="partner_a"))
    s.do("mediator", Admit(seat="partner_b"))
    events = s.do("mediator", AdvancePhase())
    assert events[-1] == TimeOutScheduled(timer="t1", due=T0 + 900, every_minutes=15, minutes=10)
    s.advance(15)
    assert s.types(s.do("system", FireTimer(timer="t1"))) == [
        "timer.fired",
        "timeout.started",
        "timeout.scheduled",
    ]


def test_breaks_never_follow_closer_than_they_last() -> None:
    """A playbook (or schedule) from before the `break_interval` rule, with
    breaks every minute lasting ten, is read back from its session's record:
    the breaks come every ten minutes, never in a loop."""
    source = playbook_source(
        time_out="default_minutes = 10\nmin_minutes = 5\nmax_minutes = 60\nevery_minutes = 1"
    )
    with pytest.raises(PlaybookError, match="break_interval"):
        parse_playbook(source, "old.toml")
    s = Session(stored_playbook(source, "old.toml"))
    s.do("mediator", Admit(seat="partner_a"))
    s.do("mediator", Admit(seat="partner_b"))
    events = s.do("mediator", AdvancePhase())
    assert events[-1] == TimeOutScheduled(timer="t1", due=T0 + 600, every_minutes=1, minutes=10)
    s.advance(10)
    fired = s.do("system", FireTimer(timer="t1"))
    assert fired[-1] == TimeOutScheduled(timer="t3", due=s.now + 600, every_minutes=1, minutes=10)


# -- ending --------------------------------------------------------------------------------


def test_the_closing_debrief_ends_the_session() -> None:
    s = started()
    s.do("mediator", AdvancePhase())
    assert isinstance(s.state.phase, DebriefPhase)
    s.refuse("mediator", AdvancePhase(), "reason_required")
    s.refuse("partner_a", MakeStatement(text="x"), "wrong_phase")
    s.do("partner_a", AnswerDebrief(rating=2, text="Heard."))
    s.refuse("partner_a", AnswerDebrief(rating=2), "already_answered")
    events = s.do("partner_b", AnswerDebrief(rating=3, text="Relieved."))
    assert events == [
        DebriefAnswered(
            seat="partner_b", rating=3, text="Relieved.", audience=("mediator", "partner_b")
        ),
        DebriefCompleted(after="phase"),
        PhaseEnded(index=2, by="system"),
        SessionEnded(by="system"),
    ]
    assert s.state.ended
    assert s.state.index == 3


def test_skipping_the_closing_debrief_ends_the_session() -> None:
    s = started()
    s.do("mediator", AdvancePhase())
    events = s.do("mediator", SkipDebrief(reason="They left."))
    assert events == [
        DebriefCompleted(after="phase", skipped=True, reason="They left."),
        PhaseEnded(index=2, by="mediator", reason="They left."),
        SessionEnded(by="system"),
    ]


def test_a_time_out_in_the_closing_debrief_keeps_its_answers() -> None:
    s = started()
    s.do("mediator", AdvancePhase())
    s.do("partner_a", AnswerDebrief(rating=5))
    s.do("partner_b", CallTimeOut())
    s.do("mediator", EndTimeOut())
    s.do("partner_a", AnswerDebrief(rating=4))  # the time-out's own debrief
    s.do("partner_b", AnswerDebrief(rating=4))
    assert s.state.overlay is None
    assert s.state.phase == DebriefPhase(answered=("partner_a",))
    assert s.types(s.do("partner_b", AnswerDebrief(rating=3)))[-1] == "session.ended"


def _lobby() -> Session:
    return Session(SPEAKER_LISTENER)


def _floor_idle() -> Session:
    return started(CHAIRED)


def _awaiting_paraphrase() -> Session:
    s = started()
    s.do("partner_a", MakeStatement(text="x"))
    return s


def _awaiting_answer() -> Session:
    s = started(IMAGO)
    s.do("partner_a", MakeStatement(text="x"))
    s.do("partner_b", AskQuestion(text="?"))
    return s


def _reflecting() -> Session:
    s = started(IMAGO)
    mirrored(s, "partner_a")
    s.do("partner_a", Yield())
    return s


def _in_time_out() -> Session:
    s = _awaiting_paraphrase()
    s.do("partner_b", CallTimeOut())
    return s


def _closing_debrief() -> Session:
    s = started()
    s.do("mediator", AdvancePhase())
    return s


SITUATIONS: dict[str, Callable[[], Session]] = {
    "lobby": _lobby,
    "floor idle": _floor_idle,
    "awaiting paraphrase": _awaiting_paraphrase,
    "awaiting answer": _awaiting_answer,
    "reflecting": _reflecting,
    "time-out": _in_time_out,
    "debrief after time-out": in_debrief_after_time_out,
    "closing debrief": _closing_debrief,
}


@pytest.mark.parametrize("situation", SITUATIONS)
def test_the_mediator_ends_the_session_from_every_phase(situation: str) -> None:
    s = SITUATIONS[situation]()
    s.refuse("mediator", EndSession(), "reason_required")
    s.refuse("partner_a", EndSession(reason="x"), "forbidden_for_seat")
    assert s.do("mediator", EndSession(reason="Safety first.")) == [
        SessionEnded(by="mediator", reason="Safety first.")
    ]
    assert s.state.ended
    assert (s.state.overlay, s.state.timers, s.state.schedule) == (None, (), None)


@pytest.mark.parametrize("situation", SITUATIONS)
def test_either_partner_calls_a_time_out_in_every_phase(situation: str) -> None:
    for partner in ("partner_a", "partner_b"):
        s = SITUATIONS[situation]()
        events = s.do(partner, CallTimeOut(reason="Stop."))
        assert s.types(events)[-1] == "timeout.reason"
        assert isinstance(s.state.overlay, TimeOutOverlay)


@pytest.mark.parametrize(
    ("actor", "command"),
    [
        ("partner_a", CallTimeOut()),
        ("partner_b", MakeStatement(text="x")),
        ("partner_a", AnswerDebrief(rating=1)),
        ("mediator", EndSession(reason="again")),
        ("mediator", StartTimeOut()),
        ("mediator", ScheduleTimeOut(every_minutes=5)),
        ("mediator", AdvancePhase(reason="x")),
        ("mediator", Admit(seat="partner_a")),
        ("system", FireTimer(timer="t1")),
    ],
)
def test_nothing_but_notes_after_the_session_ended(actor: Actor, command: AnyCommand) -> None:
    s = _awaiting_paraphrase()
    s.do("partner_a", CallTimeOut())
    s.do("mediator", EndSession(reason="Done."))
    message = s.refuse(actor, command, "session_ended")
    assert message.endswith("after the session ended")
    assert s.do("mediator", AddNote(text="Follow up next week.")) == [
        NoteAdded(text="Follow up next week.", audience=("mediator",))
    ]


def test_notes_are_the_mediators_and_private() -> None:
    s = _in_time_out()
    assert s.do("mediator", AddNote(text="A flooded.")) == [
        NoteAdded(text="A flooded.", audience=MEDIATOR_ONLY)
    ]
    s.refuse("partner_a", AddNote(text="x"), "forbidden_for_seat")
    assert "flooded" not in repr(s.state)


def test_a_seat_forbidden_a_command_is_told_who_may() -> None:
    s = started()
    assert (
        s.refuse("partner_b", WaiveParaphrase(reason="x"), "forbidden_for_seat")
        == "partner_b may not waive a paraphrase at all: only the mediator may"
    )
    assert (
        s.refuse("mediator", Paraphrase(text="x"), "forbidden_for_seat")
        == "mediator may not paraphrase at all: only a partner may"
    )
