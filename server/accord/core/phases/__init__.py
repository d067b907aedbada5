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
from accord.core.phases import (
    brainstorm,
    comfort_scale,
    debrief,
    dialogue,
    evaluate,
    lobby,
    measure,
    mutual_reveal,
    values_sort,
)

# registry: one line each, in the order their commands are listed to clients.
REGISTRY: Final[dict[str, PhaseType]] = {
    t.name: t
    for t in (
        lobby.TYPE,
        dialogue.TYPE,
        debrief.TYPE,
        comfort_scale.TYPE,
        measure.TYPE,
        values_sort.TYPE,
        mutual_reveal.TYPE,
        brainstorm.TYPE,
        evaluate.TYPE,
    )
}

#: Each phase type by the class of its state, for the dispatchers.
BY_STATE: Final[dict[type[PhaseState], PhaseType]] = {t.state: t for t in REGISTRY.values()}

# registry: the same types, spelt out for msgspec and mypy.
PhaseSpec = (
    lobby.LobbySpec
    | dialogue.DialogueSpec
    | debrief.DebriefSpec
    | comfort_scale.ComfortScaleSpec
    | measure.MeasureSpec
    | values_sort.ValuesSortSpec
    | mutual_reveal.MutualRevealSpec
    | brainstorm.BrainstormSpec
    | evaluate.EvaluateSpec
)
AnyPhase = (
    lobby.LobbyPhase
    | dialogue.DialoguePhase
    | debrief.DebriefPhase
    | comfort_scale.ComfortScalePhase
    | measure.MeasurePhase
    | values_sort.ValuesSortPhase
    | mutual_reveal.MutualRevealPhase
    | brainstorm.BrainstormPhase
    | evaluate.EvaluatePhase
)
PhaseCommand = (
    lobby.Admit
    | dialogue.DialogueCommand
    | debrief.AnswerDebrief
    | debrief.SkipDebrief
    | comfort_scale.RateScenario
    | comfort_scale.FinishRating
    | measure.SubmitMeasure
    | values_sort.ValuesCommand
    | mutual_reveal.MutualCommand
    | brainstorm.AddOption
    | evaluate.EvaluateOption
)
PhaseEvent = (
    lobby.PartnerAdmitted
    | dialogue.DialogueEvent
    | debrief.DebriefStarted
    | debrief.DebriefAnswered
    | debrief.DebriefCompleted
    | comfort_scale.ScenarioRated
    | comfort_scale.RatingFinished
    | measure.MeasureSubmitted
    | measure.MeasureScored
    | values_sort.ValuesEvent
    | mutual_reveal.MutualEvent
    | brainstorm.BrainstormEvent
    | evaluate.EvaluateEvent
)


def phase_type(spec: Spec) -> PhaseType:
    """The phase type of a playbook's phase spec."""
    return REGISTRY[str(spec.__struct_config__.tag)]
