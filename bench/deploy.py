"""The servers under test, as processes the harness starts, measures and stops.

A `Deployment` is what one run measures: one or two server processes (the
nodes) and, in Redis mode, the redis-server they share, with the sessions made
for them. Everything is measured from the kernel's own accounting in /proc:
CPU time (utime + stime, all threads), the event-loop thread's CPU time apart,
and resident memory.

Kinds of deployment (`accord bench --servers ...`):

    accord         `accord serve`: embedded SQLite, or one node on Redis (--mode redis)
    accord-2n      two `accord serve --redis` nodes on one Redis (--mode redis); each
                   session's seats are spread over both, so fan-out crosses nodes
    relay          bench/baselines/sio_relay.py, a bare python-socketio relay
    floor          bench/baselines/ws_broadcast.py, a bare websockets broadcast
    accord-memlog  diagnostic: Accord with its event log in memory (what durability costs)
    accord-other   diagnostic: Accord from another checkout (`--other DIR`), before/after
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOKS = ROOT / "bench" / "playbooks"
SEATS = ("mediator", "partner_a", "partner_b")
KINDS = ("accord", "accord-2n", "relay", "floor", "accord-memlog", "accord-other")
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


class BenchError(Exception):
    """The benchmark could not run; the message says why."""


# --- /proc ---------------------------------------------------------------------


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """utime + stime of a process (all its threads), or of one of its threads."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE_KIB


def machine_busy_seconds() -> float:
    """CPU time all cores of the machine spent busy (not idle, not waiting for I/O)."""
    with open("/proc/stat") as f:
        ticks = [int(x) for x in f.readline().split()[1:]]
    return (sum(ticks[:8]) - ticks[3] - ticks[4]) / CLK_TCK


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


#: The load comes from one address (this machine), thousands of sockets at
#: once: the per-address caps that stop a hostile client would stop the bench.
ACCORD_BENCH_ENV = {
    "ACCORD_MAX_SOCKETS_PER_ADDRESS": "1000000",
    "ACCORD_MAX_UNAUTHENTICATED": "1000000",
    "ACCORD_MAX_UNAUTHENTICATED_PER_ADDRESS": "1000000",
    "ACCORD_SOCKET_RATE_PER_ADDRESS": "1000000",
}


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child: no ACCORD_* of ours, and bench/ importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACCORD_")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.update(extra)
    return env


# --- processes -----------------------------------------------------------------


@dataclass
class Proc:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    port: int = 0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited ({self.proc.returncode}); see {self.log}")

    def wait_listening(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        raise BenchError(f"{self.name} did not listen within {timeout:.0f} s; see {self.log}")

    def stop(self, sig: int = signal.SIGINT) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def spawn(name: str, argv: list[str], log: Path, env: dict[str, str], port: int = 0) -> Proc:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    return Proc(name, proc, log, port)


def start_redis(workdir: Path) -> Proc:
    """A redis-server of our own, durable as docs/SCALING.md asks (AOF, fsync always)."""
    directory = workdir / f"redis-{secrets.token_hex(3)}"
    directory.mkdir(parents=True)
    port = free_port()
    argv = [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)]
    argv += ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]
    redis = spawn("redis-server", argv, directory / "redis.log", clean_env(), port)
    redis.wait_listening(10)
    return redis


# --- deployments -----------------------------------------------------------------


@dataclass
class Sample:
    """CPU seconds so far of each part; differences of two samples are a window's."""

    nodes: float  # the server processes under test
    loop: float  # their event-loop (main) threads
    store: float  # the redis-server (0 in embedded mode: the store is inside the node)
    loadgens: float
    machine: float  # every core, busy with anything


@dataclass
class Deployment:
    kind: str
    nodes: list[Proc]
    sessions: list[dict[str, Any]]
    data_dir: Path | None
    redis: Proc | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def ports(self, index: int) -> dict[str, int]:
        """Which node each seat of session `index` connects to (spread over the nodes)."""
        n = len(self.nodes)
        return {seat: self.nodes[(index + i) % n].port for i, seat in enumerate(SEATS)}

    @property
    def system_timers(self) -> bool:
        """Whether the server ends time-outs itself (Accord) or the client just waits."""
        return self.kind.startswith("accord")

    def check_alive(self) -> None:
        for proc in [*self.nodes, *([self.redis] if self.redis else [])]:
            proc.check_alive()

    def sample(self, loadgens: list[subprocess.Popen[bytes]]) -> Sample:
        return Sample(
            nodes=sum(cpu_seconds(n.pid) for n in self.nodes),
            loop=sum(cpu_seconds(n.pid, n.pid) for n in self.nodes),
            store=cpu_seconds(self.redis.pid) if self.redis else 0.0,
            loadgens=sum(cpu_seconds(p.pid) for p in loadgens),
            machine=machine_busy_seconds(),
        )

    def rss(self) -> tuple[int, int]:
        """Resident KiB of the nodes, and of the redis-server."""
        nodes = sum(rss_kib(n.pid) for n in self.nodes)
        return nodes, rss_kib(self.redis.pid) if self.redis else 0

    def stop(self, keep: bool) -> None:
        for node in self.nodes:
            node.stop()
        if self.redis is not None:
            self.redis.stop(signal.SIGTERM)
        if not keep and self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def deploy(
    kind: str, count: int, mode: str, workdir: Path, other: Path | None = None
) -> Deployment:
    """Make `count` sessions and start the servers of `kind` for them."""
    if kind not in KINDS:
        raise BenchError(f"unknown server {kind!r}; known: {', '.join(KINDS)}")
    tag = f"{kind}-{secrets.token_hex(3)}"
    if not kind.startswith("accord"):
        module = {"relay": "bench.baselines.sio_relay", "floor": "bench.baselines.ws_broadcast"}
        port = free_port()
        argv = [sys.executable, "-m", module[kind], "--port", str(port)]
        node = spawn(kind, argv, workdir / f"{tag}.log", clean_env(), port)
        deployment = Deployment(kind, [node], baseline_sessions(count), None)
        _wait(deployment)
        return deployment

    redis_mode = mode == "redis" and kind in ("accord", "accord-2n", "accord-other")
    if kind == "accord-2n" and not redis_mode:
        raise BenchError("accord-2n (two nodes) needs --mode redis")
    data_dir = workdir / f"data-{tag}"
    redis = start_redis(workdir) if redis_mode else None
    redis_url = f"redis://127.0.0.1:{redis.port}/0" if redis else None
    try:
        sessions = accord_sessions(data_dir, count, redis_url)
    except BaseException:
        if redis is not None:
            redis.stop(signal.SIGTERM)
        raise
    env = clean_env(ACCORD_PROTOCOLS_DIR=str(PLAYBOOKS), **ACCORD_BENCH_ENV)
    if kind == "accord-other":
        if other is None:
            raise BenchError("server accord-other needs --other DIR")
        env["PYTHONPATH"] = os.pathsep.join([str(other.resolve()), env["PYTHONPATH"]])
    nodes = []
    for i in range(2 if kind == "accord-2n" else 1):
        port = free_port()
        if kind == "accord-memlog":
            argv = [sys.executable, "-m", "bench.baselines.accord_memlog"]
        else:
            argv = [sys.executable, "-m", "accord.cli", "serve", "--log-level", "warning"]
        argv += ["--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)]
        if redis_url is not None:
            argv += ["--redis", redis_url]
        nodes.append(spawn(f"{kind} node {i + 1}", argv, workdir / f"{tag}-{i}.log", env, port))
    deployment = Deployment(kind, nodes, sessions, data_dir, redis, {"store": mode})
    _wait(deployment)
    return deployment


def _wait(deployment: Deployment) -> None:
    try:
        for node in deployment.nodes:
            node.wait_listening()
    except BaseException:
        deployment.stop(keep=True)
        raise


# --- sessions ------------------------------------------------------------------


def accord_sessions(
    data_dir: Path, count: int, redis_url: str | None = None
) -> list[dict[str, Any]]:
    """Create `count` sessions of the bench playbook and an invite per seat, through
    accord.api.service (what `accord session create` runs), in the store the
    servers will use (the SQLite file of `data_dir`, or Redis)."""
    from accord.api import service
    from accord.api.playbooks import Playbooks
    from accord.app import open_store
    from accord.settings import Settings

    settings = Settings(data_dir=data_dir, protocols_dir=PLAYBOOKS, redis_url=redis_url)

    async def create() -> list[dict[str, Any]]:
        store = await open_store(settings)
        playbooks = Playbooks(PLAYBOOKS)
        now = time.time()

        async def one() -> dict[str, Any]:
            session = await service.create_session(store, playbooks, "bench", None, None, now)
            tokens = {}
            for seat in SEATS:
                _, token, _ = await service.create_invite(settings, store, session, seat, None, now)
                tokens[seat] = token
            return {"id": session.id, "tokens": tokens}

        try:
            made: list[dict[str, Any]] = []
            # 50 at a time: concurrent, so SQLite's writes group-commit, and within
            # redis-py's pool (100 connections; one more call fails at once).
            for i in range(0, count, 50):
                made += await asyncio.gather(*(one() for _ in range(min(50, count - i))))
            return made
        finally:
            await store.close()

    return asyncio.run(create())


def baseline_sessions(count: int) -> list[dict[str, Any]]:
    """Rooms for the baselines; a seat's "token" is `<room>:<seat>`."""
    rooms = [secrets.token_hex(6) for _ in range(count)]
    return [{"id": r, "tokens": {s: f"{r}:{s}" for s in SEATS}} for r in rooms]
