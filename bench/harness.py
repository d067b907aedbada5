"""`accord bench`: Accord against two baselines, under the same load, on this machine.

Each run starts the server under test as its own process(es) (bench/deploy.py),
drives it from load-generator processes (bench/loadgen.py) and samples, from
/proc, the server's own CPU time and memory at the edges of each measuring
window. The servers:

- accord  `accord serve` with the bench playbook: embedded SQLite (durable,
          WAL, synchronous=FULL), or with `--mode redis` one node, and
          `accord-2n` two nodes, on a redis-server of the harness's own;
- relay   a bare python-socketio relay: same transport, serializer and server
          settings, no decide, no log (bench/baselines/sio_relay.py);
- floor   a bare `websockets` broadcast server with msgpack (ws_broadcast.py).

Runs are interleaved (accord, relay, floor, accord, ...) so a noisy neighbour
hurts all alike, and a run during which other processes kept more than
`--max-other` cores busy is run once more; each figure is the median of the
runs, and Accord's are also given as ratios to each baseline's. A rate sweep
finds the highest command rate Accord and the relay carry at p99 ≤ 100 ms, and
two micro-measurements time a resume (join with `last_seq` after 1,000 missed
events) and folding a 10,000-event session.

Results go to bench-results/ (JSON and a markdown table). The exit status is 1
if any run lost, reordered or refused anything. See docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import json
import math
import os
import platform
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.deploy import (
    ACCORD_BENCH_ENV,
    KINDS,
    ROOT,
    BenchError,
    Sample,
    accord_sessions,
    clean_env,
    deploy,
    free_port,
    spawn,
    start_redis,
)
from bench.report import render_markdown, summarise

RESULTS = ROOT / "bench-results"
REDIS_STORE = ROOT / "server" / "accord" / "store" / "redis.py"

#: The sweep's criterion: the highest offered rate whose p99 stays within this
#: and whose accepted rate keeps up with what the sessions tried to send.
SWEEP_P99_MS = 100.0
SWEEP_KEEP_UP = 0.95


# --- options -------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="accord bench",
        description="Benchmark Accord against a bare Socket.IO relay and a bare websockets "
        "broadcast server, on this machine. See docs/BENCHMARKS.md.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="check that the harness works and events arrive complete, in under a minute "
        "(small, short, one run; no timing is asserted)",
    )
    p.add_argument(
        "--mode",
        choices=("embedded", "redis"),
        default="embedded",
        help="Accord's store: embedded SQLite (default), or Redis (one node and two nodes "
        "on a redis-server the harness starts)",
    )
    p.add_argument(
        "--servers",
        help="servers to run, comma-separated, from: " + ", ".join(KINDS) + " (default "
        "accord,relay,floor; with --mode redis accord,accord-2n,relay,floor)",
    )
    p.add_argument("--sessions", default="200,1000", help="session counts (3 seats each)")
    p.add_argument("--rate", type=float, default=1.0, help="commands per second per session")
    p.add_argument("--runs", type=int, default=3, help="runs per configuration (median)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds before measuring")
    p.add_argument("--measure", type=float, default=12.0, help="seconds measured per run")
    p.add_argument(
        "--sweep",
        default="1000,2000,3000,4000,5000,6000",
        help="total command rates for the rate sweep (empty: no sweep)",
    )
    p.add_argument("--sweep-sessions", type=int, default=300, help="sessions in the sweep")
    p.add_argument("--sweep-servers", default="accord,relay")
    p.add_argument("--sweep-measure", type=float, default=6.0, help="seconds per sweep step")
    p.add_argument("--timeout-every", type=int, default=8, help="turns between time-outs")
    p.add_argument("--loadgens", type=int, default=1, help="load-generator processes")
    p.add_argument(
        "--max-other",
        type=float,
        default=0.3,
        metavar="CORES",
        help="run again once when other processes kept this many cores busy meanwhile "
        "(default 0.3); the quieter run counts",
    )
    p.add_argument("--no-micro", action="store_true", help="skip the resume and fold timings")
    p.add_argument(
        "--profile",
        action="store_true",
        help="one more Accord run at the largest size under py-spy (not counted); the "
        "collapsed stacks go to the results folder (summarise: python -m bench.stacks)",
    )
    p.add_argument(
        "--other",
        type=Path,
        metavar="DIR",
        help="the `server/` folder of another Accord checkout, run as server "
        "accord-other: a before/after comparison in the same run",
    )
    p.add_argument("--json", type=Path, help="also write the JSON results to this file")
    p.add_argument(
        "--write-docs",
        action="store_true",
        help="put the results table in docs/BENCHMARKS.md (between its accord-bench markers)",
    )
    p.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    p.add_argument("--keep", action="store_true", help="keep the servers' data and logs")
    return p


@dataclass
class Options:
    quick: bool
    mode: str
    servers: list[str]
    sessions: list[int]
    rate: float
    runs: int
    warmup: float
    measure: float
    sweep: list[float]
    sweep_sessions: int
    sweep_servers: list[str]
    sweep_measure: float
    timeout_every: int
    loadgens: int
    max_other: float
    micro: bool
    profile: bool
    other: Path | None
    json: Path | None
    write_docs: bool
    out: Path
    keep: bool

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Options:
        def names(text: str) -> list[str]:
            chosen = [x.strip() for x in text.split(",") if x.strip()]
            unknown = set(chosen) - set(KINDS)
            if unknown:
                raise BenchError(
                    f"unknown server(s) {', '.join(sorted(unknown))}; known: {', '.join(KINDS)}"
                )
            return chosen

        default = "accord,accord-2n,relay,floor" if args.mode == "redis" else "accord,relay,floor"
        options = cls(
            quick=args.quick,
            mode=args.mode,
            servers=names(args.servers or default),
            sessions=[int(x) for x in args.sessions.split(",") if x.strip()],
            rate=args.rate,
            runs=args.runs,
            warmup=args.warmup,
            measure=args.measure,
            sweep=[float(x) for x in args.sweep.split(",") if x.strip()],
            sweep_sessions=args.sweep_sessions,
            sweep_servers=names(args.sweep_servers),
            sweep_measure=args.sweep_measure,
            timeout_every=args.timeout_every,
            loadgens=args.loadgens,
            max_other=args.max_other,
            micro=not args.no_micro,
            profile=args.profile,
            other=args.other,
            json=args.json,
            write_docs=args.write_docs,
            out=args.out,
            keep=args.keep,
        )
        if options.quick:
            # Small and short, every server, every kind of command (a time-out
            # every second turn), one run; complete, not timed.
            options.sessions = [20]
            options.rate = 2.0
            options.runs = 1
            options.warmup = 1.0
            options.measure = 3.0
            options.sweep = []
            options.timeout_every = 2
            options.profile = False
        if "accord-other" in options.servers + options.sweep_servers and options.other is None:
            raise BenchError("server accord-other needs --other DIR")
        if options.mode == "redis" and not REDIS_STORE.exists():
            raise BenchError(
                "--mode redis is not available: this Accord has no Redis store "
                f"({REDIS_STORE.relative_to(ROOT)}); use --mode embedded"
            )
        return options


# --- one run -------------------------------------------------------------------


@dataclass
class Step:
    rate: float  # commands per second per session
    warmup: float
    measure: float


@dataclass
class RunResult:
    server: str
    sessions: int
    steps: list[dict[str, Any]]
    rss: dict[str, float]
    setup_s: float
    integrity: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "sessions": self.sessions,
            "rss": self.rss,
            "rss_per_session_kib": self.rss["per_session_kib"],
            "setup_s": round(self.setup_s, 2),
            "integrity": self.integrity,
            "steps": self.steps,
            **self.extra,
        }


class Lines:
    """JSON lines from a load generator's stdout, each awaited with a time limit."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        self.proc = proc
        self.fd = proc.stdout.fileno()
        self.buffer = b""
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.fd, selectors.EVENT_READ)

    def read(self, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BenchError(f"a load generator sent no {what} within {timeout:.0f} s")
            if self.selector.select(left):
                chunk = os.read(self.fd, 1 << 20)
                if not chunk:
                    code = self.proc.wait()
                    raise BenchError(f"a load generator exited ({code}) before its {what}")
                self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message


def run_once(
    kind: str,
    count: int,
    steps: list[Step],
    options: Options,
    workdir: Path,
    profile_to: Path | None = None,
) -> RunResult:
    """Deploy, connect `count` sessions, measure memory at rest, then play the steps
    and measure each step's window. Everything started is stopped at the end."""
    deployment = deploy(kind, count, options.mode, workdir, options.other)
    loadgens: list[subprocess.Popen[bytes]] = []
    profiler: subprocess.Popen[bytes] | None = None
    try:
        time.sleep(1.0)
        empty = deployment.rss()
        readers: list[Lines] = []
        started = time.monotonic()
        parts = max(1, min(options.loadgens, count))
        for part in range(parts):
            indexes = range(part, count, parts)
            spec = {
                "port": deployment.nodes[0].port,
                "timeout_every": options.timeout_every,
                "system_timers": deployment.system_timers,
                "timeout_s": 0.3,
                "sessions": [
                    {**deployment.sessions[i], "ports": deployment.ports(i)} for i in indexes
                ],
                "offsets": [i / count for i in indexes],
            }
            spec_path = workdir / f"spec-{kind}-{deployment.nodes[0].port}-{part}.json"
            spec_path.write_text(json.dumps(spec))
            with (workdir / f"{spec_path.stem}.log").open("wb") as log:
                loadgen = subprocess.Popen(
                    [sys.executable, "-m", "bench.loadgen", str(spec_path)],
                    cwd=ROOT,
                    env=clean_env(),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=log,
                )
            loadgens.append(loadgen)
            readers.append(Lines(loadgen))
        for reader in readers:
            ready = reader.read(300, "ready")["ready"]
            if ready["failed"]:
                raise BenchError(
                    f"{kind}: {ready['failed']} of {ready['sessions']} sessions failed to "
                    f"connect and set up; first: {ready['first_failure']}"
                )
        setup_s = time.monotonic() - started
        deployment.check_alive()
        time.sleep(2.0)  # at rest: three seats per session connected, joined, idle
        idle = deployment.rss()

        t0 = time.monotonic() + 0.3
        order = json.dumps({"t0": t0, "steps": [s.__dict__ for s in steps]}) + "\n"
        for loadgen in loadgens:
            assert loadgen.stdin is not None
            loadgen.stdin.write(order.encode())
            loadgen.stdin.flush()
        samples: list[tuple[Sample, Sample]] = []
        t = t0
        for step in steps:
            begin, end = t + step.warmup, t + step.warmup + step.measure
            _sleep_until(begin)
            if profile_to is not None and profiler is None:
                profiler = _start_profiler(deployment.nodes[0].pid, step.measure, profile_to)
            first = deployment.sample(loadgens)
            _sleep_until(end)
            samples.append((first, deployment.sample(loadgens)))
            t = end
        deployment.check_alive()
        results = [reader.read(120, "result")["result"] for reader in readers]
    finally:
        for loadgen in loadgens:
            with contextlib.suppress(subprocess.TimeoutExpired):
                loadgen.wait(5)
            if loadgen.poll() is None:
                loadgen.kill()
        deployment.stop(options.keep)
        if profiler is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                profiler.wait(30)

    rss = {
        "empty_kib": empty[0] + empty[1],
        "idle_kib": idle[0] + idle[1],
        "per_session_kib": round((sum(idle) - sum(empty)) / count, 1),
        "store_per_session_kib": round((idle[1] - empty[1]) / count, 1),
    }
    return RunResult(
        kind, count, _step_stats(steps, count, samples, results), rss, setup_s, _integrity(results)
    )


def _step_stats(
    steps: list[Step],
    count: int,
    samples: list[tuple[Sample, Sample]],
    results: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    stats = []
    for i, step in enumerate(steps):
        a, b = samples[i]
        latency = sorted(x for r in results for x in r["steps"][i]["latency_ms"])
        ack = sorted(x for r in results for x in r["steps"][i]["ack_ms"])
        acked = sum(r["steps"][i]["acked"] for r in results)
        # What the sessions tried to send: sent, or skipped because the server was
        # late; time-outs pause a session, so this is below sessions × rate.
        attempted = sum(r["steps"][i]["sent"] + r["steps"][i]["skipped"] for r in results)
        deliveries = sum(r["steps"][i]["deliveries"] for r in results)
        nodes, store = b.nodes - a.nodes, b.store - a.store
        server = nodes + store
        loadgen = b.loadgens - a.loadgens
        # Cores busy with anything else meanwhile: a noisy neighbour shows here.
        other = max(0.0, (b.machine - a.machine) - server - loadgen)
        per = step.measure
        stats.append(
            {
                "rate_per_session": step.rate,
                "offered_per_s": round(step.rate * count, 1),
                "measure_s": per,
                "attempted_per_s": round(attempted / per, 1),
                "commands_per_s": round(acked / per, 1),
                "events_per_s": round(deliveries / per, 1),
                "latency_ms": _summary(latency),
                "ack_ms": _summary(ack),
                "samples": len(latency),
                "server_cpu_s": round(server, 3),
                "server_cpu_per_1k": round(server / acked * 1000, 4) if acked else None,
                "server_cpu_util": round(server / per, 3),
                "loop_cpu_util": round((b.loop - a.loop) / per, 3),
                "store_cpu_util": round(store / per, 3),
                "loadgen_cpu_util": round(loadgen / per, 3),
                "other_cpu_util": round(other / per, 3),
            }
        )
    return stats


def _integrity(results: list[dict[str, Any]]) -> dict[str, Any]:
    errors: dict[str, int] = {}
    for r in results:
        for code, n in r["errors"].items():
            errors[code] = errors.get(code, 0) + n
    return {
        "lost": sum(r["lost"] for r in results),
        "out_of_order": sum(r["out_of_order"] for r in results),
        "errors": errors,
        "late_sends": sum(r["late_sends"] for r in results),
        "commands": sum(r["commands"] for r in results),
        "events": sum(r["events"] for r in results),
    }


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest rank: the smallest value with at least q of the values at or below it."""
    rank = math.ceil(q * len(sorted_values) - 1e-9)
    return sorted_values[min(len(sorted_values), max(1, rank)) - 1]


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    return {
        "p50": round(percentile(values, 0.50), 3),
        "p95": round(percentile(values, 0.95), 3),
        "p99": round(percentile(values, 0.99), 3),
        "max": round(values[-1], 3),
    }


def _sleep_until(t: float) -> None:
    delay = t - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def _start_profiler(pid: int, seconds: float, out: Path) -> subprocess.Popen[bytes] | None:
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        _say("py-spy is not installed (pip install py-spy): no profile")
        return None
    out.parent.mkdir(parents=True, exist_ok=True)
    # --gil: samples of the thread holding the GIL, i.e. where the Python CPU goes.
    argv = [spy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250"]
    argv += ["--format", "raw", "--output", str(out), "--nonblocking", "--gil"]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Runner:
    """Runs, with one more try when the machine was busy, within a time budget."""

    def __init__(self, options: Options, workdir: Path, budget_s: float) -> None:
        self.options = options
        self.workdir = workdir
        self.deadline = time.monotonic() + budget_s

    def run(self, kind: str, count: int, steps: list[Step]) -> RunResult:
        best: RunResult | None = None
        for attempt in range(2):
            result = run_once(kind, count, steps, self.options, self.workdir)
            other = max(step["other_cpu_util"] for step in result.steps)
            result.extra.update(other_cpu_util=other, attempts=attempt + 1)
            _say(_one_line(result))
            if best is None or other < best.extra["other_cpu_util"]:
                best = result
            if other <= self.options.max_other or self.options.quick:
                break
            if time.monotonic() > self.deadline:
                _say(f"  other processes kept {other:.2f} cores busy; no time to run it again")
                break
            _say(f"  other processes kept {other:.2f} cores busy; running it again")
        assert best is not None
        return best


def _say(line: str) -> None:
    print(f"bench: {line}", file=sys.stderr, flush=True)


def _one_line(r: RunResult) -> str:
    s = r.steps[0]
    lat = s["latency_ms"]
    errors = sum(r.integrity["errors"].values())
    return (
        f"  {s['commands_per_s']:.0f} cmd/s, {s['events_per_s']:.0f} ev/s, p50 {lat['p50']} "
        f"p99 {lat['p99']} max {lat['max']} ms; {s['server_cpu_per_1k']} CPU-s/1k cmd; "
        f"server {s['server_cpu_util']:.0%} (loop {s['loop_cpu_util']:.0%}, store "
        f"{s['store_cpu_util']:.0%}), loadgen {s['loadgen_cpu_util']:.0%}, other "
        f"{s['other_cpu_util']:.0%}; {r.rss['per_session_kib']:.0f} KiB/session; lost "
        f"{r.integrity['lost']} ooo {r.integrity['out_of_order']} errors {errors} late "
        f"{r.integrity['late_sends']}"
    )


# --- sweep, micro-measurements, profile ---------------------------------------------


def sweep(runner: Runner) -> dict[str, Any]:
    """Each server once, the offered rate rising step by step."""
    options = runner.options
    count = options.sweep_sessions
    steps = [Step(rate / count, 2.0, options.sweep_measure) for rate in options.sweep]
    out: dict[str, Any] = {"sessions": count, "p99_ms": SWEEP_P99_MS, "servers": {}}
    for kind in options.sweep_servers:
        _say(f"sweep {kind}: {count} sessions, {', '.join(f'{r:g}' for r in options.sweep)} cmd/s")
        result = runner.run(kind, count, steps)
        best = None
        for step in result.steps:
            keeps_up = step["commands_per_s"] >= SWEEP_KEEP_UP * step["attempted_per_s"]
            p99 = step["latency_ms"]["p99"]
            step["within_target"] = keeps_up and p99 is not None and p99 <= SWEEP_P99_MS
            _say(
                f"  {step['offered_per_s']:.0f} offered, {step['attempted_per_s']:.0f} tried: "
                f"{step['commands_per_s']:.0f} cmd/s, "
                f"p99 {p99} ms, server {step['server_cpu_util']:.0%}, loadgen "
                f"{step['loadgen_cpu_util']:.0%}"
            )
            if step["within_target"]:
                best = step["offered_per_s"]
        out["servers"][kind] = {"best_rate": best, **result.to_json()}
    accord = out["servers"].get("accord", {}).get("best_rate")
    relay = out["servers"].get("relay", {}).get("best_rate")
    out["accord_vs_relay"] = round(accord / relay, 2) if accord and relay else None
    return out


def micro(
    options: Options, workdir: Path, missed: int = 1000, long_log: int = 10_000
) -> dict[str, Any]:
    """Resume after `missed` events over the wire, and fold a `long_log`-event session."""
    from accord.api.playbooks import Playbooks
    from accord.app import open_store
    from accord.settings import Settings
    from bench import micro as m

    redis = start_redis(workdir) if options.mode == "redis" else None
    redis_url = f"redis://127.0.0.1:{redis.port}/0" if redis else None
    data_dir = workdir / "data-micro"
    try:
        sessions = accord_sessions(data_dir, 2, redis_url)
        settings = Settings(
            data_dir=data_dir, protocols_dir=m.playbook_path().parent, redis_url=redis_url
        )
        source = Playbooks(settings.protocols_dir).load("bench").source

        async def prepare() -> dict[str, Any]:
            store = await open_store(settings)
            try:
                await m.build_log(store, sessions[0]["id"], m.build_records(source, missed + 100))
                records = m.build_records(source, long_log)[:long_log]
                await m.build_log(store, sessions[1]["id"], records)
                info = await store.get_session(sessions[1]["id"])
                assert info is not None
                return {
                    "events": len(records),
                    "fold_ms": round(m.time_fold(source, [r.body for r in records]), 2),
                    "load_ms": round(await m.time_load(store, info), 2),
                }
            finally:
                await store.close()

        fold = asyncio.run(prepare())
        port = free_port()
        argv = [sys.executable, "-m", "accord.cli", "serve", "--log-level", "warning"]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
        if redis_url:
            argv += ["--redis", redis_url]
        env = clean_env(ACCORD_PROTOCOLS_DIR=str(m.playbook_path().parent), **ACCORD_BENCH_ENV)
        server = spawn("accord (micro)", argv, workdir / "micro.log", env, port)
        try:
            server.wait_listening()
            catch_up = asyncio.run(
                m.time_catch_up("127.0.0.1", port, sessions[0]["tokens"]["mediator"], missed)
            )
            cold = asyncio.run(
                m.time_catch_up("127.0.0.1", port, sessions[1]["tokens"]["mediator"], missed, 1)
            )
        finally:
            server.stop()
    finally:
        if redis is not None:
            redis.stop()
    fold["cold_join_ms"] = cold["cold_join_ms"]
    return {"catch_up": catch_up, "fold": fold}


def profile(options: Options, workdir: Path, stamp: str) -> dict[str, Any]:
    """One more run of Accord (and of accord-other, when it is compared) at the
    largest size under py-spy; not counted."""
    count = max(options.sessions)
    profiled: dict[str, Any] = {}
    for server in ("accord", "accord-other"):
        if server != "accord" and server not in options.servers:
            continue
        out = options.out / f"profile-{server}-{count}-{stamp}.txt"
        _say(f"profile: {server}, {count} sessions, under py-spy (not counted)")
        steps = [Step(options.rate, options.warmup, options.measure)]
        result = run_once(server, count, steps, options, workdir, out)
        profiled[server] = {"file": str(out), "run": result.to_json()}
    return profiled["accord"] if len(profiled) == 1 else profiled


# --- the whole benchmark ----------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    versions = {}
    names = ("python-socketio", "python-engineio", "uvicorn", "websockets", "msgpack", "msgspec")
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "versions": versions,
    }


def main(argv: list[str] | None = None) -> int:
    try:
        options = Options.from_args(parser().parse_args(argv))
        return run_all(options)
    except BenchError as exc:
        print(f"accord bench: {exc}", file=sys.stderr)
        return 1


def run_all(options: Options) -> int:
    started = time.monotonic()
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%d-%H%M%S")
    options.out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="accord-bench-"))
    runner = Runner(options, workdir, budget_s=60 if options.quick else 11 * 60)
    runs: list[RunResult] = []
    swept = micros = profiled = None
    try:
        for count in options.sessions:
            for index in range(options.runs):
                for kind in options.servers:
                    rate = options.rate
                    _say(f"{kind}: {count} sessions × 3 seats at {rate:g}/s, run {index + 1}")
                    steps = [Step(rate, options.warmup, options.measure)]
                    runs.append(runner.run(kind, count, steps))
        if options.sweep:
            swept = sweep(runner)
        if options.micro and any(k.startswith("accord") for k in options.servers):
            _say("micro: resume after 1,000 missed events; fold a 10,000-event session")
            micros = micro(options, workdir)
        if options.profile:
            profiled = profile(options, workdir, stamp)
    finally:
        if options.keep:
            _say(f"data and logs kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    integrity = {"lost": 0, "out_of_order": 0, "errors": 0}
    counted = [r.to_json() for r in runs]
    if swept:
        counted += list(swept["servers"].values())
    for r in counted:
        integrity["lost"] += r["integrity"]["lost"]
        integrity["out_of_order"] += r["integrity"]["out_of_order"]
        integrity["errors"] += sum(r["integrity"]["errors"].values())
    report = {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "quick": options.quick,
        "mode": options.mode,
        "machine": machine(),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in options.__dict__.items()},
        "summary": summarise([r.to_json() for r in runs], options.sessions, options.servers),
        "sweep": swept,
        "micro": micros,
        "profile": profiled,
        "runs": [r.to_json() for r in runs],
        "integrity": integrity,
        "seconds": round(time.monotonic() - started, 1),
    }
    markdown = render_markdown(report)
    name = f"{'quick' if options.quick else 'bench'}-{options.mode}-{stamp}"
    json_path, md_path = options.out / f"{name}.json", options.out / f"{name}.md"
    json_path.write_text(json.dumps(report, indent=1))
    md_path.write_text(markdown)
    if options.json is not None:
        options.json.write_text(json.dumps(report, indent=1))
    if options.write_docs:
        _say(f"wrote {write_docs(markdown, name)}")
    print(markdown)
    _say(f"results: {json_path} and {md_path} ({report['seconds']:.0f} s)")
    if integrity["lost"] or integrity["out_of_order"] or integrity["errors"]:
        _say(
            f"FAILED: {integrity['lost']} lost, {integrity['out_of_order']} out of order, "
            f"{integrity['errors']} errors"
        )
        return 1
    return 0


DOCS = ROOT / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- accord bench: results -->", "<!-- /accord bench: results -->"


def write_docs(markdown: str, name: str) -> Path:
    """Replace the results between the markers in docs/BENCHMARKS.md (the prose
    around them, and the other sections, stay as they are)."""
    text = DOCS.read_text(encoding="utf-8")
    if BEGIN not in text or END not in text:
        raise BenchError(f"{DOCS} has no {BEGIN} … {END} markers to write between")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    stamp = f"<!-- written by `accord bench --write-docs` ({name}) -->"
    block = f"{BEGIN}\n{stamp}\n\n{markdown.strip()}\n\n{END}"
    DOCS.write_text(head + block + tail, encoding="utf-8")
    return DOCS


if __name__ == "__main__":
    sys.exit(main())
