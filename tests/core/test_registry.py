"""The registries agree with the parts they are built from, and the seam
holds: no part of the core tells phase types apart but the phase's own module.

Adding a phase type is one module and one line in `phases/__init__.py`
(docs/ARCHITECTURE.md); these tests say what was forgotten.
"""

from __future__ import annotations

import ast
import typing
from pathlib import Path

from accord.core.base import OverlayState, PhaseState, Stop
from accord.core.commands import AnyCommand
from accord.core.errors import CODES
from accord.core.events import AnyEvent
from accord.core.overlays import (
    BY_STATE as OVERLAY_OF,
)
from accord.core.overlays import (
    OVERLAYS,
    AnyOverlay,
    OverlayCommand,
    OverlayEvent,
)
from accord.core.overlays import PARTS as OVERLAY_PARTS
from accord.core.parts import ALWAYS, COMMANDS, EVOLVERS, PARTS
from accord.core.phases import (
    BY_STATE as PHASE_OF,
)
from accord.core.phases import (
    REGISTRY,
    AnyPhase,
    PhaseCommand,
    PhaseEvent,
    PhaseSpec,
    dialogue,
)
from accord.core.session import AFTER_END

CORE = Path(__file__).resolve().parents[2] / "server" / "accord" / "core"


def members(union: object) -> set[object]:
    return set(typing.get_args(union))


def test_the_phase_unions_are_the_registrys() -> None:
    types = REGISTRY.values()
    assert all(name == t.name for name, t in REGISTRY.items())
    assert members(PhaseSpec) == {t.spec for t in types}
    assert members(AnyPhase) == {t.state for t in types}
    assert members(PhaseCommand) == {c for t in types for c in t.commands}
    assert members(PhaseEvent) == {e for t in types for e in t.evolvers}
    assert set(PHASE_OF) == {t.state for t in types}


def test_the_overlay_unions_are_the_registrys() -> None:
    assert members(AnyOverlay) == {t.state for t in OVERLAYS.values()} == set(OVERLAY_OF)
    assert members(OverlayCommand) == {c for p in OVERLAY_PARTS for c in p.commands}
    assert members(OverlayEvent) == {e for p in OVERLAY_PARTS for e in p.evolvers}


def test_the_catalogues_are_every_parts() -> None:
    assert members(AnyCommand) == set(COMMANDS.values())
    assert members(AnyEvent) == set(EVOLVERS)
    assert {c for p in PARTS for c in p.commands} == set(COMMANDS.values())


def test_every_command_is_taken_somewhere() -> None:
    taken = set(ALWAYS) | set(AFTER_END)
    for t in REGISTRY.values():
        taken |= set(t.takes)
    for o in OVERLAYS.values():
        taken |= set(o.takes)
    assert taken == set(COMMANDS.values())


def test_every_code_has_one_owner_and_every_refusal_a_known_code() -> None:
    owned = [code for p in PARTS for code in p.codes]
    assert len(owned) == len(set(owned))
    generic = {"invalid_command", "forbidden_for_seat", "session_ended", "wrong_phase"}
    assert set(CODES) == {*owned, *generic, "reason_required"}
    stops = [v for v in vars(dialogue).values() if isinstance(v, Stop)]
    stops += dialogue._REFUSALS.values()
    assert {s.code for s in stops} <= set(dialogue.CODES)
    for kind in COMMANDS.values():
        assert kind.elsewhere[0] in CODES


def _state_classes() -> dict[str, str]:
    """Each phase or overlay state class, by name, with the module that defines it."""
    allowed: dict[str, set[str]] = {}
    for cls in [*PHASE_OF, *OVERLAY_OF]:
        assert issubclass(cls, PhaseState | OverlayState)
        allowed.setdefault(cls.__name__, set()).add(cls.__module__)
    return {name: ",".join(sorted(modules)) for name, modules in allowed.items()}


def test_no_isinstance_on_phase_types_outside_their_module() -> None:
    """Requirement of the seam: `registry[state.phase.kind]` is the dispatch;
    only a phase's (or overlay's) own module looks at its state's class."""
    owners = _state_classes()
    declared = {o.state.__name__: o for o in OVERLAYS.values()}
    offenders = []
    for path in sorted(CORE.rglob("*.py")):
        module = ".".join(path.relative_to(CORE.parents[1]).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "isinstance"):
                continue
            named = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            for name in named & set(owners):
                # The module that declares an overlay over a state defined elsewhere
                # (the debrief after a time-out) may look at it too.
                declares = name in declared and f"state={name}" in text.replace(" ", "")
                if module not in owners[name] and not declares:
                    offenders.append(f"{module}: isinstance(…, {name})")
    assert offenders == []
