"""Diagnostic: Accord with its event log in memory, to see what durability costs.

`python -m bench.baselines.accord_memlog --port P --data-dir D`. The same app,
hub, core and uvicorn settings as `accord serve`, but the event log is
`MemoryEventLog` (nothing reaches the disk; the registry of sessions and
invites is still the SQLite file, read at connect). Not a way to run Accord:
an acknowledged event here survives nothing. `accord bench --servers
accord,accord-memlog,relay` puts it beside the others.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import uvicorn

from accord.app import build_app
from accord.settings import Settings
from accord.store.memory import MemoryEventLog
from accord.store.sqlite import SqliteStore

_LOG_METHODS = frozenset({"head", "append", "read", "command_result", "deadlines", "set_deadline"})


class SplitStore:
    """The event log from memory, everything else from the SQLite registry."""

    def __init__(self, registry: SqliteStore) -> None:
        self.registry = registry
        self.log = MemoryEventLog()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.log if name in _LOG_METHODS else self.registry, name)

    async def close(self) -> None:
        await self.log.close()
        await self.registry.close()


class MemlogApp:
    """Opens the split store on the server's own loop, then hands over to AccordApp."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app: Any = None
        self.store: SplitStore | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and self.app is None:
            self.store = SplitStore(await SqliteStore.open(self.settings.database_path))
            self.app = build_app(self.settings, store=self.store)
        await self.app(scope, receive, send)
        if scope["type"] == "lifespan" and self.store is not None:
            await self.store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings.load({"host": args.host, "port": args.port, "data_dir": args.data_dir})
    uvicorn.run(
        MemlogApp(settings),
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        ws_max_size=max(1_000_000, settings.max_frame_bytes * 4),
        log_level="warning",
        access_log=False,
        lifespan="on",
    )


if __name__ == "__main__":
    main()
