"""What uvicorn and Engine.IO log about clients, kept to what an operator needs.

Both libraries log client doings in their own words: uvicorn a line for every
websocket accepted or refused, and a warning for every malformed HTTP request;
Engine.IO an ERROR (once per kind) for a bad transport, a wrong protocol
version, an unknown session or origin. None of it is a fault of the server, a
flood of it fills the disk and buries real errors, and an ERROR that a client
can cause makes the error count meaningless. So, on those two loggers:

- per-connection lines at INFO (uvicorn's `"WebSocket /socket.io/…" [accepted]`
  or `403`, websockets' `connection open` and `connection closed`) are
  dropped: hub/faults.py says what matters, once per connection;
- errors without a traceback are client input: they become warnings;
- the warnings that remain are rate-limited (`BURST` per `WINDOW_S`), like
  hub/faults.py's lines.

A record with a traceback is never touched: that is a bug, ours or theirs.
"""

from __future__ import annotations

import logging
import time
from typing import Final

WINDOW_S: Final = 10.0
BURST: Final = 20
LOGGERS: Final = ("uvicorn.error", "engineio.server", "socketio.server", "websockets.server")


class ClientChatter(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._window = time.monotonic()
        self._written = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            return True
        if record.levelno == logging.INFO and (
            record.name == "websockets.server" or '"WebSocket ' in str(record.msg)
        ):
            return False
        if record.levelno >= logging.ERROR:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        if record.levelno == logging.WARNING:
            now = time.monotonic()
            if now - self._window >= WINDOW_S:
                self._window, self._written = now, 0
            self._written += 1
            return self._written <= BURST
        return True


def quiet_client_chatter() -> None:
    """Install the filter on the libraries' loggers (once per process)."""
    for name in LOGGERS:
        target = logging.getLogger(name)
        if not any(isinstance(f, ClientChatter) for f in target.filters):
            target.addFilter(ClientChatter())
