"""The phase types: a playbook's `type` → the module that implements it.

A playbook only composes and parameterises phase types (DESIGN.md, "Phases
and overlays"); each type is one module here, declaring one `PhaseType`. To
add one, write its module and add it on the lines marked "registry" below
(docs/ARCHITECTURE.md, "How to add a phase type"); tests/core/test_registry.py
checks that the unions and the registry agree.
"""

from __future__ import annotations

from typing import Final

from accord.core.base import PhaseState, Spec
from accord.core.kinds import PhaseType
from accord.core.phases import debrief, dialogue, lobby

# registry: one line each, in the order their commands are listed to clients.
REGISTRY: Final[dict[str, PhaseType]] = {
    t.name: t for t in (lobby.TYPE, dialogue.TYPE, debrief.TYPE)
}

#: Each phase type by the class of its state, for the dispatchers.
BY_STATE: Final[dict[type[PhaseState], PhaseType]] = {t.state: t for t in REGISTRY.values()}

# registry: the same types, spelt out for msgspec and mypy.
PhaseSpec = lobby.LobbySpec | dialogue.DialogueSpec | debrief.DebriefSpec
AnyPhase = lobby.LobbyPhase | dialogue.DialoguePhase | debrief.DebriefPhase
PhaseCommand = lobby.Admit | dialogue.DialogueCommand | debrief.AnswerDebrief | debrief.SkipDebrief
PhaseEvent = (
    lobby.PartnerAdmitted
    | dialogue.DialogueEvent
    | debrief.DebriefStarted
    | debrief.DebriefAnswered
    | debrief.DebriefCompleted
)


def phase_type(spec: Spec) -> PhaseType:
    """The phase type of a playbook's phase spec."""
    return REGISTRY[str(spec.__struct_config__.tag)]
