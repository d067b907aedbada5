"""What the SQLite store adds to the contract: a private file, durability across
restarts and process kills, group commit, sharing the file with another process,
and failing cleanly when the file is locked."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import stat
import sys
import time
from pathlib import Path

import pytest

from accord.store import sqlite
from accord.store.base import (
    AuditEntry,
    Case,
    CommandKey,
    DuplicateCommand,
    LogHead,
    NewRecord,
    SeqConflict,
    SessionInfo,
    StoreError,
    Unavailable,
)
from accord.store.memory import MemoryEventLog
from accord.store.sqlite import SCHEMA_VERSION, SqliteStore


def rec(body: bytes) -> NewRecord:
    return NewRecord(at=1.0, actor="partner_a", audience=7, body=body)


def raw(path: Path) -> contextlib.closing[sqlite3.Connection]:
    """A plain connection to the file, standing in for another process."""
    return contextlib.closing(sqlite3.connect(path, isolation_level=None))


async def test_creates_a_private_wal_file_with_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "data" / "accord" / "accord.sqlite3"
    store = await SqliteStore.open(path)
    await store.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_refuses_a_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "accord.sqlite3"
    await (await SqliteStore.open(path)).close()
    with raw(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="schema version"):
        await SqliteStore.open(path)


async def test_a_version_1_file_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "accord.sqlite3"
    with raw(path) as conn:  # a file made by the first release, with an event in it
        for statement in sqlite._SCHEMA_V1:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO logs (session_id, epoch, head) VALUES ('s1', 'e1', 1)")
        conn.execute(
            "INSERT INTO events (session_id, seq, at, actor, audience, body) "
            "VALUES ('s1', 1, 1.0, 'partner_a', 7, x'00')"
        )
        conn.execute("INSERT INTO logs (session_id, epoch, head) VALUES ('done', 'e2', 9)")
        conn.execute(
            "INSERT INTO sessions (id, title, playbook_name, playbook_source, created_by, "
            "created_at, status) VALUES ('done', 't', 'p', '', NULL, 1.0, 'ended')"
        )
    store = await SqliteStore.open(path)
    try:
        assert await store.head("s1") == LogHead(seq=1, epoch="e1")
        # Its deadline is unknown: the next start looks at the session once
        # (an ended session has none).
        assert await store.deadlines() == {"s1": 0.0}
        await store.set_deadline("s1", None, 1)
        assert await store.deadlines() == {}
        # A server of the old release, still running on the upgraded file,
        # appends without knowing of deadlines: unknown again.
        with raw(path) as conn:
            conn.execute("UPDATE logs SET head = 2 WHERE session_id = 's1'")
        assert await store.deadlines() == {"s1": 0.0}
        await store.count_refusal("s1", "partner_a", "not_your_turn")
        assert await store.refusal_counts("s1") == {"partner_a": {"not_your_turn": 1}}
    finally:
        await store.close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 3


async def test_a_version_2_file_gets_cases_and_keeps_its_sessions(tmp_path: Path) -> None:
    path = tmp_path / "accord.sqlite3"
    with raw(path) as conn:  # a data directory of the release before cases
        for statement in (*sqlite._SCHEMA_V1, *sqlite._SCHEMA_V2):
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 2")
        conn.execute(
            "INSERT INTO sessions (id, title, playbook_name, playbook_source, created_by, "
            "created_at, status) VALUES ('old', 't', 'p', 'src', 'm1', 1.0, 'open')"
        )
    store = await SqliteStore.open(path)
    try:
        old = SessionInfo("old", "t", "p", "src", "m1", 1.0, "open", case_id=None)
        assert await store.get_session("old") == old
        assert await store.list_sessions("m1") == [old]
        await store.add_case(Case("c1", "m1", "Case", "Sam", "Alex", 2.0))
        new = SessionInfo("new", "t", "p", "src", "m1", 3.0, "open", case_id="c1")
        await store.add_session(new)
        assert await store.case_sessions("c1") == [new]
        assert await store.list_cases("m1") == [Case("c1", "m1", "Case", "Sam", "Alex", 2.0)]
    finally:
        await store.close()
    with raw(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 3
    reopened = await SqliteStore.open(path)  # migrated once; opening again changes nothing
    try:
        assert [s.id for s in await reopened.case_sessions("c1")] == ["new"]
    finally:
        await reopened.close()


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_each_append_records_the_sessions_next_deadline(tmp_path: Path, kind: str) -> None:
    log = MemoryEventLog() if kind == "memory" else await SqliteStore.open(tmp_path / "a.sqlite3")
    try:
        assert await log.deadlines() == {}
        await log.head("s0")  # a new, empty log has no deadline
        assert await log.deadlines() == {}
        await log.append("s1", 0, [rec(b"a")], deadline=100.0)
        await log.append("s2", 0, [rec(b"a")], deadline=None)
        await log.append("s3", 0, [rec(b"a")])  # KEEP: nothing recorded yet
        assert await log.deadlines() == {"s1": 100.0}
        await log.append("s1", 1, [rec(b"b")])  # KEEP
        assert await log.deadlines() == {"s1": 100.0}
        await log.append("s1", 2, [rec(b"c")], deadline=50.0)
        await log.append("s2", 1, [rec(b"b")], deadline=70.0)
        assert await log.deadlines() == {"s1": 50.0, "s2": 70.0}
        await log.append("s1", 3, [rec(b"d")], deadline=None)  # its timers are done
        assert await log.deadlines() == {"s2": 70.0}
        with pytest.raises(SeqConflict):  # a refused append records no deadline
            await log.append("s2", 0, [rec(b"x")], deadline=1.0)
        assert await log.deadlines() == {"s2": 70.0}
        await log.set_deadline("s2", None, 2)
        assert await log.deadlines() == {}
    finally:
        await log.close()


async def test_everything_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "accord.sqlite3"
    key = CommandKey("partner_a", "c1")
    store = await SqliteStore.open(path)
    await store.append("s1", 0, [rec(b"a"), rec(b"b")], key)
    epoch = (await store.head("s1")).epoch
    await store.add_setup_token("hash", expires_at=100.0)
    await store.close()

    store = await SqliteStore.open(path)
    try:
        assert await store.head("s1") == LogHead(2, epoch)
        assert [r.body for r in await store.read("s1")] == [b"a", b"b"]
        assert await store.command_result("s1", key) == 2
        with pytest.raises(DuplicateCommand):
            await store.append("s1", 0, [rec(b"a")], key)
        assert await store.use_setup_token("hash", now=1.0) is True
    finally:
        await store.close()


async def test_a_lost_file_gets_a_new_epoch(tmp_path: Path) -> None:
    first = await SqliteStore.open(tmp_path / "one.sqlite3")
    second = await SqliteStore.open(tmp_path / "two.sqlite3")
    try:
        assert (await first.head("s1")).epoch != (await second.head("s1")).epoch
    finally:
        await first.close()
        await second.close()


async def test_concurrent_appends_share_commits(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "accord.sqlite3")
    try:
        heads = await asyncio.gather(
            *(store.append(f"s{i}", 0, [rec(b"%d" % i)]) for i in range(200))
        )
        assert heads == [1] * 200
        assert store.appends == 200
        assert store.commits < 200
        for i in range(200):
            assert [r.body for r in await store.read(f"s{i}")] == [b"%d" % i]
    finally:
        await store.close()


async def test_a_failing_append_does_not_fail_its_batch(tmp_path: Path) -> None:
    store = await SqliteStore.open(tmp_path / "accord.sqlite3")
    try:
        await store.append("dup", 0, [rec(b"x")], CommandKey("partner_a", "c"))
        commits = store.commits
        results = await asyncio.gather(
            store.append("ok1", 0, [rec(b"a")]),
            store.append("conflict", 3, [rec(b"b")]),
            store.append("dup", 1, [rec(b"y")], CommandKey("partner_a", "c")),
            store.append("ok2", 0, [rec(b"c"), rec(b"d")]),
            return_exceptions=True,
        )
        assert store.commits == commits + 1  # all four went in one transaction
        assert results[0] == 1
        assert isinstance(results[1], SeqConflict)
        assert isinstance(results[2], DuplicateCommand)
        assert results[3] == 2
        assert await store.read("conflict") == []
        assert [r.body for r in await store.read("dup")] == [b"x"]
        assert [r.body for r in await store.read("ok2")] == [b"c", b"d"]
    finally:
        await store.close()


async def test_close_finishes_queued_writes(tmp_path: Path) -> None:
    path = tmp_path / "accord.sqlite3"
    store = await SqliteStore.open(path)
    appends = [asyncio.ensure_future(store.append(f"s{i}", 0, [rec(b"x")])) for i in range(50)]
    await asyncio.sleep(0)  # let them queue
    await store.close()
    assert [task.result() for task in appends] == [1] * 50

    store = await SqliteStore.open(path)
    try:
        assert all([(await store.head(f"s{i}")).seq == 1 for i in range(50)])
    finally:
        await store.close()


async def test_a_locked_file_is_unavailable_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "accord.sqlite3"
    store = await SqliteStore.open(path, busy_timeout=0.2)
    try:
        await store.append("s1", 0, [rec(b"a")])
        with raw(path) as other:
            other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
            results = await asyncio.gather(
                store.append("s1", 1, [rec(b"b")]),
                store.add_session(
                    SessionInfo("s1", "t", "standard", "", None, 1.0, "open"),
                ),
                return_exceptions=True,
            )
            assert all(isinstance(r, Unavailable) for r in results), results
            # Reads go on: WAL readers do not take the write lock.
            assert (await store.head("s1")).seq == 1
            other.execute("ROLLBACK")
        assert [r.body for r in await store.read("s1")] == [b"a"]
        assert await store.get_session("s1") is None
        assert await store.append("s1", 1, [rec(b"b")]) == 2
    finally:
        await store.close()


async def test_reads_do_not_wait_behind_the_writer(tmp_path: Path) -> None:
    path = tmp_path / "accord.sqlite3"
    store = await SqliteStore.open(path, busy_timeout=5.0)
    try:
        await store.append("s1", 0, [rec(b"a")])
        with raw(path) as other:
            other.execute("BEGIN IMMEDIATE")
            # This append's batch now waits in the writer thread for the lock.
            pending = asyncio.ensure_future(store.append("s1", 1, [rec(b"b")]))
            await asyncio.sleep(0.05)
            started = time.perf_counter()
            assert [r.seq for r in await store.read("s1")] == [1]
            assert await store.command_result("s1", CommandKey("partner_a", "c")) is None
            assert time.perf_counter() - started < 0.5
            assert not pending.done()
            other.execute("ROLLBACK")  # the writer gets the lock within busy_timeout
        assert await pending == 2
    finally:
        await store.close()


# A child process appends to four sessions at once and prints "<session> <seq>"
# after each append returns, that is, once the store has acknowledged it.
APPENDER = """
import asyncio, sys
from accord.store.base import CommandKey, NewRecord
from accord.store.sqlite import SqliteStore

async def session(store, sid):
    seq = 0
    while True:
        record = NewRecord(at=0.0, actor="partner_a", audience=7, body=f"{sid}:{seq + 1}".encode())
        seq = await store.append(sid, seq, [record], CommandKey("partner_a", f"c{seq}"))
        print(sid, seq, flush=True)

async def main():
    store = await SqliteStore.open(sys.argv[1])
    await asyncio.gather(*(session(store, f"s{k}") for k in range(4)))

asyncio.run(main())
"""


def note_ack(acked: dict[str, int], line: bytes) -> None:
    session_id, seq = line.decode().split()
    acked[session_id] = max(acked.get(session_id, 0), int(seq))


async def test_sigkill_loses_no_acknowledged_append(tmp_path: Path) -> None:
    path = tmp_path / "accord.sqlite3"
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        APPENDER,
        str(path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    acked: dict[str, int] = {}
    lines = 0
    try:
        while lines < 300:
            line = await asyncio.wait_for(child.stdout.readline(), timeout=10)
            if not line:
                break
            note_ack(acked, line)
            lines += 1
    finally:
        child.send_signal(signal.SIGKILL)
        # Acknowledgements still in the pipe were printed before the kill: they count.
        rest, errors = await child.communicate()
    assert lines == 300, errors.decode()
    assert child.returncode == -signal.SIGKILL
    # Each ack is one write() of a short line, so none is torn; the last
    # element is what follows the final newline: nothing.
    for line in rest.split(b"\n")[:-1]:
        note_ack(acked, line)

    store = await SqliteStore.open(path)
    try:
        assert set(acked) == {"s0", "s1", "s2", "s3"}
        for sid, last in acked.items():
            records = await store.read(sid)
            assert len(records) >= last
            assert [r.seq for r in records] == list(range(1, len(records) + 1))
            assert [r.body for r in records] == [f"{sid}:{r.seq}".encode() for r in records]
            assert await store.command_result(sid, CommandKey("partner_a", f"c{last - 1}")) == last
    finally:
        await store.close()


# The `accord session create` shell command's part: open the server's file, add a
# session and an audit entry, close.
CREATOR = """
import asyncio, sys
from accord.store.base import AuditEntry, SessionInfo
from accord.store.sqlite import SqliteStore

async def main():
    store = await SqliteStore.open(sys.argv[1])
    try:
        await store.add_session(SessionInfo(
            id="from-shell", title="Created from the shell", playbook_name="standard",
            playbook_source="", created_by=None, created_at=5.0, status="open"))
        await store.audit(AuditEntry(
            at=5.0, actor="shell", action="session.create", session_id="from-shell", detail=""))
    finally:
        await store.close()

asyncio.run(main())
"""


async def test_another_process_can_add_a_session_while_the_server_writes(tmp_path: Path) -> None:
    path = tmp_path / "accord.sqlite3"
    store = await SqliteStore.open(path)
    stop = asyncio.Event()

    async def keep_appending() -> int:
        seq = 0
        while not stop.is_set():
            seq = await store.append("busy", seq, [rec(b"tick")])
        return seq

    server = asyncio.ensure_future(keep_appending())
    try:
        shell = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CREATOR,
            str(path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, errors = await asyncio.wait_for(shell.communicate(), timeout=15)
        assert shell.returncode == 0, errors.decode()
        stop.set()
        appended = await server
        assert appended > 0
        created = await store.get_session("from-shell")
        assert created is not None
        assert created.created_by is None
        assert await store.audit_entries("from-shell") == [
            AuditEntry(5.0, "shell", "session.create", "from-shell", "")
        ]
        assert (await store.head("busy")).seq == appended
    finally:
        stop.set()
        await server
        await store.close()
