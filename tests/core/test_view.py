"""What each seat is shown: its role, prompt, the commands it may send now
(exactly those `decide` would take: test_permissions.py), which of them are
overrides, and the hints a page needs to fill them in."""

from __future__ import annotations

from coretest import Session, custom, in_debrief_after_time_out, mirrored, shipped, started

from accord.core.commands import (
    Admit,
    AnswerDebrief,
    CallTimeOut,
    EndSession,
    EndTimeOut,
    ExtendTimeOut,
    MakeStatement,
    RequestFloor,
    Yield,
)
from accord.core.seats import SEATS
from accord.core.view import may_send, role_of, seat_update, seat_updates, seat_view

SPEAKER_LISTENER = shipped("speaker-listener")
IMAGO = shipped("imago-dialogue")
#: The keys of a snapshot's state before protocol v2, which clients rely on.
V1_KEYS = {
    "playbook", "index", "phase", "overlay", "timers", "schedule", "next_timer",
    "next_statement", "admitted", "dialogue_started", "ended", "role", "may",
}  # fmt: skip


def test_roles_follow_the_floor() -> None:
    s = Session(SPEAKER_LISTENER)
    assert [role_of(s.state, seat) for seat in ("mediator", "partner_a", "partner_b")] == [
        "mediator",
        "partner",
        "partner",
    ]
    s.start()
    assert role_of(s.state, "partner_a") == "speaker"
    assert role_of(s.state, "partner_b") == "listener"


def test_the_lobby() -> None:
    s = Session(SPEAKER_LISTENER)
    assert may_send(s.state, "partner_a") == ["timeout.call", "names.set"]
    # Advancing before both partners are admitted is refused (not_admitted),
    # so it is not offered (before protocol v2 it was).
    assert set(may_send(s.state, "mediator")) == {
        "admit",
        "timeout.start",
        "timeout.schedule",
        "note",
        "session.end",
        "names.set",
    }
    s.do("mediator", Admit(seat="partner_a"))
    s.do("mediator", Admit(seat="partner_b"))
    # Nobody is left to admit (already_admitted, whichever seat it names).
    assert set(may_send(s.state, "mediator")) == {
        "phase.advance",
        "timeout.start",
        "timeout.schedule",
        "note",
        "session.end",
        "names.set",
    }


def test_the_floor_and_the_gate() -> None:
    s = Session(SPEAKER_LISTENER)
    s.start()
    assert may_send(s.state, "partner_a") == ["yield", "statement", "timeout.call", "names.set"]
    assert may_send(s.state, "partner_b") == ["floor.request", "timeout.call", "names.set"]
    s.do("partner_a", MakeStatement(text="I felt alone."))
    assert may_send(s.state, "partner_a") == ["timeout.call", "names.set"]
    # This playbook allows no clarifying question (questions_not_allowed).
    assert may_send(s.state, "partner_b") == ["paraphrase", "timeout.call", "names.set"]
    imago = started(IMAGO)
    imago.do("partner_a", MakeStatement(text="I felt alone."))
    assert may_send(imago.state, "partner_b") == [
        "paraphrase",
        "question",
        "timeout.call",
        "names.set",
    ]


def test_the_chair_is_offered_what_the_floor_allows() -> None:
    s = Session(SPEAKER_LISTENER)
    s.start()
    mediator = set(may_send(s.state, "mediator"))
    assert {"floor.revoke", "floor.reorder", "phase.advance"} <= mediator
    # The floor is held (floor_taken) and no statement awaits (nothing_to_paraphrase).
    assert not {"floor.grant", "paraphrase.waive"} & mediator
    s.do("partner_a", MakeStatement(text="I felt alone."))
    assert "paraphrase.waive" in may_send(s.state, "mediator")


def test_a_time_out_and_its_debrief() -> None:
    s = Session(SPEAKER_LISTENER)
    s.start()
    s.do("partner_b", CallTimeOut())
    assert may_send(s.state, "partner_a") == ["timeout.call"]
    assert "timeout.end" in may_send(s.state, "mediator")
    assert "timeout.start" not in may_send(s.state, "mediator")
    s.do("mediator", EndTimeOut())
    assert may_send(s.state, "partner_a") == ["debrief.answer", "timeout.call"]
    assert "debrief.skip" in may_send(s.state, "mediator")


def test_after_the_end_only_notes() -> None:
    s = Session(SPEAKER_LISTENER)
    s.do("mediator", EndSession(reason="Cancelled."))
    assert may_send(s.state, "mediator") == ["note"]
    assert may_send(s.state, "partner_a") == []


def test_seat_view_is_the_state_with_role_and_acts() -> None:
    s = Session(SPEAKER_LISTENER)
    s.start()
    view = seat_view(s.state, "partner_b")
    assert view["role"] == "listener"
    assert view["listener"] == "partner_b"
    assert view["ended"] is False
    assert view["may"] == may_send(s.state, "partner_b")
    assert view["phase"]["speaker"] == "partner_a"
    assert view["playbook"]["name"] == "speaker-listener"
    assert set(view) >= V1_KEYS


def test_a_partner_sees_only_its_own_debrief_answer_counted() -> None:
    s = Session(SPEAKER_LISTENER)
    s.start()
    s.do("partner_b", CallTimeOut())
    s.do("mediator", EndTimeOut())
    s.do("partner_b", AnswerDebrief(rating=7, text="Shaky."))
    # partner_b's answer is private to partner_b and the mediator; so is the
    # fact that there is one (partner_a never receives its event).
    answered = {seat: list(seat_view(s.state, seat)["overlay"]["answered"]) for seat in SEATS}
    assert answered == {"mediator": ["partner_b"], "partner_a": [], "partner_b": ["partner_b"]}
    assert "debrief.answer" in seat_view(s.state, "partner_a")["may"]
    # Nor does partner_a's prompt tell: it is the prompt of a partner yet to answer.
    fresh = in_debrief_after_time_out()
    assert (
        seat_view(s.state, "partner_a")["prompt"] == seat_view(fresh.state, "partner_a")["prompt"]
    )
    assert seat_view(s.state, "partner_b")["prompt"]["stage"] == "answered"


# -- additions of protocol v2: prompt, overrides, hints, and the light update --------------


def test_the_prompt_says_role_stage_and_what_to_do() -> None:
    s = started()
    s.do("partner_a", MakeStatement(text="I felt alone."))
    assert seat_view(s.state, "partner_b")["prompt"] == {
        "role": "listener",
        "stage": "awaiting_paraphrase",
        "text": "Your turn: paraphrase what your partner said.",
    }
    assert seat_view(s.state, "partner_a")["prompt"]["role"] == "speaker"
    assert seat_view(s.state, "mediator")["prompt"] == {
        "role": "mediator",
        "stage": "awaiting_paraphrase",
        "text": "partner_b is to paraphrase partner_a's statement.",
    }
    s.do("partner_b", CallTimeOut())
    # During a time-out the stage is the time-out's; the role stays the phase's.
    prompt = seat_view(s.state, "partner_b")["prompt"]
    assert (prompt["role"], prompt["stage"]) == ("listener", "time_out")


def test_the_listener_is_told_each_reflection_step() -> None:
    s = started(IMAGO)
    mirrored(s, "partner_a")
    s.do("partner_a", Yield())
    view = seat_view(s.state, "partner_b")
    assert view["prompt"]["stage"] == "reflecting"
    assert view["prompt"]["text"] == "Your turn: sum up what your partner said."
    assert view["hints"]["reflect"] == {"step": "summary"}


def test_overrides_are_the_offered_commands_that_need_a_reason_now() -> None:
    s = started()
    view = seat_view(s.state, "mediator")
    # At rest, ending a mediator-ended dialogue needs no reason.
    assert set(view["overrides"]) == {"floor.revoke", "floor.reorder", "session.end"}
    s.do("partner_a", MakeStatement(text="I felt alone."))
    view = seat_view(s.state, "mediator")
    assert set(view["overrides"]) == {
        "phase.advance",
        "floor.revoke",
        "floor.reorder",
        "paraphrase.waive",
        "session.end",
    }
    assert set(view["overrides"]) <= set(view["may"])
    assert seat_view(s.state, "partner_b")["overrides"] == []


def test_a_grant_is_an_override_unless_to_the_first_in_the_queue() -> None:
    chaired = Session(custom(dialogue='auto_round_robin = false\nends = "mediator"'))
    chaired.start()
    view = seat_view(chaired.state, "mediator")
    assert "floor.grant" in view["overrides"]
    assert view["hints"]["floor.grant"] == {"free": []}
    chaired.do("partner_b", RequestFloor())
    view = seat_view(chaired.state, "mediator")
    assert "floor.grant" not in view["overrides"]
    assert view["hints"]["floor.grant"] == {"free": ["partner_b"]}


def test_hints_carry_what_a_page_needs_to_fill_a_command_in() -> None:
    s = started()
    # Naming: the mediator names either partner, a partner only themselves (session.py).
    mine = {"names.set": {"seats": ["partner_a"], "max_chars": 40}}
    both = {"names.set": {"seats": ["partner_a", "partner_b"], "max_chars": 40}}
    assert seat_view(s.state, "partner_a")["hints"] == {"statement": {"max_chars": 500}, **mine}
    s.do("partner_b", CallTimeOut())  # 20 minutes of at most 60
    s.do("mediator", ExtendTimeOut(minutes=10))
    assert seat_view(s.state, "mediator")["hints"] == {
        "timeout.extend": {"max_minutes": 30.0},
        **both,
    }
    s.do("mediator", EndTimeOut())
    prompts = list(SPEAKER_LISTENER.time_out.debrief_prompts)
    assert seat_view(s.state, "partner_a")["hints"] == {
        "debrief.answer": {"prompts": prompts},
    }


def test_seat_update_is_the_view_without_the_playbook() -> None:
    s = started(IMAGO)
    mirrored(s, "partner_a")
    s.do("partner_b", CallTimeOut(reason="A break."))
    s.do("mediator", EndTimeOut())
    s.do("partner_a", AnswerDebrief(rating=3))
    for seat in SEATS:
        view = seat_view(s.state, seat)
        del view["playbook"]
        assert seat_update(s.state, seat) == view


def test_the_updates_of_several_seats_at_once_are_each_seats_own() -> None:
    # The hub converts the state once per batch (seat_updates); each seat's
    # view must come out as if made alone, and no seat's hiding may leak into
    # another's (a partner sees only its own debrief answer counted).
    s = in_debrief_after_time_out()
    s.do("partner_a", AnswerDebrief(rating=3, text="Better."))
    views = seat_updates(s.state, SEATS)
    assert views == {seat: seat_update(s.state, seat) for seat in SEATS}
    assert views["partner_b"]["overlay"]["answered"] == []
    assert views["partner_a"]["overlay"]["answered"] == ["partner_a"]
    assert sorted(views["mediator"]["overlay"]["answered"]) == ["partner_a"]


def test_the_lobby_says_whom_to_admit_and_a_full_time_out_is_not_offered() -> None:
    s = Session(SPEAKER_LISTENER)
    assert seat_view(s.state, "mediator")["hints"]["admit"] == {"seats": ["partner_a", "partner_b"]}
    s.do("mediator", Admit(seat="partner_b"))
    assert seat_view(s.state, "mediator")["hints"]["admit"] == {"seats": ["partner_a"]}
    t = started()
    t.do("partner_b", CallTimeOut())  # 20 minutes of at most 60
    t.do("mediator", ExtendTimeOut(minutes=40))
    view = seat_view(t.state, "mediator")
    # At the maximum, every extension is refused (out_of_range): not offered.
    assert "timeout.extend" not in view["may"] and "timeout.extend" not in view["hints"]
