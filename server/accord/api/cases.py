"""Cases over HTTP: a couple's sessions over time, for the mediator who owns them.

A case (DESIGN.md, "Cases") holds the partners' display names, its sessions in
order and their timeline. A mediator sees their own cases and those made from
the shell; anyone else's answers `case_not_found`, exactly like a case that
does not exist, as sessions do. A new session is made in a case here
(`POST /api/cases/{id}/sessions`) or with `case` on `POST /api/sessions`.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, cast

import msgspec
from starlette.requests import Request
from starlette.routing import Route

from accord.api import service
from accord.api.context import ApiContext
from accord.api.errors import ServiceError
from accord.api.http import Json, read_json
from accord.core.seats import Partner, Seat
from accord.store.base import Case, SessionInfo, StoreError

logger = logging.getLogger(__name__)

#: As sent; the service trims a name and holds it to the core's limit (40).
NameField = Annotated[str, msgspec.Meta(max_length=200)]
TitleField = Annotated[str, msgspec.Meta(max_length=400)]
#: Whose report `GET /api/cases/{id}/report?for=…` builds: the mediator's
#: (the default), or one partner's, from only what that partner was sent.
READERS = ("mediator", "partner_a", "partner_b")


class NewCase(msgspec.Struct, forbid_unknown_fields=True):
    name_a: NameField
    name_b: NameField
    title: TitleField | None = None


class CaseChange(msgspec.Struct, forbid_unknown_fields=True):
    title: TitleField | None = None
    name_a: NameField | None = None
    name_b: NameField | None = None
    archived: bool | None = None


class NewCaseSession(msgspec.Struct, forbid_unknown_fields=True):
    playbook: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    title: Annotated[str, msgspec.Meta(max_length=200)] | None = None


def case_routes(ctx: ApiContext) -> list[Route]:
    limit = ctx.settings.max_frame_bytes

    async def summary(case: Case, mediator_id: str) -> dict[str, Any]:
        sessions = await _sessions_of(ctx, case, mediator_id)
        return {
            **service.case_json(case),
            "session_count": len(sessions),
            "last_session_at": sessions[-1].created_at if sessions else None,
        }

    async def detail(case: Case, mediator_id: str) -> dict[str, Any]:
        sessions = await _sessions_of(ctx, case, mediator_id)
        return {
            **service.case_json(case),
            "sessions": await service.case_timeline(ctx.log, sessions),
        }

    async def list_cases(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        cases = [c for c in await ctx.registry.list_cases() if c.owner in (mediator.id, None)]
        cases.sort(key=lambda c: c.created_at, reverse=True)
        return Json([await summary(c, mediator.id) for c in cases])

    async def create_case(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        body = await read_json(request, NewCase, limit)
        case = await service.create_case(
            ctx.registry, body.name_a, body.name_b, body.title, mediator.id, ctx.clock()
        )
        return Json(await detail(case, mediator.id), status_code=201)

    async def get_case(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        case = await ctx.case_of(mediator, request.path_params["case_id"])
        return Json(await detail(case, mediator.id))

    async def change_case(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        case = await ctx.case_of(mediator, request.path_params["case_id"])
        body = await read_json(request, CaseChange, limit)
        updated = await service.update_case(
            ctx.registry,
            case,
            ctx.clock(),
            title=body.title,
            name_a=body.name_a,
            name_b=body.name_b,
            archived=body.archived,
            actor=f"mediator:{mediator.id}",
        )
        renamed = await _rename_open_sessions(ctx, case, updated, mediator.id)
        return Json({**await detail(updated, mediator.id), "renamed_in": renamed})

    async def create_case_session(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        case = await ctx.case_of(mediator, request.path_params["case_id"])
        body = await read_json(request, NewCaseSession, limit)
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

    async def report(request: Request) -> Json:
        mediator = await ctx.mediator(request)
        case = await ctx.case_of(mediator, request.path_params["case_id"])
        reader = request.query_params.get("for", "mediator")
        if reader not in READERS:
            raise ServiceError(
                "invalid_request",
                f"'for' names whose report this is: one of {', '.join(READERS)}.",
            )
        sessions = await _sessions_of(ctx, case, mediator.id)
        built = await service.case_report(ctx.log, sessions, cast("Seat", reader))
        return Json({"case": service.case_json(case), **built})

    return [
        Route("/cases", list_cases, methods=["GET"]),
        Route("/cases", create_case, methods=["POST"]),
        Route("/cases/{case_id}", get_case, methods=["GET"]),
        Route("/cases/{case_id}", change_case, methods=["PATCH"]),
        Route("/cases/{case_id}/sessions", create_case_session, methods=["POST"]),
        Route("/cases/{case_id}/report", report, methods=["GET"]),
    ]


async def _sessions_of(ctx: ApiContext, case: Case, mediator_id: str) -> list[SessionInfo]:
    """The sessions of a case this mediator may see: their own and the shell's.
    A case made from the shell is open to every mediator (like the shell's
    sessions), but a session one mediator runs in it stays theirs: another
    mediator sees neither it in the timeline nor its records in the report,
    and renaming the case does not reach it."""
    return [
        s for s in await ctx.registry.case_sessions(case.id) if s.created_by in (mediator_id, None)
    ]


async def _rename_open_sessions(
    ctx: ApiContext, before: Case, after: Case, mediator_id: str
) -> list[str]:
    """The partners renamed in the case are renamed in its open sessions too, as
    `names.set` from the mediator through the hub (the log stays the record).
    Returns the sessions renamed. A session that cannot be reached keeps its
    names; the case has the new ones, and the next session starts with them."""
    pairs: tuple[tuple[Partner, str, str], ...] = (
        ("partner_a", before.name_a, after.name_a),
        ("partner_b", before.name_b, after.name_b),
    )
    changes = [(seat, new) for seat, old, new in pairs if old != new]
    if not changes:
        return []
    renamed = []
    for session in await _sessions_of(ctx, after, mediator_id):
        if session.status != "open":
            continue
        done = False
        for seat, name in changes:
            try:
                done = await ctx.rename_in_session(session.id, seat, name) or done
            except StoreError as exc:
                logger.warning("session %s: not renamed with its case: %s", session.id, exc)
        if done:
            renamed.append(session.id)
    return renamed
