"""The scripted session every benchmark session plays, as plain command maps.

One script serves the load generator (over the wire) and the log builder that
makes long sessions for the resume and fold measurements (straight through the
core), so both measure the same mix. The mix is PREP speaker-listener:
statement → paraphrase → confirm → yield, the floor passing each turn, and now
and then a partner's time-out (the bench playbook makes it last 0.3 s) with its
debrief answered by both partners.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

PLAYBOOK: Final = "bench"
SEATS: Final = ("mediator", "partner_a", "partner_b")

STATEMENT: Final = (
    "When you came home late on Friday without calling, I felt worried and then alone; "
    "I need us to agree on a quick message whenever plans change."
)
PARAPHRASE: Final = (
    "You're saying that when I came home late on Friday without calling, you felt worried "
    "and alone, and you need a quick message from me when plans change. Did I get it?"
)


@dataclass(frozen=True, slots=True)
class Step:
    seat: str
    command: dict[str, Any]


#: Not a command: wait until the time-out's deadline has passed (the server's
#: timer ends it and opens the debrief).
WAIT_FOR_DEBRIEF: Final = "wait_for_debrief"


def setup() -> list[Step]:
    """From the lobby to the dialogue: the mediator admits both partners and advances."""
    return [
        Step("mediator", {"type": "admit", "seat": "partner_a"}),
        Step("mediator", {"type": "admit", "seat": "partner_b"}),
        Step("mediator", {"type": "phase.advance"}),
    ]


def exchange(timeout_every: int) -> Iterator[Step | str]:
    """Turns forever, partner_a first; after every `timeout_every` turns (0: never)
    the partner about to speak calls a time-out and both answer the debrief."""
    speaker, listener = "partner_a", "partner_b"
    turns = 0
    while True:
        yield Step(speaker, {"type": "statement", "text": STATEMENT})
        yield Step(listener, {"type": "paraphrase", "text": PARAPHRASE})
        yield Step(speaker, {"type": "paraphrase.confirm"})
        yield Step(speaker, {"type": "yield"})
        turns += 1
        speaker, listener = listener, speaker
        if timeout_every and turns % timeout_every == 0:
            yield Step(speaker, {"type": "timeout.call", "reason": "I am flooded; I need a break."})
            yield WAIT_FOR_DEBRIEF
            for seat, rating in (("partner_a", 4), ("partner_b", 6)):
                answer = {"type": "debrief.answer", "rating": rating, "text": "Calmer; go on."}
                yield Step(seat, answer)
