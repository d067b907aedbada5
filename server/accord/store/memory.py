"""The in-memory event log and registry: the reference semantics of the store.

Tests run against these, and every other store (SQLite, Redis) must behave the
same way; tests/store/test_store_contract.py holds them to it. Nothing here
survives the process, so "durable" means "in this object": fine for tests and
a throwaway demo, never for a clinical record.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

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
    Unavailable,
    check_read_limit,
    new_epoch,
)


@dataclass(slots=True)
class _Log:
    epoch: str
    records: list[Record] = field(default_factory=list)
    commands: dict[CommandKey, int] = field(default_factory=dict)


class MemoryEventLog:
    """An EventLog held in a dict. Every method completes without yielding, so
    an append is atomic with respect to other tasks on the loop."""

    def __init__(self) -> None:
        self._logs: dict[str, _Log] = {}
        self._deadlines: dict[str, float] = {}
        self._closed = False

    def _log(self, session_id: str) -> _Log:
        if self._closed:
            raise Unavailable("the event log is closed")
        log = self._logs.get(session_id)
        if log is None:
            log = self._logs[session_id] = _Log(epoch=new_epoch())
        return log

    async def head(self, session_id: str) -> LogHead:
        log = self._log(session_id)
        return LogHead(seq=len(log.records), epoch=log.epoch)

    async def append(
        self,
        session_id: str,
        expected_seq: int,
        records: Sequence[NewRecord],
        command: CommandKey | None = None,
        *,
        deadline: Deadline = KEEP,
    ) -> int:
        log = self._log(session_id)
        # A retry carries a stale expected_seq, so the command check comes
        # first: the client must get its original result, not a conflict.
        if command is not None and command in log.commands:
            raise DuplicateCommand(log.commands[command])
        head = len(log.records)
        if head != expected_seq:
            raise SeqConflict(session_id, expected_seq, head)
        for seq, new in enumerate(records, start=head + 1):
            log.records.append(
                Record(seq=seq, at=new.at, actor=new.actor, audience=new.audience, body=new.body)
            )
        new_head = len(log.records)
        if command is not None:
            log.commands[command] = new_head
        if deadline is not KEEP:
            await self.set_deadline(session_id, deadline, new_head)
        return new_head

    async def deadlines(self) -> dict[str, float]:
        if self._closed:
            raise Unavailable("the event log is closed")
        return dict(self._deadlines)

    async def set_deadline(self, session_id: str, deadline: float | None, head: int) -> None:
        if self._closed:
            raise Unavailable("the event log is closed")
        if deadline is None:
            self._deadlines.pop(session_id, None)
        else:
            self._deadlines[session_id] = deadline

    async def read(
        self, session_id: str, after_seq: int = 0, limit: int | None = None
    ) -> list[Record]:
        check_read_limit(limit)
        if self._closed:
            raise Unavailable("the event log is closed")
        log = self._logs.get(session_id)
        if log is None:
            return []
        # Seqs are consecutive from 1, so seq n sits at index n - 1.
        start = max(after_seq, 0)
        stop = None if limit is None else start + limit
        return log.records[start:stop]

    async def command_result(self, session_id: str, command: CommandKey) -> int | None:
        if self._closed:
            raise Unavailable("the event log is closed")
        log = self._logs.get(session_id)
        return None if log is None else log.commands.get(command)

    async def close(self) -> None:
        self._closed = True


class MemoryRegistry:
    """A Registry held in dicts, with the same errors as the durable ones."""

    def __init__(self) -> None:
        self._mediators: dict[str, Mediator] = {}
        self._sessions: dict[str, SessionInfo] = {}
        self._cases: dict[str, Case] = {}
        self._invites: dict[str, Invite] = {}
        # token hash -> [expires_at, used]
        self._setup_tokens: dict[str, tuple[float, bool]] = {}
        self._audit: list[AuditEntry] = []
        self._refusals: dict[str, dict[str, dict[str, int]]] = {}
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable("the registry is closed")

    # mediators

    async def add_mediator(self, mediator: Mediator) -> None:
        self._check_open()
        if mediator.id in self._mediators:
            raise ValueError(f"a mediator with id {mediator.id} already exists")
        if any(m.email == mediator.email for m in self._mediators.values()):
            raise ValueError("a mediator with this email already exists")
        self._mediators[mediator.id] = mediator

    async def mediator_by_email(self, email: str) -> Mediator | None:
        self._check_open()
        return next((m for m in self._mediators.values() if m.email == email), None)

    async def set_password_hash(self, mediator_id: str, password_hash: str) -> None:
        self._check_open()
        mediator = self._mediators.get(mediator_id)
        if mediator is not None:
            self._mediators[mediator_id] = dataclasses.replace(
                mediator, password_hash=password_hash
            )

    async def mediator_by_id(self, mediator_id: str) -> Mediator | None:
        self._check_open()
        return self._mediators.get(mediator_id)

    async def count_mediators(self) -> int:
        self._check_open()
        return len(self._mediators)

    # sessions

    async def add_session(self, session: SessionInfo) -> None:
        self._check_open()
        if session.id in self._sessions:
            raise ValueError(f"session {session.id} already exists")
        self._sessions[session.id] = session

    async def get_session(self, session_id: str) -> SessionInfo | None:
        self._check_open()
        return self._sessions.get(session_id)

    async def list_sessions(self, created_by: str | None = None) -> list[SessionInfo]:
        """All sessions, or those one mediator created; oldest first."""
        self._check_open()
        found = [
            s for s in self._sessions.values() if created_by is None or s.created_by == created_by
        ]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    async def set_session_status(self, session_id: str, status: str) -> None:
        self._check_open()
        session = self._sessions.get(session_id)
        if session is None:
            raise KeyError(session_id)
        self._sessions[session_id] = replace(session, status=status)

    # cases

    async def add_case(self, case: Case) -> None:
        self._check_open()
        if case.id in self._cases:
            raise ValueError(f"case {case.id} already exists")
        self._cases[case.id] = case

    async def get_case(self, case_id: str) -> Case | None:
        self._check_open()
        return self._cases.get(case_id)

    async def list_cases(self, owner: str | None = None) -> list[Case]:
        """All cases, or one mediator's; oldest first."""
        self._check_open()
        found = [c for c in self._cases.values() if owner is None or c.owner == owner]
        return sorted(found, key=lambda c: (c.created_at, c.id))

    async def case_sessions(self, case_id: str) -> list[SessionInfo]:
        """A case's sessions, oldest first."""
        self._check_open()
        found = [s for s in self._sessions.values() if s.case_id == case_id]
        return sorted(found, key=lambda s: (s.created_at, s.id))

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
        self._check_open()
        case = self._cases.get(case_id)
        if case is None:
            return None
        case = self._cases[case_id] = replace(
            case,
            title=case.title if title is None else title,
            name_a=case.name_a if name_a is None else name_a,
            name_b=case.name_b if name_b is None else name_b,
            archived=case.archived if archived is None else archived,
        )
        return case

    # invites

    async def add_invite(self, invite: Invite) -> None:
        self._check_open()
        if invite.id in self._invites:
            raise ValueError(f"invite {invite.id} already exists")
        self._invites[invite.id] = invite

    async def get_invite(self, invite_id: str) -> Invite | None:
        self._check_open()
        return self._invites.get(invite_id)

    async def list_invites(self, session_id: str) -> list[Invite]:
        """A session's invites, oldest first."""
        self._check_open()
        found = [i for i in self._invites.values() if i.session_id == session_id]
        return sorted(found, key=lambda i: (i.created_at, i.id))

    async def revoke_invite(self, invite_id: str, at: float) -> Invite | None:
        """Revoke an invite; revoking twice keeps the first time. None if unknown."""
        self._check_open()
        invite = self._invites.get(invite_id)
        if invite is None:
            return None
        if invite.revoked_at is None:
            invite = self._invites[invite_id] = replace(invite, revoked_at=at)
        return invite

    # setup tokens

    async def add_setup_token(self, token_hash: str, expires_at: float) -> None:
        self._check_open()
        if token_hash in self._setup_tokens:
            raise ValueError("this setup token already exists")
        self._setup_tokens[token_hash] = (expires_at, False)

    async def use_setup_token(self, token_hash: str, now: float) -> bool:
        """True once for a known, unexpired token; False ever after."""
        self._check_open()
        entry = self._setup_tokens.get(token_hash)
        if entry is None:
            return False
        expires_at, used = entry
        if used or now >= expires_at:
            return False
        self._setup_tokens[token_hash] = (expires_at, True)
        return True

    # audit

    async def count_refusal(self, session_id: str, seat: str, code: str) -> None:
        self._check_open()
        counts = self._refusals.setdefault(session_id, {}).setdefault(seat, {})
        counts[code] = counts.get(code, 0) + 1

    async def refusal_counts(self, session_id: str) -> dict[str, dict[str, int]]:
        self._check_open()
        return {seat: dict(c) for seat, c in self._refusals.get(session_id, {}).items()}

    async def audit(self, entry: AuditEntry) -> None:
        self._check_open()
        self._audit.append(entry)

    async def audit_entries(self, session_id: str | None = None) -> list[AuditEntry]:
        """Entries in the order they were recorded, all or one session's."""
        self._check_open()
        return [e for e in self._audit if session_id is None or e.session_id == session_id]

    async def close(self) -> None:
        self._closed = True
