"""Every part of the core, gathered: the phase types, the overlays, the session.

The dispatchers (`decide`, `evolve`, `permissions`) and the catalogues
(`commands`, `events`, `errors.CODES`) are built from this one list, so that a
new phase type is registered in `phases/__init__.py` and nowhere else.
"""

from __future__ import annotations

from typing import Final, TypeVar

from accord.core.base import Command, Event, Evolver, Take
from accord.core.errors import contribute
from accord.core.kinds import Part
from accord.core.overlays import PARTS as OVERLAY_PARTS
from accord.core.phases import REGISTRY
from accord.core.session import PART as SESSION

#: In the order their commands are listed to clients (`may`).
PARTS: Final[tuple[Part, ...]] = (*REGISTRY.values(), *OVERLAY_PARTS, SESSION)

for _part in PARTS:
    contribute(_part.codes)


K = TypeVar("K")
V = TypeVar("V")


def _one_owner(pairs: list[tuple[K, V]], what: str) -> dict[K, V]:
    gathered: dict[K, V] = {}
    for key, value in pairs:
        assert key not in gathered, f"two parts declare the {what} {key}"
        gathered[key] = value
    return gathered


#: Every command type, by its `type`.
COMMANDS: Final[dict[str, type[Command]]] = _one_owner(
    [(str(c.__struct_config__.tag), c) for p in PARTS for c in p.commands], "command"
)
#: Every event type, with the one evolver that applies it.
EVOLVERS: Final[dict[type[Event], Evolver]] = _one_owner(
    [pair for p in PARTS for pair in p.evolvers.items()], "event"
)
#: The commands taken in every phase and under every overlay (invariants 4, 5).
ALWAYS: Final[dict[type[Command], Take]] = _one_owner(
    [pair for p in PARTS for pair in p.always.items()], "always-available command"
)
