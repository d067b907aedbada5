"""Invariant 6: a session replayed from its stored (encoded) log is the same session."""

from __future__ import annotations

import functools
import random

import msgspec
import pytest
from coretest import CHAIRED_TWO_DIALOGUES, FLOW, PROTOCOLS, SHIPPED, T0, accepted, moves, shipped

from accord.core.codec import (
    decode_event,
    encode_event,
    event_to_builtins,
    state_to_builtins,
)
from accord.core.commands import FireTimer, command_type
from accord.core.decide import decide
from accord.core.events import EVENT_TYPES, AnyEvent, event_type
from accord.core.evolve import evolve
from accord.core.fold import fold
from accord.core.playbook import Playbook, load_playbook
from accord.core.seats import Actor, Seat
from accord.core.session import NamesChanged, named
from accord.core.state import DialoguePhase, Names, SessionState, initial_state

#: Held back until the end, so that the session lasts: the mediator's end, and
#: leaving a dialogue (the lobby and the debriefs go on as usual).
ENDINGS = {"session.end", "phase.advance"}


def play(
    playbook: Playbook, seed: int, steps: int
) -> tuple[SessionState, list[bytes], dict[int, SessionState]]:
    """A random but valid session: every command is one `decide` accepts.

    Returns the final state, the stored log (encoded events) and the live
    state after every 97th event, to compare with replays of that prefix.
    """
    rng = random.Random(seed)
    state, now = initial_state(playbook), T0
    stored: list[bytes] = []
    checkpoints: dict[int, SessionState] = {}
    counter = iter(range(10**9))

    def secret(readers: tuple[Seat, ...]) -> str:
        return f"private {next(counter)} for {'+'.join(readers)}"

    def apply(actor: Actor, command: object) -> None:
        nonlocal state
        for event in decide(state, command, actor, now):  # type: ignore[arg-type]
            state = evolve(state, event)
            stored.append(encode_event(event))
            if len(stored) % 97 == 0:
                checkpoints[len(stored)] = state

    for step in range(steps):
        if state.ended:
            break
        roll = rng.random()
        if roll < 0.08:
            now += rng.choice([1.0, 30.0, 300.0, 1200.0, 3600.0])
            continue
        due = [t for t in state.timers if t.due <= now]
        if roll < 0.15 and due:
            apply("system", FireTimer(timer=rng.choice(due).id))
            continue
        options = accepted(state, moves(playbook, now, secret), now)
        if step < steps - 100 and isinstance(state.phase, DialoguePhase):
            options = [(a, c) for a, c in options if command_type(c) not in ENDINGS]
        elif step < steps - 100:  # elsewhere a phase ends by its own flow, not early
            options = [
                (a, c)
                for a, c in options
                if command_type(c) != "session.end"
                and not (command_type(c) == "phase.advance" and getattr(c, "reason", ""))
            ]
        flow = [(a, c) for a, c in options if command_type(c) in FLOW]
        apply(*rng.choice(flow if flow and rng.random() < 0.75 else options))
    return state, stored, checkpoints


def playbook_named(name: str) -> Playbook:
    if name == "chaired":
        return load_playbook(CHAIRED_TWO_DIALOGUES, "chaired.toml")
    return shipped(name)


@functools.cache
def session(
    name: str, seed: int, steps: int
) -> tuple[SessionState, list[bytes], dict[int, SessionState]]:
    return play(playbook_named(name), seed, steps)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_long_session_replays_exactly(seed: int) -> None:
    playbook = shipped("speaker-listener")
    live, stored, checkpoints = session("speaker-listener", seed, 2500)
    assert len(stored) > 1500
    log: list[AnyEvent] = [decode_event(body) for body in stored]
    # Many kinds of events happened, not just a few.
    assert len({event_type(e) for e in log}) >= 25
    replayed = fold(playbook, log)
    assert replayed == live
    assert state_to_builtins(replayed) == state_to_builtins(live)
    assert fold(playbook, log) == replayed  # and again: replay is deterministic
    for n, state in checkpoints.items():
        assert fold(playbook, log[:n]) == state


@pytest.mark.parametrize("name", [*SHIPPED, "chaired"])
def test_every_playbook_replays_to_its_end(name: str) -> None:
    playbook = playbook_named(name)
    for seed in range(5):
        live, stored, _ = session(name, seed, 600)
        log = [decode_event(body) for body in stored]
        assert fold(playbook, log) == live


#: Every playbook of protocols/ (the assessment's phase types are in those
#: beyond SHIPPED), and the chaired test playbook.
EVERY_PLAYBOOK = (*sorted(p.stem for p in PROTOCOLS.glob("*.toml")), "chaired")


def test_every_event_type_round_trips_through_the_codec() -> None:
    seen: dict[str, AnyEvent] = {}
    for name in EVERY_PLAYBOOK:
        for seed in range(5):
            _, stored, _ = session(name, seed, 600)
            for body in stored:
                event = decode_event(body)
                assert encode_event(event) == body
                seen.setdefault(event_type(event), event)
    # Naming the partners is no part of a playbook's flow: a case names them
    # when its session is created, and a seat may rename at any time.
    renamed = Names(partner_a="Sam", partner_b="Robin")
    for made in (
        named(Names(partner_a="Sam")),
        NamesChanged(names=renamed, by="partner_b", seat="partner_b"),
    ):
        body = encode_event(made)
        assert encode_event(decode_event(body)) == body
        seen.setdefault(event_type(made), made)
    assert set(seen) == set(EVENT_TYPES)
    for event in seen.values():
        data = event_to_builtins(event)
        assert data["type"] == event_type(event)
        assert list(data["audience"]) == list(event.audience)
        assert msgspec.convert(data, type(event)) == event


def test_a_corrupt_record_does_not_decode() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode_event(msgspec.msgpack.encode({"type": "statement.made", "seat": "partner_c"}))
    with pytest.raises(msgspec.ValidationError):
        decode_event(msgspec.msgpack.encode({"type": "no.such.event"}))
