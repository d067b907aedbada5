"""Baseline 1: a bare python-socketio relay, served exactly as Accord is.

`python -m bench.baselines.sio_relay --port P`. Same transport and serializer
as Accord (python-socketio, msgpack, websocket only, the same ping settings),
the same server settings (uvicorn with websockets-sansio, per-message deflate
off, the same garbage-collector tuning after start-up). It speaks Accord's
wire shapes, so the load generator cannot tell them apart: a seat connects
with `auth: {token: "<room>:<seat>"}`, joins, and each `command` becomes one
event `{seq, at, actor, type, audience, ...fields}` in an `events` batch to
the room's three seats, then the ack `{ok: true, seq}`. What it does not do:
decide, keep a log, persist, check anything.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import socketio
import uvicorn

from accord.app import tune_gc

SEATS = ["mediator", "partner_a", "partner_b"]
EPOCH = "relay"


def build() -> socketio.ASGIApp:
    sio = socketio.AsyncServer(
        async_mode="asgi",
        serializer="msgpack",
        transports=["websocket"],
        cors_allowed_origins=[],
        max_http_buffer_size=1_000_000,
        ping_interval=20,
        ping_timeout=20,
    )
    rooms: dict[str, int] = {}  # room -> last seq
    members: dict[str, tuple[str, str]] = {}  # sid -> (room, seat)

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        room, seat = str((auth or {}).get("token", "")).split(":", 1)
        members[sid] = (room, seat)
        rooms.setdefault(room, 0)
        await sio.enter_room(sid, room)

    @sio.event
    async def disconnect(sid: str, reason: Any = None) -> None:
        members.pop(sid, None)

    @sio.event
    async def join(sid: str, data: Any = None) -> dict[str, Any]:
        room, _ = members[sid]
        await sio.emit("events", {"epoch": EPOCH, "events": []}, to=sid)
        return {"ok": True, "seq": rooms[room], "epoch": EPOCH}

    @sio.event
    async def command(sid: str, data: Any = None) -> dict[str, Any]:
        room, seat = members[sid]
        seq = rooms[room] = rooms[room] + 1
        event = {k: v for k, v in data.items() if k != "cid"}
        event.update(seq=seq, at=time.time(), actor=seat, audience=SEATS)
        await sio.emit("events", {"epoch": EPOCH, "events": [event]}, to=room)
        return {"ok": True, "seq": seq}

    return socketio.ASGIApp(sio, socketio_path="socket.io", on_startup=tune_gc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        build(),
        host=args.host,
        port=args.port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=1_000_000,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
