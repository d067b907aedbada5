"""The API's HTTP plumbing: JSON in and out, the error shape, size and origin checks.

Every response is JSON and never cached (sessions are clinical records); every
refusal is `{"error": {"code", "message"}}` with the status from
accord.api.errors.CODES.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from accord.api.errors import CODES, ServiceError

T = TypeVar("T")

_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}


class Json(Response):
    media_type = "application/json"

    def __init__(
        self, content: Any, status_code: int = 200, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(content, status_code, {**_HEADERS, **(headers or {})})

    def render(self, content: Any) -> bytes:
        return msgspec.json.encode(content)


def error_json(code: str, message: str) -> Json:
    return Json({"error": {"code": code, "message": message}}, status_code=CODES[code][0])


def refusal(exc: ServiceError) -> Json:
    return error_json(exc.code, exc.message)


async def read_json(request: Request, type: type[T], max_bytes: int) -> T:
    """Decode the body as `type`; ServiceError `request_too_large`, `invalid_json` or
    `invalid_request` otherwise."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    body = b"".join(chunks)
    try:
        return msgspec.json.decode(body, type=type)
    except msgspec.ValidationError as exc:
        raise ServiceError("invalid_request", f"{exc}. Correct the request body.") from None
    except msgspec.DecodeError:
        raise ServiceError(
            "invalid_json", "The request body must be a JSON object; send valid JSON."
        ) from None


def _too_large(max_bytes: int) -> ServiceError:
    return ServiceError(
        "request_too_large", f"The request body is over {max_bytes} bytes; send less."
    )


class OriginCheck:
    """Refuse state-changing requests that a browser sent from a foreign origin.

    The login cookie is SameSite=Strict already; this is the second lock.
    Requests without an Origin header (the shell, curl, server-to-server) pass.
    """

    _SAFE = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = frozenset(o.lower() for o in allowed)

    def allows(self, origin: str) -> bool:
        return "*" in self.allowed or origin.lower() in self.allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in self._SAFE:
            origin = _header(scope, b"origin")
            if origin is not None and not self.allows(origin):
                response = error_json(
                    "origin_not_allowed",
                    f"Requests from {origin} are not accepted; use the Accord page "
                    "itself, or add the origin to allowed_origins.",
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None
