"""The partners' display names (session.py): who may set which, and what a name is.

A session created in a case opens with `names.changed` from the system (the
case's names); after that the mediator names either partner and each partner
may change their own name only. Every seat sees every name.
"""

from __future__ import annotations

import pytest
from coretest import Session, shipped, started

from accord.core.codec import decode_event, encode_event
from accord.core.commands import CallTimeOut, EndSession, parse_command
from accord.core.errors import Rejected
from accord.core.fold import fold
from accord.core.permissions import may
from accord.core.session import MAX_NAME, NamesChanged, SetName, named
from accord.core.state import Names
from accord.core.view import seat_view

SPEAKER_LISTENER = shipped("speaker-listener")


def in_case(a: str = "Sam", b: str = "Alex") -> Session:
    """A session created in a case: its first event names the partners."""
    s = Session(SPEAKER_LISTENER)
    first = named(Names(partner_a=a, partner_b=b))
    s.state = fold(SPEAKER_LISTENER, [first])
    s.log.append(first)
    return s


def test_a_session_on_its_own_has_no_names_and_a_case_session_starts_with_the_cases() -> None:
    assert Session(SPEAKER_LISTENER).state.names == Names()
    s = in_case()
    assert s.state.names == Names(partner_a="Sam", partner_b="Alex")
    assert s.log[0] == NamesChanged(names=s.state.names, by="system")
    assert s.log[0].audience == ("mediator", "partner_a", "partner_b")


def test_the_mediator_names_either_partner_and_everyone_is_told() -> None:
    s = in_case()
    events = s.do("mediator", SetName(seat="partner_b", name="Robin"))
    assert events == [
        NamesChanged(
            names=Names(partner_a="Sam", partner_b="Robin"), by="mediator", seat="partner_b"
        )
    ]
    assert events[0].audience == ("mediator", "partner_a", "partner_b")
    s.do("mediator", SetName(seat="partner_a", name="Kai"))
    assert s.state.names == Names(partner_a="Kai", partner_b="Robin")
    for seat in ("mediator", "partner_a", "partner_b"):
        assert seat_view(s.state, seat)["names"] == {"partner_a": "Kai", "partner_b": "Robin"}


def test_a_partner_changes_their_own_name_and_never_the_others() -> None:
    s = in_case()
    s.do("partner_a", SetName(seat="partner_a", name="Sammy"))
    assert s.state.names.partner_a == "Sammy"
    message = s.refuse("partner_a", SetName(seat="partner_b", name="Nobody"), "not_your_name")
    assert message == "partner_a may not rename partner_b: each partner sets only their own name"
    s.refuse("partner_b", SetName(seat="partner_a", name="X"), "not_your_name")
    assert s.state.names == Names(partner_a="Sammy", partner_b="Alex")


def test_a_name_is_trimmed_bounded_and_not_empty() -> None:
    s = in_case()
    s.do("partner_b", SetName(seat="partner_b", name="  Ana \n  Lu\t"))
    assert s.state.names.partner_b == "Ana Lu"
    # Control and format characters go: a bidirectional override would make a
    # name read as another's, and a name of zero-width spaces shows nothing.
    s.do("partner_b", SetName(seat="partner_b", name="\u202eAna\x00 Lu\u200b"))
    assert s.state.names.partner_b == "Ana Lu"
    s.refuse("partner_b", SetName(seat="partner_b", name="\u200b\u2066\x07"), "name_empty")
    s.do("partner_b", SetName(seat="partner_b", name="Ana 👩\u200d💻"))
    assert s.state.names.partner_b == "Ana 👩\u200d💻"
    s.refuse("partner_b", SetName(seat="partner_b", name="\u200d \u200d"), "name_empty")
    # Letters that render as nothing, and combining marks alone, show nothing either.
    for blank in ("\u3164", "\u2800 \u2800", "\u0301\u0301", "\u115f\u1160"):
        s.refuse("partner_b", SetName(seat="partner_b", name=blank), "name_empty")
    # A name is counted as it reads: "é" typed as e + accent is one character.
    s.do("partner_b", SetName(seat="partner_b", name="e\u0301" * MAX_NAME))
    assert s.state.names.partner_b == "\u00e9" * MAX_NAME
    message = s.refuse("partner_b", SetName(seat="partner_b", name=" \n\t "), "name_empty")
    assert message == "partner_b may not rename partner_b to nothing: give a name or a pseudonym"
    s.refuse("mediator", SetName(seat="partner_a", name=""), "name_empty")
    message = s.refuse(
        "mediator", SetName(seat="partner_a", name="x" * (MAX_NAME + 1)), "name_too_long"
    )
    assert message == (
        f"mediator may not rename partner_a to a name of {MAX_NAME + 1} characters: "
        f"the limit is {MAX_NAME}"
    )
    s.do("mediator", SetName(seat="partner_a", name="  " + "x" * MAX_NAME + "  "))
    assert s.state.names.partner_a == "x" * MAX_NAME
    # Beyond what any name could be once trimmed, the command does not parse.
    for data in (
        {"type": "names.set", "seat": "partner_a", "name": " " * 201},
        {"type": "names.set", "seat": "mediator", "name": "Me"},
        {"type": "names.set", "seat": "partner_a"},
    ):
        with pytest.raises(Rejected) as refused:
            parse_command(data)
        assert refused.value.code == "invalid_command"


def test_the_timer_may_not_rename_and_after_the_end_nobody_may() -> None:
    s = started(SPEAKER_LISTENER)
    s.refuse("system", SetName(seat="partner_a", name="X"), "forbidden_for_seat")
    s.do("mediator", EndSession(reason="Out of time."))
    s.refuse("partner_a", SetName(seat="partner_a", name="X"), "session_ended")
    s.refuse("mediator", SetName(seat="partner_a", name="X"), "session_ended")


def test_during_a_time_out_only_the_mediator_may_correct_a_name() -> None:
    # A partner's page during a time-out and its debrief shows only those.
    s = started(SPEAKER_LISTENER)
    s.do("partner_b", CallTimeOut())
    assert "names.set" in may(s.state, "mediator")
    for seat in ("partner_a", "partner_b", "system"):
        assert "names.set" not in may(s.state, seat)
    with pytest.raises(Rejected) as refused:
        s.do("partner_b", SetName(seat="partner_b", name="Robin"))
    assert refused.value.code == "in_time_out"
    s.do("mediator", SetName(seat="partner_b", name="Robin"))
    assert s.state.names.partner_b == "Robin"


def test_the_hint_offers_each_seat_the_names_it_may_set() -> None:
    s = in_case()
    assert seat_view(s.state, "mediator")["hints"]["names.set"] == {
        "seats": ["partner_a", "partner_b"],
        "max_chars": MAX_NAME,
    }
    assert seat_view(s.state, "partner_b")["hints"]["names.set"] == {
        "seats": ["partner_b"],
        "max_chars": MAX_NAME,
    }


def test_replaying_the_log_gives_the_same_names() -> None:
    s = in_case()
    s.do("partner_a", SetName(seat="partner_a", name="Sammy"))
    s.start()
    s.do("mediator", SetName(seat="partner_b", name="Robin"))
    stored = [decode_event(encode_event(e)) for e in s.log]
    assert fold(SPEAKER_LISTENER, stored) == s.state
    assert fold(SPEAKER_LISTENER, stored).names == Names(partner_a="Sammy", partner_b="Robin")
