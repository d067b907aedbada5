"""Micro-benchmark of the core decider: decide+evolve per command, fold, explore.

    .venv/bin/python bench/core_bench.py                # print a markdown table
    .venv/bin/python bench/core_bench.py --write-docs   # and update docs/BENCHMARKS.md

The scripted loop is a realistic speaker-listener session: statement →
paraphrase → correction → paraphrase → confirmation → yield, turn after turn,
with a time-out, its timer and its debrief every tenth turn. Each command is
timed alone (perf_counter_ns around decide and the evolve of its events), and
separately with parse_command in front, as the hub runs it.

Targets (docs/BENCHMARKS.md): median < 20 µs per command, fold of a
10,000-event log < 100 ms.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from accord.core.check import explore
from accord.core.commands import parse_command
from accord.core.decide import decide
from accord.core.events import AnyEvent
from accord.core.evolve import evolve
from accord.core.fold import fold
from accord.core.playbook import Playbook, load_playbook, parse_playbook
from accord.core.seats import Actor, Partner, other
from accord.core.state import SessionState, initial_state

ROOT = Path(__file__).resolve().parents[1]

PLAYBOOKS = ("speaker-listener", "imago-dialogue", "check-in")
T0 = 1_700_000_000.0
TARGET_COMMAND_US = 20.0
TARGET_FOLD_MS = 100.0

Script = Iterator[tuple[Actor, dict[str, Any], float]]


def script() -> Script:
    """(actor, command as plain data, clock) for an endless speaker-listener session."""
    now = T0
    yield "mediator", {"type": "admit", "seat": "partner_a"}, now
    yield "mediator", {"type": "admit", "seat": "partner_b"}, now
    yield "mediator", {"type": "phase.advance"}, now
    speaker: Partner = "partner_a"
    timer = 1
    turn = 0
    while True:
        listener = other(speaker)
        now += 30
        yield speaker, {"type": "statement", "text": "I felt alone when you left early."}, now
        yield listener, {"type": "paraphrase", "text": "You were angry that I left."}, now
        yield speaker, {"type": "paraphrase.correct", "note": "Alone, not angry."}, now
        yield listener, {"type": "paraphrase", "text": "You felt alone when I left."}, now
        yield speaker, {"type": "paraphrase.confirm"}, now
        turn += 1
        if turn % 10 == 0:
            yield listener, {"type": "timeout.call", "reason": "I am flooded."}, now
            now += 20 * 60
            yield "system", {"type": "timer.fire", "timer": f"t{timer}"}, now
            timer += 1
            yield "partner_a", {"type": "debrief.answer", "rating": 6, "text": "Tense."}, now
            yield "partner_b", {"type": "debrief.answer", "rating": 3, "text": "Calmer."}, now
        yield speaker, {"type": "yield"}, now
        speaker = listener


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def per_command(playbook: Playbook, commands: int, parse: bool) -> list[float]:
    """Microseconds per command over `commands` commands of the script."""
    state = initial_state(playbook)
    prepared: list[tuple[Actor, Any, float]] = []
    for (actor, data, now), _ in zip(script(), range(commands), strict=False):
        prepared.append((actor, data if parse else parse_command(data), now))
    times: list[float] = []
    clock = time.perf_counter_ns
    for actor, command, now in prepared:
        start = clock()
        if parse:
            command = parse_command(command)
        for event in decide(state, command, actor, now):
            state = evolve(state, event)
        times.append((clock() - start) / 1000)
    return times


def event_log(playbook: Playbook, size: int) -> list[AnyEvent]:
    state: SessionState = initial_state(playbook)
    log: list[AnyEvent] = []
    for actor, data, now in script():
        for event in decide(state, parse_command(data), actor, now):
            state = evolve(state, event)
            log.append(event)
        if len(log) >= size:
            return log[:size]
    raise AssertionError("unreachable")


def timed(fn: Callable[[], object], runs: int) -> list[float]:
    """Milliseconds per run."""
    result = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        result.append((time.perf_counter() - start) * 1000)
    return result


def source(name: str) -> tuple[str, str]:
    path = ROOT / "protocols" / f"{name}.toml"
    return path.read_text(encoding="utf-8"), str(path.relative_to(ROOT))


def machine() -> dict[str, str]:
    model = "unknown"
    try:
        match = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.M)
        if match:
            model = match.group(1).strip()
    except OSError:
        pass
    return {
        "cpus": str(os.cpu_count()),
        "cpu": model,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "msgspec": msgspec.__version__,
        "load": " ".join(f"{x:.1f}" for x in os.getloadavg()),
    }


def run(rounds: int = 5, commands: int = 20_000) -> tuple[list[tuple[str, str, str]], bool]:
    """(measure, result, target) rows, and whether every target was met."""
    playbook = load_playbook(*source("speaker-listener"))
    rows: list[tuple[str, str, str]] = []
    ok = True

    per_round: list[tuple[float, float]] = []
    parsed_round: list[tuple[float, float]] = []
    for _ in range(rounds):
        gc.collect()
        times = per_command(playbook, commands, parse=False)
        per_round.append((statistics.median(times), percentile(times, 0.9)))
        times = per_command(playbook, commands, parse=True)
        parsed_round.append((statistics.median(times), percentile(times, 0.9)))
    median = statistics.median(m for m, _ in per_round)
    p90 = statistics.median(p for _, p in per_round)
    ok &= median < TARGET_COMMAND_US
    rows.append(
        (
            "decide + evolve, per command (median / p90)",
            f"{median:.1f} µs / {p90:.1f} µs",
            f"< {TARGET_COMMAND_US:g} µs median",
        )
    )
    median = statistics.median(m for m, _ in parsed_round)
    p90 = statistics.median(p for _, p in parsed_round)
    rows.append(
        ("parse_command + decide + evolve (median / p90)", f"{median:.1f} µs / {p90:.1f} µs", "")
    )

    log = event_log(playbook, 10_000)
    fold_ms = statistics.median(timed(lambda: fold(playbook, log), runs=7))
    ok &= fold_ms < TARGET_FOLD_MS
    rows.append(
        ("fold a 10,000-event log (median of 7)", f"{fold_ms:.1f} ms", f"< {TARGET_FOLD_MS:g} ms")
    )

    for name in PLAYBOOKS:
        text, filename = source(name)
        parsed, lines = parse_playbook(text, filename)
        found = explore(parsed, lines, filename)
        ms = statistics.median(timed(functools.partial(explore, parsed, lines, filename), runs=3))
        rows.append(
            (
                f"explore {name}.toml ({found.states:,} states, {found.transitions:,} transitions)",
                f"{ms:.0f} ms",
                "",
            )
        )
    return rows, ok


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| measure | result | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def section(rows: list[tuple[str, str, str]], info: dict[str, str]) -> str:
    return f"""## Core decider

The pure core (`accord.core`) measured alone by `bench/core_bench.py`: a
scripted speaker-listener session (statement → paraphrase → correction →
paraphrase → confirmation → yield, with a time-out, its timer and a debrief
every tenth turn), each command timed alone; the fold of a 10,000-event log of
that session; and the exhaustive exploration `accord protocols check` runs on
each shipped playbook.

{table(rows)}

`parse_command` converts a command to the one struct its `type` names: it
used to convert to the union of all 27 commands, which msgspec re-derives on
every call, and the parse alone then cost ~13.5 µs (parse + decide + evolve
15.6 µs median, 18.7 µs p90, against 2.5 µs / 4.6 µs now; same machine).

Machine: {info["cpus"]} CPUs ({info["cpu"]}), {info["python"]}, msgspec
{info["msgspec"]}; load average {info["load"]} when measured (the machine is
shared, so treat small differences as noise).

Reproduce:

    .venv/bin/python bench/core_bench.py                # print the table
    .venv/bin/python bench/core_bench.py --write-docs   # and rewrite this section
"""


def write_docs(text: str) -> Path:
    """Replace the "Core decider" section of docs/BENCHMARKS.md, keeping the others."""
    path = ROOT / "docs" / "BENCHMARKS.md"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# Benchmarks\n\n{text}", encoding="utf-8")
        return path
    old = path.read_text(encoding="utf-8")
    pattern = re.compile(r"^## Core decider\n.*?(?=^## |\Z)", re.M | re.S)
    if pattern.search(old):
        new = pattern.sub(lambda _: text + "\n", old, count=1).rstrip("\n") + "\n"
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new, encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commands", type=int, default=20_000)
    args = parser.parse_args()
    info = machine()
    rows, ok = run(args.rounds, args.commands)
    print(table(rows))
    print()
    print(", ".join(f"{k}: {v}" for k, v in info.items()))
    if args.write_docs:
        print(f"wrote {write_docs(section(rows, info))}")
    if not ok:
        print("a target was missed", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
