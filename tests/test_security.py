"""Passwords, invite tokens and setup tokens (DESIGN.md, "Safety and privacy")."""

from __future__ import annotations

import hashlib

import argon2
import itsdangerous
import pytest

from accord.security import (
    InviteClaims,
    PasswordCheck,
    TokenError,
    burn_password_check,
    hash_password,
    hash_setup_token,
    issue_invite_token,
    new_setup_token,
    verify_invite_token,
    verify_password,
)
from accord.store.base import Invite

SECRET = b"k" * 32
NOW = 1_800_000_000.0


def invite(expires_at: float = NOW + 3600, seat: str = "partner_a") -> Invite:
    return Invite(
        id="inv1",
        session_id="ses1",
        seat=seat,
        created_at=NOW,
        expires_at=expires_at,
        revoked_at=None,
    )


# passwords


def test_password_round_trip() -> None:
    hashed = hash_password("correct horse battery staple")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    check = verify_password(hashed, "correct horse battery staple")
    assert check.ok and check.new_hash is None
    assert not verify_password(hashed, "correct horse battery stable").ok


def test_a_garbled_hash_is_a_wrong_password() -> None:
    assert not verify_password("not a hash", "x").ok
    assert not verify_password("$argon2id$v=19$m=1,t=1,p=1$garbage", "x").ok


def test_outdated_hash_parameters_ask_for_a_rehash() -> None:
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("pw-pw-pw-pw")
    check = verify_password(weak, "pw-pw-pw-pw")
    assert check.ok
    assert check.new_hash is not None and check.new_hash != weak
    assert verify_password(check.new_hash, "pw-pw-pw-pw") == PasswordCheck(ok=True)
    # A wrong password never yields a new hash.
    assert verify_password(weak, "wrong").new_hash is None


def test_burn_password_check_runs() -> None:
    burn_password_check("anything")


# invite tokens


def test_token_round_trip() -> None:
    token = issue_invite_token(SECRET, invite())
    assert verify_invite_token(SECRET, token, NOW) == InviteClaims(
        session_id="ses1", seat="partner_a", invite_id="inv1", expires_at=int(NOW + 3600)
    )
    # URL-safe: it travels in a link's fragment.
    assert all(c.isalnum() or c in "-_." for c in token)


def test_token_expiry() -> None:
    # The token's whole-second expiry is rounded up: it never ends before the
    # invite's own `expires_at`, which the hub checks exactly.
    token = issue_invite_token(SECRET, invite(expires_at=NOW + 10.9))
    verify_invite_token(SECRET, token, NOW + 10.5)
    for now in (NOW + 11, NOW + 12, NOW + 10_000):
        with pytest.raises(TokenError) as refused:
            verify_invite_token(SECRET, token, now)
        assert refused.value.code == "token_expired"
        assert "ask your mediator" in refused.value.message


def garble(token: str) -> str:
    head, sig = token.rsplit(".", 1)
    return f"{head}.{sig[::-1]}"


@pytest.mark.parametrize(
    "token",
    [
        "",
        "garbage",
        "a.b.c",
        garble(issue_invite_token(SECRET, invite())),
        issue_invite_token(b"x" * 32, invite()),
        # Right key, wrong purpose: signed as something other than an invite.
        itsdangerous.URLSafeSerializer(SECRET, salt="accord.other").dumps(
            {"v": 1, "sid": "s", "seat": "mediator", "iid": "i", "exp": 2**40}
        ),
    ],
)
def test_invalid_tokens(token: str) -> None:
    with pytest.raises(TokenError) as refused:
        verify_invite_token(SECRET, token, NOW)
    assert refused.value.code == "token_invalid"


@pytest.mark.parametrize(
    "payload",
    [
        {"v": 2, "sid": "s", "seat": "partner_a", "iid": "i", "exp": 2**40},
        {"v": 1, "sid": "s", "seat": "chair", "iid": "i", "exp": 2**40},
        {"v": 1, "sid": "", "seat": "partner_a", "iid": "i", "exp": 2**40},
        {"v": 1, "sid": "s", "seat": "partner_a", "exp": 2**40},
        {"v": 1, "sid": "s", "seat": "partner_a", "iid": "i", "exp": "later"},
        {"v": 1, "sid": "s", "seat": "partner_a", "iid": "i", "exp": True},
        ["v", 1],
    ],
)
def test_signed_but_malformed_payloads_are_invalid(payload: object) -> None:
    token = itsdangerous.URLSafeSerializer(SECRET, salt="accord.invite").dumps(payload)
    with pytest.raises(TokenError) as refused:
        verify_invite_token(SECRET, token, NOW)
    assert refused.value.code == "token_invalid"


def test_missing_token() -> None:
    with pytest.raises(TokenError) as refused:
        verify_invite_token(SECRET, None, NOW)  # type: ignore[arg-type]
    assert refused.value.code == "token_invalid"


def test_tokens_are_per_seat() -> None:
    a = verify_invite_token(SECRET, issue_invite_token(SECRET, invite(seat="partner_a")), NOW)
    b = verify_invite_token(SECRET, issue_invite_token(SECRET, invite(seat="partner_b")), NOW)
    assert (a.seat, b.seat) == ("partner_a", "partner_b")


# setup tokens


def test_setup_tokens() -> None:
    token, token_hash = new_setup_token()
    assert len(token) >= 40
    assert token_hash == hashlib.sha256(token.encode()).hexdigest() == hash_setup_token(token)
    assert new_setup_token()[0] != token
