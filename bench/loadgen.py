"""The load generator: `python -m bench.loadgen SPEC.json`, one process of many.

It opens three seats per session (lean Socket.IO clients, bench/sio.py), joins
them, plays the setup, then says `{"ready": ...}` on stdout and waits for a
line on stdin: `{"t0": <time.monotonic()>, "steps": [{"rate", "warmup",
"measure"}, ...]}`. From t0 each session plays bench/script.py at the step's
rate (commands per second per session, paced on a schedule), one command at a
time, as a person would. After the last step it drains, checks every seat's
sequence numbers and prints `{"result": ...}`.

What it records, for each step's measuring window [t0 + warm-up, + measure):
commands acknowledged and events delivered in the window, and for each command
sent in it the time from its send to its events' arrival at every seat in their
audience (the last of the three), and to its ack. Whole-run integrity: every
seat's seqs must increase (else out of order), and every event the server
acknowledged must reach every seat of its audience (else lost). Accord numbers
each seat's events by itself (protocol 3), the baselines and older Accords
send the log's seqs: the mediator is in every audience, so its stream numbers
the log, and a partner's k-th event is the k-th of it in the partner's audience; refusals,
ack time-outs and late sends are counted.

Times are `time.monotonic()`, the same clock in every process of the machine,
so the harness can align windows across processes and with its CPU samples.
"""

from __future__ import annotations

import asyncio
import bisect
import gc
import json
import resource
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.script import SEATS, WAIT_FOR_DEBRIEF, Step, exchange, setup
from bench.sio import SioClient

SEAT_BIT = {seat: 1 << i for i, seat in enumerate(SEATS)}
ACK_TIMEOUT = 15.0
DEBRIEF_TIMEOUT = 15.0


def audience_mask(audience: list[str]) -> int:
    mask = 0
    for seat in audience:
        mask |= SEAT_BIT[seat]
    return mask


class Schedule:
    """The steps, as absolute windows on the monotonic clock."""

    def __init__(self, t0: float, steps: list[dict[str, float]]) -> None:
        self.starts: list[float] = []
        self.rates: list[float] = []
        self.windows: list[tuple[float, float]] = []
        t = t0
        for step in steps:
            self.starts.append(t)
            self.rates.append(float(step["rate"]))
            begin = t + step["warmup"]
            self.windows.append((begin, begin + step["measure"]))
            t = begin + step["measure"]
        self.end = t

    def rate_at(self, t: float) -> float:
        i = bisect.bisect_right(self.starts, t) - 1
        return self.rates[max(i, 0)]

    def window_of(self, t: float) -> int:
        """The index of the measuring window holding t, or -1."""
        for i, (begin, end) in enumerate(self.windows):
            if begin <= t < end:
                return i
        return -1


class Session:
    """One session's three seats, its script, and what arrived when."""

    def __init__(self, run: Run, index: int, spec: dict[str, Any]) -> None:
        self.run = run
        self.index = index
        self.id: str = spec["id"]
        self.tokens: dict[str, str] = spec["tokens"]
        self.ports: dict[str, int] = spec.get("ports", {})  # seat -> node, if not run.port
        self.conns: dict[str, SioClient] = {}
        self.last = [0, 0, 0]  # last seq each seat received
        # The mediator is in every audience, so its stream numbers the log:
        # log seq -> [audience mask, is a system event, arrival at the mediator].
        self.log: dict[int, list[Any]] = {}
        # Each partner's arrivals, in its own order: a server that numbers each
        # seat's events by itself (protocol 3) and one that sends the log's seqs
        # (with holes) both give the k-th event a partner may see as its k-th
        # arrival, which is the k-th record of the mediator's stream in its audience.
        self.arrivals: tuple[list[float], list[float], list[float]] = ([], [], [])
        # (sent at, acked at or None, sender's seat index, ack seq in the sender's
        # numbering); the ack seq is 0 when refused
        self.commands: list[tuple[float, float | None, int, int]] = []
        self.acked = [0, 0, 0]  # the highest ack seq each seat was given
        self.cid = 0
        self.debrief = asyncio.Event()
        self.stopped = False

    def on_event(self, seat_index: int, name: str, data: Any, now: float) -> None:
        if name != "events":
            return
        last = self.last[seat_index]
        log = self.log
        arrivals = self.arrivals[seat_index]
        for event in data["events"]:
            seq = event["seq"]
            if seq <= last:
                self.run.out_of_order += 1
                continue
            last = seq
            if seat_index == 0:
                audience = event["audience"]
                mask = 7 if len(audience) == 3 else audience_mask(audience)
                log[seq] = [mask, event["actor"] == "system", now]
            else:
                arrivals.append(now)
            if event["type"] == "debrief.started":
                self.debrief.set()
        self.last[seat_index] = last
        self.run.last_arrival = now

    async def open(self) -> None:
        host = self.run.host
        for i, seat in enumerate(SEATS):
            port = self.ports.get(seat, self.run.port)

            def on_event(name: str, data: Any, now: float, i: int = i) -> None:
                self.on_event(i, name, data, now)

            conn = await SioClient.connect(host, port, {"token": self.tokens[seat]}, on_event)
            self.conns[seat] = conn
            ack = await conn.emit("join", {})
            if not ack.get("ok"):
                raise RuntimeError(f"join refused: {ack}")

    async def send(self, step: Step) -> bool:
        """Send one command and wait for its ack; False if the script cannot go on."""
        self.cid += 1
        command = {"cid": f"c{self.cid}", **step.command}
        seat = SEATS.index(step.seat)
        sent = time.monotonic()
        try:
            async with asyncio.timeout(ACK_TIMEOUT):
                ack = await self.conns[step.seat].emit("command", command)
        except TimeoutError:
            self.run.errors["ack_timeout"] += 1
            self.commands.append((sent, None, seat, 0))
            return False
        acked = time.monotonic()
        if not isinstance(ack, dict) or not ack.get("ok"):
            code = ack.get("error", {}).get("code", "?") if isinstance(ack, dict) else "?"
            self.run.errors[f"refused:{code}"] += 1
            self.commands.append((sent, acked, seat, 0))
            return False
        seq = ack["seq"]
        self.commands.append((sent, acked, seat, seq))
        self.acked[seat] = max(self.acked[seat], seq)
        return True

    def visible(self) -> tuple[list[int], list[int], list[int]]:
        """The log seqs each seat may see, in order, as far as the mediator's
        stream tells (the mediator's own: every one it received)."""
        seen: tuple[list[int], list[int], list[int]] = (list(self.log), [], [])
        for seq, record in self.log.items():
            mask = record[0]
            if mask & 2:
                seen[1].append(seq)
            if mask & 4:
                seen[2].append(seq)
        return seen

    def owed(self) -> int:
        """Deliveries still owed: every seat must have every event of its
        audience, up to the highest the mediator received or any ack implied."""
        seen = self.visible()
        owed = 0
        for i in range(3):
            got = len(self.log) if i == 0 else len(self.arrivals[i])
            expected = max(len(seen[i]), self.acked[i])
            if i == 0:
                expected = max(expected, max(self.log, default=0))
            owed += max(0, expected - got)
        return owed

    async def play_setup(self) -> None:
        for step in setup():
            if not await self.send(step):
                raise RuntimeError(f"session {self.id}: setup step {step.command} failed")

    async def play(self, schedule: Schedule, offset: float) -> None:
        run = self.run
        next_send = schedule.starts[0] + offset
        for step in exchange(run.timeout_every):
            if isinstance(step, str):  # WAIT_FOR_DEBRIEF
                assert step == WAIT_FOR_DEBRIEF
                if run.system_timers:
                    try:
                        async with asyncio.timeout(DEBRIEF_TIMEOUT):
                            await self.debrief.wait()
                    except TimeoutError:
                        run.errors["debrief_timeout"] += 1
                        return
                else:
                    await asyncio.sleep(run.timeout_s)
                next_send = max(next_send, time.monotonic())
                continue
            delay = next_send - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            now = time.monotonic()
            if now >= schedule.end:
                return
            if step.command["type"] == "timeout.call":
                self.debrief.clear()
            if not await self.send(step):
                return
            period = 1.0 / schedule.rate_at(now)
            next_send += period
            now = time.monotonic()
            if next_send < now - period:  # more than a period behind: skip, do not burst
                run.late += 1
                skipped = int((now - next_send) / period)
                run.skipped.append((now, skipped))
                next_send += skipped * period


class Run:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.host: str = spec.get("host", "127.0.0.1")
        self.port: int = spec["port"]
        self.timeout_every: int = spec.get("timeout_every", 8)
        self.system_timers: bool = spec.get("system_timers", True)
        self.timeout_s: float = spec.get("timeout_s", 0.3)
        self.concurrency: int = spec.get("connect_concurrency", 32)
        self.offsets: list[float] = spec["offsets"]  # per session: fraction of a period
        self.sessions = [Session(self, i, s) for i, s in enumerate(spec["sessions"])]
        self.errors: Counter[str] = Counter()
        self.out_of_order = 0
        self.late = 0
        self.skipped: list[tuple[float, int]] = []  # (when, send slots the schedule skipped)
        self.last_arrival = 0.0

    async def prepare(self) -> dict[str, Any]:
        started = time.monotonic()
        gate = asyncio.Semaphore(self.concurrency)

        async def one(session: Session) -> None:
            async with gate:
                await session.open()
                await session.play_setup()

        results = await asyncio.gather(*(one(s) for s in self.sessions), return_exceptions=True)
        failures = [repr(r) for r in results if isinstance(r, BaseException)]
        return {
            "sessions": len(self.sessions),
            "failed": len(failures),
            "first_failure": failures[0] if failures else None,
            "seconds": time.monotonic() - started,
        }

    async def drive(self, schedule: Schedule) -> None:
        period = 1.0 / schedule.rates[0]
        await asyncio.gather(
            *(s.play(schedule, self.offsets[s.index] * period) for s in self.sessions)
        )
        await self.drain()

    async def drain(self, quiet: float = 0.5, limit: float = 10.0) -> None:
        """Wait until every acknowledged event reached its audience and nothing moved
        for `quiet` seconds (a time-out timer may still fire), or `limit` passed."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            await asyncio.sleep(0.1)
            if time.monotonic() - self.last_arrival >= quiet and not self.missing():
                return

    def missing(self) -> int:
        """Deliveries still owed, over every session (`Session.owed`)."""
        return sum(s.owed() for s in self.sessions)

    def report(self, schedule: Schedule) -> dict[str, Any]:
        steps: list[dict[str, Any]] = [
            {"latency_ms": [], "ack_ms": [], "sent": 0, "skipped": 0, "acked": 0, "deliveries": 0}
            for _ in schedule.windows
        ]
        window_of = schedule.window_of
        for when, skipped in self.skipped:
            if (w := window_of(when)) >= 0:
                steps[w]["skipped"] += skipped
        for s in self.sessions:
            log = s.log
            seen = s.visible()
            # For each partner: log seq -> the time it arrived there, if it did.
            at: list[dict[int, float]] = [{}]
            for i in (1, 2):
                at.append(dict(zip(seen[i], s.arrivals[i], strict=False)))
            for t in (
                *(r[2] for r in log.values()),
                *s.arrivals[1],
                *s.arrivals[2],
            ):
                if (w := window_of(t)) >= 0:
                    steps[w]["deliveries"] += 1
            done = 0  # the log seq of the last event of the previous accepted command
            for sent, acked, seat, seq in s.commands:
                last = 0
                if acked is not None and seq:
                    if (w := window_of(acked)) >= 0:
                        steps[w]["acked"] += 1
                    # The ack's seq, in the sender's numbering, to the log's.
                    if seat == 0:
                        last = seq
                    elif seq <= len(seen[seat]):
                        last = seen[seat][seq - 1]
                first, done = done + 1, max(done, last)
                w = window_of(sent)
                if w < 0:
                    continue
                step = steps[w]
                step["sent"] += 1
                if acked is None or not seq:
                    continue
                step["ack_ms"].append(round((acked - sent) * 1000, 3))
                arrived = 0.0 if last else -1.0
                for g in range(first, last + 1):
                    record = log.get(g)
                    if record is None:
                        arrived = -1.0
                        break
                    if record[1]:
                        continue  # a timer's event, not this command's
                    arrived = max(arrived, record[2])
                    for i in (1, 2):
                        if record[0] >> i & 1:
                            t = at[i].get(g)
                            if t is None:
                                arrived = -1.0
                                break
                            arrived = max(arrived, t)
                    if arrived < 0:
                        break
                if arrived > 0:
                    step["latency_ms"].append(round((arrived - sent) * 1000, 3))
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {
            "steps": steps,
            "lost": self.missing(),
            "out_of_order": self.out_of_order,
            "errors": dict(self.errors),
            "late_sends": self.late,
            "commands": sum(len(s.commands) for s in self.sessions),
            "events": sum(len(s.log) for s in self.sessions),
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "max_rss_kib": usage.ru_maxrss,
        }


def _say(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


async def _main(spec: dict[str, Any]) -> None:
    run = Run(spec)
    ready = await run.prepare()
    # The run's objects live until the end: keep the collector off their backs
    # (the same stalls DESIGN.md measured on the server would show up here as latency).
    gc.collect()
    gc.freeze()
    gc.set_threshold(100_000, 50, 1000)
    _say({"ready": ready})
    if ready["failed"]:
        return
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    order = json.loads(line) if line.strip() else {}
    if "steps" not in order:
        return
    schedule = Schedule(order["t0"], order["steps"])
    await run.drive(schedule)
    _say({"result": run.report(schedule)})
    for session in run.sessions:
        for conn in session.conns.values():
            conn.close()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(args[0]).read_text())
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_main(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
