"""The store contract: what every EventLog and Registry must do (DESIGN.md, "The log").

Each test runs once per implementation in conftest.STORES.
"""

from __future__ import annotations

import asyncio

import pytest

from accord.store.base import (
    SEATS,
    AuditEntry,
    CommandKey,
    DuplicateCommand,
    EventLog,
    Invite,
    Mediator,
    NewRecord,
    Registry,
    SeqConflict,
    SessionInfo,
    Unavailable,
    audience_mask,
    seat_in,
)

EVERYONE = audience_mask(SEATS)


def rec(body: bytes, *, actor: str = "partner_a", audience: int = EVERYONE) -> NewRecord:
    return NewRecord(at=1_700_000_000.25, actor=actor, audience=audience, body=body)


# The event log


async def test_seqs_are_consecutive_from_one(log: EventLog) -> None:
    assert await log.append("s1", 0, [rec(b"a")]) == 1
    assert await log.append("s1", 1, [rec(b"b"), rec(b"c")]) == 3
    assert await log.append("s1", 3, [rec(b"d")]) == 4
    records = await log.read("s1")
    assert [r.seq for r in records] == [1, 2, 3, 4]
    assert [r.body for r in records] == [b"a", b"b", b"c", b"d"]
    assert (await log.head("s1")).seq == 4


async def test_sessions_have_separate_logs(log: EventLog) -> None:
    assert await log.append("s1", 0, [rec(b"a"), rec(b"b")]) == 2
    assert await log.append("s2", 0, [rec(b"x")]) == 1
    assert [r.body for r in await log.read("s2")] == [b"x"]
    assert (await log.head("s1")).epoch != (await log.head("s2")).epoch


async def test_stale_expected_seq_is_a_conflict(log: EventLog) -> None:
    await log.append("s1", 0, [rec(b"a"), rec(b"b")])
    for expected in (0, 1, 3):
        with pytest.raises(SeqConflict) as caught:
            await log.append("s1", expected, [rec(b"late")])
        assert (caught.value.session_id, caught.value.expected, caught.value.actual) == (
            "s1",
            expected,
            2,
        )
    assert [r.body for r in await log.read("s1")] == [b"a", b"b"]


async def test_conflict_on_a_new_log(log: EventLog) -> None:
    with pytest.raises(SeqConflict):
        await log.append("new", 5, [rec(b"a")])
    assert await log.read("new") == []
    assert (await log.head("new")).seq == 0


async def test_concurrent_appends_at_one_head_exactly_one_wins(log: EventLog) -> None:
    await log.append("s1", 0, [rec(b"first")])
    results = await asyncio.gather(
        *(log.append("s1", 1, [rec(b"%d" % i)]) for i in range(20)), return_exceptions=True
    )
    assert results.count(2) == 1
    assert sum(isinstance(r, SeqConflict) for r in results) == 19
    assert [r.seq for r in await log.read("s1")] == [1, 2]


async def test_duplicate_command_returns_first_result_and_appends_nothing(log: EventLog) -> None:
    key = CommandKey("partner_a", "cid-1")
    assert await log.append("s1", 0, [rec(b"a"), rec(b"b")], key) == 2
    assert await log.command_result("s1", key) == 2

    # The retry carries the head it saw before (0): it is a duplicate, not a conflict.
    with pytest.raises(DuplicateCommand) as caught:
        await log.append("s1", 0, [rec(b"a"), rec(b"b")], key)
    assert caught.value.last_seq == 2
    # Also at the current head, and after others appended.
    await log.append("s1", 2, [rec(b"c")], CommandKey("partner_b", "cid-1"))
    with pytest.raises(DuplicateCommand) as caught:
        await log.append("s1", 3, [rec(b"again")], key)
    assert caught.value.last_seq == 2

    assert [r.body for r in await log.read("s1")] == [b"a", b"b", b"c"]
    assert (await log.head("s1")).seq == 3


async def test_command_keys_are_per_session_and_seat(log: EventLog) -> None:
    assert await log.append("s1", 0, [rec(b"a")], CommandKey("partner_a", "c")) == 1
    assert await log.append("s1", 1, [rec(b"b")], CommandKey("partner_b", "c")) == 2
    assert await log.append("s2", 0, [rec(b"c")], CommandKey("partner_a", "c")) == 1
    assert await log.command_result("s1", CommandKey("partner_b", "c")) == 2
    assert await log.command_result("s1", CommandKey("mediator", "c")) is None
    assert await log.command_result("nowhere", CommandKey("partner_a", "c")) is None


async def test_a_conflicting_command_is_not_recorded(log: EventLog) -> None:
    key = CommandKey("partner_a", "c")
    await log.append("s1", 0, [rec(b"a")])
    with pytest.raises(SeqConflict):
        await log.append("s1", 0, [rec(b"b")], key)
    assert await log.command_result("s1", key) is None
    # Retried at the right head, it goes through.
    assert await log.append("s1", 1, [rec(b"b")], key) == 2


async def test_a_command_without_records_is_recorded_at_the_head(log: EventLog) -> None:
    await log.append("s1", 0, [rec(b"a")])
    key = CommandKey("mediator", "noop")
    assert await log.append("s1", 1, [], key) == 1
    with pytest.raises(DuplicateCommand) as caught:
        await log.append("s1", 1, [], key)
    assert caught.value.last_seq == 1
    assert (await log.head("s1")).seq == 1


async def test_read_after_seq_with_limit(log: EventLog) -> None:
    await log.append("s1", 0, [rec(b"%d" % i) for i in range(1, 11)])
    assert [r.seq for r in await log.read("s1", after_seq=7)] == [8, 9, 10]
    assert [r.seq for r in await log.read("s1", after_seq=2, limit=3)] == [3, 4, 5]
    assert [r.seq for r in await log.read("s1", limit=2)] == [1, 2]
    assert await log.read("s1", after_seq=10) == []
    assert await log.read("s1", after_seq=4, limit=0) == []
    assert await log.read("unknown") == []
    with pytest.raises(ValueError):
        await log.read("s1", limit=-1)


async def test_records_roundtrip(log: EventLog) -> None:
    private = audience_mask(["mediator", "partner_b"])
    body = bytes(range(256))  # msgpack is binary: NULs and high bytes must survive
    await log.append("s1", 0, [NewRecord(at=12.5, actor="system", audience=private, body=body)])
    (record,) = await log.read("s1")
    assert (record.seq, record.at, record.actor, record.audience, record.body) == (
        1,
        12.5,
        "system",
        private,
        body,
    )
    assert seat_in(record.audience, "mediator")
    assert seat_in(record.audience, "partner_b")
    assert not seat_in(record.audience, "partner_a")


async def test_head_and_epoch_are_stable(log: EventLog) -> None:
    empty = await log.head("s1")
    assert empty.seq == 0
    assert empty.epoch
    assert await log.head("s1") == empty
    await log.append("s1", 0, [rec(b"a")])
    after = await log.head("s1")
    assert after.seq == 1
    assert after.epoch == empty.epoch


async def test_closed_log_is_unavailable(log: EventLog) -> None:
    await log.append("s1", 0, [rec(b"a")])
    await log.close()
    with pytest.raises(Unavailable):
        await log.append("s1", 1, [rec(b"b")])
    with pytest.raises(Unavailable):
        await log.read("s1")
    await log.close()  # closing twice is harmless


# The registry


def mediator(n: int, email: str | None = None) -> Mediator:
    return Mediator(
        id=f"m{n}",
        email=email or f"m{n}@clinic.example",
        password_hash=f"$argon2id$hash{n}",
        created_at=100.0 + n,
    )


def session(sid: str, created_by: str | None, created_at: float) -> SessionInfo:
    return SessionInfo(
        id=sid,
        title=f"Session {sid}",
        playbook_name="standard",
        playbook_source='[playbook]\nname = "standard"\n',
        created_by=created_by,
        created_at=created_at,
        status="open",
    )


def invite(iid: str, sid: str, seat: str, created_at: float) -> Invite:
    return Invite(
        id=iid,
        session_id=sid,
        seat=seat,
        created_at=created_at,
        expires_at=created_at + 3600,
        revoked_at=None,
    )


async def test_mediators(registry: Registry) -> None:
    assert await registry.count_mediators() == 0
    await registry.add_mediator(mediator(1))
    await registry.add_mediator(mediator(2))
    assert await registry.count_mediators() == 2
    assert await registry.mediator_by_email("m1@clinic.example") == mediator(1)
    assert await registry.mediator_by_id("m2") == mediator(2)
    assert await registry.mediator_by_email("nobody@clinic.example") is None
    assert await registry.mediator_by_id("m9") is None


async def test_a_password_hash_is_replaced(registry: Registry) -> None:
    await registry.add_mediator(
        Mediator(id="m1", email="a@example.org", password_hash="old", created_at=1.5)
    )
    await registry.set_password_hash("m1", "new")
    await registry.set_password_hash("nobody", "new")  # no such mediator: nothing happens
    expected = Mediator(id="m1", email="a@example.org", password_hash="new", created_at=1.5)
    assert await registry.mediator_by_id("m1") == expected
    assert await registry.mediator_by_email("a@example.org") == expected
    assert await registry.count_mediators() == 1


async def test_duplicate_mediator_email_or_id_is_refused(registry: Registry) -> None:
    await registry.add_mediator(mediator(1))
    with pytest.raises(ValueError):
        await registry.add_mediator(mediator(2, email="m1@clinic.example"))
    with pytest.raises(ValueError):
        await registry.add_mediator(mediator(1, email="other@clinic.example"))
    assert await registry.count_mediators() == 1
    assert await registry.mediator_by_id("m2") is None


async def test_sessions(registry: Registry) -> None:
    await registry.add_session(session("s2", "m1", 20.0))
    await registry.add_session(session("s1", "m1", 10.0))
    await registry.add_session(session("s3", None, 30.0))
    await registry.add_session(session("s4", "m2", 40.0))
    assert await registry.get_session("s1") == session("s1", "m1", 10.0)
    assert await registry.get_session("s9") is None
    assert [s.id for s in await registry.list_sessions()] == ["s1", "s2", "s3", "s4"]
    assert [s.id for s in await registry.list_sessions("m1")] == ["s1", "s2"]
    assert await registry.list_sessions("m9") == []

    await registry.set_session_status("s1", "ended")
    ended = await registry.get_session("s1")
    assert ended is not None
    assert ended.status == "ended"
    with pytest.raises(KeyError):
        await registry.set_session_status("s9", "ended")
    with pytest.raises(ValueError):
        await registry.add_session(session("s1", "m2", 50.0))
    assert await registry.get_session("s1") == ended


async def test_invites_and_revocation(registry: Registry) -> None:
    await registry.add_invite(invite("i2", "s1", "partner_b", 20.0))
    await registry.add_invite(invite("i1", "s1", "partner_a", 10.0))
    await registry.add_invite(invite("i3", "s2", "partner_a", 30.0))
    assert [i.id for i in await registry.list_invites("s1")] == ["i1", "i2"]
    assert await registry.list_invites("s9") == []
    assert await registry.get_invite("i1") == invite("i1", "s1", "partner_a", 10.0)
    with pytest.raises(ValueError):
        await registry.add_invite(invite("i1", "s2", "partner_b", 40.0))

    revoked = await registry.revoke_invite("i1", 50.0)
    assert revoked is not None
    assert revoked.revoked_at == 50.0
    assert await registry.get_invite("i1") == revoked
    # Revoking again keeps the first time.
    again = await registry.revoke_invite("i1", 60.0)
    assert again is not None
    assert again.revoked_at == 50.0
    assert await registry.revoke_invite("nope", 60.0) is None
    other = await registry.get_invite("i2")
    assert other is not None
    assert other.revoked_at is None


async def test_setup_token_is_single_use_and_expires(registry: Registry) -> None:
    await registry.add_setup_token("hash-a", expires_at=1000.0)
    await registry.add_setup_token("hash-b", expires_at=1000.0)
    with pytest.raises(ValueError):
        await registry.add_setup_token("hash-a", expires_at=2000.0)

    assert await registry.use_setup_token("hash-a", now=999.0) is True
    assert await registry.use_setup_token("hash-a", now=999.5) is False
    assert await registry.use_setup_token("hash-b", now=1000.0) is False  # expired
    assert await registry.use_setup_token("unknown", now=1.0) is False


async def test_setup_token_race_has_one_winner(registry: Registry) -> None:
    await registry.add_setup_token("hash", expires_at=1000.0)
    wins = await asyncio.gather(*(registry.use_setup_token("hash", now=1.0) for _ in range(10)))
    assert wins.count(True) == 1


async def test_audit_trail(registry: Registry) -> None:
    entries = [
        AuditEntry(at=1.0, actor="shell", action="session.create", session_id="s1", detail=""),
        AuditEntry(at=2.0, actor="mediator:m1", action="login", session_id=None, detail="ok"),
        AuditEntry(at=3.0, actor="seat:partner_a", action="join", session_id="s1", detail="web"),
        AuditEntry(at=3.0, actor="mediator:m1", action="export", session_id="s2", detail="pdf"),
    ]
    for entry in entries:
        await registry.audit(entry)
    assert await registry.audit_entries() == entries
    assert await registry.audit_entries("s1") == [entries[0], entries[2]]
    assert await registry.audit_entries("s9") == []


async def test_refusal_counts(registry: Registry) -> None:
    assert await registry.refusal_counts("s1") == {}
    await asyncio.gather(
        *(registry.count_refusal("s1", "partner_b", "not_your_turn") for _ in range(3))
    )
    await registry.count_refusal("s1", "partner_b", "paraphrase_required")
    await registry.count_refusal("s1", "partner_a", "in_time_out")
    await registry.count_refusal("s2", "partner_a", "not_your_turn")
    assert await registry.refusal_counts("s1") == {
        "partner_a": {"in_time_out": 1},
        "partner_b": {"not_your_turn": 3, "paraphrase_required": 1},
    }
    assert await registry.refusal_counts("s2") == {"partner_a": {"not_your_turn": 1}}


async def test_closed_registry_is_unavailable(registry: Registry) -> None:
    await registry.close()
    with pytest.raises(Unavailable):
        await registry.count_mediators()
    with pytest.raises(Unavailable):
        await registry.audit(
            AuditEntry(at=1.0, actor="shell", action="x", session_id=None, detail="")
        )
