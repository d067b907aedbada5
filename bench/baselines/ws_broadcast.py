"""Baseline 2, the floor: a bare `websockets` server that broadcasts with msgpack.

`python -m bench.baselines.ws_broadcast --port P`. No Socket.IO, no ASGI, no
uvicorn: the `websockets` library's own asyncio server (compression off, the
same garbage-collector tuning as Accord), with just enough Engine.IO and
Socket.IO framing written by hand that the load generator speaks to it
unchanged (bench/sio.py describes the framing): the open packet, the CONNECT
answer, pings, and the same `events` batches and acks as the relay. Each
command is packed once and the same bytes go to the room's three sockets.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import time
from typing import Any

import msgpack
from websockets.asyncio.server import ServerConnection, broadcast, serve

from accord.app import tune_gc

SEATS = ["mediator", "partner_a", "partner_b"]
EPOCH = "floor"
EVENT, ACK = 2, 3
PING_INTERVAL = 20

rooms: dict[str, list[Any]] = {}  # room -> [last seq, set of connections]
pack = msgpack.Packer().pack


def _open_packet() -> str:
    info = {
        "sid": secrets.token_urlsafe(15),
        "upgrades": [],
        "pingInterval": PING_INTERVAL * 1000,
        "pingTimeout": 20_000,
        "maxPayload": 1_000_000,
    }
    return "0" + json.dumps(info, separators=(",", ":"))


def _ack(ident: int, value: Any) -> bytes:
    return pack({"type": ACK, "data": [value], "nsp": "/", "id": ident})


async def handler(ws: ServerConnection) -> None:
    await ws.send(_open_packet())
    connect = msgpack.unpackb(await ws.recv())
    room_id, seat = str((connect.get("data") or {}).get("token", "")).split(":", 1)
    room = rooms.setdefault(room_id, [0, set()])
    await ws.send(pack({"type": 0, "data": {"sid": secrets.token_urlsafe(15)}, "nsp": "/"}))
    room[1].add(ws)
    try:
        async for message in ws:
            if isinstance(message, str):
                continue  # "3": a pong
            packet = msgpack.unpackb(message)
            if packet["type"] != EVENT:
                continue
            name, data = packet["data"][0], packet["data"][1]
            if name == "command":
                seq = room[0] = room[0] + 1
                event = {k: v for k, v in data.items() if k != "cid"}
                event.update(seq=seq, at=time.time(), actor=seat, audience=SEATS)
                batch = {"epoch": EPOCH, "events": [event]}
                broadcast(room[1], pack({"type": EVENT, "data": ["events", batch], "nsp": "/"}))
                await ws.send(_ack(packet["id"], {"ok": True, "seq": seq}))
            elif name == "join":
                batch = {"epoch": EPOCH, "events": []}
                await ws.send(pack({"type": EVENT, "data": ["events", batch], "nsp": "/"}))
                await ws.send(_ack(packet["id"], {"ok": True, "seq": room[0], "epoch": EPOCH}))
    finally:
        room[1].discard(ws)


async def _pinger() -> None:
    """Engine.IO v4: the server pings every pingInterval (as the other servers do)."""
    while True:
        await asyncio.sleep(PING_INTERVAL)
        for _, members in rooms.values():
            broadcast(members, "2")


async def _serve(host: str, port: int) -> None:
    async with serve(
        handler, host, port, compression=None, max_size=1_000_000, ping_interval=None
    ) as server:
        tune_gc()
        pinger = asyncio.get_running_loop().create_task(_pinger())
        try:
            await server.serve_forever()
        finally:
            pinger.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
