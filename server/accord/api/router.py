"""build_api: the HTTP API as routes for accord.app to mount beside the hub.

The API is its own small Starlette app under /api, with its own login cookie
middleware, origin check and JSON error handlers, so whatever app mounts it
gets the same behaviour; /healthz sits beside it at the root.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

import accord
from accord.api.auth import auth_routes
from accord.api.cases import case_routes
from accord.api.context import ApiContext, LoginThrottle, Rename, no_live_sessions
from accord.api.errors import ServiceError
from accord.api.http import Json, OriginCheck, error_json, refusal
from accord.api.playbooks import Playbooks
from accord.api.sessions import session_routes
from accord.settings import Settings, derive_key
from accord.store.base import EventLog, Invite, Registry, Unavailable

logger = logging.getLogger(__name__)

COOKIE_NAME = "accord_session"


def build_api(
    settings: Settings,
    registry: Registry,
    log: EventLog,
    playbooks: Playbooks,
    on_invite_revoked: Callable[[Invite], Awaitable[None]],
    *,
    clock: Callable[[], float] = time.time,
    rename_in_session: Rename = no_live_sessions,
) -> list[BaseRoute]:
    """Routes for the HTTP API (mounted at /api) and the health check (/healthz)."""
    ctx = ApiContext(
        settings=settings,
        registry=registry,
        log=log,
        playbooks=playbooks,
        on_invite_revoked=on_invite_revoked,
        clock=clock,
        throttle=LoginThrottle(),
        rename_in_session=rename_in_session,
    )
    api = Starlette(
        routes=[*auth_routes(ctx), *session_routes(ctx), *case_routes(ctx)],
        middleware=[
            Middleware(OriginCheck, allowed=settings.origins),
            Middleware(
                SessionMiddleware,
                secret_key=derive_key(settings.secret_key, "login-cookie").hex(),
                session_cookie=COOKIE_NAME,
                max_age=settings.login_ttl_s,
                path="/api",
                same_site="strict",
                https_only=settings.cookie_secure,
            ),
        ],
        exception_handlers={
            ServiceError: _on_refusal,
            HTTPException: _on_http_error,
            Unavailable: _on_unavailable,
            Exception: _on_crash,
        },
    )

    async def healthz(request: Request) -> Json:
        try:
            await registry.count_mediators()
        except Exception:
            logger.exception("health check: the registry does not answer")
            return error_json(
                "store_unavailable", "The database does not answer; check the server's logs."
            )
        return Json({"status": "ok", "version": accord.__version__})

    return [Mount("/api", app=api), Route("/healthz", healthz, methods=["GET"])]


async def _on_refusal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return refusal(exc)


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return error_json(
            "method_not_allowed",
            f"{request.url.path} does not take {request.method}; see docs/API.md.",
        )
    if exc.status_code == 404:
        return error_json(
            "not_found", f"There is no API endpoint {request.url.path}; see docs/API.md."
        )
    return error_json("invalid_request", f"{exc.detail}; see docs/API.md.")


async def _on_unavailable(request: Request, exc: Exception) -> Response:
    logger.warning("store unavailable during %s %s", request.method, request.url.path)
    return error_json(
        "store_unavailable", "The database cannot be reached right now; retry in a moment."
    )


async def _on_crash(request: Request, exc: Exception) -> Response:
    # ServerErrorMiddleware logs the traceback and re-raises after this reply.
    return error_json(
        "internal_error",
        "The server failed on this request; it may or may not have taken effect. "
        "Reload and check before retrying.",
    )
