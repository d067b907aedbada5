"""`accord bench --quick`: the benchmark harness runs end to end (Accord, the
Socket.IO relay and the websockets floor, each its own process, driven by the
load generator) and every event reaches every seat of its audience, in order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ACCORD = Path(sys.executable).parent / "accord"


def test_quick_bench_runs_and_loses_nothing(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    done = subprocess.run(
        [str(ACCORD), "bench", "--quick", "--json", str(out), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["integrity"] == {"lost": 0, "out_of_order": 0, "errors": 0}
    assert {run["server"] for run in report["runs"]} == {"accord", "relay", "floor"}
    for run in report["runs"]:
        assert run["integrity"]["lost"] == 0
        assert run["integrity"]["out_of_order"] == 0
        assert run["integrity"]["errors"] == {}
        step = run["steps"][0]
        assert step["commands_per_s"] > 0
        assert step["events_per_s"] >= 3 * step["commands_per_s"] * 0.9  # three seats
        assert step["samples"] > 0
    micro = report["micro"]
    assert micro["catch_up"]["delivered"] == [1000] * len(micro["catch_up"]["delivered"])
    assert micro["fold"]["events"] == 10_000
