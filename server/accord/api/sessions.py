"""Sessions, invites, playbooks and exports over HTTP, for the logged-in mediator.

A mediator sees and acts on their own sessions and on those made from the
shell; anyone else's session answers `session_not_found`, exactly like a
session that does not exist.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec
from starlette.requests import Request
from starlette.routing import Route

from accord.api import service
from accord.api.context import ApiContext
from accord.api.http import Json, read_json
from accord.store.base import Invite

MAX_INVITE_TTL_S = 90 * 24 * 3600


class NewSession(msgspec.Struct, forbid_unknown_fields=True):
    playbook: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    title: Annotated[str, msgspec.Meta(max_length=200)] | None = None
    #: The case the session belongs to (one of the mediator's); none: on its own.
    case: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None


class NewInvite(msgspec.Struct, forbid_unknown_fields=True):
    seat: Literal["mediator", "partner_a", "partner_b"]
    ttl_s: Annotated[int, msgspec.Meta(ge=60, le=MAX_INVITE_TTL_S)] | None = None


def invite_json(invite: Invite) -> dict[str, Any]:
    return {
        "id": invite.id,
        "seat": invite.seat,
        "created_at": invite.created_at,
        "expires_at": invite.expires_at,
        "revoked": invite.revoked_at is not None,
    }


def session_routes(ctx: ApiContext) -> list[Route]:
    limit = ctx.settings.max_frame_bytes

    async def list_playbooks(request: Request) -> Json:
        await ctx.mediator(request)
        available = await asyncio.to_thread(ctx.playbooks.available)
        return Json(
            [
                {
                    "name": p.name,
                    "title": p.playbook.title,
                    "description": p.playbook.description or None,
                }
                for p in available
            ]
        )

    async def create_session(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        body = await read_json(request, NewSession, limit)
        case = None if body.case is None else await ctx.case_of(mediator, body.case)
        session = await service.create_session(
            ctx.registry,
            ctx.playbooks,
            body.playbook,
            body.title,
            mediator.id,
            ctx.clock(),
            case=case,
            log=ctx.log,
        )
        return Json(service.session_json(session), status_code=201)

    async def list_sessions(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        sessions = [
            s for s in await ctx.registry.list_sessions() if s.created_by in (mediator.id, None)
        ]
        sessions.sort(key=lambda s: s.created_at, reverse=True)
        return Json([service.session_json(s) for s in sessions])

    async def get_session(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        session = await ctx.session_of(mediator, request.path_params["session_id"])
        invites = await ctx.registry.list_invites(session.id)
        invites.sort(key=lambda i: i.created_at)
        return Json({**service.session_json(session), "invites": [invite_json(i) for i in invites]})

    async def create_invite(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        session = await ctx.session_of(mediator, request.path_params["session_id"])
        body = await read_json(request, NewInvite, limit)
        invite, token, join_url = await service.create_invite(
            ctx.settings,
            ctx.registry,
            session,
            body.seat,
            body.ttl_s,
            ctx.clock(),
            actor=f"mediator:{mediator.id}",
        )
        return Json(
            {
                "invite_id": invite.id,
                "seat": invite.seat,
                "token": token,
                "join_url": join_url,
                "expires_at": invite.expires_at,
            },
            status_code=201,
        )

    async def revoke_invite(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        session = await ctx.session_of(mediator, request.path_params["session_id"])
        invite = await service.revoke_invite(
            ctx.registry,
            session,
            request.path_params["invite_id"],
            ctx.clock(),
            actor=f"mediator:{mediator.id}",
        )
        # Revoked in the registry first, so a reconnect is refused even if this fails.
        await ctx.on_invite_revoked(invite)
        return Json(invite_json(invite))

    async def export(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        session = await ctx.session_of(mediator, request.path_params["session_id"])
        record = await service.export_session(
            ctx.registry, ctx.log, session, ctx.clock(), actor=f"mediator:{mediator.id}"
        )
        filename = f"accord-session-{session.id}.json"
        return Json(record, headers={"content-disposition": f'attachment; filename="{filename}"'})

    return [
        Route("/playbooks", list_playbooks, methods=["GET"]),
        Route("/sessions", create_session, methods=["POST"]),
        Route("/sessions", list_sessions, methods=["GET"]),
        Route("/sessions/{session_id}", get_session, methods=["GET"]),
        Route("/sessions/{session_id}/invites", create_invite, methods=["POST"]),
        Route("/sessions/{session_id}/invites/{invite_id}", revoke_invite, methods=["DELETE"]),
        Route("/sessions/{session_id}/export", export, methods=["GET"]),
    ]
