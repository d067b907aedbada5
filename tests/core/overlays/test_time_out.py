"""The time-out overlay (overlays/time_out.py): the safe signal, the
mediator's time-outs within the playbook's lengths, timers, schedules, and
the debrief that follows every time-out (Gottman; invariants 3 and 4)."""

from __future__ import annotations

import pytest
from coretest import (
    T0,
    Session,
    custom,
    d,
    in_debrief_after_time_out,
    playbook_source,
    shipped,
    started,
)

from accord.core.commands import (
    Admit,
    AdvancePhase,
    AnswerDebrief,
    AnyCommand,
    AskQuestion,
    CallTimeOut,
    CancelSchedule,
    ConfirmParaphrase,
    EndTimeOut,
    ExtendTimeOut,
    FireTimer,
    GrantFloor,
    MakeStatement,
    Paraphrase,
    Reflect,
    RequestFloor,
    RevokeFloor,
    ScheduleTimeOut,
    SkipDebrief,
    StartTimeOut,
    WaiveParaphrase,
    Yield,
)
from accord.core.events import (
    EVERYONE,
    MEDIATOR_ONLY,
    DebriefAnswered,
    DebriefCompleted,
    DebriefStarted,
    ScheduleCancelled,
    TimeOutEnded,
    TimeOutExtended,
    TimeOutReason,
    TimeOutScheduled,
    TimeOutSignalled,
    TimeOutStarted,
    TimerFired,
)
from accord.core.kinds import Prompt
from accord.core.permissions import may, prompt
from accord.core.playbook import PlaybookError, parse_playbook, stored_playbook
from accord.core.seats import Actor
from accord.core.state import (
    DebriefOverlay,
    LobbyPhase,
    Schedule,
    TimeOutOverlay,
    Timer,
)
from accord.core.view import seat_view

SPEAKER_LISTENER = shipped("speaker-listener")  # time-outs: default 20, 5..60 minutes


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


# -- what passes while the overlay stands ----------------------------------------------------


def test_a_time_out_lets_through_only_time_out_business() -> None:
    s = started()
    s.do("partner_a", CallTimeOut())
    assert set(may(s.state, "mediator")) == {
        "timeout.end",
        "timeout.extend",
        "timeout.schedule",
        "note",
        "session.end",
        "names.set",  # the mediator may correct a name in every live state
    }
    s.do("mediator", ScheduleTimeOut(at=T0 + 3600))
    assert "timeout.unschedule" in may(s.state, "mediator")
    assert may(s.state, "partner_b") == ["timeout.call"]
    assert may(s.state, "system") == ["timer.fire"]
    assert prompt(s.state, "partner_b").stage == "time_out"


def test_the_debrief_after_a_time_out_lets_through_only_the_debrief() -> None:
    s = in_debrief_after_time_out()
    assert set(may(s.state, "mediator")) == {
        "debrief.skip",
        "timeout.start",
        "timeout.schedule",
        "note",
        "session.end",
        "names.set",  # the mediator may correct a name in every live state
    }
    assert may(s.state, "partner_a") == ["debrief.answer", "timeout.call"]
    assert seat_view(s.state, "mediator")["overrides"] == ["debrief.skip", "session.end"]
    assert prompt(s.state, "partner_a") == Prompt(
        "speaker", "answering", "Before the session goes on: answer the debrief."
    )
