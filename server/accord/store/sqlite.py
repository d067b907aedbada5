"""The embedded store: the event logs and the registry in one SQLite file.

`SqliteStore` is both an EventLog and a Registry. It owns the file's schema
(versioned with `PRAGMA user_version`), its connections and the two kinds of
thread that use them:

- One writer thread owns the only write connection. Writes from every session
  queue up on the event loop; the writer takes everything pending and runs it
  as one transaction with one fsync (group commit), then answers each caller.
  Each write runs inside its own SAVEPOINT, so one append's SeqConflict or
  DuplicateCommand fails that append alone, never its batch-mates.
- A small pool of reader threads with their own connections. In WAL mode a
  reader sees the last commit and never waits for the writer, so resume and
  replay are not slowed by a batch being fsynced.

Durability (DESIGN.md, "The log"): WAL with `synchronous=FULL` fsyncs the WAL
on every commit, and a caller is answered only after its batch committed, so an
acknowledged event survives a process kill and a power loss. Other processes
(the `accord session create` shell command) may open the same file; SQLite's
file locks and `busy_timeout` take turns between them. A write that cannot get
the lock in time fails with `Unavailable` and leaves nothing behind.

A store belongs to the event loop that opened it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import queue
import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from accord.store.base import (
    KEEP,
    AuditEntry,
    Case,
    CommandKey,
    Deadline,
    DuplicateCommand,
    Invite,
    LogHead,
    Mediator,
    NewRecord,
    Record,
    SeqConflict,
    SessionInfo,
    StoreError,
    Unavailable,
    check_read_limit,
    new_epoch,
)

SCHEMA_VERSION = 3

# Each statement runs separately: executescript() would commit the migration's
# transaction half-way.
_SCHEMA_V1 = (
    """CREATE TABLE logs (
        session_id TEXT PRIMARY KEY,
        epoch TEXT NOT NULL,
        head INTEGER NOT NULL
    ) WITHOUT ROWID""",
    # Events are small (a statement is capped at a few hundred characters), so
    # keeping them in the primary-key b-tree saves a second index per insert.
    """CREATE TABLE events (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        audience INTEGER NOT NULL,
        body BLOB NOT NULL,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE commands (
        session_id TEXT NOT NULL,
        seat TEXT NOT NULL,
        cid TEXT NOT NULL,
        last_seq INTEGER NOT NULL,
        PRIMARY KEY (session_id, seat, cid)
    ) WITHOUT ROWID""",
    """CREATE TABLE mediators (
        id TEXT PRIMARY KEY,
        email TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at REAL NOT NULL
    )""",
    """CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        playbook_name TEXT NOT NULL,
        playbook_source TEXT NOT NULL,
        created_by TEXT,
        created_at REAL NOT NULL,
        status TEXT NOT NULL
    )""",
    "CREATE INDEX sessions_by_creator ON sessions (created_by, created_at)",
    """CREATE TABLE invites (
        id TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        seat TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revoked_at REAL
    )""",
    "CREATE INDEX invites_by_session ON invites (session_id, created_at)",
    """CREATE TABLE setup_tokens (
        token_hash TEXT PRIMARY KEY,
        expires_at REAL NOT NULL,
        used_at REAL
    )""",
    """CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at REAL NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        session_id TEXT,
        detail TEXT NOT NULL
    )""",
    "CREATE INDEX audit_by_session ON audit (session_id, id)",
)

# Version 2: the balance monitor's refusal counts survive a restart, and each
# log records its session's earliest deadline (NULL: none) and the head it was
# recorded at, so a start loads only sessions with a timer to fire. Where the
# two heads differ (logs from version 1, or appended by a version-1 server
# still running on an upgraded file) the deadline is unknown: such a session
# is looked at once. An ended session has no deadline.
_SCHEMA_V2 = (
    "ALTER TABLE logs ADD COLUMN deadline REAL",
    "ALTER TABLE logs ADD COLUMN deadline_head INTEGER",
    "UPDATE logs SET deadline_head = head WHERE session_id IN "
    "(SELECT id FROM sessions WHERE status = 'ended')",
    "CREATE INDEX logs_pending ON logs (session_id) "
    "WHERE deadline IS NOT NULL OR deadline_head IS NOT head",
    """CREATE TABLE refusals (
        session_id TEXT NOT NULL,
        seat TEXT NOT NULL,
        code TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (session_id, seat, code)
    ) WITHOUT ROWID""",
)

# Version 3: cases (a couple's sessions over time, DESIGN.md "Cases"), and a
# session's case. Sessions of older files belong to no case, as before.
_SCHEMA_V3 = (
    """CREATE TABLE cases (
        id TEXT PRIMARY KEY,
        owner TEXT,
        title TEXT NOT NULL,
        name_a TEXT NOT NULL,
        name_b TEXT NOT NULL,
        created_at REAL NOT NULL,
        archived INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE INDEX cases_by_owner ON cases (owner, created_at)",
    "ALTER TABLE sessions ADD COLUMN case_id TEXT",
    "CREATE INDEX sessions_by_case ON sessions (case_id, created_at) WHERE case_id IS NOT NULL",
)

_MIGRATIONS: dict[int, tuple[str, ...]] = {1: _SCHEMA_V1, 2: _SCHEMA_V2, 3: _SCHEMA_V3}

# A batch bigger than this waits for the next commit, so one burst cannot
# stretch a single transaction (and everyone's latency) without bound.
_MAX_BATCH = 1024
_READER_THREADS = 2
# Group commit under load: when writes arrive faster than one per window, the
# writer waits this long before starting a batch, so several appends share one
# commit and one fsync. Each commit costs ~150-250 µs of CPU (the fsync, the
# WAL frames, the hand-over to the writer thread) whatever its size, against
# ~40 µs per append in it; at 1,000 appends/s a 2 ms window halves the commits
# and cuts the server's CPU per command by ~15% (docs/BENCHMARKS.md), for
# ≤ 2-3 ms more latency. A quiet server (under one write per window) commits
# at once. The setting commit_window_ms overrides it.
_COMMIT_WINDOW = 0.002
_RATE_PERIOD = 0.05  # how often the write rate is re-estimated, seconds

_T = TypeVar("_T")
_Op = Callable[[sqlite3.Connection], Any]


def _reraise(exc: sqlite3.Error) -> NoReturn:
    """Raise a failure of the database itself (locked, busy, I/O, disk full,
    corrupt file) as Unavailable; anything else (a programming error) as is."""
    if isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError:
        raise Unavailable(f"the SQLite store is unavailable: {exc}") from exc
    raise exc


def _rollback(conn: sqlite3.Connection) -> None:
    # After some failures SQLite has already rolled back, and a failing
    # ROLLBACK must not hide the error that brought us here.
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


def _create_private(path: Path) -> None:
    """Create the database file, private from the start (SQLite gives the -wal
    and -shm files the database file's mode), and make its name durable."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        return
    # Without this a power cut could lose the new directory entry, and with it
    # every event committed to the file.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _columns(cls: type) -> str:
    """A dataclass's fields as a column list: the tables use the same names."""
    return ", ".join(f.name for f in dataclasses.fields(cls))


_RECORD = _columns(Record)
_MEDIATOR = _columns(Mediator)
_SESSION = _columns(SessionInfo)
_INVITE = _columns(Invite)
_CASE = _columns(Case)
_AUDIT = _columns(AuditEntry)


@dataclass(slots=True)
class _Write:
    op: _Op
    future: asyncio.Future[Any]
    is_append: bool


class SqliteStore:
    """EventLog and Registry over one SQLite file. Open with `await SqliteStore.open(path)`.

    `appends` counts appends committed and `commits` counts transactions
    committed; their ratio is the group-commit factor.
    """

    def __init__(self, path: Path, busy_timeout: float, commit_window: float) -> None:
        # Use open(): a store needs its writer connection and task to work.
        self.path = path
        self.appends = 0
        self.commits = 0
        self._busy_timeout = busy_timeout
        self._commit_window = commit_window
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="accord-sqlite-w")
        self._readers = ThreadPoolExecutor(
            max_workers=_READER_THREADS, thread_name_prefix="accord-sqlite-r"
        )
        self._wconn: sqlite3.Connection | None = None
        self._idle_readers: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._queue: asyncio.Queue[_Write | None] = asyncio.Queue()
        self._writer_task: asyncio.Task[None] | None = None
        self._closing = False
        self._closed: asyncio.Future[None] | None = None
        self._arrivals = 0  # writes queued since _rate_since
        self._rate_since = 0.0
        self._rate = 0.0  # writes per second, recently

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        commit_window: float = _COMMIT_WINDOW,
    ) -> SqliteStore:
        """Open (creating if needed, mode 0600) and migrate the store at `path`.

        `busy_timeout` is how long, in seconds, a write waits for another
        process holding the file's write lock before failing with Unavailable.
        `commit_window` is the group-commit wait of a busy writer, in seconds
        (0: commit every batch at once).
        """
        store = cls(Path(path), busy_timeout, commit_window)
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(store._writer, store._open_writer)
        except BaseException:
            store._writer.shutdown()
            store._readers.shutdown()
            raise
        store._writer_task = loop.create_task(store._write_loop(), name=f"sqlite writer {path}")
        return store

    # connections (each function here runs in a store thread)

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the
        # transaction boundaries are exactly the batch boundaries.
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            conn.execute("PRAGMA synchronous = FULL")
            # Only on macOS does plain fsync stop short of the platter; these
            # make SQLite use F_FULLFSYNC there and are ignored elsewhere.
            conn.execute("PRAGMA fullfsync = ON")
            conn.execute("PRAGMA checkpoint_fullfsync = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _open_writer(self) -> None:
        _create_private(self.path)
        try:
            conn = self._connect()
        except sqlite3.Error as exc:
            _reraise(exc)
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{self.path}: SQLite refused WAL mode (got {mode!r})")
            self._migrate(conn)
        except sqlite3.Error as exc:
            conn.close()
            _reraise(exc)
        except BaseException:
            conn.close()
            raise
        self._wconn = conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # IMMEDIATE: a second process opening the same new file waits here
        # and then finds the schema already made.
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {version}; this Accord knows up to "
                    f"{SCHEMA_VERSION}. Upgrade Accord before opening it."
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")
            conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise

    def _reader(self) -> sqlite3.Connection:
        try:
            return self._idle_readers.get_nowait()
        except queue.Empty:
            conn = self._connect()
            conn.execute("PRAGMA query_only = ON")
            return conn

    def _run_read(self, op: Callable[[sqlite3.Connection], _T]) -> _T:
        try:
            conn = self._reader()
        except sqlite3.Error as exc:
            _reraise(exc)
        try:
            return op(conn)
        except sqlite3.Error as exc:
            _reraise(exc)
        finally:
            self._idle_readers.put(conn)

    def _run_batch(self, ops: list[_Op]) -> list[tuple[bool, Any]]:
        """Run ops in one transaction; return (ok, result or exception) for each.

        A failure of the database (lock timeout, I/O, full disk) rolls back the
        whole batch and raises Unavailable: nothing of it is half-written.
        """
        conn = self._wconn
        assert conn is not None
        try:
            conn.execute("BEGIN IMMEDIATE")
            outcomes = [self._run_one(conn, op) for op in ops]
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            _reraise(exc)
        except BaseException:
            _rollback(conn)
            raise
        return outcomes

    @staticmethod
    def _run_one(conn: sqlite3.Connection, op: _Op) -> tuple[bool, Any]:
        conn.execute("SAVEPOINT op")
        try:
            result = op(conn)
        except Exception as exc:
            if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                raise
            # This op's own failure (a conflict, a duplicate): undo its writes
            # and let the rest of the batch commit.
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            return False, exc
        conn.execute("RELEASE op")
        return True, result

    # the loop side

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        stopping = False
        while not stopping:
            batch: list[_Write] = []
            item = await self._queue.get()
            if item is not None and self._commit_window and self._busy(loop.time()):
                await asyncio.sleep(self._commit_window)
            while True:
                if item is None:
                    stopping = True
                    break
                if not item.future.done():  # its caller was cancelled while queued
                    batch.append(item)
                if len(batch) >= _MAX_BATCH or self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if not batch:
                continue
            try:
                outcomes = await loop.run_in_executor(
                    self._writer, self._run_batch, [w.op for w in batch]
                )
            except Exception as exc:
                for w in batch:
                    if not w.future.done():
                        w.future.set_exception(exc)
                continue
            self.commits += 1
            for w, (ok, value) in zip(batch, outcomes, strict=True):
                if ok and w.is_append:
                    self.appends += 1
                if w.future.done():
                    continue
                if ok:
                    w.future.set_result(value)
                else:
                    w.future.set_exception(value)

    def _busy(self, now: float) -> bool:
        """Whether another write is likely to arrive within the commit window."""
        elapsed = now - self._rate_since
        if elapsed >= _RATE_PERIOD:
            self._rate = self._arrivals / elapsed
            self._arrivals = 0
            self._rate_since = now
        return self._rate * self._commit_window >= 1.0

    async def _write(
        self, op: Callable[[sqlite3.Connection], _T], *, is_append: bool = False
    ) -> _T:
        """Queue a write for the next batch; return once its batch committed.

        A caller cancelled after its batch started may still have been written;
        a retry with the same command key finds out.
        """
        if self._closing:
            raise Unavailable("the SQLite store is closed")
        future: asyncio.Future[_T] = asyncio.get_running_loop().create_future()
        self._arrivals += 1
        self._queue.put_nowait(_Write(op, future, is_append))
        return await future

    async def _read(self, op: Callable[[sqlite3.Connection], _T]) -> _T:
        if self._closing:
            raise Unavailable("the SQLite store is closed")
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._run_read, op)

    async def close(self) -> None:
        """Finish every write already queued, then close all connections."""
        if self._closed is None:
            self._closed = asyncio.ensure_future(self._shutdown())
        await asyncio.shield(self._closed)

    async def _shutdown(self) -> None:
        self._closing = True
        self._queue.put_nowait(None)
        if self._writer_task is not None:
            await self._writer_task
        loop = asyncio.get_running_loop()
        # Reads already running finish first; their connections then sit idle.
        await asyncio.to_thread(self._readers.shutdown)
        while not self._idle_readers.empty():
            self._idle_readers.get_nowait().close()
        if self._wconn is not None:
            await loop.run_in_executor(self._writer, self._wconn.close)
        self._writer.shutdown()

    # EventLog

    async def head(self, session_id: str) -> LogHead:
        found = await self._read(lambda c: _log_head(c, session_id))
        if found is not None:
            return found
        # First touch: the epoch is born here and must be durable before anyone
        # sees it, so it goes through the writer.
        return await self._write(lambda c: _touch_log(c, session_id))

    async def append(
        self,
        session_id: str,
        expected_seq: int,
        records: Sequence[NewRecord],
        command: CommandKey | None = None,
        *,
        deadline: Deadline = KEEP,
    ) -> int:
        batch = tuple(records)
        return await self._write(
            lambda c: _append(c, session_id, expected_seq, batch, command, deadline),
            is_append=True,
        )

    async def deadlines(self) -> dict[str, float]:
        def op(conn: sqlite3.Connection) -> dict[str, float]:
            rows = conn.execute(
                "SELECT session_id, CASE WHEN deadline_head IS head THEN deadline ELSE 0 END "
                "FROM logs WHERE deadline IS NOT NULL OR deadline_head IS NOT head"
            ).fetchall()
            return {session_id: float(due) for session_id, due in rows}

        return await self._read(op)

    async def set_deadline(self, session_id: str, deadline: float | None, head: int) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE logs SET deadline = ?, deadline_head = ? WHERE session_id = ?",
                (deadline, head, session_id),
            )

        await self._write(op)

    async def read(
        self, session_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Record]:
        check_read_limit(limit)
        sql_limit = -1 if limit is None else limit

        def op(conn: sqlite3.Connection) -> list[Record]:
            rows = conn.execute(
                f"SELECT {_RECORD} FROM events"
                " WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (session_id, after_seq, sql_limit),
            ).fetchall()
            return [Record(*row) for row in rows]

        return await self._read(op)

    async def command_result(self, session_id: str, command: CommandKey) -> int | None:
        return await self._read(lambda c: _command_result(c, session_id, command))

    # Registry: mediators

    async def add_mediator(self, mediator: Mediator) -> None:
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO mediators (id, email, password_hash, created_at)"
                    " VALUES (?, ?, ?, ?)",
                    (mediator.id, mediator.email, mediator.password_hash, mediator.created_at),
                )
            except sqlite3.IntegrityError as exc:
                if "email" in str(exc):
                    raise ValueError("a mediator with this email already exists") from None
                raise ValueError(f"a mediator with id {mediator.id} already exists") from None

        await self._write(op)

    async def mediator_by_email(self, email: str) -> Mediator | None:
        return await self._read(
            lambda c: _one(c, Mediator, f"SELECT {_MEDIATOR} FROM mediators WHERE email = ?", email)
        )

    async def mediator_by_id(self, mediator_id: str) -> Mediator | None:
        return await self._read(
            lambda c: _one(
                c, Mediator, f"SELECT {_MEDIATOR} FROM mediators WHERE id = ?", mediator_id
            )
        )

    async def set_password_hash(self, mediator_id: str, password_hash: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE mediators SET password_hash = ? WHERE id = ?", (password_hash, mediator_id)
            )

        await self._write(op)

    async def count_mediators(self) -> int:
        def op(conn: sqlite3.Connection) -> int:
            count: int = conn.execute("SELECT count(*) FROM mediators").fetchone()[0]
            return count

        return await self._read(op)

    # Registry: sessions

    async def add_session(self, session: SessionInfo) -> None:
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO sessions (id, title, playbook_name, playbook_source,"
                    " created_by, created_at, status, case_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session.id,
                        session.title,
                        session.playbook_name,
                        session.playbook_source,
                        session.created_by,
                        session.created_at,
                        session.status,
                        session.case_id,
                    ),
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"session {session.id} already exists") from None

        await self._write(op)

    async def get_session(self, session_id: str) -> SessionInfo | None:
        return await self._read(
            lambda c: _one(
                c, SessionInfo, f"SELECT {_SESSION} FROM sessions WHERE id = ?", session_id
            )
        )

    async def list_sessions(self, created_by: str | None = None) -> list[SessionInfo]:
        """All sessions, or those one mediator created; oldest first."""
        sql = f"SELECT {_SESSION} FROM sessions"
        args: tuple[object, ...] = ()
        if created_by is not None:
            sql += " WHERE created_by = ?"
            args = (created_by,)
        sql += " ORDER BY created_at, id"
        return await self._read(lambda c: _all(c, SessionInfo, sql, *args))

    async def set_session_status(self, session_id: str, status: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            cursor = conn.execute(
                "UPDATE sessions SET status = ? WHERE id = ?", (status, session_id)
            )
            if cursor.rowcount == 0:
                raise KeyError(session_id)

        await self._write(op)

    # Registry: cases

    async def add_case(self, case: Case) -> None:
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    f"INSERT INTO cases ({_CASE}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        case.id,
                        case.owner,
                        case.title,
                        case.name_a,
                        case.name_b,
                        case.created_at,
                        int(case.archived),
                    ),
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"case {case.id} already exists") from None

        await self._write(op)

    async def get_case(self, case_id: str) -> Case | None:
        return await self._read(
            lambda c: _one(c, _case, f"SELECT {_CASE} FROM cases WHERE id = ?", case_id)
        )

    async def list_cases(self, owner: str | None = None) -> list[Case]:
        """All cases, or one mediator's; oldest first."""
        sql = f"SELECT {_CASE} FROM cases"
        args: tuple[object, ...] = ()
        if owner is not None:
            sql += " WHERE owner = ?"
            args = (owner,)
        sql += " ORDER BY created_at, id"
        return await self._read(lambda c: _all(c, _case, sql, *args))

    async def case_sessions(self, case_id: str) -> list[SessionInfo]:
        """A case's sessions, oldest first."""
        sql = f"SELECT {_SESSION} FROM sessions WHERE case_id = ? ORDER BY created_at, id"
        return await self._read(lambda c: _all(c, SessionInfo, sql, case_id))

    async def update_case(
        self,
        case_id: str,
        *,
        title: str | None = None,
        name_a: str | None = None,
        name_b: str | None = None,
        archived: bool | None = None,
    ) -> Case | None:
        """Change the fields given (None: keep); the case as it is now, None if unknown."""
        changes: dict[str, object] = {
            name: value
            for name, value in (
                ("title", title),
                ("name_a", name_a),
                ("name_b", name_b),
                ("archived", None if archived is None else int(archived)),
            )
            if value is not None
        }

        def op(conn: sqlite3.Connection) -> Case | None:
            if changes:
                # The column names are ours (above), never the caller's.
                assignments = ", ".join(f"{name} = ?" for name in changes)
                conn.execute(
                    f"UPDATE cases SET {assignments} WHERE id = ?", (*changes.values(), case_id)
                )
            return _one(conn, _case, f"SELECT {_CASE} FROM cases WHERE id = ?", case_id)

        return await self._write(op)

    # Registry: invites

    async def add_invite(self, invite: Invite) -> None:
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO invites (id, session_id, seat, created_at, expires_at,"
                    " revoked_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        invite.id,
                        invite.session_id,
                        invite.seat,
                        invite.created_at,
                        invite.expires_at,
                        invite.revoked_at,
                    ),
                )
            except sqlite3.IntegrityError:
                raise ValueError(f"invite {invite.id} already exists") from None

        await self._write(op)

    async def get_invite(self, invite_id: str) -> Invite | None:
        return await self._read(
            lambda c: _one(c, Invite, f"SELECT {_INVITE} FROM invites WHERE id = ?", invite_id)
        )

    async def list_invites(self, session_id: str) -> list[Invite]:
        """A session's invites, oldest first."""
        return await self._read(
            lambda c: _all(
                c,
                Invite,
                f"SELECT {_INVITE} FROM invites WHERE session_id = ? ORDER BY created_at, id",
                session_id,
            )
        )

    async def revoke_invite(self, invite_id: str, at: float) -> Invite | None:
        """Revoke an invite; revoking twice keeps the first time. None if unknown."""

        def op(conn: sqlite3.Connection) -> Invite | None:
            conn.execute(
                "UPDATE invites SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (at, invite_id),
            )
            return _one(conn, Invite, f"SELECT {_INVITE} FROM invites WHERE id = ?", invite_id)

        return await self._write(op)

    # Registry: setup tokens

    async def add_setup_token(self, token_hash: str, expires_at: float) -> None:
        def op(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(
                    "INSERT INTO setup_tokens (token_hash, expires_at) VALUES (?, ?)",
                    (token_hash, expires_at),
                )
            except sqlite3.IntegrityError:
                raise ValueError("this setup token already exists") from None

        await self._write(op)

    async def use_setup_token(self, token_hash: str, now: float) -> bool:
        """True once for a known, unexpired token; False ever after."""

        def op(conn: sqlite3.Connection) -> bool:
            # One conditional UPDATE under the write lock: two processes racing
            # for the same token cannot both win.
            cursor = conn.execute(
                "UPDATE setup_tokens SET used_at = ?"
                " WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
                (now, token_hash, now),
            )
            return cursor.rowcount == 1

        return await self._write(op)

    # Registry: audit

    async def count_refusal(self, session_id: str, seat: str, code: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO refusals (session_id, seat, code, count) VALUES (?, ?, ?, 1) "
                "ON CONFLICT (session_id, seat, code) DO UPDATE SET count = count + 1",
                (session_id, seat, code),
            )

        await self._write(op)

    async def refusal_counts(self, session_id: str) -> dict[str, dict[str, int]]:
        def op(conn: sqlite3.Connection) -> dict[str, dict[str, int]]:
            counts: dict[str, dict[str, int]] = {}
            for seat, code, count in conn.execute(
                "SELECT seat, code, count FROM refusals WHERE session_id = ? ORDER BY seat, code",
                (session_id,),
            ):
                counts.setdefault(seat, {})[code] = count
            return counts

        return await self._read(op)

    async def audit(self, entry: AuditEntry) -> None:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT INTO audit ({_AUDIT}) VALUES (?, ?, ?, ?, ?)",
                (entry.at, entry.actor, entry.action, entry.session_id, entry.detail),
            )

        await self._write(op)

    async def audit_entries(self, session_id: str | None = None) -> list[AuditEntry]:
        """Entries in the order they were recorded, all or one session's."""
        sql = f"SELECT {_AUDIT} FROM audit"
        args: tuple[object, ...] = ()
        if session_id is not None:
            sql += " WHERE session_id = ?"
            args = (session_id,)
        sql += " ORDER BY id"
        return await self._read(lambda c: _all(c, AuditEntry, sql, *args))


# Statements shared by the reader and writer sides. Each takes the connection
# of the thread it runs in.


def _log_head(conn: sqlite3.Connection, session_id: str) -> LogHead | None:
    row = conn.execute(
        "SELECT head, epoch FROM logs WHERE session_id = ?", (session_id,)
    ).fetchone()
    return None if row is None else LogHead(seq=row[0], epoch=row[1])


def _touch_log(conn: sqlite3.Connection, session_id: str) -> LogHead:
    """The log's head, creating the log (and its epoch) if it is new.

    Runs in the writer's transaction, which holds the file's write lock, so no
    other writer can create the same log in between."""
    head = _log_head(conn, session_id)
    if head is None:
        head = LogHead(seq=0, epoch=new_epoch())
        conn.execute(
            "INSERT INTO logs (session_id, epoch, head, deadline_head) VALUES (?, ?, 0, 0)",
            (session_id, head.epoch),
        )
    return head


def _command_result(conn: sqlite3.Connection, session_id: str, command: CommandKey) -> int | None:
    row = conn.execute(
        "SELECT last_seq FROM commands WHERE session_id = ? AND seat = ? AND cid = ?",
        (session_id, command.seat, command.cid),
    ).fetchone()
    return None if row is None else int(row[0])


def _append(
    conn: sqlite3.Connection,
    session_id: str,
    expected_seq: int,
    records: Sequence[NewRecord],
    command: CommandKey | None,
    deadline: Deadline,
) -> int:
    head = _touch_log(conn, session_id).seq
    # A retry carries a stale expected_seq, so the command check comes first:
    # the client must get its original result, not a conflict.
    if command is not None:
        first = _command_result(conn, session_id, command)
        if first is not None:
            raise DuplicateCommand(first)
    if head != expected_seq:
        raise SeqConflict(session_id, expected_seq, head)
    conn.executemany(
        "INSERT INTO events (session_id, seq, at, actor, audience, body) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (session_id, seq, r.at, r.actor, r.audience, bytes(r.body))
            for seq, r in enumerate(records, start=head + 1)
        ],
    )
    new_head = head + len(records)
    if deadline is not KEEP:
        conn.execute(
            "UPDATE logs SET head = ?, deadline = ?, deadline_head = ? WHERE session_id = ?",
            (new_head, deadline, new_head, session_id),
        )
    elif records:
        # Unchanged, says the caller: still known if it was known at the old head.
        conn.execute(
            "UPDATE logs SET head = ?, deadline_head = "
            "CASE WHEN deadline_head IS ? THEN ? ELSE deadline_head END WHERE session_id = ?",
            (new_head, head, new_head, session_id),
        )
    if command is not None:
        conn.execute(
            "INSERT INTO commands (session_id, seat, cid, last_seq) VALUES (?, ?, ?, ?)",
            (session_id, command.seat, command.cid, new_head),
        )
    return new_head


def _case(
    id: str,
    owner: str | None,
    title: str,
    name_a: str,
    name_b: str,
    created_at: float,
    archived: int,
) -> Case:
    return Case(id, owner, title, name_a, name_b, created_at, bool(archived))


def _one(conn: sqlite3.Connection, cls: Callable[..., _T], sql: str, *args: object) -> _T | None:
    row = conn.execute(sql, args).fetchone()
    return None if row is None else cls(*row)


def _all(conn: sqlite3.Connection, cls: Callable[..., _T], sql: str, *args: object) -> list[_T]:
    return [cls(*row) for row in conn.execute(sql, args).fetchall()]
