"""What the HTTP API and the shell both do, done one way.

Plain async functions over a Registry (and the EventLog for exports). Each
checks its input, writes, records an audit entry, and raises ServiceError with
a stable code on refusal. They know nothing of HTTP or argparse. Audit details
never hold tokens, passwords or message text (DESIGN.md, "Safety and privacy").
"""

from __future__ import annotations

import asyncio
import re
import secrets
from typing import Any

import msgpack
import msgspec

from accord.api.errors import ServiceError
from accord.api.playbooks import Playbooks
from accord.core import report
from accord.core.base import EVERYONE
from accord.core.codec import decode_event, encode_event
from accord.core.events import PhaseEnded, PhaseStarted, SessionEnded
from accord.core.playbook import PlaybookError, stored_playbook
from accord.core.schema import Playbook
from accord.core.seats import Seat
from accord.core.session import MAX_NAME, clean_name, named
from accord.core.state import Names
from accord.security import hash_password, issue_invite_token
from accord.settings import Settings
from accord.store.base import (
    SEATS,
    AuditEntry,
    Case,
    EventLog,
    Invite,
    Mediator,
    NewRecord,
    Registry,
    SessionInfo,
    audience_mask,
    seat_in,
)

PASSWORD_MIN = 10
PASSWORD_MAX = 1024
EMAIL_MAX = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")


def new_id() -> str:
    """An unguessable identifier for sessions, invites and mediators (16 URL-safe characters)."""
    return secrets.token_urlsafe(12)


def shell_or_mediator(mediator_id: str | None) -> str:
    """The audit actor for something done by a mediator, or from the shell."""
    return f"mediator:{mediator_id}" if mediator_id else "shell"


# --- mediators ---------------------------------------------------------------


def normalize_email(email: str) -> str:
    return email.strip().lower()


def check_credentials(email: str, password: str) -> str:
    """The normalised email, if email and password are acceptable for a new account."""
    email = normalize_email(email)
    if len(email) > EMAIL_MAX or not _EMAIL.match(email):
        raise ServiceError(
            "invalid_email", f"{email!r} is not an email address; give one like name@example.org."
        )
    if len(password) < PASSWORD_MIN:
        raise ServiceError(
            "password_too_short",
            f"The password is too short; use at least {PASSWORD_MIN} characters.",
        )
    if len(password) > PASSWORD_MAX:
        raise ServiceError(
            "password_too_long",
            f"The password is too long; use at most {PASSWORD_MAX} characters.",
        )
    return email


async def add_mediator(
    registry: Registry, email: str, password: str, now: float, *, actor: str = "shell"
) -> Mediator:
    """Create a mediator account; `email_taken` if the email has one already."""
    email = check_credentials(email, password)
    if await registry.mediator_by_email(email) is not None:
        raise _email_taken(email)
    # argon2 is slow on purpose; keep it off the event loop.
    password_hash = await asyncio.to_thread(hash_password, password)
    mediator = Mediator(id=new_id(), email=email, password_hash=password_hash, created_at=now)
    try:
        await registry.add_mediator(mediator)
    except ValueError:
        raise _email_taken(email) from None
    await registry.audit(
        AuditEntry(
            at=now,
            actor=actor,
            action="mediator.create",
            session_id=None,
            detail=f"mediator {mediator.id} <{email}>",
        )
    )
    return mediator


def _email_taken(email: str) -> ServiceError:
    return ServiceError(
        "email_taken", f"A mediator with the email {email} exists already; log in instead."
    )


# --- sessions and invites ----------------------------------------------------


async def create_session(
    registry: Registry,
    playbooks: Playbooks,
    name: str,
    title: str | None,
    created_by: str | None,
    now: float,
    *,
    case: Case | None = None,
    log: EventLog | None = None,
    actor: str | None = None,
) -> SessionInfo:
    """Create a session from the named playbook, freezing its text into the session.

    A session in a `case` (the log is then needed) opens with the case's
    names as its first event, `names.changed` from the system: the log is
    the record, and replay needs nothing else (core/session.py says why).
    The event is written before the session is registered, so no seat can
    join a session of a case that is not yet named. `actor` is who did it, for
    the audit trail (default: the creating mediator, or the shell).
    """
    if case is not None and case.archived:
        raise ServiceError(
            "case_archived",
            f"The case {case.title!r} is archived; unarchive it to add a session.",
        )
    loaded = await asyncio.to_thread(playbooks.load, name)
    title = (title or "").strip() or loaded.playbook.title
    session = SessionInfo(
        id=new_id(),
        title=title,
        playbook_name=loaded.name,
        playbook_source=loaded.source,
        created_by=created_by,
        created_at=now,
        status="open",
        case_id=None if case is None else case.id,
    )
    if case is not None:
        assert log is not None, "a session in a case needs the log for its first event"
        first = named(Names(partner_a=case.name_a, partner_b=case.name_b))
        record = NewRecord(now, "system", audience_mask(EVERYONE), encode_event(first))
        await log.append(session.id, 0, [record])
    await registry.add_session(session)
    await registry.audit(
        AuditEntry(
            at=now,
            actor=actor or shell_or_mediator(created_by),
            action="session.create",
            session_id=session.id,
            detail=f"playbook {loaded.name}" + ("" if case is None else f", case {case.id}"),
        )
    )
    return session


# --- cases ---------------------------------------------------------------------

CASE_TITLE_MAX = 200


def display_name(name: str, which: str) -> str:
    """A partner's display name as the core keeps it (`clean_name`, then
    1..MAX_NAME characters: the same rule as `names.set`)."""
    cleaned = clean_name(name)
    if not cleaned:
        raise ServiceError(
            "invalid_name", f"{which} is empty; give a name or a pseudonym (e.g. a first name)."
        )
    if len(cleaned) > MAX_NAME:
        raise ServiceError(
            "invalid_name",
            f"{which} has {len(cleaned)} characters; shorten it to at most {MAX_NAME}.",
        )
    return cleaned


def _case_title(title: str | None, name_a: str, name_b: str) -> str:
    cleaned = " ".join((title or "").split())
    if len(cleaned) > CASE_TITLE_MAX:
        raise ServiceError(
            "invalid_request", f"The title is too long; use at most {CASE_TITLE_MAX} characters."
        )
    return cleaned or f"{name_a} & {name_b}"


async def create_case(
    registry: Registry,
    name_a: str,
    name_b: str,
    title: str | None,
    owner: str | None,
    now: float,
) -> Case:
    """Open a case for a couple: their display names (pseudonyms are fine) and a title
    (default: the two names). The audit entry names the case, not the people."""
    a = display_name(name_a, "Partner A's name")
    b = display_name(name_b, "Partner B's name")
    case = Case(
        id=new_id(),
        owner=owner,
        title=_case_title(title, a, b),
        name_a=a,
        name_b=b,
        created_at=now,
    )
    await registry.add_case(case)
    await registry.audit(
        AuditEntry(
            at=now,
            actor=shell_or_mediator(owner),
            action="case.create",
            session_id=None,
            detail=f"case {case.id}",
        )
    )
    return case


async def update_case(
    registry: Registry,
    case: Case,
    now: float,
    *,
    title: str | None = None,
    name_a: str | None = None,
    name_b: str | None = None,
    archived: bool | None = None,
    actor: str = "shell",
) -> Case:
    """Rename the partners, retitle, archive or unarchive a case (None: keep)."""
    a = None if name_a is None else display_name(name_a, "Partner A's name")
    b = None if name_b is None else display_name(name_b, "Partner B's name")
    new_title = None
    if title is not None:
        new_title = _case_title(title, a or case.name_a, b or case.name_b)
    updated = await registry.update_case(
        case.id, title=new_title, name_a=a, name_b=b, archived=archived
    )
    if updated is None:
        raise _case_not_found(case.id)
    changed = [
        field
        for field, value in (
            ("title", new_title),
            ("name_a", a),
            ("name_b", b),
            ("archived", archived),
        )
        if value is not None
    ]
    await registry.audit(
        AuditEntry(
            at=now,
            actor=actor,
            action="case.update",
            session_id=None,
            detail=f"case {case.id}: {', '.join(changed) or 'nothing'}",
        )
    )
    return updated


def _case_not_found(case_id: str) -> ServiceError:
    return ServiceError(
        "case_not_found",
        f"There is no case {case_id!r} among yours; check the link or list your cases.",
    )


async def case_for(registry: Registry, case_id: str, mediator_id: str | None) -> Case:
    """A case `mediator_id` may act on: their own, or one made from the shell (None:
    the shell, which may act on any). Anyone else's reads as not found."""
    case = await registry.get_case(case_id)
    if case is None or (mediator_id is not None and case.owner not in (mediator_id, None)):
        raise _case_not_found(case_id)
    return case


def case_json(case: Case) -> dict[str, Any]:
    return {
        "id": case.id,
        "title": case.title,
        "names": {"partner_a": case.name_a, "partner_b": case.name_b},
        "owner": case.owner,
        "created_at": case.created_at,
        "archived": case.archived,
    }


async def case_timeline(log: EventLog, sessions: list[SessionInfo]) -> list[dict[str, Any]]:
    """Each session of a case in order, with its phases as the log tells them:
    when each started and ended, and how (done, ended early with the
    mediator's reason, running, not reached). Only events every seat sees
    are read, so nothing private is in it."""
    everyone = audience_mask(EVERYONE)
    timeline = []
    for session in sessions:
        try:
            specs = stored_playbook(session.playbook_source, f"{session.playbook_name}.toml").phases
            titles = [spec.title for spec in specs]
        except PlaybookError:
            titles = []
        phases: dict[int, dict[str, Any]] = {
            i: {"index": i, "title": t, "outcome": "not_reached"} for i, t in enumerate(titles)
        }
        if phases:
            phases[0].update(outcome="running", started_at=session.created_at)
        ended: dict[str, Any] | None = None
        for record in await log.read(session.id):
            if record.audience != everyone:
                continue
            try:
                event = decode_event(record.body)
            except msgspec.DecodeError:  # a record this release cannot read: as the report
                continue
            if isinstance(event, PhaseStarted):
                entry = phases.setdefault(event.index, {"index": event.index})
                entry.update(title=event.title, outcome="running", started_at=record.at)
            elif isinstance(event, PhaseEnded):
                entry = phases.setdefault(event.index, {"index": event.index, "title": ""})
                entry.update(ended_at=record.at, outcome="ended_early" if event.reason else "done")
                if event.reason:
                    entry["reason"] = event.reason
            elif isinstance(event, SessionEnded):
                ended = {"at": record.at, "by": event.by, "reason": event.reason}
                for entry in phases.values():
                    if entry["outcome"] == "running":
                        entry.update(outcome="ended_early", ended_at=record.at)
                        if event.reason:
                            entry["reason"] = event.reason
        timeline.append(
            {
                **session_json(session),
                "phases": [phases[i] for i in sorted(phases)],
                "ended": ended,
            }
        )
    return timeline


async def case_report(log: EventLog, sessions: list[SessionInfo], reader: Seat) -> dict[str, Any]:
    """The case's report for `reader` (core/report.py): only the records whose
    audience holds the reader are read, so a partner's report carries only
    what that partner was sent. A record that no longer decodes (a log of an
    older release) is left out rather than failing the whole report."""
    logs = []
    for session in sessions:
        try:
            playbook: Playbook | None = stored_playbook(
                session.playbook_source, f"{session.playbook_name}.toml"
            )
        except PlaybookError:
            playbook = None
        events = []
        for record in await log.read(session.id):
            if not seat_in(record.audience, reader):
                continue
            try:
                events.append((record.at, decode_event(record.body)))
            except msgspec.DecodeError:
                continue
        logs.append(
            report.SessionLog(
                id=session.id,
                title=session.title,
                playbook_name=session.playbook_name,
                created_at=session.created_at,
                status=session.status,
                playbook=playbook,
                events=events,
            )
        )
    return report.build(logs, reader)


def join_url(settings: Settings, token: str) -> str:
    # In the fragment, so the token never reaches a server's access log.
    return f"{settings.base_url}/join#{token}"


async def create_invite(
    settings: Settings,
    registry: Registry,
    session: SessionInfo,
    seat: str,
    ttl_s: int | None,
    now: float,
    *,
    actor: str = "shell",
) -> tuple[Invite, str, str]:
    """Invite one seat: the stored Invite, its signed token and the join URL."""
    if seat not in SEATS:
        raise ServiceError(
            "invalid_request", f"{seat!r} is not a seat; use one of {', '.join(SEATS)}."
        )
    if session.status == "ended":
        raise ServiceError(
            "session_ended", "This session has ended; create a new session to meet again."
        )
    ttl = settings.invite_ttl_s if ttl_s is None else ttl_s
    if ttl <= 0:
        raise ServiceError("invalid_request", "ttl_s must be a positive number of seconds.")
    invite = Invite(
        id=new_id(),
        session_id=session.id,
        seat=seat,
        created_at=now,
        expires_at=now + ttl,
        revoked_at=None,
    )
    await registry.add_invite(invite)
    await registry.audit(
        AuditEntry(
            at=now,
            actor=actor,
            action="invite.create",
            session_id=session.id,
            detail=f"invite {invite.id} for {seat}, expires at {int(invite.expires_at)}",
        )
    )
    token = issue_invite_token(settings.secret_key, invite)
    return invite, token, join_url(settings, token)


async def revoke_invite(
    registry: Registry, session: SessionInfo, invite_id: str, now: float, *, actor: str = "shell"
) -> Invite:
    """Revoke an invite of this session (again is fine); `invite_not_found` otherwise."""
    invite = await registry.get_invite(invite_id)
    if invite is None or invite.session_id != session.id:
        raise ServiceError(
            "invite_not_found",
            f"Session {session.id} has no invite {invite_id!r}; list the session's invites.",
        )
    if invite.revoked_at is None:
        revoked = await registry.revoke_invite(invite_id, now)
        invite = revoked or await registry.get_invite(invite_id) or invite
    await registry.audit(
        AuditEntry(
            at=now,
            actor=actor,
            action="invite.revoke",
            session_id=session.id,
            detail=f"invite {invite.id} for {invite.seat}",
        )
    )
    return invite


# --- export ------------------------------------------------------------------


def audience_seats(mask: int) -> list[str]:
    return [seat for seat in SEATS if seat_in(mask, seat)]


def session_json(session: SessionInfo) -> dict[str, Any]:
    return {
        "id": session.id,
        "title": session.title,
        "playbook": session.playbook_name,
        "created_at": session.created_at,
        "created_by": session.created_by,
        "status": session.status,
        "case_id": session.case_id,
    }


async def export_session(
    registry: Registry, log: EventLog, session: SessionInfo, now: float, *, actor: str = "shell"
) -> dict[str, Any]:
    """The whole record of a session: its facts, epoch and every event, decoded.

    Exporting is recorded in the audit trail: a session is a clinical record.
    """
    head = await log.head(session.id)
    records = await log.read(session.id)
    refusals = await registry.refusal_counts(session.id)
    events = []
    for record in records:
        fields = msgpack.unpackb(record.body, raw=False)
        event: dict[str, Any] = {
            "seq": record.seq,
            "at": record.at,
            "actor": record.actor,
            "audience": audience_seats(record.audience),
        }
        # The record's own facts win over any same-named event field.
        if isinstance(fields, dict):
            for key, value in fields.items():
                event.setdefault(key, value)
        else:
            event["value"] = fields
        events.append(event)
    await registry.audit(
        AuditEntry(
            at=now,
            actor=actor,
            action="export",
            session_id=session.id,
            detail=f"{len(events)} events",
        )
    )
    return {
        "session": {**session_json(session), "playbook_source": session.playbook_source},
        "epoch": head.epoch,
        "events": events,
        "refusals": refusals,
    }
