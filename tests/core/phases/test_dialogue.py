"""The dialogue (phases/dialogue.py): the floor (BFCP), the paraphrase gate
(PREP; invariants 1 and 2), clarifying questions and the listener's steps
(Imago), rounds, and the mediator's overrides.

Every refusal is checked for its stable code, and (by `Session.refuse`) for a
message that starts with the seat and the act: "partner_b may not make a
statement …".
"""

from __future__ import annotations

from coretest import (
    custom,
    d,
    mirrored,
    shipped,
    started,
)

from accord.core.commands import (
    AdvancePhase,
    AnswerQuestion,
    AnyCommand,
    AskQuestion,
    ConfirmParaphrase,
    CorrectParaphrase,
    GrantFloor,
    MakeStatement,
    Paraphrase,
    Reflect,
    ReorderQueue,
    RequestFloor,
    RevokeFloor,
    WaiveParaphrase,
    WithdrawRequest,
    Yield,
)
from accord.core.events import (
    DebriefStarted,
    FloorGranted,
    FloorRequested,
    FloorRequestWithdrawn,
    FloorRevoked,
    FloorYielded,
    ParaphraseConfirmed,
    ParaphraseCorrected,
    ParaphraseOffered,
    ParaphraseWaived,
    PhaseEnded,
    PhaseStarted,
    QuestionAnswered,
    QuestionAsked,
    QueueReordered,
    ReflectionOffered,
    StatementMade,
    TurnEnded,
)
from accord.core.permissions import prompt
from accord.core.phases.dialogue import STAGES, TABLE
from accord.core.seats import Actor, other
from accord.core.state import (
    DebriefPhase,
)
from accord.core.view import seat_view

IMAGO = shipped("imago-dialogue")
CHECK_IN = shipped("check-in")
#: The chair grants every turn (no round robin).
CHAIRED = custom(dialogue='auto_round_robin = false\nends = "mediator"')


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
    assert events == [
        StatementMade(
            seat="partner_a", statement=1, text="I felt alone.", stage="awaiting_paraphrase"
        )
    ]
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
        FloorYielded(seat="partner_a", stage="confirmed"),
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
        FloorYielded(seat="partner_b", stage="confirmed"),
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
    # The speaker spoke: the listener reflects first (Imago), and the event says so.
    assert s.do("partner_a", Yield()) == [FloorYielded(seat="partner_a", stage="reflecting")]
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
        PhaseStarted(index=2, phase_type="debrief", title="Closing debrief", phase=DebriefPhase()),
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
        ParaphraseWaived(statement=1, reason="Close enough.", waived="paraphrase")
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


# -- events carry their outcome (evolve applies, never decides) ---------------------------


def test_a_statement_says_the_stage_it_leads_to() -> None:
    s = started()
    [made] = s.do("partner_a", MakeStatement(text="I felt alone."))
    assert isinstance(made, StatementMade) and made.stage == "awaiting_paraphrase"
    free = started(custom(dialogue='paraphrase_required = false\nends = "mediator"'))
    [made] = free.do("partner_a", MakeStatement(text="I felt alone."))
    assert isinstance(made, StatementMade) and made.stage == "confirmed"
    assert d(free).stage == "confirmed"
    free.refuse("partner_b", Paraphrase(text="x"), "nothing_to_paraphrase")
    free.do("partner_a", Yield())
    assert d(free).speaker == "partner_b"


def test_a_yield_says_whether_the_listener_reflects_first() -> None:
    s = started(IMAGO)
    # Imago reflects what was said: a speaker who said nothing passes the turn.
    assert s.do("partner_a", Yield())[0] == FloorYielded(seat="partner_a", stage="speaking")
    assert (d(s).speaker, d(s).stage) == ("partner_b", "speaking")
    mirrored(s, "partner_b")
    assert s.do("partner_b", Yield()) == [FloorYielded(seat="partner_b", stage="reflecting")]


def test_a_waiver_says_what_it_waived() -> None:
    s = started(IMAGO)
    s.do("partner_a", MakeStatement(text="I felt alone."))
    s.do("partner_b", AskQuestion(text="When?"))
    [waived] = s.do("mediator", WaiveParaphrase(reason="Heard."))
    assert waived == ParaphraseWaived(statement=1, reason="Heard.", waived="paraphrase")
    assert d(s).stage == "confirmed"
    s.do("partner_a", Yield())
    waived, *rest = s.do("mediator", WaiveParaphrase(reason="Short of time."))
    assert waived == ParaphraseWaived(statement=1, reason="Short of time.", waived="reflection")
    assert [type(e) for e in rest] == [TurnEnded, FloorGranted]


# -- the table and what each seat is told -------------------------------------------------


def test_the_table_has_every_stage_for_every_role() -> None:
    held = set(STAGES) - {"idle"}
    assert set(TABLE["partner"]) == {"idle"}
    assert set(TABLE["speaker"]) == set(TABLE["listener"]) == held
    assert set(TABLE["mediator"]) == set(STAGES)
    # While a statement awaits its paraphrase the listener may only paraphrase
    # or ask; the speaker nothing (invariant 2).
    assert TABLE["listener"]["awaiting_paraphrase"] == {Paraphrase, AskQuestion}
    assert TABLE["speaker"]["awaiting_paraphrase"] == set()


def test_each_role_is_told_what_to_do_in_each_stage() -> None:
    s = started(IMAGO)
    told = {seat: prompt(s.state, seat) for seat in ("mediator", "partner_a", "partner_b")}
    assert [(p.role, p.stage) for p in told.values()] == [
        ("mediator", "speaking"),
        ("speaker", "speaking"),
        ("listener", "speaking"),
    ]
    s.do("partner_a", MakeStatement(text="I felt alone."))
    assert prompt(s.state, "partner_b").text == (
        "Your turn: paraphrase what your partner said. You may ask a clarifying question first."
    )
    assert prompt(s.state, "partner_a").text == "Wait while your partner paraphrases what you said."
    s.do("partner_b", Paraphrase(text="You felt alone."))
    assert prompt(s.state, "partner_a").stage == "awaiting_confirmation"
    s.do("partner_a", ConfirmParaphrase())
    s.do("partner_a", Yield())
    assert prompt(s.state, "partner_b").text == "Your turn: sum up what your partner said."
    chaired = started(CHAIRED)
    chaired.do("partner_b", RequestFloor())
    assert prompt(chaired.state, "partner_b").text == "You asked for the floor (place 1)."
    assert prompt(chaired.state, "mediator").text == (
        "Nobody holds the floor: grant it. partner_b asked first."
    )


def test_a_seat_sees_who_listens() -> None:
    s = started()
    assert seat_view(s.state, "partner_a")["listener"] == "partner_b"
    assert "listener" not in seat_view(started(CHAIRED).state, "mediator")
