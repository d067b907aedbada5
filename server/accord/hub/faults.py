"""What clients do wrong, logged so that an operator can see it and a client cannot flood it.

Input a client controls never causes a traceback in the log: a bad frame, a
reserved event name, an unknown event or a refused handshake is the client's
doing, answered with a stable code, and written here as one line per
connection and reason (never the frame's content: it may hold message text or
a token). Across all connections at most `BURST` lines are written per
`WINDOW_S`; what is held back is counted and said in the next line written.
Tracebacks are for our own bugs only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Final

from prometheus_client import CollectorRegistry, Counter

logger = logging.getLogger("accord.clients")

WINDOW_S: Final = 10.0
BURST: Final = 20
#: Reasons remembered per connection; past this a connection is logged no more.
MAX_REASONS: Final = 16
#: Connections (or addresses) remembered at most.
MAX_CONNECTIONS: Final = 10_000


class ClientFaults:
    def __init__(
        self, registry: CollectorRegistry, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._seen: dict[str, set[str]] = {}
        self._clock = clock
        self._window = clock()
        self._written = 0
        self._held_back = 0
        self.counter = Counter(
            "accord_client_faults_total",
            "Bad input from clients, by reason (a frame that is not a packet, a reserved "
            "or unknown event, a refused handshake, a slow reader cut off...).",
            ["reason"],
            registry=registry,
        )

    def report(self, connection: str, reason: str, detail: str = "") -> None:
        """Count a fault; log it if it is new for this connection and the log has room."""
        self.counter.labels(reason).inc()
        if connection not in self._seen and len(self._seen) >= MAX_CONNECTIONS:
            self._seen.clear()  # a flood of one-time sources: start over
        seen = self._seen.setdefault(connection, set())
        if reason in seen or len(seen) >= MAX_REASONS:
            return
        seen.add(reason)
        now = self._clock()
        if now - self._window >= WINDOW_S:
            self._window, self._written = now, 0
        if self._written >= BURST:
            self._held_back += 1
            return
        self._written += 1
        held, self._held_back = self._held_back, 0
        suffix = f" ({held} similar lines held back)" if held else ""
        logger.warning(
            "client %s: %s%s%s", connection, reason, f": {detail}" if detail else "", suffix
        )

    def forget(self, connection: str) -> None:
        self._seen.pop(connection, None)
