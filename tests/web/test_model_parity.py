"""The web client's model (client_web/src/model.ts) against the server's core.

The browser keeps its copy of the session state current by applying events,
and enables controls from its own port of the `role` and `may` rules. Here the
core plays seeded random sessions of every shipped playbook (every command of
every seat, tried at random; timers fired as time passes), and writes what
each seat receives and what the core says each seat's state, role and `may`
are after each event. `client_web/tools/parity.mjs` replays that through
model.ts under node and must agree at every step."""

from __future__ import annotations

import json
import random
import subprocess
from pathlib import Path
from typing import Any

import msgpack
import pytest

from accord.core import Rejected, decide, evolve, fold, load_playbook
from accord.core.check import _moves
from accord.core.codec import encode_event
from accord.core.commands import FireTimer, command_type
from accord.core.seats import SEATS
from accord.core.view import seat_view
from accord.store.base import audience_mask, seat_in

ROOT = Path(__file__).resolve().parents[2]
PARITY = ROOT / "client_web" / "tools" / "parity.mjs"
PLAYBOOKS = sorted((ROOT / "protocols").glob("*.toml"))
KEPT = ("index", "phase", "overlay", "timers", "schedule", "admitted", "ended")
T0 = 1_764_100_000.0


def expectation(state: Any, seat: str) -> dict[str, Any]:
    view = seat_view(state, seat)
    return {
        "state": {k: view[k] for k in KEPT},
        "role": view["role"],
        "may": sorted(view["may"]),
    }


#: How often each kind of act is chosen among those the core accepts: rare
#: interruptions, so that turns run their course between them.
WEIGHTS = {"session.end": 0.02, "phase.advance": 0.1, "timeout.call": 0.1, "timeout.start": 0.05}


def play(source: str, name: str, seed: int, steps: int = 400) -> list[dict[str, Any]]:
    """One random session, choosing each time among the acts the core accepts;
    one vector per seat."""
    playbook = load_playbook(source, name)
    rng = random.Random(seed)
    moves = _moves(playbook)
    state = fold(playbook, ())
    vectors: dict[str, dict[str, Any]] = {
        seat: {
            "name": f"{name}#{seed}",
            "seat": seat,
            "state": seat_view(state, seat),
            "steps": [],
        }
        for seat in SEATS
    }
    now, seq = T0, 0
    for _ in range(steps):
        if state.ended:
            break
        now += rng.choice((0.5, 5.0, 60.0, 300.0))
        options: list[tuple[str, list[Any], float]] = []
        for timer in state.timers:
            if timer.due <= now:
                options.append(
                    ("system", decide(state, FireTimer(timer=timer.id), "system", now), 3.0)
                )
        for actor, command, _ in moves:
            try:
                events = decide(state, command, actor, now)
            except Rejected:
                continue
            options.append((actor, events, WEIGHTS.get(command_type(command), 1.0)))
        actor, events, _ = rng.choices(options, weights=[w for _, _, w in options])[0]
        for event in events:
            state = evolve(state, event)
            seq += 1
            wire = msgpack.unpackb(encode_event(event), raw=False)
            wire.update(seq=seq, at=now, actor=actor)
            mask = audience_mask(event.audience)
            for seat in SEATS:
                if seat_in(mask, seat):
                    vectors[seat]["steps"].append(
                        {"event": wire, "expect": expectation(state, seat)}
                    )
    return list(vectors.values())


@pytest.mark.parametrize("path", PLAYBOOKS, ids=[p.stem for p in PLAYBOOKS])
def test_the_web_model_agrees_with_the_core(path: Path, tmp_path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    vectors = [v for seed in range(12) for v in play(source, path.name, seed)]
    kinds = {s["event"]["type"] for v in vectors for s in v["steps"]}
    # The walks reach the whole protocol, not only its first steps.
    assert {"paraphrase.confirmed", "timeout.ended", "debrief.completed", "session.ended"} <= kinds
    file = tmp_path / "vectors.json"
    file.write_text(json.dumps(vectors), encoding="utf-8")
    run = subprocess.run(
        ["node", str(PARITY), str(file)],
        cwd=ROOT / "client_web",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["mismatches"] == []
    assert report["steps"] == sum(len(v["steps"]) for v in vectors) > 1000
