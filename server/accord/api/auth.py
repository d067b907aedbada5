"""Mediator accounts over HTTP: first-run setup, login, logout, who am I.

A login is a signed, HttpOnly, SameSite=Strict cookie holding the mediator's
id (Starlette's SessionMiddleware, keyed with a sub-key of the server secret).
Passwords are checked off the event loop, and an unknown email costs as much
time as a wrong password, so timing does not reveal who has an account.
"""

from __future__ import annotations

import asyncio
import logging

import msgspec
from starlette.requests import Request
from starlette.routing import Route

from accord.api import service
from accord.api.context import SESSION_KEY, ApiContext
from accord.api.errors import ServiceError
from accord.api.http import Json, read_json
from accord.security import (
    PasswordCheck,
    burn_password_check,
    hash_setup_token,
    verify_password,
)
from accord.store.base import AuditEntry, Mediator, StoreError

logger = logging.getLogger(__name__)


class SetupBody(msgspec.Struct, forbid_unknown_fields=True):
    token: str
    email: str
    password: str


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    email: str
    password: str


def mediator_json(mediator: Mediator) -> dict[str, str]:
    return {"id": mediator.id, "email": mediator.email}


def auth_routes(ctx: ApiContext) -> list[Route]:
    limit = ctx.settings.max_frame_bytes

    async def setup_status(request: Request) -> Json:
        return Json({"needs_setup": await ctx.registry.count_mediators() == 0})

    async def setup(request: Request) -> Json:
        body = await read_json(request, SetupBody, limit)
        now = ctx.clock()
        if await ctx.registry.count_mediators() > 0:
            raise ServiceError(
                "already_set_up", "Accord is already set up; log in with your mediator account."
            )
        # Check the account before spending the one-time token on it.
        service.check_credentials(body.email, body.password)
        if not await ctx.registry.use_setup_token(hash_setup_token(body.token), now):
            raise ServiceError(
                "setup_token_invalid",
                "This setup link is not valid (wrong, used or expired); restart `accord serve` "
                "to print a new one.",
            )
        mediator = await service.add_mediator(
            ctx.registry, body.email, body.password, now, actor="system"
        )
        await ctx.registry.audit(
            AuditEntry(
                at=now,
                actor=f"mediator:{mediator.id}",
                action="setup",
                session_id=None,
                detail="first mediator account created with the setup link",
            )
        )
        request.session.clear()
        request.session[SESSION_KEY] = mediator.id
        return Json({"mediator": mediator_json(mediator)}, status_code=201)

    async def login(request: Request) -> Json:
        body = await read_json(request, LoginBody, limit)
        now = ctx.clock()
        email = service.normalize_email(body.email)
        if ctx.throttle.blocked(email, now):
            raise ServiceError(
                "too_many_attempts",
                "Too many failed logins for this account; wait 15 minutes and try again.",
            )
        mediator = await ctx.registry.mediator_by_email(email)
        if mediator is None:
            await asyncio.to_thread(burn_password_check, body.password)
            check = PasswordCheck(ok=False)
        else:
            check = await asyncio.to_thread(verify_password, mediator.password_hash, body.password)
        if mediator is None or not check.ok:
            ctx.throttle.failed(email, now)
            await ctx.registry.audit(
                AuditEntry(
                    at=now,
                    actor=f"mediator:{mediator.id}" if mediator else "system",
                    action="login.failed",
                    session_id=None,
                    detail="wrong password" if mediator else "unknown email",
                )
            )
            raise ServiceError(
                "login_failed", "The email or password is wrong; check both and try again."
            )
        ctx.throttle.succeeded(email)
        if check.new_hash is not None:
            # The stored hash used older parameters: keep the stronger one now
            # that the password is at hand. Failing that only postpones it.
            try:
                await ctx.registry.set_password_hash(mediator.id, check.new_hash)
            except StoreError as exc:
                logger.warning("mediator %s: password hash not upgraded: %s", mediator.id, exc)
        await ctx.registry.audit(
            AuditEntry(
                at=now,
                actor=f"mediator:{mediator.id}",
                action="login",
                session_id=None,
                detail="",
            )
        )
        request.session.clear()
        request.session[SESSION_KEY] = mediator.id
        return Json({"mediator": mediator_json(mediator)})

    async def logout(request: Request) -> Json:
        mediator_id = request.session.get(SESSION_KEY)
        if isinstance(mediator_id, str):
            await ctx.registry.audit(
                AuditEntry(
                    at=ctx.clock(),
                    actor=f"mediator:{mediator_id}",
                    action="logout",
                    session_id=None,
                    detail="",
                )
            )
        request.session.clear()
        return Json({"ok": True})

    async def me(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        return Json({"mediator": mediator_json(mediator)})

    return [
        Route("/setup-status", setup_status, methods=["GET"]),
        Route("/setup", setup, methods=["POST"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/me", me, methods=["GET"]),
    ]
