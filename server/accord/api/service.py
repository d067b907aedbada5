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

from accord.api.errors import ServiceError
from accord.api.playbooks import Playbooks
from accord.security import hash_password, issue_invite_token
from accord.settings import Settings
from accord.store.base import (
    SEATS,
    AuditEntry,
    EventLog,
    Invite,
    Mediator,
    Registry,
    SessionInfo,
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
) -> SessionInfo:
    """Create a session from the named playbook, freezing its text into the session."""
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
    )
    await registry.add_session(session)
    await registry.audit(
        AuditEntry(
            at=now,
            actor=shell_or_mediator(created_by),
            action="session.create",
            session_id=session.id,
            detail=f"playbook {loaded.name}",
        )
    )
    return session


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
