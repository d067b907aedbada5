"""build_app(settings) -> one ASGI app: Starlette for HTTP, Socket.IO for live traffic.

The store belongs to the event loop that opens it, so the app opens it at
lifespan start-up (or takes one already open, in tests) and only then builds
the API and the hub over it. `run(settings)` serves the app with uvicorn, tuned
as DESIGN.md "Measured here" advises: websockets-sansio, no per-message
deflate, and a garbage collector that does not stall on long-lived sockets.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import socketio
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

import accord
from accord.api.playbooks import Playbooks
from accord.api.router import build_api
from accord.api.setup import ensure_setup_link
from accord.hub.admission import SocketDoor
from accord.hub.chatter import quiet_client_chatter
from accord.hub.distributed import DistributedHub
from accord.hub.metrics import HubMetrics
from accord.hub.server import Hub
from accord.settings import Settings
from accord.store.redis import RedisStore, redacted
from accord.store.sqlite import SqliteStore

logger = logging.getLogger("accord")

#: Where `npm run build` in client_web/ puts the web client.
WEB_DIR = Path(__file__).resolve().parent / "static" / "app"

Scope = dict[str, Any]
ASGI = Callable[..., Any]


class AccordApp:
    """The ASGI application. Handles lifespan itself; HTTP and websockets go inside."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Any = None,
        clock: Callable[[], float] = time.time,
        announce: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.hub: Hub | None = None
        self.metrics_registry = CollectorRegistry()
        self._own_store = store is None
        self._clock = clock
        self._announce = announce or (lambda line: print(line, file=sys.stderr, flush=True))
        self._inner: ASGI | None = None

    async def __call__(self, scope: Scope, receive: ASGI, send: ASGI) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if self._inner is None:  # pragma: no cover - uvicorn waits for start-up
            raise RuntimeError("Accord has not started")
        await self._inner(scope, receive, send)

    async def _lifespan(self, receive: ASGI, send: ASGI) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:
                    logger.exception("start-up failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        settings = self.settings
        quiet_client_chatter()
        if self.store is None:
            self.store = await open_store(settings)
        store = self.store
        metrics = HubMetrics(self.metrics_registry)
        hub: Hub
        if isinstance(store, RedisStore):
            # Distributed: the hub subscribes to its sessions' channels and
            # shares timers and seats with the other nodes (docs/SCALING.md).
            hub = DistributedHub(settings, store, metrics, clock=self._clock)
        else:
            hub = Hub(settings, store, store, metrics, clock=self._clock)
        self.hub = hub
        routes: list[BaseRoute] = [
            *build_api(
                settings,
                store,
                store,
                Playbooks(settings.protocols_dir),
                hub.revoke,
                clock=self._clock,
                rename_in_session=hub.rename,
            ),
            Route("/metrics", self._metrics, methods=["GET"]),
            *_web_routes(),
        ]
        http = Starlette(routes=routes)
        self._inner = SocketDoor(
            socketio.ASGIApp(hub.sio, other_asgi_app=http, socketio_path="socket.io"),
            "socket.io",
            settings.max_sockets_per_address,
            hub.faults,
            settings.stall_timeout_s,
        )
        await hub.start()
        link = await ensure_setup_link(settings, store)
        self._announce(f"Accord {accord.__version__} is running at {settings.base_url}/")
        if isinstance(hub, DistributedHub):
            self._announce(f"  data: {redacted(store.url)} (distributed; node {hub.node})")
        else:
            self._announce(f"  data: {settings.database_path}")
        if not isinstance(hub, DistributedHub) and self._own_store:
            announce_address(settings)
        if link:
            self._announce("  No mediator account exists yet. Create the first one here")
            self._announce(f"  (the link works once, for 24 hours): {link}")
        if settings.gc_tuning:
            tune_gc()

    async def shutdown(self) -> None:
        if self.hub is not None:
            await self.hub.close()
            if not isinstance(self.hub, DistributedHub) and self._own_store:
                withdraw_address(self.settings)
        if self._own_store and self.store is not None:
            await self.store.close()

    async def _metrics(self, request: Request) -> Response:
        return Response(generate_latest(self.metrics_registry), media_type=CONTENT_TYPE_LATEST)


async def open_store(settings: Settings) -> SqliteStore | RedisStore:
    """The store the settings name: Redis if `redis_url` is set, else the SQLite file."""
    if settings.redis_url is not None:
        return await RedisStore.open(
            settings.redis_url,
            wait_replicas=settings.redis_wait_replicas,
            wait_timeout_ms=settings.redis_wait_timeout_ms,
        )
    return await SqliteStore.open(
        settings.database_path, commit_window=settings.commit_window_ms / 1000
    )


#: Where a running embedded server says where it can be reached, so that
#: `accord session create --data-dir` on the same data prints working links.
ADDRESS_FILE = "server.json"


def announce_address(settings: Settings) -> None:
    path = settings.data_dir / ADDRESS_FILE
    try:
        path.write_text(json.dumps({"pid": os.getpid(), "public_url": settings.base_url}))
    except OSError as exc:
        logger.warning("could not write %s: %s", path, exc)


def withdraw_address(settings: Settings) -> None:
    path = settings.data_dir / ADDRESS_FILE
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def running_address(settings: Settings) -> str | None:
    """The public URL of a server running on this data dir, if one says so."""
    try:
        data = json.loads((settings.data_dir / ADDRESS_FILE).read_text())
        pid, url = int(data["pid"]), str(data["public_url"])
        os.kill(pid, 0)  # is it still running?
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url


def _web_routes() -> list[BaseRoute]:
    """The web client: the console at /, the partner page at /join, setup at /setup."""
    index = WEB_DIR / "index.html"

    async def page(request: Request) -> Response:
        if not index.exists():
            return PlainTextResponse(
                "The web client is not built. Run ./scripts/serve (it builds it), or "
                "`npm ci && npm run build` in client_web/.",
                status_code=503,
            )
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    routes: list[BaseRoute] = [
        Route("/", page, methods=["GET"]),
        Route("/join", page, methods=["GET"]),
        Route("/setup", page, methods=["GET"]),
        Route("/console", page, methods=["GET"]),
    ]
    if WEB_DIR.exists():
        routes.append(
            Mount("/assets", app=StaticFiles(directory=WEB_DIR / "assets", check_dir=False))
        )
    return routes


def tune_gc() -> None:
    """Full collections over thousands of long-lived socket objects stall every
    socket for hundreds of ms (DESIGN.md, "Measured here": p99 400 ms at
    default settings, 2 ms with these). Freeze what start-up allocated and
    collect the young generation far less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def build_app(settings: Settings, **kwargs: Any) -> AccordApp:
    return AccordApp(settings, **kwargs)


def run(settings: Settings) -> None:
    """`accord serve`: run Accord under uvicorn until interrupted."""
    import uvicorn

    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    uvicorn.run(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=max(1_000_000, settings.max_frame_bytes * 4),
        log_level=settings.log_level,
        access_log=False,  # join links carry tokens only in the fragment, but keep logs lean
        lifespan="on",
        proxy_headers=True,
        forwarded_allow_ips=settings.trusted_proxies,
    )
