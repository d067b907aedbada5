"""Secrets in motion: password hashes, signed invite tokens, one-time setup tokens.

DESIGN.md, "Safety and privacy": invite tokens are signed, single-seat, expiring
and revocable; mediators have accounts with hashed passwords. This module owns
the first two properties of a token (signature and expiry). Revocation lives in
the registry, and the hub checks it on connect (`token_revoked`).

Nothing here logs; callers must not log tokens or passwords either.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from typing import Any, Final, Protocol

import argon2
import itsdangerous

from accord.core.seats import SEATS

TOKEN_VERSION: Final = 1
_INVITE_SALT: Final = "accord.invite"

TOKEN_INVALID: Final = "token_invalid"
TOKEN_EXPIRED: Final = "token_expired"

_hasher = argon2.PasswordHasher()


# --- passwords ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PasswordCheck:
    """The outcome of a password check. `new_hash` is set when the password was
    right but the stored hash uses outdated parameters: store it instead."""

    ok: bool
    new_hash: str | None = None


def hash_password(password: str) -> str:
    """An argon2id hash of the password (slow on purpose: call it off the event loop)."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> PasswordCheck:
    """Check a password against a stored hash; never raises for a wrong or garbled hash."""
    try:
        _hasher.verify(password_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return PasswordCheck(ok=False)
    if _hasher.check_needs_rehash(password_hash):
        return PasswordCheck(ok=True, new_hash=_hasher.hash(password))
    return PasswordCheck(ok=True)


# A hash of a random password, checked when a login names an unknown email, so
# that a wrong email costs as much time as a wrong password.
_DUMMY_HASH: str | None = None


def burn_password_check(password: str) -> None:
    """Spend the time of one password check, for logins that name no account."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
    verify_password(_DUMMY_HASH, password)


# --- invite tokens -----------------------------------------------------------


class TokenError(Exception):
    """A token was refused. `code` is `token_invalid` or `token_expired`."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class InviteClaims:
    """What a valid invite token says: one seat of one session, until `expires_at`."""

    session_id: str
    seat: str
    invite_id: str
    expires_at: int  # unix seconds


class InviteLike(Protocol):
    """What a token is issued from (accord.store.base.Invite fits)."""

    @property
    def id(self) -> str: ...
    @property
    def session_id(self) -> str: ...
    @property
    def seat(self) -> str: ...
    @property
    def expires_at(self) -> float: ...


def _invite_serializer(secret: bytes) -> itsdangerous.URLSafeSerializer:
    return itsdangerous.URLSafeSerializer(secret, salt=_INVITE_SALT)


def issue_invite_token(secret: bytes, invite: InviteLike) -> str:
    """Sign a token for the invite's seat, expiring with the invite (in whole seconds)."""
    payload = {
        "v": TOKEN_VERSION,
        "sid": invite.session_id,
        "seat": invite.seat,
        "iid": invite.id,
        # Rounded up: the invite's own expiry (kept with it) is what counts;
        # the token must not end a second before it.
        "exp": math.ceil(invite.expires_at),
    }
    token = _invite_serializer(secret).dumps(payload)
    assert isinstance(token, str)
    return token


def verify_invite_token(secret: bytes, token: str, now: float) -> InviteClaims:
    """The claims of a token signed with `secret` that has not expired at `now`.

    Raises TokenError(`token_invalid`) for a missing, garbled or forged token and
    TokenError(`token_expired`) for a genuine one past its expiry. Revocation is
    not checked here: look the invite up in the registry.
    """
    if not isinstance(token, str) or not token:
        raise TokenError(TOKEN_INVALID, "No invite token was given; open the link you were sent.")
    try:
        payload: Any = _invite_serializer(secret).loads(token)
    except itsdangerous.BadData:
        raise TokenError(
            TOKEN_INVALID,
            "This invite link is not valid; ask your mediator for a new one.",
        ) from None
    claims = _claims_from(payload)
    if claims is None:
        raise TokenError(
            TOKEN_INVALID,
            "This invite link is not valid; ask your mediator for a new one.",
        )
    if now >= claims.expires_at:
        raise TokenError(
            TOKEN_EXPIRED,
            "This invite link has expired; ask your mediator for a new one.",
        )
    return claims


def _claims_from(payload: Any) -> InviteClaims | None:
    if not isinstance(payload, dict) or payload.get("v") != TOKEN_VERSION:
        return None
    sid, seat, iid, exp = (payload.get(k) for k in ("sid", "seat", "iid", "exp"))
    if not (isinstance(sid, str) and sid and isinstance(iid, str) and iid):
        return None
    if seat not in SEATS or not isinstance(exp, int) or isinstance(exp, bool):
        return None
    return InviteClaims(session_id=sid, seat=seat, invite_id=iid, expires_at=exp)


# --- setup tokens ------------------------------------------------------------


def new_setup_token() -> tuple[str, str]:
    """A fresh one-time setup token and the hash to store (the token itself is never stored)."""
    token = secrets.token_urlsafe(32)
    return token, hash_setup_token(token)


def hash_setup_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
