"""Refusals that come from the transport rather than the core.

They share the shape of the core's refusals (`{code, message}`) and are listed
with them in docs/PROTOCOL.md.
"""

from __future__ import annotations

from typing import Final

#: Codes for a refused connection (`connect_error` data).
CONNECT_CODES: Final[dict[str, str]] = {
    "token_missing": "The connection carried no `auth.token`.",
    "token_invalid": "The token is not one this server issued (garbled or forged).",
    "token_expired": "The invite has expired; ask the mediator for a new link.",
    "token_revoked": "The mediator revoked this invite.",
    "session_not_found": "The session the invite names no longer exists.",
    "unavailable": "The server cannot reach its store; retry shortly.",
    "too_many_connections": "The seat is open on too many connections; close one.",
    "rate_limited": "Too many handshakes: the seat's (or the socket's) budget is spent; retry.",
}

#: Codes of a `notice`, each sent just before the server ends a connection,
#: with the message it carries. All but `slow_consumer` end it for good: the
#: client must not reconnect by itself (docs/PROTOCOL.md, "The end of a connection").
NOTICE_CODES: Final[dict[str, str]] = {
    "superseded": "This seat was opened on another device or tab.",
    "token_revoked": "The mediator revoked this invite; ask the mediator for a new link.",
    "token_expired": "This invite has expired; ask the mediator for a new link.",
    "session_deleted": "This session was deleted.",
    "slow_consumer": "This connection fell too far behind; reconnecting resumes where it was.",
}

#: Codes for a refused command or join that are not the core's.
HUB_CODES: Final[dict[str, str]] = {
    "frame_too_large": "The message exceeds the 64 KiB limit.",
    "wrong_session": "The command names a session other than the connection's.",
    "not_joined": "Send `join` before sending commands.",
    "rate_limited": "Too many commands too fast; slow down (time-outs are never limited).",
    "unavailable": "The store could not be reached; nothing was recorded. Retry with the same cid.",
    "conflict": "The session changed concurrently too many times; retry with the same cid.",
    "internal_error": "The server failed; nothing was acknowledged. Retry with the same cid.",
    "token_expired": "The invite expired while connected; the connection is closed.",
    "reserved_event": "A client emitted an event name reserved for the Socket.IO handshake.",
    "unknown_event": "A client emitted an event that is neither `join` nor `command`.",
}


def error_ack(code: str, message: str) -> dict[str, object]:
    return {"ok": False, "error": {"code": code, "message": message}}
