"""The three seats of a session and the roles they play (DESIGN.md, "Who uses it")."""

from __future__ import annotations

from typing import Final, Literal

Seat = Literal["mediator", "partner_a", "partner_b"]
Partner = Literal["partner_a", "partner_b"]
Actor = Literal["mediator", "partner_a", "partner_b", "system"]

MEDIATOR: Final = "mediator"
PARTNER_A: Final = "partner_a"
PARTNER_B: Final = "partner_b"
SYSTEM: Final = "system"

SEATS: Final[tuple[Seat, ...]] = ("mediator", "partner_a", "partner_b")
PARTNERS: Final[tuple[Partner, ...]] = ("partner_a", "partner_b")
ACTORS: Final[tuple[Actor, ...]] = ("mediator", "partner_a", "partner_b", "system")


def other(partner: Partner) -> Partner:
    """The other partner."""
    return "partner_b" if partner == "partner_a" else "partner_a"


def is_partner(actor: str) -> bool:
    return actor in ("partner_a", "partner_b")
