"""The storage interfaces: the per-session event log and the registry.

The event log is the clinical record. Its rules (../DESIGN.md, "The log"):
sequence numbers are consecutive from 1 per session; an append names the head
it expects and fails with `SeqConflict` otherwise; an append returns only after
its records are durable; a command's `cid` is recorded with its records so a
retry finds the first result. The epoch changes only if a log is lost.

The registry holds what is not the log: mediator accounts, cases (a couple's
sessions over time), sessions (with the playbook text frozen at creation),
seat invites, setup tokens and the audit trail.
"""

from __future__ import annotations

import enum
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

SEATS: tuple[str, ...] = ("mediator", "partner_a", "partner_b")
_SEAT_BIT = {seat: 1 << i for i, seat in enumerate(SEATS)}


def audience_mask(audience: Sequence[str]) -> int:
    """Encode an audience (a set of seats) as a small bit mask."""
    mask = 0
    for seat in audience:
        mask |= _SEAT_BIT[seat]
    return mask


def seat_in(mask: int, seat: str) -> bool:
    return bool(mask & _SEAT_BIT[seat])


def new_epoch() -> str:
    """A fresh log epoch: random, so a recreated log never repeats a lost one's."""
    return secrets.token_hex(8)


def check_read_limit(limit: int | None) -> None:
    """`read(limit=...)` takes None (no limit) or a count >= 0; every store agrees."""
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be None or >= 0, not {limit}")


@dataclass(frozen=True, slots=True)
class NewRecord:
    """An event about to be appended: the encoded event and who may see it."""

    at: float  # unix seconds, from the hub's clock
    actor: str  # a seat, or "system" for timers
    audience: int  # audience_mask(...)
    body: bytes  # the event, msgpack-encoded by accord.core.codec


@dataclass(frozen=True, slots=True)
class Record:
    seq: int
    at: float
    actor: str
    audience: int
    body: bytes


@dataclass(frozen=True, slots=True)
class CommandKey:
    """Identifies a command for idempotent retries: (seat, client id)."""

    seat: str
    cid: str


@dataclass(frozen=True, slots=True)
class LogHead:
    seq: int
    epoch: str


class StoreError(Exception):
    """Base of storage failures."""


class SeqConflict(StoreError):
    """The log's head was not the expected one: another writer appended first."""

    def __init__(self, session_id: str, expected: int, actual: int) -> None:
        super().__init__(f"session {session_id}: expected head {expected}, found {actual}")
        self.session_id = session_id
        self.expected = expected
        self.actual = actual


class DuplicateCommand(StoreError):
    """The command key was already recorded; `last_seq` is its first result."""

    def __init__(self, last_seq: int) -> None:
        super().__init__(f"command already recorded at seq {last_seq}")
        self.last_seq = last_seq


class Unavailable(StoreError):
    """The store cannot be reached; nothing was written."""


class _Unchanged(enum.Enum):
    KEEP = "keep"


#: `append(..., deadline=KEEP)`: leave the session's recorded deadline as it is.
KEEP: Final = _Unchanged.KEEP
Deadline = float | None | _Unchanged


class EventLog(Protocol):
    async def head(self, session_id: str) -> LogHead:
        """The current head (0 for an empty log) and the epoch."""
        ...

    async def append(
        self,
        session_id: str,
        expected_seq: int,
        records: Sequence[NewRecord],
        command: CommandKey | None = None,
        *,
        deadline: Deadline = KEEP,
    ) -> int:
        """Append records after `expected_seq`; return the new head seq.

        Returns only once durable. Raises SeqConflict if the head moved, and
        DuplicateCommand if `command` was already recorded (nothing appended).
        `deadline` is the session's earliest timer after these records (None:
        no timer), recorded with them for `deadlines` (the Redis store keeps
        deadlines in its own timer set instead, and ignores it).
        """
        ...

    async def deadlines(self) -> dict[str, float]:
        """Sessions with a pending deadline, by its time: what must be loaded
        when a server starts, so its timers fire. A session whose deadline is
        unknown (its log was written by an older release) shows with 0."""
        ...

    async def set_deadline(self, session_id: str, deadline: float | None, head: int) -> None:
        """Record a session's deadline as of `head` (after loading it at start)."""
        ...

    async def read(
        self, session_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Record]:
        """Records with seq > after_seq, in order."""
        ...

    async def command_result(self, session_id: str, command: CommandKey) -> int | None:
        """The last seq appended by this command, or None if never seen."""
        ...

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Mediator:
    id: str
    email: str
    password_hash: str
    created_at: float


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: str
    title: str
    playbook_name: str
    playbook_source: str  # the playbook TOML as it was when the session was created
    created_by: str | None  # mediator id, None when created from the shell
    created_at: float
    status: str  # "open" | "ended"
    case_id: str | None = None  # the case it belongs to; None for a session on its own


@dataclass(frozen=True, slots=True)
class Case:
    """A couple's sessions over time, owned by a mediator (DESIGN.md, "Cases").

    The partners' display names are the case's (pseudonyms are fine): a
    session created in the case starts with them, and a rename in one of its
    sessions comes back here, so the next session starts with the new names.
    """

    id: str
    owner: str | None  # mediator id, None when created from the shell
    title: str
    name_a: str  # partner_a's display name
    name_b: str  # partner_b's display name
    created_at: float
    archived: bool = False


@dataclass(frozen=True, slots=True)
class Invite:
    id: str
    session_id: str
    seat: str
    created_at: float
    expires_at: float
    revoked_at: float | None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: float
    actor: str  # "mediator:<id>", "seat:<seat>", "shell", "system"
    action: (
        str  # e.g. "login", "session.create", "invite.create", "invite.revoke", "export", "join"
    )
    session_id: str | None
    detail: str  # never message text, tokens or secrets


class Registry(Protocol):
    # mediators
    async def add_mediator(
        self, mediator: Mediator
    ) -> None: ...  # raises ValueError if email exists
    async def mediator_by_email(self, email: str) -> Mediator | None: ...
    async def mediator_by_id(self, mediator_id: str) -> Mediator | None: ...
    async def count_mediators(self) -> int: ...
    async def set_password_hash(
        self, mediator_id: str, password_hash: str
    ) -> None: ...  # no-op for an unknown id

    # sessions
    async def add_session(self, session: SessionInfo) -> None: ...
    async def get_session(self, session_id: str) -> SessionInfo | None: ...
    async def list_sessions(self, created_by: str | None = None) -> list[SessionInfo]: ...
    async def set_session_status(self, session_id: str, status: str) -> None: ...

    # cases
    async def add_case(self, case: Case) -> None: ...  # raises ValueError if the id exists
    async def get_case(self, case_id: str) -> Case | None: ...
    async def list_cases(self, owner: str | None = None) -> list[Case]: ...  # oldest first
    async def case_sessions(self, case_id: str) -> list[SessionInfo]: ...  # oldest first
    async def update_case(
        self,
        case_id: str,
        *,
        title: str | None = None,
        name_a: str | None = None,
        name_b: str | None = None,
        archived: bool | None = None,
    ) -> Case | None: ...  # only the fields given change; None for an unknown id

    # invites
    async def add_invite(self, invite: Invite) -> None: ...
    async def get_invite(self, invite_id: str) -> Invite | None: ...
    async def list_invites(self, session_id: str) -> list[Invite]: ...
    async def revoke_invite(self, invite_id: str, at: float) -> Invite | None: ...

    # one-time setup tokens (first mediator), stored hashed
    async def add_setup_token(self, token_hash: str, expires_at: float) -> None: ...
    async def use_setup_token(self, token_hash: str, now: float) -> bool: ...  # single use

    # the balance monitor: partners' refused commands per session, by seat and code
    async def count_refusal(self, session_id: str, seat: str, code: str) -> None: ...
    async def refusal_counts(self, session_id: str) -> dict[str, dict[str, int]]: ...

    # audit trail
    async def audit(self, entry: AuditEntry) -> None: ...
    async def audit_entries(self, session_id: str | None = None) -> list[AuditEntry]: ...

    async def close(self) -> None: ...
