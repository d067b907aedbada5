"""The lobby (phases/lobby.py): partners wait until the mediator admits them."""

from __future__ import annotations

from coretest import (
    Session,
    d,
    shipped,
    started,
)

from accord.core.commands import (
    Admit,
    AdvancePhase,
    AnswerDebrief,
    GrantFloor,
    MakeStatement,
    RequestFloor,
)
from accord.core.events import (
    PartnerAdmitted,
    PhaseEnded,
    PhaseStarted,
)
from accord.core.kinds import Prompt
from accord.core.permissions import may, prompt
from accord.core.seats import PARTNERS
from accord.core.state import (
    DialoguePhase,
    LobbyPhase,
)

SPEAKER_LISTENER = shipped("speaker-listener")  # time-outs: default 20, 5..60 minutes


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
        # The event carries the state the phase starts in: who holds the floor.
        PhaseStarted(
            index=1,
            phase_type="dialogue",
            title="Speaker-listener",
            phase=DialoguePhase(speaker="partner_a", stage="speaking"),
        ),
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


def test_nobody_is_left_to_admit() -> None:
    s = Session(SPEAKER_LISTENER)
    s.do("mediator", Admit(seat="partner_a"))
    assert "admit" in may(s.state, "mediator")
    s.do("mediator", Admit(seat="partner_b"))
    # Whichever seat it names, an admission is now refused: it is not offered.
    for partner in PARTNERS:
        message = s.refuse("mediator", Admit(seat=partner), "already_admitted")
        assert message == f"mediator may not admit a partner {partner}: already admitted"
    assert "admit" not in may(s.state, "mediator")


def test_what_each_seat_is_told_in_the_lobby() -> None:
    s = Session(SPEAKER_LISTENER)
    assert prompt(s.state, "partner_a") == Prompt(
        "partner", "waiting", "Please wait: the mediator will let you in."
    )
    assert prompt(s.state, "mediator").stage == "admitting"
    s.do("mediator", Admit(seat="partner_a"))
    assert prompt(s.state, "partner_a").stage == "admitted"
    assert prompt(s.state, "partner_b").stage == "waiting"
    s.do("mediator", Admit(seat="partner_b"))
    assert prompt(s.state, "mediator").stage == "ready"
